"""Liveness and readiness probes."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import ServicesDep
from api.schemas import HealthPublic

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=HealthPublic)
def healthz() -> HealthPublic:
    """The process is up."""
    return HealthPublic(status="ok")


@router.get("/readyz", response_model=HealthPublic, responses={
    503: {"description": "The database is not reachable.", "model": HealthPublic}})
def readyz(s: ServicesDep) -> JSONResponse:
    """The event store answers (reads the log's newest position)."""
    try:
        position = s.gov.position()
    except Exception:  # any store failure means not ready; details stay in the logs
        return JSONResponse({"status": "unavailable", "position": None}, status_code=503)
    return JSONResponse({"status": "ok", "position": position})
