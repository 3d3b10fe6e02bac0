"""The scorecard's drill-down by segment, the scorecard and the department view in a browser
(issue 15, part 7): Harborview with NPS readings by channel and region over two months, at
1280 and 390 px; the card links to the drill-down; a segment with too few responses says so;
axe-core finds no serious or critical violation on the three pages at either width; at 390
px the page does not scroll sideways; nothing is requested off the machine. Screenshots:
segments-1280, segments-390, segments-scorecard-390, segments-departments-390."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from selenium import webdriver
from selenium.webdriver.common.by import By

from domain.values import Reading
from governance.bootstrap import Runtime
from governance.principal import CX_EXEC, Principal
from tests.browser.conftest import off_localhost, requested_urls, screenshot
from tests.browser.test_accessibility_ui import describe, serious_violations
from tests.browser.test_dashboard import sign_in, sign_out, wait_for

CHIEF = Principal("setup.exec", frozenset({CX_EXEC}))
#: (month, channel, region, promoters, passives, detractors): the app rises beyond noise;
#: the branch has 20 responses a month (fewer than the policy's 30)
COUNTS = ((3, "app", "north", 90, 70, 40), (3, "branch", "south", 8, 6, 6),
          (3, "phone", "north", 60, 50, 40), (4, "app", "north", 1400, 400, 200),
          (4, "branch", "south", 12, 4, 4), (4, "phone", "south", 64, 48, 38))


def _nps_by_channel(runtime: Runtime) -> None:
    runtime.app.define_metric(CHIEF, code="MB", customer_phrasing="I would recommend the bank",
                              operational_metric="Relationship NPS", unit="points",
                              direction="increase", baseline=Decimal(20), target=Decimal(40))
    readings = [Reading(Decimal((p - d) * 100) / (p + s + d), datetime(2026, m, 28, tzinfo=UTC),
                        p + s + d, channel=channel, region=region, promoters=p, passives=s,
                        detractors=d)
                for m, channel, region, p, s, d in COUNTS]
    runtime.app.record_observations(CHIEF, metric="MB", batch_key="mb-channels",
                                    readings=readings, source="survey")


def _no_sideways_scroll(driver: webdriver.Chrome) -> None:
    """The page is no wider than the layout viewport (the window less its scroll bar)."""
    page, viewport = driver.execute_script(
        "return [document.documentElement.scrollWidth, document.documentElement.clientWidth];")
    assert page <= viewport, (driver.current_url, page, viewport)


def _check(driver: webdriver.Chrome, where: str) -> list[str]:
    wait_for(driver, "main h1")
    return describe(where, serious_violations(driver))


def test_segments_scorecard_and_departments_at_1280_and_390(
        browser: webdriver.Chrome, server: str, served_runtime: Runtime) -> None:
    _nps_by_channel(served_runtime)
    driver, problems = browser, []
    requested_urls(driver)
    sign_in(driver, server, "cx.deputy")
    try:
        for width in (1280, 390):
            driver.set_window_size(width, 844)
            driver.get(f"{server}/dashboard/scorecard")
            wait_for(driver, "article.metric")
            link = driver.find_element(By.CSS_SELECTOR, "article[data-metric='MB'] p.drill a")
            assert link.get_attribute("aria-label") == (
                "MB by segment: P&L, cohort, channel, region")
            problems += _check(driver, f"scorecard @{width}px")
            if width == 390:
                _no_sideways_scroll(driver)
                driver.execute_script("arguments[0].scrollIntoView();", link)
                screenshot(driver, "segments-scorecard-390")
            driver.get(f"{server}/dashboard/scorecard/MB/segments?by=channel")
            wait_for(driver, "#segments")
            rows = {r.get_attribute("data-segment"): r for r in
                    driver.find_elements(By.CSS_SELECTOR, "#segments tbody tr[data-segment]")}
            assert sorted(rows) == ["all", "app", "branch", "phone"], sorted(rows)
            assert rows["branch"].get_attribute("data-enough") == "no"
            assert "too few responses: n = 20, fewer than 30" in rows["branch"].text
            assert "★ significant" in rows["app"].text and "improving" in rows["app"].text
            problems += _check(driver, f"segments @{width}px")
            if width == 390:
                _no_sideways_scroll(driver)
            screenshot(driver, f"segments-{width}")
            driver.get(f"{server}/dashboard/departments?name=Onboarding+Operations")
            problems += _check(driver, f"departments @{width}px")
            if width == 390:
                _no_sideways_scroll(driver)
                screenshot(driver, "segments-departments-390")
        assert problems == [], "\n".join(problems)
        assert off_localhost(requested_urls(driver)) == []
    finally:
        driver.set_window_size(1280, 800)
        sign_out(driver)
