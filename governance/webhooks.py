"""Outbound webhooks: the hand-off from the log to the outbox, signing, and delivery.

The process (`cxgov deliver`; a thread of `cxgov serve` and `cxgov demo` with projectors) runs
two loops on one outbox (governance/stores/outbox.py: PostgreSQL, or in memory for tests):

- the hand-off reads the log after the outbox's tracking position and, in one transaction,
  applies the subscription events it meets, inserts one delivery per (event, matching active
  subscription) and advances the tracking position: each event is handed off exactly once;
- deliverers claim due deliveries (SELECT ... FOR UPDATE SKIP LOCKED, with a lease), POST them
  signed, and mark one delivered only after a 2xx (at-least-once). A failure is retried after
  an exponential back-off with jitter; after the maximum attempts or age it is dead.

The body is the event's audit-log row (projections/audit.py), wrapped with the delivery id.
The signature header is `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>." + body>`, keyed with
the subscription's secret, derived from the server's signing secret and the subscription id
(never stored in the log). docs/operator-guide.md "Webhooks" and docs/api-guide.md describe
the receiver's side.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import random
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol
from uuid import UUID, uuid5

from domain.errors import InvalidInput
from domain.webhooks import (
    ACTIVE,
    DELETED,
    TOPICS,
    WebhookSubscription,
    check_url,
    literal_address,
    matches,
    url_host,
)
from governance.identity import embedded_secret
from governance.settings import Settings
from projections.audit import audit_row
from projections.codec import canonical

if TYPE_CHECKING:  # imported where a delivery is made: httpx (with rich) is ~18 MB of memory
    import httpx

log = logging.getLogger("cxgov.webhooks")

DELIVERY_NAMESPACE = UUID("3b0f7c52-8a5e-5d1c-9f0e-6c2a9d4e8b71")
SIGNATURE_HEADER = "Cxgov-Signature"
DELIVERY_HEADER = "Cxgov-Delivery-Id"
KIND_HEADER = "Cxgov-Event-Kind"
ATTEMPT_HEADER = "Cxgov-Delivery-Attempt"
USER_AGENT = "cxgov-webhooks/1"
HAND_OFF_BATCH = 500
MAX_ERROR = 300


# --- secrets and signatures ---------------------------------------------------------------

def subscription_secret(server_secret: str, subscription_id: UUID) -> str:
    """The subscription's HMAC key: derived, never stored (shown on creation and by
    `cxgov webhooks secret`); rotating the server secret rotates every subscription's."""
    digest = hmac.new(server_secret.encode("utf-8"), f"cxgov-webhook:{subscription_id}".encode(),
                      hashlib.sha256).hexdigest()
    return f"whsec_{digest}"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header's value for a body sent at `timestamp` (unix seconds)."""
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(secret: str, header: str, body: bytes, *, now: float | None = None,
           tolerance: float = 300.0) -> bool:
    """What a receiver checks: a v1 signature over this body, made within `tolerance` s."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        timestamp = int(parts.get("t", ""))
    except ValueError:
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        return False
    expected = sign(secret, timestamp, body).rsplit("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


def delivery_id(subscription_id: UUID, position: int) -> UUID:
    """The stable id of one event's delivery to one subscription (the receiver's dedup key)."""
    return uuid5(DELIVERY_NAMESPACE, f"{subscription_id}/{position}")


# --- targets (SSRF) -------------------------------------------------------------------------

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def _local(address: Address) -> bool:
    """Loopback or private (RFC 1918, unique local, CGNAT): allowed only as local targets."""
    return address.is_loopback or address.is_private


def _never(address: Address) -> bool:
    """Addresses never targeted: link-local (cloud metadata at 169.254.169.254), multicast,
    unspecified, reserved; IPv4-mapped IPv6 is judged by its IPv4 address."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return (address.is_link_local or address.is_multicast or address.is_unspecified
            or address.is_reserved)


def check_target(url: str, *, allow_local: bool) -> str:
    """The URL if cxgov may send to it, else InvalidInput (field url). https to public
    hosts; http, loopback and private addresses only when the operator allows local targets;
    link-local, multicast, unspecified and reserved addresses never. Names are resolved when
    delivering (`check_resolved`)."""
    check_url(url)
    parts, host = url_host(url)
    address = literal_address(host)
    is_local = host == "localhost" or host.endswith(".localhost")
    if address is not None:
        mapped = (address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address)
                  and address.ipv4_mapped is not None else address)
        if _never(mapped):
            raise InvalidInput(f"url names an address webhooks never target ({host})",
                               field="url")
        is_local = _local(mapped)
    if is_local and not allow_local:
        raise InvalidInput("url names a loopback or private host; the operator must allow "
                           "local targets (CXGOV_WEBHOOK_ALLOW_LOCAL_TARGETS)", field="url")
    if parts.scheme != "https" and not is_local:
        raise InvalidInput("url must use https (http only to a loopback or private host "
                           "where the operator allows local targets)", field="url")
    return url


def check_resolved(url: str, *, allow_local: bool,
                   resolve: Callable[[str, int], Sequence[str]] | None = None) -> None:
    """At delivery: every address the host resolves to must be allowed (a name that
    resolves to 169.254.169.254 or, without the setting, to 10.0.0.1 is refused)."""
    check_target(url, allow_local=allow_local)
    parts, host = url_host(url)
    if literal_address(host) is not None:
        return
    port = parts.port or (443 if parts.scheme == "https" else 80)
    found = (resolve or _resolve)(host, port)
    if not found:
        raise InvalidInput(f"{host} does not resolve", field="url")
    for text in found:
        address = ipaddress.ip_address(text.split("%", 1)[0])
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if _never(address) or (_local(address) and not allow_local):
            raise InvalidInput(f"{host} resolves to {address}, which webhooks may not target",
                               field="url")


def _resolve(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        return []
    return sorted({str(info[4][0]) for info in infos})


# --- the hand-off ---------------------------------------------------------------------------

@dataclass(frozen=True)
class SubscriptionState:
    """A subscription as the outbox knows it, as of `position`."""

    id: UUID
    url: str
    kinds: tuple[str, ...]
    status: str
    position: int


@dataclass(frozen=True)
class NewDelivery:
    """One outbox row to insert."""

    delivery_id: UUID
    subscription_id: UUID
    position: int
    topic: str
    body: str


@dataclass
class Batch:
    """What one hand-off transaction writes."""

    upto: int
    changed: dict[UUID, SubscriptionState] = field(default_factory=dict)
    deliveries: list[NewDelivery] = field(default_factory=list)
    #: (subscription, delivery ids or () for every dead one, position of the request)
    replays: list[tuple[UUID, tuple[UUID, ...], int]] = field(default_factory=list)
    deleted: list[UUID] = field(default_factory=list)


def body_of(subscription_id: UUID, position: int, event: Any,
            row: dict[str, Any] | None = None) -> tuple[UUID, str]:
    """The delivery id and JSON body of an event for a subscription (`row`: the event's
    audit row, when already rendered)."""
    row = row if row is not None else audit_row(position, event)
    found = delivery_id(subscription_id, position)
    return found, canonical({"delivery_id": str(found), "subscription_id": str(subscription_id),
                             "kind": row["topic"], "position": position, "at": row["at"],
                             "event": row})


def plan(events: Sequence[tuple[int, Any]], subscriptions: dict[UUID, SubscriptionState],
         after: int) -> Batch:
    """The writes of one hand-off: events in log order, each matched against the
    subscriptions as they stand at that event (a subscription receives what happens after it
    was created and while it is active)."""
    current = dict(subscriptions)
    batch = Batch(upto=after)
    for position, event in events:
        batch.upto = position
        topic = getattr(type(event), "TOPIC", type(event).__qualname__)
        row: dict[str, Any] | None = None  # rendered once, for the first subscription
        for subscription in current.values():
            if subscription.status == ACTIVE and matches(subscription.kinds, topic):
                row = row if row is not None else audit_row(position, event)
                found, body = body_of(subscription.id, position, event, row)
                batch.deliveries.append(NewDelivery(found, subscription.id, position, topic,
                                                    body))
        if isinstance(event, WebhookSubscription.Event):
            _apply(event, position, current, batch)
    return batch


def _apply(event: Any, position: int, current: dict[UUID, SubscriptionState],
           batch: Batch) -> None:
    sid = event.originator_id
    if isinstance(event, WebhookSubscription.Subscribed):
        state = SubscriptionState(sid, event.url, tuple(event.kinds), ACTIVE, position)
    elif sid not in current:
        return
    elif isinstance(event, WebhookSubscription.DeadLettersReplayed):
        batch.replays.append((sid, tuple(UUID(i) for i in event.delivery_ids), position))
        return
    else:
        status = {WebhookSubscription.Paused: "paused", WebhookSubscription.Resumed: ACTIVE,
                  WebhookSubscription.Deleted: DELETED}.get(type(event))
        if status is None:
            return
        old = current[sid]
        state = SubscriptionState(sid, old.url, old.kinds, status, position)
        if status == DELETED:
            batch.deleted.append(sid)
    current[sid] = state
    batch.changed[sid] = state


# --- the outbox and the deliverers ------------------------------------------------------

@dataclass(frozen=True)
class Claimed:
    """A delivery a deliverer holds the lease on."""

    delivery_id: UUID
    subscription_id: UUID
    url: str
    topic: str
    body: str
    attempts: int  # counting this one
    created_at: datetime


@dataclass(frozen=True)
class Delivery:
    """One outbox row, as listed."""

    delivery_id: UUID
    subscription_id: UUID
    position: int
    topic: str
    state: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    last_status: int | None
    last_error: str | None
    delivered_at: datetime | None
    dead_at: datetime | None


@dataclass(frozen=True)
class OutboxStats:
    """For /metrics: deliveries waiting, dead letters, the oldest undelivered one's age."""

    pending: int
    dead: int
    oldest_pending_seconds: float


class Outbox(Protocol):
    """Where deliveries wait (governance/stores/outbox.py)."""

    def tracked(self) -> int:
        """The log position the hand-off has reached."""
        ...

    def hand_off(self, build: Callable[[int, dict[UUID, SubscriptionState]], Batch]) -> int:
        """In one transaction: read the tracking position and the subscriptions, apply
        `build`'s batch, advance the position; return how many events were handed off."""
        ...

    def claim(self, lease_seconds: float) -> Claimed | None:
        """One due delivery of an active subscription, leased (SKIP LOCKED), or None."""
        ...

    def succeeded(self, claimed: Claimed, status: int) -> None:
        """Mark delivered (after a 2xx)."""
        ...

    def failed(self, claimed: Claimed, *, status: int | None, error: str,
               retry_in: float | None) -> None:
        """Schedule another attempt in `retry_in` seconds, or dead-letter it (None)."""
        ...

    def deliveries(self, *, subscription_id: UUID | None = None, state: str | None = None,
                   limit: int = 100, offset: int = 0) -> list[Delivery]:
        """Deliveries, newest position first."""
        ...

    def stats(self) -> OutboxStats:
        """Depth, dead letters, oldest undelivered age."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


@dataclass(frozen=True)
class DeliveryConfig:
    """How deliverers behave (from the CXGOV_WEBHOOK_* settings)."""

    timeout: float = 5.0
    max_attempts: int = 12
    max_age: float = 24 * 3600.0
    retry_base: float = 2.0
    retry_cap: float = 600.0
    allow_local: bool = False

    @property
    def lease(self) -> float:
        """How long a claimed delivery is held before another deliverer may try it."""
        return 3 * self.timeout + 5.0


def backoff(attempts: int, config: DeliveryConfig, rng: random.Random | None = None) -> float:
    """Seconds before the next attempt: base * 2^(attempts-1), capped, with equal jitter."""
    delay = float(min(config.retry_cap, config.retry_base * 2.0 ** min(attempts - 1, 30)))
    jitter: float = (rng or random.Random()).uniform(0, delay / 2)
    return delay / 2 + jitter


def read_log(app: Any, after: int, limit: int = HAND_OFF_BATCH) -> list[tuple[int, Any]]:
    """Decoded events after `after`, in order (an eventsourcing application's recorder)."""
    batch = app.recorder.select_notifications(start=after, limit=limit,
                                              inclusive_of_start=False)
    return [(n.id, app.mapper.to_domain_event(n)) for n in batch]


def hand_off(outbox: Outbox, app: Any, limit: int = HAND_OFF_BATCH) -> int:
    """Hand the next events of the log to the outbox (one transaction); how many."""
    return outbox.hand_off(lambda after, subs: plan(read_log(app, after, limit), subs, after))


def deliver_one(outbox: Outbox, client: httpx.Client, secret_of: Callable[[UUID], str],
                config: DeliveryConfig, *,
                resolve: Callable[[str, int], Sequence[str]] | None = None) -> bool:
    """Claim and POST one due delivery; False when none is due."""
    import httpx

    claimed = outbox.claim(config.lease)
    if claimed is None:
        return False
    status: int | None = None
    try:
        check_resolved(claimed.url, allow_local=config.allow_local, resolve=resolve)
        body = claimed.body.encode("utf-8")
        headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT,
                   DELIVERY_HEADER: str(claimed.delivery_id), KIND_HEADER: claimed.topic,
                   ATTEMPT_HEADER: str(claimed.attempts),
                   SIGNATURE_HEADER: sign(secret_of(claimed.subscription_id),
                                          int(time.time()), body)}
        # Streamed and closed unread: a receiver's answer body is never loaded.
        with client.stream("POST", claimed.url, content=body, headers=headers,
                           timeout=config.timeout, follow_redirects=False) as response:
            status = response.status_code
        if 200 <= status < 300:
            outbox.succeeded(claimed, status)
            return True
        error = f"HTTP {status}"
    except InvalidInput as exc:
        error = f"target refused: {exc.message}"
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}"
    age = time.time() - claimed.created_at.timestamp()
    dead = claimed.attempts >= config.max_attempts or age >= config.max_age
    outbox.failed(claimed, status=status, error=error[:MAX_ERROR],
                  retry_in=None if dead else backoff(claimed.attempts, config))
    if dead:
        log.warning("webhook delivery %s is dead after %d attempts: %s",
                    claimed.delivery_id, claimed.attempts, error[:MAX_ERROR])
    return True


def run_webhooks(outbox: Outbox, app: Any, secret_of: Callable[[UUID], str],
                 config: DeliveryConfig, *, stop: threading.Event, workers: int = 4,
                 idle: float = 0.5, client: httpx.Client | None = None) -> None:
    """Hand off and deliver until `stop`: one hand-off loop (this thread), `workers`
    delivery threads. Errors are logged and the loop goes on after `idle` seconds."""
    import httpx

    own = client is None
    http = client or httpx.Client(follow_redirects=False, trust_env=False)
    wake = threading.Event()

    def deliver() -> None:
        while not stop.is_set():
            try:
                while not stop.is_set() and deliver_one(outbox, http, secret_of, config):
                    pass
            except Exception as exc:  # a lost database: try again shortly
                log.warning("webhook deliverer: %s", exc)
            wake.wait(idle)
            wake.clear()

    threads = [threading.Thread(target=deliver, name=f"webhook-deliverer-{k}", daemon=True)
               for k in range(max(1, workers))]
    for thread in threads:
        thread.start()
    try:
        while not stop.is_set():
            try:
                moved = hand_off(outbox, app)
            except Exception as exc:
                log.warning("webhook hand-off: %s", exc)
                moved = 0
            if moved:
                wake.set()
            else:
                stop.wait(idle)
    finally:
        stop.set()
        wake.set()
        for thread in threads:
            thread.join(timeout=config.timeout + 5)
        if own:
            http.close()


# --- reading subscriptions from the log (live or as of a position) ---------------------------

@dataclass(frozen=True)
class Subscription:
    """A subscription as the API lists it."""

    id: UUID
    url: str
    kinds: tuple[str, ...]
    description: str
    status: str
    created_by: str
    created_at: datetime
    changed_at: datetime
    position: int  # of its newest event
    version: int


def subscriptions_at(app: Any, upto: int | None = None) -> list[Subscription]:
    """Every subscription ever created (deleted ones included), as of `upto`: folded from the
    subscription events of the log (select_notifications filtered by topic)."""
    found: dict[UUID, Subscription] = {}
    start = 0
    while True:
        batch = app.recorder.select_notifications(start=start, limit=1000, stop=upto,
                                                  topics=list(TOPICS),
                                                  inclusive_of_start=False)
        for notification in batch:
            _fold(found, notification.id, app.mapper.to_domain_event(notification))
        if len(batch) < 1000:
            break
        start = batch[-1].id
    return sorted(found.values(), key=lambda s: (s.created_at, str(s.id)))


def _fold(found: dict[UUID, Subscription], position: int, event: Any) -> None:
    sid = event.originator_id
    if isinstance(event, WebhookSubscription.Subscribed):
        found[sid] = Subscription(sid, event.url, tuple(event.kinds), event.description,
                                  ACTIVE, event.actor, event.timestamp, event.timestamp,
                                  position, event.originator_version)
        return
    old = found.get(sid)
    if old is None:
        return
    status = {WebhookSubscription.Paused: "paused", WebhookSubscription.Resumed: ACTIVE,
              WebhookSubscription.Deleted: DELETED}.get(type(event), old.status)
    found[sid] = Subscription(old.id, old.url, old.kinds, old.description, status,
                              old.created_by, old.created_at, event.timestamp, position,
                              event.originator_version)


def describe(subscription: Subscription) -> dict[str, Any]:
    """Plain JSON of a subscription (CLI)."""
    return {"id": str(subscription.id), "url": subscription.url,
            "kinds": list(subscription.kinds), "description": subscription.description,
            "status": subscription.status, "created_by": subscription.created_by,
            "created_at": subscription.created_at.isoformat(),
            "changed_at": subscription.changed_at.isoformat(),
            "position": subscription.position, "version": subscription.version}


def describe_delivery(row: Delivery) -> dict[str, Any]:
    """Plain JSON of a delivery (CLI)."""
    found: dict[str, Any] = json.loads(canonical(row.__dict__))
    return found


def iter_pages(fetch: Callable[[int], list[Delivery]], page: int = 500) -> Iterator[Delivery]:
    """Every row of a paged listing."""
    offset = 0
    while True:
        rows = fetch(offset)
        yield from rows
        if len(rows) < page:
            return
        offset += page


def delivery_config(settings: Settings) -> DeliveryConfig:
    """The deliverers' behaviour from the CXGOV_WEBHOOK_* settings."""
    return DeliveryConfig(timeout=settings.webhook_timeout_seconds,
                          max_attempts=settings.webhook_max_attempts,
                          max_age=settings.webhook_max_age_seconds,
                          retry_base=settings.webhook_retry_base_seconds,
                          retry_cap=settings.webhook_retry_cap_seconds,
                          allow_local=settings.webhook_allow_local_targets)


def secrets_of(settings: Settings) -> Callable[[UUID], str]:
    """Each subscription's signing secret, derived from this installation's signing secret
    (CXGOV_JWT_SECRET or its generated file: the API and every deliverer must share it)."""
    server = embedded_secret(settings)
    return lambda subscription_id: subscription_secret(server, subscription_id)
