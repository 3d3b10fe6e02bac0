"""The scoring policy: adopt a version, read it, preview draft terms (what-if)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from api.deps import (
    AsOf,
    IdempotencyKeyHeader,
    MinPosition,
    PrincipalDep,
    ServicesDep,
    at,
    keyed,
    written,
)
from api.routes.docs import READ, WRITE
from api.schemas import (
    PolicyPreview,
    PolicyPublic,
    PolicyTermsIn,
    PolicyUpdate,
    RankingPublic,
    WrittenPublic,
)
from domain.errors import PeriodNotFound, PolicyNotAdopted
from domain.policy import Guardrail, PolicyTerms, check_guardrail_pnls, check_guardrails_in
from governance.read_access import read_as, require_policy_previewer

router = APIRouter(prefix="/v1", tags=["scoring policy"])


def terms_of(body: PolicyTermsIn) -> PolicyTerms:
    """Scoring terms from a request body; omitted values keep the defaults."""
    defaults = PolicyTerms(weights={})
    return PolicyTerms(
        weights=dict(body.weights),
        confidence_tiers=dict(body.confidence_tiers or defaults.confidence_tiers),
        cost_unit=body.cost_unit if body.cost_unit is not None else defaults.cost_unit,
        four_eyes_threshold=(body.four_eyes_threshold if body.four_eyes_threshold is not None
                             else defaults.four_eyes_threshold),
        min_sample_size=(body.min_sample_size if body.min_sample_size is not None
                         else defaults.min_sample_size),
        at_risk_realisation=(body.at_risk_realisation if body.at_risk_realisation is not None
                             else defaults.at_risk_realisation),
        undecided_days=(body.undecided_days if body.undecided_days is not None
                        else defaults.undecided_days),
        guardrails=tuple(Guardrail(g.dimension, g.value, min_share=g.min_share,
                                   max_share=g.max_share, min_amount=g.min_amount,
                                   max_amount=g.max_amount) for g in body.guardrails),
    )


@router.put("/scoring-policy", response_model=WrittenPublic, responses=WRITE)
def adopt_policy(body: PolicyUpdate, request: Request, s: ServicesDep, who: PrincipalDep,
                 key: IdempotencyKeyHeader = None) -> JSONResponse:
    """Adopt scoring terms as the next policy version (CX executive). Guardrails are
    versioned with the terms; a set that cannot hold (a minimum above its maximum, minimums
    above the pool, in any open period) is refused with 422 `policy.invalid` naming it."""
    with keyed(s.gov, who, request, key, body) as gov:
        result = gov.adopt_policy(who, terms=terms_of(body), rationale=body.rationale)
    return written(s.gov, result)


@router.get("/scoring-policy", response_model=PolicyPublic, responses=READ)
def get_policy(s: ServicesDep, who: PrincipalDep, as_of: AsOf = None,
               min_position: MinPosition = None) -> PolicyPublic:
    """The policy in force, with its version number (every authenticated caller)."""
    snapshot = read_as(who, s.models.snapshot(**at(s.models, as_of, min_position)))
    found = snapshot.policy()
    if found is None:
        raise PolicyNotAdopted("no scoring policy has been adopted yet")
    return PolicyPublic(item=found, position=snapshot.position)


@router.post("/scoring-policy/preview", response_model=RankingPublic, responses=READ)
def preview_policy(body: PolicyPreview, s: ServicesDep, who: PrincipalDep) -> RankingPublic:
    """What-if: the ranking of a period under draft terms, nothing adopted (CX executive).

    Guardrails are judged as adoption judges them (decisions 148-149): a P&L not in the
    register, or a set that cannot hold in an open period's pool, is refused with 422
    `policy.invalid` naming the period and the conflict, so a preview never shows a ranking
    under terms that adoption would refuse."""
    require_policy_previewer(who)
    terms = terms_of(body).check()
    if terms.guardrails:
        state = s.models.state_at(s.models.position())
        check_guardrail_pnls(terms.guardrails, lambda code: code in state.pnls)
        for code, period in state.periods.items():
            if not period.closed:
                check_guardrails_in(terms.guardrails, period=code, pool=period.amount)
    position, rows = s.models.preview_ranking(body.period, terms)
    if rows is None:
        raise PeriodNotFound(f"no period {body.period}", period=body.period)
    return RankingPublic(items=rows, position=position)
