"""The scorecard, shown (issue 15, part 7): on Harborview with its seeded history, every
card's chart has the months on its x axis and a value scale on its y axis, the glide path,
the XmR limits and the latest reading's 95% interval, and the card says whether the latest
change is significant or not distinguishable from noise; as of a position the charts hold
only what was read by then."""

from __future__ import annotations

import re

from governance.bootstrap import Runtime
from governance.entrypoints.cli import bundled_company
from governance.entrypoints.demo_history import apply_history
from tests.api.conftest import harborview_runtime


def test_the_scorecard_charts_have_dates_scales_limits_and_intervals() -> None:
    from tests.api.test_re_decisions_dashboard import signed_in

    runtime: Runtime = harborview_runtime()
    try:
        before = runtime.app.position()
        apply_history(runtime.app, bundled_company())
        with signed_in(runtime, "rob", "pnl_owner") as client:
            page = client.get("/dashboard/scorecard")
            assert page.status_code == 200, page.text
            charts = re.findall(r'<svg class="chart trend scorecard-chart".*?</svg>', page.text,
                                re.S)
            assert len(charts) == 11  # the nine metrics, NPS and STAFF (demo history)
            for chart in charts:
                months = re.findall(r'class="x-tick"[^>]*>([A-Z][a-z]{2} \d{4})<', chart)
                assert len(months) >= 3 and (months[0], months[-1]) == ("Jun 2026", "Nov 2026")
                assert len(re.findall(r'class="y-tick"[^>]*>-?[\d,.]+<', chart)) == 5
                assert 'class="t-glide"' in chart and 'class="t-limit"' in chart
                assert chart.count('class="t-point"') == 6  # the card shows six months
            assert sum('class="t-interval"' in c for c in charts) >= 1
            assert "95% interval" in page.text and "Dashed: the glide path." in page.text
            assert ("★ a significant change" in page.text
                    or "○ not distinguishable from noise" in page.text)

            then = client.get(f"/dashboard/scorecard?as_of={before}")
            assert then.status_code == 200
            assert "no readings yet" in then.text and 'class="t-point"' not in then.text
    finally:
        runtime.close()


def test_the_cards_show_the_metric_kind_and_the_pilot_against_its_control() -> None:
    """Each card says whose experience it measures (customer or employee), and M4's card
    shows its difference-in-differences (demo: pilot 18.0 -> 9.5 days, control 18.4 -> 16.8:
    -6.9 days beyond the control's change), live and not before the readings."""
    from tests.api.test_re_decisions_dashboard import signed_in

    runtime: Runtime = harborview_runtime()
    try:
        before = runtime.app.position()
        apply_history(runtime.app, bundled_company())
        with signed_in(runtime, "rob", "pnl_owner") as client:
            page = client.get("/dashboard/scorecard")
            assert page.status_code == 200, page.text
            cards = dict(re.findall(r'<article class="card metric"[^>]*data-metric="([^"]+)"'
                                    r'(.*?)</article>', page.text, re.S))
            assert len(cards) == 11
            kinds = {code: re.findall(r'data-kind="(\w+)"', card) for code, card in cards.items()}
            assert kinds["STAFF"] == ["employee"] and kinds["NPS"] == ["customer"]
            assert all(k in (["customer"], ["employee"]) for k in kinds.values())
            assert "Employee experience" in cards["STAFF"]
            assert "Customer experience" in cards["M4"]
            did = re.findall(r'<div class="did"[^>]*>(.*?)</div>', cards["M4"], re.S)
            assert len(did) == 1, cards["M4"]
            text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", did[0]))
            assert "(difference-in-differences) -6.9 beyond" in text and "-6.9" in text
            assert "18.0 → 9.5" in text and "18.4 → 16.8" in text and "-8.5" in text
            assert sum('class="did"' in card for card in cards.values()) == 1

            assert 'id="export-scorecard-csv"' in page.text  # the page's download

            then = client.get(f"/dashboard/scorecard?as_of={before}")
            assert then.status_code == 200 and 'class="did"' not in then.text
            assert f"/dashboard/export/scorecard.csv?period=FY2027&amp;as_of={before}" in then.text
    finally:
        runtime.close()
