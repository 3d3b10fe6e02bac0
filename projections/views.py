"""Materialised views: rows plus tracking position in one transaction, in memory or PostgreSQL.

Over 400 lines on purpose: each view has an in-memory and a PostgreSQL implementation of the
same protocol, kept side by side so that the tests on one prove the other's contract.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, ExitStack, contextmanager
from datetime import datetime
from typing import Any, Literal, Protocol
from uuid import UUID

from eventsourcing.persistence import Tracking, TrackingRecorder
from eventsourcing.popo import POPOTrackingRecorder
from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from psycopg import postgres
from psycopg.adapt import Buffer, Dumper
from psycopg.copy import Copy, QueuedLibpqWriter
from psycopg.pq import Format
from psycopg.types.json import Jsonb

from projections.audit import audit_record, audit_row
from projections.codec import CORE, canonical
from projections.documents import Doc
from projections.stored import served_details

Row = dict[str, Any]
FoldSnapshot = tuple[int, dict[str, str]]  # position, texts of the parts written (core: "")
AUDIT_BATCH = 5000  # rows per COPY while an audit-log rebuild streams
dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode  # jsonb reorders keys


class PortfolioRebuild(Protocol):
    """A portfolio rebuild in progress: fold snapshots stream in, documents come at the end."""

    def fold_snapshot(self, fold_snapshot: FoldSnapshot) -> None:
        """Store a fold snapshot's parts."""

    def finish(self, docs: Sequence[Doc], position: int) -> None:
        """Store every document and the tracking position (all visible at once, on exit)."""


class AuditRebuild(Protocol):
    """An audit-log rebuild in progress: rows stream in."""

    def rows(self, rows: Sequence[Row]) -> None:
        """Store rows."""

    def add(self, position: int, event: Any, stored: bytes | None = None) -> None:
        """Store the row of one event (buffered); `stored`: its stored JSON, when read."""

    def finish(self, position: int) -> None:
        """Set the tracking position (all visible at once, on exit)."""


class PortfolioView(TrackingRecorder, ABC):
    """Documents (ranking, ledger, scorecard, directory, initiatives) and state fold snapshots."""

    @abstractmethod
    def write(self, tracking: Tracking, docs: Sequence[Doc], *, periods: Iterable[str],
              fold_snapshot: FoldSnapshot | None,
              keep: Sequence[tuple[str, str]] | None = None,
              texts: Mapping[tuple[str, str], str] | None = None) -> None:
        """Upsert docs; drop ranking rows of `periods` other than `keep` (default: the docs);
        store fold snapshot parts; record tracking; all atomically. `texts`: the canonical
        text of docs by (model, key), when the writer has it (each is `canonical(payload)`)."""

    @abstractmethod
    def documents(self, model: str, *, period: str | None = None,
                  key: str | None = None) -> list[Row]:
        """Documents of a model, ordered by sort then key."""

    @abstractmethod
    def document_texts(self, model: str, *, period: str | None = None,
                       key: str | None = None) -> list[str]:
        """The JSON texts of `documents`' answer, in its order: equal documents give equal
        texts (a reader that kept an earlier text's row need not parse it again)."""

    @abstractmethod
    def fold_snapshot(self, at_most: int | None = None) -> tuple[int, str] | None:
        """The newest whole-state fold snapshot (revision 0002's format) at or before a position."""

    @abstractmethod
    def fold_snapshot_core(self, at_most: int | None = None) -> tuple[int, str] | None:
        """The newest partitioned fold snapshot's core at or before a position."""

    @abstractmethod
    def fold_snapshot_parts(self, wanted: Mapping[str, int]) -> dict[str, str]:
        """Texts of period parts, by part name and the position each was written at."""

    @abstractmethod
    def rebuilding(self, application_name: str) -> AbstractContextManager[PortfolioRebuild]:
        """Rebuild: drop every document and fold snapshot, stream new ones in, swap on exit."""

    @abstractmethod
    def dump(self) -> list[tuple[str, str, str]]:
        """Canonical (model, key, payload) triples, for equality checks."""


class AuditLogView(TrackingRecorder, ABC):
    """The flattened audit log."""

    @abstractmethod
    def append(self, tracking: Tracking, rows: Sequence[Row]) -> None:
        """Insert rows and record tracking, atomically."""

    @abstractmethod
    def rows(self, *, after: int = 0, limit: int = 100, aggregate_id: str | None = None,
             upto: int | None = None) -> list[Row]:
        """Rows in position order."""

    @abstractmethod
    def position_at(self, at: datetime) -> int:
        """The last position whose event time is at or before `at` (0 if none)."""

    @abstractmethod
    def timeline(self, *, limit: int, before: int | None = None, after: int | None = None,
                 upto: int | None = None, topics: Sequence[str] = (),
                 family: str | None = None, aggregate_ids: Sequence[str] | None = None,
                 actor: str | None = None) -> list[Row]:
        """One page of the auditor's timeline (issue 17, decision 250), filtered in the query:
        with `after`, the `limit` rows just above it, oldest first; otherwise the `limit` rows
        below `before` (or the newest), newest first. `topics`: a topic holds one of them;
        `family`: the aggregate of the topic (`Initiative` for `cxgov.Initiative.Approved`);
        `aggregate_ids`: one of them; `actor`: the whole actor or its subject after `|`."""

    @abstractmethod
    def rebuilding(self, application_name: str) -> AbstractContextManager[AuditRebuild]:
        """Rebuild: drop every row, stream new ones in, swap on exit."""

    def replace_all(self, application_name: str, rows: Sequence[Row], position: int) -> None:
        """Rebuild: replace every row and the tracking position at once."""
        with self.rebuilding(application_name) as rebuild:
            rebuild.rows(rows)
            rebuild.finish(position)


# --- in memory -------------------------------------------------------------------------------


class MemoryPortfolioView(PortfolioView, POPOTrackingRecorder):
    """Dictionaries, guarded by the recorder's lock."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()
        self._docs: dict[tuple[str, str], Doc] = {}
        # each document's canonical text, made at its first read (decision 164): a read copies
        # a document by parsing its text, and a document read again costs no encoding
        self._texts: dict[tuple[str, str], tuple[Doc, str]] = {}
        self._fold_snapshots: dict[int, str] = {}
        self._parts: dict[tuple[str, int], str] = {}

    def write(self, tracking: Tracking, docs: Sequence[Doc], *, periods: Iterable[str],
              fold_snapshot: FoldSnapshot | None,
              keep: Sequence[tuple[str, str]] | None = None,
              texts: Mapping[tuple[str, str], str] | None = None) -> None:
        """Apply the change set and tracking under one lock."""
        with self._database_lock:
            self._assert_tracking_uniqueness(tracking)
            kept = set(keep) if keep is not None else {(d.model, d.key) for d in docs}
            drop = set(periods)
            for k, doc in list(self._docs.items()):
                if doc.model == "ranking" and doc.period in drop and k not in kept:
                    del self._docs[k]
            for doc in docs:
                self._docs[(doc.model, doc.key)] = doc
                text = None if texts is None else texts.get((doc.model, doc.key))
                if text is not None:
                    self._texts[(doc.model, doc.key)] = (doc, text)
            if fold_snapshot is not None:
                self._store(fold_snapshot)
            self._insert_tracking(tracking)

    def _store(self, fold_snapshot: FoldSnapshot) -> None:
        position, parts = fold_snapshot
        for part, text in parts.items():
            self._parts.setdefault((part, position), text)

    def documents(self, model: str, *, period: str | None = None,
                  key: str | None = None) -> list[Row]:
        """Documents of a model, ordered by sort then key."""
        return [json.loads(text) for text in self.document_texts(model, period=period, key=key)]

    def document_texts(self, model: str, *, period: str | None = None,
                       key: str | None = None) -> list[str]:
        """The canonical texts of the documents (kept, decision 164), in their order."""
        with self._database_lock:
            found = [d for d in self._docs.values() if d.model == model
                     and (period is None or d.period == period) and (key is None or d.key == key)]
        return [self._text(d) for d in sorted(found, key=lambda d: (d.sort, d.key))]

    def _text(self, doc: Doc) -> str:
        """The document's canonical text (kept while the document is the one stored)."""
        kept = self._texts.get((doc.model, doc.key))
        if kept is not None and kept[0] is doc:
            return kept[1]
        text = canonical(doc.payload)
        self._texts[(doc.model, doc.key)] = (doc, text)
        return text

    def fold_snapshot(self, at_most: int | None = None) -> tuple[int, str] | None:
        """The newest fold snapshot at or before a position."""
        with self._database_lock:
            eligible = [p for p in self._fold_snapshots if at_most is None or p <= at_most]
            return (max(eligible), self._fold_snapshots[max(eligible)]) if eligible else None

    def fold_snapshot_core(self, at_most: int | None = None) -> tuple[int, str] | None:
        """The newest core at or before a position."""
        with self._database_lock:
            eligible = [p for part, p in self._parts
                        if part == CORE and (at_most is None or p <= at_most)]
            return (max(eligible), self._parts[(CORE, max(eligible))]) if eligible else None

    def fold_snapshot_parts(self, wanted: Mapping[str, int]) -> dict[str, str]:
        """Texts of period parts."""
        with self._database_lock:
            return {part: self._parts[(part, p)] for part, p in wanted.items()}

    @contextmanager
    def rebuilding(self, application_name: str) -> Iterator[PortfolioRebuild]:
        """Collect, then swap in under the lock."""
        view = self
        parts: dict[tuple[str, int], str] = {}
        done: list[tuple[Sequence[Doc], int]] = []

        class Rebuild:
            def fold_snapshot(self, fold_snapshot: FoldSnapshot) -> None:
                for part, text in fold_snapshot[1].items():
                    parts.setdefault((part, fold_snapshot[0]), text)

            def finish(self, docs: Sequence[Doc], position: int) -> None:
                done.append((docs, position))

        yield Rebuild()
        if not done:
            raise RuntimeError("a rebuild ended without finish()")
        docs, position = done[-1]
        with view._database_lock:
            view._docs = {(d.model, d.key): d for d in docs}
            view._fold_snapshots = {}
            view._parts = parts
            view._max_tracking_ids[application_name] = position or None

    def dump(self) -> list[tuple[str, str, str]]:
        """Canonical triples."""
        with self._database_lock:
            return sorted((d.model, d.key, canonical(d.payload)) for d in self._docs.values())


class MemoryAuditLogView(AuditLogView, POPOTrackingRecorder):
    """A list of rows."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()
        self._rows: list[Row] = []

    def append(self, tracking: Tracking, rows: Sequence[Row]) -> None:
        """Append and track under one lock."""
        with self._database_lock:
            self._assert_tracking_uniqueness(tracking)
            self._rows.extend(rows)
            self._insert_tracking(tracking)

    def rows(self, *, after: int = 0, limit: int = 100, aggregate_id: str | None = None,
             upto: int | None = None) -> list[Row]:
        """Rows in position order."""
        with self._database_lock:
            found = [r for r in self._rows if r["position"] > after
                     and (upto is None or r["position"] <= upto)
                     and (aggregate_id is None or r["aggregate_id"] == aggregate_id)]
        return found[:limit]

    def position_at(self, at: datetime) -> int:
        """The last position at or before a time."""
        with self._database_lock:
            found = [r["position"] for r in self._rows if datetime.fromisoformat(r["at"]) <= at]
        return max(found, default=0)

    def timeline(self, *, limit: int, before: int | None = None, after: int | None = None,
                 upto: int | None = None, topics: Sequence[str] = (),
                 family: str | None = None, aggregate_ids: Sequence[str] | None = None,
                 actor: str | None = None) -> list[Row]:
        """Walk the rows from the cursor until a page is found (rows are in position order)."""
        fits = _timeline_filter(topics, family, aggregate_ids, actor)
        with self._database_lock:
            rows = self._rows
            if after is not None:
                start = bisect_right(rows, after, key=_position)
                walk: Iterable[Row] = (rows[i] for i in range(start, len(rows)))
            else:
                end = bisect_left(rows, before, key=_position) if before is not None else len(rows)
                walk = (rows[i] for i in range(end - 1, -1, -1))
            found: list[Row] = []
            for row in walk:
                if upto is not None and row["position"] > upto:
                    if after is not None:
                        break
                    continue
                if fits(row):
                    found.append(row)
                    if len(found) >= limit:
                        break
        return found

    @contextmanager
    def rebuilding(self, application_name: str) -> Iterator[AuditRebuild]:
        """Collect, then swap in under the lock."""
        view = self
        collected: list[Row] = []
        done: list[int] = []

        class Rebuild:
            def rows(self, rows: Sequence[Row]) -> None:
                collected.extend(rows)

            def add(self, position: int, event: Any, stored: bytes | None = None) -> None:
                collected.append(audit_row(position, event))

            def finish(self, position: int) -> None:
                done.append(position)

        yield Rebuild()
        if not done:
            raise RuntimeError("a rebuild ended without finish()")
        with view._database_lock:
            view._rows = collected
            view._max_tracking_ids[application_name] = done[-1] or None


# --- PostgreSQL ------------------------------------------------------------------------------


class PostgresPortfolioView(PortfolioView, PostgresTrackingRecorder):
    """rm_documents and rm_fold_snapshots (alembic revision 0002)."""

    def __init__(self, datastore: PostgresDatastore, **kwargs: Any) -> None:
        super().__init__(datastore, **kwargs)

    def write(self, tracking: Tracking, docs: Sequence[Doc], *, periods: Iterable[str],
              fold_snapshot: FoldSnapshot | None,
              keep: Sequence[tuple[str, str]] | None = None,
              texts: Mapping[tuple[str, str], str] | None = None) -> None:
        """One transaction: drop stale ranking rows, upsert changed docs, fold snapshot, track."""
        periods = sorted(set(periods))
        with self.datastore.transaction(commit=True) as curs:
            self._insert_tracking(curs, tracking)
            if periods:
                kept = keep if keep is not None else [(d.model, d.key) for d in docs]
                keys = [k for m, k in kept if m == "ranking"]
                curs.execute("DELETE FROM rm_documents WHERE model = 'ranking' AND "
                             "period = ANY(%s) AND NOT (key = ANY(%s))", (periods, keys))
            if docs:
                # One statement, not executemany (which pipelines: cxgov issue 12). A key
                # given twice keeps its last document, as the one-by-one upserts did.
                last = list({(d.model, d.key): d for d in docs}.values())
                known = texts or {}
                # the canonical texts, as jsonb: the writer's when it has them
                payloads = [known.get((d.model, d.key)) or canonical(d.payload) for d in last]
                curs.execute(
                    "INSERT INTO rm_documents (model, key, period, sort, payload) "
                    "SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], %s::integer[], "
                    "%s::jsonb[]) ON CONFLICT (model, key) DO UPDATE SET "
                    "period = EXCLUDED.period, sort = EXCLUDED.sort, payload = EXCLUDED.payload "
                    "WHERE rm_documents.payload IS DISTINCT FROM EXCLUDED.payload "
                    "OR rm_documents.sort IS DISTINCT FROM EXCLUDED.sort",
                    ([d.model for d in last], [d.key for d in last], [d.period for d in last],
                     [d.sort for d in last], payloads))
            if fold_snapshot is not None:
                _insert_parts(curs, fold_snapshot)

    def _select_documents(self, column: Literal["payload", "payload::text"], model: str,
                          period: str | None, key: str | None) -> list[Any]:
        """One column (`payload` or its text) of a model's documents, by sort then key."""
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(
                f"SELECT {column} AS found FROM rm_documents WHERE model = %s "
                "AND (%s::text IS NULL OR period = %s) AND (%s::text IS NULL OR key = %s) "
                "ORDER BY sort, key", (model, period, period, key, key))
            return [r["found"] for r in curs.fetchall()]

    def documents(self, model: str, *, period: str | None = None,
                  key: str | None = None) -> list[Row]:
        """Documents of a model, ordered by sort then key."""
        return self._select_documents("payload", model, period, key)

    def document_texts(self, model: str, *, period: str | None = None,
                       key: str | None = None) -> list[str]:
        """The documents as `jsonb`'s text (one text per value), in `documents`' order."""
        return self._select_documents("payload::text", model, period, key)

    def fold_snapshot(self, at_most: int | None = None) -> tuple[int, str] | None:
        """The newest fold snapshot at or before a position."""
        return self._newest("rm_fold_snapshots WHERE", at_most)

    def fold_snapshot_core(self, at_most: int | None = None) -> tuple[int, str] | None:
        """The newest core at or before a position."""
        return self._newest("rm_fold_snapshot_parts WHERE part = '' AND", at_most)

    def _newest(self, source: str, at_most: int | None) -> tuple[int, str] | None:
        """(position, state) of the newest row of `source` at or before a position."""
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(f"SELECT position, state FROM {source} "
                         "(%s::bigint IS NULL OR position <= %s) ORDER BY position DESC LIMIT 1",
                         (at_most, at_most))
            row = curs.fetchone()
        return (row["position"], row["state"]) if row else None

    def fold_snapshot_parts(self, wanted: Mapping[str, int]) -> dict[str, str]:
        """Texts of period parts, one query."""
        if not wanted:
            return {}
        names = sorted(wanted)
        with self.datastore.transaction(commit=False) as curs:
            curs.execute("SELECT c.part, c.state FROM rm_fold_snapshot_parts c JOIN "
                         "unnest(%s::text[], %s::bigint[]) AS w(part, position) "
                         "USING (part, position)", (names, [wanted[n] for n in names]))
            found = {r["part"]: r["state"] for r in curs.fetchall()}
        if len(found) != len(wanted):
            raise LookupError(f"fold snapshot parts missing: {sorted(set(wanted) - set(found))}")
        return found

    @contextmanager
    def rebuilding(self, application_name: str) -> Iterator[PortfolioRebuild]:
        """One transaction: drop, stream fold snapshots in, copy documents, set tracking.

        Fold snapshot parts go in by one COPY sent from a writer thread (decision 231): the
        table starts empty and no two parts share a name and position, so nothing conflicts,
        and the fold goes on while the server stores them. Both COPYs are binary (decision
        280): the texts go as they are, not escaped.
        """
        table = self.tracking_table_name
        with self.datastore.transaction(commit=True) as curs, ExitStack() as stack:
            # The fold runs between writes: the library's 5 s idle timeout must not apply.
            curs.execute("SET LOCAL idle_in_transaction_session_timeout = 0")
            curs.execute("DELETE FROM rm_documents")
            curs.execute("DELETE FROM rm_fold_snapshots")
            curs.execute("DELETE FROM rm_fold_snapshot_parts")
            parts = stack.enter_context(copy_in(
                curs, "rm_fold_snapshot_parts (part, position, state)", ("text", "int8", "text"),
                writer=QueuedLibpqWriter(curs)))
            done: list[int] = []

            class Rebuild:
                def fold_snapshot(self, fold_snapshot: FoldSnapshot) -> None:
                    position, texts = fold_snapshot
                    for name in sorted(texts):
                        parts.write_row((name, position, texts[name]))

                def finish(self, docs: Sequence[Doc], position: int) -> None:
                    stack.close()  # ends the fold snapshots' COPY
                    with copy_in(curs, "rm_documents (model, key, period, sort, payload)",
                                  ("text", "text", "text", "int4", "jsonb")) as copy:
                        for m, k, p, s, row in docs:  # rendered rows are plain already
                            copy.write_row((m, k, p, s, dumps(row)))
                    _set_tracking(curs, table, application_name, position)
                    done.append(position)

            yield Rebuild()
            if not done:
                raise RuntimeError("a rebuild ended without finish()")

    def dump(self) -> list[tuple[str, str, str]]:
        """Canonical triples."""
        with self.datastore.transaction(commit=False) as curs:
            curs.execute("SELECT model, key, payload FROM rm_documents")
            return sorted((r["model"], r["key"], canonical(r["payload"]))
                          for r in curs.fetchall())


class PostgresAuditLogView(AuditLogView, PostgresTrackingRecorder):
    """rm_audit_log (alembic revision 0002)."""

    COLUMNS = ("position", "at", "topic", "aggregate_id", "aggregate_version", "actor",
               "summary", "details")

    def __init__(self, datastore: PostgresDatastore, **kwargs: Any) -> None:
        super().__init__(datastore, **kwargs)

    def append(self, tracking: Tracking, rows: Sequence[Row]) -> None:
        """Insert rows and tracking in one transaction."""
        with self.datastore.transaction(commit=True) as curs:
            self._insert_tracking(curs, tracking)
            if rows:  # one statement, not executemany (which pipelines: cxgov issue 12)
                curs.execute(
                    "INSERT INTO rm_audit_log SELECT * FROM unnest(%s::bigint[], "
                    "%s::timestamptz[], %s::text[], %s::uuid[], %s::bigint[], %s::text[], "
                    "%s::text[], %s::jsonb[])", self._columns(rows))

    def _columns(self, rows: Sequence[Row]) -> tuple[list[Any], ...]:
        return (*([r[c] for r in rows] for c in self.COLUMNS[:-1]),
                [Jsonb(r["details"]) for r in rows])

    def rows(self, *, after: int = 0, limit: int = 100, aggregate_id: str | None = None,
             upto: int | None = None) -> list[Row]:
        """Rows in position order."""
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(
                "SELECT position, at, topic, aggregate_id, aggregate_version, actor, summary, "
                "details FROM rm_audit_log WHERE position > %s "
                "AND (%s::bigint IS NULL OR position <= %s) "
                "AND (%s::uuid IS NULL OR aggregate_id = %s) ORDER BY position LIMIT %s",
                (after, upto, upto, aggregate_id, aggregate_id, limit))
            return [{**r, "at": r["at"].isoformat(), "aggregate_id": str(r["aggregate_id"]),
                     "details": served_details(r["details"])}  # stored or plain: decision 230
                    for r in curs.fetchall()]

    def position_at(self, at: datetime) -> int:
        """The last position at or before a time."""
        with self.datastore.transaction(commit=False) as curs:
            curs.execute("SELECT max(position) AS p FROM rm_audit_log WHERE at <= %s", (at,))
            row = curs.fetchone()
        return int(row["p"]) if row and row["p"] is not None else 0

    def timeline(self, *, limit: int, before: int | None = None, after: int | None = None,
                 upto: int | None = None, topics: Sequence[str] = (),
                 family: str | None = None, aggregate_ids: Sequence[str] | None = None,
                 actor: str | None = None) -> list[Row]:
        """One statement: the filters in WHERE, the cursor on the position's index, LIMIT."""
        subject = None if actor is None else "|" + actor
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(
                "SELECT position, at, topic, aggregate_id, aggregate_version, actor, summary, "
                "details FROM rm_audit_log WHERE position > %(after)s "  # index conditions
                "AND position < %(before)s AND position <= %(upto)s "  # in any plan (no OR)
                "AND (%(topics)s::text[] IS NULL OR topic LIKE ANY(%(topics)s)) "
                "AND (%(family)s::text IS NULL OR topic LIKE %(family)s) "
                "AND (%(ids)s::uuid[] IS NULL OR aggregate_id = ANY(%(ids)s)) "
                "AND (%(actor)s::text IS NULL OR actor = %(actor)s "
                "OR right(actor, length(%(subject)s)) = %(subject)s) "
                + ("ORDER BY position LIMIT %(limit)s" if after is not None
                   else "ORDER BY position DESC LIMIT %(limit)s"),
                {"after": after or 0, "before": 2**63 - 1 if before is None else before,
                 "upto": 2**63 - 1 if upto is None else upto,
                 "topics": [f"%{_like(t)}%" for t in topics] or None,
                 "family": None if family is None else f"%.{_like(family)}.%",
                 "ids": None if aggregate_ids is None else list(aggregate_ids),
                 "actor": actor, "subject": subject, "limit": limit})
            return [{**r, "at": r["at"].isoformat(), "aggregate_id": str(r["aggregate_id"]),
                     "details": served_details(r["details"])}
                    for r in curs.fetchall()]

    @contextmanager
    def rebuilding(self, application_name: str) -> Iterator[AuditRebuild]:
        """One transaction: drop, COPY rows in as they come (binary: decision 280), set
        tracking."""
        table = self.tracking_table_name
        with self.datastore.transaction(commit=True) as curs, ExitStack() as stack:
            curs.execute("SET LOCAL idle_in_transaction_session_timeout = 0")
            curs.execute("DELETE FROM rm_audit_log")
            done: list[int] = []

            # One COPY for the whole stream: the server stores rows while the fold goes on.
            # A writer thread sends the data while this one goes on folding.
            copy = stack.enter_context(copy_in(curs, "rm_audit_log", AUDIT_TYPES,
                                                writer=QueuedLibpqWriter(curs)))

            class Rebuild:
                def rows(self, rows: Sequence[Row]) -> None:
                    for r in rows:  # a binary COPY takes times and ids, not their texts
                        at, aggregate_id = r["at"], r["aggregate_id"]
                        copy.write_row((
                            r["position"],
                            datetime.fromisoformat(at) if isinstance(at, str) else at,
                            r["topic"],
                            UUID(aggregate_id) if isinstance(aggregate_id, str) else aggregate_id,
                            r["aggregate_version"], r["actor"], r["summary"],
                            dumps(r["details"])))

                def add(self, position: int, event: Any, stored: bytes | None = None) -> None:
                    copy.write_row(audit_record(position, event, stored))

                def finish(self, position: int) -> None:
                    stack.close()  # ends the COPY
                    _set_tracking(curs, table, application_name, position)
                    done.append(position)

            yield Rebuild()
            if not done:
                raise RuntimeError("a rebuild ended without finish()")


def _position(row: Row) -> int:
    return int(row["position"])


def _like(text: str) -> str:
    """`text` matched literally inside a LIKE pattern (backslash is the default escape)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _timeline_filter(topics: Sequence[str], family: str | None,
                     aggregate_ids: Sequence[str] | None,
                     actor: str | None) -> Callable[[Row], bool]:
    """The in-memory twin of the PostgreSQL timeline's WHERE clause."""
    ids = None if aggregate_ids is None else set(aggregate_ids)
    kin = None if family is None else f".{family}."
    subject = None if actor is None else "|" + actor

    kinds: dict[str, bool] = {}  # topic -> whether it is of the kinds asked for (few topics)

    def of_kind(topic: str) -> bool:
        found = kinds.get(topic)
        if found is None:
            found = kinds[topic] = ((not topics or any(t in topic for t in topics))
                                    and (kin is None or kin in topic))
        return found

    def fits(row: Row) -> bool:
        return (of_kind(row["topic"])
                and (ids is None or row["aggregate_id"] in ids)
                and (actor is None or row["actor"] == actor
                     or str(row["actor"]).endswith(str(subject))))
    return fits


def _insert_parts(curs: Any, fold_snapshot: FoldSnapshot) -> None:
    position, parts = fold_snapshot
    if not parts:
        return
    names = sorted(parts)  # one statement, not executemany (which pipelines: cxgov issue 12)
    curs.execute("INSERT INTO rm_fold_snapshot_parts (part, position, state) "
                 "SELECT part, %s, state FROM unnest(%s::text[], %s::text[]) AS u(part, state) "
                 "ON CONFLICT DO NOTHING", (position, names, [parts[n] for n in names]))


#: rm_audit_log's column types, in order, for its binary COPY.
AUDIT_TYPES = ("int8", "timestamptz", "text", "uuid", "int8", "text", "text", "jsonb")


class JsonText(Dumper):
    """JSON text (str, or UTF-8 bytes) in jsonb's binary form: a version byte, then the text
    as it is (psycopg's own jsonb dumper would encode the Python value as JSON again)."""

    format = Format.BINARY
    oid = postgres.types["jsonb"].oid

    def dump(self, obj: Any) -> Buffer:
        """The version byte and the text's UTF-8 bytes."""
        return b"\x01" + (obj if type(obj) is bytes else obj.encode())


@contextmanager
def copy_in(curs: Any, table: str, types: Sequence[str], *,
             writer: QueuedLibpqWriter | None = None) -> Iterator[Copy]:
    """A binary COPY into `table` (name and columns) whose values are given as Python values
    of `types`, JSON text for jsonb (decision 280): nothing is escaped or parsed as text."""
    curs.adapters.register_dumper(None, JsonText)  # this cursor only, for COPY's set_types
    with curs.copy(f"COPY {table} FROM STDIN (FORMAT BINARY)", writer=writer) as copy:
        copy.set_types(list(types))
        yield copy


def _set_tracking(curs: Any, table: str, application_name: str, position: int) -> None:
    curs.execute(f"DELETE FROM {table} WHERE application_name = %s",
                 (application_name,))
    if position:
        curs.execute(f"INSERT INTO {table} VALUES (%s, %s)",
                     (application_name, position))
