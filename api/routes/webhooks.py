"""Outbound webhooks: subscriptions (CX executives manage; CX executives and auditors read),
their deliveries and dead letters, and replay (docs/api-guide.md "Webhooks")."""

from __future__ import annotations

import json
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from api.deps import AsOf, IdempotencyKeyHeader, Limit, Offset, PrincipalDep, ServicesDep, keyed
from api.deps import written as written_response
from api.routes.docs import READ, WRITE
from api.schemas import (
    WebhookCreate,
    WebhookCreatedPublic,
    WebhookDeliveryPagePublic,
    WebhookDeliveryPublic,
    WebhookListPublic,
    WebhookPublic,
    WebhookReasonCreate,
    WebhookReplayCreate,
    WrittenPublic,
)
from governance.stores.outbox import MemoryOutbox, PostgresOutbox
from governance.usecases.webhooks import require_webhook_reader
from governance.webhooks import hand_off, secrets_of

router = APIRouter(prefix="/v1", tags=["webhooks"])
State = Annotated[Literal["pending", "delivered", "dead", "cancelled"] | None, Query(
    description="Only deliveries in this state (dead: the dead-letter list).")]
SubscriptionFilter = Annotated[UUID | None, Query(description="Only this subscription's.")]


def outbox(request: Request) -> MemoryOutbox | PostgresOutbox:
    """The app's outbox; the in-memory one is caught up with the log before each read (on
    PostgreSQL the webhook process, `cxgov deliver`, hands events off)."""
    found: MemoryOutbox | PostgresOutbox = request.app.state.outbox
    if isinstance(found, MemoryOutbox):
        hand_off(found, request.app.state.services.gov)
    return found


@router.get("/webhooks", response_model=WebhookListPublic, responses=READ)
def list_webhooks(s: ServicesDep, who: PrincipalDep, as_of: AsOf = None) -> WebhookListPublic:
    """Every subscription, deleted ones included, live or as of a position or time (CX
    executives and auditors)."""
    require_webhook_reader(who)
    upto = s.models.resolve(as_of)
    position = upto if upto is not None else s.gov.position()
    items = [WebhookPublic(id=str(w.id), url=w.url, kinds=list(w.kinds),
                           description=w.description, status=w.status,  # type: ignore[arg-type]
                           created_by=w.created_by, created_at=w.created_at,
                           changed_at=w.changed_at, position=w.position, version=w.version)
             for w in s.gov.webhook_subscriptions(who, upto=position)]
    return WebhookListPublic(items=items, position=position)


@router.post("/webhooks", status_code=201, response_model=WebhookCreatedPublic, responses=WRITE)
def create_webhook(body: WebhookCreate, request: Request, s: ServicesDep, who: PrincipalDep,
                   key: IdempotencyKeyHeader = None) -> JSONResponse:
    """Subscribe a URL (https; http and private hosts only where the operator allows local
    targets) to event kinds (CX executive). The answer holds the signing secret."""
    with keyed(s.gov, who, request, key, body) as gov:
        result = gov.create_webhook(who, url=body.url, kinds=body.kinds,
                                    description=body.description)
    plain = written_response(s.gov, result, status=201,
                             location=f"/v1/webhooks/{result.id}")
    payload = json.loads(bytes(plain.body))
    payload["secret"] = secrets_of(request.app.state.runtime.settings)(result.id)
    headers = {k: v for k, v in plain.headers.items()
               if k.lower() not in {"content-length", "content-type"}}
    return JSONResponse(WebhookCreatedPublic(**payload).model_dump(mode="json"),
                        status_code=201, headers=headers)


@router.get("/webhook-deliveries", response_model=WebhookDeliveryPagePublic, responses=READ)
def list_deliveries(request: Request, who: PrincipalDep, state: State = None,
                    subscription_id: SubscriptionFilter = None, limit: Limit = 100,
                    offset: Offset = 0) -> WebhookDeliveryPagePublic:
    """Deliveries, newest log position first; `state=dead` is the dead-letter list (CX
    executives and auditors). The outbox is operational state: no as-of."""
    require_webhook_reader(who)
    rows = outbox(request).deliveries(subscription_id=subscription_id, state=state,
                                      limit=limit + 1, offset=offset)
    items = [WebhookDeliveryPublic(**{**r.__dict__, "delivery_id": str(r.delivery_id),
                                      "subscription_id": str(r.subscription_id)})
             for r in rows[:limit]]
    return WebhookDeliveryPagePublic(items=items, limit=limit, offset=offset,
                                     next_offset=offset + limit if len(rows) > limit else None)


def _change(request: Request, s: ServicesDep, who: PrincipalDep, key: str | None,
            body: WebhookReasonCreate | WebhookReplayCreate | None, subscription_id: UUID,
            command: str) -> JSONResponse:
    with keyed(s.gov, who, request, key, body) as gov:
        if isinstance(body, WebhookReplayCreate):
            result = gov.replay_webhook_dead_letters(
                who, subscription_id, delivery_ids=body.delivery_ids, reason=body.reason)
        else:
            result = getattr(gov, command)(who, subscription_id,
                                           reason=body.reason if body else None)
    return written_response(s.gov, result)


@router.post("/webhooks/{subscription_id}/pause", response_model=WrittenPublic, responses=WRITE)
def pause(subscription_id: UUID, request: Request, s: ServicesDep, who: PrincipalDep,
          body: WebhookReasonCreate | None = None,
          key: IdempotencyKeyHeader = None) -> JSONResponse:
    """Pause: nothing is sent, and events are not queued for it, until resumed."""
    return _change(request, s, who, key, body, subscription_id, "pause_webhook")


@router.post("/webhooks/{subscription_id}/resume", response_model=WrittenPublic, responses=WRITE)
def resume(subscription_id: UUID, request: Request, s: ServicesDep, who: PrincipalDep,
           body: WebhookReasonCreate | None = None,
           key: IdempotencyKeyHeader = None) -> JSONResponse:
    """Resume: held deliveries go out, new events are queued again."""
    return _change(request, s, who, key, body, subscription_id, "resume_webhook")


@router.delete("/webhooks/{subscription_id}", response_model=WrittenPublic, responses=WRITE)
def delete(subscription_id: UUID, request: Request, s: ServicesDep, who: PrincipalDep,
           key: IdempotencyKeyHeader = None) -> JSONResponse:
    """Delete: undelivered deliveries are cancelled; the history stays in the log."""
    return _change(request, s, who, key, None, subscription_id, "delete_webhook")


@router.post("/webhooks/{subscription_id}/replay", response_model=WrittenPublic, responses=WRITE)
def replay(subscription_id: UUID, body: WebhookReplayCreate, request: Request,
           s: ServicesDep, who: PrincipalDep,
           key: IdempotencyKeyHeader = None) -> JSONResponse:
    """Send dead letters again (the named ones, or all): same delivery ids, attempts reset."""
    return _change(request, s, who, key, body, subscription_id, "replay")
