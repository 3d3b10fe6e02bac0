"""Domain errors: every rule violation is a noun with a stable machine-readable code."""

from __future__ import annotations

from typing import Any, ClassVar


class CxgovError(Exception):
    """Base for every error cxgov reports to a user; `code` is stable across releases."""

    code: ClassVar[str] = "cxgov.error"
    title: ClassVar[str] = "Request could not be completed"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class InvalidInput(CxgovError):
    """A value is malformed or out of range."""

    code = "validation.invalid"
    title = "Invalid input"

    def __init__(self, message: str, *, field: str | None = None, **details: Any) -> None:
        super().__init__(message, field=field, **details)
        self.field = field

    def within(self, prefix: str) -> InvalidInput:
        """The same error for a field inside a list item: `readings.3` + `observed_at`."""
        field = f"{prefix}.{self.field}" if self.field else prefix
        details = {k: v for k, v in self.details.items() if k != "field"}
        return InvalidInput(f"{prefix}: {self.message}", field=field, **details)


class DescopeOutOfRange(InvalidInput):
    """A descope's new cost is not below the commitment, or is below what was spent."""

    code = "validation.descope_out_of_range"


class TranchesDoNotAddUp(InvalidInput):
    """An approval's first tranche and gates do not add up to the cost."""

    code = "validation.tranches_do_not_add_up"


class NotFound(CxgovError):
    """The named thing does not exist."""

    code = "resource.not_found"
    title = "Not found"


class AlreadyExists(CxgovError):
    """A thing with this natural key exists already."""

    code = "resource.already_exists"
    title = "Already exists"


class InvalidTransition(CxgovError):
    """The lifecycle does not allow this command in the current state."""

    code = "state.invalid_transition"
    title = "Not allowed in the current state"


class PoolRuleViolation(CxgovError):
    """Base for funding pool rules."""

    code = "pool.rule"
    title = "Funding pool rule"


class CapOutOfRange(PoolRuleViolation):
    """The cap percent must lie in (0, 10]."""

    code = "pool.cap_out_of_range"
    title = "Cap percent out of range"


class InsufficientFunds(PoolRuleViolation):
    """Committing this amount would overspend the pool."""

    code = "pool.insufficient_funds"
    title = "Insufficient funds in the pool"


class RestatementBelowCommitted(PoolRuleViolation):
    """A restated OpEx would shrink the pool below what is already committed."""

    code = "pool.restatement_below_committed"
    title = "Restatement below committed funds"


class PeriodClosed(PoolRuleViolation):
    """The fiscal period is closed."""

    code = "period.closed"
    title = "Period closed"


class DecisionRuleViolation(CxgovError):
    """Base for decision rules."""

    code = "decision.rule"
    title = "Decision rule"


class SelfApproval(DecisionRuleViolation):
    """Nobody decides on an initiative they submitted or revised."""

    code = "decision.self_approval"
    title = "Self-approval is not allowed"


class SecondApproverRequired(DecisionRuleViolation):
    """Above the four-eyes threshold the second approval must come from a different person."""

    code = "decision.second_approver_required"
    title = "A different second approver is required"


class JustificationRequired(DecisionRuleViolation):
    """A departure from the recommendation needs a written justification (comply or explain)."""

    code = "decision.justification_required"
    title = "Justification required for a departure from the recommendation"


class DependencyNotMet(DecisionRuleViolation):
    """An initiative cannot be funded before the initiatives it depends on."""

    code = "decision.dependency_not_funded"
    title = "Dependency not funded"


class PolicyRuleViolation(CxgovError):
    """A scoring policy is inconsistent."""

    code = "policy.invalid"
    title = "Invalid scoring policy"


class PeriodNotFound(NotFound):
    """No fiscal period with this code."""

    code = "period.not_found"


class InitiativeNotFound(NotFound):
    """No initiative with this id or code."""

    code = "initiative.not_found"


class MetricNotFound(NotFound):
    """No customer success metric with this code."""

    code = "metric.not_found"


class JobNotFound(NotFound):
    """No job to be done with this code (issue 15)."""

    code = "job.not_found"


class DepartmentNotFound(NotFound):
    """No operational metric names this department (issue 15)."""

    code = "department.not_found"


class PnlNotFound(NotFound):
    """No P&L with this code."""

    code = "pnl.not_found"


class ScenarioNotFound(NotFound):
    """No scenario with this code."""

    code = "scenario.not_found"


class PolicyNotAdopted(CxgovError):
    """No scoring policy has been adopted yet."""

    code = "policy.not_adopted"
    title = "No scoring policy adopted"


class SignalNotFound(NotFound):
    """No open signal with this key (it may have closed: its condition no longer holds)."""

    code = "signal.not_found"


class ReviewNotFound(NotFound):
    """No review with this id."""

    code = "review.not_found"


class BenefitPlanNotFound(NotFound):
    """The initiative has no benefit plan yet."""

    code = "benefit_plan.not_found"


class WebhookNotFound(NotFound):
    """No webhook subscription with this id."""

    code = "webhook.not_found"


class PlanNotFound(NotFound):
    """No funding plan with this name in the period (issue 16)."""

    code = "plan.not_found"


class PlanInfeasible(InvalidInput):
    """A funding plan's budget or forced initiatives cannot be honoured (issue 16)."""

    code = "validation.plan_infeasible"


class RoundRuleViolation(CxgovError):
    """Base for funding-round rules (issue 16, part 4: domain/rounds.py)."""

    code = "round.rule"
    title = "Funding round rule"


class RoundOutsideIntake(RoundRuleViolation):
    """A submission to a period running a round, outside its intake window."""

    code = "round.outside_intake"
    title = "Outside the round's intake window"


class RoundNotInDecision(RoundRuleViolation):
    """A decision in a period running a round, before its decision phase."""

    code = "round.not_in_decision"
    title = "The round is not in its decision phase"


class RoundClosedForReview(RoundRuleViolation):
    """A feasibility mark outside the round's intake and review phases."""

    code = "round.review_closed"
    title = "The round's feasibility review is closed"


class RoundChangeRefused(RoundRuleViolation):
    """A person's change to a round's schedule that would undo what has happened (decision
    200): a time moved before the clock, intake's opening once open, intake's close or the
    review deadline once decisions began, or a change the current phase does not allow."""

    code = "round.change_refused"
    title = "The round's schedule cannot change so"


class RoundNotFound(NotFound):
    """The period runs no funding round."""

    code = "round.not_found"
