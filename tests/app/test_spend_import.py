"""`cxgov import-spend`: a spend CSV checked row by row, then recorded in bulk."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from governance.entrypoints.csv_import import CsvImportError
from governance.entrypoints.spend_import import import_spend, parse_spend_csv
from governance.stores.readside import in_memory
from tests.builders import CX_CHIEF, FINANCE_LEAD, World

HEADER = "period,initiative,amount,spent_on,reference,note\n"


def a_file(tmp_path: Path, body: str, header: str = HEADER) -> Path:
    path = tmp_path / "spend.csv"
    path.write_text(header + body, encoding="utf-8")
    return path


@pytest.fixture
def approved(world: World) -> World:
    world.gov.clock = lambda: datetime(2027, 6, 30, tzinfo=UTC)
    world.gov.decide(CX_CHIEF, initiative_id=world.submit("I01", cost_m="5"),
                     outcome="approve")
    world.submit("I02", cost_m="1")
    return world


def test_a_spend_file_is_recorded_in_file_order(approved: World, tmp_path: Path) -> None:
    lines = parse_spend_csv(a_file(tmp_path, "FY2027,I01,250000.50,2027-03-31,INV-1,first\n"
                                             "FY2027, I01 ,100000,2027-04-30,,\n"))
    written, position = import_spend(approved.gov, FINANCE_LEAD, lines)
    assert (written, position) == (2, approved.gov.position())
    card = in_memory(approved.gov).read_models().initiative(
        str(approved.gov.initiative_id("FY2027", "I01")))
    assert card is not None and Decimal(card.spent) == Decimal("350000.50")
    assert [(s.reference, s.note) for s in card.spend] == [("INV-1", "first"), ("", "")]


def test_bad_rows_refuse_the_file_naming_each_line(tmp_path: Path) -> None:
    with pytest.raises(CsvImportError) as refused:
        parse_spend_csv(a_file(tmp_path, "FY2027,I01,abc,2027-03-31,,\n"
                                         "FY2027,I01,10,2027-02-30,,\n"
                                         "FY2027,I01,10,2027-03-01,,,extra\n"))
    assert [(e.line, e.reason.split(":")[0]) for e in refused.value.errors] == [
        (2, "amount"), (3, "spent_on"), (4, "more cells than header columns")]


def test_a_file_without_the_columns_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CsvImportError) as refused:
        parse_spend_csv(a_file(tmp_path, "FY2027,I01,10\n", header="period,initiative,cost\n"))
    assert "missing column(s) amount, spent_on" in str(refused.value)


def test_a_row_the_rules_refuse_names_its_line_and_writes_nothing(
        approved: World, tmp_path: Path) -> None:
    lines = parse_spend_csv(a_file(tmp_path, "FY2027,I01,10,2027-03-31,,\n"
                                             "FY2027,I02,10,2027-03-31,,\n"))
    before = approved.gov.position()
    with pytest.raises(CsvImportError) as refused:
        import_spend(approved.gov, FINANCE_LEAD, lines)
    assert str(refused.value.errors[0]).startswith(
        "spend.csv:3: [state.invalid_transition] cannot record spend on initiative I02")
    assert approved.gov.position() == before
    assert approved.gov.initiative(approved.gov.initiative_id("FY2027", "I01")).spent == 0
