"""A snapshot of the read models at one log position, read as typed rows.

The live views and an as-of replay answer the same questions through the same methods: the
stored documents (`documents`, untyped, for the views and their tests) and the typed reads
(`ranking`, `ledger`, `recommendation`, ...), parsed at this boundary into `projections.rows`.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeVar

from domain.policy import Guardrail
from projections import feed, render
from projections.codec import canonical
from projections.documents import Scope, ScopeKind
from projections.fairshare import FairShares, fair_shares
from projections.recommend import Planned, planned, unfunded_page
from projections.rows import (
    Departure,
    InitiativeCard,
    Ledger,
    MetricRow,
    PnlRow,
    PolicyRow,
    RankingRow,
    ReadRow,
    Recommendation,
    SaidDidStory,
    ScenarioRow,
    ScorecardCard,
)
from projections.state import PortfolioState
from projections.views import PortfolioView

Row = dict[str, Any]
R = TypeVar("R", bound=ReadRow)

#: Documents of one period (asked by period, or by a key that starts with the period).
PERIOD_MODELS = frozenset({"ranking", "ledger", "scorecard"})
DIRECTORY_MODELS = frozenset({"pnl", "scenario", "metric", "policy"})
#: Queries (model, period, key) whose latest read `Recent` keeps (the least recent dropped).
RECENT_QUERIES = 64


def _identity(doc: Row, index: int) -> object:
    """Which earlier document a document may be the same as (its id, else code, else place)."""
    return doc.get("id") or doc.get("code") or index


class Recent:
    """Typed rows and recommendation plans of the latest read of each query, shared across
    positions (decision 162): a read at a new position reuses a typed row whose document is
    equal to the one read before, and a plan whose ranking rows and ledger are equal, so a
    write that leaves a period alone (a reading, feedback, another period) costs its readers
    the documents and a comparison, not a validation and an optimum. Equality of the inputs
    is the whole rule, so it holds for live and as-of reads alike."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rows: OrderedDict[tuple[object, ...], tuple[list[Row], list[Any]]] = \
            OrderedDict()
        self._plans: OrderedDict[tuple[object, ...], tuple[list[RankingRow], Ledger, Planned]] \
            = OrderedDict()

    def rows(self, memo: tuple[object, ...], docs: list[Row],
             parse: Callable[[Row], Any]) -> list[Any]:
        """The typed rows of `docs`: the earlier typed row of an equal document, else parsed."""
        with self._lock:
            before = self._rows.get(memo)
        if before is None:
            typed = [parse(doc) for doc in docs]
        else:
            earlier = {_identity(doc, k): (doc, row) for k, (doc, row)
                       in enumerate(zip(*before, strict=True))}
            typed = []
            for k, doc in enumerate(docs):
                hit = earlier.get(_identity(doc, k))
                typed.append(hit[1] if hit is not None and hit[0] == doc else parse(doc))
        self._keep(memo, docs, typed)
        return typed

    def rows_of_texts(self, memo: tuple[object, ...], texts: list[str],
                      parse: Callable[[Row], Any]) -> list[Any]:
        """The typed rows of documents given as their texts (decision 273): the earlier typed
        row of an equal text, else the text parsed and validated. A decision changes a few of
        a period's documents; the others are neither parsed nor compared as values."""
        with self._lock:
            before = self._rows.get(memo)
        earlier: dict[object, Any] = {}
        if before is not None:
            earlier = dict(zip(before[0], before[1], strict=True))
        typed = [earlier[text] if text in earlier else parse(json.loads(text))
                 for text in texts]
        self._keep(memo, texts, typed)
        return typed

    def _keep(self, memo: tuple[object, ...], inputs: list[Any], typed: list[Any]) -> None:
        with self._lock:
            self._rows[memo] = (inputs, typed)
            self._rows.move_to_end(memo)
            while len(self._rows) > RECENT_QUERIES:
                self._rows.popitem(last=False)

    def plan(self, memo: tuple[object, ...], ranking: list[RankingRow], ledger: Ledger,
             make: Callable[[], Planned]) -> Planned:
        """The earlier plan when the ranking rows and the ledger are equal, else `make()`."""
        with self._lock:
            before = self._plans.get(memo)
        if (before is not None and before[1] == ledger and len(before[0]) == len(ranking)
                and all(a is b or a == b for a, b in zip(before[0], ranking, strict=True))):
            return before[2]
        found = make()
        with self._lock:
            self._plans[memo] = (ranking, ledger, found)
            self._plans.move_to_end(memo)
            while len(self._plans) > RECENT_QUERIES:
                self._plans.popitem(last=False)
        return found


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
    # typed rows and recommendation plans already read (one page reads the ranking or the
    # cards more than once; `ReadModels` shares one memo between the reads of a position)
    _memo: dict[tuple[object, ...], list[Any]] = field(default_factory=dict, compare=False,
                                                       repr=False)
    # what the latest reads of other positions parsed and planned (decision 162)
    _recent: Recent | None = field(default=None, compare=False, repr=False)

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
        """Stored documents of a model (plain JSON), ordered by sort then key."""
        if not self.replayed:
            return self.view.documents(model, period=period, key=key)
        scopes: set[Scope] | None = None
        state: PortfolioState | None = None
        named = period or (key.split("/", 1)[0] if key is not None else None)
        if model in PERIOD_MODELS and named is not None:
            state = self._state({named})
            if named not in state.periods:
                return []
            scopes = {Scope.period(named)}
        elif model in DIRECTORY_MODELS:
            state = self._state(set())
            scopes = {Scope(ScopeKind.DIRECTORY)}
        elif model == "initiative" and period is not None and key is None:
            state = self._state({period})
            scopes = {Scope.initiative(i.id) for i in state.initiatives.values()
                      if i.period == period}
        if state is None:
            state = self._state(None)
        docs = render.documents(state, scopes) if scopes != set() else {}
        found = [d for d in docs.values() if d.model == model
                 and (period is None or d.period == period) and (key is None or d.key == key)]
        return [d.payload for d in sorted(found, key=lambda d: (d.sort, d.key))]

    def dump(self) -> list[tuple[str, str, str]]:
        """Canonical (model, key, payload) triples of every document."""
        if not self.replayed:
            return self.view.dump()
        return sorted((d.model, d.key, canonical(d.payload))
                      for d in render.documents(self._state(None)).values())

    def _rows(self, row: type[R], model: str, *, period: str | None = None,
              key: str | None = None) -> list[R]:
        """Typed rows (immutable), read once per snapshot and handed out as new lists."""
        memo = (row, model, period, key)
        found = self._memo.get(memo)
        if found is None and self._recent is not None and not self.replayed:
            texts = self.view.document_texts(model, period=period, key=key)
            found = self._memo[memo] = self._recent.rows_of_texts(
                ("text", *memo), texts, row.model_validate)
        elif found is None:
            docs = self.documents(model, period=period, key=key)
            found = self._memo[memo] = (
                [row.model_validate(doc) for doc in docs] if self._recent is None
                else self._recent.rows(memo, docs, row.model_validate))
        return list(found)

    # --- typed reads -----------------------------------------------------------------------

    def ranking(self, period: str) -> list[RankingRow]:
        """A period's priority ranking (empty before a policy or without the period)."""
        return self._rows(RankingRow, "ranking", period=period)

    def ledger(self, period: str) -> Ledger | None:
        """A period's pool ledger (None: no such period)."""
        found = self._rows(Ledger, "ledger", key=period)
        return found[0] if found else None

    def ledgers(self) -> list[Ledger]:
        """Every period's ledger, in period order."""
        return self._rows(Ledger, "ledger")

    def scorecard(self, period: str) -> list[ScorecardCard]:
        """One card per customer success metric."""
        return self._rows(ScorecardCard, "scorecard", period=period)

    def initiatives(self, period: str | None = None) -> list[InitiativeCard]:
        """Initiative cards (of one period, or all)."""
        return self._rows(InitiativeCard, "initiative", period=period)

    def initiative(self, initiative_id: str) -> InitiativeCard | None:
        """One initiative's card (None: no such initiative)."""
        found = self._rows(InitiativeCard, "initiative", key=initiative_id)
        return found[0] if found else None

    def pnls(self) -> list[PnlRow]:
        """The P&Ls."""
        return self._rows(PnlRow, "pnl")

    def scenarios(self) -> list[ScenarioRow]:
        """The scenarios."""
        return self._rows(ScenarioRow, "scenario")

    def metrics(self) -> list[MetricRow]:
        """The customer success metrics."""
        return self._rows(MetricRow, "metric")

    def metric(self, code: str) -> MetricRow | None:
        """One metric (None: no such metric)."""
        found = self._rows(MetricRow, "metric", key=code)
        return found[0] if found else None

    def policy(self) -> PolicyRow | None:
        """The scoring policy in force (None: none adopted yet)."""
        found = self._rows(PolicyRow, "policy")
        return found[-1] if found else None

    def recommendation(self, period: str, *, unfunded_offset: int = 0,
                       unfunded_limit: int | None = None) -> Recommendation | None:
        """Greedy, optimal and frontier for the remaining pool (None: no such period); the
        unfunded list from `unfunded_offset`, at most `unfunded_limit` (None: all)."""
        ledger = self.ledger(period)
        if ledger is None:
            return None
        policy = self.policy()
        guardrails = [
            Guardrail(g.dimension, g.value,
                      *(None if x is None else Decimal(x)
                        for x in (g.min_share, g.max_share, g.min_amount, g.max_amount)))
            for g in (policy.terms.guardrails if policy else [])
        ]
        # the plan of this position (optimum, frontier) serves every page and reader of it
        memo = ("recommendation", period, tuple(guardrails))
        found = self._memo.get(memo)
        if found is None:
            ranking = self.ranking(period)

            def make() -> Planned:
                return planned(ranking, ledger, guardrails=guardrails)

            found = self._memo[memo] = [make() if self._recent is None
                                        else self._recent.plan(memo, ranking, ledger, make)]
        return unfunded_page(found[0], unfunded_offset=unfunded_offset,
                             unfunded_limit=unfunded_limit)

    def fair_shares(self, period: str) -> FairShares | None:
        """Fair shares (issue 16): the Method of Equal Shares beside the greedy and exact
        plans, each P&L's share of spend and of value (None: no such period)."""
        ledger = self.ledger(period)
        rec = self.recommendation(period, unfunded_limit=0)  # the plans, not the unfunded list
        if ledger is None or rec is None:
            return None
        return fair_shares(self.ranking(period), ledger, self.pnls(), rec)

    def you_said_we_did(self) -> list[SaidDidStory]:
        """"You said, we did": one story per metric, every period (projections/feed.py).
        Replayed from the whole fold (deliveries of any period count), by the same render."""
        if not self.replayed:
            return self._rows(SaidDidStory, feed.MODEL)
        state = self._state(None)
        return [SaidDidStory.model_validate(feed.story(state, code))
                for code in sorted(feed.touched(state, None))]

    def departures(self, period: str) -> list[Departure]:
        """The departures register: decisions against the recommendation, in log order."""
        return departures_of(self.initiatives(period))


def departures_of(cards: Sequence[InitiativeCard]) -> list[Departure]:
    """The decisions against the recommendation among these initiatives, in log order."""
    found = [Departure(initiative_id=card.id, code=card.code, title=card.proposal.title,
                       **dict(decision))
             for card in cards for decision in card.decisions if decision.departure]
    return sorted(found, key=lambda d: d.position)
