"""Voice of the customer on the read side (issue 15, part 6): feedback items and the evidence
initiatives cite. The fold keeps both in the state's core (`PortfolioState.feedback` by item
ref, `PortfolioState.evidence` by initiative id; the handlers below are registered into the
portfolio fold), so feedback reads replay as of any position without loading an initiative.
A citation changes its period's ranking (the card's `evidence` count), never its score.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import Field

from domain.feedback import Evidence, FeedbackBatch, item_ref
from projections.rows import ReadRow, TimeText

if TYPE_CHECKING:
    from projections.state import PortfolioState


class FeedbackItem(ReadRow):
    """One feedback item: the customer's words, where and when they came, what they are about,
    and the initiatives citing it."""

    batch_key: str
    channel: str
    cited_by: list[str] = Field(description="Codes (period/code) of initiatives citing it.")
    cohort: str | None = None
    job: str | None = None
    metric: str | None = None
    pnl: str | None = None
    received_on: str
    recorded_at: TimeText
    ref: str = Field(description="How it is cited: `<batch_key>/<n>`.")
    scenario: str | None = None
    source: str
    verbatim: str


class FeedbackPage(ReadRow):
    """Feedback items, newest received first (ties by ref), with the total that matched."""

    items: list[FeedbackItem]
    total: int


def _recorded(s: PortfolioState, e: FeedbackBatch.Recorded) -> set[str]:
    for n, item in enumerate(e.items, start=1):
        ref = item_ref(e.batch_key, n)
        s.feedback[ref] = {**item, "ref": ref, "batch_key": e.batch_key, "source": e.source,
                           "recorded_at": e.timestamp}
    return set()


def _opened(s: PortfolioState, e: Evidence.Opened) -> set[str]:
    s.evidence[e.initiative_id] = {"period": e.period, "code": e.code, "refs": []}
    return set()


def _cited(s: PortfolioState, e: Evidence.Cited) -> set[str]:
    found = s.evidence.get(e.initiative_id)
    if found is None:
        return set()
    found["refs"] = [*found["refs"], *e.refs]
    return {f"period:{found['period']}"}  # the ranking card's evidence count


FEEDBACK_HANDLERS: dict[type, Any] = {FeedbackBatch.Recorded: _recorded,
                                      Evidence.Opened: _opened, Evidence.Cited: _cited}


def evidence_count(state: PortfolioState, initiative_id: str) -> int:
    """How many feedback items an initiative cites."""
    found = state.evidence.get(initiative_id)
    return len(found["refs"]) if found else 0


def feedback_page(state: PortfolioState, *, metric: str | None = None,
                  scenario: str | None = None, job: str | None = None,
                  cited_by: str | None = None, limit: int = 100,
                  offset: int = 0) -> FeedbackPage:
    """Feedback items matching every filter given (`cited_by`: an initiative id)."""
    citing: dict[str, list[str]] = {}
    for ev in state.evidence.values():
        for ref in ev["refs"]:
            citing.setdefault(ref, []).append(f"{ev['period']}/{ev['code']}")
    only = set(state.evidence.get(cited_by, {}).get("refs", [])) if cited_by else None
    found = [f for f in state.feedback.values()
             if (metric is None or f.get("metric") == metric)
             and (scenario is None or f.get("scenario") == scenario)
             and (job is None or f.get("job") == job)
             and (only is None or f["ref"] in only)]
    found.sort(key=lambda f: (f["received_on"], f["ref"]), reverse=True)
    items = [FeedbackItem(**{**f, "recorded_at": _time(f["recorded_at"]),
                             "cited_by": citing.get(f["ref"], [])})
             for f in found[offset:offset + limit]]
    return FeedbackPage(items=items, total=len(found))


def _time(value: Any) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)
