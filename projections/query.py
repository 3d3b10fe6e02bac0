"""Queries over the read models, live or as of any position or time."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from projections import render
from projections.codec import canonical
from projections.log import LogReader
from projections.projection import state_at
from projections.recommend import recommendation
from projections.state import PortfolioState
from projections.views import AuditLogView, PortfolioView

Row = dict[str, Any]


class NotCaughtUp(Exception):
    """The read model has not reached the position the caller asked for in time."""

    code = "read.not_caught_up"


class AsOfOutOfRange(ValueError):
    """An as-of position beyond the end of the log, or a malformed as-of value."""

    code = "read.as_of_invalid"


#: An as-of value is a log position (ASCII digits) or an ISO 8601 time: 40 characters at most.
AS_OF_MAX_LENGTH = 40
_POSITION = re.compile(r"[0-9]{1,19}", re.ASCII)
#: ASCII only: `datetime.fromisoformat` would take other scripts' digits.
_ISO_TIME = re.compile(r"[0-9T:.+Z -]+", re.ASCII)


def _as_of_time(text: str) -> datetime:
    """An ISO 8601 time in ASCII (read as UTC when it names no zone)."""
    try:
        if not _ISO_TIME.fullmatch(text):
            raise ValueError(text)
        found = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise AsOfOutOfRange("as_of must be a log position (ASCII digits) or an ISO 8601 "
                             "time such as 2027-03-31T00:00:00Z") from None
    return found


#: Documents of one period (asked by period, or by a key that starts with the period).
PERIOD_MODELS = frozenset({"ranking", "ledger", "scorecard"})
DIRECTORY_MODELS = frozenset({"pnl", "scenario", "metric", "policy"})


@dataclass(frozen=True)
class Snapshot:
    """Documents as they were at a position (replayed), or as the views hold them now.

    A replayed snapshot loads only what a query needs: the core of the fold and the asked
    period's initiatives for a period's documents, the core alone for the directory, and the
    whole state otherwise. The documents are rendered by the same functions in every case.
    """

    position: int
    state: PortfolioState | None
    view: PortfolioView
    loader: Callable[[set[str] | None], PortfolioState] | None = None
    _states: dict[frozenset[str] | None, PortfolioState] = field(default_factory=dict,
                                                                  compare=False, repr=False)

    @property
    def replayed(self) -> bool:
        """Whether this snapshot is replayed (as of a position) rather than the live views."""
        return self.state is not None or self.loader is not None

    def _state(self, periods: set[str] | None) -> PortfolioState:
        if self.state is not None:
            return self.state
        assert self.loader is not None
        key = None if periods is None else frozenset(periods)
        found = self._states.get(key) or self._states.get(None)
        if found is None:
            found = self._states[key] = self.loader(periods)
        return found

    def documents(self, model: str, *, period: str | None = None,
                  key: str | None = None) -> list[Row]:
        """Documents of a model."""
        if not self.replayed:
            return self.view.documents(model, period=period, key=key)
        scopes: set[str] | None = None
        state: PortfolioState | None = None
        named = period or (key.split("/", 1)[0] if key is not None else None)
        if model in PERIOD_MODELS and named is not None:
            state = self._state({named})
            if named not in state.periods:
                return []
            scopes = {f"period:{named}"}
        elif model in DIRECTORY_MODELS:
            state = self._state(set())
            scopes = {"directory"}
        elif model == "initiative" and period is not None and key is None:
            state = self._state({period})
            scopes = {f"initiative:{i.id}" for i in state.initiatives.values()
                      if i.period == period}
        if state is None:
            state = self._state(None)
        docs = render.documents(state, scopes) if scopes != set() else {}
        found = [d for d in docs.values() if d[0] == model
                 and (period is None or d[2] == period) and (key is None or d[1] == key)]
        return [d[4] for d in sorted(found, key=lambda d: (d[3], d[1]))]

    def dump(self) -> list[tuple[str, str, str]]:
        """Canonical (model, key, payload) triples of every document."""
        if not self.replayed:
            return self.view.dump()
        return sorted((d[0], d[1], canonical(d[4]))
                      for d in render.documents(self._state(None)).values())


class ReadModels:
    """The read side of cxgov: ranking, recommendation, ledger, scorecard, directory, audit."""

    def __init__(self, log: LogReader, portfolio: PortfolioView, audit: AuditLogView, *,
                 application_name: str = "cxgov",
                 refresh: Callable[[], None] | None = None) -> None:
        self.log = log
        self.portfolio = portfolio
        self.audit = audit
        self.application_name = application_name
        self.refresh = refresh  # in-process mode: catch the views up before reading

    def position(self) -> int:
        """How far the portfolio view has processed the log."""
        if self.refresh:
            self.refresh()
        return self.portfolio.max_tracking_id(self.application_name) or 0

    def wait(self, min_position: int | None, timeout: float = 5.0) -> None:
        """Read your writes: wait (bounded) until the views have processed a position."""
        if self.refresh:
            self.refresh()
        if not min_position:
            return
        try:
            for view in (self.portfolio, self.audit):
                view.wait(self.application_name, min_position, timeout=timeout)
        except TimeoutError:
            raise NotCaughtUp(f"the read models have not reached position {min_position} "
                              f"within {timeout:g} s; retry shortly") from None

    def resolve(self, as_of: str | int | datetime | None) -> int | None:
        """An as-of value (position, or ISO time / datetime in UTC) as a log position."""
        if as_of is None or as_of == "":
            return None
        newest = self.log.max_position()
        if isinstance(as_of, str) and len(as_of) > AS_OF_MAX_LENGTH:
            raise AsOfOutOfRange(f"as_of is longer than {AS_OF_MAX_LENGTH} characters")
        if isinstance(as_of, str) and _POSITION.fullmatch(as_of):
            as_of = int(as_of)
        if isinstance(as_of, int):
            if as_of < 0 or as_of > newest:
                raise AsOfOutOfRange(f"as_of position {as_of} is outside 0..{newest}")
            return as_of
        if isinstance(as_of, str):
            as_of = _as_of_time(as_of)
        if as_of.tzinfo is None:
            as_of = as_of.replace(tzinfo=UTC)
        self.wait(newest)
        return self.audit.position_at(as_of)

    def state_at(self, position: int, periods: set[str] | None = None) -> PortfolioState:
        """Replay from the newest checkpoint at or before the position (with `periods`: only
        the initiatives of those periods and of the periods the replayed events touch)."""
        return state_at(self.log, self.portfolio, position, periods)

    def snapshot(self, as_of: str | int | datetime | None = None,
                 min_position: int | None = None) -> Snapshot:
        """Live documents, or documents replayed as of a position or time."""
        position = self.resolve(as_of)
        if position is None:
            self.wait(min_position)
            return Snapshot(self.position(), None, self.portfolio)
        return Snapshot(position, None, self.portfolio,
                        loader=lambda periods: self.state_at(position, periods))

    # --- the read models -------------------------------------------------------------------

    def ranking(self, period: str, **at: Any) -> list[Row]:
        """The priority ranking."""
        return self.snapshot(**at).documents("ranking", period=period)

    def ledger(self, period: str, **at: Any) -> Row | None:
        """The pool ledger."""
        found = self.snapshot(**at).documents("ledger", key=period)
        return found[0] if found else None

    def recommendation(self, period: str, **at: Any) -> Row:
        """Greedy, optimal and frontier for the remaining pool."""
        snap = self.snapshot(**at)
        ledger = snap.documents("ledger", key=period)
        return recommendation(snap.documents("ranking", period=period),
                              ledger[0] if ledger else None)

    def scorecard(self, period: str, **at: Any) -> list[Row]:
        """One card per metric."""
        return self.snapshot(**at).documents("scorecard", period=period)

    def directory(self, model: str, **at: Any) -> list[Row]:
        """P&Ls, scenarios, metrics or policies."""
        return self.snapshot(**at).documents(model)

    def initiatives(self, *, period: str | None = None, pnl: str | None = None,
                    status: str | None = None, **at: Any) -> list[Row]:
        """Initiatives, filtered."""
        rows = self.snapshot(**at).documents("initiative", period=period)
        return [r for r in rows if (pnl is None or r["pnl"] == pnl)
                and (status is None or r["status"] == status)]

    def initiative(self, initiative_id: str, **at: Any) -> Row | None:
        """One initiative's card."""
        found = self.snapshot(**at).documents("initiative", key=initiative_id)
        return found[0] if found else None

    def explain_decision(self, decision_id: str, **at: Any) -> Row | None:
        """A decision with the ranking it was taken against, replayed at its log position."""
        snap = self.snapshot(**at)
        for card in snap.documents("initiative"):
            for decision in card["decisions"]:
                if str(decision["decision_id"]) != str(decision_id):
                    continue
                then = self.snapshot(as_of=int(decision["ranking_position"]))
                ranking = then.documents("ranking", period=card["period"])
                entry = next((r for r in ranking if r["code"] == card["code"]), None)
                return {
                    "decision": decision,
                    "initiative": {k: card[k] for k in ("id", "code", "period", "pnl", "kind",
                                                        "status", "submitted_by")},
                    "title": card["proposal"]["title"],
                    "ranking_position": decision["ranking_position"],
                    "ranking_then": ranking,
                    "entry_then": entry,
                    "cut_line_rank": decision["cut_line_rank"],
                    "departure": decision["departure"],
                    "justification": decision["rationale"] or None,
                    "approvers": decision["approvals"],
                    "pool_before": decision["available_before"],
                    "pool_after": decision["available_after"],
                    "policy_version": decision["policy_version"],
                }
        return None

    def departures(self, period: str, **at: Any) -> list[Row]:
        """The departures register: decisions that went against the recommendation."""
        found = []
        for card in self.snapshot(**at).documents("initiative", period=period):
            for decision in card["decisions"]:
                if decision["departure"]:
                    found.append({"initiative_id": card["id"], "code": card["code"],
                                  "title": card["proposal"]["title"], **decision})
        return sorted(found, key=lambda d: int(d["position"]))

    def audit_events(self, *, after: int = 0, limit: int = 100,
                     aggregate_id: str | None = None, min_position: int | None = None,
                     upto: int | None = None) -> list[Row]:
        """The flattened audit log."""
        self.wait(min_position)
        return self.audit.rows(after=after, limit=limit, aggregate_id=aggregate_id, upto=upto)
