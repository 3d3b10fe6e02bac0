"""The living demo on PostgreSQL: Harborview and its seeded history through the PostgreSQL
event store and views; the published ranking as of the first decision point, and "you said,
we did" the same live, as of the end, and after a rebuild of the views from the log."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from governance.app import Governance
from governance.entrypoints.cli import bundled_company
from governance.entrypoints.company import import_company
from governance.entrypoints.demo_history import apply_history
from governance.stores.readside import in_process_postgres, rebuild
from projections.loop_source import ReadSideSignals
from tests.builders import harborview_path

pytestmark = pytest.mark.pg


def test_the_living_demo_on_postgresql(pg_env: dict[str, str]) -> None:
    gov = Governance(env=pg_env)
    try:
        views = in_process_postgres(gov, pg_env)
        gov.signal_source = ReadSideSignals(views.read_models)
        company = bundled_company()
        import_company(gov, company)
        report = apply_history(gov, company)
        models = views.read_models()

        expected = json.loads(harborview_path().read_text())["expected"]["ranking"]
        assert [r.code for r in models.ranking("FY2027", as_of=report.decision_point)] == (
            expected)
        live = models.you_said_we_did()
        assert sum(1 for s in live if s.deliveries) == 8
        assert models.you_said_we_did(as_of=report.last_position) == live
        assert all(not s.deliveries
                   for s in models.you_said_we_did(as_of=report.decision_point))
        assert "grey" not in {c.status for c in models.scorecard("FY2027")}

        rebuild(gov, pg_env)
        assert in_process_postgres(gov, pg_env).read_models().you_said_we_did() == live
    finally:
        gov.close()


def test_cxgov_demo_on_postgresql_seals_from_the_first_event_and_signs_a_checkpoint(
        pg_env: dict[str, str], pg_url: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The demo's key exists before its first write, so Harborview is sealed from position 1;
    after loading, it signs a checkpoint, which discloses the seals' epoch key (decision
    287): an auditor's verification finds no unsealed history and checks every seal by MAC."""
    import signal

    from typer.testing import CliRunner

    from auditverify.live import verify_database
    from governance.entrypoints import cli
    from governance.settings import get_settings
    from governance.stores.integrity import load_signing_key

    handler = signal.getsignal(signal.SIGTERM)
    for name, value in (("CXGOV_DATABASE_URL", pg_url), ("CXGOV_DATA_DIR", str(tmp_path)),
                        ("CXGOV_STORE", "postgres"), ("CXGOV_DEMO_SIGN_IN", "false")):
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli.app, ["demo", "--no-serve"])
        key = load_signing_key(get_settings(), create=False)
    finally:
        signal.signal(signal.SIGTERM, handler)
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "audit checkpoint 1 signed at position" in result.output
    report = verify_database(pg_url, public_keys=[key.public_key()])
    assert report.ok, report.errors
    assert "unsealed_history" not in {f.kind for f in report.findings}
    assert report.valid_checkpoints == 1 and report.anchored_through == report.last_position
    assert report.seals_by_mac > 0 and report.seals_by_signature == 0
