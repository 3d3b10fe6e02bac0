"""Stored read-model documents and the change scopes that say which of them to render again.

A document is one row of `rm_documents` (or of the in-memory view): its model ("ranking",
"ledger", "scorecard", "initiative", "pnl", "scenario", "metric", "policy"), its key, the
period it belongs to, its sort order and its JSON payload. The payload's shape is the typed
row of the same name in `projections.rows`.

A change scope names what one folded event changed: `period:FY2027`, `metric:M1`,
`initiative:<id>`, or the whole `directory`, `metrics` or `policy`. The fold reports scopes as
their text (`PortfolioState.apply`); `Scope.parse` is the one place that reads that text.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, NamedTuple


class Doc(NamedTuple):
    """One stored read-model document."""

    model: str
    key: str
    period: str | None
    sort: int
    payload: dict[str, Any]


DocKey = tuple[str, str]  # (model, key)


class ScopeKind(StrEnum):
    """What a change scope names."""

    PERIOD = "period"
    METRIC = "metric"
    INITIATIVE = "initiative"
    DIRECTORY = "directory"  # P&Ls, scenarios, metrics and policies
    METRICS = "metrics"  # the metric register: every scorecard card too
    POLICY = "policy"


@dataclass(frozen=True, order=True)
class Scope:
    """A change scope: a kind and, for periods, metrics and initiatives, the key it names."""

    kind: ScopeKind
    key: str = ""

    @classmethod
    def parse(cls, text: str | Scope) -> Scope:
        """`period:FY2027` as Scope(PERIOD, "FY2027"); `directory` as Scope(DIRECTORY)."""
        if isinstance(text, Scope):
            return text
        kind, _, key = text.partition(":")
        return cls(ScopeKind(kind), key)

    @classmethod
    def period(cls, code: str) -> Scope:
        """The scope of a period's documents."""
        return cls(ScopeKind.PERIOD, code)

    @classmethod
    def initiative(cls, initiative_id: str) -> Scope:
        """The scope of one initiative's card."""
        return cls(ScopeKind.INITIATIVE, initiative_id)

    def __str__(self) -> str:
        return f"{self.kind}:{self.key}" if self.key else str(self.kind)


@dataclass(frozen=True)
class Changes:
    """A set of change scopes, grouped by kind."""

    periods: frozenset[str] = frozenset()
    metrics: frozenset[str] = frozenset()
    initiatives: frozenset[str] = frozenset()
    kinds: frozenset[ScopeKind] = frozenset()

    @classmethod
    def of(cls, scopes: Iterable[str | Scope]) -> Changes:
        """Group scopes (texts or values) by kind."""
        found: dict[ScopeKind, set[str]] = {kind: set() for kind in ScopeKind}
        for scope in map(Scope.parse, scopes):
            found[scope.kind].add(scope.key)
        return cls(periods=frozenset(found[ScopeKind.PERIOD]),
                   metrics=frozenset(found[ScopeKind.METRIC]),
                   initiatives=frozenset(found[ScopeKind.INITIATIVE]),
                   kinds=frozenset(kind for kind, keys in found.items() if keys))

    def named(self, kind: ScopeKind) -> bool:
        """True when a scope of this kind is among the changes."""
        return kind in self.kinds


def periods_of(scopes: Iterable[str | Scope]) -> set[str]:
    """Periods named by change scopes."""
    return set(Changes.of(scopes).periods)
