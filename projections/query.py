"""Queries over the read models, live or as of any position or time."""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from domain.errors import InvalidInput, PeriodNotFound, PlanNotFound
from domain.plans import COMPARE_AT_MOST
from domain.policy import PolicyTerms
from projections import render
from projections.departments import DepartmentSummary, DepartmentView, department, departments
from projections.drivers import DriverAnalysis, drivers
from projections.fairshare import FairShares
from projections.feedback import FeedbackPage, feedback_page
from projections.fold_cache import fold_cache
from projections.jobs import JobMap, job_map
from projections.log import LogReader
from projections.loop_rows import LoopView
from projections.plans import PlanComparison, PlansList, compare, find_plans, plans_list
from projections.projection import state_at
from projections.rounds import RoundView, round_view
from projections.rows import (
    AuditEvent,
    DecisionExplanation,
    Departure,
    InitiativeCard,
    InitiativeRef,
    Ledger,
    RankingRow,
    Recommendation,
    SaidDidStory,
    ScorecardCard,
)
from projections.snapshot import Recent, Snapshot
from projections.state import PortfolioState
from projections.views import AuditLogView, PortfolioView

__all__ = ["AsOfOutOfRange", "NotCaughtUp", "ReadModels", "Snapshot"]


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
#: Positions whose typed reads are kept (live and replayed, each): a read model of 10,000
#: initiatives holds tens of MB of typed rows per position.
MEMO_POSITIONS = 2


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
        # typed rows and recommendation plans read at a position, shared by the requests that
        # read that position (decision 161): live and replayed apart, newest few of each
        self._memos: OrderedDict[tuple[int, int, bool], tuple[object, dict[Any, Any]]] = \
            OrderedDict()
        self._memos_lock = threading.Lock()
        self._recent = Recent()  # and what the latest reads parsed and planned (decision 162)

    def _memo(self, view: object, position: int, replayed: bool) -> dict[Any, Any]:
        """The memo of typed reads at a position of a view (created empty when missing; the
        oldest beyond MEMO_POSITIONS of its kind is dropped). Documents at a position never
        change, so a memo is never stale; a replayed read never shares the live one's."""
        key = (id(view), position, replayed)
        with self._memos_lock:
            found = self._memos.get(key)
            if found is not None and found[0] is view:
                self._memos.move_to_end(key)
                return found[1]
            self._memos[key] = (view, {})
            kind = [k for k in self._memos if k[2] == replayed]
            for old in kind[:-MEMO_POSITIONS]:
                del self._memos[old]
            return self._memos[key][1]

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
        """An as-of value (position, or ISO time / datetime in UTC) as a log position: the
        newest one at or before it that ends a write transaction (where the store records
        transactions), so an as-of state never holds half a transaction (issue 18)."""
        position = self._resolve(as_of)
        whole = getattr(self.log, "whole", None)
        return position if position is None or whole is None else int(whole(position))

    def _resolve(self, as_of: str | int | datetime | None) -> int | None:
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
        at_time = getattr(self.log, "at_time", None)  # the log's own time, where it has one
        found = None if at_time is None else at_time(as_of)
        return self.audit.position_at(as_of) if found is None else int(found)

    def state_at(self, position: int, periods: set[str] | None = None) -> PortfolioState:
        """Replay from the newest fold snapshot at or before the position (with `periods`: only
        the initiatives of those periods and of the periods the replayed events touch), or
        from the process's fold cache (projections/fold_cache.py): the live state folded on
        incrementally, or a nearer as-of state. Shared: read it, never change it."""
        cache = fold_cache(self.log)
        if cache is None:
            return state_at(self.log, self.portfolio, position, periods)
        return cache.state_at(self.log, self.portfolio, position, periods)

    def snapshot(self, as_of: str | int | datetime | None = None,
                 min_position: int | None = None, *, shared: bool = True) -> Snapshot:
        """Live documents, or documents replayed as of a position or time. `shared=False`
        reads the stored documents afresh instead of the rows read at the same position
        before (the audit's check of the read model against the log must see what is stored
        now, an edit made behind the log's back included)."""
        position = self.resolve(as_of)
        if position is None:
            self.wait(min_position)
            view, live = self.portfolio, self.position()
            if not shared:
                return Snapshot(live, None, view)
            return Snapshot(live, None, view, _memo=self._memo(view, live, False),
                            _recent=self._recent)
        view = self.portfolio
        if not shared:
            return Snapshot(position, None, view,
                            loader=lambda periods: self.state_at(position, periods))
        return Snapshot(position, None, view,
                        loader=lambda periods: self.state_at(position, periods),
                        _memo=self._memo(view, position, True), _recent=self._recent)

    def loop(self, as_of: str | int | datetime | None = None,
             min_position: int | None = None) -> LoopView:
        """Signals, reviews, loop speed and benefit plans (projections/loop_rows.py), from the
        whole fold at a position: live at the wall clock, as of a position at the time of the
        event there (time-based signals use that time as `now`)."""
        position = self.resolve(as_of)
        if position is None:
            self.wait(min_position)
            return LoopView(self.state_at(self.position()), datetime.now(UTC))
        return LoopView(self.state_at(position), self.time_at(position))

    def plans(self, period: str, **at: Any) -> tuple[int, PlansList | None]:
        """A period's funding plans and plan of record (issue 16), and the position read
        (None: no such period then). Plans live in the fold's core: as of any position they
        replay without loading an initiative."""
        state = self.core_at(**at)
        if period not in state.periods:
            return state.position, None
        return state.position, plans_list(state, period)

    def compare_plans(self, period: str, names: list[str],
                      **at: Any) -> tuple[int, PlanComparison | None]:
        """Named plans of a period side by side (1 to 4), as `plans` reads them; a name
        that is not a plan of the period then is refused (PlanNotFound)."""
        if not 1 <= len(names) <= COMPARE_AT_MOST:
            raise InvalidInput(f"name 1 to {COMPARE_AT_MOST} plans to compare", field="names")
        state = self.core_at(**at)
        if period not in state.periods:
            return state.position, None
        found, missing = find_plans(state, period, names)
        if missing:
            raise PlanNotFound(f"{period} has no plan named {', '.join(map(repr, missing))}",
                               field="names", names=missing)
        return state.position, compare(state, period, found)

    def departments(self, **at: Any) -> tuple[int, list[DepartmentSummary]]:
        """Every department that owns an operational metric (issue 15), and the position
        read; from the fold's core, live or as of any position."""
        state = self.core_at(**at)
        return state.position, departments(state)

    def feedback(self, *, metric: str | None = None, scenario: str | None = None,
                 job: str | None = None, cited_by: str | None = None, limit: int = 100,
                 offset: int = 0, **at: Any) -> tuple[int, FeedbackPage]:
        """Feedback items (issue 15), newest first, filtered, and the position read; from the
        fold's core, live or as of any position."""
        state = self.core_at(**at)
        return state.position, feedback_page(state, metric=metric, scenario=scenario, job=job,
                                             cited_by=cited_by, limit=limit, offset=offset)

    def funding_round(self, period: str, *, now: datetime | None = None,
                      **at: Any) -> tuple[int, RoundView | None]:
        """A period's funding round (issue 16, part 4; None: it runs none then) and the
        position read, from the fold's core. Live, the phase is judged at `now` (the
        application's clock; default the wall clock); as of a position, at the time of the
        event there. A period that does not exist (then) is refused (PeriodNotFound)."""
        state = self.core_at(**at)
        if period not in state.periods:
            raise PeriodNotFound(f"no period {period}", period=period)
        when = (self.time_at(state.position) if at.get("as_of") not in (None, "")
                else now or datetime.now(UTC))
        return state.position, round_view(state, period, when)

    def jobs(self, **at: Any) -> tuple[int, JobMap]:
        """The job map (issue 15): jobs by opportunity and the weights they propose, and the
        position read; from the fold's core, live or as of any position."""
        state = self.core_at(**at)
        return state.position, job_map(state)

    def drivers(self, code: str, *, names: list[str] | None = None, lag: int = 0,
                segment: str | None = None, **at: Any) -> tuple[int, DriverAnalysis | None]:
        """A key-driver analysis of metric `code` (issue 15; projections/drivers.py; None: no
        such metric then), and the position read; from the fold's core, live or as of any
        position. A driver code the register does not hold is refused (InvalidInput)."""
        state = self.core_at(**at)
        try:
            return state.position, drivers(state, code, names=names, lag=lag, segment=segment)
        except KeyError as exc:
            raise InvalidInput(f"no metric {exc.args[0]!r} to use as a driver",
                               field="drivers") from None

    def department(self, name: str, **at: Any) -> tuple[int, DepartmentView | None]:
        """One department's operational metrics and the outcomes they serve (None: no
        operational metric names it then), and the position read."""
        state = self.core_at(**at)
        return state.position, department(state, name)

    def core_at(self, as_of: str | int | datetime | None = None,
                min_position: int | None = None) -> PortfolioState:
        """The fold's core (no initiatives) live or as of a position or time."""
        position = self.resolve(as_of)
        if position is None:
            self.wait(min_position)
            position = self.position()
        return self.state_at(position, set())

    def time_at(self, position: int) -> datetime:
        """The time of the event at a log position (the epoch for position 0)."""
        rows = self.audit.rows(after=position - 1, limit=1, upto=position) if position else []
        if not rows:
            return datetime(1970, 1, 1, tzinfo=UTC)
        at = rows[0]["at"]
        found = at if isinstance(at, datetime) else datetime.fromisoformat(str(at))
        return found if found.tzinfo else found.replace(tzinfo=UTC)

    # --- the read models (each as of `at`: as_of and min_position, as `snapshot` takes) ------

    def ranking(self, period: str, **at: Any) -> list[RankingRow]:
        """The priority ranking."""
        return self.snapshot(**at).ranking(period)

    def ledger(self, period: str, **at: Any) -> Ledger | None:
        """The pool ledger."""
        return self.snapshot(**at).ledger(period)

    def recommendation(self, period: str, **at: Any) -> Recommendation | None:
        """Greedy, optimal and frontier for the remaining pool."""
        return self.snapshot(**at).recommendation(period)

    def fair_shares(self, period: str, **at: Any) -> FairShares | None:
        """Fair shares (issue 16): Method of Equal Shares beside the greedy and exact plans."""
        return self.snapshot(**at).fair_shares(period)

    def scorecard(self, period: str, **at: Any) -> list[ScorecardCard]:
        """One card per metric."""
        return self.snapshot(**at).scorecard(period)

    def initiative(self, initiative_id: str, **at: Any) -> InitiativeCard | None:
        """One initiative's card."""
        return self.snapshot(**at).initiative(initiative_id)

    def you_said_we_did(self, **at: Any) -> list[SaidDidStory]:
        """"You said, we did": one story per customer success metric (projections/feed.py)."""
        return self.snapshot(**at).you_said_we_did()

    def preview_ranking(self, period: str,
                        terms: PolicyTerms) -> tuple[int, list[RankingRow] | None]:
        """What-if: a period's ranking now under draft terms (None: no such period), and the
        position it was ranked at."""
        position = self.position()
        state = self.state_at(position)
        if period not in state.periods:
            return position, None
        return position, [RankingRow.model_validate(row)
                          for row in render.ranking(state, period, terms)]

    def departures(self, period: str, **at: Any) -> list[Departure]:
        """The departures register: decisions that went against the recommendation."""
        return self.snapshot(**at).departures(period)

    def explain_decision(self, decision_id: str, **at: Any) -> DecisionExplanation | None:
        """A decision with the ranking it was taken against, replayed at its log position. The
        decision is read from the stored documents afresh (not the rows kept for the position):
        the audit route checks it against the log (api/routes/audit_decisions.py)."""
        for card in self.snapshot(**at, shared=False).initiatives():
            for decision in card.decisions:
                if decision.decision_id != str(decision_id):
                    continue
                ranking = self.snapshot(as_of=decision.ranking_position).ranking(card.period)
                return DecisionExplanation(
                    decision=decision,
                    initiative=InitiativeRef(
                        id=card.id, code=card.code, period=card.period, pnl=card.pnl,
                        kind=card.kind, status=card.status, submitted_by=card.submitted_by),
                    title=card.proposal.title,
                    ranking_position=decision.ranking_position,
                    ranking_then=ranking,
                    entry_then=next((r for r in ranking if r.code == card.code), None),
                    cut_line_rank=decision.cut_line_rank,
                    departure=decision.departure,
                    justification=decision.rationale or None,
                    approvers=decision.approvals,
                    pool_before=decision.available_before,
                    pool_after=decision.available_after,
                    policy_version=decision.policy_version)
        return None

    def audit_events(self, *, after: int = 0, limit: int = 100,
                     aggregate_id: str | None = None, min_position: int | None = None,
                     upto: int | None = None) -> list[AuditEvent]:
        """The flattened audit log."""
        self.wait(min_position)
        rows = self.audit.rows(after=after, limit=limit, aggregate_id=aggregate_id, upto=upto)
        return [AuditEvent.model_validate(row) for row in rows]

    def audit_timeline(self, *, limit: int, before: int | None = None,
                       after: int | None = None, upto: int | None = None,
                       topics: Sequence[str] = (), family: str | None = None,
                       aggregate_ids: Sequence[str] | None = None,
                       actor: str | None = None) -> list[AuditEvent]:
        """One page of the auditor's timeline, filtered and limited in the view's query
        (issue 17, decision 250): never more than `limit` rows read. With `after`, the rows
        just above it, oldest first; otherwise those below `before` (or the newest), newest
        first."""
        rows = self.audit.timeline(limit=limit, before=before, after=after, upto=upto,
                                   topics=topics, family=family,
                                   aggregate_ids=aggregate_ids, actor=actor)
        return [AuditEvent.model_validate(row) for row in rows]
