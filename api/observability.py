"""Prometheus metrics, request ids and structured JSON access logs (one ASGI middleware)."""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import sys
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, fields, replace
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import timeline
from api.auth import TokenVerifier
from api.deps import Services
from domain.signals import KINDS as SIGNAL_KINDS
from governance.principal import Principal
from governance.stores.metrics import pool_uses, projection_failures, projection_lags
from governance.stores.replica import ReplicatedReadModels

access_log = logging.getLogger("cxgov.access")
log = logging.getLogger("cxgov.api")

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
REQUEST_ID_HEADER = "x-request-id"
MAX_CAPTURED_BODY = 64 * 1024
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


@dataclass
class RequestInfo:
    """What one request's log line and metrics need; the verifier fills in the actor."""

    request_id: str
    actor: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


_abandoned: set[asyncio.Task[None]] = set()  # late handlers, kept from garbage collection
_current: contextvars.ContextVar[RequestInfo | None] = contextvars.ContextVar(
    "cxgov_request", default=None)


@dataclass(frozen=True)
class RecordingVerifier(TokenVerifier):
    """A token verifier that notes the verified actor on the current request."""

    @classmethod
    def wrapping(cls, inner: TokenVerifier) -> RecordingVerifier:
        """The same verifier, recording."""
        return cls(**{f.name: getattr(inner, f.name) for f in fields(inner)})

    def verify(self, token: str) -> Principal:
        """Verify the token and remember who it was."""
        principal = super().verify(token)
        info = _current.get()
        if info is not None:
            info.actor = f"{principal.issuer}|{principal.subject}"
        return principal


class ReadSideCollector(Collector):
    """Projection lag and failures and pool utilisation, read from the database at scrape
    time."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    def collect(self) -> Iterable[Metric]:
        """Yield the gauges (nothing when the store cannot be read: see /readyz)."""
        services: Services = self.app.state.services
        events = GaugeMetricFamily("cxgov_projection_lag_events",
                                   "Events in the log not yet processed by a projection.",
                                   labels=["projection"])
        seconds = GaugeMetricFamily("cxgov_projection_lag_seconds",
                                    "Age of the oldest event a projection has not processed.",
                                    labels=["projection"])
        position = GaugeMetricFamily("cxgov_log_position", "The event log's newest position.")
        pools = GaugeMetricFamily("cxgov_pool_utilisation_ratio",
                                  "Net committed funds / pool, per period.", labels=["period"])
        failed = GaugeMetricFamily(
            "cxgov_projection_failed",
            "1 while a projection is stopped before an event it cannot project.",
            labels=["projection"])
        failed_at = GaugeMetricFamily(
            "cxgov_projection_failed_position",
            "The log position of the event a projection cannot project (0 when none).",
            labels=["projection"])
        try:
            lags = projection_lags(services.gov, services.models)
            failures = {f.projection: f for f in projection_failures(services.models)}
            uses = pool_uses(services.models)
        except Exception as exc:  # the scrape still answers with the request metrics
            log.warning("read-side metrics unavailable: %s", exc)
            return
        for lag in lags:
            events.add_metric([lag.projection], lag.lag_events)
            seconds.add_metric([lag.projection], lag.lag_seconds)
        position.add_metric([], lags[0].log_position if lags else 0)
        for lag in lags:
            failure = failures.get(lag.projection)
            failed.add_metric([lag.projection], 1 if failure else 0)
            failed_at.add_metric([lag.projection], failure.position if failure else 0)
        for use in uses:
            pools.add_metric([use.period], float(use.utilisation))
        yield from (events, seconds, position, pools, failed, failed_at)


class WebhookCollector(Collector):
    """The webhook outbox, read at scrape time (api/routes/webhooks.py's outbox)."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    def collect(self) -> Iterable[Metric]:
        """Deliveries waiting, dead letters, the oldest undelivered delivery's age."""
        outbox = getattr(self.app.state, "outbox", None)
        if outbox is None:
            return
        try:
            stats = outbox.stats()
        except Exception as exc:  # e.g. the database is restarting: see /readyz
            log.warning("webhook metrics unavailable: %s", exc)
            return
        depth = GaugeMetricFamily("cxgov_webhook_outbox_depth",
                                  "Webhook deliveries waiting to be delivered (pending).")
        dead = GaugeMetricFamily("cxgov_webhook_dead_letters",
                                 "Webhook deliveries that gave up (the dead-letter list).")
        oldest = GaugeMetricFamily("cxgov_webhook_oldest_undelivered_seconds",
                                   "Age of the oldest pending webhook delivery (0 when none).")
        depth.add_metric([], stats.pending)
        dead.add_metric([], stats.dead)
        oldest.add_metric([], stats.oldest_pending_seconds)
        yield from (depth, dead, oldest)


class LoopCollector(Collector):
    """Open signals by kind and loop speed by period (issue 14), read at scrape time."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    def collect(self) -> Iterable[Metric]:
        """cxgov_signals_open{kind}, cxgov_loop_seconds{period,quantile}."""
        try:
            view = self.app.state.services.models.loop()
            counts = view.open_counts()
            speeds = view.loop_speed()
        except Exception as exc:  # the scrape still answers with the request metrics
            log.warning("loop metrics unavailable: %s", exc)
            return
        open_ = GaugeMetricFamily("cxgov_signals_open",
                                  "Signals open or acknowledged (not resolved), by kind.",
                                  labels=["kind"])
        for kind in SIGNAL_KINDS:
            open_.add_metric([kind], counts.get(kind, 0))
        loop = GaugeMetricFamily("cxgov_loop_seconds",
                                 "Time from a signal to its first answer, per period of the "
                                 "answered signals ('all': every period): median (0.5), 90th "
                                 "percentile (0.9).", labels=["period", "quantile"])
        for row in speeds:
            loop.add_metric([row.period, "0.5"], float(row.median_seconds))
            loop.add_metric([row.period, "0.9"], float(row.p90_seconds))
        yield from (open_, loop)


class ReplicaCollector(Collector):
    """The hot standby the views are read from (CXGOV_READ_DATABASE_URL), read at scrape time;
    nothing when no standby is configured."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    def collect(self) -> Iterable[Metric]:
        """Replay lag in bytes and seconds, recovery state, view position, reads served."""
        models = self.app.state.services.models
        if not isinstance(models, ReplicatedReadModels):
            return
        served = CounterMetricFamily(
            "cxgov_read_queries", "Read-model queries by the database that answered them "
            "(standby, or primary when the standby had not reached min_position in time).",
            labels=["database"])
        for database, count in sorted(models.served.items()):
            served.add_metric([database], count)
        yield served
        try:
            lag = models.lag()
        except Exception as exc:  # the standby is down: the reads fall back, see the counter
            log.warning("read replica metrics unavailable: %s", exc)
            return
        recovery = GaugeMetricFamily("cxgov_read_replica_in_recovery",
                                     "1 while the read database is a hot standby (0: promoted).")
        behind = GaugeMetricFamily("cxgov_read_replica_lag_bytes",
                                   "WAL the primary wrote that the standby has not replayed.")
        seconds = GaugeMetricFamily(
            "cxgov_read_replica_lag_seconds", "Age of the standby's last replayed transaction "
            "while it has WAL left to replay (0 when it has replayed all it received).")
        position = GaugeMetricFamily("cxgov_read_replica_view_position",
                                     "The log position the standby's portfolio view reached.")
        recovery.add_metric([], 1 if lag.in_recovery else 0)
        behind.add_metric([], lag.lag_bytes)
        seconds.add_metric([], lag.lag_seconds)
        position.add_metric([], lag.view_position)
        yield from (recovery, behind, seconds, position)


class Instruments:
    """The per-app registry and its request metrics."""

    def __init__(self, app: FastAPI) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.latency = Histogram(
            "cxgov_http_request_duration_seconds", "HTTP request latency by route template.",
            ["method", "route", "status"], buckets=LATENCY_BUCKETS, registry=self.registry)
        self.commands = Counter(
            "cxgov_commands", "Write requests (commands) by outcome: ok or the error code.",
            ["command", "outcome"], registry=self.registry)
        self.registry.register(ReadSideCollector(app))
        self.registry.register(LoopCollector(app))
        self.registry.register(WebhookCollector(app))
        self.registry.register(ReplicaCollector(app))


class ObservabilityMiddleware:
    """Request id, latency and command metrics, and one JSON log line per request."""

    def __init__(self, app: ASGIApp, instruments: Instruments, timeout: float = 0.0) -> None:
        self.app = app
        self.instruments = instruments
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                   for k, v in scope.get("headers", [])}
        request_id = headers.get(REQUEST_ID_HEADER) or uuid.uuid4().hex
        info = RequestInfo(request_id=request_id[:128])
        token = _current.set(info)
        method: str = scope["method"]
        status = 500
        content_type = ""
        body = bytearray()
        started = time.perf_counter()

        async def send_wrapper(message: Message) -> None:
            nonlocal status, content_type
            if message["type"] == "http.response.start":
                status = message["status"]
                raw = list(message.get("headers", []))
                for key, value in raw:
                    if key.lower() == b"content-type":
                        content_type = value.decode("latin-1")
                raw.append((REQUEST_ID_HEADER.encode(), info.request_id.encode("latin-1")))
                message = {**message, "headers": raw}
            elif message["type"] == "http.response.body" and self._capture(method, status):
                if len(body) < MAX_CAPTURED_BODY:
                    body.extend(message.get("body", b""))
            await send(message)

        try:
            await self._with_deadline(scope, receive, send, send_wrapper)
        finally:
            _current.reset(token)
            self._record(scope, info, status=status, content_type=content_type,
                         body=bytes(body), seconds=time.perf_counter() - started)

    async def _with_deadline(self, scope: Scope, receive: Receive, send: Send,
                             send_wrapper: Send) -> None:
        """Answer 503 if the app has not started its response within the request timeout.

        The late handler is left to finish in its thread (a thread cannot be cancelled);
        whatever it sends afterwards is dropped.
        """
        if not self.timeout:
            await self.app(scope, receive, send_wrapper)
            return
        state = {"started": False, "abandoned": False}

        async def guarded(message: Message) -> None:
            if state["abandoned"]:
                return
            if message["type"] == "http.response.start":
                state["started"] = True
            await send_wrapper(message)

        task = asyncio.ensure_future(self.app(scope, receive, guarded))
        done, _ = await asyncio.wait({task}, timeout=self.timeout)
        if done or state["started"]:
            await task
            return
        state["abandoned"] = True
        _abandoned.add(task)
        task.add_done_callback(_abandoned.discard)
        log.warning("request %s %s exceeded %gs; answered 503", scope["method"],
                    scope.get("path"), self.timeout)
        body = json.dumps({
            "type": "https://cxgov.dev/problems/request.timeout", "title": "Request timed out",
            "status": 503, "code": "request.timeout", "instance": scope.get("path"),
            "detail": f"the request did not complete within {self.timeout:g} s (the database "
                      "may be unavailable); retry with the same Idempotency-Key"}).encode()
        await send_wrapper({"type": "http.response.start", "status": 503, "headers": [
            (b"content-type", b"application/problem+json"), (b"retry-after", b"1"),
            (b"content-length", str(len(body)).encode())]})
        await send_wrapper({"type": "http.response.body", "body": body})

    @staticmethod
    def _capture(method: str, status: int) -> bool:
        return method in WRITE_METHODS or status >= 400

    def _record(self, scope: Scope, info: RequestInfo, *, status: int, content_type: str,
                body: bytes, seconds: float) -> None:
        route = scope.get("route")
        template = getattr(route, "path", None) or "unmatched"
        command = getattr(route, "name", None) or template
        method: str = scope["method"]
        parsed = _json_object(body) if "json" in content_type else {}
        code = parsed.get("code") if status >= 400 else None
        self.instruments.latency.labels(method, template, str(status)).observe(seconds)
        if method in WRITE_METHODS:
            outcome = "ok" if status < 400 else str(code or f"http.{status}")
            self.instruments.commands.labels(command, outcome).inc()
        line: dict[str, Any] = {
            "event": "request", "request_id": info.request_id, "method": method,
            "route": template, "path": scope.get("path"), "status": status,
            "latency_ms": round(seconds * 1000, 3), "actor": info.actor,
        }
        if method in WRITE_METHODS:
            line["command"] = command
            line["position"] = parsed.get("position")
        if code:
            line["code"] = code
        access_log.info(json.dumps(line, separators=(",", ":"), default=str))


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        found = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return {}
    return found if isinstance(found, dict) else {}


def request_id() -> str | None:
    """The id of the request being served (for log lines elsewhere)."""
    info = _current.get()
    return info.request_id if info else None


def configure_logging(*, json_logs: bool = True) -> None:
    """Send the access log to stderr as bare JSON lines (once per process)."""
    if access_log.handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s" if json_logs else
                                           "%(asctime)s %(name)s %(message)s"))
    access_log.addHandler(handler)
    access_log.setLevel(logging.INFO)
    access_log.propagate = False


def metrics_endpoint(request: Request) -> Response:
    """Prometheus exposition of this process's registry."""
    instruments: Instruments = request.app.state.instruments
    return Response(generate_latest(instruments.registry), media_type=CONTENT_TYPE_LATEST)


def install(app: FastAPI) -> None:
    """Mount /metrics, the middleware and the actor-recording verifier on an app."""
    instruments = Instruments(app)
    app.state.instruments = instruments
    services: Services = app.state.services
    app.state.services = replace(services, verifier=RecordingVerifier.wrapping(services.verifier))
    runtime = getattr(app.state, "runtime", None)
    settings = getattr(runtime, "settings", None)
    app.add_middleware(ObservabilityMiddleware, instruments=instruments,
                       timeout=float(getattr(settings, "request_timeout_seconds", 0.0)))
    app.add_api_route("/metrics", metrics_endpoint, methods=["GET"], include_in_schema=False)
    timeline.install(app)  # per-request marks, only with CXGOV_TIMELINE set (api/timeline.py)
    configure_logging(json_logs=bool(getattr(settings, "log_json", True)))


def iter_lines(text: str) -> Iterator[str]:
    """Non-comment lines of a Prometheus exposition (for tests and scripts)."""
    return (line for line in text.splitlines() if line and not line.startswith("#"))
