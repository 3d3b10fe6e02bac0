"""Downloads from every page (issue 17): the decided list, ledger (with its breakdowns by P&L,
kind, touchpoint and function), scorecard, signals, audit timeline, plans and fair shares as
CSV and JSON, as of the position shown, through the page's read rule; CSV cells that would run
as a spreadsheet formula are defused."""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.web.export_pages import safe_cell, to_csv
from governance.bootstrap import Runtime, bootstrap
from governance.principal import CX_EXEC
from tests.api.conftest import auth, memory_settings
from tests.api.test_loop_http import KEY, READING
from tests.api.test_re_decisions_dashboard import signed_in
from tests.builders import CX_CHIEF, M, World

PERIOD = "FY2027"
HOSTILE = "=HYPERLINK(\"http://evil.example\",\"x\")"


def rows_of(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


@pytest.mark.parametrize(("value", "cell"), [
    ("=1+2", "'=1+2"), ("+1", "'+1"), ("-2+3", "'-2+3"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\tx", "'\tx"), ("\rx", "'\rx"), ("-1.5", "-1.5"), ("-12", "-12"), ("plain", "plain"),
    (None, ""), (True, "true"), (["a", "=b"], "a; =b"), (Decimal("-3.25"), "-3.25")])
def test_a_cell_a_spreadsheet_would_run_is_defused(value: object, cell: str) -> None:
    assert safe_cell(value) == cell


def test_csv_quotes_what_it_must_and_keeps_the_text() -> None:
    text = to_csv(("a", "b"), [{"a": 'say "hi", then', "b": "=cmd|' /C calc'!A0"}])
    assert rows_of(text) == [{"a": 'say "hi", then', "b": "'=cmd|' /C calc'!A0"}]


def test_the_decided_list_downloads_in_its_view_with_formulas_defused(
        runtime: Runtime) -> None:
    gov = runtime.app
    before = gov.position()
    bottom = gov.assess(PERIOD).entries[-1].code
    gov.decide(CX_CHIEF, initiative_id=gov.initiative_id(PERIOD, bottom), outcome="reject",
               rationale=HOSTILE)
    with signed_in(runtime, "cx.deputy", "cx_exec") as client:
        home = client.get(f"/dashboard?period={PERIOD}").text
        assert f'href="/dashboard/export/decided.csv?period={PERIOD}"' in home
        got = client.get(f"/dashboard/export/decided.csv?period={PERIOD}")
        assert got.status_code == 200 and got.headers["content-type"].startswith("text/csv")
        position = int(got.headers["x-cxgov-position"])
        assert got.headers["content-disposition"] == (
            f'attachment; filename="decided-{PERIOD}-at-{position}.csv"')
        [row] = rows_of(got.text)
        assert row["code"] == bottom and row["section"] == "decided"
        assert row["reason"] == "'" + HOSTILE  # a spreadsheet shows it, does not run it
        body = client.get(f"/dashboard/export/decided.json?period={PERIOD}").json()
        assert [r["code"] for r in body["decided"]] == [bottom]
        assert body["decided"][0]["reason"] == HOSTILE  # JSON keeps the text as it is
        assert "ranking" not in body
        then = client.get(f"/dashboard/export/decided.json?as_of={before}").json()
        assert then["position"] == before and then["decided"] == []
        other = client.get(f"/dashboard/export/decided.csv?period={PERIOD}&pnl=NOPE").text
        assert rows_of(other) == []  # the view's filter applies
    with signed_in(runtime, "bot", "ingest") as client:
        assert client.get("/dashboard/export/decided.csv").status_code == 403


def test_the_ledger_downloads_its_figures_and_every_breakdown(runtime: Runtime) -> None:
    gov = runtime.app
    top = gov.assess(PERIOD).entries[0].code
    before = gov.position()
    gov.decide(CX_CHIEF, initiative_id=gov.initiative_id(PERIOD, top), outcome="approve",
               rationale="Top of the ranking.")
    card = gov.initiative(gov.initiative_id(PERIOD, top))
    with signed_in(runtime, "fiona", "finance") as client:
        page = client.get(f"/dashboard/ledger?period={PERIOD}").text
        for name in ("pnl", "kind", "touchpoint", "function"):
            assert f'id="by-{name}"' in page
        assert f'href="/dashboard/export/ledger.json?period={PERIOD}"' in page
        rows = rows_of(client.get(f"/dashboard/export/ledger.csv?period={PERIOD}").text)
        figures = {r["key"]: r["amount"] for r in rows if r["table"] == "figures"}
        assert Decimal(figures["net_committed"]) == card.proposal.cost
        functions = {r["key"]: r["committed"] for r in rows if r["table"] == "function"}
        assert functions and set(functions) == set(card.proposal.functional_areas)
        assert all(Decimal(v) == card.proposal.cost for v in functions.values())
        for table in ("pnl", "kind", "touchpoint"):
            assert sum(Decimal(r["committed"]) for r in rows if r["table"] == table
                       and r["key"] in ({card.pnl or "CX"} | {card.kind}
                                        | set(card.proposal.touchpoints))) > 0
        body = client.get(f"/dashboard/export/ledger.json?period={PERIOD}").json()
        assert set(body["breakdowns"]) == {"pnl", "kind", "touchpoint", "function"}
        then = client.get(f"/dashboard/export/ledger.json?period={PERIOD}&as_of={before}")
        assert then.json()["figures"]["net_committed"] == "0"
        assert then.headers["x-cxgov-position"] == str(before)


def test_the_scorecard_and_fair_shares_download_what_their_pages_show(
        runtime: Runtime) -> None:
    with signed_in(runtime, "cx.deputy", "cx_exec") as client:
        page = client.get(f"/dashboard/scorecard?period={PERIOD}").text
        shown = re.findall(r'data-metric="(M\d+)"', page)
        cards = rows_of(client.get(f"/dashboard/export/scorecard.csv?period={PERIOD}").text)
        assert shown and [c["metric"] for c in cards] == shown
        body = client.get(f"/dashboard/export/scorecard.json?period={PERIOD}").json()
        assert [c["metric"] for c in body["cards"]] == [c["metric"] for c in cards]

        fair = client.get(f"/dashboard/fair-shares?period={PERIOD}").text
        assert f'href="/dashboard/export/fair-shares.csv?period={PERIOD}"' in fair
        shares = rows_of(client.get(
            f"/dashboard/export/fair-shares.csv?period={PERIOD}").text)
        body = client.get(f"/dashboard/export/fair-shares.json?period={PERIOD}").json()
        assert len(shares) == sum(len(p["by_pnl"]) for p in body["fair_shares"]["plans"]) > 0
        assert {r["rule"] for r in shares} == {p["rule"] for p in body["fair_shares"]["plans"]}


def test_the_signals_inbox_downloads_in_its_order_as_of_the_position_shown() -> None:
    runtime = bootstrap(memory_settings())
    funded = World(runtime.app).submit("I01", cost_m="8", impacts=(("M2", "80", "0.5"),))
    runtime.app.decide(CX_CHIEF, initiative_id=funded, outcome="approve")
    before = runtime.app.position()
    with TestClient(create_app(runtime), raise_server_exceptions=False) as api:
        assert api.post("/v1/metrics/M2/observations", headers=auth("cx.chief", CX_EXEC),
                        json=READING).status_code == 201
    with signed_in(runtime, "rob", "pnl_owner") as client:
        inbox = client.get(f"/dashboard/signals?period={PERIOD}&show=all").text
        assert f'href="/dashboard/export/signals.csv?period={PERIOD}&amp;show=all"' in inbox
        shown = re.findall(r'<li class="signal[^"]*" data-key="([^"]+)"', inbox)
        every = rows_of(client.get(
            f"/dashboard/export/signals.csv?period={PERIOD}&show=all").text)
        assert KEY in shown and [s["key"] for s in every] == shown
        row = next(s for s in every if s["key"] == KEY)
        assert row["metric"] == "M2" and row["initiatives"] == "I01" and row["state"] == "open"
        body = client.get(f"/dashboard/export/signals.json?period={PERIOD}").json()
        assert KEY in [s["key"] for s in body["signals"]] and body["show"] == "active"
        then = client.get(f"/dashboard/export/signals.json?period={PERIOD}&as_of={before}")
        assert KEY not in [s["key"] for s in then.json()["signals"]]
        assert client.get("/dashboard/export/signals.csv?show=nope").status_code == 422
    runtime.close()


def test_the_plans_side_by_side_download(runtime: Runtime) -> None:
    gov = runtime.app
    gov.save_plan(CX_CHIEF, period=PERIOD, name="Lean", budget=60 * M)
    gov.save_plan(CX_CHIEF, period=PERIOD, name="Full", budget=120 * M)
    with signed_in(runtime, "fiona", "finance") as client:
        page = client.get(f"/dashboard/plans?period={PERIOD}").text
        assert "/dashboard/export/plans.csv?period=FY2027&amp;name=" in page
        rows = rows_of(client.get(
            f"/dashboard/export/plans.csv?period={PERIOD}&name=Lean&name=Full").text)
        plans = [r for r in rows if r["section"] == "plan"]
        assert [p["plan"] for p in plans] == ["Lean", "Full"]
        assert Decimal(plans[0]["budget"]) == 60 * M
        assert Decimal(plans[0]["cost"]) <= 60 * M <= Decimal(plans[1]["cost"]) + 60 * M
        assert {r["section"] for r in rows} == {"plan", "by_pnl", "by_kind"}
        body = client.get(f"/dashboard/export/plans.json?period={PERIOD}&name=Nothing").json()
        assert body["missing"] == ["Nothing"] and body["comparison"] is None
        many = "&".join(f"name=P{i}" for i in range(9))
        assert client.get(f"/dashboard/export/plans.csv?{many}").status_code == 422
    with signed_in(runtime, "rob", "pnl_owner") as client:
        assert client.get("/dashboard/export/plans.csv").status_code == 403


def test_the_audit_timeline_downloads_for_auditors_as_of_the_position_shown(
        runtime: Runtime) -> None:
    gov = runtime.app
    top = gov.assess(PERIOD).entries[0].code
    before = gov.position()
    gov.decide(CX_CHIEF, initiative_id=gov.initiative_id(PERIOD, top), outcome="approve",
               rationale="=1+1 is not a formula here")
    with signed_in(runtime, "audit.one", "auditor") as client:
        page = client.get("/dashboard/audit").text
        assert f'href="/dashboard/export/audit.csv?period={PERIOD}"' in page
        shown = [int(p) for p in re.findall(r'<li data-position="(\d+)"', page)]
        rows = rows_of(client.get("/dashboard/export/audit.csv").text)
        assert [int(r["position"]) for r in rows] == sorted(shown)
        assert rows[-1]["topic"] == "Initiative.Approved"
        assert rows[-1]["rationale"] == "'=1+1 is not a formula here"
        every = client.get("/dashboard/export/audit.json?show=all").json()
        assert len(every["events"]) > len(rows)
        then = client.get(f"/dashboard/export/audit.json?as_of={before}").json()
        assert then["position"] == before
        assert all(e["position"] <= before for e in then["events"])
        assert "Initiative.Approved" not in {e["topic"].removeprefix("cxgov.")
                                             for e in then["events"]}
    with signed_in(runtime, "rob", "pnl_owner") as client:
        assert client.get("/dashboard/export/audit.csv").status_code == 403


def test_the_audit_bundle_is_for_auditors_and_needs_the_hash_chain(runtime: Runtime) -> None:
    with signed_in(runtime, "audit.one", "auditor") as client:
        page = client.get("/dashboard/audit").text
        assert 'id="verify-status">In-memory store' in page
        assert 'id="export-bundle-jsonl"' not in page  # no chain, no bundle to offer
        missing = client.get("/dashboard/export/audit-bundle.jsonl")
        assert missing.status_code == 404 and "keeps no hash chain" in missing.text
    for sub, role in (("cx.deputy", "cx_exec"), ("rob", "pnl_owner"), ("bot", "ingest")):
        with signed_in(runtime, sub, role) as client:
            assert client.get("/dashboard/export/audit-bundle.jsonl").status_code == 403
