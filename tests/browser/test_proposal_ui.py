"""Proposed weights in a browser (issue 15, parts 4 and 5; decision 160): on the demo history,
a CX executive follows the drivers page's "Preview the ranking under these weights" to the
ranking under NPS's proposed weights beside the ranking in force, at 1280 and 390 px (axe: no
serious or critical violation; at 390 px the page does not scroll sideways), then adopts them
with the separate form, without JavaScript needed. Screenshots: proposal-1280, proposal-390."""

from __future__ import annotations

from selenium import webdriver
from selenium.webdriver.common.by import By

from governance.bootstrap import Runtime
from governance.entrypoints.cli import bundled_company
from governance.entrypoints.demo_history import apply_history
from tests.browser.conftest import screenshot
from tests.browser.test_accessibility_ui import describe, serious_violations
from tests.browser.test_dashboard import sign_in, sign_out, submit_and_wait, wait_for
from tests.browser.test_departments_ui import _no_sideways_scroll


def test_preview_then_adopt_the_drivers_weights(browser: webdriver.Chrome, server: str,
                                                served_runtime: Runtime) -> None:
    apply_history(served_runtime.app, bundled_company())
    driver = browser
    sign_in(driver, server, "cx.chief")
    try:
        driver.get(f"{server}/dashboard/drivers?metric=NPS")
        wait_for(driver, "#preview-link")
        submit_and_wait(driver, "#preview-link")
        wait_for(driver, "#ranking-compared")
        table = driver.find_element(By.ID, "ranking-compared").text
        assert "drops below the cut line" in table and "up " in table and "down " in table
        problems = describe("proposal 1280", serious_violations(driver))
        screenshot(driver, "proposal-1280")
        driver.set_window_size(390, 844)
        driver.get(driver.current_url)
        wait_for(driver, "#ranking-compared")
        _no_sideways_scroll(driver)
        problems += describe("proposal 390", serious_violations(driver))
        screenshot(driver, "proposal-390")
        assert problems == [], "\n".join(problems)
        driver.set_window_size(1280, 800)
        driver.find_element(By.ID, "adopt-rationale").send_keys("NPS drivers, browser")
        submit_and_wait(driver, "#adopt-button")
        wait_for(driver, "#version")
        assert "Recorded — new version with proposed weights." in driver.page_source
        assert "Version 2" in driver.find_element(By.ID, "version").text
    finally:
        driver.set_window_size(1280, 800)
        sign_out(driver)
