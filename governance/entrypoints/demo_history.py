"""Harborview's seeded history: about 18 months of a company that runs the loop.

`cxgov demo` applies it once, right after importing the company file (the plain import
stays as published, so the tests built on it keep their state). Everything goes through the
Governance use cases, never by writing events; it is deterministic (a fixed seed and fixed
business dates) and fast (one bulk observations call, one bulk spend call, then about sixty
commands). Answering signals asks the read side (`Governance.signal_source`, set by the
runtime).

The story (FY2027 runs July 2026 to June 2027; all numbers fictional):

* monthly readings of every metric from June 2025 to November 2026, with sample sizes, and
  pilot / control cohorts for M4 from June 2026 (the difference-in-differences example of
  DOMAIN.md section 5: 18.0 -> 9.5 days in the pilot regions, 18.4 -> 16.8 in control);
  M1's with a distribution summary (its change tested by Welch: within noise);
* the relationship metric NPS (survey counts) mapped to M2, M4 and M9 as its operational
  metrics, and the employee-experience metric STAFF (demo_drivers.py): NPS improves
  significantly from October to November 2026, and its key drivers can be analysed;
* the FY2027 budget round (the first decision point, as imported: the ranking DOMAIN.md
  publishes): the 22 recommended initiatives approved in rank order (I19 and I21, above the
  four-eyes threshold, by two CX executives), I28 and I30 rejected (no customer metric),
  I23 deferred; five stay undecided;
* nine deliveries between July and October 2026; each closes a share of its metric's
  remaining gap (reach x gap closed x how much of it was realised), phased in over three
  months, so the readings move after the work lands; outcomes recorded on four of them;
* I19 funded in tranches ($8M on approval, $6M released at its gate in October 2026);
* M8 re-baselined (4.2 -> 4.0, a recount) after the budget round;
* monthly spend actuals of the funded work from July to November 2026 (one bulk call; I10
  spends past its commitment), I21 descoped from $12M to $9M (phase 2 moved to FY2028);
* benefit plans on nine funded initiatives, two of which lag their promise (benefits at
  risk: I27 on M9, I04 on M2); one signal acknowledged on its own, one review held (opened,
  two signals acknowledged and I02 stopped in it, its unspent funds released, closed with
  minutes); the other signals stay open;
* a webhook subscription for the CX team's channel, paused (nothing is sent).

The ranking as of the first decision point (`HistoryReport.decision_point`) is the one the
file publishes: nothing in the history changes a metric's baseline or target before it.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from uuid import UUID

from domain.benefits import BenefitPoint
from domain.initiative import Gate
from domain.values import Reading
from governance.app import Governance
from governance.entrypoints.company import DEFAULT_ISSUER, CompanyFile, MetricIn, owner_of
from governance.entrypoints.demo_drivers import (
    NPS,
    NPS_DRIVERS,
    STAFF,
    Month,
    nps_readings,
    staff_readings,
    with_distribution,
)
from governance.principal import CX_EXEC, FINANCE, INGEST, PNL_OWNER, Principal
from governance.usecases.finance import SpendItem

SEED = 2027
FIRST_MONTH = (2025, 6)
MONTHS = 18  # June 2025 .. November 2026
SOURCE = "harborview demo history"
RATIONALE = "FY2027 budget round: funded as recommended."
#: Typical monthly sample sizes (responses, cases or accounts measured).
SAMPLE_SIZES = {"M1": 420, "M2": 260, "M3": 90, "M4": 380, "M5": 640, "M6": 64, "M7": 58,
                "M8": 140, "M9": 1200}
#: The metric whose readings carry a distribution summary (demo_drivers.with_distribution).
DISTRIBUTED = "M1"
#: M4's pilot regions against their control regions (DOMAIN.md section 5).
PILOT = ("M4", (2026, 6), Decimal("18.0"), Decimal("9.5"), Decimal("18.4"), Decimal("16.8"))


@dataclass(frozen=True)
class Delivery:
    """An approved initiative delivered on a day, and the share of its claimed effect that
    shows in the readings (1 = all of it)."""

    code: str
    delivered_on: date
    realised: Decimal


DELIVERIES = (
    Delivery("I16", date(2026, 7, 15), Decimal("0.8")),
    Delivery("I13", date(2026, 7, 20), Decimal("0.8")),
    Delivery("I11", date(2026, 7, 31), Decimal("0.95")),
    Delivery("I08", date(2026, 8, 5), Decimal("0.9")),
    Delivery("I27", date(2026, 8, 14), Decimal("0.3")),
    Delivery("I15", date(2026, 8, 31), Decimal("0.85")),
    Delivery("I25", date(2026, 9, 15), Decimal("0.7")),
    Delivery("I24", date(2026, 9, 30), Decimal("0.6")),
    Delivery("I04", date(2026, 10, 2), Decimal("0.7")),
)
#: Outcomes the owners record (initiative, metric): the metric's reading of October 2026.
OUTCOMES = (("I11", "M5"), ("I13", "M4"), ("I16", "M6"), ("I08", "M3"))
OUTCOME_MONTH = (2026, 10)
#: Benefit plans (initiative, metric, promised value, by): the owner of the work promises a
#: trajectory; I27 on M9 and I04 on M2 lag theirs (benefits at risk), the others keep up.
BENEFITS = (
    ("I11", "M5", Decimal("16"), date(2026, 10, 31)),
    ("I13", "M4", Decimal("16"), date(2026, 10, 31)),
    ("I16", "M6", Decimal("7"), date(2026, 10, 31)),
    ("I08", "M3", Decimal("19"), date(2026, 11, 30)),
    ("I24", "M8", Decimal("2.2"), date(2026, 11, 30)),
    ("I27", "M9", Decimal("78"), date(2026, 10, 31)),
    ("I04", "M2", Decimal("5"), date(2026, 11, 30)),
    ("I25", "M4", Decimal("9"), date(2027, 3, 31)),
    ("I15", "M7", Decimal("12"), date(2027, 3, 31)),
)
#: Signals answered: in the review (acknowledged there), and one outside it; the rest stay open.
IN_REVIEW = {
    "benefit_at_risk:FY2027:I27:M9": "Training reached half the agents; the policy fixes ship "
                                     "in January. Owner to report at the next review.",
    "metric_overclaimed:FY2027:M4": "I13, I25 and I12 all claim the claims-payment gap; we "
                                    "report M4 at metric level and split nothing.",
}
OUTSIDE_REVIEW = {
    "metric_overclaimed:FY2027:M6": "Known overlap between I15, I16 and I26 onboarding work.",
}
REVIEW_TITLE = "FY2027 autumn review: benefits and overlapping claims"
REVIEW_MINUTES = ("Reviewed the open signals. I27's benefit lags its plan: acknowledged, owner "
                  "to report in January. Overlapping claims on M4 acknowledged: realised change "
                  "is reported per metric. No funding change.")
#: Spend actuals, monthly from July to November 2026 (finance, one bulk call): delivered work
#: spent 88-98% of its cost by its delivery month, work in flight about a twelfth a month;
#: I10 overspends its commitment (a signal for finance).
SPEND_MONTHS = ((2026, 7), (2026, 8), (2026, 9), (2026, 10), (2026, 11))
OVERSPENT = ("I10", Decimal("6800000"))
DESCOPED = ("I21", Decimal("9000000"), "Phase 2, the branch roll-out, moves to FY2028; "
                                       "phase 1 covers the contact centres.")
STOPPED = ("I02", "The card scheme now provisions wallets itself: the work is no longer "
                  "needed. Stopped in the review; what is unspent goes back to the pool.")
#: A re-baseline after the budget round (the ranking as of the decision point keeps 4.2).
REBASELINE = ("M8", Decimal("4.0"), "Address-change contacts re-counted after the CRM merge "
                                    "in September 2026: the baseline was 4.0, not 4.2.")
#: The CX team's chat channel, subscribed to signal answers and reviews, paused until the
#: channel is approved (nothing is queued while paused; the demo reaches no outside host).
WEBHOOK = ("https://hooks.example.com/harborview/cx-loop", ("cxgov.SignalNote.*",
                                                            "cxgov.Review.*"),
           "CX loop channel", "Paused until the channel is approved by IT security.")
REJECTED = {"I28": "Declares no customer success metric: nothing for customers to gain.",
            "I30": "Declares no customer success metric: nothing for customers to gain."}
DEFERRED = {"I23": "Platform bet below the cut line: revisit in the FY2028 round."}
FOUR_EYES = ("I19", "I21")
#: I19 is funded in tranches: $8M on approval, $6M at its gate, released in October 2026.
TRANCHED = ("I19", Decimal("8000000"), Gate("Identity pilot live in two P&Ls",
                                            Decimal("6000000")))
GATE_PASSED = "Pilot live in Retail Banking and Insurance in October 2026: second tranche."


@dataclass(frozen=True)
class HistoryReport:
    """What the history wrote: the first decision point (the log position the import
    ended at), its own first and last positions, and how many commands it ran."""

    decision_point: int
    first_position: int
    last_position: int
    commands: int


def months() -> list[tuple[int, int]]:
    """(year, month) of every month of the history, oldest first."""
    year, month = FIRST_MONTH
    found = []
    for _ in range(MONTHS):
        found.append((year, month))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return found


def month_end(year: int, month: int) -> datetime:
    """The last day of a month, at midnight UTC (the day a monthly reading is dated)."""
    following = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    last = date.fromordinal(following.toordinal() - 1)
    return datetime(last.year, last.month, last.day, tzinfo=UTC)


def _one_place(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def _gap_share(company: CompanyFile, metric: MetricIn, year: int, month: int) -> Decimal:
    """The share of the metric's gap closed by the deliveries landed by the month's end:
    each closes reach x gap-closed x realised of what is left, a third more each month."""
    left = Decimal(1)
    claims = {i.code: i for i in company.initiatives}
    gap = metric.target - metric.baseline
    for d in DELIVERIES:
        landed = (year - d.delivered_on.year) * 12 + month - d.delivered_on.month + (
            1 if d.delivered_on < month_end(year, month).date() else 0)
        if landed <= 0 or gap == 0:
            continue
        for claim in claims[d.code].expected_impacts:
            if claim.metric != metric.code:
                continue
            closed = min(max((claim.expected_value - metric.baseline) / gap, Decimal(0)),
                         Decimal(1))
            left *= 1 - claim.reach * closed * d.realised * min(Decimal(landed), Decimal(3)) / 3
    return 1 - left


def readings(company: CompanyFile) -> list[tuple[str, str, tuple[Reading, ...], str]]:
    """Every month's readings of every metric as bulk observation batches (deterministic)."""
    rnd = random.Random(SEED)
    batches = []
    metric_code, pilot_from, pilot_a, pilot_b, control_a, control_b = PILOT
    pilot_months = [m for m in months() if m >= pilot_from]
    for metric in company.metrics:
        n = SAMPLE_SIZES.get(metric.code, 100)
        gap = metric.target - metric.baseline
        for year, month in months():
            wobble = Decimal(rnd.randint(-30, 30)) / 1000  # +-3% of the gap: noise
            value = _one_place(metric.baseline + gap * (_gap_share(company, metric, year, month)
                                                        + wobble))
            size = n + rnd.randint(-n // 10, n // 10)
            at = month_end(year, month)
            found = [Reading(value, at, size)]
            if metric.code == DISTRIBUTED:
                found = [with_distribution(found[0])]
            if metric.code == metric_code and (year, month) in pilot_months:
                step = Decimal(pilot_months.index((year, month))) / (len(pilot_months) - 1)
                found.append(Reading(_one_place(pilot_a + (pilot_b - pilot_a) * step), at,
                                     size // 3, cohort="pilot"))
                found.append(Reading(_one_place(control_a + (control_b - control_a) * step), at,
                                     size // 3, cohort="control"))
            batches.append((metric.code, f"harborview-{year}-{month:02d}", tuple(found),
                            SOURCE))
    dated = [Month(year, month, month_end(year, month)) for year, month in months()]
    staff = staff_readings(dated)
    values = {(code, key): r[0].value for code, key, r, _ in batches}
    values.update({(code, key): r[0].value for code, key, r in staff})
    batches += [(code, key, r, SOURCE) for code, key, r in staff + nps_readings(dated, values)]
    return batches


def spend(company: CompanyFile, ids: dict[str, UUID],
          funded: Sequence[str]) -> list[SpendItem]:
    """Monthly spend actuals of the funded initiatives (deterministic)."""
    rnd = random.Random(SEED + 1)
    costs = {i.code: i.amount() for i in company.initiatives}
    delivered = {d.code: d.delivered_on for d in DELIVERIES}
    items = []
    for code in funded:
        cost = costs[code]
        if code in delivered:
            done = delivered[code]
            active = [m for m in SPEND_MONTHS if m <= (done.year, done.month)]
            total = cost * rnd.randint(88, 98) / 100
        else:
            active = list(SPEND_MONTHS)
            total = cost * len(active) / 12 * rnd.randint(80, 110) / 100
        if code == OVERSPENT[0]:
            total = OVERSPENT[1]
        share = (total / len(active)).quantize(Decimal(1))
        for n, (year, month) in enumerate(active):
            amount = share if n < len(active) - 1 else total.quantize(Decimal(1)) - share * n
            items.append(SpendItem(initiative_id=ids[code], amount=amount,
                                   spent_on=month_end(year, month).date(),
                                   reference=f"AP-{year}{month:02d}-{code}",
                                   note="Monthly actuals from the ledger."))
    return items


def _person(subject: str, role: str, issuer: str, pnls: Sequence[str] = ()) -> Principal:
    return Principal(subject=subject, roles=frozenset({role}), pnls=frozenset(pnls),
                     issuer=issuer)


def apply_history(app: Governance, company: CompanyFile, *,
                  issuer: str = DEFAULT_ISSUER) -> HistoryReport:
    """Apply the history to a freshly imported Harborview (through the use cases)."""
    period = company.period.code
    chief = _person("cx.chief", CX_EXEC, issuer)
    deputy = _person("cx.deputy", CX_EXEC, issuer)
    sponsor = _person(company.cx_sponsor, CX_EXEC, issuer)
    ingest = _person("ingest.bot", INGEST, issuer)
    finance = _person("finance.lead", FINANCE, issuer)
    owners = {p.code: _person(owner_of(p), PNL_OWNER, issuer, (p.code,)) for p in company.pnls}
    decision_point = app.position()
    commands = 0

    def owner(code: str) -> Principal:
        spec = next(i for i in company.initiatives if i.code == code)
        return owners[spec.pnl or ""] if spec.kind == "pnl" else sponsor

    for defined in (NPS, STAFF):  # the relationship and employee metrics (demo_drivers.py)
        app.define_metric(chief, **defined)
    app.map_operational_metrics(chief, code=str(NPS["code"]), operational_metrics=NPS_DRIVERS)
    app.record_observation_batches(ingest, batches=readings(company))
    commands += 4
    ids = {i.code or "": app.initiative_id(period, i.code or "") for i in company.initiatives}
    funded = [e.code for e in app.assess(period).entries if e.recommended]
    for code in funded:
        app.decide(chief, initiative_id=ids[code], outcome="approve", rationale=RATIONALE)
        commands += 1
        if code in FOUR_EYES:
            tranched = code == TRANCHED[0]
            app.decide(deputy, initiative_id=ids[code], outcome="approve",
                       rationale=RATIONALE, first_tranche=TRANCHED[1] if tranched else None,
                       gates=(TRANCHED[2],) if tranched else ())
            commands += 1
    for code, why in REJECTED.items():
        app.decide(deputy, initiative_id=ids[code], outcome="reject", rationale=why)
        commands += 1
    for code, why in DEFERRED.items():
        app.decide(chief, initiative_id=ids[code], outcome="defer", rationale=why)
        commands += 1
    for d in DELIVERIES:
        app.report_delivery(owner(d.code), initiative_id=ids[d.code],
                            delivered_on=d.delivered_on, note="Live for every customer.")
        commands += 1
    app.release_tranche(chief, initiative_id=ids[TRANCHED[0]], gate=TRANCHED[2].name,
                        rationale=GATE_PASSED)
    commands += 1
    values = {(metric, key): r[0].value for metric, key, r, _ in readings(company)}
    year, month = OUTCOME_MONTH
    for code, metric in OUTCOMES:
        app.record_outcome(owner(code), initiative_id=ids[code], metric=metric,
                           observed_value=values[(metric, f"harborview-{year}-{month:02d}")],
                           observed_at=month_end(year, month),
                           note="Read from the monthly operational report.")
        commands += 1
    metric, baseline, why = REBASELINE
    app.retarget_metric(chief, code=metric, baseline=baseline, reason=why)
    commands += 1
    app.record_spend_batch(finance, items=spend(company, ids, funded))
    code, new_cost, why = DESCOPED
    app.descope_initiative(chief, initiative_id=ids[code], new_cost=new_cost, reason=why)
    commands += 2
    for code, metric, expected, by in BENEFITS:
        spec = next(i for i in company.initiatives if i.code == code)
        app.plan_benefits(owner(code), initiative_id=ids[code],
                          owner=owner_of(next(p for p in company.pnls if p.code == spec.pnl))
                          if spec.pnl else company.cx_sponsor,
                          points=[BenefitPoint(metric, by, expected)])
        commands += 1
    for key, note in OUTSIDE_REVIEW.items():
        app.acknowledge_signal(chief, key=key, note=note)
        commands += 1
    review = app.open_review(chief, period=period, title=REVIEW_TITLE).id
    for key, note in IN_REVIEW.items():
        app.acknowledge_signal(chief, key=key, note=note, review=review)
        commands += 1
    code, why = STOPPED
    app.stop_initiative(chief, initiative_id=ids[code], reason=why, review=review)
    commands += 1
    app.close_review(chief, review_id=review, minutes=REVIEW_MINUTES)
    url, kinds, description, paused = WEBHOOK
    hook = app.create_webhook(chief, url=url, kinds=kinds, description=description).id
    app.pause_webhook(chief, hook, reason=paused)
    commands += 4
    return HistoryReport(decision_point=decision_point, first_position=decision_point + 1,
                         last_position=app.position(), commands=commands)
