"""`cxgov policy show|adopt` (issue 16): guardrails set from the command line, refused when
they cannot hold, shown as of any position."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from governance.bootstrap import Runtime
from tests.api.conftest import cli_harborview, cxgov


@pytest.fixture
def rt(monkeypatch: pytest.MonkeyPatch) -> Iterator[Runtime]:
    yield from cli_harborview(monkeypatch)


def test_guardrails_adopted_shown_and_refused_from_the_command_line(rt: Runtime) -> None:
    code, out = cxgov("policy", "show")
    assert code == 0 and "policy v1" in out and "guardrails: none" in out, out
    before = rt.app.position()
    code, out = cxgov("policy", "adopt", "--rationale", "Seybold: a floor and a cap",
                      "--guardrail", "pnl:CX:min_share=0.25",
                      "--guardrail", "pnl:RB:max_amount=40000000")
    assert code == 0 and out.startswith("written:"), out
    code, out = cxgov("policy", "show")
    assert "policy v2" in out
    assert "guardrail pnl CX: at least 25% of the pool" in out
    assert "guardrail pnl RB: at most 40,000,000" in out
    weights_before = json.loads(cxgov("policy", "show", "--as-of", str(before), "--json")[1])
    assert weights_before["version"] == 1 and weights_before["terms"]["guardrails"] == []
    now = json.loads(cxgov("policy", "show", "--json")[1])
    assert now["terms"]["weights"] == weights_before["terms"]["weights"]  # kept
    rec = json.loads(cxgov("recommendation", "FY2027", "--json")[1])
    assert [g["name"] for g in rec["guardrails"]] == ["pnl CX", "pnl RB"]

    position = rt.app.position()
    code, out = cxgov("policy", "adopt", "--rationale", "x",
                      "--guardrail", "pnl:RB:min_amount=90000000:max_share=0.5")
    assert code != 0 and "[policy.invalid]" in out
    assert "guardrail pnl RB in FY2027" in out and "above its maximum 60,000,000.00" in out
    code, out = cxgov("policy", "adopt", "--rationale", "x", "--guardrail", "pnl:RB:most=1")
    assert code != 0 and "each bound is one of" in out
    code, out = cxgov("policy", "adopt", "--rationale", "x", "--guardrail", "pnl")
    assert code != 0 and "DIMENSION:VALUE:BOUND=NUMBER" in out
    assert rt.app.position() == position  # nothing written by the refusals
    code, out = cxgov("policy", "adopt", "--rationale", "none again", "--no-guardrails")
    assert code == 0, out
    assert "guardrails: none" in cxgov("policy", "show")[1]
    code, out = cxgov("policy", "adopt", "--help")
    assert "pnl:CX:min_share=0.25" in out
