"""The service signs checkpoints by itself: after an interval, and when a period closes."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from auditverify.live import verify_database
from governance.app import Governance
from governance.stores.checkpointer import Checkpointer
from tests.builders import FINANCE_LEAD, World


def test_a_closed_period_gets_a_checkpoint_without_waiting_for_the_interval(
        pg_env: dict[str, str], pg_url: str) -> None:
    gov = Governance(env=pg_env)
    World(gov)
    key = Ed25519PrivateKey.generate()
    checkpointer = Checkpointer(gov, key, interval_seconds=3600)
    assert checkpointer.tick() is None  # nothing due: no interval passed, no period closed
    written = gov.close_period(FINANCE_LEAD, period="FY2027", reason="year end")
    assert checkpointer.tick() == written.position
    assert checkpointer.tick() is None
    report = verify_database(pg_url, public_keys=[key.public_key()])
    assert report.ok and report.valid_checkpoints == 1
    gov.close()


def test_an_elapsed_interval_with_new_events_gets_a_checkpoint(pg_env: dict[str, str]) -> None:
    gov = Governance(env=pg_env)
    World(gov)
    checkpointer = Checkpointer(gov, Ed25519PrivateKey.generate(), interval_seconds=0.0)
    assert checkpointer.tick() == gov.position()
    assert checkpointer.tick() is None  # no new events
    gov.close()
