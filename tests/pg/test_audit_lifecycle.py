"""An initiative's lifecycle re-derived from the log on PostgreSQL (issue 18, item 5): a stop
(`Initiative.Cancelled`) of withdrawn work, appended through the INSERT-only `cxgov_app` role
with a valid chain entry and then signed over by a checkpoint, is a `lifecycle_transition`
finding at its position, with the public key alone."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from governance.app import Governance
from governance.stores.integrity import issue_checkpoint
from tests.builders import CX_CHIEF, RB_OWNER, World
from tests.pg.test_audit_rules import append_as_app_role, errors, verify_cli

pytestmark = pytest.mark.pg


@pytest.fixture
def gov(pg_env: dict[str, str]) -> Iterator[Governance]:
    """The service on the emptied test database."""
    service = Governance(env=pg_env)
    try:
        yield service
    finally:
        service.close()


def test_a_stop_of_withdrawn_work_forged_by_the_app_role_is_a_lifecycle_finding(
    gov: Governance, pg_url: str, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    world = World(gov)
    withdrawn = world.submit("I01", cost_m="3")
    gov.withdraw_initiative(RB_OWNER, initiative_id=withdrawn, reason="not needed")
    key = Ed25519PrivateKey.generate()
    issue_checkpoint(gov, key)
    clean_status, clean = verify_cli(pg_url, key, tmp_path, capsys)

    (forged,) = append_as_app_role(pg_url, [
        (withdrawn, "cxgov.Initiative.Cancelled", {
            "reason": "stopped", "amount_released": 0, "actor": CX_CHIEF.actor}),
    ])
    resigned = issue_checkpoint(gov, key)  # the chain is valid: the service signs over it
    status, report = verify_cli(pg_url, key, tmp_path, capsys)

    assert (clean_status, errors(clean)) == (0, [])
    assert resigned.position == forged
    assert (status, errors(report), report["first_bad_position"]) == (
        1, [("lifecycle_transition", forged)], forged)
    detail = next(f["detail"] for f in report["findings"]
                  if f["kind"] == "lifecycle_transition")
    assert "Initiative.Cancelled on an initiative that is withdrawn" in detail
