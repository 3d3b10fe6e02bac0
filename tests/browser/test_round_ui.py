"""The funding round page in a real browser (decision 200): a round whose intake a CX
executive closed early and whose review deadline was then moved shows the phase, the
schedule and the changes (who, when, why, before -> after), as of any position; axe-core
finds no serious violation on it at 1280 and 390 px."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By

from governance.bootstrap import Runtime
from tests.api.conftest import harborview_runtime
from tests.browser.test_accessibility_ui import describe, serious_violations
from tests.browser.test_dashboard import sign_in, sign_out, wait_for
from tests.builders import CX_CHIEF, FINANCE_LEAD

PERIOD = "FY2027"
OPENS = datetime(2027, 1, 10, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def served_runtime() -> Iterator[Runtime]:
    """Harborview with a round: opened, intake closed early, the review deadline moved."""
    runtime = harborview_runtime()
    gov = runtime.app
    gov.clock = lambda: OPENS + timedelta(days=2)
    gov.open_round(FINANCE_LEAD, period=PERIOD, intake_opens=OPENS,
                   intake_closes=OPENS + timedelta(days=14),
                   review_deadline=OPENS + timedelta(days=21),
                   decision_deadline=OPENS + timedelta(days=28))
    runtime.extras["opened_at"] = gov.position()
    gov.change_round(CX_CHIEF, period=PERIOD, change="close_intake",
                     reason="Every P&L has submitted")
    gov.clock = lambda: OPENS + timedelta(days=3)
    gov.change_round(CX_CHIEF, period=PERIOD, change="reschedule",
                     reason="Finance needs four more days for vendor quotes",
                     review_deadline=OPENS + timedelta(days=25))
    yield replace(runtime, settings=runtime.settings.model_copy(update={"demo_sign_in": True}))
    runtime.close()


def test_the_round_page_shows_the_changes_and_passes_axe(
        browser: webdriver.Chrome, server: str, served_runtime: Runtime) -> None:
    driver, problems = browser, []
    sign_in(driver, server, "cx.chief")
    try:
        driver.get(f"{server}/dashboard/round?period={PERIOD}")
        wait_for(driver, "#round-changes")
        assert "review" in driver.find_element(By.ID, "round-phase").text
        rows = driver.find_elements(By.CSS_SELECTOR, "#round-changes tbody tr")
        texts = [r.text for r in rows]
        assert len(rows) == 2, texts
        assert "close intake" in texts[0] and "Every P&L has submitted" in texts[0]
        assert "review deadline: 2027-01-31T09:00:00+00:00" in texts[1], texts[1]
        assert "2027-02-04T09:00:00+00:00" in texts[1]
        for width in (1280, 390):
            driver.set_window_size(width, 844)
            problems += describe(f"/dashboard/round @{width}px", serious_violations(driver))
        driver.set_window_size(1280, 800)
        before = served_runtime.extras["opened_at"]
        driver.get(f"{server}/dashboard/round?period={PERIOD}&as_of={before}")
        wait_for(driver, "#round-changes")
        assert "No changes" in driver.find_element(By.ID, "round-changes").text
    finally:
        driver.set_window_size(1280, 800)
        sign_out(driver)
    assert problems == [], "\n".join(problems)
