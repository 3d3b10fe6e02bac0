"""Issue 17 in a real browser: the ranking's view (sort, filter, search in the URL) and the
decided list; the phone layout (cards with the decision controls in view at 390 px); axe-core
on every dashboard page at 1280 and 390 px (0 serious or critical violations); a decision made
with the keyboard alone.

axe-core 4.11.1 is vendored (`tests/browser/axe/`, unchanged from the npm package): it is read
from the file and injected into the page, so nothing is fetched at run time."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser.conftest import off_localhost, requested_urls, screenshot
from tests.browser.test_dashboard import click_and_leave, sign_in, sign_out, wait_for

AXE = Path(__file__).parent / "axe" / "axe.min.js"  # axe-core 4.11.1
SERIOUS = ("serious", "critical")
WIDTHS = (1280, 390)
# every dashboard page the browser tests visit, by who visits it ({id}: an initiative)
PAGES: dict[str, tuple[str, ...]] = {
    "": ("/dashboard/sign-in",),
    "cx.chief": ("/dashboard", "/dashboard?pnl=RB&sort=cost", "/dashboard?status=rejected",
                 "/dashboard/initiatives/{id}", "/dashboard/scorecard", "/dashboard/ledger",
                 "/dashboard/you-said-we-did", "/dashboard/signals", "/dashboard/reviews",
                 "/dashboard/fair-shares", "/dashboard/plans", "/dashboard/departments",
                 "/dashboard/jobs", "/dashboard/audit", "/dashboard/desk",
                 "/dashboard/policy", "/dashboard/round", "/dashboard/drivers",
                 "/dashboard/what-if", "/dashboard/what-if?budget=%24130M",
                 "/dashboard?as_of=5", "/dashboard/no-such-page", "/dashboard?period=FY1999"),
    "rb.owner": ("/dashboard", "/dashboard/desk", "/dashboard/initiatives/{id}"),
    "auditor": ("/dashboard/audit", "/dashboard?as_of=5", "/dashboard/desk"),
}


@pytest.fixture
def phone(browser: webdriver.Chrome) -> Iterator[webdriver.Chrome]:
    """The browser at a 390 px wide phone viewport, back to 1280 px afterwards."""
    browser.set_window_size(390, 844)
    yield browser
    browser.set_window_size(1280, 800)


def serious_violations(driver: webdriver.Chrome) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page shown."""
    driver.set_script_timeout(120)
    driver.execute_script(AXE.read_text(encoding="utf-8"))
    found: list[dict[str, Any]] = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {resultTypes: ['violations']})"
        ".then(r => done(r.violations), e => done([{id: 'axe-error', impact: 'critical',"
        " help: String(e), nodes: []}]));")
    return [v for v in found if v.get("impact") in SERIOUS]


def shot_name(persona: str, path: str, width: int) -> str:
    """`page-<persona>-<path as a slug>-<width>`, e.g. page-cx.chief-dashboard-ledger-390."""
    slug = re.sub(r"[^A-Za-z0-9.]+", "-", path.replace("{id}", "initiative")).strip("-")
    return f"page-{persona or 'signed-out'}-{slug}-{width}"


def describe(where: str, violations: list[dict[str, Any]]) -> list[str]:
    """One line per violation: the page, the rule, what it asks and the first elements."""
    return [f"{where}: {v['id']} ({v['impact']}): {v.get('help', '')} at "
            + "; ".join(str(n.get("target")) for n in v.get("nodes", [])[:3])
            for v in violations]


def enter_and_leave(driver: webdriver.Chrome) -> None:
    """Press Enter on the focused control and wait until the browser has left the page (as
    `click_and_leave` does for a click)."""
    driver.execute_script("window.__cxgovLeaving = true;")
    ActionChains(driver).send_keys(Keys.ENTER).perform()

    def left(d: webdriver.Chrome) -> bool:
        try:
            return d.execute_script("return window.__cxgovLeaving !== true "
                                    "&& document.readyState !== 'loading';") is True
        except WebDriverException:
            return False

    WebDriverWait(driver, 15).until(left)


def first_initiative(driver: webdriver.Chrome, server: str) -> str:
    """The id of the first initiative the signed-in reader can open from the ranking."""
    driver.get(f"{server}/dashboard")
    wait_for(driver, "main h1")
    link = driver.find_element(By.CSS_SELECTOR, "#ranking td a[href*='/initiatives/']")
    return (link.get_attribute("href") or "").split("/initiatives/")[1].split("?")[0]


@pytest.mark.parametrize("width", WIDTHS)
def test_axe_finds_no_serious_violation_on_any_page(browser: webdriver.Chrome, server: str,
                                                    width: int) -> None:
    driver, problems = browser, []
    requested_urls(driver)
    driver.set_window_size(width, 844)
    try:
        for persona, paths in PAGES.items():
            if persona:
                sign_in(driver, server, persona)
                some = first_initiative(driver, server)
            for path in paths:
                driver.get(server + path.replace("{id}", some if persona else ""))
                wait_for(driver, "main h1")
                problems += describe(f"{persona or 'signed out'} {path} @{width}px",
                                     serious_violations(driver))
                screenshot(driver, shot_name(persona, path, width))  # every page, both widths
            if persona:
                sign_out(driver)
    finally:
        driver.set_window_size(1280, 800)
    assert problems == [], "\n".join(problems)
    assert off_localhost(requested_urls(driver)) == []


def test_the_ranking_view_is_in_the_url_and_the_decided_list_follows_it(
        browser: webdriver.Chrome, server: str) -> None:
    driver = browser
    sign_in(driver, server, "cx.chief")
    driver.get(f"{server}/dashboard")
    wait_for(driver, "#ranking-view")
    whole = len(driver.find_elements(By.CSS_SELECTOR, "#ranking tbody tr[data-code]"))
    driver.find_element(By.ID, "view-q").send_keys("queue")
    driver.find_element(By.CSS_SELECTOR, "#view-sort option[value='cost']").click()
    click_and_leave(driver, driver.find_element(By.ID, "view-apply"))
    wait_for(driver, "#ranking")
    query = parse_qs(urlsplit(driver.current_url).query)
    assert query["q"] == ["queue"] and query["sort"] == ["cost"]
    shown = driver.find_elements(By.CSS_SELECTOR, "#ranking tbody tr[data-code]")
    assert 0 < len(shown) < whole
    assert all("queue" in r.text.lower() for r in shown)
    assert driver.find_elements(By.ID, "cut-line") == []
    assert "sorted by Cost" in driver.find_element(By.ID, "view-summary").text
    # the shared address opens the same view in a fresh load; a heading link keeps the filter
    shared = driver.current_url
    driver.get(shared)
    wait_for(driver, "#ranking")
    assert len(driver.find_elements(By.CSS_SELECTOR, "#ranking tbody tr[data-code]")) == len(
        shown)
    score = driver.find_element(By.CSS_SELECTOR, "#ranking thead a[href*='sort=score']")
    assert "q=queue" in (score.get_attribute("href") or "")
    click_and_leave(driver, driver.find_element(By.ID, "view-clear"))
    wait_for(driver, "#cut-line")
    assert len(driver.find_elements(By.CSS_SELECTOR, "#ranking tbody tr[data-code]")) == whole
    assert driver.find_element(By.ID, "decided-h").is_displayed()
    screenshot(driver, "home-ranking-view")
    sign_out(driver)


def test_at_390px_the_ranking_is_cards_with_the_decision_controls_in_view(
        phone: webdriver.Chrome, server: str) -> None:
    driver = phone
    sign_in(driver, server, "cx.chief")
    driver.get(f"{server}/dashboard")
    wait_for(driver, "#ranking")
    layout = driver.execute_script(
        "const table = document.getElementById('ranking');"
        "const wrap = table.parentElement;"
        "const rows = [...table.querySelectorAll('tbody tr[data-code]')];"
        "const buttons = rows.map(r => r.querySelector('form.decide button'))"
        "  .filter(b => b !== null);"
        "return {width: document.documentElement.clientWidth,"
        "  scroll: document.documentElement.scrollWidth,"
        "  wrapScroll: wrap.scrollWidth, wrapWidth: wrap.clientWidth,"
        "  rowDisplay: getComputedStyle(rows[0]).display,"
        "  headVisible: table.tHead.getBoundingClientRect().height > 1,"
        "  buttons: buttons.length, rows: rows.length,"
        "  offscreen: buttons.filter(b => { const r = b.getBoundingClientRect();"
        "    return r.width === 0 || r.left < 0 || r.right > document.documentElement.clientWidth;"
        "  }).length,"
        "  selects: rows.map(r => r.querySelector('form.decide select')).filter(s => s)"
        "    .filter(s => s.getBoundingClientRect().right > document.documentElement.clientWidth)"
        "    .length};")
    assert layout["width"] <= 390
    assert layout["scroll"] <= layout["width"], layout  # nothing scrolls sideways
    assert layout["wrapScroll"] <= layout["wrapWidth"], layout
    assert layout["rowDisplay"] == "block" and not layout["headVisible"], layout
    assert layout["buttons"] == layout["rows"] > 0, layout  # every undecided card decides
    assert layout["offscreen"] == 0 and layout["selects"] == 0, layout
    label = driver.find_element(By.CSS_SELECTOR, "#ranking tbody tr[data-code] td.num")
    assert driver.execute_script(
        "return getComputedStyle(arguments[0], '::before').content;", label) == '"Cost"'
    screenshot(driver, "home-phone-cards")
    sign_out(driver)


def test_a_decision_made_with_the_keyboard_alone(browser: webdriver.Chrome,
                                                 server: str) -> None:
    """Tab to a recommended initiative's decision, keep "Approve", Tab to the button, Enter."""
    driver = browser
    sign_in(driver, server, "cx.deputy")
    driver.get(f"{server}/dashboard")
    wait_for(driver, "#ranking")
    code = driver.execute_script(
        "const row = [...document.querySelectorAll('#ranking tbody tr[data-code]')].find(r =>"
        "  r.querySelector('.tag') && r.querySelector('form.decide')"
        "  && !r.querySelector('[data-note]'));"
        "return row ? row.dataset.code : null;")
    assert code, "a recommended initiative under the four-eyes threshold"
    # the view narrowed to it, typed into the search box from the keyboard
    driver.get(f"{server}/dashboard")
    wait_for(driver, "#ranking-view")
    keys = ActionChains(driver)

    def tab_to(element_id: str, limit: int = 120) -> None:
        for _ in range(limit):
            if driver.execute_script("return document.activeElement.id;") == element_id:
                return
            keys.send_keys(Keys.TAB).perform()
        raise AssertionError(f"#{element_id} is not reachable with Tab")

    tab_to("view-q")
    keys.send_keys(code).perform()
    enter_and_leave(driver)
    wait_for(driver, f"#ranking tr[data-code='{code}']")
    select = driver.find_element(By.CSS_SELECTOR, f"#ranking tr[data-code='{code}'] select")
    select_id = select.get_attribute("id") or ""
    tab_to(select_id)
    assert driver.execute_script("return document.activeElement.value;") == "approve"
    keys.send_keys(Keys.TAB).perform()  # the justification is hidden: complying needs none
    assert driver.execute_script(
        "return document.activeElement.tagName + ':' + document.activeElement.type;"
    ) == "BUTTON:submit"
    enter_and_leave(driver)
    wait_for(driver, ".notice")
    assert "Recorded" in driver.find_element(By.CSS_SELECTOR, ".notice").text
    row = driver.find_element(By.CSS_SELECTOR, f"#ranking tr[data-code='{code}']")
    assert row.find_element(By.CSS_SELECTOR, ".status").text == "approved"
    sign_out(driver)


def test_the_axe_check_finds_what_it_is_for(browser: webdriver.Chrome, server: str) -> None:
    """The check is not vacuous: an unlabelled input added to a clean page is reported."""
    driver = browser
    driver.get(f"{server}/dashboard/sign-in")
    wait_for(driver, "main h1")
    assert serious_violations(driver) == []
    driver.execute_script("const i = document.createElement('input'); i.id = 'unlabelled';"
                          "document.querySelector('main').appendChild(i);")
    found = serious_violations(driver)
    assert [v["id"] for v in found] == ["label"]
    assert found[0]["nodes"][0]["target"] == ["#unlabelled"]
