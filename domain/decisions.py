"""Deciding on an initiative: every decision rule, on loaded aggregates, without any store.

The application loads the initiative, its pool, the policy in force and the period's
assessment, calls `decide`, and saves the aggregates it returns. The rules, in the order they
are checked (the first that fails is the one reported):

1. only an undecided initiative is decided (InvalidTransition), and never by one of its
   authors, who submitted or revised it (SelfApproval);
2. an approval fits what the pool still has available (InsufficientFunds);
3. the initiative is ranked in the assessment (InvalidTransition);
4. comply or explain: a departure from the recommendation (approving below the cut line,
   rejecting or deferring above it) needs a written rationale (JustificationRequired); with
   a plan of record adopted for the period (issue 16, domain/plans.py) the reference is the
   plan instead: approving what it does not fund, or rejecting or deferring what it funds;
   the refusal says where the recommendation leaves the initiative, and when a guardrail
   leaves out work ranked above the cut line, which guardrail (decision 147);
5. an approval: the second approval above the four-eyes threshold comes from someone else
   (SecondApproverRequired), and every dependency is funded first (DependencyNotMet);
6. the lifecycle takes the transition (InvalidTransition, e.g. deferring what is deferred).

Rules 1 and 2 are also callable alone (`check_decidable`, `check_affordable`) so that the
application can refuse before it queues for the pool's turn or ranks the period.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.errors import (
    DependencyNotMet,
    InvalidTransition,
    JustificationRequired,
    SecondApproverRequired,
    SelfApproval,
)
from domain.initiative import DecisionRecord, Initiative, Tranches
from domain.lifecycle import UNDECIDED, Outcome, Status
from domain.optimize import UnfundedReason
from domain.plans import AdoptedPlan
from domain.policy import PolicyTerms
from domain.pool import FundingPool
from domain.portfolio import Assessment, RankedEntry
from domain.text import optional_text


@dataclass(frozen=True)
class Decision:
    """A decision taken: its record and the aggregates it changed, in the order to save them
    (the pool first when an approval commits its funds)."""

    record: DecisionRecord
    changed: tuple[Aggregate, ...]


def check_decidable(initiative: Initiative, *, actor: str) -> Initiative:
    """Rule 1: the initiative is undecided and `actor` is not one of its authors."""
    if initiative.status not in UNDECIDED:
        raise InvalidTransition(
            f"initiative {initiative.code} is {initiative.status}; it can no longer be decided",
            status=initiative.status)
    if actor in initiative.authors:
        raise SelfApproval("nobody decides on an initiative they submitted or revised")
    return initiative


def check_affordable(initiative: Initiative, pool: FundingPool, outcome: Outcome,
                     tranches: Tranches | None = None) -> None:
    """Rule 2: an approval asks for no more than the pool still has available (with
    tranches: the first tranche, the only part committed now)."""
    if outcome == Outcome.APPROVE:
        pool.require_funds(tranches.first if tranches else initiative.cost)


def decide(
    initiative: Initiative,
    pool: FundingPool,
    *,
    actor: str,
    outcome: Outcome,
    rationale: str,
    assessment: Assessment,
    terms: PolicyTerms,
    policy_version: int,
    ranking_position: int,
    decision_id: UUID,
    tranches: Tranches | None = None,
    plan: AdoptedPlan | None = None,
) -> Decision:
    """Apply every decision rule, record the decision on the initiative and, for a final
    approval, commit the funds on the pool (`tranches`: only the first tranche; the gates'
    tranches are released later by `release_tranche`).

    `assessment` ranks the pool's initiatives in contention (funded ones included) under
    `terms`, policy number `policy_version`, as of log position `ranking_position`.
    `plan`: the period's plan of record, when one is adopted; comply or explain then judges
    the decision against it (`recommended` records whether the plan funds the initiative).
    """
    outcome = Outcome.parse(outcome)
    rationale = optional_text(rationale, field="rationale", max_length=4000)
    approving = outcome == Outcome.APPROVE
    check_decidable(initiative, actor=actor)
    check_affordable(initiative, pool, outcome, tranches)
    entry = assessment.entry(initiative.code)
    if entry is None:  # undecided initiatives are always in contention
        raise InvalidTransition(f"{initiative.code} is not in contention")
    recommended = plan.funds(initiative.code) if plan is not None else entry.recommended
    departure = recommended != approving
    if departure and not rationale and plan is not None:
        raise JustificationRequired(
            f"{initiative.code} is {'in' if recommended else 'outside'} the plan of record "
            f"{plan.name!r}; to {outcome} it, write a justification", field="rationale",
            rank=entry.rank, recommended=recommended, plan=plan.name,
            cut_line_rank=assessment.cut_line_rank)
    if departure and not rationale:
        where, why = _where(entry, assessment, terms)
        raise JustificationRequired(
            f"{initiative.code} {where}; to {outcome} it, write a justification",
            field="rationale", rank=entry.rank, recommended=entry.recommended,
            cut_line_rank=assessment.cut_line_rank, **why)
    if approving:
        _check_approver_and_dependencies(initiative, actor, assessment, terms)
    cost = initiative.cost  # four eyes judge the whole cost, tranches or not
    final = approving and (cost <= terms.four_eyes_threshold
                           or initiative.status == Status.PENDING_SECOND_APPROVAL)
    committed = tranches.first if tranches else cost
    record = DecisionRecord(
        decision_id=decision_id, outcome=outcome, rationale=rationale, departure=departure,
        recommended=recommended, rank=entry.rank, score=entry.scored.score,
        cip=entry.scored.cip, policy_version=policy_version,
        available_before=pool.available,
        available_after=pool.available - committed if final else pool.available,
        ranking_position=ranking_position, cut_line_rank=assessment.cut_line_rank,
        approvals=(*initiative.approvals, actor) if approving else tuple(initiative.approvals),
        plan=plan.name if plan is not None else None,
    )
    if outcome == Outcome.REJECT:
        initiative.reject(decision=record, actor=actor)
    elif outcome == Outcome.DEFER:
        initiative.defer(decision=record, actor=actor)
    elif not final:
        initiative.record_first_approval(decision=record, actor=actor)
    else:
        pool.commit(initiative_id=initiative.id, amount=committed, decision_id=decision_id,
                    actor=actor)
        initiative.approve(decision=record, actor=actor, tranches=tranches)
        return Decision(record, (pool, initiative))
    return Decision(record, (initiative,))


def release_tranche(
    initiative: Initiative,
    pool: FundingPool,
    *,
    gate: str,
    actor: str,
    rationale: str,
    assessment: Assessment,
    terms: PolicyTerms,
    policy_version: int,
    ranking_position: int,
    decision_id: UUID,
) -> Decision:
    """Release a gate's tranche: a decision with the approval's rules, in this order:

    1. approved (or delivered) work with that gate unreleased (InvalidInput, InvalidTransition),
       never by one of its authors (SelfApproval);
    2. the tranche fits what the pool has available (InsufficientFunds);
    3. comply or explain: `assessment` ranks the initiative as if undecided and asking for
       the tranche; a release it would not recommend needs a written rationale
       (JustificationRequired);
    4. four eyes, judged on the tranche: above the threshold a first approval is recorded
       and a different CX executive releases (SecondApproverRequired).
    """
    rationale = optional_text(rationale, field="rationale", max_length=4000)
    amount = initiative.check_tranche(gate)
    if actor in initiative.authors:
        raise SelfApproval("nobody releases a tranche of an initiative they submitted or "
                           "revised")
    pool.require_funds(amount)
    entry = assessment.entry(initiative.code)
    recommended = entry is not None and entry.recommended
    if not recommended and not rationale:
        raise JustificationRequired(
            f"the current ranking would not fund the {amount} of gate {gate!r} of "
            f"{initiative.code}; to release it, write a justification", field="rationale",
            rank=entry.rank if entry else None, recommended=False,
            cut_line_rank=assessment.cut_line_rank)
    approvals = initiative.gate_approvals(gate)
    if actor in approvals:
        raise SecondApproverRequired(
            f"the tranche of gate {gate!r} ({amount}) is above the four-eyes threshold "
            f"{terms.four_eyes_threshold}: a different CX executive must release it")
    final = amount <= terms.four_eyes_threshold or bool(approvals)
    record = DecisionRecord(
        decision_id=decision_id, outcome=Outcome.APPROVE, rationale=rationale,
        departure=not recommended, recommended=recommended,
        rank=entry.rank if entry else None,
        score=entry.scored.score if entry else Decimal(0),
        cip=entry.scored.cip if entry else Decimal(0), policy_version=policy_version,
        available_before=pool.available,
        available_after=pool.available - amount if final else pool.available,
        ranking_position=ranking_position, cut_line_rank=assessment.cut_line_rank,
        approvals=(*approvals, actor))
    if not final:
        initiative.record_tranche_approval(gate=gate, decision=record, actor=actor)
        return Decision(record, (initiative,))
    pool.commit(initiative_id=initiative.id, amount=amount, decision_id=decision_id,
                actor=actor, tranche=True)
    initiative.release_tranche(gate=gate, decision=record, actor=actor)
    return Decision(record, (pool, initiative))


def _where(entry: RankedEntry, assessment: Assessment,
           terms: PolicyTerms) -> tuple[str, dict[str, object]]:
    """Where the recommendation leaves an initiative, in words, and the guardrails that put it
    there (decision 147). Recommended: above the cut line. Ranked below the cut line: below it.
    Ranked above the cut line yet left out: why, naming the guardrail that leaves no room (its
    maximum, when the initiative is in its group; otherwise the minimums of groups it is not
    in, funded first from lower ranks), or the greedy walk's reason without guardrails; the
    problem's details then add `reason` (the walk's reason code) and `guardrails` (names)."""
    if entry.recommended:
        return "is above the recommendation's cut line", {}
    cut = assessment.cut_line_rank
    if cut is None or entry.rank > cut:
        return "is below the recommendation's cut line", {}
    c = entry.scored.candidate
    member = [g for g in terms.guardrails
              if g.matches(kind=c.kind, pnl=c.pnl, touchpoints=c.touchpoints,
                           functional_areas=c.functional_areas)]
    if entry.reason_code == UnfundedReason.ABOVE_GUARDRAIL:
        bounding = [g for g in member
                    if g.max_share is not None or g.max_amount is not None]
    else:
        bounding = [g for g in terms.guardrails if g not in member
                    and (g.min_share is not None or g.min_amount is not None)]
    why = entry.reason or "not funded by the greedy walk"
    if not bounding:
        return (f"is not in the recommendation though ranked above its cut line: {why}",
                {"reason": entry.reason_code})
    said = "; ".join(f"{g.name} ({g.describe()})" for g in bounding)
    return (f"is not in the recommendation though ranked above its cut line: the "
            f"guardrail{'s' if len(bounding) > 1 else ''} {said} "
            f"leave{'' if len(bounding) > 1 else 's'} no room ({why})",
            {"reason": entry.reason_code, "guardrails": [g.name for g in bounding]})


def _check_approver_and_dependencies(initiative: Initiative, actor: str,
                                     assessment: Assessment, terms: PolicyTerms) -> None:
    """Rule 5: four eyes, then dependencies funded first."""
    if actor in initiative.approvals:
        raise SecondApproverRequired(
            f"{initiative.code} costs more than the four-eyes threshold "
            f"{terms.four_eyes_threshold}: a different CX executive must approve it")
    funded = {e.code for e in assessment.entries if e.funded}
    missing = [d for d in initiative.proposal.dependencies if d not in funded]
    if missing:
        raise DependencyNotMet(f"{initiative.code} needs {', '.join(missing)} funded first",
                               missing=missing)
