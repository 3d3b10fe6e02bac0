"""One decision explained from the log, with the read model checked against it (issue 18, item 5).

`GET /v1/audit/decisions/{id}` finds the decision through the read model, then reads the
decision record from the initiative's own stored events (the hash-chained log) and serves
that record, never the read model's copy. "Ranking then" is the period replayed as of the
decision's ranking position from the newest fold snapshot at or before it and the log after it
(the as-of replay every query uses); its row for the decided initiative is checked against the
log's record. Every disagreement is listed in `log_check`.
"""

from __future__ import annotations

from uuid import UUID

from pydantic import BaseModel, Field

from api.schemas import DecisionRecordPublic
from governance.app import Governance
from governance.principal import Principal
from governance.usecases.audit import LoggedDecision
from projections.codec import plain
from projections.query import ReadModels
from projections.rows import DecisionExplanation, DecisionRecord, ExplainedDecision, RankingRow

#: A record field's value as JSON: text (amounts too), a number, a flag, approvers, or null.
Value = str | int | bool | list[str] | None

#: Decisions ranked as the service ranks them for a tranche release: the initiative as if
#: undecided and asking for the tranche, so the period's ranking row is not comparable.
TRANCHES = ("Initiative.TrancheApprovalRecorded", "Initiative.TrancheReleased")


class Disagreement(BaseModel):
    """One field on which the read model (or the ranking replayed then) and the log differ."""

    field: str = Field(
        description="The record's field, or `ranking_then.<field>` for the "
        "decided initiative's row of the ranking then."
    )
    read_model: Value = Field(description="What the read model (or the ranking then) says.")
    log: Value = Field(description="What the decision's event in the log says.")


class LogCheck(BaseModel):
    """How the answer was checked against the log."""

    source: str = Field(
        description="`log`: the decision record served is the one the "
        "initiative's stored event holds."
    )
    position: int = Field(description="The log position of the decision's event.")
    agrees: bool = Field(
        description="The read model's record and the ranking then's row of "
        "the initiative agree with the log."
    )
    ranking_checked: bool = Field(
        description="False for a tranche release: it was ranked "
        "asking for the tranche, not as the period's "
        "row shows it."
    )
    disagreements: list[Disagreement]


class DecisionFromLogPublic(DecisionRecordPublic):
    """One decision explained from the log, as of a log position, and the check."""

    log_check: LogCheck


def _record_row(logged: LoggedDecision) -> DecisionRecord:
    return DecisionRecord.model_validate(
        plain(
            {
                **logged.record.__dict__,
                "actor": logged.actor,
                "at": logged.at,
                "position": logged.position,
            }
        )
    )


def _ranking_disagreements(
    entry: RankingRow | None,
    record: DecisionRecord,
) -> list[Disagreement]:
    if entry is None:
        return [Disagreement(field="ranking_then.rank", read_model=None, log=record.rank)]
    pairs: list[tuple[str, Value, Value]] = [
        ("rank", entry.rank, record.rank),
        ("score", entry.score, record.score),
        ("cip", entry.cip, record.cip),
        ("cut_line_rank", entry.cut_line_rank, record.cut_line_rank),
    ]
    if record.plan is None:  # with a plan of record, `recommended` is the plan's
        pairs.append(("recommended", entry.recommended, record.recommended))
    return [
        Disagreement(field=f"ranking_then.{name}", read_model=then, log=logged)
        for name, then, logged in pairs
        if then != logged
    ]


def explain_from_log(
    gov: Governance,
    models: ReadModels,
    who: Principal,
    decision_id: UUID,
    explained: DecisionExplanation,
) -> DecisionFromLogPublic | None:
    """The decision the read model located, served from the log and checked (None: the log
    holds no such decision on that initiative)."""
    logged = gov.logged_decision(
        who, initiative_id=UUID(explained.initiative.id), decision_id=decision_id
    )
    if logged is None:
        return None
    record = _record_row(logged)
    ranking = explained.ranking_then
    if record.ranking_position != explained.ranking_position:  # replay where the log says
        ranking = models.snapshot(as_of=record.ranking_position).ranking(
            explained.initiative.period
        )
    entry = next((r for r in ranking if r.code == explained.initiative.code), None)
    stored, read = record.model_dump(), explained.decision.model_dump()
    disagreements = [
        Disagreement(field=name, read_model=read.get(name), log=value)
        for name, value in stored.items()
        if read.get(name) != value
    ]
    tranche = logged.topic in TRANCHES
    if not tranche:
        disagreements += _ranking_disagreements(entry, record)
    from_log = explained.model_copy(
        update={
            "decision": record,
            "ranking_position": record.ranking_position,
            "ranking_then": ranking,
            "entry_then": entry,
            "cut_line_rank": record.cut_line_rank,
            "departure": record.departure,
            "justification": record.rationale or None,
            "approvers": record.approvals,
            "pool_before": record.available_before,
            "pool_after": record.available_after,
            "policy_version": record.policy_version,
        }
    )
    return DecisionFromLogPublic(
        item=ExplainedDecision.of(from_log),
        position=models.position(),
        log_check=LogCheck(
            source="log",
            position=logged.position,
            agrees=not disagreements,
            ranking_checked=not tranche,
            disagreements=disagreements,
        ),
    )
