"""The FastAPI application factory: no app, engine or settings at import time."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from api import errors, observability, security, web
from api.auth import TokenVerifier, verifier_from_settings
from api.deps import Services
from api.guard import BodyGuard
from api.heap import HeapSettle, HeapSettler
from api.routes import audit, health, initiatives, periods, policy, registry, spend
from api.routes import departments as department_routes
from api.routes import drivers as driver_routes
from api.routes import fairshares as fair_routes
from api.routes import feed as you_said_we_did
from api.routes import feedback as feedback_routes
from api.routes import jobs as job_routes
from api.routes import knockon as knockon_routes
from api.routes import plans as plan_routes
from api.routes import reviews as review_routes
from api.routes import rounds as round_routes
from api.routes import segments as segment_routes
from api.routes import signals as signal_routes
from api.routes import webhooks as webhook_routes
from api.web.csrf import CsrfRefused, refused
from api.web.oidc import oidc_client
from governance.bootstrap import Runtime, bootstrap
from governance.settings import eventstore_env, read_url
from governance.stores.outbox import outbox_for
from governance.stores.readside import served_read_models
from projections.loop_source import ReadSideSignals
from projections.query import ReadModels

DESCRIPTION = """Rank, fund and audit customer-experience initiatives against a capped OpEx pool.

Authenticate with `Authorization: Bearer <jwt>` (claims `sub`, `name`, `roles`, `pnls`).
Errors are RFC 9457 `application/problem+json` with a stable `code`. Money is a decimal
string. Every write returns its log `position` and a `receipt`; pass the position as
`min_position` to read your own writes. POST commands accept `Idempotency-Key`.
See docs/api-guide.md.
"""


def create_app(runtime: Runtime, *, read_models: ReadModels | None = None,
               verifier: TokenVerifier | None = None,
               settle_heap_after_requests: bool = False) -> FastAPI:
    """Build the API over a runtime.

    Read models default to the in-process ones on the in-memory store (caught up before each
    read) and to the served PostgreSQL views, kept up by `cxgov project`, otherwise.
    `settle_heap_after_requests`: freeze what requests build (api/heap.py, decision 271); the
    served process (`serving`) sets it, a process that makes and drops many apps must not
    (frozen cyclic garbage waits for a sweep, connections in it stay open).
    """
    if read_models is None:
        read_models = (runtime.read_models() if runtime.database_url is None
                       else served_read_models(runtime.app, runtime.env, **replica(runtime)))
    app = FastAPI(title="cxgov API", version="1", description=DESCRIPTION,
                  docs_url=None, redoc_url=None,
                  openapi_tags=[{"name": n} for n in (
                      "periods", "register", "scoring policy", "initiatives", "audit",
                      "health")])
    verifier = verifier or verifier_from_settings(runtime.settings)
    app.state.services = Services(runtime.app, read_models, verifier)
    app.state.runtime = runtime
    served = read_models  # the loop's commands ask these read models for open signals
    runtime.app.signal_source = ReadSideSignals(lambda: served)
    app.include_router(signal_routes.router)  # signals, loop speed (issue 14)
    app.include_router(review_routes.router)  # reviews, benefit plans (issue 14)
    app.include_router(plan_routes.router)  # funding plans (issue 16)
    app.include_router(fair_routes.router)  # fair shares (issue 16)
    app.include_router(department_routes.router)  # departments (issue 15, part 3)
    app.include_router(driver_routes.router)  # key drivers (issue 15, part 4)
    app.include_router(job_routes.router)  # jobs to be done (issue 15, part 5)
    app.include_router(round_routes.router)  # funding rounds (issue 16, part 4)
    app.include_router(feedback_routes.router)  # voice of the customer (issue 15, part 6)
    app.include_router(segment_routes.router)  # a metric by segment (issue 15, part 7)
    app.include_router(knockon_routes.router)  # knock-on effects, optimum at a budget (issue 17)
    app.state.outbox = outbox_for(runtime.env)  # webhook deliveries (api/routes/webhooks.py)
    app.include_router(webhook_routes.router)
    app.state.oidc = oidc_client(runtime.settings, verifier)  # dashboard sign-in via the IdP
    errors.install(app)
    app.add_exception_handler(CsrfRefused, refused)
    for module in (periods, registry, policy, initiatives, spend, audit, health):
        app.include_router(module.router)
    app.include_router(you_said_we_did.router)
    web.install(app)  # the dashboard: /, /dashboard, /static
    app.add_middleware(BodyGuard)  # no route sees an unchecked body
    observability.install(app)  # /metrics, request ids, JSON access logs (outermost)
    security.install(app)  # /docs from packaged assets; CSP etc. on every response, wrapping all
    if settle_heap_after_requests:  # freeze what reads built, after the answer (decision 271)
        app.state.heap = HeapSettler()
        app.add_middleware(HeapSettle, settler=app.state.heap)
    return app


def replica(runtime: Runtime) -> dict[str, Any]:
    """The hot standby to read the views from, when CXGOV_READ_DATABASE_URL names one."""
    url = read_url(runtime.settings)
    if url is None:
        return {}
    return {"read_env": eventstore_env(runtime.settings, url),
            "standby_wait": runtime.settings.read_replica_wait_seconds}


def serve() -> FastAPI:
    """Uvicorn factory (`cxgov serve`): bootstrap from the environment in each worker."""
    return serving(bootstrap())


def serving(runtime: Runtime) -> FastAPI:
    """The API over a runtime that it closes when the server stops."""
    app = create_app(runtime, settle_heap_after_requests=True)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        settle_heap()
        try:
            yield
        finally:
            runtime.close()

    app.router.lifespan_context = lifespan
    return app


def settle_heap() -> None:  # at startup; api/heap.py does the same after requests
    """Take what startup built out of the cyclic collector's way (decision 241): ~200,000
    long-lived objects (modules, the app, schemas) that every full collection would otherwise
    traverse, 110-140 ms of CPU each, while every request of the process waits, and while a
    command holds the pool's turn, every writer of every process."""
    gc.collect()
    gc.freeze()
