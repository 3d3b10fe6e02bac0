"""Webhooks on PostgreSQL: the hand-off is exactly once, two deliverers never hold the same
row (SKIP LOCKED), a stale claim cannot undo a newer one, subscriptions read from the log;
and the webhook drill in a short variant (the receiver refuses for 3 s, deliverers killed)."""

from __future__ import annotations

import threading
from pathlib import Path
from uuid import UUID

import pytest

from governance.app import Governance
from governance.principal import CX_EXEC, FINANCE, Principal
from governance.stores.outbox import PostgresOutbox
from governance.webhooks import Claimed, hand_off
from ops.reliability.webhooks import webhook_drill

pytestmark = pytest.mark.pg

CX = Principal(subject="pg.cx", roles=frozenset({CX_EXEC}))
FIN = Principal(subject="pg.fin", roles=frozenset({FINANCE}))


def test_hand_off_once_and_claims_never_overlap(pg_env: dict[str, str]) -> None:
    gov = Governance(env=pg_env)
    outboxes = [PostgresOutbox(pg_env) for _ in range(4)]
    try:
        created = gov.create_webhook(CX, url="https://hooks.example.com/pg", kinds=["*"])
        for k in range(30):
            gov.register_pnl(FIN, code=f"P{k}", name=f"P&L {k}")
        handed = [0] * len(outboxes)

        def handing(k: int) -> None:  # four hand-offs racing: each event handed off once
            while hand_off(outboxes[k], gov, limit=7):
                handed[k] += 1

        threads = [threading.Thread(target=handing, args=(k,)) for k in range(len(outboxes))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        rows = outboxes[0].deliveries(limit=1000)
        assert len(rows) == 30 and len({r.position for r in rows}) == 30
        assert outboxes[0].tracked() == gov.position()
        claims: list[list[Claimed]] = [[] for _ in outboxes]

        def claiming(k: int) -> None:
            while (found := outboxes[k].claim(60.0)) is not None:
                claims[k].append(found)

        threads = [threading.Thread(target=claiming, args=(k,)) for k in range(len(outboxes))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        ids = [c.delivery_id for found in claims for c in found]
        assert len(ids) == 30 and len(set(ids)) == 30  # leased: nobody claimed a row twice
        first = claims[0][0] if claims[0] else next(c for found in claims for c in found)
        assert first.subscription_id == created.id and first.attempts == 1
        outboxes[0].succeeded(first, 204)
        outboxes[0].failed(first, status=500, error="late", retry_in=None)  # stale: ignored
        assert outboxes[0].stats().dead == 0
        assert [s.status for s in gov.webhook_subscriptions(CX)] == ["active"]
    finally:
        for outbox in outboxes:
            outbox.close()
        gov.close()


def test_dead_letters_replay_through_the_log(pg_env: dict[str, str]) -> None:
    gov = Governance(env=pg_env)
    outbox = PostgresOutbox(pg_env)
    try:
        created = gov.create_webhook(CX, url="https://hooks.example.com/pg", kinds=["*"])
        gov.register_pnl(FIN, code="D1", name="Dead")
        hand_off(outbox, gov)
        claimed = outbox.claim(60.0)
        assert claimed is not None
        outbox.failed(claimed, status=503, error="HTTP 503", retry_in=None)
        assert [d.delivery_id for d in outbox.deliveries(state="dead")] == [
            claimed.delivery_id]
        gov.replay_webhook_dead_letters(CX, created.id, delivery_ids=[UUID(int=5)])
        hand_off(outbox, gov)  # names another delivery: nothing replayed
        assert outbox.stats().dead == 1
        gov.replay_webhook_dead_letters(CX, created.id, reason="fixed")
        hand_off(outbox, gov)
        stats = outbox.stats()
        assert stats.dead == 0 and stats.pending == 3  # the dead one + the two replay events
        again = outbox.deliveries(state="pending", limit=10)
        assert claimed.delivery_id in {d.delivery_id for d in again}
    finally:
        outbox.close()
        gov.close()


def test_the_short_webhook_drill(pg_admin_url: str, tmp_path: Path) -> None:
    report = webhook_drill(pg_admin_url, tmp_path, refuse_s=3.0, events=40, kills=2)
    assert report.violations == [], report.notes
    assert report.lost_writes == 0 and report.operations == 40 and report.faults == 2


def test_the_cli_manages_subscriptions_and_lists_dead_letters(
        pg_env: dict[str, str], pg_url: str, monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> None:
    import json

    from typer.testing import CliRunner

    from governance.entrypoints.cli import app
    from governance.settings import get_settings
    from governance.webhooks import secrets_of

    monkeypatch.setenv("CXGOV_DATABASE_URL", pg_url)
    monkeypatch.setenv("CXGOV_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CXGOV_JWT_SECRET", "cli-test-secret-0123456789-0123456789")
    get_settings.cache_clear()
    runner = CliRunner()
    try:
        made = runner.invoke(app, ["webhooks", "create", "https://hooks.example.com/cli",
                                   "--kind", "cxgov.PnL.*", "--as", "ops.alice"])
        assert made.exit_code == 0, made.output
        created = json.loads(made.output)
        assert created["secret"] == secrets_of(get_settings())(UUID(created["id"]))
        shown = runner.invoke(app, ["webhooks", "secret", created["id"]])
        assert shown.output.strip() == created["secret"]
        hostile = runner.invoke(app, ["webhooks", "create", "http://169.254.169.254/",
                                      "--kind", "*"])
        assert hostile.exit_code == 1 and "validation.invalid" in hostile.output
        paused = runner.invoke(app, ["webhooks", "pause", created["id"], "--reason", "quiet"])
        assert paused.exit_code == 0, paused.output
        listed = json.loads(runner.invoke(app, ["webhooks", "list"]).output)
        assert [(w["status"], w["created_by"]) for w in listed] == [("paused", "cli|ops.alice")]
        then = json.loads(runner.invoke(app, ["webhooks", "list", "--as-of",
                                              str(created["position"])]).output)
        assert [w["status"] for w in then] == ["active"]
        gov = Governance(env=pg_env)
        outbox = PostgresOutbox(pg_env)
        try:
            runner.invoke(app, ["webhooks", "resume", created["id"]])
            gov.register_pnl(FIN, code="CL", name="Cli")
            hand_off(outbox, gov)
            claimed = outbox.claim(60.0)
            assert claimed is not None
            outbox.failed(claimed, status=500, error="HTTP 500", retry_in=None)
        finally:
            outbox.close()
            gov.close()
        dead = json.loads(runner.invoke(app, ["webhooks", "dead"]).output)
        assert [d["delivery_id"] for d in dead] == [str(claimed.delivery_id)]
        replayed = runner.invoke(app, ["webhooks", "replay", created["id"]])
        assert replayed.exit_code == 0, replayed.output
    finally:
        get_settings.cache_clear()


def test_the_thread_beside_the_projectors_delivers(pg_env: dict[str, str], pg_url: str) -> None:
    import time

    from pydantic import SecretStr

    from governance.bootstrap import bootstrap
    from governance.entrypoints.webhooks import delivering
    from governance.settings import Settings
    from governance.webhooks import subscription_secret
    from ops.reliability.webhooks import Receiver, serving

    secret = "thread-test-secret-0123456789-0123456789"
    rt = bootstrap(Settings(store="postgres", database_url=SecretStr(pg_url),
                            jwt_secret=SecretStr(secret), db_pool_size=1, db_max_overflow=2,
                            webhook_allow_local_targets=True, webhook_workers=1))
    receiver = Receiver(secret="", refuse_until=0.0)
    try:
        with serving(receiver) as target, delivering(rt):
            created = rt.app.create_webhook(CX, url=target, kinds=["cxgov.PnL.Registered"])
            receiver.secret = subscription_secret(secret, created.id)
            rt.app.register_pnl(FIN, code="TH", name="Thread")
            deadline = time.monotonic() + 60
            while not receiver.accepted and time.monotonic() < deadline:
                time.sleep(0.1)
        assert len(receiver.accepted) == 1 and receiver.bad_signatures == 0
    finally:
        rt.close()
