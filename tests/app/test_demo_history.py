"""Harborview's seeded history (governance/entrypoints/demo_history.py): a company that runs
the loop, deterministic, and the published ranking still the state at the first decision."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from governance.bootstrap import Runtime
from governance.entrypoints.cli import bundled_company
from governance.entrypoints.demo_history import (
    BENEFITS,
    DELIVERIES,
    IN_REVIEW,
    OUTSIDE_REVIEW,
    WEBHOOK,
    HistoryReport,
    apply_history,
    readings,
)
from governance.principal import AUDITOR, Principal
from projections.query import ReadModels
from tests.api.conftest import harborview_runtime
from tests.builders import harborview_path

SHARED = Path("/work/shared/data/harborview.json")


def expected() -> dict[str, Any]:
    """The published expectation (the shared copy when present, else the packaged file)."""
    path = SHARED if SHARED.is_file() else harborview_path()
    found: dict[str, Any] = json.loads(path.read_text())["expected"]
    return found


def demo(runtime: Runtime) -> tuple[ReadModels, HistoryReport]:
    """Harborview (imported by `harborview_runtime`), then its history applied: a runtime,
    because answering signals asks the read side."""
    report = apply_history(runtime.app, bundled_company())
    return runtime.read_models(), report


@pytest.fixture(scope="module")
def runtime_of_alive() -> Iterator[Runtime]:
    runtime = harborview_runtime()
    runtime.extras["alive"] = demo(runtime)
    yield runtime
    runtime.close()


@pytest.fixture(scope="module")
def alive(runtime_of_alive: Runtime) -> tuple[ReadModels, HistoryReport]:
    found: tuple[ReadModels, HistoryReport] = runtime_of_alive.extras["alive"]
    return found


def test_the_ranking_at_the_first_decision_point_is_the_published_one(
        alive: tuple[ReadModels, HistoryReport]) -> None:
    models, report = alive
    published = expected()
    rows = models.ranking("FY2027", as_of=report.decision_point)
    assert [r.code for r in rows] == published["ranking"]
    assert {r.code: {"cip": r.cip_display, "score": r.score_display} for r in rows} == (
        published["scores"])
    recommended = sum(Decimal(r.cost) for r in rows if r.recommended)
    assert recommended == Decimal(published["greedy_funded_musd"]) * 1_000_000
    assert {r.status for r in rows} == {"submitted"}
    assert report.last_position > report.first_position > report.decision_point


def test_every_scorecard_card_has_data_and_the_ledger_money(
        alive: tuple[ReadModels, HistoryReport]) -> None:
    models, _ = alive
    cards = models.scorecard("FY2027")
    # the company's nine metrics, then the relationship and employee metrics of the history
    assert [c.metric for c in cards] == [f"M{n}" for n in range(1, 10)] + ["NPS", "STAFF"]
    assert "grey" not in {c.status for c in cards}
    assert all(c.readings >= 18 and len(c.trend) == 6 and c.sample_size for c in cards)
    m4 = next(c for c in cards if c.metric == "M4")
    assert m4.did is not None and Decimal(m4.did.effect) == Decimal("-6.9")  # DOMAIN.md 5
    ledger = models.ledger("FY2027")
    assert ledger is not None
    million = 1_000_000
    assert Decimal(ledger.committed) == Decimal("118.8") * million
    stopped = next(c for c in models.snapshot().initiatives("FY2027") if c.code == "I02")
    assert stopped.status == "cancelled" and Decimal(stopped.spent) > 0
    # the descope of I21 (12 M -> 9 M) and what the stopped I02 had not spent
    assert Decimal(ledger.released) == 3 * million + Decimal("3.5") * million - Decimal(
        stopped.spent)
    assert Decimal(ledger.spent) > 0 and ledger.over_plan == ["I10"]
    assert Decimal(ledger.available) == Decimal(ledger.amount) - Decimal(
        ledger.net_committed)


def test_the_decisions_deliveries_and_outcomes_are_in_the_record(
        alive: tuple[ReadModels, HistoryReport]) -> None:
    models, _ = alive
    cards = {c.code: c for c in models.snapshot().initiatives("FY2027")}
    delivered = {code for code, c in cards.items() if c.status == "delivered"}
    assert delivered == {d.code for d in DELIVERIES}
    assert {cards[c].status for c in ("I28", "I30")} == {"rejected"}
    assert cards["I23"].status == "deferred"
    assert {c for c, card in cards.items() if card.status == "submitted"} == {
        "I03", "I09", "I14", "I06", "I29"}
    assert cards["I02"].status == "cancelled" and len(cards["I21"].descopes) == 1
    assert len(cards["I19"].approvals) == 2  # above the four-eyes threshold
    (gate,) = cards["I19"].gates  # funded in tranches, the second released at its gate
    assert gate.released and Decimal(gate.amount) == 6_000_000
    assert Decimal(cards["I19"].committed) == 14_000_000
    assert [o.metric for o in cards["I11"].outcomes] == ["M5"]
    assert not any(d.departure for c in cards.values() for d in c.decisions)


def test_you_said_we_did_tells_every_delivered_metric(
        alive: tuple[ReadModels, HistoryReport]) -> None:
    models, _ = alive
    told = {s.metric: s for s in models.you_said_we_did() if s.deliveries}
    assert set(told) == {"M2", "M3", "M4", "M5", "M6", "M7", "M8", "M9"}
    assert all(s.verdict == "better" for s in told.values())
    assert [d.code for d in told["M4"].deliveries] == ["I13", "I25"]


def test_the_loop_turned_benefit_plans_signals_and_one_review(
        alive: tuple[ReadModels, HistoryReport]) -> None:
    loop = alive[0].loop()
    assert {p.code for p in loop.benefit_plans("FY2027")} == {b[0] for b in BENEFITS}
    states = {s.key: s.state for s in loop.signals(period="FY2027")}
    at_risk = {k for k in states if k.startswith("benefit_at_risk:")}
    assert at_risk == {"benefit_at_risk:FY2027:I27:M9", "benefit_at_risk:FY2027:I04:M2"}
    assert {k for k, state in states.items() if state == "acknowledged"} == {
        *IN_REVIEW, *OUTSIDE_REVIEW}
    assert "open" in states.values()
    assert states["spend_over_plan:FY2027:I10"] == "open"
    (review,) = loop.reviews("FY2027")
    assert review.closed and review.minutes
    assert [i.item for i in review.items] == ["acknowledge"] * len(IN_REVIEW) + ["stop"]


def test_a_webhook_subscription_waits_paused(runtime_of_alive: Runtime) -> None:
    (hook,) = runtime_of_alive.app.webhook_subscriptions(
        Principal(subject="a", roles=frozenset({AUDITOR}), pnls=frozenset(), issuer="t"))
    assert (hook.url, hook.status) == (WEBHOOK[0], "paused")


def test_the_history_is_deterministic(alive: tuple[ReadModels, HistoryReport]) -> None:
    assert readings(bundled_company()) == readings(bundled_company())
    runtime = harborview_runtime()
    again, _ = demo(runtime)
    models, _ = alive
    assert again.you_said_we_did() == models.you_said_we_did()
    figures = {"metric", "status", "current", "progress", "sample_size", "trend", "did"}
    assert [c.model_dump(include=figures) for c in again.scorecard("FY2027")] == [
        c.model_dump(include=figures) for c in models.scorecard("FY2027")]
    runtime.close()


def test_cxgov_scorecard_prints_the_cards_statistics(
        alive: tuple[ReadModels, HistoryReport]) -> None:
    """`cxgov scorecard` gives each card a second line: the kind, the 95% interval, the share
    meeting the customer's threshold, the XmR limits and (M4) the pilot against its control."""
    from governance.entrypoints.views import render_scorecard

    models, _ = alive
    cards = [c.model_dump(mode="json") for c in models.scorecard("FY2027")]
    lines = render_scorecard(cards).splitlines()
    details = {line.split()[0]: lines[n + 1] for n, line in enumerate(lines[1:], 1)
               if n % 2 == 1}
    assert len(details) == 11
    assert details["STAFF"].split(";")[0].strip() == "employee metric"
    assert details["NPS"].split(";")[0].strip() == "customer metric"
    m4 = next(c for c in cards if c["metric"] == "M4")
    assert f"XmR limits {Decimal(m4['spc']['lower']):.1f} - " in details["M4"]
    assert "pilot vs control -6.9 (pilot 18.0 -> 9.5, control 18.4 -> 16.8)" in details["M4"]
    assert sum("pilot vs control" in d for d in details.values()) == 1
    assert all("XmR limits" in d for d in details.values())
    assert all("95% interval" in details[m] for m in ("M1", "M5", "M9", "NPS", "STAFF"))
    nps = next(c for c in cards if c["metric"] == "NPS")["intervals"][0]
    assert (f"95% interval {Decimal(nps['low']):.1f} - {Decimal(nps['high']):.1f} (nps)"
            in details["NPS"])
    assert "meeting the threshold" in details["M1"]
