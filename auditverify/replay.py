"""The decision replays driven over the log's rows, from one read of them (decisions 289, 290).

RankReplay re-derives the ranking each decision was taken against (auditverify/decisions.py
folds the history and ranks; auditverify/rankcheck.py compares the record) in two passes
over one read: the first collects the position each decision was ranked at, the second folds
the events it kept and ranks the period at exactly those positions. DecisionReplay feeds every
row to it, to the rules (auditverify/rules.py) and to the lifecycle (auditverify/lifecycle.py)
as the chain checks read the rows: a bundle is parsed once, a database read once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from auditverify.decisions import DECISIONS, FOLDED, TRANCHES, _History, payload, uuid_key
from auditverify.lifecycle import LifecycleReplay
from auditverify.model import Finding, Row
from auditverify.rankcheck import compare_record
from auditverify.rules import RuleReplay


@dataclass(frozen=True)
class _Wanted:
    position: int
    name: str
    initiative_id: str
    record: dict[str, Any]
    gate: str | None


#: What RankReplay keeps of the events its second pass folds: their stored state's bytes plus
#: KEPT_ROW_BYTES each (the rest of a kept step: 345 bytes measured with tracemalloc on a
#: 100,000-row bundle, 2026-12-07). Past it the kept steps are dropped and finish() reads the
#: rows again, as every pass once did (decision 289).
KEEP_BYTES = 256 << 20
KEPT_ROW_BYTES = 350

#: One step of RankReplay's second pass: settle through `upto`, then fold (position, topic,
#: originator id, state) if the ranking folds its topic.
_Fold = tuple[int, int, str, str, bytes]


class RankReplay:
    """The ranking then, for every decision, from one read of the rows (decision 289).

    feed() each row in the order it is read (a tampered log's may not be position order):
    it collects each decision's ranking position (the first pass) and keeps the events the
    second pass folds, each with the position everything before it had reached. finish()
    then folds those and ranks each period at exactly the decisions' positions, as the second
    read of every row did, with the same findings in the same order. Past `keep_bytes` it
    keeps nothing and finish() reads `reread()` again instead (without one, it keeps on).
    `incremental=False` ranks every decision's period from scratch (the reference the kept
    walks are tested against)."""

    def __init__(self, reread: Callable[[], Iterable[Row]] | None = None, *,
                 incremental: bool = True, keep_bytes: int = KEEP_BYTES) -> None:
        self.findings: list[Finding] = []
        self._wanted: dict[int, list[_Wanted]] = {}
        self._reread, self._incremental = reread, incremental
        self._kept: list[_Fold] | None = []
        self._room = keep_bytes
        self._reached = -1  # the largest position read, less one: settled before each fold

    @staticmethod
    def reads(name: str) -> bool:
        """Whether feed() reads an event of this name (its topic without `cxgov.`) beyond
        its position: a decision, or an event the ranking folds."""
        return name in DECISIONS or name in FOLDED

    def feed(self, row: Row) -> None:
        self._reached = max(self._reached, row.position - 1)
        event = row.event
        if event is None:
            return
        name = event.topic.removeprefix("cxgov.")
        if not self.reads(name):
            return
        if name in DECISIONS:
            try:
                data = payload(event.state)
                decision = data["decision"]
                at = int(decision["ranking_position"])
                gate = str(data["gate"]) if name in TRANCHES else None
            except READ_ERRORS as exc:
                self.findings.append(_unreadable(row.position, event.topic, exc))
            else:
                self._wanted.setdefault(at, []).append(
                    _Wanted(row.position, name, event.originator_id, decision, gate))
        if name in FOLDED and self._kept is not None:
            self._room -= len(event.state) + KEPT_ROW_BYTES
            if self._room < 0 and self._reread is not None:
                self._kept = None
            else:
                self._kept.append((self._reached, row.position, event.topic,
                                   event.originator_id, event.state))

    def finish(self) -> tuple[int, list[Finding]]:
        """How many decisions were checked, and every finding (check_decision_ranks)."""
        findings = self.findings
        if not self._wanted:
            return 0, findings
        wanted, history = self._wanted, _History(incremental=self._incremental)
        checked = 0
        pending = sorted(wanted)

        def settle(upto: int) -> None:
            nonlocal checked
            while pending and pending[0] <= upto:
                for want in wanted[pending.pop(0)]:
                    checked += 1
                    findings.extend(compare(history, want))

        if self._kept is not None:
            folds: Iterable[_Fold] = self._kept
        else:
            assert self._reread is not None  # for mypy: kept is only dropped when there is one
            folds = _every_row(self._reread())
        for upto, position, topic, originator, state in folds:
            settle(upto)
            if topic.removeprefix("cxgov.") in FOLDED:
                try:
                    history.apply(topic, originator, payload(state))
                except READ_ERRORS as exc:
                    findings.append(_unreadable(position, topic, exc))
        settle(2**63)
        return checked, findings


def _every_row(rows: Iterable[Row]) -> Iterator[_Fold]:
    """The second pass as a second read makes it: settle before every row, fold its event."""
    for row in rows:
        event = row.event
        if event is None:
            yield row.position - 1, row.position, "", "", b""
        else:
            yield (row.position - 1, row.position, event.topic, event.originator_id,
                   event.state)


def check_decision_ranks(rows: Callable[[], Iterable[Row]], *,
                         incremental: bool = True) -> tuple[int, list[Finding]]:
    """Return how many decisions were checked and a finding for each disagreement between a
    decision's record and the ranking then (auditverify/rankcheck.py names the rules), from
    one read of `rows()` (a second only past RankReplay's memory bound)."""
    replay = RankReplay(rows, incremental=incremental)
    for row in rows():
        replay.feed(row)
    return replay.finish()


def compare(history: _History, want: _Wanted) -> list[Finding]:
    """A decision's record against the ranking then (an unreadable record or an event it rests
    on: one rank finding)."""
    try:
        target = history.initiatives.get(uuid_key(want.initiative_id))
        asking = None
        if want.gate is not None and target is not None:
            asking = target.gates.get(want.gate)
        ranking = history.ranking(want.initiative_id, asking)
        needs = tuple(map(str, (target.proposal.get("dependencies") or ()) if target else ()))
        return compare_record(want.position, want.name, want.record, ranking,
                              target.code if target else None, history.policy_version,
                              tranche=want.gate is not None, dependencies=needs)
    except READ_ERRORS as exc:
        return [Finding("decision_rank_mismatch", want.position,
                        f"the decision's rank cannot be replayed from the log "
                        f"({type(exc).__name__}: {exc}): an event it rests on is unreadable",
                        tamper="rule")]


#: What reading a tampered event's JSON can raise; each becomes a finding at its position.
READ_ERRORS = (KeyError, TypeError, ValueError, AttributeError, ArithmeticError, IndexError)


def _unreadable(position: int, topic: str, exc: Exception) -> Finding:
    return Finding("malformed_event", position,
                   f"{topic.removeprefix('cxgov.')} cannot be read to replay the ranking: "
                   f"{type(exc).__name__} {exc}")


class DecisionReplay:
    """Every decision re-derived from the log, from one read of its rows (decision 289):
    feed() each row as it is read (the chain pass's own: a bundle is parsed once, a database
    read once), then finish(). The ranking then, its rank, score, cut line and recommended
    flag (RankReplay above), the rules (auditverify.rules), and each initiative's
    lifecycle (auditverify.lifecycle). `reread`: how to read the rows again, only if the
    events the ranking folds outgrow KEEP_BYTES."""

    def __init__(self, reread: Callable[[], Iterable[Row]] | None = None, *,
                 keep_bytes: int = KEEP_BYTES) -> None:
        self._ranks = RankReplay(reread, keep_bytes=keep_bytes)
        self._rules = RuleReplay()
        self._lifecycle = LifecycleReplay()

    @staticmethod
    def reads(topic: str) -> bool:
        """Whether any of the replays reads an event of this topic. In a part of the log
        whose positions follow one another with nothing missing, feeding only these rows
        gives the same outcome as feeding every row (what a bundle's second half, read by a
        forked helper, hands back: decision 290)."""
        name = topic.removeprefix("cxgov.")
        return RankReplay.reads(name) or RuleReplay.reads(name) or LifecycleReplay.reads(name)

    def feed(self, row: Row) -> None:
        self._ranks.feed(row)
        self._rules.feed(row)
        self._lifecycle.feed(row)

    def tap(self, rows: Iterable[Row]) -> Iterator[Row]:
        """`rows`, each fed here as it passes on."""
        for row in rows:
            self.feed(row)
            yield row

    def finish(self) -> tuple[int, list[Finding]]:
        """The decisions checked and every finding (info notes too), in position order."""
        ranked, rank_findings = self._ranks.finish()
        findings = sorted([*rank_findings, *self._rules.findings, *self._lifecycle.findings],
                          key=lambda f: f.position or 0)
        return max(ranked, self._rules.decisions), findings


def check_decisions(rows: Callable[[], Iterable[Row]]) -> tuple[int, list[Finding]]:
    """DecisionReplay over `rows()`; returns the decisions checked and every finding (info
    notes too), in position order."""
    replay = DecisionReplay(rows)
    for row in rows():
        replay.feed(row)
    return replay.finish()
