"""Issue 17, deciding in the browser: comply-or-explain refusals are shown by their field (never a
500 or a JSON page) and write nothing; the justification's label is visible; four-eyes
approvals read consistently on the pool card and are offered to the right executive."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.select import Select

from governance.bootstrap import Runtime
from tests.browser.conftest import document_responses, screenshot
from tests.browser.test_dashboard import click_and_leave, figure, sign_in, sign_out, wait_for

BELOW_CUT = "I03"  # ranked below the cut line on a fresh Harborview
RECOMMENDED = "I11"  # recommended, ranked first
FOUR_EYES = "I19"  # recommended, $14M: above the $10M four-eyes threshold
FOUR_EYES_TOO = "I21"  # recommended, $12M


def log_position(runtime: Runtime) -> int:
    """The newest position of the event log (unchanged when nothing is written)."""
    return int(runtime.app.recorder.max_notification_id() or 0)


def row_of(driver: webdriver.Chrome, code: str) -> WebElement:
    """The ranking row of an initiative."""
    return driver.find_element(By.CSS_SELECTOR, f'#ranking tr[data-code="{code}"]')


def decide(driver: webdriver.Chrome, code: str, outcome: str, rationale: str = "") -> None:
    """Choose an outcome on a row's form, write the justification (if any), submit, and wait
    until the browser has left the page."""
    row = row_of(driver, code)
    Select(row.find_element(By.CSS_SELECTOR, "select[name=outcome]")).select_by_value(outcome)
    if rationale:
        row.find_element(By.CSS_SELECTOR, "textarea[name=rationale]").send_keys(rationale)
    click_and_leave(driver, row.find_element(By.CSS_SELECTOR, "button[type=submit]"))
    wait_for(driver, "main h1")


def refusal_by(driver: webdriver.Chrome, code: str, control: str) -> str:
    """The refusal shown next to a row's control: the element the control names in
    aria-describedby with role alert, displayed, beside the control in the form."""
    row = row_of(driver, code)
    field = row.find_element(By.CSS_SELECTOR, control)
    assert field.get_attribute("aria-invalid") == "true"
    described = (field.get_attribute("aria-describedby") or "").split()
    alerts = [row.find_element(By.ID, i) for i in described
              if row.find_elements(By.ID, i)
              and row.find_element(By.ID, i).get_attribute("role") == "alert"]
    assert len(alerts) == 1, described
    alert = alerts[0]
    assert alert.is_displayed()
    # beside its field: the nearest error after the control in the same container
    beside = driver.execute_script(
        "const f = arguments[0], e = arguments[1];"
        "let n = f.nextElementSibling;"
        "while (n && !n.classList.contains('error')) n = n.nextElementSibling;"
        "return n === e;", field, alert)
    assert beside, "the refusal is not next to its field"
    return str(alert.text)


def shown_as_a_page(driver: webdriver.Chrome) -> None:
    """Every document since the last look was an HTML page below 500 (no raw JSON)."""
    pages = document_responses(driver)
    assert pages, "no page was loaded"
    assert all(status < 500 and mime == "text/html" for _, status, mime in pages), pages
    assert not driver.find_element(By.TAG_NAME, "body").text.lstrip().startswith("{")


def test_comply_or_explain_refusals_are_shown_by_their_field_and_write_nothing(
        browser: webdriver.Chrome, server: str, served_runtime: Runtime) -> None:
    driver = browser
    sign_in(driver, server, "cx.chief")
    driver.get(f"{server}/dashboard")
    wait_for(driver, "#ranking")
    document_responses(driver)
    before = log_position(served_runtime)

    # approving below the cut line without a justification
    decide(driver, BELOW_CUT, "approve")
    shown_as_a_page(driver)
    reason = refusal_by(driver, BELOW_CUT, "textarea[name=rationale]")
    assert "below the recommendation's cut line" in reason and "justification" in reason
    screenshot(driver, "decide-refused-justification")
    assert log_position(served_runtime) == before

    # rejecting a recommended initiative without one
    decide(driver, RECOMMENDED, "reject")
    shown_as_a_page(driver)
    reason = refusal_by(driver, RECOMMENDED, "textarea[name=rationale]")
    assert "above the recommendation's cut line" in reason
    assert log_position(served_runtime) == before

    # the same executive giving the second approval, from a page opened before the first
    # (a second tab): the refusal is shown by the decision field
    first_tab = driver.current_window_handle
    driver.switch_to.new_window("tab")
    driver.get(f"{server}/dashboard")
    wait_for(driver, "#ranking")
    stale_tab = driver.current_window_handle
    driver.switch_to.window(first_tab)
    decide(driver, FOUR_EYES, "approve")
    assert "pending second approval" in row_of(driver, FOUR_EYES).text
    written = log_position(served_runtime)
    assert written > before
    driver.switch_to.window(stale_tab)
    document_responses(driver)
    decide(driver, FOUR_EYES, "approve")
    shown_as_a_page(driver)
    reason = refusal_by(driver, FOUR_EYES, "select[name=outcome]")
    assert "a different CX executive must approve it" in reason
    screenshot(driver, "decide-refused-second-approval")
    assert log_position(served_runtime) == written
    driver.close()
    driver.switch_to.window(first_tab)
    sign_out(driver)


def test_the_justification_box_has_a_visible_label(browser: webdriver.Chrome,
                                                   server: str) -> None:
    driver = browser
    sign_in(driver, server, "cx.deputy")
    driver.get(f"{server}/dashboard")
    wait_for(driver, "#ranking")
    row = row_of(driver, BELOW_CUT)
    Select(row.find_element(By.CSS_SELECTOR, "select[name=outcome]")).select_by_value("approve")
    box = row.find_element(By.CSS_SELECTOR, "textarea[name=rationale]")
    assert box.is_displayed()  # approving a not-recommended initiative departs
    label = row.find_element(By.CSS_SELECTOR, f'label[for="{box.get_attribute("id")}"]')
    size: dict[str, Any] = label.size
    assert label.is_displayed() and size["height"] > 5 and size["width"] > 50, size
    assert "Justification" in label.text
    labelled = driver.execute_script(
        "return [...arguments[0].labels].map(l => l.textContent.trim())", box)
    assert len(labelled) == 1 and labelled[0].startswith("Justification")
    sign_out(driver)


def money(text: str) -> Decimal:
    """$118,800,000 -> Decimal."""
    return Decimal(text.replace("$", "").replace(",", ""))


def gauge_width(driver: webdriver.Chrome, part: str) -> float:
    """The width of a part of the pool bar, in the bar's own units (600 = the pool)."""
    element = driver.find_element(By.CSS_SELECTOR, f'svg.gauge [data-part="{part}"]')
    box: dict[str, float] = driver.execute_script(
        "const b = arguments[0].getBBox(); return {x: b.x, width: b.width};", element)
    return box["width"]


def check_pool_card(driver: webdriver.Chrome) -> dict[str, Decimal]:
    """The pool card adds up: committed + available = pool; awaiting a second approval is
    part of available; the bar's parts and the bracket over available match the figures;
    the legend's entries do not overlap."""
    f = {name: money(figure(driver, name))
         for name in ("pool", "committed", "pending", "available")}
    assert f["committed"] + f["available"] == f["pool"], f
    assert f["pending"] <= f["available"], f
    for part, amount in (("committed", f["committed"]), ("available", f["available"]),
                         ("pending", f["pending"]),
                         ("free", f["available"] - f["pending"])):
        assert abs(gauge_width(driver, part) - float(600 * amount / f["pool"])) < 0.5, part
    legend = driver.find_elements(By.CSS_SELECTOR, ".gauge-legend li")
    assert len(legend) == 4
    boxes = [e.rect for e in legend]
    for i, a in enumerate(boxes):
        assert all(e.is_displayed() for e in legend)
        for b in boxes[i + 1:]:
            apart = (a["x"] + a["width"] <= b["x"] or b["x"] + b["width"] <= a["x"]
                     or a["y"] + a["height"] <= b["y"] or b["y"] + b["height"] <= a["y"])
            assert apart, (a, b)
    texts = " ".join(e.text for e in legend)
    assert f"Available ${f['available'] / 1_000_000:,.1f}M" in texts, texts
    return f


def test_four_eyes_the_pool_card_adds_up_and_only_another_executive_gives_the_second(
        browser: webdriver.Chrome, server: str) -> None:
    driver = browser
    sign_in(driver, server, "cx.chief")
    driver.get(f"{server}/dashboard")
    wait_for(driver, "#ranking")
    before = check_pool_card(driver)

    # a warning before an approval above the four-eyes threshold
    note = row_of(driver, FOUR_EYES_TOO).find_element(By.CSS_SELECTOR, '[data-note="four-eyes"]')
    assert note.is_displayed() and "four-eyes threshold $10.0M" in note.text
    select = row_of(driver, FOUR_EYES_TOO).find_element(By.CSS_SELECTOR, "select[name=outcome]")
    assert str(note.get_attribute("id")) in (select.get_attribute("aria-describedby") or "")
    decide(driver, FOUR_EYES_TOO, "approve")
    pending = check_pool_card(driver)
    assert pending["pending"] == before["pending"] + 12_000_000
    assert pending["available"] == before["available"]  # nothing committed yet
    screenshot(driver, "home-four-eyes-pending")

    # the first approver is not offered the second; the form says who must approve
    row = row_of(driver, FOUR_EYES_TOO)
    options = [o.get_attribute("value") for o in
               Select(row.find_element(By.CSS_SELECTOR, "select[name=outcome]")).options]
    assert "approve" not in options and "Second approval" not in row.text
    note = row.find_element(By.CSS_SELECTOR, '[data-note="second-approval"]')
    assert "First approval by cx.chief" in note.text
    assert "different CX executive" in note.text
    sign_out(driver)

    # another executive is offered the second approval, which commits the funds
    sign_in(driver, server, "cx.deputy")
    driver.get(f"{server}/dashboard")
    wait_for(driver, "#ranking")
    row = row_of(driver, FOUR_EYES_TOO)
    choices = Select(row.find_element(By.CSS_SELECTOR, "select[name=outcome]"))
    assert choices.first_selected_option.text == "Second approval"
    assert "First approval by cx.chief" in row.text
    decide(driver, FOUR_EYES_TOO, "approve")
    after = check_pool_card(driver)
    assert after["committed"] == before["committed"] + 12_000_000
    assert after["pending"] == before["pending"]
    assert "approved" in row_of(driver, FOUR_EYES_TOO).text
    sign_out(driver)
