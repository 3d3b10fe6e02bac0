"""IdempotencyKey: a client's retry key, saved in the same transaction as the command's events."""

from __future__ import annotations

from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import CxgovError, InvalidInput
from domain.ids import natural_id
from domain.initiative import DecisionRecord

MAX_KEY_LENGTH = 200


class IdempotencyKeyReused(CxgovError):
    """The key was used before with a different request."""

    code = "idempotency.key_reused"
    title = "Idempotency key reused with a different request"


class IdempotencyKey(Aggregate):
    """What a keyed command wrote; a retry with the same key and request replays it."""

    TOPIC = "cxgov.IdempotencyKey"

    class Created(Aggregate.Created):
        TOPIC = "cxgov.IdempotencyKey.Created"

    class Recorded(Created):
        TOPIC = "cxgov.IdempotencyKey.Recorded"
        key: str
        fingerprint: str
        result_id: UUID
        result_version: int
        status: str | None
        decision: DecisionRecord | None
        actor: str

    @staticmethod
    def create_id(actor: str, key: str) -> UUID:
        """Keys are scoped to the principal that sent them."""
        return natural_id("idempotency", actor, key)

    @classmethod
    def record(cls, *, actor: str, key: str, fingerprint: str, result_id: UUID,
               result_version: int, status: str | None,
               decision: DecisionRecord | None) -> IdempotencyKey:
        """Record a keyed command's result."""
        check_key(key)
        created: IdempotencyKey = cls(actor=actor, key=key, fingerprint=fingerprint,
                                      result_id=result_id, result_version=result_version,
                                      status=status, decision=decision)
        return created

    @event(Recorded)
    def __init__(self, *, actor: str, key: str, fingerprint: str, result_id: UUID,
                 result_version: int, status: str | None,
                 decision: DecisionRecord | None) -> None:
        self.key = key
        self.fingerprint = fingerprint
        self.result_id = result_id
        self.result_version = result_version
        self.status = status
        self.decision = decision


def check_key(key: str) -> str:
    """Keys are 1-200 visible ASCII characters."""
    if not key or len(key) > MAX_KEY_LENGTH or not all(33 <= ord(c) < 127 for c in key):
        raise InvalidInput("Idempotency-Key must be 1-200 visible ASCII characters",
                           field="Idempotency-Key")
    return key
