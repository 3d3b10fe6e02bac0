"""The funding plans page in a browser (issue 16): two plans side by side at 1280 and 390 px
wide; at 390 px the comparison table scrolls inside its frame and the page itself does not
scroll sideways. Screenshots: plans-1280, plans-390."""

from __future__ import annotations

from decimal import Decimal

from selenium import webdriver
from selenium.webdriver.common.by import By

from domain.plans import Forced
from governance.bootstrap import Runtime
from governance.principal import CX_EXEC, FINANCE, Principal
from tests.browser.conftest import screenshot
from tests.browser.test_dashboard import sign_in, sign_out, wait_for

PERIOD = "FY2027"


def test_plans_side_by_side_at_1280_and_390(browser: webdriver.Chrome, server: str,
                                            served_runtime: Runtime) -> None:
    gov = served_runtime.app
    chief = Principal("setup.exec", frozenset({CX_EXEC}))
    gov.save_plan(Principal("setup.finance", frozenset({FINANCE})), period=PERIOD,
                  name="Value first", budget=Decimal(120_000_000))
    gov.save_plan(chief, period=PERIOD, name="Cross-P&L first", budget=Decimal(120_000_000),
                  forced_in=[Forced("I23", "Nobody else funds the data platform")],
                  forced_out=[Forced("I07", "Overlaps the vendor's own release")],
                  description="Seybold: cross-P&L work gets done no other way.")
    gov.adopt_plan(chief, period=PERIOD, name="Cross-P&L first", rationale="The board asked.")
    driver = browser
    sign_in(driver, server, "cx.deputy")
    try:
        driver.get(f"{server}/dashboard/plans?period={PERIOD}")
        wait_for(driver, "#plans-side")
        headers = [h.text for h in driver.find_elements(By.CSS_SELECTOR,
                                                         "#plans-side thead th")]
        assert [h.casefold() for h in headers[1:]] == ["cross-p&l first of record",
                                                       "value first"], headers
        differences = driver.find_element(By.ID, "plan-differences").text
        assert "I07: funded by Value first" in differences
        screenshot(driver, "plans-1280")
        driver.set_window_size(390, 844)
        driver.get(f"{server}/dashboard/plans?period={PERIOD}")
        wait_for(driver, "#plans-side")
        widths = driver.execute_script(
            "const w = document.querySelector('#plans-side').closest('.table-wrap');"
            "return [document.documentElement.scrollWidth, window.innerWidth,"
            "        w.clientWidth, w.scrollWidth];")
        page_width, viewport, frame, table = widths
        assert page_width <= viewport, widths  # the page does not scroll sideways
        assert frame <= viewport and table >= frame, widths  # the table scrolls in its frame
        screenshot(driver, "plans-390")
    finally:
        driver.set_window_size(1280, 800)
        sign_out(driver)
