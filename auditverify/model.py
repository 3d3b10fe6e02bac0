"""Plain records the verifier reads (events, chain entries, checkpoints, receipts) and reports.

Row, EventRow, ChainRow and SealRow are slotted: the verifier's loop in C reads their fields
from the slots (auditverify/_chainloop.c, decision 291), and a slotted row is smaller."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal

from auditverify.encoding import (
    checkpoint_payload,
    disclosure_payload,
    from_micros,
    micros,
    seal_mac_input,
    seal_payload,
    sha256,
)

Severity = Literal["error", "warning", "info"]


@dataclass(frozen=True, slots=True)
class EventRow:
    """One stored event exactly as the events table holds it."""

    originator_id: str
    originator_version: int
    topic: str
    state: bytes


@dataclass(frozen=True, slots=True)
class ChainRow:
    """One hash-chain entry."""

    prev_position: int
    prev_hash: bytes
    entry_hash: bytes
    recorded_at_us: int


@dataclass(frozen=True, slots=True)
class SealRow:
    """The service's signature over one write transaction's chain entries (issue 18, part 1),
    stored at the transaction's last position: the head it extended, its last entry, how many
    entries it wrote. A role that can only INSERT cannot make one: the key is not in the
    database.

    `epoch` and `mac` (decision 287; 0 and empty on seals written before them): the write
    epoch the seal was made in and a MAC over its fields at fixed widths (seal_mac_input)
    under that epoch's key, which
    the service discloses, signed, once the epoch has ended (Disclosure). A verifier given
    the disclosure checks the MAC (a hash) instead of the signature (a curve operation)."""

    prev_position: int
    prev_hash: bytes
    entry_hash: bytes
    entries: int
    key_id: str
    signature: bytes
    epoch: int = 0
    mac: bytes = b""

    def payload(self, position: int) -> bytes:
        """The signed bytes, for the seal stored at `position`."""
        return seal_payload(prev_position=self.prev_position, prev_hash=self.prev_hash,
                            position=position, entry_hash=self.entry_hash,
                            entries=self.entries, key_id=self.key_id)

    def mac_input(self, position: int) -> bytes:
        """The bytes the MAC covers, for the seal stored at `position` (ValueError if no MAC
        can be valid: a hash of another size, a number outside int64)."""
        return seal_mac_input(prev_position=self.prev_position, prev_hash=self.prev_hash,
                              position=position, entry_hash=self.entry_hash,
                              entries=self.entries)

    def to_json(self) -> dict[str, Any]:
        """As a JSON object (hashes in hex, signature in base64)."""
        return {"prev_position": self.prev_position, "prev_hash": self.prev_hash.hex(),
                "entry_hash": self.entry_hash.hex(), "entries": self.entries,
                "key_id": self.key_id,
                "signature": base64.b64encode(self.signature).decode("ascii"),
                **({"epoch": self.epoch, "mac": self.mac.hex()} if self.epoch else {})}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SealRow:
        """From a JSON object written by to_json."""
        epoch = data.get("epoch", 0)
        if not isinstance(epoch, int) or isinstance(epoch, bool) or epoch < 0:
            raise ValueError(f"a seal's epoch must be a whole number, not {epoch!r}")
        return cls(prev_position=int(data["prev_position"]),
                   prev_hash=bytes.fromhex(data["prev_hash"]),
                   entry_hash=bytes.fromhex(data["entry_hash"]), entries=int(data["entries"]),
                   key_id=str(data["key_id"]),
                   signature=base64.b64decode(data["signature"], validate=True),
                   epoch=epoch, mac=bytes.fromhex(data["mac"]) if epoch else b"")


@dataclass(frozen=True)
class Disclosure:
    """The service's signed statement that write epoch `epoch` ended at `position` (the chain
    then held `count` entries, the last with hash `head`) and that `epoch_key` was its seals'
    MAC key (decision 287). Made under the writers' lock, so no seal of this epoch lies after
    `position` and every later seal uses a later epoch's key, still secret."""

    epoch: int
    position: int
    count: int
    head: bytes
    epoch_key: bytes
    key_id: str
    signature: bytes

    def payload(self) -> bytes:
        """The signed bytes."""
        return disclosure_payload(epoch=self.epoch, position=self.position, count=self.count,
                                  head=self.head, epoch_key=self.epoch_key,
                                  key_id=self.key_id)

    def to_json(self) -> dict[str, Any]:
        """As a JSON object (hashes and key in hex, signature in base64)."""
        return {"epoch": self.epoch, "position": self.position, "count": self.count,
                "head": self.head.hex(), "epoch_key": self.epoch_key.hex(),
                "key_id": self.key_id,
                "signature": base64.b64encode(self.signature).decode("ascii")}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Disclosure:
        """From a JSON object written by to_json."""
        return cls(epoch=int(data["epoch"]), position=int(data["position"]),
                   count=int(data["count"]), head=bytes.fromhex(data["head"]),
                   epoch_key=bytes.fromhex(data["epoch_key"]), key_id=str(data["key_id"]),
                   signature=base64.b64decode(data["signature"], validate=True))


@dataclass(frozen=True, slots=True)
class Row:
    """What the history holds at one position: an event, a chain entry, or both (and the
    seal of the write transaction that ends here, if any)."""

    position: int
    event: EventRow | None
    chain: ChainRow | None
    seal: SealRow | None = None


@dataclass(frozen=True)
class Receipt:
    """A (position, entry hash) pair the auditor kept from a write response."""

    position: int
    entry_hash: bytes

    def to_json(self) -> dict[str, Any]:
        """As a JSON object."""
        return {"position": self.position, "entry_hash": self.entry_hash.hex()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Receipt:
        """From a JSON object."""
        return cls(position=int(data["position"]), entry_hash=bytes.fromhex(data["entry_hash"]))


@dataclass(frozen=True)
class Checkpoint:
    """A signed statement: at `position` the chain had `count` entries and head `head`."""

    seq: int
    position: int
    count: int
    head: bytes
    issued_at_us: int
    prev_hash: bytes
    key_id: str
    signature: bytes
    public_key: bytes = b""  # informational only: the verifier uses the auditor's key

    @property
    def issued_at(self) -> datetime:
        """The issue time (UTC)."""
        return from_micros(self.issued_at_us)

    def payload(self) -> bytes:
        """The signed bytes."""
        return checkpoint_payload(
            seq=self.seq,
            position=self.position,
            count=self.count,
            head=self.head,
            issued_at_us=self.issued_at_us,
            prev_hash=self.prev_hash,
            key_id=self.key_id,
        )

    def digest(self) -> bytes:
        """The checkpoint's hash, which the next checkpoint names as its predecessor."""
        return sha256(self.payload())

    def to_json(self) -> dict[str, Any]:
        """As a JSON object (hashes in hex, signature and key in base64)."""
        return {
            "seq": self.seq,
            "position": self.position,
            "count": self.count,
            "head": self.head.hex(),
            "issued_at": self.issued_at.isoformat(),
            "prev_hash": self.prev_hash.hex(),
            "key_id": self.key_id,
            "signature": base64.b64encode(self.signature).decode("ascii"),
            "public_key": base64.b64encode(self.public_key).decode("ascii"),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Checkpoint:
        """From a JSON object written by to_json."""
        return cls(
            seq=int(data["seq"]),
            position=int(data["position"]),
            count=int(data["count"]),
            head=bytes.fromhex(data["head"]),
            issued_at_us=micros(datetime.fromisoformat(data["issued_at"])),
            prev_hash=bytes.fromhex(data["prev_hash"]),
            key_id=str(data["key_id"]),
            signature=base64.b64decode(data["signature"], validate=True),
            public_key=base64.b64decode(data.get("public_key", ""), validate=True),
        )


#: What happened, in one word, for each kind of finding (the issue 18 vocabulary): a row or
#: checkpoint deleted, inserted, altered or reordered; written without the service's
#: authentication; the history cut short; a history that forks from what was signed or kept;
#: a decision the service's rules forbid. Info and warnings say "none" / "unanchored".
TAMPER_KINDS: dict[str, str] = {
    "missing_row": "deleted", "missing_event": "deleted", "anchor_missing": "deleted",
    "checkpoint_missing": "deleted", "checkpoint_sequence": "deleted",
    "unexpected_row": "inserted", "unchained_event": "inserted",
    "hash_mismatch": "altered", "altered_entry": "altered", "broken_link": "altered",
    "malformed_event": "altered", "malformed_row": "altered", "malformed_checkpoint": "altered",
    "malformed_disclosure": "altered",
    "order": "reordered", "checkpoint_order": "reordered",
    "bad_signature": "unauthenticated", "unknown_key": "unauthenticated",
    "unsealed_row": "unauthenticated", "bad_seal": "unauthenticated",
    "unsealed_history": "unauthenticated", "bad_disclosure": "unauthenticated",
    "truncated": "truncated", "bundle_incomplete": "truncated",
    "anchor_mismatch": "forked", "rewritten": "forked", "checkpoint_replaced": "forked",
    "checkpoint_link": "forked",
    "decision_rank_mismatch": "rule", "segregation_of_duties": "rule", "four_eyes": "rule",
    "pool_arithmetic": "rule", "departure_flag": "rule", "decision_score_mismatch": "rule",
    "policy_version": "rule", "cut_line": "rule", "recommended_flag": "rule",
    "dependency_not_funded": "rule",
    "not_rederived": "none",
    "gap": "none", "foreign_key_offered": "none", "unanchored": "unanchored",
    "policy_anchored_through": "truncated", "policy_min_checkpoints": "deleted",
    "policy_max_age": "truncated",
}


@dataclass(frozen=True)
class Finding:
    """One thing the verifier found; only errors make a history fail.

    `kind` names the check that failed; `tamper` says what happened (TAMPER_KINDS; given
    explicitly where the check can tell more, e.g. a version discontinuity or a rewrite
    that deleted rows).
    """

    kind: str
    position: int | None
    detail: str
    severity: Severity = "error"
    tamper: str = ""

    def __post_init__(self) -> None:
        if not self.tamper:
            object.__setattr__(self, "tamper", TAMPER_KINDS.get(self.kind, "altered"))


@dataclass(frozen=True)
class Report:
    """The verdict: ok, the first bad position, and every finding."""

    ok: bool
    first_bad_position: int | None
    findings: tuple[Finding, ...]
    rows: int = 0
    last_position: int = 0
    valid_checkpoints: int = 0
    anchored_through: int = 0
    sealed_through: int = 0
    newest_checkpoint_at_us: int | None = None  # the newest valid, matching checkpoint's time
    omitted_findings: int = 0
    sources: tuple[str, ...] = field(default_factory=tuple)
    #: write seals authenticated by their MAC under a disclosed epoch key / by signature
    seals_by_mac: int = 0
    seals_by_signature: int = 0
    decisions_checked: int = 0

    def with_decisions(self, checked: int, findings: Sequence[Finding]) -> Report:
        """This report plus the replayed decision ranks and rules (one finding per kind and
        position: an unreadable event is named once though both replays read it)."""
        seen = {(f.kind, f.position) for f in self.findings}
        unique: list[Finding] = []
        for f in findings:
            if (f.kind, f.position) not in seen:
                seen.add((f.kind, f.position))
                unique.append(f)
        findings = unique
        bad = [f.position for f in findings if f.position is not None and f.severity == "error"]
        first = min([*bad, *([self.first_bad_position] if self.first_bad_position else [])],
                    default=None)
        failed = any(f.severity == "error" for f in findings)  # info: a rule not re-derived
        return replace(self, ok=self.ok and not failed, first_bad_position=first,
                       findings=(*self.findings, *findings), decisions_checked=checked)

    def with_findings(self, findings: Sequence[Finding]) -> Report:
        """This report plus more findings (errors make it fail)."""
        bad = [f.position for f in findings if f.position is not None and f.severity == "error"]
        first = min([*bad, *([self.first_bad_position] if self.first_bad_position else [])],
                    default=None)
        failed = any(f.severity == "error" for f in findings)
        return replace(self, ok=self.ok and not failed, first_bad_position=first,
                       findings=(*self.findings, *findings))

    @property
    def errors(self) -> tuple[Finding, ...]:
        """The findings that make the history fail."""
        return tuple(f for f in self.findings if f.severity == "error")

    def kinds(self) -> set[str]:
        """The kinds of error found."""
        return {f.kind for f in self.errors}

    def to_json(self) -> dict[str, Any]:
        """As a JSON object."""
        return {
            "ok": self.ok,
            "first_bad_position": self.first_bad_position,
            "rows": self.rows,
            "last_position": self.last_position,
            "valid_checkpoints": self.valid_checkpoints,
            "anchored_through": self.anchored_through,
            "sealed_through": self.sealed_through,
            "seals_by_mac": self.seals_by_mac,
            "seals_by_signature": self.seals_by_signature,
            "newest_checkpoint_at": None if self.newest_checkpoint_at_us is None else
            from_micros(self.newest_checkpoint_at_us).isoformat(),
            "omitted_findings": self.omitted_findings,
            "decisions_checked": self.decisions_checked,
            "findings": [
                {"kind": f.kind, "tamper": f.tamper, "position": f.position,
                 "severity": f.severity, "detail": f.detail}
                for f in self.findings
            ],
        }
