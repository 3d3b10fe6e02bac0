"""Signals: what needs someone's attention, detected from the portfolio fold at a time `now`.

Pure functions of a `PortfolioState` and `now` (live reads pass the wall clock, as-of reads
the time of the event at the as-of position), so a signal list is reproducible as of any
position. Each signal has a stable key (`kind:subject`), a kind, a severity, the time it was
raised (`since`, derived from the state, never from when it was first looked at), evidence
and the role who should act. Its state comes from the notes that answered this raise
(domain/signals.py): open, acknowledged, resolved; a noted signal whose condition no longer
holds is listed as closed. The rules are in docs/decisions.md (signals, loop speed).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from domain import stats
from domain.lifecycle import FUNDED, Status
from domain.review import DECISION_ITEMS, since_of
from domain.scoring import MetricTarget, gap_closed
from domain.signals import (
    BENEFIT_AT_RISK,
    METRIC_OFF_TRACK,
    METRIC_OVERCLAIMED,
    POOL_UNDERUSED,
    SECOND_APPROVAL_WAITING,
    SPEND_OVER_PLAN,
    SUBMISSION_UNDECIDED,
    SignalFacts,
)
from projections import scorestats
from projections.state import InitiativeState, MetricState, MonthPoint, PortfolioState

#: Readings in a row on the wrong side of the glide path that make an off-track signal when no
#: interval is known: under noise alone each is a coin toss, 5 in a row has p = 1/32 < 0.05.
RUN = 5
#: A period has no end date in the pool: it is taken to end a year after its pool opened.
PERIOD_LENGTH = timedelta(days=365)
#: The last stretch of a period in which an under-used pool raises a signal...
UNDERUSED_WINDOW = timedelta(days=60)
#: ...when more than this share of the pool is still available.
UNDERUSED_SHARE = Decimal("0.25")
SEVERITY_ORDER = {"high": 0, "medium": 1, "low": 2}
Signal = dict[str, Any]


def _link(i: InitiativeState) -> dict[str, Any]:
    return {"id": i.id, "code": i.code, "period": i.period, "status": str(i.status)}


def _signal(kind: str, subject: str, *, severity: str, since: datetime, period: str | None,
            role: str, title: str, metric: str | None = None,
            initiatives: Iterable[InitiativeState] = (),
            readings: Iterable[MonthPoint] = (), detail: str = "") -> Signal:
    return {"key": f"{kind}:{subject}", "kind": kind, "severity": severity, "since": since,
            "period": period, "role": role, "title": title,
            "evidence": {"metric": metric, "initiatives": [_link(i) for i in initiatives],
                         "readings": [{"month": p.month, "value": p.value,
                                       "sample_size": p.sample_size,
                                       "observed_at": p.observed_at} for p in readings],
                         "detail": detail}}


# --- metric off track ---------------------------------------------------------------------


def glide_value(metric: MetricState, at: datetime) -> Decimal:
    """Where the metric should be at `at` on the straight line from its baseline (when it was
    defined) to its target (at its target date); held at the baseline without a target date."""
    if metric.target_date is None:
        return metric.baseline
    try:
        share = stats.expected_progress(metric.defined_at.date(), metric.target_date, at.date())
    except ValueError:  # target date on or before the definition: the target is due
        share = Decimal(1)
    return metric.baseline + share * (metric.target - metric.baseline)


def _worse(metric: MetricState, value: Decimal, than: Decimal) -> bool:
    return value > than if metric.direction == "decrease" else value < than


def _interval(metric: MetricState, point: MonthPoint, min_n: int) -> tuple[Decimal, Decimal] | None:
    """The 95% interval of a reading's value, when one is known, with a sample of at least the
    policy's minimum: the scorecard's own intervals (issue 15, projections.scorestats) that
    are on the value's scale: NPS counts (adjusted Wald), a percentage or, for a % metric, a
    top-box share (Wilson), or a mean / median summary equal to the value (t; the normal
    approximation)."""
    n = point.sample_size
    if not n or n < min_n:
        return None
    for found in scorestats.intervals(metric, point):
        of = found["of"]
        if (of in ("nps", "value") or (of == "top_box_share" and metric.unit == "%")
                or (of in ("mean", "median") and point.detail.get(of) == point.value)):
            return found["low"], found["high"]
    return None


def off_track_since(metric: MetricState, points: list[MonthPoint],
                    min_n: int) -> datetime | None:
    """When the metric went off track (distinguishably from noise), or None if it is not.

    With an interval (`_interval`: NPS counts, a percentage or top-box share, a mean or
    median summary, with a sample of at least the policy's minimum): the glide value lies
    outside the latest reading's 95% interval, on the better side; raised at the first
    reading of that run. Without: the last RUN readings are all worse
    than the glide path; raised at the reading that completed the run.
    """
    if not points:
        return None
    latest = points[-1]
    if _interval(metric, latest, min_n) is not None:
        run: list[MonthPoint] = []
        for point in reversed(points):
            found = _interval(metric, point, min_n)
            glide = glide_value(metric, point.observed_at)
            if found is None or not _worse(metric, point.value, glide) or (
                    found[0] <= glide <= found[1]):
                break
            run.append(point)
        return run[-1].observed_at if run else None
    length = 0
    for point in reversed(points):
        if not _worse(metric, point.value, glide_value(metric, point.observed_at)):
            break
        length += 1
    if length < RUN:
        return None
    return points[len(points) - length + RUN - 1].observed_at


def _series(metric: MetricState, now: datetime) -> list[MonthPoint]:
    series = metric.series.get("") or next(iter(metric.series.values()), [])
    return [p for p in series if p.observed_at <= now]


def _funded_claimants(state: PortfolioState, period: str, metric: str) -> list[InitiativeState]:
    return [i for i in state.claimants(period, metric) if i.status in FUNDED]


def metric_off_track(state: PortfolioState, now: datetime) -> list[Signal]:
    """A metric that funded work claims is off its glide path, beyond noise: one signal per
    period funding work on it (that work is what a review would re-decide)."""
    terms = state.policy
    min_n = terms.min_sample_size if terms else 30
    found = []
    for code, metric in sorted(state.metrics.items()):
        points = _series(metric, now)
        since = off_track_since(metric, points, min_n)
        if since is None:
            continue
        latest = points[-1]
        glide = glide_value(metric, latest.observed_at)
        gap = metric.target - metric.baseline
        expected = (glide - metric.baseline) / gap if gap else Decimal(1)
        progress = (latest.value - metric.baseline) / gap if gap else Decimal(0)
        rag = stats.rag_status(progress, expected,
                               green_slack=terms.green_slack if terms else Decimal("0.10"),
                               amber_slack=terms.amber_slack if terms else Decimal("0.25"))
        for period in sorted(state.periods):
            claimants = _funded_claimants(state, period, code)
            if not claimants:
                continue
            found.append(_signal(
                METRIC_OFF_TRACK, f"{period}:{code}", severity="high" if rag == "red" else
                "medium", since=since, period=period, role="cx_exec",
                title=f"{code} is off its glide path: {latest.value} {metric.unit} against "
                      f"{glide.quantize(Decimal('0.01'))} expected",
                metric=code, initiatives=claimants, readings=points[-RUN:],
                detail=f"glide value {glide} at {latest.month}; {len(claimants)} funded "
                       f"initiative(s) claim it"))
    return found


# --- benefits -------------------------------------------------------------------------------


def _reading_by(metric: MetricState, month: str, now: datetime | None) -> MonthPoint | None:
    series = metric.series.get("") or next(iter(metric.series.values()), [])
    points = [p for p in series if p.month <= month and (now is None or p.observed_at <= now)]
    return points[-1] if points else None


def realisation(state: PortfolioState, plan: dict[str, Any],
                now: datetime | None = None) -> list[dict[str, Any]]:
    """Each plan point with the reading of its month (or the latest before; read by `now`
    when given) and the share of the promised change realised, (actual - baseline) /
    (expected - baseline): the scorecard's `stats.realization_percent`, also as a fraction."""
    rows = []
    for point in plan["points"]:
        metric = state.metrics.get(point["metric"])
        by = point["by"]
        reading = (_reading_by(metric, f"{by.year:04d}-{by.month:02d}", now)
                   if metric is not None else None)
        percent = None
        if metric is not None and reading is not None and point["expected"] != metric.baseline:
            percent = stats.realization_percent(metric.baseline, point["expected"],
                                                reading.value)
        rows.append({"metric": point["metric"], "by": by, "expected": point["expected"],
                     "due": now is not None and by <= now.date(),
                     "actual": reading.value if reading else None,
                     "actual_month": reading.month if reading else None,
                     "realization_percent": percent,
                     "realisation": percent / 100 if percent is not None else None})
    return rows


def benefit_at_risk(state: PortfolioState, now: datetime) -> list[Signal]:
    """At the latest due plan date of each planned metric, realisation is below the policy's
    threshold (PolicyTerms.at_risk_realisation); raised at that plan date."""
    terms = state.policy
    threshold = terms.at_risk_realisation if terms else Decimal("0.5")
    found = []
    for plan in state.benefit_plans.values():
        initiative = state.initiatives.get(plan["initiative_id"])
        if initiative is None or initiative.status not in FUNDED:
            continue
        latest: dict[str, dict[str, Any]] = {}
        for row in realisation(state, plan, now):
            if row["due"]:
                latest[row["metric"]] = row
        for code, row in sorted(latest.items()):
            share = row["realisation"]
            if share is None or share >= threshold:
                continue
            since = datetime.combine(row["by"], time(), UTC)
            found.append(_signal(
                BENEFIT_AT_RISK, f"{initiative.period}:{initiative.code}:{code}",
                severity="high" if share < threshold / 2 else "medium", since=since,
                period=initiative.period, role="pnl_owner",
                title=f"{initiative.code} realised {_percent(share)} of its promised change "
                      f"on {code} by {row['by']} (threshold {_percent(threshold)})",
                metric=code, initiatives=[initiative],
                detail=f"expected {row['expected']} by {row['by']}, read {row['actual']} "
                       f"({row['actual_month']}); benefit owner {plan['owner']}"))
    return found


def _percent(share: Decimal) -> str:
    return f"{(share * 100).quantize(Decimal('1'))}%"


# --- decisions waiting ------------------------------------------------------------------------


def decisions_waiting(state: PortfolioState, now: datetime) -> list[Signal]:
    """Submissions undecided for the policy's `undecided_days`, and first approvals waiting
    for their second approver."""
    terms = state.policy
    days = terms.undecided_days if terms else 30
    found = []
    for i in state.initiatives.values():
        if i.status == Status.SUBMITTED and now - i.submitted_at >= timedelta(days=days):
            found.append(_signal(
                SUBMISSION_UNDECIDED, f"{i.period}:{i.code}", severity="low",
                since=i.submitted_at + timedelta(days=days), period=i.period, role="cx_exec",
                title=f"{i.code} has waited more than {days} days for a decision",
                initiatives=[i], detail=f"submitted {i.submitted_at.date()}"))
        elif i.status == Status.PENDING_SECOND_APPROVAL:
            since = i.decisions[-1]["at"] if i.decisions else (i.updated_at or i.submitted_at)
            found.append(_signal(
                SECOND_APPROVAL_WAITING, f"{i.period}:{i.code}", severity="medium",
                since=since, period=i.period, role="cx_exec",
                title=f"{i.code} waits for a second approver",
                initiatives=[i], detail=f"first approval by {', '.join(i.approvals)}"))
    return found


# --- money --------------------------------------------------------------------------------


def pool_underused(state: PortfolioState, now: datetime) -> list[Signal]:
    """More than UNDERUSED_SHARE of an open pool is uncommitted in the last UNDERUSED_WINDOW
    of its period (the period ends PERIOD_LENGTH after its pool opened)."""
    found = []
    for code, period in sorted(state.periods.items()):
        end = period.opened_at + PERIOD_LENGTH
        start = end - UNDERUSED_WINDOW
        if period.closed or not start <= now < end or period.amount <= 0:
            continue
        share = period.available / period.amount
        if share > UNDERUSED_SHARE:
            found.append(_signal(
                POOL_UNDERUSED, code, severity="medium", since=start, period=code,
                role="cx_exec",
                title=f"{_percent(share)} of the {code} pool is unused "
                      f"{(end - now).days} days before the period ends",
                detail=f"available {period.available} of {period.amount}; period taken to end "
                       f"{end.date()}"))
    return found


def metric_overclaimed(state: PortfolioState, now: datetime) -> list[Signal]:
    """A period's funded claims on a metric add up to more than its baseline-to-target gap;
    raised at the latest decision among them."""
    terms = state.policy
    cap = terms.gap_cap if terms else Decimal(1)
    found = []
    for period in sorted(state.periods):
        for code, metric in sorted(state.metrics.items()):
            claimants = _funded_claimants(state, period, code)
            if len(claimants) < 2:
                continue
            target = MetricTarget(code, metric.baseline, metric.target)
            share = sum((claim.reach * gap_closed(target, claim.expected_value, cap=cap)[0]
                         for i in claimants for claim in i.proposal.expected_impacts
                         if claim.metric == code), Decimal(0))
            if share <= 1:
                continue
            since = max(_decided_at(i) for i in claimants)
            found.append(_signal(
                METRIC_OVERCLAIMED, f"{period}:{code}", severity="medium", since=since,
                period=period, role="cx_exec",
                title=f"funded work in {period} claims {_percent(share)} of the gap on {code}",
                metric=code, initiatives=claimants,
                detail="claims add up to more than the baseline-to-target gap"))
    return found


def _decided_at(i: InitiativeState) -> datetime:
    if i.decisions:
        at = i.decisions[-1]["at"]
        if isinstance(at, datetime):
            return at
    return i.updated_at or i.submitted_at


def spend_over_plan(state: PortfolioState, now: datetime) -> list[Signal]:
    """Funded work has spent more than it has committed; raised at the spend that crossed."""
    found = []
    for i in state.initiatives.values():
        spent = getattr(i, "spent", Decimal(0))
        if i.status not in FUNDED or spent <= i.committed:
            continue
        since = i.updated_at or i.submitted_at
        total = Decimal(0)
        for entry in getattr(i, "spend", []):
            total += entry["amount"]
            if total > i.committed:
                since = entry["at"]
                break
        found.append(_signal(
            SPEND_OVER_PLAN, f"{i.period}:{i.code}", severity="high", since=since,
            period=i.period, role="finance",
            title=f"{i.code} has spent {spent} against {i.committed} committed",
            initiatives=[i], detail=f"over by {spent - i.committed}"))
    return found


DETECTORS = (metric_off_track, benefit_at_risk, decisions_waiting, pool_underused,
             metric_overclaimed, spend_over_plan)


def detect(state: PortfolioState, now: datetime) -> list[Signal]:
    """Every signal whose condition holds at `now`, each with its state from its notes."""
    found = [s for detector in DETECTORS for s in detector(state, now)]
    for signal in found:
        notes = [n for n in state.signal_notes.get(signal["key"], {}).get("notes", [])
                 if n["raised_at"] == signal["since"]]
        signal["notes"] = notes
        acts = {n["act"] for n in notes}
        signal["state"] = ("resolved" if "resolved" in acts else
                           "acknowledged" if "acknowledged" in acts else "open")
    return found


def signals(state: PortfolioState, now: datetime) -> list[Signal]:
    """Detected signals, plus noted ones whose condition no longer holds (closed), ordered
    by severity, then since, then key."""
    found = detect(state, now)
    live = {s["key"] for s in found}
    for key, noted in sorted(state.signal_notes.items()):
        if key in live or not noted["notes"]:
            continue
        live.add(key)
        last = noted["notes"][-1]
        found.append({"key": key, "kind": noted["kind"], "severity": "low",
                      "since": last["raised_at"], "period": last["period"], "role": "cx_exec",
                      "title": f"{key} no longer holds",
                      "evidence": {"metric": None, "initiatives": [], "readings": [],
                                   "detail": "the condition stopped holding"},
                      "notes": [n for n in noted["notes"]
                                if n["raised_at"] == last["raised_at"]],
                      "state": "resolved" if last["act"] == "resolved" else "closed"})
    for review in state.reviews.values():  # answered by a decision in a review, then lapsed
        raised = {s["key"]: s for s in review["signals"]}
        for item in review["items"]:
            for key in item["answers"] if item["item"] in DECISION_ITEMS else ():
                if key in live or key not in raised:
                    continue
                live.add(key)
                found.append({"key": key, "kind": raised[key]["kind"], "severity": "low",
                              "since": since_of(raised[key]), "period": review["period"],
                              "role": "cx_exec", "title": f"{key} no longer holds",
                              "evidence": {"metric": None, "initiatives": [], "readings": [],
                                           "detail": "answered by a decision in review "
                                                     f"{review['id']}"},
                              "notes": [], "state": "closed"})
    found.sort(key=lambda s: (SEVERITY_ORDER.get(s["severity"], 3), s["since"], s["key"]))
    return found


def facts(signal: Signal) -> SignalFacts:
    """What a command needs to know of a detected signal."""
    return SignalFacts(key=signal["key"], kind=signal["kind"], since=signal["since"],
                       period=signal["period"],
                       initiatives=tuple(i["id"] for i in signal["evidence"]["initiatives"]))


# --- loop speed -----------------------------------------------------------------------------


def answers(state: PortfolioState) -> list[dict[str, Any]]:
    """Each answered raise of a signal: when it was raised, its first answer (a note, or a
    decision taken in a review on an initiative its evidence names: stop, descope, decide)
    and the time between."""
    first: dict[tuple[str, datetime], dict[str, Any]] = {}

    def offer(key: str, raised_at: datetime, period: str | None, at: datetime, by: str) -> None:
        found = first.get((key, raised_at))
        if found is None or at < found["answered_at"]:
            first[(key, raised_at)] = {"key": key, "raised_at": raised_at, "period": period,
                                       "answered_at": at, "answered_by": by}

    for key, noted in state.signal_notes.items():
        for note in noted["notes"]:
            offer(key, note["raised_at"], note["period"], note["at"], note["act"])
    for review in state.reviews.values():
        raised = {s["key"]: since_of(s) for s in review["signals"]}
        for item in review["items"]:
            if item["item"] not in DECISION_ITEMS:
                continue
            for key in item["answers"]:
                if key in raised:
                    offer(key, raised[key], review["period"], item["at"], "decision")
    rows = []
    for row in first.values():
        seconds = Decimal(str((row["answered_at"] - row["raised_at"]).total_seconds()))
        rows.append({**row, "seconds": max(seconds, Decimal(0))})
    rows.sort(key=lambda r: (r["answered_at"], r["key"]))
    return rows


def loop_speed(state: PortfolioState, period: str | None = None) -> list[dict[str, Any]]:
    """Median and 90th percentile (nearest rank) of the loop time in seconds, per period of
    the answered signals (and "all"), for those answered in `period` when given."""
    rows = answers(state)
    groups: dict[str, list[Decimal]] = {}
    for row in rows:
        if period is not None and row["period"] != period:
            continue
        groups.setdefault(row["period"] or "-", []).append(row["seconds"])
        groups.setdefault("all", []).append(row["seconds"])
    return [{"period": name, "answered": len(values), "median_seconds": stats.median(values),
             "p90_seconds": stats.percentile(values, 90)}
            for name, values in sorted(groups.items())]
