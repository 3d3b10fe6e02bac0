"""The decision replay reads the rows once (decision 289): fed as the chain checks read them
(a bundle's one parse, a database's one cursor), it finds exactly what it found when its
ranking pass read every row a second time. The reference is RankReplay past its memory bound,
which drops what it kept and reads the rows again, as every pass once did. Compared on the
service's own histories, clean and tampered (reordered, dropped, duplicated and unreadable
rows, moved ranking positions), on a large period, and through a bundle file."""

from __future__ import annotations

import base64
import json
import random
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from uuid import UUID

import pytest

from auditverify import bundle as bundle_module
from auditverify.bundle import verify_bundle, write_bundle
from auditverify.decisions import DECISIONS
from auditverify.model import EventRow, Finding, Row
from auditverify.replay import KEEP_BYTES, DecisionReplay
from ops.bench.audit_decisions import history as large_period
from tests.app.decision_histories import generated_rows
from tests.unit.test_auditverify import KEY, sign
from tests.unit.test_tamper_catalogue import rechain

Outcome = tuple[int, list[Finding]]


def replayed(rows: list[Row], keep_bytes: int) -> tuple[Outcome, int]:
    """DecisionReplay fed `rows` once; its outcome and how often it read them again."""
    reads = 0

    def reread() -> Iterable[Row]:
        nonlocal reads
        reads += 1
        return iter(rows)

    replay = DecisionReplay(reread, keep_bytes=keep_bytes)
    for row in rows:
        replay.feed(row)
    return replay.finish(), reads


def is_decision(row: Row) -> bool:
    return row.event is not None and row.event.topic.removeprefix("cxgov.") in DECISIONS


def tamper(rows: list[Row], rnd: random.Random) -> list[Row]:
    """Three of: two rows swapped, a row dropped, a row duplicated, a decision whose JSON is
    cut, a decision ranked at another position, a decision's rank changed, an event the
    ranking does not fold read early with a position past the end (everything before that
    position is then settled: the replay must settle it there too, though it keeps no such
    row)."""
    out = list(rows)
    decisions = [i for i, row in enumerate(out) if is_decision(row)]

    def restate(i: int, change: Callable[[bytes], bytes]) -> None:
        event = out[i].event
        assert event is not None
        out[i] = replace(out[i], event=replace(event, state=change(event.state)))

    def record(state: bytes, change: Callable[[dict[str, object]], None]) -> bytes:
        try:
            data = json.loads(state)
        except ValueError:
            return state  # already cut by an earlier edit
        stored = data["decision"]
        change(stored.get("_data_", stored))  # the service's stored encoding wraps it
        return json.dumps(data).encode()

    def moved(state: bytes) -> bytes:
        return record(state, lambda d: d.update(ranking_position=rnd.randint(1, len(rows))))

    def reranked(state: bytes) -> bytes:
        return record(state, lambda d: d.update(rank=int(str(d["rank"])) + 1))

    for edit in rnd.sample(range(7), 3):
        i = rnd.randrange(len(out) - 1)
        d = rnd.choice(decisions) if decisions else i
        if edit == 0:
            out[i], out[i + 1] = out[i + 1], out[i]
        elif edit == 1:
            del out[i]
            decisions = [x - (x > i) for x in decisions if x != i]
        elif edit == 2:
            out.insert(i, out[i])
            decisions = [x + (x >= i) for x in decisions]
        elif edit == 3:
            restate(d, lambda state: state[: len(state) // 2])
        elif edit == 4:
            restate(d, moved)
        elif edit == 5:
            restate(d, reranked)
        else:
            late = EventRow(str(UUID(int=rnd.getrandbits(128))), 1,
                            "cxgov.FeedbackBatch.Recorded", b"{}")
            out.insert(i, Row(len(rows) + 10, late, None))
            decisions = [x + (x >= i) for x in decisions]
    return out


def test_one_read_finds_what_two_reads_find_on_clean_and_tampered_histories() -> None:
    rnd = random.Random(289)
    decided = tampered_findings = 0
    for seed in range(24):
        clean = generated_rows(seed, steps=20)
        for rows in (clean, tamper(clean, rnd), tamper(clean, rnd)):
            once, reads = replayed(rows, KEEP_BYTES)
            twice, rereads = replayed(rows, 0)
            assert (once, reads) == (twice, 0), seed
            assert rereads == (1 if twice[0] else 0)  # the reference did read them again
            decided += once[0]
            tampered_findings += len(once[1]) if rows is not clean else 0
        assert replayed(clean, KEEP_BYTES)[0][1] == []  # a clean history finds nothing
    assert decided > 300 and tampered_findings > 40  # the comparisons were not vacuous


@pytest.mark.parametrize("keep_bytes", [0, 20_000, KEEP_BYTES])
def test_past_its_bound_the_replay_reads_again_with_the_same_outcome(keep_bytes: int) -> None:
    rows, made = large_period(120, 200, 7, departures=0.2)
    rows = rows[:150] + rows[151:]  # a dropped event: findings that depend on the fold
    outcome, reads = replayed(rows, keep_bytes)
    assert outcome == replayed(rows, 0)[0]
    assert outcome[0] == made and outcome[1]
    assert reads == (0 if keep_bytes == KEEP_BYTES else 1)


def test_a_bundle_is_parsed_once_and_reports_what_a_second_parse_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    rows = rechain(generated_rows(3, steps=30))
    decisions = [i for i, row in enumerate(rows) if is_decision(row)]
    path = tmp_path / "b.jsonl"
    write_bundle(path, rows=rows, checkpoints=sign(rows, [rows[-1].position]), source="test")
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    first_row = 2  # the header, one checkpoint, then the rows
    at = [first_row + i for i in decisions]
    lines[at[0]], lines[at[0] + 1] = lines[at[0] + 1], lines[at[0]]  # reordered
    record = json.loads(lines[at[1]])
    record["event"]["state"] = base64.b64encode(b'{"decision": ').decode()  # unreadable
    lines[at[1]] = json.dumps(record) + "\n"
    lines[at[2]] = "not json\n"  # a malformed row line: no row for the replay either
    tampered = tmp_path / "t.jsonl"
    tampered.write_text("".join(lines), encoding="utf-8")

    parsed = 0
    parse = bundle_module.row_from_json

    def counted(data: object) -> Row:
        nonlocal parsed
        parsed += 1
        return parse(data)  # type: ignore[arg-type]

    class SecondParse(DecisionReplay):
        """The verifier before decision 289: the replay parses the bundle again."""

        def __init__(self, reread: Callable[[], Iterable[Row]]) -> None:
            super().__init__(reread, keep_bytes=0)
            self._reread = reread

        def feed(self, row: Row) -> None:
            pass

        def finish(self) -> Outcome:
            replay = DecisionReplay(self._reread, keep_bytes=0)
            for row in self._reread():
                replay.feed(row)
            return replay.finish()

    for file, readable in ((path, len(rows)), (tampered, len(rows) - 1)):
        monkeypatch.setattr(bundle_module, "row_from_json", counted)
        parsed = 0
        report = verify_bundle(file, public_keys=[KEY.public_key()])
        assert parsed == readable  # every row line parsed once, the broken one tried once
        monkeypatch.setattr(bundle_module, "row_from_json", parse)
        monkeypatch.setattr(bundle_module, "DecisionReplay", SecondParse)
        assert verify_bundle(file, public_keys=[KEY.public_key()]) == report
        monkeypatch.undo()
        if file is path:
            assert report.ok and report.decisions_checked == len(decisions) > 5
        else:
            kinds = {f.kind for f in report.errors}
            assert {"malformed_row", "malformed_event", "order"} <= kinds, kinds
