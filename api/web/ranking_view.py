"""The ranking's view (issue 17): sort, filter and search, carried in the URL so a view can be
shared; and the decided list (initiatives out of the ranking: rejected, withdrawn, cancelled).

Everything here works on what the reader already sees (redacted rows keep their place, P&L,
kind and cost; their blanked code and title never match a search), without JavaScript: the
controls are a GET form and the column headings are links."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from projections.rows import InitiativeCard, RankingRow

SORTS = {"rank": "Rank", "score": "Score", "cost": "Cost", "cip": "CIP", "code": "Code",
         "title": "Initiative", "pnl": "P&L", "status": "Status"}
#: the natural direction of each sort: best first for figures, A to Z for text
DESCENDING = {"score", "cip"}
CROSS_PNL = "cross"  # the filter value of initiatives of no single P&L


@dataclass
class RankingView:
    """The view the URL asks for: one sort, optional filters and a search text."""

    sort: str = "rank"
    reverse: bool = False
    pnl: str | None = None
    kind: str | None = None
    status: str | None = None
    touchpoint: str | None = None
    q: str | None = None
    choices: dict[str, list[str]] = field(default_factory=dict)

    @property
    def filtered(self) -> bool:
        """True when any filter or the search narrows the rows."""
        return any((self.pnl, self.kind, self.status, self.touchpoint, self.q))

    @property
    def changed(self) -> bool:
        """True when the view is not the plain ranking (rank order, everything)."""
        return self.filtered or self.sort != "rank" or self.reverse

    def params(self, **override: Any) -> dict[str, Any]:
        """The view's query parameters (for links that keep it), with overrides."""
        kept = {"sort": None if self.sort == "rank" else self.sort,
                "dir": "reverse" if self.reverse else None, "pnl": self.pnl,
                "kind": self.kind, "status": self.status, "touchpoint": self.touchpoint,
                "q": self.q}
        kept.update(override)
        return {k: v for k, v in kept.items() if v not in (None, "")}

    def sort_params(self, key: str) -> dict[str, Any]:
        """A column heading's link: sort by it, or flip the direction when it is the sort."""
        flip = key == self.sort and not self.reverse
        return self.params(sort=None if key == "rank" else key,
                           dir="reverse" if flip else None)

    def aria_sort(self, key: str) -> str | None:
        """The heading's aria-sort value when the rows are sorted by it."""
        if key != self.sort:
            return None
        return "descending" if (key in DESCENDING) != self.reverse else "ascending"


def _clean(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def read_view(params: Any) -> RankingView:
    """The view from the query string; an unknown sort is the rank order."""
    sort = _clean(params.get("sort")) or "rank"
    return RankingView(sort=sort if sort in SORTS else "rank",
                       reverse=params.get("dir") == "reverse",
                       pnl=_clean(params.get("pnl")), kind=_clean(params.get("kind")),
                       status=_clean(params.get("status")),
                       touchpoint=_clean(params.get("touchpoint")),
                       q=_clean((params.get("q") or "")[:80]))


def _pnl_of(pnl: str | None) -> str:
    return pnl or CROSS_PNL


def _matches(view: RankingView, *, pnl: str | None, kind: str, status: str,
             touchpoints: list[str], text: str) -> bool:
    if view.pnl and _pnl_of(pnl) != view.pnl:
        return False
    if view.kind and kind != view.kind:
        return False
    if view.status and status != view.status:
        return False
    if view.touchpoint and view.touchpoint not in touchpoints:
        return False
    return not view.q or view.q.casefold() in text.casefold()


def _row_text(row: RankingRow) -> str:
    if row.redacted:
        return ""
    return " ".join(filter(None, (row.code, row.title, row.reason, row.scenario)))


def _sort_key(key: str) -> Any:
    def of(row: RankingRow) -> Any:
        if key == "rank":
            return (row.rank,)
        if key in ("score", "cost", "cip"):
            return (Decimal(str(getattr(row, key))), -row.rank)
        if key == "code":
            return (row.code is None, row.code or "", row.rank)
        if key == "title":
            return (row.title is None, (row.title or "").casefold(), row.rank)
        if key == "pnl":
            return (_pnl_of(row.pnl), row.rank)
        return (row.status, row.rank)
    return of


def apply_view(view: RankingView, ranking: list[RankingRow],
               decided: list[InitiativeCard]) -> tuple[list[RankingRow], list[InitiativeCard]]:
    """The ranking rows and decided cards the view shows, in its order; fills its choices
    (from every row, so a filter never hides its own options)."""
    view.choices = {
        "pnl": sorted({_pnl_of(r.pnl) for r in ranking} | {_pnl_of(c.pnl) for c in decided}),
        "kind": sorted({r.kind for r in ranking} | {c.kind for c in decided}),
        "status": sorted({r.status for r in ranking} | {c.status for c in decided}),
        "touchpoint": sorted({t for r in ranking for t in r.touchpoints}
                             | {t for c in decided for t in c.proposal.touchpoints}),
    }
    rows = [r for r in ranking if _matches(view, pnl=r.pnl, kind=r.kind, status=r.status,
                                           touchpoints=r.touchpoints, text=_row_text(r))]
    descending = (view.sort in DESCENDING) != view.reverse
    rows.sort(key=_sort_key(view.sort), reverse=descending)
    cards = [c for c in decided if _matches(
        view, pnl=c.pnl, kind=c.kind, status=c.status, touchpoints=c.proposal.touchpoints,
        text=" ".join((c.code, c.proposal.title, c.proposal.problem)))]
    return rows, cards


def cut_line_after(view: RankingView, rows: list[RankingRow]) -> int | None:
    """The rank of the shown row the cut line is drawn under: only in rank order (in any
    other order there is no line to draw; each row still says above or below)."""
    if view.sort != "rank" or view.reverse or not rows:
        return None
    cut = rows[0].cut_line_rank
    if cut is None:
        return None
    above = [r.rank for r in rows if r.rank <= cut]
    return max(above) if above else None


def decided_cards(cards: list[InitiativeCard], ranking: list[RankingRow]) -> list[InitiativeCard]:
    """The period's initiatives the reader sees whole that are out of the ranking (rejected,
    withdrawn, cancelled), newest change first."""
    ranked = {r.id for r in ranking if r.id}
    out = [c for c in cards if c.id not in ranked]
    return sorted(out, key=lambda c: (str(c.updated_at or c.submitted_at), c.code),
                  reverse=True)
