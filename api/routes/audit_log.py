"""The Merkle log over HTTP (issue 18, parts 2-4), under /v1/audit: the newest signed checkpoint
(C2SP signed note, with the cosignatures the service stored for it), inclusion and consistency
proofs (the JSON `python -m auditverify.proofs` checks, O(log n) hashes), the cosignatures
witnesses send, and the signed key rotations. Included by api/routes/audit.py's router."""

from __future__ import annotations

from typing import Annotated, Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import APIRouter, Query, Request
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field

from api.deps import MAX_POSITION, PrincipalDep, ServicesDep
from api.routes.docs import READ, WRITE
from domain.errors import CxgovError
from governance.read_access import require_audit_reader
from governance.stores import merkle_log
from governance.stores.integrity import (
    IntegrityUnavailable,
    SigningKeyRefused,
    load_signing_key,
)

router = APIRouter()

#: Tree sizes and positions: whole numbers the log could hold (bigint).
Size = Annotated[int | None, Query(ge=0, le=MAX_POSITION,
                                   description="Tree size (chain entries); default: all.")]


class AuditLogUnavailable(CxgovError):
    """The store has no hash chain, or the service holds no signing key."""

    code = "audit.unavailable"
    title = "The Merkle log is not available"


class CosignaturePost(BaseModel):
    """A checkpoint of this log as a witness cosigned it (C2SP tlog-cosignature line)."""

    model_config = ConfigDict(extra="forbid")
    note: str = Field(min_length=1, max_length=merkle_log.MAX_NOTE_BYTES)


class CosignatureStored(BaseModel):
    """The witnesses whose cosignatures were checked and stored."""

    witnesses: list[str]
    size: int


class ProofPublic(BaseModel):
    """An inclusion or consistency proof with the signed checkpoint it leads to."""

    checkpoint: str
    kind: str
    proof: list[str]
    position: int | None = None
    index: int | None = None
    entry_hash: str | None = None
    old_size: int | None = None


class CosignedCheckpoint(BaseModel):
    """A checkpoint size that witnesses cosigned: its root and who cosigned it."""

    size: int
    root: str = Field(description="The tree's root hash at that size, base64.")
    witnesses: list[str]


class CosignedCheckpoints(BaseModel):
    """The newest cosigned checkpoints, newest first."""

    items: list[CosignedCheckpoint]


class KeyRotationPublic(BaseModel):
    """A key rotation the old key signed (keys and signature in base64)."""

    old_key_id: str
    new_key_id: str
    old_public_key: str
    new_public_key: str
    rotated_at_us: int
    signature: str


class KeyRotations(BaseModel):
    """Every signed key rotation, oldest first."""

    items: list[KeyRotationPublic]


#: The checkpoint is a C2SP signed note: text, not JSON (named so clients see its media type).
NOTE_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"description": "The signed note, then its stored witness cosignatures.",
          "content": {"text/plain": {"schema": {"type": "string", "title": "SignedNote"}}}},
}


def _key(request: Request) -> Ed25519PrivateKey:
    try:
        return load_signing_key(request.app.state.runtime.settings, create=False)
    except (SigningKeyRefused, ValueError) as exc:
        raise AuditLogUnavailable(f"the service holds no audit signing key: {exc}") from None


def _log(call: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return call(*args, **kwargs)
    except IntegrityUnavailable as exc:
        raise AuditLogUnavailable(str(exc)) from None


@router.get("/checkpoint", response_class=PlainTextResponse, responses={**READ, **NOTE_RESPONSE})
def get_checkpoint(request: Request, s: ServicesDep, who: PrincipalDep,
                   size: Size = None) -> PlainTextResponse:
    """The log's signed checkpoint (C2SP tlog-checkpoint in signed-note text: origin, size,
    root; the log's signature line `— cxgov ...`), followed by every stored witness
    cosignature of that very checkpoint."""
    require_audit_reader(who)
    note = _log(merkle_log.checkpoint, s.gov, _key(request), size)
    return PlainTextResponse(note, media_type="text/plain; charset=utf-8")


@router.get("/proofs/inclusion", response_model=ProofPublic, response_model_exclude_none=True,
            responses=READ)
def get_inclusion(request: Request, s: ServicesDep, who: PrincipalDep,
                  position: Annotated[int, Query(ge=1, le=MAX_POSITION,
                                                 description="The event's log position.")],
                  size: Size = None) -> Any:
    """RFC 9162 inclusion proof of the chain entry at `position` in the tree of `size`."""
    require_audit_reader(who)
    return _log(merkle_log.inclusion, s.gov, _key(request), position, size)


@router.get("/proofs/consistency", response_model=ProofPublic,
            response_model_exclude_none=True, responses=READ)
def get_consistency(request: Request, s: ServicesDep, who: PrincipalDep,
                    old: Annotated[int, Query(ge=0, le=MAX_POSITION,
                                              description="The size of the tree you kept.")],
                    size: Size = None) -> Any:
    """RFC 9162 consistency proof that the tree of `old` entries is a prefix of `size`."""
    require_audit_reader(who)
    return _log(merkle_log.consistency, s.gov, _key(request), old, size)


@router.post("/cosignatures", response_model=CosignatureStored, status_code=201,
             responses=WRITE)
def post_cosignature(body: CosignaturePost, s: ServicesDep,
                     who: PrincipalDep) -> CosignatureStored:
    """Store a witness's cosignature of a checkpoint of this log, once checked against the
    witness's registered key (`cxgov audit witness-add`). Refused (422): another log's or a
    never-issued checkpoint (`validation.cosignature`), no registered witness
    (`validation.witness_unknown`), a signature the key does not verify. Repeating is
    harmless (stored once)."""
    require_audit_reader(who)
    names = _log(merkle_log.store_cosignatures, s.gov, body.note)
    size = int(body.note.split("\n", 2)[1])
    return CosignatureStored(witnesses=names, size=size)


@router.get("/cosignatures", response_model=CosignedCheckpoints, responses=READ)
def list_cosignatures(s: ServicesDep, who: PrincipalDep,
                      limit: Annotated[int, Query(ge=1, le=100)] = 20) -> CosignedCheckpoints:
    """The newest cosigned checkpoints: size, root and the witnesses (names only: fetch the
    checkpoint at that size to check the cosignatures themselves)."""
    require_audit_reader(who)
    return CosignedCheckpoints.model_validate(
        {"items": _log(merkle_log.witnessed_sizes, s.gov, limit)})


@router.get("/key-rotations", response_model=KeyRotations, responses=READ)
def list_key_rotations(s: ServicesDep, who: PrincipalDep) -> KeyRotations:
    """Every signed key rotation (the old key's signature over the new key), oldest first;
    `python -m auditverify --key-rotations` trusts a new key only through them."""
    require_audit_reader(who)
    return KeyRotations.model_validate(
        {"items": [r.to_json() for r in _log(merkle_log.rotations, s.gov)]})
