"""The projections: fold each event, write what changed with the tracking position, once."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, ExitStack
from typing import Any, ClassVar

from eventsourcing.persistence import Tracking
from eventsourcing.projection import Projection

from projections import render
from projections.audit import audit_row
from projections.codec import (
    CORE,
    StaleFoldSnapshot,
    canonical_plain,
    dump_core,
    dump_part,
    encode_initiative,
    load_core,
    load_part,
)
from projections.documents import Doc, Scope, ScopeKind, periods_of
from projections.log import LogReader
from projections.state import PortfolioState, periods_touched
from projections.views import AuditLogView, FoldSnapshot, PortfolioView

#: Positions between fold snapshots. A fold snapshot writes the core and the periods changed
#: since the previous one; an as-of query replays at most this many events after loading the
#: core and the periods it needs (about 0.1-0.2 s of decoding and folding on the 2-core
#: benchmark machine).
FOLD_SNAPSHOT_EVERY = 4000

#: Most events a coalescing projection folds before it writes (rows and tracking together).
FLUSH_EVERY = 1000


def due(before: int, position: int) -> bool:
    """Whether folding up to `position` from `before` crosses a fold snapshot boundary."""
    return position // FOLD_SNAPSHOT_EVERY > before // FOLD_SNAPSHOT_EVERY


class FoldSnapshots:
    """What the next fold snapshot writes: the core, and the periods changed since the last one.

    Initiative texts are cached until the fold reports the initiative changed, so a fold snapshot
    costs what changed, not the size of the history.
    """

    def __init__(self, parts: dict[str, int] | None = None,
                 dirty: Iterable[str] = ()) -> None:
        self.parts = dict(parts or {})  # period -> position of its newest part
        self.dirty: set[str] = set(dirty)
        self.texts: dict[str, str] = {}

    def changed(self, scopes: Iterable[str | Scope]) -> None:
        """Note what one folded event changed (texts split here, not parsed into `Scope`s:
        once per scope per event, decision 233)."""
        for scope in scopes:
            kind: str
            if isinstance(scope, Scope):
                kind, key = scope.kind, scope.key
            else:
                kind, _, key = scope.partition(":")
            if kind == ScopeKind.PERIOD:
                self.dirty.add(key)
            elif kind == ScopeKind.INITIATIVE:
                self.texts.pop(key, None)

    def take(self, state: PortfolioState) -> FoldSnapshot:
        """The fold snapshot at the state's position: the core and the changed periods."""
        position = state.position
        members: dict[str, list[str]] = {period: [] for period in self.dirty}
        texts = self.texts
        for initiative in state.initiatives.values():
            found = members.get(initiative.period)
            if found is not None:
                text = texts.get(initiative.id)
                if text is None:
                    text = texts[initiative.id] = encode_initiative(initiative)
                found.append(text)
        parts = {period: dump_part(found) for period, found in sorted(members.items())}
        self.parts.update(dict.fromkeys(parts, position))
        parts[CORE] = dump_core(state, dict(sorted(self.parts.items())))
        self.dirty.clear()
        return position, parts


def load_fold_snapshot(view: PortfolioView, at_most: int | None,
                    periods: Callable[[PortfolioState], set[str] | None] | None = None,
                    ) -> tuple[PortfolioState, FoldSnapshots]:
    """The newest fold snapshot at or before a position: every period, or those `periods` names.

    One written by an older release is not used (decision 153): a whole-state fold snapshot
    of revision 0002, or a core of another format (`codec.FORMAT`), lacks what the fold has
    gained since, so the fold starts empty, replays from the start, and the next fold
    snapshot writes every period it folded. Cores are written in rising format, so when the
    newest at or before the position is stale, so are the older ones.
    """
    core = view.fold_snapshot_core(at_most)
    if core is None:
        return PortfolioState(), FoldSnapshots()
    try:
        state, manifest = load_core(core[1])
    except StaleFoldSnapshot:
        return PortfolioState(), FoldSnapshots()
    wanted = periods(state) if periods is not None else None
    names = manifest if wanted is None else {p: manifest[p] for p in wanted if p in manifest}
    for text in view.fold_snapshot_parts(names).values():
        load_part(state, text)
    return state, FoldSnapshots(manifest)


def replay(log: LogReader, *, upto: int | None, start: PortfolioState | None = None,
           progress: Callable[[int], None] | None = None,
           fold_snapshots: FoldSnapshots | None = None) -> PortfolioState:
    """Fold events after `start` (a fold snapshot, or nothing) up to a position."""
    return fold(log.read(after=(start or PortfolioState()).position, upto=upto), upto=upto,
                start=start, progress=progress, fold_snapshots=fold_snapshots)


def fold(events: Iterable[tuple[int, Any]], *, upto: int | None,
         start: PortfolioState | None = None, progress: Callable[[int], None] | None = None,
         fold_snapshots: FoldSnapshots | None = None) -> PortfolioState:
    """Fold (position, event) pairs into a state (the one fold of live, rebuild and as-of)."""
    state = start or PortfolioState()
    for position, event in events:
        scopes = state.apply(position, event)
        if fold_snapshots is not None:
            fold_snapshots.changed(scopes)
        if progress is not None:
            progress(position)
    if upto is not None:
        state.position = max(state.position, upto)
    return state


def state_at(log: LogReader, view: PortfolioView, position: int,
             periods: set[str] | None = None) -> PortfolioState:
    """The state at a position: the newest fold snapshot at or before it, then replay.

    With `periods`, only those periods' initiatives (and those the replayed events touch) are
    loaded: enough for the documents of those periods and the directory, nothing else.
    """
    if periods is None:
        start, _ = load_fold_snapshot(view, position)
        return replay(log, upto=position, start=start)
    core = view.fold_snapshot_core(position)
    after = core[0] if core is not None else 0
    events = list(log.read(after=after, upto=position))

    def needed(state: PortfolioState) -> set[str] | None:
        touched = periods_touched(state, (event for _, event in events))
        return None if touched is None else touched | periods

    start, _ = load_fold_snapshot(view, position, needed)
    if start.position != after:  # an older-format fold snapshot was newer: replay from it
        return replay(log, upto=position, start=start)
    try:
        return fold(events, upto=position, start=start)
    except KeyError:  # an initiative outside the loaded periods: load them all
        return state_at(log, view, position)


class PortfolioProjection(Projection[PortfolioView]):
    """Ranking, ledger, scorecard, directory and initiative documents from one fold."""

    name = "portfolio"
    log_factory: ClassVar[Callable[[], AbstractContextManager[LogReader]] | None] = None
    #: Whether process_event leaves the write to flush() (set by a caller that flushes when
    #: it runs out of events: catch_up, the projector's runner).
    coalescing = False

    def __init__(self, view: PortfolioView) -> None:
        super().__init__(view)
        self.reload()

    def reload(self, application_name: str = "cxgov") -> None:
        """Reload the fold from the view (after another process advanced it)."""
        self.state, self.fold_snapshots = self.restored(self.view, application_name)
        self.written: dict[tuple[str, str], str] = {}  # what this process last wrote per doc
        self.pending: Tracking | None = None  # the last event folded but not yet written
        self.pending_scopes: set[str] = set()
        self.pending_count = 0

    @classmethod
    def restored(cls, view: PortfolioView, application_name: str = "cxgov",
                 ) -> tuple[PortfolioState, FoldSnapshots]:
        """State at the view's tracking position (newest fold snapshot, then replay, no writes),
        and what the next fold snapshot must write."""
        position = view.max_tracking_id(application_name) or 0
        state, fold_snapshots = load_fold_snapshot(view, position)
        if state.position < position:
            if cls.log_factory is None:
                raise RuntimeError("bind a log to the projection before restoring it")
            with cls.log_factory() as log:
                state = replay(log, upto=position, start=state, fold_snapshots=fold_snapshots)
        return state, fold_snapshots

    @classmethod
    def restore(cls, view: PortfolioView, application_name: str = "cxgov") -> PortfolioState:
        """State at the view's tracking position."""
        return cls.restored(view, application_name)[0]

    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        """Fold the event; unless coalescing, render what it changed and write it at once."""
        self.fold_event(domain_event, tracking)
        if not self.coalescing:
            self.flush()

    def fold_event(self, domain_event: Any, tracking: Tracking) -> None:
        """Fold the event and note what it changed; write when a fold snapshot is due or
        FLUSH_EVERY events are pending (the caller flushes when it has no more events)."""
        before = self.state.position
        scopes = self.state.apply(tracking.notification_id, domain_event)
        self.fold_snapshots.changed(scopes)
        self.pending_scopes |= scopes
        self.pending = tracking
        self.pending_count += 1
        if due(before, tracking.notification_id):
            self.flush(self.fold_snapshots.take(self.state))
        elif self.pending_count >= FLUSH_EVERY:
            self.flush()

    def flush(self, fold_snapshot: FoldSnapshot | None = None) -> None:
        """Render each document the pending events changed once, from the fold at the last
        of them, and write the changed ones with that event's tracking in one transaction."""
        tracking = self.pending
        if tracking is None:
            return
        scopes = self.pending_scopes
        rendered = render.documents(self.state, scopes) if scopes else {}
        # rendered payloads are plain already: their text without a second walk (decision 272)
        texts = {key: canonical_plain(doc.payload) for key, doc in rendered.items()}
        changed = [doc for key, doc in rendered.items() if self.written.get(key) != texts[key]]
        periods = periods_of(scopes)
        self.view.write(tracking, changed, periods=periods, fold_snapshot=fold_snapshot,
                        keep=[key for key in rendered if key[0] == "ranking"],
                        texts={(d.model, d.key): texts[(d.model, d.key)] for d in changed})
        self.pending, self.pending_scopes, self.pending_count = None, set(), 0
        for key in [k for k in self.written if k[0] == "ranking" and k not in rendered
                    and k[1].split("/", 1)[0] in periods]:
            del self.written[key]
        self.written.update(texts)


class AuditLogProjection(Projection[AuditLogView]):
    """One flattened row per event."""

    name = "auditlog"
    coalescing = False  # as PortfolioProjection.coalescing

    def __init__(self, view: AuditLogView) -> None:
        super().__init__(view)
        self.rows: list[dict[str, Any]] = []  # folded, not yet written
        self.pending: Tracking | None = None

    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        """Append the event's row with the tracking position (unless coalescing)."""
        self.fold_event(domain_event, tracking)
        if not self.coalescing:
            self.flush()

    def fold_event(self, domain_event: Any, tracking: Tracking) -> None:
        """Note the event's row; write when FLUSH_EVERY rows are pending."""
        self.rows.append(audit_row(tracking.notification_id, domain_event))
        self.pending = tracking
        if len(self.rows) >= FLUSH_EVERY:
            self.flush()

    def flush(self) -> None:
        """Append the pending rows with the last one's tracking position, in one transaction."""
        if self.pending is None:
            return
        rows, tracking = self.rows, self.pending
        self.rows, self.pending = [], None  # written or not: a retry starts from the view
        self.view.append(tracking, rows)


def rebuild_all(log: LogReader, portfolio: PortfolioView | None, audit: AuditLogView | None, *,
                application_name: str = "cxgov",
                progress: Callable[[int], None] | None = None) -> int:
    """Rebuild projections in one pass over the log: the same fold and fold snapshots as the live
    projector, audit rows and fold snapshots streamed to the views, documents rendered once at
    the end; each view swaps its rows in at once when done."""
    state = PortfolioState()
    fold_snapshots = FoldSnapshots()
    position = 0
    with ExitStack() as stack:
        folding = (stack.enter_context(portfolio.rebuilding(application_name))
                   if portfolio is not None else None)
        rows = (stack.enter_context(audit.rebuilding(application_name))
                if audit is not None else None)
        for position, event, stored in _read_stored(log):
            if folding is not None:
                before = state.position
                fold_snapshots.changed(state.apply(position, event))
                if due(before, position):
                    folding.fold_snapshot(fold_snapshots.take(state))
            if rows is not None:
                rows.add(position, event, stored)
            if progress is not None:
                progress(position)
        if rows is not None:
            rows.finish(position)
        if folding is not None:
            docs: list[Doc] = list(render.documents(state).values())
            folding.finish(docs, state.position)
    return position


def _read_stored(log: LogReader) -> Iterator[tuple[int, Any, bytes | None]]:
    """The whole log with each event's stored JSON where the reader has it (decision 230)."""
    read_stored = getattr(log, "read_stored", None)
    if read_stored is not None:
        yield from read_stored(after=0)
        return
    for position, event in log.read(after=0):
        yield position, event, None


def rebuild_portfolio(log: LogReader, view: PortfolioView, *, application_name: str = "cxgov",
                      progress: Callable[[int], None] | None = None) -> int:
    """Fold the whole log, snapshotting as the live projector would, then swap in."""
    return rebuild_all(log, view, None, application_name=application_name, progress=progress)


def rebuild_audit_log(log: LogReader, view: AuditLogView, *, application_name: str = "cxgov",
                      progress: Callable[[int], None] | None = None) -> int:
    """Rewrite the audit log from the whole log."""
    return rebuild_all(log, None, view, application_name=application_name, progress=progress)


def catch_up(log: LogReader, projection: Projection[Any], *,
             application_name: str = "cxgov", careful: bool = False) -> int:
    """Feed a projection every event after its view's tracking position (in-process runner),
    writing in batches (rows and tracking together) and once more at the end.

    `careful` writes each event alone (process_event), so that when one fails, every event
    before it is written and the failing one is the first after the view's position.
    """
    position = projection.view.max_tracking_id(application_name) or 0
    if careful or not isinstance(projection, PortfolioProjection | AuditLogProjection):
        for notification_id, event in log.read(after=position):
            projection.process_event(event, Tracking(application_name, notification_id))
            if isinstance(projection, PortfolioProjection | AuditLogProjection):
                projection.flush()  # written now even when the projection coalesces
            position = notification_id
        return position
    for notification_id, event in log.read(after=position):
        projection.fold_event(event, Tracking(application_name, notification_id))
        position = notification_id
    projection.flush()
    return position
