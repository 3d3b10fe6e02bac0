"""The department view and the job map in a browser (issue 15): Harborview's departments at
1280 and 390 px wide; at 390 px the tables scroll inside their frames and the page itself does
not scroll sideways. Screenshots: departments-1280, departments-390, jobs-390."""

from __future__ import annotations

from decimal import Decimal

from selenium import webdriver
from selenium.webdriver.common.by import By

from governance.bootstrap import Runtime
from governance.principal import CX_EXEC, Principal
from tests.browser.conftest import screenshot
from tests.browser.test_dashboard import sign_in, sign_out, wait_for


def _no_sideways_scroll(driver: webdriver.Chrome) -> None:
    page, viewport = driver.execute_script(
        "return [document.documentElement.scrollWidth, window.innerWidth];")
    assert page <= viewport, (page, viewport)


def test_departments_and_jobs_at_1280_and_390(browser: webdriver.Chrome, server: str,
                                              served_runtime: Runtime) -> None:
    chief = Principal("setup.exec", frozenset({CX_EXEC}))
    served_runtime.app.define_job(chief, code="J1", statement="Use my account the day I open it",
                                  importance=Decimal("8.6"), satisfaction=Decimal("3.9"),
                                  scenario="S1", metrics=["M1"])
    driver = browser
    sign_in(driver, server, "cx.deputy")
    try:
        driver.get(f"{server}/dashboard/departments?name=Onboarding+Operations")
        wait_for(driver, "#departments")
        names = [a.text for a in driver.find_elements(By.CSS_SELECTOR, "#departments th a")]
        assert "Onboarding Operations" in names and "Contact Centre" in names, names
        outcomes = driver.find_element(By.ID, "outcomes").text
        assert "M1" in outcomes and "M6" in outcomes
        screenshot(driver, "departments-1280")
        driver.set_window_size(390, 844)
        driver.get(f"{server}/dashboard/departments?name=Onboarding+Operations")
        wait_for(driver, "#operational-metrics")
        _no_sideways_scroll(driver)
        screenshot(driver, "departments-390")
        driver.get(f"{server}/dashboard/jobs")
        wait_for(driver, "#job-map")
        assert "J1" in driver.find_element(By.ID, "job-map").text
        _no_sideways_scroll(driver)
        screenshot(driver, "jobs-390")
    finally:
        driver.set_window_size(1280, 800)
        sign_out(driver)
