"""Downloads from every page in a real browser (issue 17): on the ledger, the signals inbox,
the audit timeline, the plans, fair shares and the home page's decided list, the CSV and JSON
links download a file named for the page's period and position, and what it holds is what the
page shows, live and as of a past position. axe-core on each of these pages at 1280 and 390 px.

The server holds Harborview with the demo's seeded history (spend, releases, signals answered
and open, decisions) and two saved plans, so every page has rows to compare."""

from __future__ import annotations

import csv
import io
import json
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from governance.bootstrap import Runtime
from governance.entrypoints.cli import bundled_company
from governance.entrypoints.demo_history import apply_history
from tests.api.conftest import harborview_runtime
from tests.browser.conftest import off_localhost, requested_urls, screenshot
from tests.browser.test_accessibility_ui import WIDTHS, describe, serious_violations
from tests.browser.test_dashboard import click_and_leave, sign_in, sign_out, wait_for
from tests.builders import CX_CHIEF, M

PERIOD = "FY2027"


@pytest.fixture(scope="module")
def served_runtime() -> Iterator[Runtime]:
    """Harborview, its demo history and two saved plans, with the persona picker."""
    runtime = harborview_runtime()
    runtime.extras["history"] = apply_history(runtime.app, bundled_company())
    runtime.app.save_plan(CX_CHIEF, period=PERIOD, name="Lean", budget=115 * M)
    runtime.app.save_plan(CX_CHIEF, period=PERIOD, name="Full", budget=120 * M)
    yield replace(runtime, settings=runtime.settings.model_copy(update={"demo_sign_in": True}))
    runtime.close()


@pytest.fixture
def downloads(browser: webdriver.Chrome) -> Iterator[Path]:
    """A folder the browser saves downloads to without asking."""
    folder = Path(tempfile.mkdtemp(prefix="cxgov-downloads-"))
    browser.execute_cdp_cmd("Browser.setDownloadBehavior", {
        "behavior": "allow", "downloadPath": str(folder)})
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def shown_position(driver: webdriver.Chrome) -> int:
    """The position the page shows: the history banner's, else the newest (the live page)."""
    banner = driver.find_elements(By.CSS_SELECTOR, "[data-testid=as-of-position]")
    if banner:
        return int(banner[0].text)
    return int(driver.find_element(By.ID, "as_of").get_attribute("data-newest") or "-1")


def fetch(driver: webdriver.Chrome, folder: Path, name: str, fmt: str) -> Path:
    """Click the page's `name` download link and wait until the browser has saved the file
    named for the page's period and position (Chromium renames it from .crdownload when done)."""
    target = folder / f"{name}-{PERIOD}-at-{shown_position(driver)}.{fmt}"
    driver.find_element(By.ID, f"export-{name}-{fmt}").click()
    WebDriverWait(driver, 60).until(lambda _: target.exists(),
                                    f"no download {target.name} in {sorted(folder.iterdir())}")
    return target


def both(driver: webdriver.Chrome, folder: Path, name: str) -> tuple[list[dict[str, str]],
                                                                     dict[str, Any]]:
    """The page's CSV rows and JSON body, downloaded with its links; the JSON's position is
    the page's."""
    rows = list(csv.DictReader(io.StringIO(fetch(driver, folder, name, "csv").read_text(
        encoding="utf-8"))))
    body = json.loads(fetch(driver, folder, name, "json").read_text(encoding="utf-8"))
    assert body["position"] == shown_position(driver) and body["period"] == PERIOD
    return rows, body


def amount(text: str) -> Decimal:
    """A page's money figure ($1,234,567) as a decimal."""
    return Decimal(text.replace("$", "").replace(",", ""))


def table(driver: webdriver.Chrome, css: str) -> list[list[str]]:
    """The text of each body row's cells (its heading cell first)."""
    return [[c.text for c in r.find_elements(By.CSS_SELECTOR, "th, td")]
            for r in driver.find_elements(By.CSS_SELECTOR, f"{css} tbody tr")]


def open_page(driver: webdriver.Chrome, url: str, css: str) -> None:
    driver.get(url)
    wait_for(driver, css)


def test_every_page_downloads_what_it_shows_live_and_as_of_a_position(
        browser: webdriver.Chrome, server: str, served_runtime: Runtime,
        downloads: Path) -> None:
    driver = browser
    requested_urls(driver)
    point = served_runtime.extras["history"].last_position  # before the plans were saved
    sign_in(driver, server, "cx.chief")

    # the ledger, live and at the end of the history: every breakdown, function included
    for query in ("", f"&as_of={point}"):
        open_page(driver, f"{server}/dashboard/ledger?period={PERIOD}{query}", "#export-ledger")
        rows, body = both(driver, downloads, "ledger")
        for name in ("pnl", "kind", "touchpoint", "function"):
            shown = {r[0]: amount(r[1]) for r in table(driver, f"#by-{name}")}
            got = {r["key"]: Decimal(r["committed"]) for r in rows if r["table"] == name}
            assert got == shown and shown, name
        assert amount(driver.find_element(By.CSS_SELECTOR, "[data-figure=spent]").text) == \
            Decimal(body["figures"]["spent"])
    screenshot(driver, "export-ledger-as-of")

    # the signals inbox (every signal), in the page's order
    open_page(driver, f"{server}/dashboard/signals?period={PERIOD}&show=all", "#export-signals")
    rows, body = both(driver, downloads, "signals")
    keys = [li.get_attribute("data-key") for li in
            driver.find_elements(By.CSS_SELECTOR, "ul.signals li[data-key]")]
    assert keys and [r["key"] for r in rows] == keys == [s["key"] for s in body["signals"]]

    # fair shares: each plan's P&L rows
    open_page(driver, f"{server}/dashboard/fair-shares?period={PERIOD}", "#export-fair-shares")
    rows, body = both(driver, downloads, "fair-shares")
    for plan in body["fair_shares"]["plans"]:
        pnls = [r[0] for r in table(driver, f"#fair-{plan['rule']}")]
        assert [r["pnl"] for r in rows if r["rule"] == plan["rule"]] == pnls and pnls

    # the plans compared
    open_page(driver, f"{server}/dashboard/plans?period={PERIOD}&name=Lean&name=Full",
              "#export-plans")
    rows, body = both(driver, downloads, "plans")
    assert [r["plan"] for r in rows if r["section"] == "plan"] == ["Lean", "Full"]
    costs = [c.text for c in driver.find_elements(By.CSS_SELECTOR, "[data-figure=cost]")]
    assert [f"${Decimal(r['cost']) / M:,.1f}M" for r in rows if r["section"] == "plan"] == costs

    # the decided list on the home page
    open_page(driver, f"{server}/dashboard?period={PERIOD}", "#export-decided")
    rows, body = both(driver, downloads, "decided")
    shown_codes = [r.get_attribute("data-code") for r in
                   driver.find_elements(By.CSS_SELECTOR, "#decided-list tbody tr")]
    assert shown_codes and [r["code"] for r in rows] == shown_codes
    sign_out(driver)

    # the audit timeline, as an auditor, as of the end of the history
    sign_in(driver, server, "auditor")
    open_page(driver, f"{server}/dashboard/audit?as_of={point}", "#export-audit")
    rows, body = both(driver, downloads, "audit")
    positions = sorted(int(li.get_attribute("data-position") or "0") for li in
                       driver.find_elements(By.CSS_SELECTOR, "#timeline li[data-position]"))
    assert positions and [int(r["position"]) for r in rows] == positions
    assert max(positions) <= point
    sign_out(driver)
    assert off_localhost(requested_urls(driver)) == []


def test_a_filtered_audit_timeline_downloads_its_view_every_page_of_it(
        browser: webdriver.Chrome, server: str, served_runtime: Runtime,
        downloads: Path) -> None:
    """Decision 260: the auditor filters the timeline with the form, and the download links
    then hold that view (every page of it), not the whole timeline of the kind."""
    driver = browser
    events = served_runtime.read_models().audit_events(limit=1_000_000)
    sign_in(driver, server, "auditor")
    open_page(driver, f"{server}/dashboard/audit?show=all", "#timeline-filters")
    Select(driver.find_element(By.ID, "f-family")).select_by_visible_text("Initiative")
    driver.find_element(By.ID, "f-actor").send_keys("rb.owner")
    click_and_leave(driver, driver.find_element(By.CSS_SELECTOR, "#timeline-filters button"))
    wait_for(driver, "#export-audit")
    rows, body = both(driver, downloads, "audit")
    mine = [e.position for e in events
            if ".Initiative." in e.topic and e.actor == "cxgov|rb.owner"]
    assert mine and len(mine) < len(events)
    assert [int(r["position"]) for r in rows] == mine  # the view, oldest first
    assert [e["position"] for e in body["events"]] == mine
    assert body["filters"] == {"show": "all", "family": "Initiative", "actor": "rb.owner"}
    shown = sorted(int(li.get_attribute("data-position") or "0") for li in
                   driver.find_elements(By.CSS_SELECTOR, "#timeline li[data-position]"))
    assert set(shown) <= set(mine)  # the page shows (a page of) the same view
    said = driver.find_element(By.ID, "export-audit").text
    assert said.startswith("Download this timeline (every event, record Initiative, by "
                           "rb.owner"), said
    sign_out(driver)


@pytest.mark.parametrize("width", WIDTHS)
def test_axe_finds_no_serious_violation_on_the_pages_with_downloads(
        browser: webdriver.Chrome, server: str, served_runtime: Runtime, width: int) -> None:
    driver, problems = browser, []
    point = served_runtime.extras["history"].last_position
    pages = {"cx.chief": ("/dashboard/ledger", f"/dashboard/ledger?as_of={point}",
                          "/dashboard/signals?show=all", "/dashboard/fair-shares",
                          "/dashboard/plans", "/dashboard"),
             "auditor": ("/dashboard/audit", f"/dashboard/audit?as_of={point}&show=all")}
    driver.set_window_size(width, 844)
    try:
        for persona, paths in pages.items():
            sign_in(driver, server, persona)
            for path in paths:
                open_page(driver, server + path, "main h1")
                assert driver.find_elements(By.CSS_SELECTOR, "p.export"), path
                problems += describe(f"{persona} {path} @{width}px", serious_violations(driver))
            sign_out(driver)
    finally:
        driver.set_window_size(1280, 800)
    assert problems == [], "\n".join(problems)
