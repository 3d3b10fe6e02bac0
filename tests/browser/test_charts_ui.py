"""Charts legible on a phone (issue 17, decisions 262-264): every server-rendered chart (the
home page's efficient frontier, the scorecard's metric charts, the what-if frontier, the
drivers' effects) draws its text at 11 CSS px or more at 390 and at 1280 px, measured in the
browser as the text's computed font size times the scale its SVG is drawn at; no two labels of
a chart overlap, none leaves its chart's box, and no chart page scrolls sideways. Screenshots:
charts-<page>-<width>.png, and the chart's box alone (charts-<page>-<width>-chart.png).

Harborview with the demo's seeded history (scorecard readings) and key drivers mapped for M9,
so every chart has data."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By

from governance.bootstrap import Runtime
from governance.entrypoints.cli import bundled_company
from governance.entrypoints.demo_history import apply_history
from governance.principal import CX_EXEC, Principal
from tests.api.conftest import harborview_runtime
from tests.browser.conftest import SCREENSHOTS, screenshot
from tests.browser.test_dashboard import sign_in, sign_out, wait_for

LEAST_PX = 11  # the smallest chart text we accept, in CSS px as drawn
#: every page with a chart, and the charts it must show
PAGES = {"/dashboard": "svg.frontier", "/dashboard/scorecard": "svg.scorecard-chart",
         "/dashboard/what-if?budget=%24130M": "svg.whatif",
         "/dashboard/drivers?metric=M9": "#drivers-plot"}
#: every visible chart's texts: the drawn font size (the computed size times the scale of a
#: viewBox, if the SVG has one), the box each takes on screen and the box of the chart's parent
MEASURE = """
const out = [];
const charts = Array.from(document.querySelectorAll('svg.chart'));
charts.forEach((svg, group) => {
  const box = svg.getBoundingClientRect();
  if (!box.width || getComputedStyle(svg).display === 'none') return;
  const vb = svg.viewBox.baseVal;
  const scale = vb && vb.width ? box.width / vb.width : 1;
  const frame = svg.parentElement.getBoundingClientRect();
  for (const t of svg.querySelectorAll('text')) {
    const r = t.getBoundingClientRect();
    if (!t.textContent.trim() || !r.width) continue;
    out.push({chart: svg.getAttribute('class'), text: t.textContent.trim().slice(0, 30),
              px: parseFloat(getComputedStyle(t).fontSize) * scale, group: group,
              box: [r.left, r.top, r.right, r.bottom], frame: [frame.left, frame.right]});
  }
});
return out;
"""


@pytest.fixture(scope="module")
def served_runtime() -> Iterator[Runtime]:
    """Harborview, its demo history and key drivers of M9, with the persona picker."""
    runtime = harborview_runtime()
    apply_history(runtime.app, bundled_company())
    chief = Principal("setup.exec", frozenset({CX_EXEC}))
    runtime.app.map_operational_metrics(chief, code="M9", operational_metrics=[
        {"name": f"Driver {c}", "source": f"metric:{c}", "aggregation": "monthly",
         "department": "Contact Centre"} for c in ("M4", "M5", "M6")])
    yield replace(runtime, settings=runtime.settings.model_copy(update={"demo_sign_in": True}))
    runtime.close()


def overlaps(texts: list[dict[str, Any]]) -> list[str]:
    """Pairs of labels of one chart whose boxes cross (by more than a pixel each way)."""
    found = []
    for i, a in enumerate(texts):
        for b in texts[i + 1:]:
            if a["group"] != b["group"]:
                continue
            (l1, t1, r1, b1), (l2, t2, r2, b2) = a["box"], b["box"]
            if min(r1, r2) - max(l1, l2) > 1 and min(b1, b2) - max(t1, t2) > 1:
                found.append(f"{a['chart']}: {a['text']!r} over {b['text']!r}")
    return found


@pytest.mark.parametrize("width", [390, 1280])
def test_every_chart_s_text_is_legible_and_apart(browser: webdriver.Chrome, server: str,
                                                  width: int) -> None:
    driver, small, crossed, clipped, wide = browser, [], [], [], []
    sign_in(driver, server, "cx.chief")
    driver.set_window_size(width, 844)
    try:
        for path, chart in PAGES.items():
            driver.get(server + path)
            wait_for(driver, chart)
            page, viewport = driver.execute_script(
                "return [document.documentElement.scrollWidth,"
                " document.documentElement.clientWidth];")
            wide += [f"{path}: {page} px wide in {viewport}"] if page > viewport else []
            texts: list[dict[str, Any]] = driver.execute_script(MEASURE)
            assert texts, path
            small += [f"{path} {t['chart']} {t['text']!r}: {t['px']:.1f} px"
                      for t in texts if t["px"] < LEAST_PX - 0.05]
            crossed += [f"{path} {o}" for o in overlaps(texts)]
            clipped += [f"{path} {t['chart']} {t['text']!r} outside its chart's box"
                        for t in texts if t["box"][0] < t["frame"][0] - 1
                        or t["box"][2] > t["frame"][1] + 1]
            slug = re.sub(r"[^A-Za-z0-9]+", "-", path).strip("-")
            screenshot(driver, f"charts-{slug}-{width}")
            first = driver.find_element(By.CSS_SELECTOR, chart)
            driver.execute_script("arguments[0].parentElement.scrollIntoView();", first)
            first.find_element(By.XPATH, "..").screenshot(
                str(SCREENSHOTS / f"charts-{slug}-{width}-chart.png"))
    finally:
        driver.set_window_size(1280, 800)
        sign_out(driver)
    assert small == [], "\n".join(small)
    assert crossed == [], "\n".join(crossed)
    assert clipped == [], "\n".join(clipped)
    assert wide == [], "\n".join(wide)  # no sideways scroll
