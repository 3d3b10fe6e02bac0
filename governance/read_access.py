"""Read-access rules: who reads which read-model rows. Enforced here, never in routes.

One rule for every read of the portfolio (docs/api-guide.md, "Who reads what"):

* initiatives (lists, cards, the ranking, the recommendation, the initiatives a scorecard
  names) are read by finance, CX executives, auditors and P&L owners; `ingest` service
  accounts read none: periods, the ledger, the register and the scorecard without its
  initiatives, and 403 on the ranking, the recommendation and initiatives;
* a decided initiative is seen whole by every initiative reader;
* an undecided one (submitted, deferred, pending a second approval) is seen whole by
  finance, CX executives, auditors, the owners of its P&L and its submitter. Any other
  initiative reader sees only its place in the ranking (rank, P&L, kind, status, cost, score,
  the cut line): not its id, code, title, problem or impacts. It is absent from initiative
  lists and answers 404, exactly like an initiative that does not exist.

Routes and pages read through `PortfolioReader` (`read_as`), so no read can skip the rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from domain.initiative import UNDECIDED
from governance.access import require_role
from governance.principal import AUDITOR, CX_EXEC, FINANCE, PNL_OWNER, Principal
from projections.query import Snapshot
from projections.recommend import recommendation

Row = dict[str, Any]

#: Roles that see every initiative, decided or not.
SEE_ALL_INITIATIVES = (CX_EXEC, AUDITOR, FINANCE)
#: Roles that read initiatives at all (not `ingest`).
INITIATIVE_READERS = (*SEE_ALL_INITIATIVES, PNL_OWNER)
#: Read models made of initiatives.
INITIATIVE_MODELS = frozenset({"ranking", "initiative"})
#: What a redacted ranking row keeps: its place, never its identity or content.
PLACE = ("period", "rank", "kind", "pnl", "status", "cost", "cip", "score", "cip_display",
         "score_display", "funded", "recommended", "above_cut_line", "reason_code",
         "mandatory", "policy_version", "cut_line_rank")
#: What a redacted ranking row blanks (the rest of a ranking row).
BLANKED: Row = {"id": None, "code": None, "title": None, "scenario": None,
                "confidence": None, "reason": None, "dependencies": [], "touchpoints": [],
                "functional_areas": [], "lines": []}


class Visibility(Enum):
    """How much of one initiative a principal reads."""

    FULL = "full"
    REDACTED = "redacted"  # its place in the ranking only
    HIDDEN = "hidden"  # nothing: the principal reads no initiatives


def require_audit_reader(principal: Principal) -> None:
    """Only auditors and CX executives read the raw event stream and decision records."""
    require_role(principal, AUDITOR, CX_EXEC, action="reading the audit trail")


def require_policy_previewer(principal: Principal) -> None:
    """What-if previews of draft scoring terms are for CX executives."""
    require_role(principal, CX_EXEC, action="previewing a scoring policy")


def reads_initiatives(principal: Principal) -> bool:
    """True when the principal reads initiatives (not an ingest service account)."""
    return principal.has(*INITIATIVE_READERS)


def require_initiative_reader(principal: Principal) -> None:
    """The ranking, the recommendation and initiatives need a person's role: `ingest`
    service accounts are refused (403), whatever exists."""
    require_role(principal, *INITIATIVE_READERS, action="reading initiatives")


def visibility(principal: Principal, row: Mapping[str, Any]) -> Visibility:
    """How much of an initiative (its card: status, pnl, submitted_by) the principal reads."""
    if not reads_initiatives(principal):
        return Visibility.HIDDEN
    if row.get("status") not in UNDECIDED or principal.has(*SEE_ALL_INITIATIVES):
        return Visibility.FULL
    if principal.has(PNL_OWNER) and row.get("pnl") in principal.pnls:
        return Visibility.FULL
    if row.get("submitted_by") == principal.actor:
        return Visibility.FULL
    return Visibility.REDACTED


def sees_initiative(principal: Principal, row: Mapping[str, Any]) -> bool:
    """True when the principal reads the whole initiative (otherwise it is not found)."""
    return visibility(principal, row) is Visibility.FULL


def visible_initiatives(principal: Principal,
                        rows: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The initiatives of a list the principal reads whole."""
    return [row for row in rows if sees_initiative(principal, row)]


def redacted(row: Mapping[str, Any]) -> Row:
    """A ranking row reduced to its place."""
    return {**{k: row.get(k) for k in PLACE}, **BLANKED, "redacted": True}


@dataclass(frozen=True)
class PortfolioReader:
    """A snapshot of the read models as one principal may read it."""

    principal: Principal
    snapshot: Snapshot

    @property
    def position(self) -> int:
        """The log position the snapshot shows."""
        return self.snapshot.position

    @property
    def sees_all(self) -> bool:
        """True when nothing is filtered or redacted for this principal."""
        return self.principal.has(*SEE_ALL_INITIATIVES)

    def documents(self, model: str, *, period: str | None = None,
                  key: str | None = None) -> list[Row]:
        """Documents of a model, filtered and redacted by the rule."""
        if model in INITIATIVE_MODELS and not reads_initiatives(self.principal):
            return []
        found = self.snapshot.documents(model, period=period, key=key)
        if self.sees_all:
            return found
        if model == "scorecard" and not reads_initiatives(self.principal):
            return [{**card, "initiatives": []} for card in found]
        if model == "initiative":
            return [row for row in found if sees_initiative(self.principal, row)]
        if model == "ranking":
            return self._ranking(found)
        return found

    def _ranking(self, rows: list[Row]) -> list[Row]:
        periods = {str(r["period"]) for r in rows}
        cards = {str(c["id"]): c for p in periods
                 for c in self.snapshot.documents("initiative", period=p)}
        return [row if sees_initiative(self.principal, cards.get(str(row["id"]), row))
                else redacted(row) for row in rows]

    def recommendation(self, period: str) -> Row:
        """The recommendation (computed on the whole ranking, so it is the same for everyone),
        with the codes and titles of initiatives the principal may not read blanked."""
        if not reads_initiatives(self.principal):
            return {}
        ledger = self.snapshot.documents("ledger", key=period)
        ranking = self.snapshot.documents("ranking", period=period)
        found = recommendation(ranking, ledger[0] if ledger else None)
        if self.sees_all or not found:
            return found
        shown = {r["code"] for r in self.documents("ranking", period=period)} - {None}

        def keys(codes: list[str]) -> list[str | None]:
            return [code if code in shown else None for code in codes]

        for plan in (found["greedy"], found["optimal"], *found["frontier"]):
            if plan is not None:
                plan["keys"] = keys(plan["keys"])
        found["unfunded"] = [item if item["code"] in shown else
                             {**item, "code": None, "title": None, "reason": None}
                             for item in found["unfunded"]]
        return found


def read_as(principal: Principal, snapshot: Snapshot) -> PortfolioReader:
    """The snapshot as the principal may read it."""
    return PortfolioReader(principal, snapshot)
