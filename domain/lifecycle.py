"""An initiative's lifecycle words: its statuses, a decision's outcomes and their groupings.

StrEnums, so an event, a fold snapshot or a JSON row holds exactly the strings it held before
(`Status.APPROVED == "approved"`, and `json.dumps` writes `"approved"`). Which event leads to
which status is `Initiative.status_after` (domain/initiative.py), next to the events.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from domain.errors import InvalidInput


class Status(StrEnum):
    """Where an initiative is in its lifecycle."""

    SUBMITTED = "submitted"
    PENDING_SECOND_APPROVAL = "pending_second_approval"
    DEFERRED = "deferred"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    CARRIED_OVER = "carried_over"  # carried into a later period (its successor is decided there)


class Outcome(StrEnum):
    """What a CX executive decides on an undecided initiative."""

    APPROVE = "approve"
    REJECT = "reject"
    DEFER = "defer"

    @classmethod
    def parse(cls, value: str) -> Outcome:
        """The outcome named by `value`, or InvalidInput on the `outcome` field."""
        try:
            return cls(value)
        except ValueError:
            raise InvalidInput(f"outcome must be one of {', '.join(cls)}",
                               field="outcome") from None


#: Not yet finally decided: may still be decided, revised (submitted, deferred) or withdrawn.
UNDECIDED: Final = frozenset({Status.SUBMITTED, Status.DEFERRED, Status.PENDING_SECOND_APPROVAL})
#: What its owners may still revise (and a CX executive first-approve).
REVISABLE: Final = frozenset({Status.SUBMITTED, Status.DEFERRED})
#: Holding the pool's money.
FUNDED: Final = frozenset({Status.APPROVED, Status.DELIVERED})
#: Ranked: everything undecided or funded.
IN_CONTENTION: Final = UNDECIDED | FUNDED
#: Carried into a later period: a deferred initiative at any time; one still undecided
#: (submitted, pending a second approval) only once its own period is closed.
CARRIABLE_ANYTIME: Final = frozenset({Status.DEFERRED})
CARRIABLE_WHEN_CLOSED: Final = UNDECIDED
#: Content still under decision, read whole only by the governance roles, its P&L's owners
#: and its submitter: undecided work, and carried-over work (its proposal is its successor's).
CONFIDENTIAL: Final = UNDECIDED | {Status.CARRIED_OVER}
