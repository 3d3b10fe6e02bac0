"""The scorecard and the key drivers in a browser (issue 15, part 7): Harborview with its
seeded history at 1280 and 390 px; every card's chart shows data (month labels on the x axis,
a value scale, control limits, readings), at least one the latest reading's 95% interval; the
drivers page draws its intervals; at 390 px the page is no wider than the layout viewport
(the cards' single column once grew to its content's width: 484 px); nothing is requested off
the machine. Screenshots:
scorecard-1280, scorecard-390, drivers-1280."""

from __future__ import annotations

import re

from selenium import webdriver
from selenium.webdriver.common.by import By

from governance.bootstrap import Runtime
from governance.entrypoints.cli import bundled_company
from governance.entrypoints.demo_history import apply_history
from governance.principal import CX_EXEC, Principal
from tests.browser.conftest import off_localhost, requested_urls, screenshot
from tests.browser.test_dashboard import sign_in, sign_out, wait_for

MONTH = re.compile(r"^[A-Z][a-z]{2} \d{4}$")


def _charts_show_data(driver: webdriver.Chrome) -> None:
    charts = driver.find_elements(By.CSS_SELECTOR, "article.metric svg.scorecard-chart")
    assert len(charts) == 11  # Harborview's nine metrics, NPS and STAFF (demo history)
    for chart in charts:
        months = [t.text for t in chart.find_elements(By.CSS_SELECTOR, "text.x-tick")]
        assert len(months) >= 3 and all(MONTH.match(m) for m in months), months
        assert len(chart.find_elements(By.CSS_SELECTOR, "text.y-tick")) == 5
        assert chart.find_elements(By.CSS_SELECTOR, "line.t-limit")
        assert len(chart.find_elements(By.CSS_SELECTOR, "circle.t-point")) == 6
        box = chart.rect
        assert box["width"] > 200 and box["height"] > 80, box
    assert driver.find_elements(By.CSS_SELECTOR, "svg.scorecard-chart line.t-interval")


def test_scorecard_and_drivers_at_1280_and_390(browser: webdriver.Chrome, server: str,
                                               served_runtime: Runtime) -> None:
    driver = browser
    requested_urls(driver)
    sign_in(driver, server, "cx.deputy")
    apply_history(served_runtime.app, bundled_company())
    chief = Principal("setup.exec", frozenset({CX_EXEC}))
    served_runtime.app.map_operational_metrics(chief, code="M9", operational_metrics=[
        {"name": f"Driver {c}", "source": f"metric:{c}", "aggregation": "monthly",
         "department": "Contact Centre"} for c in ("M4", "M5", "M6")])
    try:
        driver.get(f"{server}/dashboard/scorecard")
        wait_for(driver, "article.metric")
        _charts_show_data(driver)
        screenshot(driver, "scorecard-1280")
        driver.get(f"{server}/dashboard/drivers?metric=M9")
        wait_for(driver, "#drivers-form")
        assert driver.find_elements(By.CSS_SELECTOR, "#drivers-plot g.driver") or (
            driver.find_elements(By.ID, "refused"))
        screenshot(driver, "drivers-1280")
        driver.set_window_size(390, 844)
        driver.get(f"{server}/dashboard/scorecard")
        wait_for(driver, "article.metric")
        _charts_show_data(driver)
        screenshot(driver, "scorecard-390")
        page, viewport = driver.execute_script(
            "return [document.documentElement.scrollWidth, document.documentElement.clientWidth];")
        assert page <= viewport, (page, viewport)  # no sideways scroll on a phone
        assert off_localhost(requested_urls(driver)) == []
    finally:
        driver.set_window_size(1280, 800)
        sign_out(driver)
