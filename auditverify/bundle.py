"""The audit bundle: one JSON document per line (header, checkpoints, key disclosures, rows,
end). Version 2 added the key disclosures and the seals' epochs and MACs (decision 287); a
version 1 bundle is still read.

Over 400 lines: writing it, reading it, and reading it in two halves (`--workers 2`, decision
290: `_second_half` in a forked helper) share one set of line and record rules, which must
not drift apart."""

from __future__ import annotations

import base64
import functools
import gc
import io
import json
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from auditverify.encoding import from_micros, micros
from auditverify.forked import Helper, Part
from auditverify.keys import key_id
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
from auditverify.replay import DecisionReplay
from auditverify.verifier import Verifier

FORMAT = "cxgov-audit-bundle"
VERSION = 2
#: the versions this verifier reads
READABLE = (1, 2)


#: The records between the header and the rows: their field, how each is read, and the
#: finding (with its wording) for one that cannot be read.
_BEFORE_ROWS: dict[str, tuple[Any, str, str]] = {
    "checkpoint": (Checkpoint.from_json, "malformed_checkpoint", "a checkpoint"),
    "disclosure": (Disclosure.from_json, "malformed_disclosure", "a key disclosure"),
}


class BundleError(ValueError):
    """The file is not a readable audit bundle."""


def row_to_json(row: Row) -> dict[str, Any]:
    """One position as a JSON object (state in base64, hashes in hex)."""
    event = row.event
    chain = row.chain
    return {
        "position": row.position,
        "event": None if event is None else {
            "originator_id": event.originator_id,
            "originator_version": event.originator_version,
            "topic": event.topic,
            "state": base64.b64encode(event.state).decode("ascii"),
        },
        "chain": None if chain is None else {
            "prev_position": chain.prev_position,
            "prev_hash": chain.prev_hash.hex(),
            "entry_hash": chain.entry_hash.hex(),
            "recorded_at": from_micros(chain.recorded_at_us).isoformat(),
        },
        **({} if row.seal is None else {"seal": row.seal.to_json()}),
    }


def row_from_json(data: Mapping[str, Any]) -> Row:
    """One position from its JSON object."""
    event = data.get("event")
    chain = data.get("chain")
    seal = data.get("seal")
    return Row(
        seal=None if seal is None else SealRow.from_json(seal),
        position=int(data["position"]),
        event=None if event is None else EventRow(
            originator_id=str(event["originator_id"]),
            originator_version=int(event["originator_version"]),
            topic=str(event["topic"]),
            state=base64.b64decode(event["state"], validate=True),
        ),
        chain=None if chain is None else ChainRow(
            prev_position=int(chain["prev_position"]),
            prev_hash=bytes.fromhex(chain["prev_hash"]),
            entry_hash=bytes.fromhex(chain["entry_hash"]),
            recorded_at_us=micros(datetime.fromisoformat(chain["recorded_at"])),
        ),
    )


def write_bundle(
    path: Path,
    *,
    rows: Iterable[Row],
    checkpoints: Sequence[Checkpoint],
    source: str,
    application: str = "cxgov",
    disclosures: Sequence[Disclosure] = (),
) -> int:
    """Write a bundle atomically (temporary file, then rename); return the rows written."""
    keys = {c.key_id: c.public_key for c in checkpoints if c.public_key}
    header = {
        "format": FORMAT,
        "version": VERSION,
        "application": application,
        "exported_at": datetime.now(UTC).isoformat(),
        "source": source,
        "encoding": {"chain": "cxgov-chain-v1", "checkpoint": "cxgov-checkpoint-v1",
                     "seal": "cxgov-seal-v1", "seal_mac": "blake2b-keyed/cxgov-seal-mac",
                     "disclosure": "cxgov-epoch-key-v1"},
        "public_keys": [
            {"key_id": kid, "public_key": base64.b64encode(raw).decode("ascii")}
            for kid, raw in sorted(keys.items())
        ],
    }
    tmp = path.with_name(path.name + ".part")
    count = 0
    with tmp.open("w", encoding="utf-8") as out:
        _line(out, header)
        for c in checkpoints:
            _line(out, {"checkpoint": c.to_json()})
        for d in disclosures:
            _line(out, {"disclosure": d.to_json()})
        for row in rows:
            _line(out, row_to_json(row))
            count += 1
        _line(out, {"end": {"rows": count, "checkpoints": len(checkpoints),
                            "disclosures": len(disclosures)}})
        out.flush()
        os.fsync(out.fileno())
    tmp.replace(path)
    return count


def _line(out: TextIO, data: Mapping[str, Any]) -> None:
    out.write(json.dumps(data, separators=(",", ":"), sort_keys=True))
    out.write("\n")


def _records(lines: Iterable[str], *, lenient: bool = False, first: int = 1,
             ) -> Iterator[tuple[int, dict[str, Any] | None]]:
    """The JSON object of each non-blank line (numbered from `first`); with `lenient`, None
    for a line that is not one (the caller reports it as a finding where it sits) instead of
    BundleError."""
    for number, line in enumerate(lines, start=first):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            if lenient and number > 1:
                yield number, None
                continue
            raise BundleError(f"line {number} is not JSON: {exc}") from None
        if not isinstance(record, dict):
            if lenient and number > 1:
                yield number, None
                continue
            raise BundleError(f"line {number} is not a JSON object")
        yield number, record


def _objects_only(records: Iterable[tuple[int, dict[str, Any] | None]],
                  ) -> Iterator[tuple[int, dict[str, Any]]]:
    for number, record in records:
        if record is None:
            raise BundleError(f"line {number} is not a JSON object")
        yield number, record


def read_header(record: Mapping[str, Any]) -> dict[str, Any]:
    """Check the header line and return it."""
    if record.get("format") != FORMAT or record.get("version") not in READABLE:
        raise BundleError(f"not a {FORMAT} file of version {' or '.join(map(str, READABLE))}")
    return dict(record)


def verify_bundle(
    path: Path,
    *,
    public_keys: Iterable[Ed25519PublicKey],
    trusted_checkpoints: Sequence[Checkpoint] = (),
    receipts: Sequence[Receipt] = (),
    workers: int = 1,
    check_signatures: bool = False,
) -> Report:
    """Verify a bundle file against the auditor's public keys (never the bundle's own).
    `workers=2` (a file of SPLIT_BYTES or more): a forked helper reads and checks the file's
    second half, from the first sealed row past its middle line, as a clean history's
    continuation, while this process reads and checks the first; this process takes the
    helper's state only if the helper found nothing and this process's own state at that
    row is what it assumed, and otherwise reads the second half itself (decision 290). The
    findings are the same. `check_signatures`: every seal's signature, not its MAC (decision
    287). Lines end at "\n" only (JSON Lines)."""
    keys = {key_id(k): k for k in public_keys}
    size = path.stat().st_size
    split = _split_at(path, size) if workers > 1 and size >= SPLIT_BYTES else None
    helper: Helper | None = None
    with path.open(encoding="utf-8", newline="\n") as lines:
        records = _records(lines, lenient=True)
        first = next(records, None)
        if first is None or first[1] is None:
            raise BundleError("the file is empty")
        header = read_header(first[1])
        checkpoints: list[Checkpoint] = []
        disclosures: list[Disclosure] = []
        before_rows: dict[str, list[Any]] = {"checkpoint": checkpoints,
                                             "disclosure": disclosures}
        verifier: Verifier | None = None
        end: dict[str, Any] | None = None
        rows = 0
        last_position = 0
        # checkpoints and disclosures that cannot be read: (kind, position, detail)
        unreadable: list[tuple[str, int, str]] = []
        # each readable row goes on to the decision replay as it is parsed (decision 289)
        replay = DecisionReplay(lambda: _bundle_rows(path))
        # where this process stopped for the helper: (line, position, entry hash)
        boundary: _Boundary | None = None

        def row_lines(verifier: Verifier, number: int, record: dict[str, Any] | None,
                      stop_from: int | None = None) -> Iterator[Row]:
            """The rows from this line on, for Verifier.feed_many (which checks each as
            feed() would); stops at the end record (kept in `end`), or after the first sealed
            row from line `stop_from` on (kept in `boundary`: the helper's part follows)."""
            nonlocal end, rows, last_position, boundary
            while True:
                if end is not None:
                    raise BundleError(f"line {number} follows the end record")
                if record is not None and ("checkpoint" in record or "disclosure" in record):
                    raise BundleError(f"line {number}: a checkpoint or disclosure after the "
                                      "rows")
                if record is not None and "end" in record:
                    end = dict(record["end"]) if isinstance(record["end"], dict) else {}
                else:
                    # a row line: whatever is wrong with it is a finding at its position
                    row, problem = _row_or_problem(record)
                    if row is None:
                        where = _stated_position(record, after=last_position)
                        verifier.add("malformed_row", where,
                                     f"line {number} (position {where}) cannot be read as a "
                                     f"row: {problem}")
                        if where > last_position:
                            yield Row(where, None, None)
                            last_position = where
                    else:
                        replay.feed(row)
                        yield row
                        last_position = max(last_position, row.position)
                    rows += 1
                    if (stop_from is not None and number >= stop_from and row is not None
                            and row.seal is not None):
                        boundary = _boundary_of(number, row)
                        return
                following = next(records, None)
                if following is None:
                    return
                number, record = following

        for number, record in records:
            field = next((f for f in _BEFORE_ROWS if record is not None and f in record), None)
            if field is not None:
                assert record is not None  # for mypy: field was found in it
                read, kind, what = _BEFORE_ROWS[field]
                try:
                    before_rows[field].append(read(record[field]))
                except (KeyError, TypeError, ValueError, AttributeError) as exc:
                    stated = record[field]
                    where = stated.get("position") if isinstance(stated, dict) else None
                    unreadable.append((kind, where if isinstance(where, int) else 0,
                                       f"line {number}: {what} that cannot be read "
                                       f"({type(exc).__name__}: {exc})"))
                continue
            verifier = Verifier(public_keys=keys, checkpoints=checkpoints,
                                trusted_checkpoints=trusted_checkpoints, receipts=receipts,
                                disclosures=disclosures, check_signatures=check_signatures)
            for kind, where, detail in unreadable:
                verifier.add(kind, where, detail)
            stop_from = None  # the line this process reads to, if a helper reads on from it
            if split is not None and split[0] > number:
                helper = Helper.fork(functools.partial(_second_half, path, split, verifier))
                stop_from = split[0] if helper is not None else None
            try:
                verifier.feed_many(row_lines(verifier, number, record, stop_from))
                if boundary is not None:
                    half = helper.answer() if helper is not None else None
                    if (isinstance(half, _Half) and half.boundary == boundary
                            and verifier.take(half.part)):
                        for row in half.replay:
                            replay.feed(row)
                        rows += half.rows
                        last_position = max(last_position, half.last)
                        end = half.end
                    else:  # the helper found something, or assumed otherwise: read on here
                        following = next(records, None)
                        if following is not None:
                            verifier.feed_many(row_lines(verifier, *following))
            finally:
                if helper is not None:
                    helper.stop()
            break
        if verifier is None:
            verifier = Verifier(public_keys=keys, checkpoints=checkpoints,
                                trusted_checkpoints=trusted_checkpoints, receipts=receipts,
                                disclosures=disclosures, check_signatures=check_signatures)
            for kind, where, detail in unreadable:
                verifier.add(kind, where, detail)
        if end is None:
            verifier.add("bundle_incomplete", last_position + 1,
                         f"the bundle has no end record: cut short after position "
                         f"{last_position}")
        elif (end.get("rows") != rows or end.get("checkpoints") != len(checkpoints)
              or end.get("disclosures", 0) != len(disclosures)):
            verifier.add("bundle_incomplete", last_position + 1,
                         f"the end record counts {end} but the file holds {rows} rows, "
                         f"{len(checkpoints)} checkpoints and {len(disclosures)} key "
                         f"disclosures, up to position {last_position}")
        offered = {k["key_id"] for k in header.get("public_keys", [])}
        strangers = sorted(offered - set(keys))
        if strangers:
            verifier.add("foreign_key_offered", None,
                         f"the bundle offers key(s) {strangers} that the auditor did not give; "
                         "they were not used", "warning")
        report = verifier.finish()
    return report.with_decisions(*replay.finish())


def _bundle_rows(path: Path) -> Iterator[Row]:
    """The readable rows again, as the chain pass gave them to the replay (only if the events
    the ranking folds outgrow what the replay keeps)."""
    with path.open(encoding="utf-8", newline="\n") as lines:
        for _, record in _records(lines, lenient=True):
            if record is None or "checkpoint" in record or "disclosure" in record or (
                    "end" in record):
                continue
            if "position" in record:
                row, _ = _row_or_problem(record)
                if row is not None:  # an unreadable row is already a finding
                    yield row


def _row_or_problem(record: Mapping[str, Any] | None) -> tuple[Row | None, str]:
    if record is None:
        return None, "not a JSON object"
    try:
        return row_from_json(record), ""
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        return None, f"{type(exc).__name__}: {exc}"


def _stated_position(record: Mapping[str, Any] | None, *, after: int) -> int:
    """The position a broken row line names, if it names a usable one; else the next."""
    value = None if record is None else record.get("position")
    if isinstance(value, int) and not isinstance(value, bool) and value > after:
        return value
    return after + 1


#: verify_bundle(workers=2) splits files from this size on (smaller: one process)
SPLIT_BYTES = 8 << 20
#: a sealed row a bundle was split at: (its line, its position, its entry hash)
_Boundary = tuple[int, int, bytes | None]


def _boundary_of(number: int, row: Row) -> _Boundary:
    return number, row.position, None if row.chain is None else row.chain.entry_hash


def _split_at(path: Path, size: int) -> tuple[int, int]:
    """The line holding the file's middle byte: its number and the offset it starts at
    (lines end at "\n")."""
    middle, newlines, start, at = size // 2, 0, 0, 0
    with path.open("rb") as raw:
        while at < middle:
            chunk = raw.read(min(1 << 20, middle - at))
            if not chunk:
                break
            found = chunk.count(b"\n")
            if found:
                newlines += found
                start = at + chunk.rindex(b"\n") + 1
            at += len(chunk)
    return newlines + 1, start


@dataclass(frozen=True)
class _Half:
    """What the helper found in a bundle's second half, all of it clean: where it began (the
    first sealed row from the middle line on, which verify_bundle's own read ends with), the
    state the rows after it leave (forked.Part), their count, their last position, the end
    record, and the rows the decision replays read (without chain or seal)."""

    boundary: _Boundary
    part: Part
    rows: int
    last: int
    end: dict[str, Any]
    replay: list[Row]


def _second_half(path: Path, split: tuple[int, int], verifier: Verifier) -> _Half | None:
    """In the forked helper: read the file from the middle line, skip to the first sealed
    row, check every row after it as a clean continuation (Verifier.check_part) up to the
    end record, the last line. None for anything else at all (a line that is not a row, a
    row that cannot be read, a finding, no end record): verify_bundle then reads it itself."""
    line, offset = split
    gc.disable()  # a short-lived process building one list of rows: no cycles to collect
    rows: list[Row] = []
    boundary: _Boundary | None = None
    end: dict[str, Any] | None = None
    with path.open("rb") as raw:
        raw.seek(offset)
        text = io.TextIOWrapper(raw, encoding="utf-8", newline="\n")
        for number, record in _records(text, lenient=True, first=line):
            if (end is not None or record is None or "checkpoint" in record
                    or "disclosure" in record):
                return None
            if "end" in record:
                end = dict(record["end"]) if isinstance(record["end"], dict) else {}
                continue
            row, _ = _row_or_problem(record)
            if row is None:
                return None
            if boundary is not None:
                rows.append(row)
            elif row.seal is not None:
                boundary = _boundary_of(number, row)
    if boundary is None or end is None or not rows:
        return None
    part = verifier.check_part(rows)
    if part is None:
        return None
    replay = [Row(r.position, r.event, None) for r in rows
              if r.event is not None and DecisionReplay.reads(r.event.topic)]
    return _Half(boundary, part, len(rows), rows[-1].position, end, replay)


def load_receipts(path: Path) -> list[Receipt]:
    """Receipts from JSON lines or a JSON array of {position, entry_hash}."""
    return [Receipt.from_json(item) for item in _objects(path)]


def load_checkpoints(path: Path) -> list[Checkpoint]:
    """Checkpoints from JSON lines or a JSON array (bare, or wrapped as {"checkpoint": ...})."""
    return [Checkpoint.from_json(item.get("checkpoint", item)) for item in _objects(path)]


def _objects(path: Path) -> list[dict[str, Any]]:
    text = path.read_text(encoding="utf-8")
    if text.lstrip().startswith("["):
        data = json.loads(text)
        if not isinstance(data, list) or not all(isinstance(x, dict) for x in data):
            raise BundleError(f"{path} is not a JSON array of objects")
        return data
    return [record for _, record in _objects_only(_records(text.splitlines()))]
