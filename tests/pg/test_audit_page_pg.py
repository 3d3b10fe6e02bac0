"""The auditor page on PostgreSQL (issue 17): the live verification status (verdict, verified
through which position, the newest signed checkpoint, the rows not yet anchored; a tamper
shown), and the audit bundle download for auditors only, as of the position the page shows,
which `auditverify` verifies on its own."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from fastapi.testclient import TestClient
from pydantic import SecretStr

from api.app import create_app
from api.web import audit_status
from api.web.session import COOKIE
from auditverify.bundle import verify_bundle
from governance.bootstrap import Runtime, bootstrap
from governance.entrypoints.cli import bundled_company
from governance.entrypoints.company import import_company
from governance.settings import Settings
from governance.stores.database import connect
from governance.stores.integrity import issue_checkpoint
from governance.stores.readside import in_process_postgres
from governance.stores.sessions import Claims, sessions_of
from tests.api.conftest import SECRET
from tests.builders import CX_CHIEF

pytestmark = pytest.mark.pg

KEY = Ed25519PrivateKey.generate()
PERIOD = "FY2027"


@pytest.fixture
def runtime(pg_env: dict[str, str], pg_url: str, tmp_path: Path) -> Iterator[Runtime]:
    """Harborview on the emptied test database, sealed and signed with KEY; one checkpoint,
    then one approval after it (not yet anchored)."""
    seed = KEY.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption()).hex()
    rt = bootstrap(Settings(store="postgres", database_url=SecretStr(pg_url),
                            jwt_secret=SecretStr(SECRET), db_pool_size=1, db_max_overflow=4,
                            data_dir=tmp_path / "data", audit_signing_key=SecretStr(seed)))
    views = in_process_postgres(rt.app, rt.env)
    rt.extras["views"] = views
    import_company(rt.app, bundled_company())
    rt.extras["checkpoint"] = issue_checkpoint(rt.app, KEY)
    top = rt.app.assess(PERIOD).entries[0].code
    rt.app.decide(CX_CHIEF, initiative_id=rt.app.initiative_id(PERIOD, top), outcome="approve",
                  rationale="Top of the ranking.")
    yield rt
    rt.close()


def client_of(runtime: Runtime, sub: str, role: str) -> TestClient:
    """The dashboard over the in-process views, signed in as one role."""
    session = sessions_of(runtime).start(Claims(sub, sub, (role,), (), "cxgov"),
                                         idle=timedelta(minutes=5),
                                         lifetime=timedelta(minutes=5))
    app = create_app(runtime, read_models=runtime.extras["views"].read_models())
    return TestClient(app, raise_server_exceptions=False, cookies={COOKIE: session})


def figure(html: str, name: str) -> str:
    found = re.search(rf'data-figure="{name}">(.*?)</dd>', html, re.S)
    assert found, name
    return re.sub(r"<[^>]+>", "", found.group(1)).strip()


def chain_positions(url: str) -> list[int]:
    with connect(url) as conn:
        return [int(r[0]) for r in conn.execute(
            "SELECT position FROM cxgov_chain ORDER BY position").fetchall()]


def seal_counts(url: str, disclosed_through: int) -> tuple[int, int]:
    """(seals at or before the position, seals after it), as stored."""
    with connect(url) as conn:
        row = conn.execute("SELECT count(*) FILTER (WHERE position <= %s), "
                           "count(*) FILTER (WHERE position > %s) FROM cxgov_seals",
                           (disclosed_through, disclosed_through)).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def test_the_page_says_what_is_verified_anchored_and_not_yet(runtime: Runtime,
                                                              pg_url: str) -> None:
    checkpoint = runtime.extras["checkpoint"]
    positions = chain_positions(pg_url)
    after = [p for p in positions if p > checkpoint.position]
    assert after  # the approval came after the checkpoint
    with client_of(runtime, "audit.one", "auditor") as client:
        page = client.get("/dashboard/audit").text
        assert 'id="verify-status" data-ok="true"' in page
        assert figure(page, "verdict") == "Intact"
        assert figure(page, "verified-through").startswith(f"position {positions[-1]} ")
        assert figure(page, "newest-checkpoint").startswith(
            f"no. {checkpoint.seq} at position {checkpoint.position},")
        assert figure(page, "unanchored") == (
            f"{len(after)} row(s) after position {checkpoint.position}")
        # the seals up to the checkpoint, which disclosed their epoch's key, by MAC; the
        # approval's after it by signature (decision 287)
        by_mac, by_signature = seal_counts(pg_url, checkpoint.position)
        assert by_mac > 0 and by_signature > 0
        assert figure(page, "seals") == (
            f"through position {positions[-1]}: {by_mac} checked by MAC, {by_signature} by "
            "signature")
        assert 'id="export-bundle-jsonl"' in page
    with client_of(runtime, "cx.deputy", "cx_exec") as client:
        page = client.get("/dashboard/audit").text
        assert figure(page, "verdict") == "Intact"
        assert 'id="export-bundle-jsonl"' not in page  # the bundle is the auditor's


def test_a_tampered_row_turns_the_verdict(runtime: Runtime, pg_url: str,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(audit_status, "RECHECK_AFTER_S", 0.0)  # verify on every view
    victim = chain_positions(pg_url)[3]
    with client_of(runtime, "audit.one", "auditor") as client:
        assert figure(client.get("/dashboard/audit").text, "verdict") == "Intact"
        with connect(pg_url) as conn:
            conn.execute("ALTER TABLE cxgov_events DISABLE TRIGGER ALL")
            conn.execute("UPDATE cxgov_events SET state = set_byte(state, 3, "
                         "get_byte(state, 3) # 1) WHERE notification_id = %s", (victim,))
            conn.execute("ALTER TABLE cxgov_events ENABLE TRIGGER ALL")
        page = client.get("/dashboard/audit").text
    assert 'data-ok="false"' in page
    assert figure(page, "verdict") == f"Tampered from position {victim}"
    assert f"position {victim}:" in page.split('id="verify-problems"', 1)[1]


def test_the_bundle_downloads_as_of_the_position_shown_and_verifies(
        runtime: Runtime, pg_url: str, tmp_path: Path) -> None:
    checkpoint = runtime.extras["checkpoint"]
    public = KEY.public_key()
    with client_of(runtime, "audit.one", "auditor") as client:
        now = client.get("/dashboard/export/audit-bundle.jsonl")
        assert now.status_code == 200
        position = int(now.headers["x-cxgov-position"])
        assert position == chain_positions(pg_url)[-1]
        assert now.headers["content-disposition"] == (
            f'attachment; filename="cxgov-audit-bundle-at-{position}.jsonl"')
        whole = tmp_path / "now.jsonl"
        whole.write_bytes(now.content)
        report = verify_bundle(whole, public_keys=[public])
        assert report.ok and report.last_position == position
        assert report.anchored_through == checkpoint.position
        assert int(now.headers["x-cxgov-rows"]) == report.rows

        page = client.get(f"/dashboard/audit?as_of={checkpoint.position}").text
        assert (f'href="/dashboard/export/audit-bundle.jsonl?period={PERIOD}&amp;as_of='
                f'{checkpoint.position}"') in page
        then = client.get(f"/dashboard/export/audit-bundle.jsonl?as_of={checkpoint.position}")
        cut = tmp_path / "then.jsonl"
        cut.write_bytes(then.content)
        report = verify_bundle(cut, public_keys=[public])
        assert report.ok and report.last_position == checkpoint.position
        assert report.anchored_through == checkpoint.position
        assert "unanchored" not in {f.kind for f in report.findings}
        assert report.rows < int(now.headers["x-cxgov-rows"])
    for sub, role in (("cx.deputy", "cx_exec"), ("fiona", "finance"), ("rob", "pnl_owner")):
        with client_of(runtime, sub, role) as client:
            assert client.get("/dashboard/export/audit-bundle.jsonl").status_code == 403
