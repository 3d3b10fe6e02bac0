"""Spend actuals in bulk: many items across initiatives, one transaction, all or nothing."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from api.deps import IdempotencyKeyHeader, PrincipalDep, ServicesDep, keyed, receipt_public
from api.routes.docs import WRITE
from api.schemas import SpendBatchCreate, SpendBatchPublic
from governance.usecases.finance import SpendItem

router = APIRouter(prefix="/v1", tags=["initiatives"])


@router.post("/spend", status_code=201, response_model=SpendBatchPublic, responses=WRITE)
def record_spend_batch(body: SpendBatchCreate, request: Request, s: ServicesDep,
                       who: PrincipalDep, key: IdempotencyKeyHeader = None) -> JSONResponse:
    """Record up to 1,000 spend actuals across initiatives in one transaction, all or nothing
    (finance, ingest services). A refused item names its place: `items.3.spent_on`."""
    items = [SpendItem(initiative_id=i.initiative_id, amount=i.amount, spent_on=i.spent_on,
                       reference=i.reference, note=i.note) for i in body.items]
    with keyed(s.gov, who, request, key, body) as gov:
        result = gov.record_spend_batch(who, items=items)
    initiatives = list(dict.fromkeys(str(i.initiative_id) for i in body.items))
    out = SpendBatchPublic(count=len(items), initiatives=initiatives, position=result.position,
                           receipt=receipt_public(s.gov, result.position, result.entry_hash))
    headers = {"Idempotent-Replayed": "true"} if result.replayed else {}
    return JSONResponse(out.model_dump(mode="json"), status_code=201, headers=headers)
