"""Decisions re-derived from the log on PostgreSQL (issue 18, item 5): an approval forged through
the INSERT-only `cxgov_app` role with valid hashes ($18M, one approver, above the four-eyes
threshold) is reported as `four_eyes` at its position, and clean generated histories (four-eyes
approvals, cancellations, restatements) verify with no finding."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from auditverify import live
from auditverify.cli import main
from auditverify.encoding import entry_hash, micros
from auditverify.keys import public_key_pem
from auditverify.live import verify_database
from domain.errors import CxgovError
from governance.app import Governance
from governance.stores.database import connect
from governance.stores.integrity import issue_checkpoint
from tests.builders import CX_CHIEF, CX_DEPUTY, FINANCE_LEAD, RB_OWNER, M, World

pytestmark = pytest.mark.pg


def stored(value: Any) -> Any:
    """A value in the service's stored JSON encoding."""
    if isinstance(value, Decimal):
        return {"_type_": "decimal_str", "_data_": str(value)}
    if isinstance(value, UUID):
        return {"_type_": "uuid_hex", "_data_": value.hex}
    if isinstance(value, dict):
        return {k: stored(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [stored(v) for v in value]
    return value


def append_as_app_role(url: str, events: list[tuple[UUID, str, dict[str, Any]]]) -> list[int]:
    """Append events with valid chain entries as `cxgov_app` (SELECT and INSERT only), in one
    transaction, each at the next version of its aggregate; return their positions."""
    positions = []
    with connect(url, autocommit=False) as conn:
        conn.execute("SET ROLE cxgov_app")
        for originator, topic, data in events:
            head = conn.execute("SELECT position, entry_hash, clock_timestamp() FROM cxgov_chain "
                                "ORDER BY position DESC LIMIT 1").fetchone()
            version = conn.execute("SELECT coalesce(max(originator_version), 0) + 1 FROM "
                                   "cxgov_events WHERE originator_id = %s",
                                   (originator,)).fetchone()
            assert head is not None and version is not None
            state = json.dumps(stored({"timestamp": None, **data})).encode()
            row = conn.execute("INSERT INTO cxgov_events (originator_id, originator_version, "
                               "topic, state) VALUES (%s, %s, %s, %s) RETURNING notification_id",
                               (originator, version[0], topic, state)).fetchone()
            assert row is not None
            position, recorded_at = row[0], datetime.now(UTC)
            digest = entry_hash(prev_hash=bytes(head[1]), prev_position=head[0],
                                position=position, originator_id=str(originator),
                                originator_version=version[0], topic=topic, state=state,
                                recorded_at_us=micros(recorded_at))
            conn.execute("INSERT INTO cxgov_chain (position, prev_position, prev_hash, "
                         "entry_hash, recorded_at) VALUES (%s, %s, %s, %s, %s)",
                         (position, head[0], bytes(head[1]), digest, recorded_at))
            positions.append(position)
        conn.commit()
    return positions


@pytest.fixture
def gov(pg_env: dict[str, str]) -> Iterator[Governance]:
    """The service on the emptied test database."""
    service = Governance(env=pg_env)
    try:
        yield service
    finally:
        service.close()


def verify_cli(url: str, key: Ed25519PrivateKey, tmp_path: Path,
               capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any]]:
    """`python -m auditverify --database URL --json`: the exit status and the report."""
    pem = tmp_path / "key.pem"
    pem.write_text(public_key_pem(key.public_key()))
    capsys.readouterr()
    status = main(["--database", url, "--public-key", str(pem), "--json"])
    return status, json.loads(capsys.readouterr().out)


def errors(report: dict[str, Any]) -> list[tuple[str, int]]:
    """(kind, position) of each error in a JSON report."""
    return [(f["kind"], f["position"]) for f in report["findings"] if f["severity"] == "error"]


def test_an_18m_approval_forged_by_the_app_role_with_one_approver_is_a_four_eyes_finding(
    gov: Governance, pg_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    world = World(gov)  # a 100 M pool, four eyes above 10 M
    key = Ed25519PrivateKey.generate()
    legit = world.submit("I01", cost_m="12", impacts=(("M1", "40", "0.7"),))
    big = world.submit("I02", cost_m="18", impacts=(("M1", "30", "0.7"),))
    world.submit("I03", cost_m="4")
    gov.decide(CX_CHIEF, initiative_id=legit, outcome="approve", rationale="first")
    gov.decide(CX_DEPUTY, initiative_id=legit, outcome="approve", rationale="second")
    issue_checkpoint(gov, key)
    clean_status, clean = verify_cli(pg_url, key, tmp_path, capsys)

    # What the service would have recorded, computed as any reader of the log can.
    assessment = gov.assess(world.period)
    entry = assessment.entry("I02")
    assert entry is not None and entry.recommended
    ranking_position = gov.position()
    available = Decimal(100) * M - Decimal(12) * M  # the pool less I01's commitment
    decision_id, amount = uuid4(), Decimal(18) * M
    (pool_id,) = _pool_ids(pg_url)
    record = {
        "decision_id": decision_id, "outcome": "approve", "rationale": "", "departure": False,
        "recommended": True, "rank": entry.rank, "score": entry.scored.score,
        "cip": entry.scored.cip, "policy_version": 1, "available_before": available,
        "available_after": available - amount, "ranking_position": ranking_position,
        "cut_line_rank": assessment.cut_line_rank, "approvals": [CX_CHIEF.actor],
    }
    _, forged = append_as_app_role(pg_url, [
        (pool_id, "cxgov.FundingPool.FundsCommitted", {
            "initiative_id": big, "amount": amount, "decision_id": decision_id,
            "available_before": available, "available_after": available - amount,
            "actor": CX_CHIEF.actor}),
        (big, "cxgov.Initiative.Approved", {
            "decision": record, "amount": amount, "actor": CX_CHIEF.actor}),
    ])
    resigned = issue_checkpoint(gov, key)  # the chain is valid: the service signs over it
    status, report = verify_cli(pg_url, key, tmp_path, capsys)

    assert (clean_status, errors(clean), clean["decisions_checked"]) == (0, [], 2)
    assert resigned.position == forged
    assert (status, errors(report), report["first_bad_position"]) == (
        1, [("four_eyes", forged)], forged)
    assert report["decisions_checked"] == 3
    detail = next(f["detail"] for f in report["findings"] if f["kind"] == "four_eyes")
    assert "18000000" in detail and "10000000" in detail


def _pool_ids(url: str) -> list[UUID]:
    with connect(url) as conn:
        return [UUID(str(r[0])) for r in conn.execute(
            "SELECT DISTINCT originator_id FROM cxgov_events "
            "WHERE topic = 'cxgov.FundingPool.Opened'")]


def generate(gov: Governance, seed: int) -> None:
    """A random clean history: decisions by two executives (and refused self-approvals),
    revisions, cancellations and OpEx restatements; refusals leave no event."""
    rnd = random.Random(seed)
    world = World(gov, opex_m=str(rnd.choice([150, 300, 1000])),
                  four_eyes_m=str(rnd.choice([5, 10, 15])))
    ids = [world.submit(f"I{n:02d}", cost_m=str(rnd.randint(1, 25)),
                        impacts=(("M1", str(rnd.randint(30, 110)), "0.7"),))
           for n in range(1, rnd.randint(6, 10))]
    executives = [CX_CHIEF, CX_DEPUTY]
    for _ in range(40):
        op, target = rnd.random(), rnd.choice(ids)
        try:
            if op < 0.6:
                gov.decide(rnd.choice(executives), initiative_id=target,
                           outcome=rnd.choice(["approve", "approve", "reject", "defer"]),
                           rationale=rnd.choice(["", "because"]))
            elif op < 0.7:
                gov.revise_initiative(RB_OWNER, initiative_id=target,
                                      changes={"cost": Decimal(rnd.randint(1, 25)) * M})
            elif op < 0.8:
                gov.cancel_initiative(rnd.choice(executives), initiative_id=target,
                                      reason="stopped")
            elif op < 0.9:
                gov.restate_opex(FINANCE_LEAD, period=world.period,
                                 opex_total=Decimal(rnd.choice([100, 200, 400, 1000])) * M,
                                 reason="restated")
            else:
                gov.decide(RB_OWNER, initiative_id=target, outcome="approve", rationale="mine")
        except CxgovError:
            pass


@pytest.mark.parametrize("seed", [0, 1, 5, 7, 11])
def test_clean_generated_histories_verify_with_no_finding(
    gov: Governance, pg_url: str, seed: int, monkeypatch: pytest.MonkeyPatch,
) -> None:
    generate(gov, seed)
    reads = 0
    read = live.iter_rows

    def counted(*args: Any, **kwargs: Any) -> Iterator[Any]:
        nonlocal reads
        reads += 1
        return read(*args, **kwargs)

    monkeypatch.setattr(live, "iter_rows", counted)
    report = verify_database(pg_url, public_keys=[])
    assert reads == 1  # the chain checks and the decision replay share one read (decision 289)
    with connect(pg_url) as conn:
        topics = {r[0] for r in conn.execute("SELECT DISTINCT topic FROM cxgov_events")}
    assert report.ok and report.errors == (), report.errors
    assert {"cxgov.Initiative.FirstApprovalRecorded", "cxgov.Initiative.Approved",
            "cxgov.Initiative.Cancelled", "cxgov.FundingPool.OpexRestated"} <= topics
    assert report.decisions_checked >= 5

