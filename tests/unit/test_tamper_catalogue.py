"""The tamper catalogue (issue 18, part 7): every tamper an administrator can make to the stored
history is found with the public key alone, with a position and a kind that says what
happened (deleted, inserted, altered, reordered, unauthenticated, truncated, forked, or a
decision the rules forbid), and never as a traceback or "unusable input"."""

from __future__ import annotations

import base64
import functools
import json
import random
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from auditverify.bundle import verify_bundle, write_bundle
from auditverify.cli import main
from auditverify.encoding import GENESIS, entry_hash, epoch_key, from_micros, seal_mac
from auditverify.keys import key_id, raw_public_key
from auditverify.model import (
    ChainRow,
    Checkpoint,
    Disclosure,
    EventRow,
    Receipt,
    Report,
    Row,
    SealRow,
)
from auditverify.policy import Policy, parse_duration
from auditverify.replay import check_decisions
from auditverify.verifier import verify_rows as verify_chain
from tests.app.decision_histories import generate, rows_of
from tests.unit.test_auditverify import KEY, sign
from tests.unit.test_auditverify_rules import Log

PUBLIC = [KEY.public_key()]
T0 = 1_800_000_000_000_000


def verify_rows(rows: list[Row], **anchors: list[Checkpoint]) -> Report:
    """What the verifier reports on a bundle or database: chain, anchors and decisions."""
    report = verify_chain(rows, **anchors)  # type: ignore[arg-type]
    return report.with_decisions(*check_decisions(lambda: rows))


def rechain(rows: list[Row]) -> list[Row]:
    """What a superuser does after an edit: re-compute every entry hash from genesis."""
    out: list[Row] = []
    prev_position, prev_hash = 0, GENESIS
    for row in rows:
        assert row.event is not None
        e, recorded = row.event, row.chain.recorded_at_us if row.chain else T0
        digest = entry_hash(prev_hash=prev_hash, prev_position=prev_position,
                            position=row.position, originator_id=e.originator_id,
                            originator_version=e.originator_version, topic=e.topic,
                            state=e.state, recorded_at_us=recorded)
        out.append(Row(row.position, e, ChainRow(prev_position, prev_hash, digest, recorded)))
        prev_position, prev_hash = row.position, digest
    return out


def history() -> tuple[Log, list[Checkpoint]]:
    """A pool, a policy, three initiatives and decisions, checkpoints at 6 and at the end."""
    log = Log()
    a, b, c = log.submit(3), log.submit(4), log.submit(18)
    # all score 0, ranked by cost; mandatory, so the recommendation funds all three (25 M of
    # the 100 M): the cut line is at rank 3 throughout
    log.approve(a, actor="dana", rank=1, cut_line_rank=3)
    log.decide(c, "Initiative.FirstApprovalRecorded", actor="chris", rank=3, cut_line_rank=3)
    log.approve(c, actor="dana", rank=3, cut_line_rank=3)
    log.decide(b, "Initiative.Rejected", actor="dana", outcome="reject", rationale="later",
               rank=2, cut_line_rank=3)  # a departure, explained
    return log, sign(log.rows, [6, log.position])


def errors(report: Report) -> set[tuple[str, int | None]]:
    """(what happened, where) of every error."""
    return {(f.tamper, f.position) for f in report.errors}


def edit_state(row: Row, change: Callable[[dict[str, object]], object]) -> Row:
    """The row with its event's JSON changed in place."""
    assert row.event is not None
    data = json.loads(row.event.state)
    change(data)
    return replace(row, event=replace(row.event, state=json.dumps(data).encode()))


def test_the_clean_history_verifies_with_every_rule() -> None:
    log, checkpoints = history()
    report = verify_rows(log.rows, public_keys=PUBLIC, checkpoints=checkpoints)
    assert (report.ok, report.errors, report.anchored_through) == (True, (), log.position)


def test_an_altered_row_is_altered_at_its_position() -> None:
    log, checkpoints = history()
    rows = list(log.rows)
    rows[8] = edit_state(rows[8], lambda d: d.update(actor="mallory"))
    report = verify_rows(rows, public_keys=PUBLIC, checkpoints=checkpoints)
    assert ("altered", 9) in errors(report) and report.first_bad_position == 9


def test_an_altered_row_re_chained_is_placed_between_the_anchors_as_altered() -> None:
    log, checkpoints = history()
    rows = list(log.rows)
    rows[8] = edit_state(rows[8], lambda d: d.update(actor="mallory"))
    report = verify_rows(rechain(rows), public_keys=PUBLIC, checkpoints=checkpoints)
    rewritten = [f for f in report.errors if f.kind == "rewritten"]
    assert [(f.tamper, f.position) for f in rewritten] == [("altered", 7)]


def test_a_deleted_row_is_deleted_at_its_position() -> None:
    log, checkpoints = history()
    rows = [r for r in log.rows if r.position != 9]
    report = verify_rows(rows, public_keys=PUBLIC, checkpoints=checkpoints)
    assert ("deleted", 9) in errors(report) and report.first_bad_position == 9
    assert "rewritten" not in report.kinds()


def test_a_deleted_row_re_chained_is_a_deletion_not_a_rewrite_of_unknown_kind() -> None:
    log, checkpoints = history()
    rows = rechain([r for r in log.rows if r.position != 9])
    report = verify_rows(rows, public_keys=PUBLIC, checkpoints=checkpoints)
    kinds = {f.tamper for f in report.errors}
    assert "deleted" in kinds and kinds <= {"deleted", "rule"}, report.errors  # rule: the
    # deleted row was the pool's commitment, so the replayed pool disagrees downstream
    assert report.first_bad_position == 9  # the gap its deletion left
    assert any("1 chain entry(ies) deleted" in f.detail for f in report.errors)


def test_the_newest_row_deleted_is_truncated_where_it_was() -> None:
    log, checkpoints = history()
    report = verify_rows(log.rows[:-1], public_keys=PUBLIC, checkpoints=checkpoints)
    assert errors(report) == {("truncated", log.position)}


def test_a_row_inserted_into_the_chain_is_inserted_at_its_position() -> None:
    log, _ = history()
    rows = list(log.rows)
    forged = edit_state(rows[9], lambda d: d.update(actor="mallory"))
    shifted = [replace(r, position=r.position * 2) for r in rows]  # room between positions
    spliced = [*shifted[:10], replace(forged, position=21), *shifted[10:]]
    report = verify_rows(rechain(spliced), public_keys=PUBLIC)
    assert ("inserted", 21) in errors(report)


def test_a_row_inserted_and_re_chained_under_checkpoints_is_counted_as_inserted() -> None:
    log, _ = history()
    spaced = [replace(r, position=r.position * 2) for r in log.rows]  # a history with gaps
    spaced = rechain(spaced)
    checkpoints = sign(spaced, [12, 28])
    forged = Row(21, EventRow("forged", 1, "cxgov.Probe.Noted", b"{}"), None)
    rows = rechain([*spaced[:10], forged, *spaced[10:]])
    report = verify_chain(rows, public_keys=PUBLIC, checkpoints=checkpoints)
    # the rows cannot tell an inserted row from a legitimate one in a gap: the anchors'
    # counts can, between the last one that matches (12) and the first that does not
    assert errors(report) == {("inserted", 14), ("inserted", 28)}


def test_two_events_of_one_aggregate_swapped_and_re_chained_are_reordered() -> None:
    log, _ = history()
    rows = list(log.rows)
    pool = [i for i, r in enumerate(rows) if r.event and r.event.originator_id ==
            rows[0].event.originator_id]  # type: ignore[union-attr]
    i, j = pool[1], pool[2]
    rows[i], rows[j] = (replace(rows[j], position=rows[i].position),
                        replace(rows[i], position=rows[j].position))
    report = verify_rows(rechain(rows), public_keys=PUBLIC)
    reordered = {f.position for f in report.errors if f.tamper == "reordered"}
    assert reordered == {rows[i].position, rows[j].position}


def test_rows_out_of_position_order_are_reordered() -> None:
    log, _ = history()
    rows = [*log.rows[:4], log.rows[5], log.rows[4], *log.rows[6:]]
    assert ("reordered", 5) in errors(verify_rows(rows, public_keys=PUBLIC))


def test_a_checkpoint_signed_by_another_key_is_unauthenticated() -> None:
    log, _ = history()
    other = sign(log.rows, [6, log.position], Ed25519PrivateKey.generate())
    report = verify_rows(log.rows, public_keys=PUBLIC, checkpoints=other)
    assert errors(report) == {("unauthenticated", 6), ("unauthenticated", log.position)}


def test_a_history_that_forks_from_a_kept_checkpoint_is_forked() -> None:
    log, checkpoints = history()
    kept = checkpoints[:1]
    rows = list(log.rows)
    rows[2] = edit_state(rows[2], lambda d: d.update(actor="mallory"))
    rows = rechain(rows)
    served = sign(rows, [6, log.position])  # the operator re-signs with the real key
    report = verify_rows(rows, public_keys=PUBLIC, checkpoints=served,
                         trusted_checkpoints=kept)
    assert ("forked", 6) in errors(report)


def test_corrupted_json_in_a_decision_re_chained_is_altered_at_its_position() -> None:
    log, _ = history()
    rows = list(log.rows)
    target = next(r for r in rows if r.event and r.event.topic.endswith("Approved"))
    assert target.event is not None
    broken = replace(target, event=replace(target.event, state=target.event.state[:-7]))
    rows[rows.index(target)] = broken
    report = verify_rows(rechain(rows), public_keys=PUBLIC)
    assert errors(report) >= {("altered", target.position)}


def test_a_renamed_key_in_a_decision_re_chained_is_altered_at_its_position() -> None:
    log, _ = history()
    rows = list(log.rows)
    index = next(i for i, r in enumerate(rows) if r.event and r.event.topic.endswith("Approved"))
    rows[index] = edit_state(rows[index], lambda d: d.update(verdict=d.pop("decision")))
    report = verify_rows(rechain(rows), public_keys=PUBLIC)
    assert ("altered", rows[index].position) in errors(report)


def test_a_one_approver_approval_above_the_threshold_is_a_rule_finding() -> None:
    log = Log()
    big = log.submit(18)
    forged = log.approve(big, actor="dana")
    report = verify_rows(log.rows, public_keys=PUBLIC)
    assert errors(report) == {("rule", forged)}


# --- bundles and the command line ----------------------------------------------------------


def bundle(tmp_path: Path, edit: Callable[[list[str]], list[str]]) -> Path:
    """The history's bundle with its lines edited."""
    log, checkpoints = history()
    path = tmp_path / "b.jsonl"
    write_bundle(path, rows=log.rows, checkpoints=checkpoints, source="test")
    path.write_text("\n".join(edit(path.read_text().splitlines())) + "\n")
    return path


def test_a_bundle_row_that_is_not_json_is_a_finding_at_its_position(tmp_path: Path) -> None:
    def cut(lines: list[str]) -> list[str]:
        lines[3 + 9 - 1] = lines[3 + 9 - 1][:40]  # header, 2 checkpoints, then row 9
        return lines
    report = verify_bundle(bundle(tmp_path, cut), public_keys=PUBLIC)
    assert ("altered", 9) in errors(report) and report.first_bad_position == 9


def test_a_bundle_row_with_bad_base64_is_a_finding_at_its_position(tmp_path: Path) -> None:
    def garble(lines: list[str]) -> list[str]:
        row = json.loads(lines[3 + 4 - 1])
        row["event"]["state"] = "!!not base64!!"
        lines[3 + 4 - 1] = json.dumps(row)
        return lines
    report = verify_bundle(bundle(tmp_path, garble), public_keys=PUBLIC)
    assert ("altered", 4) in errors(report)


def test_a_cut_bundle_names_where_it_was_cut(tmp_path: Path) -> None:
    report = verify_bundle(bundle(tmp_path, lambda lines: lines[:-3]), public_keys=PUBLIC)
    last_row = len(history()[0].rows) - 2
    assert ("truncated", last_row + 1) in errors(report)


def test_an_unreadable_checkpoint_in_a_bundle_is_a_finding(tmp_path: Path) -> None:
    def garble(lines: list[str]) -> list[str]:
        record = json.loads(lines[1])
        record["checkpoint"]["signature"] = "%%%"
        lines[1] = json.dumps(record)
        return lines
    report = verify_bundle(bundle(tmp_path, garble), public_keys=PUBLIC)
    assert ("altered", 6) in errors(report)


@pytest.mark.parametrize("tamper", ["json", "renamed", "cut"])
def test_the_cli_exits_one_with_a_position_never_unusable_input(
    tamper: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    def edit(lines: list[str]) -> list[str]:
        if tamper == "cut":
            return lines[:-2]
        row = json.loads(lines[3 + 10 - 1])  # position 10: an approval
        state = json.loads(base64.b64decode(row["event"]["state"]))
        if tamper == "json":
            raw = json.dumps(state).encode()[:-5]
        else:
            state["verdict"] = state.pop("decision")
            raw = json.dumps(state).encode()
        row["event"]["state"] = base64.b64encode(raw).decode()
        lines[3 + 10 - 1] = json.dumps(row)
        return lines
    path = bundle(tmp_path, edit)
    status = main(["--bundle", str(path), "--public-key", raw_public_key(KEY.public_key()).hex(),
                   "--json"])
    out = capsys.readouterr()
    assert status == 1, out.err
    assert "unusable" not in out.err and "Traceback" not in out.err
    report = json.loads(out.out)
    assert report["first_bad_position"] is not None
    assert all(f["position"] is not None and f["tamper"] for f in report["findings"]
               if f["severity"] == "error")


# --- write seals (issue 18, part 1) ----------------------------------------------------------


def sealed(rows: list[Row], ends: list[int], key: Ed25519PrivateKey = KEY,
           disclosed: list[int] | None = None) -> list[Row]:
    """The rows with a write seal at each transaction's last position (`ends`). With
    `disclosed` (the positions where the service disclosed epoch keys, each a transaction's
    end), each seal also carries its write epoch (1 + the disclosures before it) and its MAC
    under that epoch's key, as the service writes them (decision 287)."""
    out: list[Row] = []
    start = 0  # index of the transaction's first row
    secret = key.private_bytes_raw()
    for index, row in enumerate(rows):
        if row.position in ends:
            assert row.chain is not None
            first = rows[start].chain
            assert first is not None
            seal = SealRow(first.prev_position, first.prev_hash, row.chain.entry_hash,
                           index - start + 1, key_id(key.public_key()), b"")
            payload = seal.payload(row.position)
            seal = replace(seal, signature=key.sign(payload))
            if disclosed is not None:
                epoch = 1 + sum(1 for d in disclosed if d < row.position)
                seal = replace(seal, epoch=epoch, mac=seal_mac(epoch_key(secret, epoch),
                                                               seal.mac_input(row.position)))
            out.append(replace(row, seal=seal))
            start = index + 1
        else:
            out.append(row)
    return out


def disclose(rows: list[Row], at: list[int], key: Ed25519PrivateKey = KEY) -> list[Disclosure]:
    """The service's key disclosures of epochs 1, 2, ... at the given positions."""
    out = []
    secret = key.private_bytes_raw()
    for epoch, position in enumerate(at, start=1):
        count = sum(1 for r in rows if r.position <= position and r.chain is not None)
        head = next((r.chain.entry_hash for r in rows if r.position == position and r.chain),
                    GENESIS)
        d = Disclosure(epoch, position, count, head, epoch_key(secret, epoch),
                       key_id(key.public_key()), b"")
        out.append(replace(d, signature=key.sign(d.payload())))
    return out


def test_a_sealed_history_verifies_and_survives_a_bundle(tmp_path: Path) -> None:
    log, checkpoints = history()
    rows = sealed(log.rows, [2, 6, 10, 13, 14])
    report = verify_rows(rows, public_keys=PUBLIC, checkpoints=checkpoints)
    assert report.ok and report.sealed_through == 14
    assert "unsealed_history" not in {f.kind for f in report.findings}
    write_bundle(tmp_path / "b.jsonl", rows=rows, checkpoints=checkpoints, source="test")
    again = verify_bundle(tmp_path / "b.jsonl", public_keys=PUBLIC)
    assert again.ok and again.sealed_through == 14


def test_rows_appended_without_a_seal_are_unauthenticated_at_their_positions() -> None:
    log, _ = history()
    # 11 and 12 appended by a role without the key; the service's next write (13..14)
    # extends them: its seal names 12 as the head it extended
    rows = sealed(log.rows, [2, 6, 10])
    tail = sealed(log.rows[12:], [14])
    report = verify_rows([*rows[:12], *tail], public_keys=PUBLIC)
    assert errors(report) == {("unauthenticated", 11), ("unauthenticated", 12)}
    after = verify_rows(rows, public_keys=PUBLIC)  # nothing sealed after 10
    assert errors(after) == {("unauthenticated", p) for p in (11, 12, 13, 14)}


def test_a_seal_by_another_key_or_over_a_re_computed_entry_is_refused() -> None:
    log, _ = history()
    stranger = sealed(log.rows, [14], Ed25519PrivateKey.generate())
    assert errors(verify_rows(stranger, public_keys=PUBLIC)) >= {("unauthenticated", 14)}
    rows = sealed(log.rows, [14])
    rows[5] = edit_state(rows[5], lambda d: d.update(actor="mallory"))
    rechained = [replace(r, seal=s.seal) for r, s in zip(rechain(rows), rows, strict=True)]
    kinds = {f.kind for f in verify_rows(rechained, public_keys=PUBLIC).errors}
    assert "bad_seal" in kinds


def test_entries_before_the_first_seal_are_one_warning() -> None:
    log, _ = history()
    legacy = sealed(log.rows[10:], [12, 14])  # sealing turned on after position 10
    report = verify_rows([*log.rows[:10], *legacy], public_keys=PUBLIC)
    assert report.ok
    warned = [(f.kind, f.position) for f in report.findings if f.severity == "warning"]
    assert ("unsealed_history", 1) in warned


# --- forged decisions appended by the INSERT-only role (issue 18, item 5) --------------------


def forged_tail(log: Log, legit: int) -> set[tuple[str, int | None]]:
    """(kind, position) of every error once the rows after `legit` were appended with valid
    hashes but without the service's seal (what `cxgov_app` can do), the rest sealed."""
    rows = sealed(log.rows, [r.position for r in log.rows if r.position <= legit])
    report = verify_rows(rows, public_keys=PUBLIC)
    assert {f.position for f in report.errors if f.kind == "unsealed_row"} == set(
        range(legit + 1, log.position + 1))
    return {(f.kind, f.position) for f in report.errors}


def test_a_forged_one_approver_approval_above_the_threshold_is_four_eyes() -> None:
    log = Log()
    big = log.submit(18)
    legit = log.position
    forged = log.approve(big, actor="dana")  # 18 M, one approver, threshold 10 M
    assert forged_tail(log, legit) - {("unsealed_row", forged), ("unsealed_row", forged - 1)} \
        == {("four_eyes", forged)}


def test_a_forged_self_approval_is_segregation_of_duties() -> None:
    log = Log()
    mine = log.submit(4, by="rob")
    legit = log.position
    forged = log.approve(mine, actor="rob")
    assert ("segregation_of_duties", forged) in forged_tail(log, legit)
    assert {k for k, _ in forged_tail(log, legit)} == {"unsealed_row", "segregation_of_duties"}


def test_a_forged_approval_that_overspends_the_pool_is_pool_arithmetic() -> None:
    log = Log(threshold_m=100)
    first, second = log.submit(60), log.submit(50)
    # ranked by cost (I02 first); the recommendation funds I02 only: approving I01 departs
    log.approve(first, actor="dana", rank=2, cut_line_rank=1, recommended=False,
                rationale="board")
    legit = log.position
    forged = log.approve(second, actor="chris", rank=1, cut_line_rank=2, recommended=False,
                         rationale="needed")  # 60 + 50 of a 100 M pool
    found = forged_tail(log, legit)
    assert ("pool_arithmetic", forged - 1) in found  # the commitment beyond the pool
    assert {k for k, _ in found} == {"unsealed_row", "pool_arithmetic"}


@pytest.mark.parametrize("claim", ["recommended", "departure"])
def test_a_forged_approval_below_the_cut_line_without_a_justification_is_found(
        claim: str) -> None:
    """Below the cut line (no value, not mandatory: the recommendation funds only I01), an
    approval needs a written rationale. Forged without one, it either claims to comply
    (recommended) or admits the departure: either way a rule names it at its position."""
    log = Log()
    funded, low = log.submit(3), log.submit(2, mandatory=False)
    log.approve(funded, actor="dana", rank=2, cut_line_rank=2)
    legit = log.position
    forged = log.approve(low, actor="chris", rank=1, cut_line_rank=2,
                         recommended=claim == "recommended")
    found = forged_tail(log, legit) - {("unsealed_row", forged), ("unsealed_row", forged - 1)}
    if claim == "recommended":
        assert found == {("recommended_flag", forged), ("departure_flag", forged)}
    else:
        assert found == {("departure_flag", forged)}


# --- the auditor's policy (issue 18, part 4) ------------------------------------------------


def test_the_newest_rows_and_their_checkpoint_deleted_fail_a_required_anchor() -> None:
    log, checkpoints = history()
    # the operator deletes the newest rows and the checkpoint over them: consistent, but
    # the auditor saw position 14 signed last time
    report = verify_rows(log.rows[:10], public_keys=PUBLIC, checkpoints=checkpoints[:1])
    assert report.ok  # only the unanchored warning, with the public key alone
    required = Policy(anchored_through=14).check(report)
    assert errors(required) == {("truncated", 7)}


def test_too_few_or_too_old_checkpoints_fail_the_policy() -> None:
    log, checkpoints = history()
    report = verify_rows(log.rows, public_keys=PUBLIC, checkpoints=checkpoints[:1])
    assert errors(Policy(min_checkpoints=2).check(report)) == {("deleted", 7)}
    issued = from_micros(max(c.issued_at_us for c in checkpoints[:1]))
    fresh = Policy(max_age_s=3600).check(report, now=issued + timedelta(minutes=59))
    stale = Policy(max_age_s=3600).check(report, now=issued + timedelta(minutes=61))
    assert fresh.ok and errors(stale) == {("truncated", 7)}
    assert parse_duration("2h") == 7200 and parse_duration("90m") == 5400


def test_the_cli_applies_the_policy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log, checkpoints = history()
    path = tmp_path / "b.jsonl"
    write_bundle(path, rows=log.rows[:10], checkpoints=checkpoints[:1], source="test")
    key = raw_public_key(KEY.public_key()).hex()
    assert main(["--bundle", str(path), "--public-key", key]) == 0
    assert main(["--bundle", str(path), "--public-key", key,
                 "--require-anchored-through", "14"]) == 1
    assert "policy_anchored_through" in capsys.readouterr().out


# --- no false positives -----------------------------------------------------------------------


@functools.cache
def decision_history(k: int) -> tuple[Row, ...]:
    """The k-th clean history the service itself makes (tests/app/decision_histories.py)."""
    gov, _ = generate(k, steps=20)
    try:
        return tuple(rows_of(gov))
    finally:
        gov.close()


def laid_out(source: tuple[Row, ...], rnd: random.Random) -> tuple[list[Row], list[int]]:
    """The history's events in random write transactions with gaps between them (rolled-back
    writes), re-chained; each decision's ranking position follows its event. Returns the rows
    and each transaction's last position."""
    moved: dict[int, int] = {0: 0}
    ends: list[int] = []
    position, index = 0, 0
    while index < len(source):
        position += rnd.choice([1, 1, 1, 2, 5])
        batch = source[index:index + rnd.randint(1, 4)]
        for k, row in enumerate(batch):
            moved[row.position] = position + k
        index += len(batch)
        position += len(batch) - 1
        ends.append(position)
    rows = []
    for row in source:
        assert row.event is not None
        data = json.loads(row.event.state)
        if "decision" in data:  # a value object: {"_type_": ..., "_data_": {...}}
            record = data["decision"].get("_data_", data["decision"])
            record["ranking_position"] = moved[record["ranking_position"]]
        event = replace(row.event, state=json.dumps(data).encode())
        rows.append(Row(moved[row.position], event, None))
    return rechain(rows), ends


def test_a_thousand_clean_generated_histories_verify_with_no_finding_but_gaps() -> None:
    """Clean histories the service made (40 distinct decision histories: submissions,
    decisions, tranches, spend, descopes, stops, restatements, plans of record, guardrails),
    each laid out 25 ways: random transaction sizes, gaps, seals (turned on part-way in some;
    in half of them with write epochs whose keys are disclosed at random transaction ends),
    checkpoints and receipts. The chain, version, seal and anchor checks and every decision
    rule re-derived from the log find nothing."""
    decisions = by_mac = 0
    for seed in range(1000):
        rnd = random.Random(seed)
        rows, ends = laid_out(decision_history(seed % 40), rnd)
        sealed_from = rnd.choice([0, 0, len(ends) // 2, len(ends)])  # index of the first seal
        # write epochs in half the histories: keys disclosed at random transaction ends
        disclosed = (sorted(rnd.sample(ends, k=rnd.randint(0, min(5, len(ends)))))
                     if seed % 2 else None)
        rows = sealed(rows, ends[sealed_from:], disclosed=disclosed)
        anchors = rnd.sample(ends, k=rnd.randint(0, len(ends)))
        checkpoints = sign(rows, sorted(anchors))
        receipts = [Receipt(r.position, r.chain.entry_hash) for r in rows
                    if r.chain is not None and rnd.random() < 0.2]
        report = verify_rows(rows, public_keys=PUBLIC, checkpoints=checkpoints,
                             trusted_checkpoints=checkpoints[:1], receipts=receipts,
                             disclosures=disclose(rows, disclosed or []))
        assert report.ok and report.errors == (), (seed, report.errors)
        decisions += report.decisions_checked
        by_mac += report.seals_by_mac
    assert decisions > 3000  # the rules ran: about 5 decisions a history
    assert by_mac > 1000  # and the epochs' MACs authenticated seals
