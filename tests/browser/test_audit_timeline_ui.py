"""The auditor's timeline in a real browser (issue 17, decisions 250-254): the older link pages
it, the filter form narrows it (all in the URL), the date-and-time picker shows the record as of
the position that time resolves to; axe 0 serious or critical violations at 1280 and 390 px,
and the page's screenshots at both widths (artifacts/screenshots/audit-timeline-*.png)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from governance.bootstrap import Runtime
from tests.browser.conftest import off_localhost, requested_urls, screenshot
from tests.browser.test_accessibility_ui import describe, serious_violations
from tests.browser.test_dashboard import click_and_leave, sign_in, sign_out, wait_for
from tests.builders import CX_CHIEF

PERIOD = "FY2027"


def positions(driver: webdriver.Chrome) -> list[int]:
    return [int(li.get_attribute("data-position") or "0")
            for li in driver.find_elements(By.CSS_SELECTOR, "#timeline li[data-position]")]


def test_the_auditor_pages_filters_and_picks_a_time(browser: webdriver.Chrome, server: str,
                                                    served_runtime: Runtime) -> None:
    driver, problems = browser, []
    events = served_runtime.read_models().audit_events(limit=1_000_000)
    requested_urls(driver)  # drains what the browser fetched before this test
    sign_in(driver, server, "auditor")
    driver.get(f"{server}/dashboard/audit?show=all")
    wait_for(driver, "#timeline")
    first = positions(driver)
    assert first == [e.position for e in reversed(events)][:50]
    click_and_leave(driver, driver.find_element(By.CSS_SELECTOR, 'a[data-page="older"]'))
    assert positions(driver) == [e.position for e in reversed(events)][50:100]

    # the filter form: every event of the Initiative family by rb.owner
    Select(driver.find_element(By.ID, "f-family")).select_by_visible_text("Initiative")
    driver.find_element(By.ID, "f-actor").send_keys("rb.owner")
    click_and_leave(driver, driver.find_element(By.CSS_SELECTOR, "#timeline-filters button"))
    query = parse_qs(urlsplit(driver.current_url).query)
    assert query["family"] == ["Initiative"] and query["actor"] == ["rb.owner"]
    assert "before" not in query  # a new filter starts at the newest page
    mine = [e.position for e in reversed(events)
            if ".Initiative." in e.topic and e.actor == "cxgov|rb.owner"]
    assert mine and positions(driver) == mine[:50]
    for width in (1280, 390):
        driver.set_window_size(width, 844)
        problems += describe(f"audit filtered at {width}", serious_violations(driver))
        driver.execute_script("document.getElementById('tl-h').scrollIntoView();")
        screenshot(driver, f"audit-timeline-filtered-{width}")

    # the picker: a date and time (UTC) shows the record as of the position it resolves to.
    # The picker has whole seconds: the time is the second after the log's newest event, and
    # a decision comes after it (so the time resolves to a position short of the newest).
    newest = datetime.fromisoformat(events[-1].at).astimezone(UTC)
    picked = (newest.replace(microsecond=0) + timedelta(seconds=1)).replace(tzinfo=None)
    while datetime.now(UTC).replace(tzinfo=None) <= picked:
        time.sleep(0.05)
    top = served_runtime.app.assess(PERIOD).entries[0].code
    served_runtime.app.decide(CX_CHIEF, outcome="defer", rationale="After the picked time.",
                              initiative_id=served_runtime.app.initiative_id(PERIOD, top))
    resolved = served_runtime.read_models().resolve(picked.isoformat())
    assert resolved == events[-1].position  # the decision came after the time picked
    driver.set_window_size(1280, 800)
    driver.get(f"{server}/dashboard/audit?show=all")
    wait_for(driver, "#as_of_time")
    picker = driver.find_element(By.ID, "as_of_time")
    assert picker.get_attribute("type") == "datetime-local"
    driver.execute_script("arguments[0].value = arguments[1];", picker, picked.isoformat())
    click_and_leave(driver, driver.find_element(By.CSS_SELECTOR, 'button[form="asof-time"]'))
    sent = parse_qs(urlsplit(driver.current_url).query)["as_of"]
    assert [datetime.fromisoformat(t) for t in sent] == [picked]  # 06:09, or 06:09:05
    banner = driver.find_element(By.CSS_SELECTOR, '[data-testid="as-of-position"]').text
    assert banner == str(resolved) and max(positions(driver)) == resolved
    shown = driver.find_element(By.ID, "as_of_time").get_attribute("value") or ""
    assert datetime.fromisoformat(shown) == picked
    for width in (1280, 390):
        driver.set_window_size(width, 844)
        problems += describe(f"audit as of a time at {width}", serious_violations(driver))
        screenshot(driver, f"audit-timeline-{width}")
    driver.set_window_size(1280, 800)
    sign_out(driver)
    assert off_localhost(requested_urls(driver)) == []
    assert problems == []
