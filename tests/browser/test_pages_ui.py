"""Issue 17, what the pages say: the cut line's label is true, errors on dashboard addresses are
HTML pages (an unknown period named), and the desk tells a non-owner up front."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from selenium import webdriver
from selenium.webdriver.common.by import By

from governance.bootstrap import Runtime
from governance.principal import CX_EXEC, Principal
from tests.browser.conftest import document_responses, screenshot
from tests.browser.test_dashboard import sign_in, sign_out, wait_for

PERIOD = "FY2027"


def test_the_cut_line_label_is_true_when_initiatives_above_it_are_skipped(
        browser: webdriver.Chrome, server: str, served_runtime: Runtime) -> None:
    # three approvals below the line (justified): the greedy walk now skips I18, I20 and I23,
    # ranked above the lowest initiative it funds
    gov = served_runtime.app
    chief = Principal("setup.exec", frozenset({CX_EXEC}))
    for code in ("I03", "I09", "I14"):
        gov.decide(chief, initiative_id=gov.initiative_id(PERIOD, code), outcome="approve",
                   rationale="funded against the recommendation for the test")
    driver = browser
    sign_in(driver, server, "cx.deputy")
    driver.get(f"{server}/dashboard")
    wait_for(driver, "#cut-line")
    above: list[dict[str, str]] = driver.execute_script(
        "const out = []; for (const tr of document.querySelectorAll('#ranking tbody tr')) {"
        "  if (tr.id === 'cut-line') return out;"
        "  out.push({code: tr.dataset.code, cls: tr.className,"
        "            status: tr.querySelector('.status').textContent,"
        "            tag: tr.querySelector('.tag') ? tr.querySelector('.tag').textContent : ''});"
        "} return out;")
    skipped = [r["code"] for r in above
               if "funded" not in r["cls"] and r["tag"] != "recommended"
               and r["status"] != "approved"]
    assert skipped == ["I18", "I20", "I23"], above
    line = driver.find_element(By.ID, "cut-line")
    label = line.text
    assert "everything above it is funded or recommended" not in label
    assert "above it is funded or recommended" not in label
    assert line.get_attribute("data-skipped") == "3"
    assert "3 are not recommended" in label and all(code in label for code in skipped), label
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", line)
    screenshot(driver, "home-cut-line-skipped")
    sign_out(driver)


def problem_of(url: str) -> tuple[int, str, dict[str, str]]:
    """(status, content type, body) of an API answer (no browser: the API's own clients)."""
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return answer.status, answer.headers["content-type"], json.load(answer)
    except urllib.error.HTTPError as refused:
        return refused.code, refused.headers["content-type"], json.load(refused)


def test_dashboard_errors_are_pages_and_an_unknown_period_is_named(
        browser: webdriver.Chrome, server: str) -> None:
    driver = browser
    sign_in(driver, server, "auditor")
    document_responses(driver)
    cases = [("/dashboard/no-such-page", 404, "There is no dashboard page at"),
             ("/dashboard/initiatives/not-an-id", 422, "initiative_id"),
             ("/dashboard/audit?show=everything", 422, "show"),
             ("/dashboard?period=FY1999", 404, "There is no period FY1999"),
             ("/dashboard/scorecard?period=FY1999", 404, "There is no period FY1999")]
    for path, status, says in cases:
        driver.get(server + path)
        wait_for(driver, "#error-what")
        pages = document_responses(driver)
        assert [(s, m) for _, s, m in pages] == [(status, "text/html")], (path, pages)
        assert says in driver.find_element(By.ID, "error-what").text, path
        assert driver.find_element(By.CSS_SELECTOR, "nav[aria-label=Dashboard]").is_displayed()
        name = path.strip("/").replace("/", "-").replace("?", "-").replace("=", "-")
        screenshot(driver, f"error-{name}")
    # the unknown period's page links the periods on record
    driver.get(f"{server}/dashboard?period=FY1999")
    wait_for(driver, "#error-choices")
    assert PERIOD in driver.find_element(By.ID, "error-choices").text
    sign_out(driver)
    # API routes keep problem+json
    status, kind, body = problem_of(f"{server}/v1/no-such-route")
    assert (status, kind, body["code"]) == (404, "application/problem+json", "route.not_found")


def test_the_desk_tells_a_non_owner_up_front_without_a_form(browser: webdriver.Chrome,
                                                            server: str) -> None:
    driver = browser
    sign_in(driver, server, "auditor")
    driver.get(f"{server}/dashboard/desk")
    wait_for(driver, "main h1")
    note = driver.find_element(By.ID, "desk-not-owner")
    assert note.is_displayed() and "for P&L owners" in note.text
    assert driver.find_elements(By.ID, "submission") == []
    assert driver.find_elements(By.CSS_SELECTOR, "main input, main select, main textarea") == []
    screenshot(driver, "desk-not-owner")
    sign_out(driver)
    sign_in(driver, server, "rb.owner")  # an owner still gets the form
    driver.get(f"{server}/dashboard/desk")
    wait_for(driver, "#submission")
    assert driver.find_elements(By.ID, "desk-not-owner") == []
    sign_out(driver)
