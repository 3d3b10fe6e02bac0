"""The auditor's timeline (issue 17, decisions 250-253): one page of the audit log at a time,
filtered in the view's query, with initiatives named by code, amounts as money, actors readable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Annotated, Any

from fastapi import Depends, Query

from api.web.views import Page
from projections.rows import AuditEvent

TIMELINE_PAGE = 50  # rows per page of the timeline
DOWNLOAD_READ = 1_000  # rows read at a time when a download walks the whole filtered view
#: the aggregates whose events the family filter offers (the topic's middle part)
FAMILIES = ("Initiative", "FundingPool", "FundingRound", "FundingPlan", "PlanOfRecord",
            "ScoringPolicy", "CustomerSuccessMetric", "Scenario", "PnL", "BenefitPlan",
            "Review", "SignalNote", "Evidence", "FeedbackBatch", "ObservationBatch", "Job",
            "ServedJobs", "WebhookSubscription")
#: the summary's fields that are amounts of money (decimal text), shown as money
MONEY_KEYS = ("amount", "opex_total", "opex", "cost", "new_cost", "budget")
_MONEY = re.compile(r"\b(" + "|".join(MONEY_KEYS) + r")=(-?[0-9]+(?:\.[0-9]+)?)(?![0-9.])")


@dataclass
class Filters:
    """What the auditor asked for (all in the URL)."""

    show: str = "decisions"
    initiative: str | None = None
    actor: str | None = None
    family: str | None = None

    def params(self) -> dict[str, str | None]:
        """The filters as link parameters (defaults left out)."""
        return {"show": None if self.show == "decisions" else self.show,
                "initiative": self.initiative, "actor": self.actor, "family": self.family}

    @property
    def narrowed(self) -> bool:
        """True when a filter beyond the kind is set."""
        return bool(self.initiative or self.actor or self.family)

    def described(self, *, paged: bool = False) -> str:
        """The view in words for a download's link: ` (every event, initiative I12, by
        rb.owner; all pages)`; `paged`: the view has more than the page shown."""
        said = ["every event"] if self.show == "all" else []
        said += [f"record {self.family}"] if self.family else []
        said += [f"initiative {self.initiative}"] if self.initiative else []
        said += [f"by {self.actor}"] if self.actor else []
        text = ", ".join(said) + ("; all pages" if said and paged else "all pages" if paged
                                  else "")
        return f" ({text})" if text else ""


# The filters' query parameters: the page and its download validate them alike (a value out of
# pattern is the dashboard's 422 page, never a read).
Show = Annotated[str, Query(pattern="^(decisions|all)$")]
InitiativeCode = Annotated[str | None, Query(pattern=r"^[A-Za-z0-9._-]{0,40}$")]
ActorName = Annotated[str | None, Query(pattern=r"^[A-Za-z0-9._@|:+-]{0,80}$")]
Family = Annotated[str | None, Query(pattern=f"^({'|'.join(FAMILIES)})?$")]


def timeline_filters(show: Show = "decisions", initiative: InitiativeCode = None,
                     actor: ActorName = None, family: Family = None) -> Filters:
    """The filters from the URL (an empty field, as the filter form sends it, is no filter)."""
    return Filters(show=show, initiative=initiative or None, actor=actor or None,
                   family=family or None)


TimelineFilters = Annotated[Filters, Depends(timeline_filters)]


@dataclass
class Timeline:
    """One page of rows, newest first, and where the neighbouring pages start."""

    events: list[AuditEvent]
    older: int | None = None  # `before=` of the next older page
    newer: int | None = None  # `after=` of the next newer page
    codes: dict[str, str] = field(default_factory=dict)  # initiative id -> code
    unknown: str | None = None  # the initiative code asked for that names none


def readable_actor(actor: str | None) -> str:
    """`cxgov|rb.owner` as `rb.owner`; another issuer's subject with the issuer after it."""
    if not actor:
        return "the system"
    issuer, bar, subject = actor.partition("|")
    if not bar:
        return actor
    return subject if issuer == "cxgov" else f"{subject} ({issuer})"


def money_summary(text: str) -> str:
    """The summary with its amounts of money as money (`cost=2800000` as `cost=$2,800,000`),
    exact: an audit rounds nothing (`cost=2800000.50` as `cost=$2,800,000.50`)."""
    return _MONEY.sub(lambda m: f"{m.group(1)}={exact_money(m.group(2))}", text)


def exact_money(text: str) -> str:
    """A decimal amount in dollars with thousands separators and every digit it has."""
    amount = Decimal(text)
    return f"-${-amount:,}" if amount < 0 else f"${amount:,}"


def _initiative_ids(page: Page, filters: Filters) -> list[str] | None:
    """The ids the initiative filter names in the page's period as of the position shown
    (None: no filter; empty: a code that names none)."""
    if not filters.initiative:
        return None
    if not page.period:
        return []
    return [c.id for c in page.snapshot.initiatives(page.period)
            if c.code == filters.initiative]


def read_timeline(page: Page, filters: Filters, *, topics: tuple[str, ...],
                  before: int | None, after: int | None) -> Timeline:
    """One page: TIMELINE_PAGE rows (one more to know whether there is a further page) and a
    one-row look the other way; the initiative filter resolves its code in the page's period
    as of the position shown."""
    models = page.services.models
    upto = page.snapshot.position if page.historical else None
    ids = _initiative_ids(page, filters)
    if ids == []:
        return Timeline([], unknown=filters.initiative)
    query: dict[str, Any] = {"upto": upto, "topics": topics, "family": filters.family,
                             "aggregate_ids": ids, "actor": filters.actor}
    older = newer = None
    if after is not None and before is None:
        rows = models.audit_timeline(limit=TIMELINE_PAGE + 1, after=after, **query)
        if len(rows) > TIMELINE_PAGE:
            rows = rows[:TIMELINE_PAGE]
            newer = rows[-1].position
        rows.reverse()
        edge = rows[-1].position if rows else after + 1
        if models.audit_timeline(limit=1, before=edge, **query):
            older = edge
    else:
        rows = models.audit_timeline(limit=TIMELINE_PAGE + 1, before=before, **query)
        if len(rows) > TIMELINE_PAGE:
            rows = rows[:TIMELINE_PAGE]
            older = rows[-1].position
        if before is not None:
            edge = rows[0].position if rows else before - 1
            if models.audit_timeline(limit=1, after=edge, **query):
                newer = edge
    return Timeline(rows, older=older, newer=newer, codes=initiative_codes(page, rows))


def read_whole_timeline(page: Page, filters: Filters, *,
                        topics: tuple[str, ...]) -> Timeline:
    """Every row of the filtered view through the position shown, oldest first (what a
    download holds: every page of it), read DOWNLOAD_READ rows at a time by the same query."""
    ids = _initiative_ids(page, filters)
    if ids == []:
        return Timeline([], unknown=filters.initiative)
    models = page.services.models
    rows: list[AuditEvent] = []
    cursor = 0
    while True:
        read = models.audit_timeline(limit=DOWNLOAD_READ, after=cursor,
                                     upto=page.snapshot.position, topics=topics,
                                     family=filters.family, aggregate_ids=ids,
                                     actor=filters.actor)
        rows += read
        if len(read) < DOWNLOAD_READ:
            return Timeline(rows, codes=initiative_codes(page, rows))
        cursor = read[-1].position


def initiative_codes(page: Page, rows: list[AuditEvent]) -> dict[str, str]:
    """The code of each initiative on the page, from its submission in the log (one query,
    bounded by the page: no read of the directory)."""
    ids = {e.aggregate_id for e in rows if e.topic.startswith("cxgov.Initiative.")}
    codes = {e.aggregate_id: str(e.details["code"]) for e in rows
             if e.topic == "cxgov.Initiative.Submitted" and e.details.get("code")}
    wanted = sorted(ids - codes.keys())
    if wanted:
        for e in page.services.models.audit_timeline(
                limit=len(wanted), topics=("Initiative.Submitted",), aggregate_ids=wanted):
            if e.details.get("code"):
                codes[e.aggregate_id] = str(e.details["code"])
    return codes
