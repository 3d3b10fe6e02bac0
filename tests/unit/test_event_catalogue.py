"""Every event type says who, what, when, why and, for changes, the values before and after.

`what` is the event type and its payload, `when` its timestamp, `who` its actor. The table
below names, per type, the field that says why and the fields that hold before/after values;
creations have no "before" (their payload is the "after"), and their "why" is the record
itself unless a field carries it.
"""

from __future__ import annotations

import dataclasses

import pytest

from tests.unit.test_events import event_classes

CATALOGUE: dict[str, tuple[str | None, tuple[str, ...], tuple[str, ...]]] = {
    # topic: (why field, before fields, after fields)
    "cxgov.FundingPool.Opened": (None, (), ("opex_total", "cap_percent")),
    "cxgov.FundingPool.OpexRestated": ("reason", ("previous_opex_total",), ("opex_total",)),
    "cxgov.FundingPool.InitiativeEnlisted": (None, (), ("initiative_id", "code")),
    "cxgov.FundingPool.FundsCommitted": ("decision_id", ("available_before",),
                                         ("available_after", "amount")),
    "cxgov.FundingPool.FundsReleased": ("reason", ("available_before",),
                                        ("available_after", "amount")),
    "cxgov.FundingPool.Closed": ("reason", (), ("committed",)),
    "cxgov.PnL.Registered": (None, (), ("code", "name", "owners")),
    "cxgov.Scenario.Defined": ("description", (), ("code", "name")),
    "cxgov.CustomerSuccessMetric.Defined": ("customer_phrasing", (), ("baseline", "target")),
    "cxgov.CustomerSuccessMetric.Retargeted": ("reason", ("previous_baseline", "previous_target"),
                                               ("baseline", "target")),
    "cxgov.CustomerSuccessMetric.OperationalMetricsMapped": (
        None, ("previous",), ("metric", "operational_metrics")),
    "cxgov.ObservationBatch.Recorded": ("source", (), ("readings",)),
    "cxgov.FeedbackBatch.Recorded": ("source", (), ("items",)),
    "cxgov.Evidence.Opened": (None, (), ("initiative_id", "code")),
    "cxgov.Evidence.Cited": ("note", (), ("refs",)),
    "cxgov.Job.Defined": ("statement", (), ("importance", "satisfaction", "metrics")),
    "cxgov.Job.Rated": ("source", ("previous_importance", "previous_satisfaction"),
                        ("importance", "satisfaction")),
    "cxgov.ServedJobs.Opened": (None, (), ("initiative_id", "code")),
    "cxgov.ServedJobs.Linked": ("reason", ("previous",), ("jobs",)),
    "cxgov.ScoringPolicy.Started": (None, (), ()),
    "cxgov.ScoringPolicy.Adopted": ("rationale", (), ("policy_version", "terms")),
    "cxgov.Initiative.Submitted": ("proposal", (), ("proposal",)),
    "cxgov.Initiative.Revised": ("reason", ("previous",), ("changes",)),
    "cxgov.Initiative.Withdrawn": ("reason", ("previous_status",), ()),
    "cxgov.Initiative.FirstApprovalRecorded": ("decision", ("decision",), ("decision",)),
    "cxgov.Initiative.Approved": ("decision", ("decision",), ("decision", "amount")),
    "cxgov.Initiative.Rejected": ("decision", ("decision",), ("decision",)),
    "cxgov.Initiative.Deferred": ("decision", ("decision",), ("decision",)),
    "cxgov.Initiative.Delivered": ("note", (), ("delivered_on",)),
    "cxgov.Initiative.OutcomeRecorded": ("note", (), ("metric", "observed_value")),
    "cxgov.Initiative.Cancelled": ("reason", (), ("amount_released",)),
    "cxgov.Initiative.CarriedOver": ("reason", ("previous_status",),
                                     ("to_period", "to_code", "to_id", "cost")),
    "cxgov.Initiative.SpendRecorded": ("note", (), ("amount", "spent_on", "reference")),
    "cxgov.Initiative.TrancheApprovalRecorded": ("decision", ("decision",), ("decision",)),
    "cxgov.Initiative.TrancheReleased": ("decision", ("decision",), ("decision", "amount")),
    "cxgov.Initiative.Descoped": ("reason", ("previous_commitment",),
                                  ("new_cost", "amount_released")),
    "cxgov.IdempotencyKey.Recorded": ("fingerprint", (), ("result_id", "result_version")),
    "cxgov.WebhookSubscription.Subscribed": ("description", (), ("url", "kinds")),
    "cxgov.WebhookSubscription.Paused": ("reason", (), ()),
    "cxgov.WebhookSubscription.Resumed": ("reason", (), ()),
    "cxgov.WebhookSubscription.Deleted": ("reason", (), ()),
    "cxgov.WebhookSubscription.DeadLettersReplayed": ("reason", (), ("delivery_ids",)),
    "cxgov.BenefitPlan.Planned": (None, (), ("initiative_id", "owner", "points")),
    "cxgov.BenefitPlan.Revised": ("reason", ("previous_owner", "previous_points"),
                                  ("owner", "points")),
    "cxgov.SignalNote.Started": (None, (), ("key", "kind")),
    "cxgov.SignalNote.Acknowledged": ("note", ("raised_at",), ("key", "review")),
    "cxgov.SignalNote.Resolved": ("note", ("raised_at",), ("key", "review")),
    "cxgov.Review.Opened": ("title", (), ("period", "position", "signals", "ranking")),
    "cxgov.Review.ItemRecorded": ("note", (), ("item", "signal", "initiative", "answers")),
    "cxgov.Review.Closed": ("minutes", (), ("items",)),
    # funding rounds (issue 16, part 4; decision 200: the phase changes people make)
    "cxgov.FundingRound.Opened": (None, (), ("intake_opens", "intake_closes",
                                             "review_deadline", "decision_deadline")),
    "cxgov.FundingRound.FeasibilityMarked": ("note", (), ("code", "verdict")),
    "cxgov.FundingRound.Rescheduled": (
        "reason", ("phase_before", "previous_intake_opens", "previous_intake_closes",
                   "previous_review_deadline", "previous_decision_deadline"),
        ("change", "intake_opens", "intake_closes", "review_deadline", "decision_deadline")),
    # plans and the plan of record (issue 16, part 2)
    "cxgov.FundingPlan.Saved": ("description", (), ("budget", "policy_version", "forced_in",
                                                    "forced_out", "position", "items")),
    "cxgov.PlanOfRecord.Started": (None, (), ("period",)),
    "cxgov.PlanOfRecord.Adopted": ("rationale", ("replaces",), ("plan_id", "name", "codes")),
}
DECISION_FIELDS = {"rationale", "departure", "rank", "score", "policy_version",
                   "available_before", "available_after", "approvals", "ranking_position"}


def test_the_catalogue_names_every_event_type_and_nothing_else() -> None:
    assert {cls.TOPIC for cls in event_classes()} == set(CATALOGUE)


@pytest.mark.parametrize("cls", event_classes(), ids=lambda c: c.TOPIC)
def test_each_event_type_records_who_what_when_why_and_before_after(cls: type) -> None:
    fields = {f.name for f in dataclasses.fields(cls)}
    why, before, after = CATALOGUE[cls.TOPIC]
    assert {"actor", "timestamp", "originator_id", "originator_version"} <= fields
    for name in (*before, *after, *((why,) if why else ())):
        assert name in fields, f"{cls.TOPIC} lacks {name}"


def test_decision_records_carry_why_and_the_pool_before_and_after() -> None:
    from domain.initiative import DecisionRecord

    assert {f.name for f in dataclasses.fields(DecisionRecord)} >= DECISION_FIELDS
