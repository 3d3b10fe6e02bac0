"""The living demo in a real browser: every page shows data (issue 14, part 8): the home
page's pool card, the ledger, the scorecard, "you said, we did" and the signals inbox.

The server holds Harborview with its seeded history (governance/entrypoints/demo_history.py),
as the first `./ops/demo` does. Screenshots at 1280 px wide go to artifacts/screenshots/.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By

from governance.bootstrap import Runtime
from governance.entrypoints.cli import bundled_company
from governance.entrypoints.demo_history import DELIVERIES, apply_history
from tests.api.conftest import harborview_runtime
from tests.browser.conftest import csp_violations, off_localhost, requested_urls, screenshot
from tests.browser.test_dashboard import figure, sign_in, sign_out, wait_for


@pytest.fixture(scope="module")
def served_runtime() -> Iterator[Runtime]:
    """Harborview and its history, with the demo's persona picker (overrides conftest's)."""
    runtime = harborview_runtime()
    runtime.extras["history"] = apply_history(runtime.app, bundled_company())
    yield replace(runtime, settings=runtime.settings.model_copy(update={"demo_sign_in": True}))
    runtime.close()


def test_the_first_demo_shows_data_on_every_page(browser: webdriver.Chrome, server: str,
                                                 served_runtime: Runtime) -> None:
    driver = browser
    decision_point = served_runtime.extras["history"].decision_point
    assert driver.get_window_size()["width"] == 1280
    requested_urls(driver)
    sign_in(driver, server, "cx.chief")

    # home: the ledger's pool card and the ranking after the budget round and the review
    wait_for(driver, "#ranking")
    assert figure(driver, "pool") == "$120,000,000"
    # 118.8 M committed, less 5.1 M released (I21 descoped by 3 M, I02 stopped: 2.1 M unspent)
    assert figure(driver, "committed") == "$113,700,000"
    assert figure(driver, "available") == "$6,300,000"
    statuses = [r.find_element(By.CSS_SELECTOR, ".status").text for r in
                driver.find_elements(By.CSS_SELECTOR, "#ranking tbody tr[data-code]")]
    assert statuses.count("delivered") == len(DELIVERIES)
    assert statuses.count("approved") == 22 - len(DELIVERIES) - 1  # I02 stopped
    screenshot(driver, "demo-home-ledger")

    # the ledger page: committed, spent, released, by P&L
    driver.get(f"{server}/dashboard/ledger")
    wait_for(driver, "#ledger-figures")
    assert figure(driver, "committed") == "$113,700,000"
    assert figure(driver, "released") == "$5,100,000"
    assert figure(driver, "spent") not in ("$0", "\u2013")
    assert "I10" in driver.find_element(By.ID, "over-plan").text
    assert len(driver.find_elements(By.CSS_SELECTOR, "#by-pnl tbody tr")) >= 4
    screenshot(driver, "demo-ledger")

    # scorecard: eleven cards (the nine metrics, NPS and the employee metric STAFF), none
    # grey, each with a current value and a trend
    driver.get(f"{server}/dashboard/scorecard")
    wait_for(driver, "article.metric")
    cards = driver.find_elements(By.CSS_SELECTOR, "article.metric")
    assert len(cards) == 11
    assert driver.find_elements(By.CSS_SELECTOR, "article.metric .rag-grey") == []
    assert all(card.find_elements(By.CSS_SELECTOR, "svg") for card in cards)
    assert "Current" in cards[0].text and "\u2013" not in cards[0].find_element(
        By.XPATH, ".//dt[text()='Current']/following-sibling::dd").text
    screenshot(driver, "demo-scorecard")

    # you said, we did: a story per delivered metric, grouped by scenario
    driver.get(f"{server}/dashboard/you-said-we-did")
    wait_for(driver, "article.story")
    stories = driver.find_elements(By.CSS_SELECTOR, "article.story")
    assert len(stories) == 8
    m4 = driver.find_element(By.CSS_SELECTOR, 'article.story[data-metric="M4"]')
    assert "I25 Claims-to-payment end-to-end redesign" in m4.text
    assert "went from" in m4.text and "better for customers" in m4.text
    assert figure(driver, "now-M4") != "\u2013"
    screenshot(driver, "demo-you-said-we-did")

    # the signals inbox: open and acknowledged signals, and the loop's speed
    driver.get(f"{server}/dashboard/signals")
    wait_for(driver, "#mine")
    listed = {li.get_attribute("data-key"): li.find_element(By.CSS_SELECTOR, ".state").text
              for li in driver.find_elements(By.CSS_SELECTOR, "li.signal")}
    assert listed["benefit_at_risk:FY2027:I27:M9"] == "acknowledged"
    assert listed["benefit_at_risk:FY2027:I04:M2"] == "open"
    assert listed["spend_over_plan:FY2027:I10"] == "open"
    assert driver.find_elements(By.CSS_SELECTOR, "#loop-speed tbody tr td")[0].text == "FY2027"
    screenshot(driver, "demo-signals")

    # the review held: listed, closed, with its three items
    driver.get(f"{server}/dashboard/reviews")
    wait_for(driver, "#reviews")
    (held,) = driver.find_elements(By.CSS_SELECTOR, "#reviews li")
    assert "FY2027 autumn review" in held.text and "3 item(s)" in held.text
    assert held.text.endswith("closed")
    screenshot(driver, "demo-reviews")

    # as of the first decision point: nothing delivered yet
    driver.get(f"{server}/dashboard/you-said-we-did?as_of={decision_point}")
    wait_for(driver, "#nothing-delivered")
    sign_out(driver)

    assert off_localhost(requested_urls(driver)) == []
    assert csp_violations(driver) == []
