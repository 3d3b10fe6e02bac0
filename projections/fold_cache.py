"""The fold kept per process (issue 17): the live state folded incrementally, and a few as-of
states, so a page does not replay the log from a fold snapshot (or from position 1) on every
request.

One `FoldCache` per log reader (the read side's `ApplicationLog`), shared by every
`ReadModels` built over it (one per request). It hands out `PortfolioState` objects that are
never changed afterwards: a request may read one while another request asks for a newer
position, so the cache folds newer events into a copy of a state it has handed out (one
pickle round trip, about two thirds of a replay, paid once per new position; reads at the
same position share the state), never into the state itself. A past position never sees a
newer state: an as-of read starts from the newest state the cache holds at or before it when
that is newer than the view's fold snapshot, else from the fold snapshot (as before), and
folds only up to the position asked.

States handed out are shared: callers must treat them as read-only (as every renderer of the
read side already does: the live projector renders from the state it folds).
"""

from __future__ import annotations

import copy
import pickle
import threading
import weakref
from collections import OrderedDict

from projections.log import LogReader
from projections.projection import fold, state_at
from projections.state import PortfolioState
from projections.views import PortfolioView

#: As-of states kept besides the live one (each about the size of the live fold).
KEEP_PAST = 2


def duplicate(state: PortfolioState) -> PortfolioState:
    """A deep copy sharing nothing mutable with `state` (pickle: about 0.7 of a replay at
    1,000 initiatives; `copy.deepcopy` takes longer than the replay)."""
    try:
        found: PortfolioState = pickle.loads(pickle.dumps(state, pickle.HIGHEST_PROTOCOL))
    except (pickle.PicklingError, TypeError, AttributeError):  # something the fold holds
        found = copy.deepcopy(state)
    return found


class FoldCache:
    """The newest folded state of one log, and a few as-of states, each handed out as is."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._live: PortfolioState | None = None  # the newest position folded
        self._shared = False  # whether `_live` was handed out (then fold into a copy)
        self._past: OrderedDict[int, PortfolioState] = OrderedDict()  # handed out too

    def state_at(self, log: LogReader, view: PortfolioView, position: int,
                 periods: set[str] | None = None) -> PortfolioState:
        """The whole state at a position (with `periods`, as `projection.state_at`: a state
        holding at least those periods' initiatives; whole when the cache can answer)."""
        with self._lock:
            live = self._live
            if live is not None and live.position == position:
                self._shared = True
                return live
            if live is None or live.position < position:
                return self._advance(log, view, position)
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

    def _advance(self, log: LogReader, view: PortfolioView, position: int) -> PortfolioState:
        """Fold the live state on to a newer position (under the lock); from the view's fold
        snapshot when there is no live state yet or the snapshot is newer than it."""
        live = self._live
        core = view.fold_snapshot_core(position)
        if live is None or (core is not None and core[0] > live.position):
            live = state_at(log, view, position)
        else:
            if self._shared:
                live = duplicate(live)
            live = fold(log.read(after=live.position, upto=position), upto=position,
                        start=live)
        self._live, self._shared = live, True
        return live


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
