"""`cxgov spend|stop|descope|import-spend|ledger` on one in-memory Harborview runtime (the
commands' own `runtime()` is pointed at it, so consecutive invocations share the log)."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from domain.initiative import Gate
from governance.bootstrap import Runtime
from governance.entrypoints.views import render_ledger
from governance.stores.readside import in_memory
from projections.rows import jsonable
from tests.api.conftest import cli_harborview, cxgov
from tests.builders import CX_CHIEF


@pytest.fixture
def rt(monkeypatch: pytest.MonkeyPatch) -> Iterator[Runtime]:
    yield from cli_harborview(monkeypatch)



def test_spend_stop_and_descope_from_the_command_line(rt: Runtime, tmp_path: Path) -> None:
    gov = rt.app
    first, second = (gov.initiative_id("FY2027", c) for c in ("I01", "I02"))
    for initiative_id in (first, second):
        gov.decide(CX_CHIEF, initiative_id=initiative_id, outcome="approve", rationale="cli")
    cost = gov.initiative(first).cost

    code, out = cxgov("spend", "FY2027", "I01", "100000", "--on", "2026-03-31",
                      "--reference", "INV-9", "--as", "fiona")
    assert code == 0, out
    assert gov.initiative(first).spent == 100_000
    refused, out = cxgov("spend", "FY2027", "I03", "1", "--on", "2026-03-31")
    assert refused == 1 and "[state.invalid_transition]" in out

    spend_file = tmp_path / "spend.csv"
    spend_file.write_text("period,initiative,amount,spent_on\nFY2027,I02,5000,2026-04-30\n",
                          encoding="utf-8")
    code, out = cxgov("import-spend", str(spend_file))
    assert code == 0 and "recorded 1 spend actual(s)" in out, out

    code, out = cxgov("stop", "FY2027", "I01", "--reason", "moved on", "--as", "cx.deputy")
    assert code == 0 and "(cancelled)" in out, out
    assert gov.pool("FY2027").commitments[first] == 100_000
    code, out = cxgov("descope", "FY2027", "I02", "1000", "--reason", "x")
    assert code == 1 and "[validation.descope_out_of_range]" in out
    half = gov.initiative(second).cost / 2
    code, out = cxgov("descope", "FY2027", "I02", str(half), "--reason", "phase 2 dropped")
    assert code == 0, out
    assert gov.initiative(second).committed_amount == half

    ledger = in_memory(gov).read_models().ledger("FY2027")
    assert ledger is not None
    text = render_ledger(jsonable(ledger))
    assert "spent 0.1 M" in text and "spent by pnl" in text and "released by kind" in text
    assert Decimal(ledger.released) == cost - 100_000 + half


def test_release_a_tranche_from_the_command_line(rt: Runtime) -> None:
    gov = rt.app
    initiative_id = gov.initiative_id("FY2027", "I01")
    cost = gov.initiative(initiative_id).cost
    gov.decide(CX_CHIEF, initiative_id=initiative_id, outcome="approve", rationale="cli",
               first_tranche=cost / 2, gates=[Gate("pilot", cost / 2)])
    code, out = cxgov("release-tranche", "FY2027", "I01", "nope", "--rationale", "x")
    assert code == 1 and "[validation.invalid]" in out
    code, out = cxgov("release-tranche", "FY2027", "I01", "pilot", "--rationale",
                      "the pilot worked", "--as", "cx.deputy")
    assert code == 0, out
    assert gov.initiative(initiative_id).committed_amount == cost
