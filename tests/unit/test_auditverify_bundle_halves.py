"""A bundle read in two halves (decision 290): with `workers=2` a forked helper reads and checks
the file's second half while this process reads the first. Its work is taken only if its half
is clean and this process's state at the boundary is what it assumed; on anything else this
process reads the half itself. Either way the report is the one process's, finding for
finding, decisions included."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from auditverify import bundle as bundle_module
from auditverify.bundle import BundleError, verify_bundle, write_bundle
from auditverify.model import Report, Row
from auditverify.replay import DecisionReplay, check_decisions
from ops.bench.audit_bundle import period_events
from tests.app.decision_histories import generated_rows
from tests.unit.test_auditverify_feed_many import KEY, chained, disclosures, merges

PUBLIC = [KEY.public_key()]


def service_bundle(tmp_path: Path, seed: int, *, disclose: bool = False) -> tuple[Path, int]:
    """One of the service's generated histories (decisions, tranches, revisions, stops),
    chained and sealed as write transactions are; the bundle and its row count."""
    events = [(r.position, r.event) for r in generated_rows(seed) if r.event is not None]
    rnd = random.Random(seed)
    rows = chained(events, rnd, seal_every=rnd.choice([1, 2, 3]),
                   disclose_every=20 if disclose else 0)
    path = tmp_path / f"b{seed}.jsonl"
    write_bundle(path, rows=rows, checkpoints=[], source="test",
                 disclosures=disclosures(rows) if disclose else ())
    return path, len(rows)


def verified(path: Path, workers: int) -> Report | str:
    """The report, or what the bundle's BundleError says."""
    try:
        return verify_bundle(path, public_keys=PUBLIC, workers=workers)
    except BundleError as exc:
        return f"BundleError: {exc}"


@pytest.mark.parametrize("seed", range(16))
def test_a_clean_bundle_s_second_half_is_taken_from_the_helper(
    seed: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(bundle_module, "SPLIT_BYTES", 1)
    path, _ = service_bundle(tmp_path, seed, disclose=seed % 2 == 0)
    taken = merges(monkeypatch)
    one, two = verified(path, 1), verified(path, 2)
    assert isinstance(one, Report) and one.ok and one.decisions_checked > 0, one
    assert taken == [True]  # the helper's half was used, once
    assert two == one


def lines_of(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").split("\n")


def second_half_row(lines: list[str]) -> int:
    """A row line in the file's second half, some way past the middle."""
    middle = (len(lines) * 3) // 4
    return next(i for i in range(middle, len(lines)) if lines[i].startswith('{"chain"'))


EDITS: dict[str, Callable[[list[str], int], list[str]]] = {
    "not json": lambda lines, i: [*lines[:i], "not json", *lines[i + 1:]],
    "a state changed": lambda lines, i: [
        *lines[:i], lines[i].replace('"state":"', '"state":"AAAA', 1), *lines[i + 1:]],
    "a row deleted": lambda lines, i: [*lines[:i], *lines[i + 1:]],
    "a row doubled": lambda lines, i: [*lines[:i + 1], *lines[i:]],
    "two rows swapped": lambda lines, i: [*lines[:i], lines[i + 1], lines[i], *lines[i + 2:]],
    "a checkpoint among the rows": lambda lines, i: [
        *lines[:i], '{"checkpoint": {"seq": 1}}', *lines[i:]],
    "no end record": lambda lines, i: [line for line in lines if not line.startswith('{"end"')],
    "a line after the end": lambda lines, i: [*lines[:-1], lines[i], ""],
    "a raw carriage return in a string": lambda lines, i: [
        *lines[:i], lines[i].replace('"topic":"cx', '"topic":"c\rx', 1), *lines[i + 1:]],
}
#: edits after which the second half is still clean: the helper's work is taken
CLEAN_EDITS: dict[str, Callable[[list[str], int], list[str]]] = {
    "a blank line": lambda lines, i: [*lines[:i], "", *lines[i:]],
    "CRLF line ends": lambda lines, i: [line + "\r" if line else line for line in lines],
    # JSON whitespace: one line still (lines end at "\n" only, as JSON Lines says)
    "a raw carriage return between fields": lambda lines, i: [
        *lines[:i], lines[i].replace(",", ",\r", 1), *lines[i + 1:]],
}


@pytest.mark.parametrize("edit", sorted(EDITS))
@pytest.mark.parametrize("seed", [1, 4])
def test_anything_unclean_in_the_second_half_is_read_here_with_the_same_report(
    edit: str, seed: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(bundle_module, "SPLIT_BYTES", 1)
    path, _ = service_bundle(tmp_path, seed, disclose=True)
    lines = lines_of(path)
    path.write_text("\n".join(EDITS[edit](lines, second_half_row(lines))), encoding="utf-8")
    taken = merges(monkeypatch)
    one, two = verified(path, 1), verified(path, 2)
    assert two == one
    assert isinstance(one, str) or not one.ok  # each edit is found
    assert True not in taken  # never the helper's work


@pytest.mark.parametrize("edit", sorted(CLEAN_EDITS))
def test_what_leaves_the_second_half_clean_still_takes_the_helper_s_work(
    edit: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(bundle_module, "SPLIT_BYTES", 1)
    path, _ = service_bundle(tmp_path, 2)
    lines = lines_of(path)
    path.write_text("\n".join(CLEAN_EDITS[edit](lines, second_half_row(lines))),
                    encoding="utf-8")
    taken = merges(monkeypatch)
    one, two = verified(path, 1), verified(path, 2)
    assert isinstance(one, Report) and one.ok and two == one
    assert taken == [True]


def test_a_small_bundle_is_read_by_one_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    path, _ = service_bundle(tmp_path, 3)
    assert path.stat().st_size < bundle_module.SPLIT_BYTES
    taken = merges(monkeypatch)
    assert verified(path, 2) == verified(path, 1)
    assert taken == []


def test_the_split_line_is_the_line_holding_the_middle_byte(tmp_path: Path) -> None:
    rnd = random.Random(290)
    for _ in range(200):
        data = "".join(rnd.choice(["a", "é", "\n", "\r", "{"]) for _ in range(rnd.randrange(1, 60)))
        path = tmp_path / "f"
        path.write_bytes(data.encode())
        raw = data.encode()
        line, start = bundle_module._split_at(path, len(raw))
        middle = len(raw) // 2
        assert line == raw[:middle].count(b"\n") + 1
        assert start == raw[:middle].rfind(b"\n") + 1  # 0 when the first line holds it
        assert start <= middle


def replayed_in_part(rows: list[Row], cut: int) -> tuple[tuple[int, list[object]], int]:
    """DecisionReplay fed rows[:cut] whole, then only the rows a replay reads (without chain
    or seal), as the helper hands them back; its outcome and how many rows it left out."""
    replay, skipped = DecisionReplay(), 0
    for row in rows[:cut]:
        replay.feed(row)
    for row in rows[cut:]:
        assert row.event is not None
        if DecisionReplay.reads(row.event.topic):
            replay.feed(Row(row.position, row.event, None))
        else:
            skipped += 1
    return replay.finish(), skipped  # type: ignore[return-value]


def test_a_clean_part_needs_only_the_rows_the_replays_read() -> None:
    """What the helper hands back for the decision replays: past a point, only the rows whose
    topic a replay reads (DecisionReplay.reads), with no chain or seal; the outcome is the
    same as feeding every row. On 40 of the service's generated histories (spend, descopes,
    stops, tranches: events only the rules replay reads), from the start and from a third,
    and on the bundle bench's period spread among feedback batches, which no replay reads."""
    decided = 0
    for seed in range(40):
        rows = generated_rows(seed)
        outcome = check_decisions(lambda rows=rows: rows)
        for cut in (0, len(rows) // 3):
            assert replayed_in_part(rows, cut)[0] == outcome, (seed, cut)
        decided += outcome[0]
    assert decided > 200
    events, made = period_events(3_000, 60, 40)
    rows = [Row(p, event, None) for p, event in enumerate(events, start=1)]
    outcome, skipped = replayed_in_part(rows, 1_000)
    assert outcome == check_decisions(lambda: rows) and outcome[0] == made and skipped > 1_000


def test_a_helper_that_began_elsewhere_is_not_taken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The helper's half must begin at the very row this process ended on (the same line,
    position and entry hash: a file changed between the two reads would differ); a half that
    names another line is read here instead, with the same report."""
    monkeypatch.setattr(bundle_module, "SPLIT_BYTES", 1)
    path, _ = service_bundle(tmp_path, 5)
    second_half = bundle_module._second_half

    def elsewhere(*args: Any) -> Any:
        half = second_half(*args)
        assert half is not None  # clean: the helper's work would be taken
        line, position, entry = half.boundary
        return replace(half, boundary=(line + 1, position, entry))

    monkeypatch.setattr(bundle_module, "_second_half", elsewhere)
    taken = merges(monkeypatch)
    one, two = verified(path, 1), verified(path, 2)
    assert isinstance(one, Report) and one.ok and two == one
    assert taken == []  # refused before its state was even compared
