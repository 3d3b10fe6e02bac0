""""You said, we did": per customer success metric, what was delivered and what changed since.

A pure read model rendered from the portfolio fold (`projections.state`), so the live
projector, a rebuild and an as-of replay give the same stories. One story per metric (the
stored document `you_said_we_did`, keyed by the metric's code), across every period:

* what the customer said (the metric's customer phrasing) and the scenario it belongs to;
* what was delivered: the initiatives in status `delivered` that claim the metric, with their
  delivery dates. Nothing else: an undecided, approved-but-in-flight, rejected or cancelled
  initiative never appears;
* what changed for customers: the newest reading of the metric's overall cohort on or before
  the delivery day ("before"; the metric's baseline when no reading is that old) against the
  newest reading after it ("now"), in the customer's words and in plain language.

The JSON Feed 1.1 (https://www.jsonfeed.org/version/1.1/) and Atom 1.0 (RFC 4287) forms are
built here too, from the typed stories, so the API and the CLI publish identical feeds: one
item per delivered initiative and metric, newest delivery first.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from projections.codec import plain_row
from projections.documents import Changes, ScopeKind
from projections.rows import SaidDidDelivery, SaidDidScenario, SaidDidStory
from projections.state import InitiativeState, MetricState, MonthPoint, PortfolioState

#: The stored document model (one per metric, keyed by its code).
MODEL = "you_said_we_did"
JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"
ATOM = "http://www.w3.org/2005/Atom"
FEED_ID = "urn:cxgov:you-said-we-did"
DEFAULT_TITLE = "You said, we did"
DELIVERED = "delivered"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

Row = dict[str, Any]


# --- the read model ----------------------------------------------------------------------


def touched(state: PortfolioState, changes: Changes | None) -> set[str]:
    """Codes of the metrics whose story a set of changes may alter (None: every metric).

    A story reads its metric (register entry and readings), the scenario names, and the
    delivered initiatives that claim it; a change to an initiative that is not delivered
    cannot change any story (a delivered initiative stays delivered). An employee-experience
    metric (kind "employee") has no story: customers did not say it."""
    if changes is None or changes.named(ScopeKind.DIRECTORY) or changes.named(ScopeKind.METRICS):
        found = set(state.metrics)
    else:
        found = {code for code in changes.metrics if code in state.metrics}
    for initiative_id in [] if changes is None else changes.initiatives:
        i = state.initiatives.get(initiative_id)
        if i is not None and i.status == DELIVERED:
            found.update(c.metric for c in i.proposal.expected_impacts
                         if c.metric in state.metrics)
    return {code for code in found if state.metrics[code].kind != "employee"}


def delivered_on_metric(state: PortfolioState, code: str) -> list[InitiativeState]:
    """Delivered initiatives of every period that claim a metric, by delivery date then code."""
    found = [i for period in state.periods for i in state.claimants(period, code)
             if i.status == DELIVERED and i.delivered_on is not None]
    return sorted(found, key=lambda i: (i.delivered_on or date.min, i.period, i.code))


def story(state: PortfolioState, code: str) -> Row:
    """One metric's story as its stored document (the shape of `SaidDidStory`)."""
    metric = state.metrics[code]
    series = _overall(metric)
    scenario = state.scenarios.get(metric.scenario or "")
    deliveries = [_delivery(metric, series, i) for i in delivered_on_metric(state, code)]
    row: Row = {
        "metric": metric.code, "customer_phrasing": metric.customer_phrasing,
        "operational_metric": metric.operational_metric, "unit": metric.unit,
        "direction": metric.direction, "scenario": metric.scenario,
        "scenario_name": scenario["name"] if scenario else None, "pnl": metric.pnl,
        "baseline": metric.baseline, "target": metric.target, "deliveries": deliveries,
        "first_delivered_on": None, "before": None, "before_observed_at": None,
        "before_source": None, "now": None, "now_observed_at": None, "change": None,
        "verdict": None, "sentence": None, "updated": None,
    }
    if deliveries:
        first = min(d["delivered_on"] for d in deliveries)
        change = _change(metric, series, first)
        row.update(first_delivered_on=first, **change)
        done = "; ".join(f"{d['code']} {d['title']} (delivered {d['delivered_on']})"
                         for d in deliveries)
        row["sentence"] = (f"You said: \u201c{metric.customer_phrasing}\u201d. We did: {done}. "
                           f"Since then: {_since(metric, change)}")
        row["updated"] = max(d["updated"] for d in deliveries)
    return plain_row(row)


def _overall(metric: MetricState) -> list[MonthPoint]:
    """The series the scorecard calls current: the overall cohort (else the first one)."""
    return metric.series.get("") or next(iter(metric.series.values()), [])


def _delivery(metric: MetricState, series: list[MonthPoint], i: InitiativeState) -> Row:
    assert i.delivered_on is not None
    change = _change(metric, series, i.delivered_on)
    updated = _day_time(i.delivered_on)
    if change["now_observed_at"] is not None:
        updated = max(updated, change["now_observed_at"])
    return {
        "initiative_id": i.id, "code": i.code, "title": i.proposal.title, "period": i.period,
        "delivered_on": i.delivered_on, "updated": updated, **change,
        "sentence": (f"You said: \u201c{metric.customer_phrasing}\u201d. We did: {i.code} "
                     f"{i.proposal.title}, delivered {i.delivered_on.isoformat()}. "
                     f"Since then: {_since(metric, change)}"),
    }


def _change(metric: MetricState, series: list[MonthPoint], delivered: date) -> Row:
    """Before (newest reading on or before the day, else the baseline) and now (the newest
    reading after it), the change, and whether it is better for customers."""
    before = next((p for p in reversed(series) if p.observed_at.date() <= delivered), None)
    after = series[-1] if series and series[-1].observed_at.date() > delivered else None
    was = before.value if before is not None else metric.baseline
    row: Row = {"before": was, "before_observed_at": before.observed_at if before else None,
                "before_source": "reading" if before is not None else "baseline",
                "now": None, "now_observed_at": None, "change": None,
                "verdict": "no_reading_yet"}
    if after is not None:
        change = after.value - was
        better = change < 0 if metric.direction == "decrease" else change > 0
        row.update(now=after.value, now_observed_at=after.observed_at, change=change,
                   verdict="unchanged" if change == 0 else ("better" if better else "worse"))
    return row


def _since(metric: MetricState, change: Row) -> str:
    subject = _lower_first(metric.operational_metric)
    if change["now"] is None:
        return f"no reading of {subject} since delivery yet."
    was, now = _quantity(change["before"], metric.unit), _quantity(change["now"], metric.unit)
    start = "the baseline of " if change["before_source"] == "baseline" else ""
    verdict = {"better": "better for customers", "worse": "worse for customers",
               "unchanged": "no change yet"}[change["verdict"]]
    return f"{subject} went from {start}{was} to {now}, {verdict}."


def _quantity(value: Decimal, unit: str) -> str:
    shown = value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)  # display only
    return f"{shown}%" if unit.strip() == "%" else f"{shown} {unit}"


def _lower_first(text: str) -> str:
    """'Median days ...' as 'median days ...'; an acronym ('FNOL time') is kept."""
    if len(text) > 1 and text[0].isupper() and text[1].islower():
        return text[0].lower() + text[1:]
    return text


def _day_time(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def scenarios(stories: Iterable[SaidDidStory]) -> list[SaidDidScenario]:
    """Per customer scenario with a delivery: its told metrics and the work delivered for
    them, in scenario order (metrics without a scenario last)."""
    grouped: dict[str | None, list[SaidDidStory]] = {}
    for s in sorted(stories, key=lambda s: (s.scenario is None, s.scenario or "", s.metric)):
        if s.deliveries:
            grouped.setdefault(s.scenario, []).append(s)
    found = []
    for code, told in grouped.items():
        done = sorted({(d.delivered_on, d.code) for s in told for d in s.deliveries})
        delivered = list(dict.fromkeys(c for _, c in done))
        said = " and ".join(f"\u201c{s.customer_phrasing}\u201d" for s in told)
        name = told[0].scenario_name
        found.append(SaidDidScenario(
            code=code, name=name, metrics=[s.metric for s in told], delivered=delivered,
            sentence=f"{name or 'Across scenarios'} \u2014 you said {said}; we delivered "
                     f"{_listed(delivered)}."))
    return found


def _listed(codes: list[str]) -> str:
    return codes[0] if len(codes) == 1 else f"{', '.join(codes[:-1])} and {codes[-1]}"


# --- publishing: JSON Feed 1.1 and Atom 1.0 ----------------------------------------------


def entries(stories: Iterable[SaidDidStory]) -> list[tuple[SaidDidStory, SaidDidDelivery]]:
    """One entry per delivered initiative and metric, newest delivery first."""
    found = [(s, d) for s in stories for d in s.deliveries]
    found.sort(key=lambda e: (e[1].delivered_on, e[1].updated, e[0].metric, e[1].code),
               reverse=True)
    return found


def entry_id(delivery: SaidDidDelivery, metric: str) -> str:
    """A stable id for an entry: the initiative's id and the metric's code."""
    return f"{FEED_ID}:{delivery.initiative_id}:{metric}"


def entry_title(s: SaidDidStory, d: SaidDidDelivery) -> str:
    """'You said "...": we did I11 ...'."""
    return f"You said \u201c{s.customer_phrasing}\u201d: we did {d.code} {d.title}"


def _rfc3339(text: str) -> str:
    """An ISO time as RFC 3339 in UTC with a Z (what feed readers expect)."""
    found = datetime.fromisoformat(text)
    if found.tzinfo is None:
        found = found.replace(tzinfo=UTC)
    return found.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _published(d: SaidDidDelivery) -> str:
    return _rfc3339(f"{d.delivered_on}T00:00:00+00:00")


def feed_updated(stories: Sequence[SaidDidStory]) -> str:
    """The newest entry's update time (the epoch for an empty feed: deterministic)."""
    times = [_rfc3339(d.updated) for s in stories for d in s.deliveries]
    return max(times) if times else _EPOCH.strftime("%Y-%m-%dT%H:%M:%SZ")


def json_feed(stories: Sequence[SaidDidStory], *, title: str = DEFAULT_TITLE,
              home_page_url: str | None = None, feed_url: str | None = None) -> Row:
    """The stories as a JSON Feed 1.1 document (https://www.jsonfeed.org/version/1.1/)."""
    feed: Row = {"version": JSON_FEED_VERSION, "title": title}
    if home_page_url:
        feed["home_page_url"] = home_page_url
    if feed_url:
        feed["feed_url"] = feed_url
    feed["description"] = ("What customers told us matters, what we delivered for it, and "
                           "what changed for them since.")
    feed["language"] = "en"
    items = []
    for s, d in entries(stories):
        item: Row = {"id": entry_id(d, s.metric), "title": entry_title(s, d),
                     "content_text": d.sentence, "summary": s.customer_phrasing,
                     "date_published": _published(d), "date_modified": _rfc3339(d.updated),
                     "tags": [t for t in (s.metric, s.scenario, s.scenario_name) if t]}
        if home_page_url:
            item["url"] = f"{home_page_url}#{s.metric}"
        item["_cxgov"] = {"metric": s.metric, "scenario": s.scenario,
                          "initiative": d.code, "period": d.period,
                          "delivered_on": d.delivered_on, "before": d.before,
                          "now": d.now, "unit": s.unit, "verdict": d.verdict}
        items.append(item)
    feed["items"] = items
    return feed


def atom_feed(stories: Sequence[SaidDidStory], *, title: str = DEFAULT_TITLE,
              author: str = "cxgov", self_url: str | None = None,
              alternate_url: str | None = None) -> bytes:
    """The stories as an Atom 1.0 feed (RFC 4287), UTF-8 XML built with ElementTree (so
    every text is escaped)."""
    ET.register_namespace("", ATOM)

    def sub(parent: ET.Element, tag: str, text: str | None = None,
            **attrs: str) -> ET.Element:
        element = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
        if text is not None:
            element.text = text
        return element

    feed = ET.Element(f"{{{ATOM}}}feed")
    sub(feed, "id", FEED_ID)
    sub(feed, "title", title)
    sub(feed, "subtitle", "What customers told us matters, what we delivered for it, and "
                          "what changed for them since.")
    sub(feed, "updated", feed_updated(stories))
    sub(sub(feed, "author"), "name", author)
    if self_url:
        sub(feed, "link", rel="self", href=self_url, type="application/atom+xml")
    if alternate_url:
        sub(feed, "link", rel="alternate", href=alternate_url, type="text/html")
    for s, d in entries(stories):
        entry = sub(feed, "entry")
        sub(entry, "id", entry_id(d, s.metric))
        sub(entry, "title", entry_title(s, d))
        sub(entry, "published", _published(d))
        sub(entry, "updated", _rfc3339(d.updated))
        sub(entry, "summary", s.customer_phrasing)
        sub(entry, "content", d.sentence, type="text")
        for term in (s.metric, s.scenario):
            if term:
                sub(entry, "category", term=term)
        if alternate_url:
            sub(entry, "link", rel="alternate", href=f"{alternate_url}#{s.metric}",
                type="text/html")
    body: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    return body
