"""A period's ranking and greedy walk kept between decisions (auditverify/decisions.py), so that
re-deriving D decisions in a period of N initiatives is not D full rankings and walks.

The replay used to rank the whole period and walk the cut line from scratch at every decision
(O(N log N) each: 1,000 decisions in a period of 1,000 took about 20 s). Now the ranking and
walk computed at one decision are kept for the pool, with each initiative's sort key in a
sorted list (its rank is a bisection), and the events up to the next decision are applied to
them when they provably leave the walk as it was:

- an undecided initiative decided again without leaving the undecided ones (a first approval,
  a deferral), or funded work delivered: nothing the walk reads changes;
- an initiative the walk funds approved (`approved`), when it requires no undecided
  initiative and either none requires it or it is outside the mandatory part and every
  undecided one that requires it ranks below it: the walk without it, from what is available
  less its cost, funds exactly the rest (each earlier step compares against a budget smaller
  by that cost, but everything it funded then fit with the cost still to come; every later
  step sees both its spending and its budget smaller by the same amount, and its dependency
  met, as it was);
- an initiative the walk does not fund leaving contention (rejected, withdrawn, carried
  over: `left`), unless it is in the mandatory part with dependencies: its step spent
  nothing, and what requires it was not funded before (it waited on an unfunded one) nor
  after (it requires one out of contention); the ranks below it move up one.

At the next decision the cache is used only if the pool's available funds are exactly what
the kept walk had less the cost of the `funded` ones (a restatement, a release, a tranche
committed instead of the whole cost: all differ), and the scoring epoch is the same.
Anything else (a submission, a revision, a departure from the walk, a release, an initiative
on whose dependencies others wait, a policy or metric change, guardrails, a tranche ranked
at its tranche) drops the cache, and the next ranking is made from scratch, as before. The
cut line is held as the code at that rank (the funded and recommended set is unchanged by
both kinds of change), so it moves up with the ranks.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from typing import Any

#: The statuses of undecided initiatives (auditverify/decisions.py's UNDECIDED).
UNDECIDED = frozenset({"submitted", "deferred", "pending_second_approval"})
#: A sort key of the ranking: (-score, the policy's tie-breaks..., seq, submission index).
Key = tuple[Any, ...]


@dataclass
class Walk:
    """One pool's ranking and walk as of its last decision, with the changes since."""

    epoch: int
    available: Decimal
    keys: list[Key]  # in-contention initiatives' sort keys, sorted
    scored: Sequence[tuple[Key, Any, Decimal, Decimal, str, Decimal]]  # as ranked then
    index: dict[str, int]  # code -> its rank then (1-based index into `scored`)
    funded: set[str]  # funded already (approved or delivered)
    recommended: set[str]  # funded by the walk
    linked: frozenset[str]  # undecided codes that require, or are required by, another one
    cut_code: str | None  # the code at the cut line's rank
    spent_since: Decimal = field(default=Decimal(0))
    closure: frozenset[str] = frozenset()  # the mandatory ones and what they need, undecided
    needs: dict[str, list[str]] = field(default_factory=dict)  # code -> undecided it requires
    needed_by: dict[str, list[str]] = field(default_factory=dict)  # code -> undecided requirers

    def rank(self, code: str) -> int | None:
        """The code's rank now (1 = best), if it is in contention."""
        n = self.index.get(code)
        return None if n is None else bisect.bisect_left(self.keys, self.scored[n - 1][0]) + 1

    def cut_line_rank(self) -> int | None:
        """The cut line's rank now."""
        return None if self.cut_code is None else self.rank(self.cut_code)

    def approved(self, code: str) -> bool:
        """An undecided initiative became funded work; False when the kept walk may not
        hold any more (the caller drops it)."""
        if code not in self.recommended:
            return False
        if code in self.linked:  # kept only outside the mandatory part, with no prerequisite
            # left undecided, and every undecided one that requires it ranked below it
            rank = self.rank(code)
            if code in self.closure or self.needs.get(code) or rank is None or any(
                    (r := self.rank(d)) is not None and r < rank
                    for d in self.needed_by.get(code, ())):
                return False
        self.recommended.discard(code)
        self.funded.add(code)
        with localcontext() as exact:
            exact.prec = 60
            self.spent_since += self.scored[self.index[code] - 1][5]
        return True

    def left(self, code: str) -> bool:
        """An undecided initiative left contention; False when the walk may change."""
        if code in self.recommended or code not in self.index or (
                code in self.linked and code in self.closure):
            return False
        key = self.scored[self.index.pop(code) - 1][0]
        del self.keys[bisect.bisect_left(self.keys, key)]
        return True

    def usable(self, epoch: int, available: Decimal | None) -> bool:
        """Whether the walk holds for a pool with `available` funds at this scoring epoch;
        if so, it is moved to them."""
        if epoch != self.epoch or available is None:
            return False
        with localcontext() as exact:
            exact.prec = 60
            if available != self.available - self.spent_since:
                return False
        self.available, self.spent_since = available, Decimal(0)
        return True


def build(epoch: int, available: Decimal, scored: Sequence[tuple[Key, Any, Decimal, Decimal,
                                                                   str, Decimal]],
          ranks: dict[str, int], funded: frozenset[str], recommended: set[str],
          requires: Callable[[Any], Sequence[str]], cut_rank: int | None) -> Walk | None:
    """The walk kept from a from-scratch ranking (`scored`: key, initiative, CIP, score,
    status, cost in rank order; `ranks`: code -> rank); None when codes repeat (a code names
    one initiative). Keeps `scored`: the caller must not change it."""
    if len(ranks) != len(scored):
        return None
    undecided = {s[1].code for s in scored if s[4] in UNDECIDED}
    linked: set[str] = set()
    needs: dict[str, list[str]] = {}
    needed_by: dict[str, list[str]] = {}
    mandatory: list[str] = []
    for _, initiative, *_ in scored:
        code = initiative.code
        if code not in undecided:
            continue
        if initiative.proposal.get("mandatory"):
            mandatory.append(code)
        required = [c for c in requires(initiative) if c in undecided and c not in funded]
        if required:
            needs[code] = required
            linked.add(code)
            linked.update(required)
            for c in required:
                needed_by.setdefault(c, []).append(code)
    closure: set[str] = set()
    stack = list(mandatory)
    while stack:
        code = stack.pop()
        if code not in closure:
            closure.add(code)
            stack.extend(needs.get(code, ()))
    cut_code = scored[cut_rank - 1][1].code if cut_rank is not None else None
    return Walk(epoch, available, [s[0] for s in scored], scored, dict(ranks), set(funded),
                set(recommended), frozenset(linked), cut_code, Decimal(0), frozenset(closure),
                needs, needed_by)
