"""`cxgov export`: read models as CSV or JSON, live or as of a position."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator

import pytest
import typer
from typer.testing import CliRunner

from governance.app import Governance
from governance.entrypoints.cli import bundled_company
from governance.entrypoints.company import ImportReport, import_company
from governance.entrypoints.export import export_command
from governance.settings import get_settings

cli = typer.Typer()
cli.command("export")(export_command)
cli.command("noop")(lambda: None)  # more than one command: `export` stays a subcommand


@pytest.fixture
def harborview(pg_env: dict[str, str], pg_url: str,
               monkeypatch: pytest.MonkeyPatch) -> Iterator[ImportReport]:
    """Harborview imported into the emptied test database, which the CLI is pointed at."""
    gov = Governance(env=pg_env)
    report = import_company(gov, bundled_company())
    gov.close()
    monkeypatch.setenv("CXGOV_DATABASE_URL", pg_url)
    monkeypatch.setenv("CXGOV_DB_POOL_SIZE", "1")
    get_settings.cache_clear()
    yield report
    get_settings.cache_clear()


def run(*args: str) -> str:
    """Invoke the export command and return its standard output."""
    result = CliRunner().invoke(cli, ["export", *args])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_the_ranking_exports_as_csv_in_rank_order(harborview: ImportReport) -> None:
    rows = list(csv.DictReader(io.StringIO(run("ranking", "--period", "FY2027"))))
    expected = bundled_company().expected or {}
    assert [r["code"] for r in rows] == expected["ranking"]
    assert rows[0]["score_display"] == expected["scores"]["I11"]["score"]


def test_an_export_as_of_an_earlier_position_shows_that_moment(
        harborview: ImportReport) -> None:
    before_initiatives = str(harborview.first_position + 12)  # period, P&Ls, ... no initiative
    then = json.loads(run("ranking", "--period", "FY2027", "--as-of", before_initiatives,
                          "--format", "json"))
    ledger = json.loads(run("ledger", "--period", "FY2027", "--format", "json"))
    assert len(then) < 30
    assert ledger["period"] == "FY2027"


def test_the_recommendation_and_scorecard_export_as_csv_files(
        harborview: ImportReport) -> None:
    recommendation = list(csv.DictReader(io.StringIO(
        run("recommendation", "--period", "FY2027"))))
    scorecard = list(csv.DictReader(io.StringIO(run("scorecard", "--period", "FY2027"))))
    assert {r["in_greedy"] for r in recommendation} == {"True", "False"}
    assert len(scorecard) == len(bundled_company().metrics)
