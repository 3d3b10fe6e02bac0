"""Harborview's relationship and employee-experience story (issue 15), part of the seeded
demo history (governance/entrypoints/demo_history.py applies it).

Two metrics are defined after the first decision point (so the published ranking is
untouched, and no initiative claims them):

* NPS, the relationship metric: a monthly relationship survey of about 3,000 customers, each
  reading with its promoter / passive / detractor counts, so the scorecard gives its
  interval and tests its month-on-month change (NPS difference, z);
* STAFF, an employee-experience metric (`kind` "employee"): the monthly pulse of the contact
  centre's staff, the share who agree they have what they need to help customers (top-box
  count of about 320), lifted by a coaching programme from March 2026.

NPS is mapped to three operational metrics with owners whose source names a register metric
(`metric:M2` disputes, `metric:M4` claims, `metric:M9` first-contact resolution), so its key
drivers can be analysed (GET /v1/metrics/NPS/drivers); adding `STAFF@1` asks whether last
month's staff satisfaction moves this month's NPS.

How the survey answers are drawn (all fictional, seeded): each month's true NPS is a linear
function of that month's M2, M4 and M9 readings and the previous month's STAFF reading
(`EFFECTS`), and the month's respondents answer at random around it (a multinomial draw), so
the fitted coefficients come back with sampling noise and honest intervals (each 95% interval
of `drivers=M2,M4,M9,STAFF@1` covers the effect drawn; the mapped default, without STAFF,
credits claims (M4) with what staff satisfaction did: an omitted driver). M1 readings gain
a distribution summary (mean, sd, median, 90th percentile, share within a day) so its change
is tested (Welch) and, the process being stable, labelled "no detectable change".
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from domain.values import Reading

SEED = 2029
#: The relationship metric and the employee-experience metric, as `define_metric` takes them.
NPS: dict[str, Any] = {
    "code": "NPS", "customer_phrasing": "I would recommend Harborview to a friend",
    "operational_metric": "Net Promoter Score of the monthly relationship survey",
    "unit": "NPS", "direction": "increase", "baseline": Decimal(18), "target": Decimal(45),
    "kind": "customer"}
STAFF: dict[str, Any] = {
    "code": "STAFF", "customer_phrasing": "I have what I need to help customers",
    "operational_metric": "Share of contact-centre staff agreeing in the monthly pulse",
    "unit": "%", "direction": "increase", "baseline": Decimal(58), "target": Decimal(80),
    "kind": "employee"}
#: NPS's operational metrics, each with its source (a register metric), rule and owner.
NPS_DRIVERS = [
    {"name": "Median days to final dispute resolution", "source": "metric:M2",
     "aggregation": "median per month", "department": "Disputes & Chargebacks"},
    {"name": "Median days from first notice of loss to payment", "source": "metric:M4",
     "aggregation": "median per month", "department": "Claims Operations"},
    {"name": "First contact resolution rate", "source": "metric:M9",
     "aggregation": "share per month", "department": "Contact Centre"},
]
#: NPS points per unit of each driver (the drivers' own units; STAFF lagged one month), and
#: the level the drivers start from: true NPS = 18 + sum(effect * (driver - start)).
EFFECTS = {"M2": (Decimal("-2.5"), Decimal(12)), "M4": (Decimal("-0.9"), Decimal(18)),
           "M9": (Decimal("1.2"), Decimal(68)), "STAFF": (Decimal("0.45"), Decimal(58))}
RESPONDENTS = 12000
STAFF_SIZE = 900
PASSIVES = Decimal("0.33")
#: STAFF's true agreement by month: 58% until February 2026, then the coaching programme
#: lifts it by 3 points a month to 73% (July 2026), where it stays.
COACHING_FROM = (2026, 3)


@dataclass(frozen=True)
class Month:
    """A month of the history and the day its readings are dated."""

    year: int
    month: int
    at: datetime

    @property
    def key(self) -> str:
        return f"harborview-{self.year}-{self.month:02d}"


def _one_place(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def staff_share(year: int, month: int) -> Decimal:
    """STAFF's true agreement (%) in a month."""
    since = (year - COACHING_FROM[0]) * 12 + month - COACHING_FROM[1] + 1
    return Decimal(58) + Decimal(3) * min(max(since, 0), 5)


Batch = tuple[str, str, tuple[Reading, ...]]


def staff_readings(months: list[Month]) -> list[Batch]:
    """STAFF's monthly pulse: a top-box count out of about `STAFF_SIZE` answers."""
    rnd = random.Random(SEED)
    out: list[Batch] = []
    for m in months:
        n = STAFF_SIZE + rnd.randint(-30, 30)
        share = float(staff_share(m.year, m.month)) / 100
        agree = sum(rnd.random() < share for _ in range(n))
        value = _one_place(Decimal(agree * 100) / n)
        out.append(("STAFF", m.key, (Reading(value, m.at, n, top_box=agree),)))
    return out


def nps_readings(months: list[Month], values: dict[tuple[str, str], Decimal]) -> list[Batch]:
    """NPS's monthly survey: promoter / passive / detractor counts drawn around the true NPS
    the month's driver readings give (`values`: (metric, batch key) -> the month's value,
    STAFF's from the month before; the first month has none, so its STAFF is the start)."""
    rnd = random.Random(SEED + 1)
    out: list[Batch] = []
    for index, m in enumerate(months):
        true = Decimal(18)
        for code, (effect, start) in EFFECTS.items():
            key = months[index - 1].key if code == "STAFF" and index else m.key
            driver = values.get((code, key), start) if code != "STAFF" or index else start
            true += effect * (driver - start)
        net = float(true) / 100
        promote, detract = (1 - float(PASSIVES) + net) / 2, (1 - float(PASSIVES) - net) / 2
        n = RESPONDENTS + rnd.randint(-600, 600)
        counts = [0, 0, 0]
        for _ in range(n):
            draw = rnd.random()
            counts[0 if draw < promote else 2 if draw < promote + detract else 1] += 1
        value = _one_place(Decimal((counts[0] - counts[2]) * 100) / n)
        out.append(("NPS", m.key, (Reading(value, m.at, n, promoters=counts[0],
                                           passives=counts[1], detractors=counts[2]),)))
    return out


def with_distribution(reading: Reading) -> Reading:
    """An M1 reading (median hours to a usable account) with its distribution summary: the
    hours are right-skewed (mean 1.18 x the median, sd 0.55 x, 90th percentile 2.1 x) and
    about 5% of customers get a usable account within a day."""
    median = reading.value
    return Reading(median, reading.observed_at, reading.sample_size,
                   mean=_one_place(median * Decimal("1.18")),
                   sd=_one_place(median * Decimal("0.55")), median=median,
                   p90=_one_place(median * Decimal("2.1")), share_meeting=Decimal("0.05"))
