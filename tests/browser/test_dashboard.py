"""The dashboard in a real browser: submit, rank, approve with a justification, look back."""

from __future__ import annotations

from datetime import timedelta

from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.select import Select
from selenium.webdriver.support.ui import WebDriverWait

from governance.bootstrap import Runtime
from governance.identity import LINK_PURPOSE
from governance.stores.sessions import Claims, sessions_of
from tests.browser.conftest import csp_violations, off_localhost, requested_urls, screenshot

TITLE = "Branch queue text alerts"
JUSTIFICATION = "Regulator asked for branch wait-time relief this year."


def wait_for(driver: webdriver.Chrome, css: str) -> None:
    """Wait (bounded) until an element is on the page."""
    WebDriverWait(driver, 10).until(ec.presence_of_element_located((By.CSS_SELECTOR, css)))


def click_and_leave(driver: webdriver.Chrome, button: WebElement) -> None:
    """Click a form's button and wait until the browser has left the page.

    The old document's `window` is marked before the click; the next document's window has
    no mark. (`staleness_of` on the button can meet Chromium's "Node with given id does not
    belong to the document" while the document is being replaced, on a busy machine: an
    error in a poll here only means the navigation is under way, so the poll goes on.)"""
    driver.execute_script("window.__cxgovLeaving = true;")
    button.click()

    def left(d: webdriver.Chrome) -> bool:
        try:
            return d.execute_script("return window.__cxgovLeaving !== true "
                                    "&& document.readyState !== 'loading';") is True
        except WebDriverException:
            return False

    WebDriverWait(driver, 15).until(left)


def submit_and_wait(driver: webdriver.Chrome, css: str) -> None:
    """Click a form's button and wait until the browser has left the page (the sign-in page
    has a `main h1` too, so waiting for the next page's elements alone can pass too early and
    race the next navigation against the form's POST)."""
    click_and_leave(driver, driver.find_element(By.CSS_SELECTOR, css))


def sign_in(driver: webdriver.Chrome, base: str, persona: str) -> None:
    """Pick a demo persona on the sign-in page."""
    driver.get(f"{base}/dashboard/sign-in")
    submit_and_wait(driver, f'button[data-persona="{persona}"]')
    wait_for(driver, "main h1")


def sign_out(driver: webdriver.Chrome) -> None:
    """Sign out and wait for the sign-out to be answered."""
    submit_and_wait(driver, "form[action='/dashboard/sign-out'] button")


def figure(driver: webdriver.Chrome, name: str) -> str:
    """A labelled figure's text."""
    return driver.find_element(By.CSS_SELECTOR, f'[data-figure="{name}"]').text


def ranking(driver: webdriver.Chrome) -> list[tuple[str, str]]:
    """(code, status) of the ranking rows in order."""
    rows = driver.find_elements(By.CSS_SELECTOR, "#ranking tbody tr[data-code]")
    return [(r.get_attribute("data-code") or "", r.find_element(By.CSS_SELECTOR, ".status").text)
            for r in rows]


def above_cut_line(driver: webdriver.Chrome) -> list[str]:
    """Codes above the cut line."""
    return [r.get_attribute("data-code") or ""
            for r in driver.find_elements(By.CSS_SELECTOR, "#ranking tbody tr.above")]


def fill_submission(driver: webdriver.Chrome) -> None:
    """A modest RB initiative that ranks below the cut line."""
    driver.find_element(By.ID, "title").send_keys(TITLE)
    driver.find_element(By.ID, "problem").send_keys("Customers queue without knowing how long")
    Select(driver.find_element(By.ID, "scenario")).select_by_value("S1")
    driver.find_element(By.ID, "touchpoints").send_keys("Branch, Mobile")
    driver.find_element(By.ID, "functional_areas").send_keys("Branch ops")
    driver.find_element(By.ID, "cost").send_keys("5000000")
    Select(driver.find_element(By.ID, "confidence")).select_by_value("0.5")
    Select(driver.find_element(By.ID, "impact_metric_0")).select_by_value("M1")
    driver.find_element(By.ID, "impact_value_0").send_keys("110")
    driver.find_element(By.ID, "impact_reach_0").send_keys("0.2")


def test_an_owner_submits_an_executive_approves_and_an_auditor_sees_the_earlier_ranking(
        browser: webdriver.Chrome, server: str) -> None:
    driver, urls = browser, []
    requested_urls(driver)

    # the P&L owner: a bad cost is refused next to its field, the preview scores, submit
    sign_in(driver, server, "rb.owner")
    driver.get(f"{server}/dashboard/desk")
    fill_submission(driver)
    cost = driver.find_element(By.ID, "cost")
    cost.clear()
    cost.send_keys("five million")
    click_and_leave(driver, driver.find_element(By.ID, "preview-button"))
    wait_for(driver, '.field-error[data-field="cost"]')
    assert driver.find_element(By.ID, "cost").get_attribute("aria-invalid") == "true"
    cost = driver.find_element(By.ID, "cost")
    cost.clear()
    cost.send_keys("5000000")
    click_and_leave(driver, driver.find_element(By.ID, "preview-button"))
    wait_for(driver, "#preview")
    assert figure(driver, "preview-score") == "0.03"
    assert figure(driver, "preview-rank") == "28"
    screenshot(driver, "desk")
    click_and_leave(driver, driver.find_element(By.ID, "submit-button"))
    wait_for(driver, "#breakdown")
    assert figure(driver, "cip") == "0.1354"
    assert driver.find_element(By.ID, "status").text == "submitted"
    screenshot(driver, "initiative")
    urls += requested_urls(driver)

    # the CX executive: the submission is ranked below the cut line, approve it with reasons
    sign_out(driver)
    sign_in(driver, server, "cx.chief")
    wait_for(driver, "#ranking")
    before = ranking(driver)
    cut_before = above_cut_line(driver)
    assert ("I31", "submitted") in before and "I31" not in cut_before
    assert len(cut_before) == 22
    assert figure(driver, "available") == "$120,000,000"
    newest = driver.find_element(By.ID, "as_of").get_attribute("placeholder")
    assert newest == "now"
    position_before = int(driver.find_element(By.ID, "as_of").get_attribute("data-newest") or -1)
    screenshot(driver, "home")
    row = driver.find_element(By.CSS_SELECTOR, '#ranking tr[data-code="I31"]')
    justification = row.find_element(By.CSS_SELECTOR, "textarea[name=rationale]")
    assert justification.is_displayed()  # approving a not-recommended item departs
    Select(row.find_element(By.CSS_SELECTOR, "select[name=outcome]")).select_by_value("defer")
    assert not justification.is_displayed()  # deferring it does not
    Select(row.find_element(By.CSS_SELECTOR, "select[name=outcome]")).select_by_value("approve")
    justification.send_keys(JUSTIFICATION)
    click_and_leave(driver, row.find_element(By.CSS_SELECTOR, "button[type=submit]"))
    wait_for(driver, "#departures")
    after = ranking(driver)
    assert ("I31", "approved") in after
    assert figure(driver, "committed") == "$5,000,000"
    assert figure(driver, "available") == "$115,000,000"
    assert above_cut_line(driver) != cut_before
    assert JUSTIFICATION in driver.find_element(By.ID, "departures").text
    screenshot(driver, "home-after-approval")
    urls += requested_urls(driver)

    # the auditor: the as-of control shows the ranking as it was before the approval
    sign_out(driver)
    sign_in(driver, server, "auditor")
    driver.get(f"{server}/dashboard/audit")
    wait_for(driver, "#timeline")
    assert "Initiative.Approved" in driver.find_element(By.ID, "timeline").text
    assert "in-memory store" in driver.find_element(By.ID, "verify-status").text.lower()
    screenshot(driver, "audit")
    driver.get(f"{server}/dashboard")
    assert ranking(driver) == after
    as_of = driver.find_element(By.ID, "as_of")
    as_of.send_keys(str(position_before))
    as_of.submit()
    wait_for(driver, "#history-banner")
    assert driver.find_element(By.CSS_SELECTOR, "[data-testid=as-of-position]").text == str(
        position_before)
    assert ranking(driver) == before
    assert above_cut_line(driver) == cut_before
    assert figure(driver, "available") == "$120,000,000"
    screenshot(driver, "home-as-of-before-approval")
    driver.get(f"{server}/dashboard/scorecard")
    wait_for(driver, ".metric")
    assert len(driver.find_elements(By.CSS_SELECTOR, "article.metric")) == 9
    screenshot(driver, "scorecard")
    sign_out(driver)
    wait_for(driver, "button[data-persona]")
    screenshot(driver, "sign-in")
    urls += requested_urls(driver)

    assert urls and off_localhost(urls) == []
    assert csp_violations(driver) == []


def test_a_one_time_link_signs_in_once_and_sign_out_ends_the_session(
        browser: webdriver.Chrome, server: str, served_runtime: Runtime) -> None:
    claims = Claims("rita", "Rita from RB", ("pnl_owner",), ("RB",), "cxgov")
    code = sessions_of(served_runtime).issue(LINK_PURPOSE, claims.to_dict(),
                                             ttl=timedelta(minutes=10))
    browser.get(f"{server}/dashboard/sign-in/{code}")
    submit_and_wait(browser, "#use-link")
    wait_for(browser, "main h1")
    assert "Rita from RB" in browser.find_element(By.CSS_SELECTOR, ".user").text
    sign_out(browser)
    browser.get(f"{server}/dashboard")
    wait_for(browser, "#token")  # back on the sign-in page
    browser.get(f"{server}/dashboard/sign-in/{code}")
    submit_and_wait(browser, "#use-link")
    wait_for(browser, "p.error")
    assert "already used" in browser.find_element(By.CSS_SELECTOR, "p.error").text
    assert csp_violations(browser) == []


def test_the_api_docs_render_from_this_server_under_its_csp(browser: webdriver.Chrome,
                                                            server: str) -> None:
    requested_urls(browser)
    csp_violations(browser)
    browser.get(f"{server}/docs")
    WebDriverWait(browser, 15).until(ec.text_to_be_present_in_element(
        (By.CSS_SELECTOR, ".swagger-ui .info .title"), "cxgov API"))
    assert browser.find_elements(By.CSS_SELECTOR, ".opblock")  # the operations are listed
    screenshot(browser, "docs")
    assert off_localhost(requested_urls(browser)) == []
    assert csp_violations(browser) == []


def test_the_dashboard_fits_a_narrow_screen_without_sideways_scrolling(
        browser: webdriver.Chrome, server: str) -> None:
    sign_in(browser, server, "cx.deputy")
    browser.set_window_size(390, 800)
    try:
        for path in ("/dashboard", "/dashboard/scorecard", "/dashboard/desk"):
            browser.get(server + path)
            wait_for(browser, "main h1")
            overflow = browser.execute_script(
                "return document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 1, f"{path} scrolls sideways by {overflow}px"
        screenshot(browser, "desk-narrow")
    finally:
        browser.set_window_size(1280, 800)
    assert off_localhost(requested_urls(browser)) == []


def test_every_form_field_has_a_label(browser: webdriver.Chrome, server: str) -> None:
    sign_in(browser, server, "rb.owner")
    browser.get(f"{server}/dashboard/desk")
    wait_for(browser, "#submission")
    unlabelled = browser.execute_script(
        "return [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]"
        ".filter(e => !e.labels || e.labels.length === 0).map(e => e.name)")
    assert unlabelled == []
