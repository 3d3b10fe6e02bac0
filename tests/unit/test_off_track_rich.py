"""The off-track signal uses the scorecard's tests (issue 15): a reading with NPS counts, a
top-box count or a mean summary is off track only when the glide value lies outside its 95%
interval, on the better side; inside it, a run of worse readings is noise, not a signal."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from projections.signals import RUN, off_track_since
from projections.state import MetricState, MonthPoint

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def metric(unit: str, direction: str, baseline: str, target: str) -> MetricState:
    return MetricState(code="MN", customer_phrasing="I would recommend you",
                       operational_metric="NPS", scenario=None, pnl=None, unit=unit,
                       direction=direction, baseline=Decimal(baseline), target=Decimal(target),
                       target_date=None, customer_threshold=None, importance=None,
                       satisfaction=None, defined_at=T0)


def month(n: int, value: str, sample: int, **detail: Any) -> MonthPoint:
    return MonthPoint(f"2026-{n:02d}", Decimal(value), datetime(2026, n, 15, tzinfo=UTC), 1,
                      sample, detail)


def test_nps_below_the_glide_value_but_inside_its_interval_is_not_off_track() -> None:
    nps = metric("points", "increase", "30", "50")  # no target date: the glide holds at 30
    # NPS 25 from 100 answers: interval about 10-39 holds 30, so RUN such months are noise
    noisy = [month(n, "25", 100, promoters=45, passives=35, detractors=20)
             for n in range(1, RUN + 2)]
    assert off_track_since(nps, noisy, min_n=30) is None
    # NPS 20 from 2,000 answers: interval about 17-23 excludes 30: off track at once
    precise = [month(n, "20", 2000, promoters=800, passives=800, detractors=400)
               for n in (1, 2)]
    assert off_track_since(nps, precise, min_n=30) == precise[0].observed_at


def test_a_top_box_share_carries_its_interval() -> None:
    csat = metric("%", "increase", "80", "90")
    inside = [month(n, "78", 100, top_box=78) for n in range(1, RUN + 2)]
    assert off_track_since(csat, inside, min_n=30) is None
    outside = [month(1, "70", 1000, top_box=700)]
    assert off_track_since(csat, outside, min_n=30) == outside[0].observed_at


def test_a_mean_summary_equal_to_the_value_carries_its_t_interval() -> None:
    contacts = metric("contacts", "decrease", "2.5", "1")
    wobble = [month(n, "2.6", 50, mean=Decimal("2.6"), sd=Decimal("1.2"))
              for n in range(1, RUN + 2)]
    assert off_track_since(contacts, wobble, min_n=30) is None
    # a summary of another statistic than the value gives no interval: the run rule applies
    median_valued = [month(n, "2.6", 50, mean=Decimal("3.1"), sd=Decimal("1.2"))
                     for n in range(1, RUN + 1)]
    assert off_track_since(contacts, median_valued, min_n=30) == median_valued[-1].observed_at
