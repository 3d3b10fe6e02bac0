"""Authenticated writers (issue 18, part 1): the service seals each write transaction with a key
the database does not hold, so events appended by the INSERT-only `cxgov_app` role, well
chained as they are, are reported one by one as `unsealed_row` at their positions, even after
the service writes on top of them; and the service refuses to sign a checkpoint over them."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from uuid import uuid4

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from auditverify.live import verify_database
from governance.app import Governance
from governance.stores.integrity import SEAL_KEY_ENV, HistoryTampered, issue_checkpoint
from tests.builders import CX_CHIEF, M, World
from tests.pg.test_audit_rules import append_as_app_role, generate

pytestmark = pytest.mark.pg

KEY = Ed25519PrivateKey.generate()


@pytest.fixture
def gov(pg_env: dict[str, str]) -> Iterator[Governance]:
    """The service on the emptied test database, sealing its writes with KEY."""
    seed = KEY.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption()).hex()
    service = Governance(env={**pg_env, SEAL_KEY_ENV: seed})
    try:
        yield service
    finally:
        service.close()


def test_a_sealed_history_verifies_with_every_entry_sealed(gov: Governance, pg_url: str) -> None:
    world = World(gov)
    initiative = world.submit("I01", cost_m="4")
    gov.decide(CX_CHIEF, initiative_id=initiative, outcome="reject", rationale="not now")
    issue_checkpoint(gov, KEY)
    report = verify_database(pg_url, public_keys=[KEY.public_key()])
    assert report.ok, report.errors
    assert report.sealed_through == report.last_position == gov.position()
    assert not {"unsealed_history", "unsealed_row", "bad_seal"} & {
        f.kind for f in report.findings}


def test_rows_appended_by_the_insert_only_role_are_unsealed_at_their_positions(
    gov: Governance, pg_url: str,
) -> None:
    world = World(gov)
    initiative = world.submit("I01", cost_m="4")
    issue_checkpoint(gov, KEY)
    stray = uuid4()  # an aggregate the service never loads, so its writes go on
    forged = append_as_app_role(pg_url, [
        (stray, "cxgov.FundingPool.OpexRestated", {
            "opex_total": Decimal(2000) * M, "previous_opex_total": Decimal(0),
            "reason": "forged", "actor": "mallory"}),
        (stray, "cxgov.FundingPool.OpexRestated", {
            "opex_total": Decimal(3000) * M, "previous_opex_total": Decimal(0),
            "reason": "forged", "actor": "mallory"}),
    ])
    with pytest.raises(HistoryTampered) as refused:
        issue_checkpoint(gov, KEY)  # the service will not sign over them
    assert {(f.kind, f.position) for f in refused.value.findings} >= {
        ("unsealed_row", p) for p in forged}

    # the service writes on top of the forged head: its seal does not launder them
    gov.decide(CX_CHIEF, initiative_id=initiative, outcome="reject", rationale="not now")
    report = verify_database(pg_url, public_keys=[KEY.public_key()])
    unsealed = [(f.tamper, f.position) for f in report.errors if f.kind == "unsealed_row"]
    assert unsealed == [("unauthenticated", p) for p in forged]
    assert report.first_bad_position is not None and report.first_bad_position <= forged[0]
    assert report.sealed_through == gov.position()


def test_seals_are_checked_against_the_auditors_key(gov: Governance, pg_url: str) -> None:
    World(gov)
    stranger = Ed25519PrivateKey.generate()
    report = verify_database(pg_url, public_keys=[stranger.public_key()])
    assert not report.ok and {f.kind for f in report.errors} == {"bad_seal"}
    assert {f.tamper for f in report.errors} == {"unauthenticated"}


@pytest.mark.parametrize("seed", [0, 7])
def test_clean_generated_sealed_histories_verify_with_no_finding(
    gov: Governance, pg_url: str, seed: int,
) -> None:
    generate(gov, seed)
    issue_checkpoint(gov, KEY)
    report = verify_database(pg_url, public_keys=[KEY.public_key()])
    assert report.ok and report.errors == (), report.errors
    assert report.sealed_through == report.anchored_through == gov.position()
    assert report.decisions_checked >= 5
