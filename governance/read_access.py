"""Read-access rules: who reads which read-model rows. Enforced here, never in routes.

One rule for every read of the portfolio (docs/api-guide.md, "Who reads what"):

* initiatives (lists, cards, the ranking, the recommendation, the initiatives a scorecard
  names) are read by finance, CX executives, auditors and P&L owners; `ingest` service
  accounts read none: periods, the ledger, the register and the scorecard without its
  initiatives, and 403 on the ranking, the recommendation and initiatives;
* a decided initiative is seen whole by every initiative reader;
* an undecided one (submitted, deferred, pending a second approval), or one carried over
  into another period (its proposal is its undecided successor's), is seen whole by
  finance, CX executives, auditors, the owners of its P&L and its submitter. Any other
  initiative reader sees only its place in the ranking (rank, P&L, kind, status, cost, score,
  the cut line): not its id, code, title, problem or impacts. It is absent from initiative
  lists and answers 404, exactly like an initiative that does not exist.
* "you said, we did" (projections/feed.py) is read whole by every initiative reader (not
  ingest): it is meant for publishing and holds delivered initiatives only (decided).

Routes and pages read through `PortfolioReader` (`read_as`), so no read can skip the rule.
It reads the typed rows of `projections.rows` and answers them, never plain documents.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum
from typing import TypeVar

from domain.lifecycle import CONFIDENTIAL
from governance.access import require_role
from governance.principal import AUDITOR, CX_EXEC, FINANCE, PNL_OWNER, Principal
from projections.fairshare import FairShares
from projections.rows import (
    Departure,
    InitiativeCard,
    Ledger,
    MetricRow,
    PnlRow,
    PolicyRow,
    RankingRow,
    Recommendation,
    SaidDidStory,
    ScenarioRow,
    ScorecardCard,
    TargetInForce,
    Unfunded,
)
from projections.snapshot import Snapshot

#: Roles that see every initiative, decided or not.
SEE_ALL_INITIATIVES = (CX_EXEC, AUDITOR, FINANCE)
#: Roles that read initiatives at all (not `ingest`).
INITIATIVE_READERS = (*SEE_ALL_INITIATIVES, PNL_OWNER)
#: What a redacted ranking row blanks: its identity and content (it keeps its place).
BLANKED: dict[str, object] = {
    "id": None, "code": None, "title": None, "scenario": None, "confidence": None,
    "reason": None, "dependencies": [], "touchpoints": [], "functional_areas": [], "lines": [],
    "jobs": [], "redacted": True}
Card = TypeVar("Card", InitiativeCard, RankingRow)


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


def visibility(principal: Principal, card: InitiativeCard | RankingRow) -> Visibility:
    """How much of an initiative (its card, or its ranking row) the principal reads."""
    if not reads_initiatives(principal):
        return Visibility.HIDDEN
    if card.status not in CONFIDENTIAL or principal.has(*SEE_ALL_INITIATIVES):
        return Visibility.FULL
    if principal.has(PNL_OWNER) and card.pnl in principal.pnls:
        return Visibility.FULL
    if isinstance(card, InitiativeCard) and card.submitted_by == principal.actor:
        return Visibility.FULL
    return Visibility.REDACTED


def sees_initiative(principal: Principal, card: InitiativeCard | RankingRow) -> bool:
    """True when the principal reads the whole initiative (otherwise it is not found)."""
    return visibility(principal, card) is Visibility.FULL


def visible_initiatives(principal: Principal, cards: Iterable[Card]) -> list[Card]:
    """The initiatives of a list the principal reads whole."""
    return [card for card in cards if sees_initiative(principal, card)]


def redacted(row: RankingRow) -> RankingRow:
    """A ranking row reduced to its place."""
    return row.model_copy(update=BLANKED)


@dataclass(frozen=True)
class PortfolioReader:
    """A snapshot of the read models as one principal may read it: the typed reads of
    `projections.snapshot.Snapshot`, filtered and redacted by the rule."""

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

    @property
    def reads_initiatives(self) -> bool:
        """True when the principal reads initiatives at all."""
        return reads_initiatives(self.principal)

    # --- everyone reads these whole ----------------------------------------------------------

    def ledger(self, period: str) -> Ledger | None:
        """A period's pool ledger."""
        return self.snapshot.ledger(period)

    def ledgers(self) -> list[Ledger]:
        """Every period's ledger."""
        return self.snapshot.ledgers()

    def pnls(self) -> list[PnlRow]:
        """The P&Ls."""
        return self.snapshot.pnls()

    def scenarios(self) -> list[ScenarioRow]:
        """The scenarios."""
        return self.snapshot.scenarios()

    def metrics(self) -> list[MetricRow]:
        """The metrics."""
        return self.snapshot.metrics()

    def metric(self, code: str) -> MetricRow | None:
        """One metric."""
        return self.snapshot.metric(code)

    def policy(self) -> PolicyRow | None:
        """The scoring policy in force."""
        return self.snapshot.policy()

    def you_said_we_did(self) -> list[SaidDidStory]:
        """"You said, we did", read whole by every initiative reader (none for ingest): it is
        written to be published and names delivered initiatives only (code, title, delivery
        date), decided by definition, so it is the same for every reader."""
        return self.snapshot.you_said_we_did() if self.reads_initiatives else []

    # --- initiatives, by the rule ------------------------------------------------------------

    def scorecard(self, period: str) -> list[ScorecardCard]:
        """The scorecard (without its initiatives for callers who read none); each target
        version lists only the decisions on initiatives the principal reads whole."""
        cards = self.snapshot.scorecard(period)
        if self.sees_all:
            return cards
        shown = {card.code for card in self.initiatives(period)}

        def history(card: ScorecardCard) -> list[TargetInForce]:
            return [t.model_copy(update={"decisions": [d for d in t.decisions
                                                       if d.code in shown]})
                    for t in card.targets]

        if self.reads_initiatives:
            return [card.model_copy(update={"targets": history(card)}) for card in cards]
        return [card.model_copy(update={"initiatives": [], "targets": history(card)})
                for card in cards]

    def initiatives(self, period: str | None = None) -> list[InitiativeCard]:
        """The initiatives the principal reads whole."""
        if not self.reads_initiatives:
            return []
        return visible_initiatives(self.principal, self.snapshot.initiatives(period))

    def initiative(self, initiative_id: str) -> InitiativeCard | None:
        """One initiative, if the principal reads it whole (None otherwise, as if missing)."""
        card = self.snapshot.initiative(initiative_id) if self.reads_initiatives else None
        return card if card is not None and sees_initiative(self.principal, card) else None

    def departures(self, period: str) -> list[Departure]:
        """The departures register, of the initiatives the principal reads whole."""
        if not self.reads_initiatives:
            return []
        found = self.snapshot.departures(period)
        if self.sees_all:
            return found
        shown = {card.id for card in self.initiatives(period)}
        return [d for d in found if d.initiative_id in shown]

    def ranking(self, period: str) -> list[RankingRow]:
        """The ranking: rows the principal may not read whole are reduced to their place."""
        if not self.reads_initiatives:
            return []
        rows = self.snapshot.ranking(period)
        if self.sees_all:
            return rows
        cards = {card.id: card for card in self.snapshot.initiatives(period)}
        return [row if sees_initiative(self.principal, cards.get(row.id or "", row))
                else redacted(row) for row in rows]

    def recommendation(self, period: str, *, unfunded_offset: int = 0,
                       unfunded_limit: int | None = None) -> Recommendation | None:
        """The recommendation (computed on the whole ranking, so it is the same for everyone),
        with the codes and titles of initiatives the principal may not read blanked; one page
        of the unfunded list (`unfunded_offset`, `unfunded_limit`; None: all)."""
        if not self.reads_initiatives:
            return None
        found = self.snapshot.recommendation(period, unfunded_offset=unfunded_offset,
                                             unfunded_limit=unfunded_limit)
        if self.sees_all or found is None:
            return found
        shown = {r.code for r in self.ranking(period)} - {None}

        def keys(codes: list[str | None]) -> list[str | None]:
            return [code if code in shown else None for code in codes]

        def unfunded(item: Unfunded) -> Unfunded:
            return item if item.code in shown else item.model_copy(
                update={"code": None, "title": None, "reason": None})

        return found.model_copy(update={
            "greedy": found.greedy.model_copy(update={"keys": keys(found.greedy.keys)}),
            "optimal": found.optimal and found.optimal.model_copy(
                update={"keys": keys(found.optimal.keys)}),
            "frontier": [p.model_copy(update={"keys": keys(p.keys)}) for p in found.frontier],
            "unfunded": [unfunded(item) for item in found.unfunded],
        })

    def fair_shares(self, period: str) -> FairShares | None:
        """Fair shares (issue 16; computed on the whole ranking, the same for everyone), with
        the codes of initiatives the principal may not read blanked, as the recommendation."""
        if not self.reads_initiatives:
            return None
        found = self.snapshot.fair_shares(period)
        if self.sees_all or found is None:
            return found
        shown = {r.code for r in self.ranking(period)} - {None}
        return found.model_copy(update={"plans": [
            plan.model_copy(update={"keys": [k if k in shown else None for k in plan.keys]})
            for plan in found.plans]})


def read_as(principal: Principal, snapshot: Snapshot) -> PortfolioReader:
    """The snapshot as the principal may read it."""
    return PortfolioReader(principal, snapshot)
