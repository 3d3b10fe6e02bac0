"""CSV company import: every bad row reported before anything is written; same ranking as JSON."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from governance.bootstrap import Runtime, bootstrap
from governance.entrypoints.cli import app as cli
from governance.entrypoints.cli import bundled_company
from governance.entrypoints.company import CompanyFile, ObservationsIn, ReadingIn, import_company
from governance.entrypoints.csv_import import CsvImportError, parse_csv_company, write_csv_company
from governance.settings import get_settings
from tests.api.conftest import memory_settings

READINGS = 10_000
BAD_LINES = (2, 5_000, 10_001)  # data lines of observations.csv (line 1 is the header)


def with_observations(company: CompanyFile, count: int) -> CompanyFile:
    """Harborview plus `count` readings of M1 in one batch."""
    start = datetime(2026, 1, 1, tzinfo=UTC)
    readings = [ReadingIn(value=Decimal(100) - Decimal(n % 50), sample_size=40,
                          observed_at=start + timedelta(minutes=n)) for n in range(count)]
    batch = ObservationsIn(metric="M1", batch_key="bulk-2027", source="crm", readings=readings)
    return company.model_copy(update={"observations": [batch]})


def spoil(path: Path, lines: tuple[int, ...]) -> None:
    """Break the given data lines: unknown metric, no time zone, a non-number."""
    rows = list(csv.reader(path.open(encoding="utf-8", newline="")))
    header = rows[0]
    breakers = [("metric", "M99"), ("observed_at", "2027-01-01T00:00:00"), ("value", "lots")]
    for line, (column, value) in zip(lines, breakers, strict=True):
        rows[line - 1][header.index(column)] = value
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)


@pytest.fixture
def company() -> CompanyFile:
    """Harborview with ten thousand observation rows."""
    return with_observations(bundled_company(), READINGS)


@pytest.fixture
def runtime() -> Iterator[Runtime]:
    """An empty in-memory store."""
    rt = bootstrap(memory_settings())
    yield rt
    rt.close()


def ranking(rt: Runtime) -> list[tuple[Any, ...]]:
    """Codes, scores and funding of the FY2027 ranking."""
    return [(r["code"], r["score"], r["cip"], r["recommended"])
            for r in rt.read_models().ranking("FY2027")]


def test_three_bad_rows_among_ten_thousand_are_all_named_and_nothing_is_parsed(
        company: CompanyFile, tmp_path: Path) -> None:
    write_csv_company(company, tmp_path)
    spoil(tmp_path / "observations.csv", BAD_LINES)
    with pytest.raises(CsvImportError) as caught:
        parse_csv_company([tmp_path])
    where = [(e.file, e.line) for e in caught.value.errors]
    assert where == [("observations.csv", line) for line in BAD_LINES]
    reasons = " | ".join(e.reason for e in caught.value.errors)
    assert "M99 is not in metrics.csv" in reasons
    assert "timezone" in reasons


def test_the_cli_refuses_bad_csv_naming_every_row_and_writes_nothing(
        company: CompanyFile, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_csv_company(company, tmp_path)
    spoil(tmp_path / "observations.csv", BAD_LINES)
    monkeypatch.setenv("CXGOV_STORE", "memory")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["import", str(tmp_path)])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 1
    assert "3 bad row(s), nothing imported" in result.output
    assert all(f"observations.csv:{line}:" in result.output for line in BAD_LINES)


def test_the_fixed_csv_imports_with_the_same_ranking_as_the_json(
        company: CompanyFile, tmp_path: Path, runtime: Runtime) -> None:
    write_csv_company(company, tmp_path)
    from_csv = parse_csv_company(sorted(tmp_path.glob("*.csv")))
    import_company(runtime.app, from_csv)
    with bootstrap(memory_settings()) as reference:
        import_company(reference.app, company)
        expected = ranking(reference)
    assert [len(b.readings) for b in from_csv.observations] == [1000] * 10
    assert ranking(runtime) == expected
    assert len(expected) == 30


def test_cross_file_references_are_checked(tmp_path: Path) -> None:
    write_csv_company(bundled_company(), tmp_path)
    with (tmp_path / "impacts.csv").open("a", encoding="utf-8") as handle:
        handle.write("I99,M1,5,0.5\nI01,M1,5,1.5\n")
    with pytest.raises(CsvImportError) as caught:
        parse_csv_company([tmp_path])
    reasons = [str(e) for e in caught.value.errors]
    assert any("impacts.csv" in r and "I99 is not in initiatives.csv" in r for r in reasons)
    assert any("reach" in r for r in reasons)
