"""Issue 17 in a real browser: the knock-on effects beside the decide form (the script shows
the chosen decision's; the decision then does what it said), and the what-if budget page
(with the script: the range and the amount box follow each other; without it: the range
alone, submitted, chooses the budget). axe-core on both pages at 1280 and 390 px (0 serious
or critical violations); screenshots of both at both widths."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.select import Select
from selenium.webdriver.support.ui import WebDriverWait

from governance.bootstrap import Runtime
from tests.browser.conftest import csp_violations, off_localhost, requested_urls, screenshot
from tests.browser.test_accessibility_ui import describe, serious_violations
from tests.browser.test_dashboard import click_and_leave, sign_in, sign_out, wait_for

PERIOD = "FY2027"
WIDTHS = (1280, 390)


def initiative_path(runtime: Runtime, code: str) -> str:
    return f"/dashboard/initiatives/{runtime.app.initiative_id(PERIOD, code)}"


def texts(driver: webdriver.Chrome, css: str) -> list[str]:
    return [e.text for e in driver.find_elements(By.CSS_SELECTOR, css)]


@pytest.mark.parametrize("width", WIDTHS)
def test_axe_and_screenshots_of_the_what_if_pages(browser: webdriver.Chrome, server: str,
                                                  served_runtime: Runtime,
                                                  width: int) -> None:
    driver, problems = browser, []
    requested_urls(driver)
    sign_in(driver, server, "cx.chief")
    driver.set_window_size(width, 844)
    try:
        for name, path in (("initiative-knock-on", initiative_path(served_runtime, "I03")),
                           ("what-if", "/dashboard/what-if"),
                           ("what-if-130m", "/dashboard/what-if?budget=%24130M"),
                           ("what-if-error", "/dashboard/what-if?budget=lots")):
            driver.get(server + path)
            wait_for(driver, "main h1")
            problems += describe(f"{path} @{width}px", serious_violations(driver))
            overflow = driver.execute_script(
                "return document.documentElement.scrollWidth"
                " - document.documentElement.clientWidth;")
            assert overflow <= 0, f"{path} scrolls sideways at {width}px"
            screenshot(driver, f"{name}-{width}")
    finally:
        driver.set_window_size(1280, 800)
    sign_out(driver)
    assert problems == [], "\n".join(problems)
    assert off_localhost(requested_urls(driver)) == [] and csp_violations(driver) == []


def test_the_what_if_budget_with_and_without_the_script(browser: webdriver.Chrome,
                                                        server: str) -> None:
    driver = browser
    sign_in(driver, server, "cx.chief")
    driver.get(f"{server}/dashboard/what-if")
    wait_for(driver, "#whatif-form")
    box = driver.find_element(By.ID, "budget")
    assert box.get_attribute("value") == "$120,000,000"
    box.clear()
    box.send_keys("$130M")  # typed as people type it
    assert driver.find_element(By.ID, "level").get_attribute("value") == "130000000"
    click_and_leave(driver, driver.find_element(By.CSS_SELECTOR, "#whatif-form button"))
    wait_for(driver, "#at-budget")
    assert "Understood “$130M” as $130,000,000." in driver.find_element(
        By.CSS_SELECTOR, "[data-testid=understood]").text
    assert [t.split()[0] for t in texts(driver, "#added li")] == ["I03", "I09", "I06"]
    assert parse_qs(urlsplit(driver.current_url).query)["budget"] == ["$130M"]
    assert driver.find_elements(By.CSS_SELECTOR, "svg.whatif .w-chosen-dot")
    # the range moves the box with it (script), and the submitted view follows the range
    level = driver.find_element(By.ID, "level")
    level.send_keys(Keys.END)
    assert driver.find_element(By.ID, "budget").get_attribute("value") == "$166,600,000"
    assert driver.find_element(By.ID, "level-out").text == "$166.6M"
    click_and_leave(driver, driver.find_element(By.CSS_SELECTOR, "#whatif-form button"))
    wait_for(driver, "#at-budget")
    assert driver.find_element(By.ID, "at-h").text == "At $166.6M"
    assert texts(driver, "#dropped") == ["None."]

    # without JavaScript: the range alone, submitted, chooses the budget
    driver.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": True})
    try:
        driver.get(f"{server}/dashboard/what-if")
        wait_for(driver, "#whatif-form")
        driver.find_element(By.ID, "level").send_keys(Keys.HOME)
        assert driver.find_element(By.ID, "budget").get_attribute("value") == "$120,000,000"
        driver.find_element(By.CSS_SELECTOR, "#whatif-form button").click()
        # no script runs to mark the old page: wait for the new address, then its heading
        WebDriverWait(driver, 15).until(lambda d: "level=" in d.current_url)
        WebDriverWait(driver, 15, ignored_exceptions=(WebDriverException,)).until(
            lambda d: d.find_element(By.ID, "at-h").text == "At $0.0M")
        assert "Showing $0." in driver.find_element(
            By.CSS_SELECTOR, "[data-testid=understood]").text
    finally:
        driver.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": False})
    sign_out(driver)


def test_the_knock_on_shows_the_chosen_decision_and_comes_true(
        browser: webdriver.Chrome, server: str, served_runtime: Runtime) -> None:
    driver = browser
    sign_in(driver, server, "cx.chief")
    driver.get(server + initiative_path(served_runtime, "I03"))
    wait_for(driver, "#knock-on")
    approve = driver.find_element(By.ID, "knock-approve")
    assert approve.is_displayed()
    assert not driver.find_element(By.ID, "knock-reject").is_displayed()  # the script
    assert "Approving I03 moves I20 below the line" in approve.text
    select = Select(driver.find_element(By.CSS_SELECTOR, "form.decide select"))
    select.select_by_value("defer")
    assert driver.find_element(By.ID, "knock-defer").is_displayed()
    assert not approve.is_displayed()
    select.select_by_value("approve")
    driver.find_element(By.CSS_SELECTOR, "form.decide textarea").send_keys(
        "Pilot evidence from the branch trial.")
    click_and_leave(driver, driver.find_element(By.CSS_SELECTOR, "form.decide button"))
    wait_for(driver, ".notice")
    driver.get(f"{server}/dashboard")
    wait_for(driver, "#ranking")
    below = [r.get_attribute("data-code") for r in driver.find_elements(
        By.CSS_SELECTOR, "#ranking tbody tr.below[data-code]")]
    assert "I20" in below and "I09" not in below and "I06" not in below
    sign_out(driver)
