"""Guardrails in the scoring policy (issue 16): refused when no period could meet them,
stored with the terms, and terms stored before them decode with none."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from eventsourcing.persistence import DatetimeAsISO, DecimalAsStr, JSONTranscoder, UUIDAsHex

from domain.errors import PolicyRuleViolation
from domain.policy import Guardrail, PolicyTerms, ScoringPolicy
from governance.stores.transcoding import transcodings

WEIGHTS = {"NPS": 60, "CES": 40}


def _terms(*guardrails: Guardrail) -> PolicyTerms:
    return PolicyTerms(weights=dict(WEIGHTS), guardrails=guardrails)


def _transcoder() -> JSONTranscoder:
    transcoder = JSONTranscoder()
    for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO(), *transcodings()):
        transcoder.register(transcoding)
    return transcoder


def test_guardrails_are_adopted_and_versioned_with_the_policy() -> None:
    policy = ScoringPolicy(actor="cfo")
    cross = Guardrail("kind", "cx_process", min_share=Decimal("0.25"))
    cap = Guardrail("pnl", "Retail", max_share=Decimal("0.40"))
    assert policy.adopt(terms=_terms(cross, cap), rationale="Seybold", actor="cfo") == 1
    assert policy.adopt(terms=_terms(), rationale="none again", actor="cfo") == 2
    assert policy.terms_at(1).guardrails == (cross, cap)
    assert policy.terms_at(2).guardrails == ()
    assert cross.name == "kind cx_process"


@pytest.mark.parametrize(
    ("guardrails", "says"),
    [
        ((Guardrail("kind", "cx_process", Decimal("0.6")),
          Guardrail("kind", "pnl", Decimal("0.5"))),
         "minimum shares add up to 110"),
        ((Guardrail("pnl", "A", Decimal("0.5"), Decimal("0.4")),), "above its maximum"),
        ((Guardrail("pnl", "A", Decimal("1.5")),), "shares must be in [0, 1]"),
        ((Guardrail("pnl", "A"),), "needs a minimum or a maximum"),
        ((Guardrail("colour", "A", Decimal("0.1")),), "dimension must be one of"),
        ((Guardrail("pnl", "A", Decimal("0.1")), Guardrail("pnl", "A", None, Decimal("0.5"))),
         "given twice"),
        (tuple(Guardrail("touchpoint", f"t{k}", Decimal("0.1")) for k in range(4)), "at most 3"),
    ],
)
def test_infeasible_or_malformed_guardrails_are_refused(
    guardrails: tuple[Guardrail, ...], says: str
) -> None:
    policy = ScoringPolicy(actor="cfo")
    policy.collect_events()
    with pytest.raises(PolicyRuleViolation) as exc:
        policy.adopt(terms=_terms(*guardrails), rationale="try", actor="cfo")
    assert says in str(exc.value)
    assert exc.value.code == "policy.invalid"
    assert policy.policy_version == 0 and policy.collect_events() == []


def test_guardrails_round_trip_and_old_terms_decode_without_them() -> None:
    transcoder = _transcoder()
    terms = _terms(Guardrail("touchpoint", "branch", None, Decimal("0.3")))
    stored = transcoder.encode({"terms": terms})
    assert transcoder.decode(stored)["terms"] == terms
    old = json.loads(stored)
    del old["terms"]["_data_"]["guardrails"]  # as an Adopted event stored before issue 16
    decoded = transcoder.decode(json.dumps(old).encode())["terms"]
    assert isinstance(decoded, PolicyTerms) and decoded.guardrails == ()
    assert decoded.weights == WEIGHTS
