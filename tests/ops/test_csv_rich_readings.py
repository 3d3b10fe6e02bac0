"""observations.csv with the richer reading columns (issue 15): summaries, category counts and
segments round-trip; a row with bad counts is named with its field; nothing is parsed."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from governance.entrypoints.cli import bundled_company
from governance.entrypoints.company import ObservationsIn, ReadingIn
from governance.entrypoints.csv_import import CsvImportError, parse_csv_company, write_csv_company

AT = datetime(2026, 5, 31, tzinfo=UTC)


def test_rich_readings_round_trip_through_the_csv_files(tmp_path: Path) -> None:
    readings = [
        ReadingIn(value=Decimal(25), observed_at=AT, sample_size=200, channel="app",
                  region="north", promoters=90, passives=70, detractors=40),
        ReadingIn(value=Decimal("4.5"), observed_at=AT, sample_size=120, mean=Decimal("5.2"),
                  sd=Decimal("3.1"), median=Decimal("4.5"), p90=Decimal(11),
                  share_meeting=Decimal("0.62"), top_box=70),
    ]
    company = bundled_company().model_copy(update={"observations": [
        ObservationsIn(metric="M2", batch_key="survey", source="survey", readings=readings)]})
    write_csv_company(company, tmp_path)
    parsed = parse_csv_company([tmp_path])
    assert parsed.observations[0].readings == readings


def test_bad_counts_in_a_row_are_named_by_line_and_field(tmp_path: Path) -> None:
    write_csv_company(bundled_company(), tmp_path)
    path = tmp_path / "observations.csv"
    header = path.read_text(encoding="utf-8").splitlines()[0].split(",")
    rows = [{"metric": "M2", "batch_key": "b", "value": "5", "observed_at": AT.isoformat(),
             "sample_size": "100", "promoters": "50", "passives": "20", "detractors": "40"},
            {"metric": "M2", "batch_key": "b", "value": "5", "observed_at": AT.isoformat(),
             "sample_size": "100", "median": "9", "p90": "8"},
            {"metric": "M2", "batch_key": "b", "value": "5", "observed_at": AT.isoformat(),
             "sample_size": "100", "top_box": "-2"}]
    with path.open("a", encoding="utf-8") as handle:
        for row in rows:
            handle.write(",".join(row.get(column, "") for column in header) + "\n")
    with pytest.raises(CsvImportError) as caught:
        parse_csv_company([tmp_path])
    reasons = [str(e) for e in caught.value.errors]
    assert any(r.startswith("observations.csv:2: sample_size:") and "sample size 100" in r
               for r in reasons)
    assert any(r.startswith("observations.csv:3: p90:") for r in reasons)
    assert any(r.startswith("observations.csv:4:") and "top_box" in r for r in reasons)
