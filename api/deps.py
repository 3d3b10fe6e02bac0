"""Request-scoped dependencies: services, the authenticated principal, keyed commands."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Header, Query, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

from api.auth import TokenVerifier
from api.errors import Unauthenticated
from api.schemas import ReceiptPublic, WrittenPublic
from domain.errors import InvalidInput
from governance.app import CommandResult, Governance
from governance.principal import Principal
from governance.stores.integrity import receipt
from projections.codec import plain
from projections.query import ReadModels

MAX_POSITION = 2**62


@dataclass(frozen=True)
class Services:
    """What the routes use: the application, the read models and the token verifier."""

    gov: Governance
    models: ReadModels
    verifier: TokenVerifier


def services(request: Request) -> Services:
    """The services of the app serving this request."""
    found: Services = request.app.state.services
    return found


bearer = HTTPBearer(auto_error=False, description="A JWT with claims sub, roles, pnls.")


def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    """The verified caller; 401 without a valid bearer token."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthenticated("send a bearer token: Authorization: Bearer <jwt>")
    return services(request).verifier.verify(credentials.credentials)


ServicesDep = Annotated[Services, Depends(services)]
PrincipalDep = Annotated[Principal, Depends(current_principal)]
IdempotencyKeyHeader = Annotated[str | None, Header(
    alias="Idempotency-Key", min_length=1, max_length=200, pattern=r"^[!-~]+$",
    description="Retry key: a retry with the same key and body replays the first response.")]
AsOf = Annotated[str | None, Query(
    max_length=40, description="A log position or an ISO 8601 UTC time: read as of then.",
    examples=["42", "2027-03-31T00:00:00Z"])]
MinPosition = Annotated[int | None, Query(
    ge=0, le=MAX_POSITION, description="Read your writes: wait until the views reach this "
    "log position (the `position` a write returned).")]
Limit = Annotated[int, Query(ge=1, le=500, description="Page size.")]
Offset = Annotated[int, Query(ge=0, le=MAX_POSITION, description="Items to skip.")]


def at(models: ReadModels, as_of: str | None, min_position: int | None) -> dict[str, Any]:
    """The as-of arguments of a query; refuse a position the log has not reached."""
    if min_position is not None and min_position > models.log.max_position():
        raise InvalidInput(f"min_position {min_position} is beyond the end of the log",
                           field="min_position")
    return {"as_of": as_of, "min_position": min_position}


def fingerprint(request: Request, body: BaseModel | None) -> str:
    """sha256 of method, path and the canonical body."""
    payload = body.model_dump(mode="json") if body is not None else None
    text = json.dumps([request.method, request.url.path, payload], sort_keys=True,
                      separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@contextmanager
def keyed(gov: Governance, principal: Principal, request: Request, key: str | None,
          body: BaseModel | None) -> Iterator[Governance]:
    """The application to run the command on: under the Idempotency-Key, if the client
    sent one."""
    if key is None:
        yield gov
        return
    with gov.idempotent(principal, key, fingerprint(request, body)) as keyed_gov:
        yield keyed_gov


def receipt_public(gov: Governance, position: int, known: bytes | None) -> ReceiptPublic:
    """A write's receipt as the API shows it (the entry hash in hex; null when unchained)."""
    found = receipt(gov, position, known)
    return ReceiptPublic(position=position,
                         entry_hash=found.entry_hash.hex() if found is not None else None)


def written(gov: Governance, result: CommandResult, *, status: int = 200,
            location: str | None = None, etag: bool = False) -> JSONResponse:
    """The response to a write: identical bytes for the first call and every replay."""
    body = WrittenPublic(
        id=str(result.id), version=result.version, position=result.position,
        status=result.status,
        decision=plain(result.decision) if result.decision is not None else None,
        receipt=receipt_public(gov, result.position, result.entry_hash),
    )
    headers: dict[str, str] = {}
    if location:
        headers["Location"] = location
    if etag:
        headers["ETag"] = f'"{result.version}"'
    if result.replayed:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(body.model_dump(mode="json"), status_code=status, headers=headers)
