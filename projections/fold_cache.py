"""The fold kept per process (issue 17): the live state folded incrementally, and a few as-of
states, so a page does not replay the log from a fold snapshot (or from position 1) on every
request.

One `FoldCache` per log reader (the read side's `ApplicationLog`), shared by every
`ReadModels` built over it (one per request). It folds new events into a working state that
it never hands out, and hands out a copy (`publish`) that is never changed afterwards: a
request may read one while another request asks for a newer position. A copy shares with the
one handed out before it every initiative no event since has changed, so a write costs what
it changed plus the fold's core (1 ms at 1,000 initiatives, 6 ms at 10,000), not a replay;
reads at the same position share one state. A past position never sees a newer state: an
as-of read starts from the newest state the cache keeps at or before it when that is newer
than the view's fold snapshot, else from the fold snapshot (as before), and folds only up to
the position asked.

States handed out are shared: callers must treat them as read-only (as every renderer of the
read side already does: the live projector renders from the state it folds).
"""

from __future__ import annotations

import copy
import dataclasses
import pickle
import threading
import weakref
from collections import OrderedDict
from typing import TypeVar

from projections.log import LogReader
from projections.projection import fold, state_at
from projections.state import PortfolioState
from projections.views import PortfolioView

T = TypeVar("T")

#: As-of states kept besides the live one (each about the size of the live fold).
KEEP_PAST = 2


def duplicate(value: T) -> T:
    """A deep copy sharing nothing mutable with `value` (pickle: about 0.7 of a replay at
    1,000 initiatives for a whole state; `copy.deepcopy` takes longer than the replay)."""
    try:
        found: T = pickle.loads(pickle.dumps(value, pickle.HIGHEST_PROTOCOL))
    except (pickle.PicklingError, TypeError, AttributeError):  # something the fold holds
        found = copy.deepcopy(value)
    return found


def publish(working: PortfolioState, previous: PortfolioState | None,
            changed: set[str] | None) -> PortfolioState:
    """A copy of the working fold to hand out: its core copied whole, its initiatives shared
    with the state handed out before when no event folded since changed them (`changed`:
    the ids that may have; None: every one is copied). Only the fold's initiative handlers
    (projections/state.py) change an initiative, each the event's originator, so `changed`
    is known exactly; the initiatives are most of the state, so a write costs what it
    changed plus the core, not the period."""
    fields = {f.name: getattr(working, f.name) for f in dataclasses.fields(working)
              if f.name != "initiatives"}
    copied = duplicate(fields)
    before = {} if previous is None or changed is None else previous.initiatives
    shared = {key: found if (found := before.get(key)) is not None and key not in
              (changed or ()) else None for key in working.initiatives}
    fresh = duplicate({key: working.initiatives[key] for key, found in shared.items()
                       if found is None})
    initiatives = {key: found if found is not None else fresh[key]
                   for key, found in shared.items()}
    return PortfolioState(**copied, initiatives=initiatives)  # type: ignore[arg-type]


class FoldCache:
    """The newest folded state of one log, and a few as-of states, each handed out as is."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._working: PortfolioState | None = None  # folded in place, never handed out
        self._live: PortfolioState | None = None  # its copy at the same position, handed out
        self._past: OrderedDict[int, PortfolioState] = OrderedDict()  # handed out too

    def state_at(self, log: LogReader, view: PortfolioView, position: int,
                 periods: set[str] | None = None) -> PortfolioState:
        """The whole state at a position (with `periods`, as `projection.state_at`: a state
        holding at least those periods' initiatives; whole when the cache can answer)."""
        with self._lock:
            live = self._live
            if live is not None and live.position == position:
                return live
            if live is None or live.position < position:
                if periods is None or self._folds_on(view, position):
                    return self._advance(log, view, position)
                # a period's as-of read ahead of the working state, which would have to
                # restart whole from a fold snapshot (all periods, then copied to hand out:
                # seconds at 1,000,000 events): replay the asked periods, not kept
                base = None
            else:
                found = self._past.get(position)
                if found is not None:
                    self._past.move_to_end(position)
                    return found
                base = max((s for s in self._past.values() if s.position < position),
                           key=lambda s: s.position, default=None)
        core = view.fold_snapshot_core(position)
        if base is None or (core is not None and core[0] >= base.position):
            if periods is not None:  # a partial state: as before, not kept
                return state_at(log, view, position, periods)
            found = state_at(log, view, position)
        else:
            found = fold(log.read(after=base.position, upto=position), upto=position,
                         start=duplicate(base))
        with self._lock:
            self._past[position] = found
            while len(self._past) > KEEP_PAST:
                self._past.popitem(last=False)
        return found

    def _folds_on(self, view: PortfolioView, position: int) -> bool:
        """True when the working state can fold on to `position` without restarting from a
        fold snapshot (there is one, and no fold snapshot at or before `position` is newer)."""
        working = self._working
        if working is None:
            return False
        core = view.fold_snapshot_core(position)
        return core is None or core[0] <= working.position

    def _advance(self, log: LogReader, view: PortfolioView, position: int) -> PortfolioState:
        """Fold the working state on to a newer position and publish a copy (under the lock);
        from the view's fold snapshot when there is no working state yet or the snapshot is
        newer than it."""
        working = self._working
        core = view.fold_snapshot_core(position)
        touched: set[str] = set()
        restart = working is None or (core is not None and core[0] > working.position)
        if working is None or restart:
            working = state_at(log, view, position)
        else:
            for at, event in log.read(after=working.position, upto=position):
                scopes = working.apply(at, event)
                touched.update(s.removeprefix("initiative:") for s in scopes
                               if s.startswith("initiative:"))
                originator = getattr(event, "originator_id", None)
                if originator is not None:
                    touched.add(str(originator))
            working.position = max(working.position, position)
        self._working = working
        self._live = publish(working, self._live, None if restart else touched)
        return self._live


_CACHES: weakref.WeakKeyDictionary[object, FoldCache] = weakref.WeakKeyDictionary()
_CACHES_LOCK = threading.Lock()


def fold_cache(log: LogReader) -> FoldCache | None:
    """The cache of a log reader (None: one that cannot be weakly referenced: no cache)."""
    with _CACHES_LOCK:
        try:
            found = _CACHES.get(log)
            if found is None:
                found = _CACHES[log] = FoldCache()
        except TypeError:
            return None
    return found
