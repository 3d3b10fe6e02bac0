"""Outbound webhooks in memory: subscriptions as events, the hand-off, signing, retries,
dead letters and replay, with an httpx mock transport as the receiver."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from uuid import UUID

import httpx
import pytest

from domain.errors import InvalidInput, InvalidTransition, WebhookNotFound
from domain.webhooks import WebhookSubscription, check_kinds, check_url, matches
from governance.app import Governance
from governance.errors import Forbidden
from governance.stores.outbox import MemoryOutbox
from governance.webhooks import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    DeliveryConfig,
    backoff,
    check_resolved,
    check_target,
    deliver_one,
    delivery_id,
    hand_off,
    subscription_secret,
    verify,
)
from tests.builders import (
    AUDITOR_ONE,
    CX_CHIEF,
    FINANCE_LEAD,
    RB_OWNER,
    World,
    rejected_without_writing,
)

SERVER_SECRET = "test-server-secret"
URL = "https://hooks.example.com/cxgov"


def secret_of(subscription_id: UUID) -> str:
    return subscription_secret(SERVER_SECRET, subscription_id)


class Clock:
    """A settable clock for the in-memory outbox (retries become due when moved on)."""

    def __init__(self) -> None:
        self.now = datetime(2027, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class Receiver:
    """Records every request; answers `status` (a callable may change its mind)."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(self.status)

    def bodies(self) -> list[dict[str, object]]:
        return [json.loads(r.content) for r in self.requests]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def outbox(clock: Clock) -> MemoryOutbox:
    return MemoryOutbox(clock=clock)


@pytest.fixture
def receiver() -> Receiver:
    return Receiver()


@pytest.fixture
def client(receiver: Receiver) -> Iterator[httpx.Client]:
    with httpx.Client(transport=httpx.MockTransport(receiver)) as found:
        yield found


def public_dns(host: str, port: int) -> list[str]:
    return ["93.184.216.34"]


CONFIG = DeliveryConfig(timeout=1.0, max_attempts=3, retry_base=1.0, retry_cap=4.0)


def drain(outbox: MemoryOutbox, gov: Governance, client: httpx.Client,
          config: DeliveryConfig = CONFIG) -> int:
    hand_off(outbox, gov)
    sent = 0
    while deliver_one(outbox, client, secret_of, config, resolve=public_dns):
        sent += 1
    return sent


def test_a_subscription_receives_the_events_after_it_signed_and_once(
        gov: Governance, outbox: MemoryOutbox, client: httpx.Client,
        receiver: Receiver) -> None:
    world = World(gov)
    created = gov.create_webhook(CX_CHIEF, url=URL, kinds=["cxgov.Initiative.*"],
                                 description="Slack #cx")
    first = world.submit("I01")
    world.submit("I02")
    assert drain(outbox, gov, client) == 2
    assert drain(outbox, gov, client) == 0  # handed off once, delivered once
    bodies = receiver.bodies()
    assert [b["kind"] for b in bodies] == ["cxgov.Initiative.Submitted"] * 2
    assert bodies[0]["event"]["aggregate_id"] == str(first)  # type: ignore[index]
    for request in receiver.requests:
        assert verify(secret_of(created.id), request.headers[SIGNATURE_HEADER],
                      request.content)
        assert not verify(secret_of(first), request.headers[SIGNATURE_HEADER],
                          request.content)
        body = json.loads(request.content)
        assert request.headers[DELIVERY_HEADER] == body["delivery_id"] == str(
            delivery_id(created.id, body["position"]))
    assert outbox.stats().pending == 0


def test_failures_back_off_then_dead_letter_then_replay(
        gov: Governance, outbox: MemoryOutbox, client: httpx.Client, receiver: Receiver,
        clock: Clock) -> None:
    created = gov.create_webhook(CX_CHIEF, url=URL, kinds=["*"])
    World(gov)  # a few events
    receiver.status = 503
    handed = drain(outbox, gov, client)
    assert handed > 0
    pending = outbox.stats().pending
    for _ in range(CONFIG.max_attempts - 1):  # each retry becomes due only after its delay
        assert drain(outbox, gov, client) == 0
        clock.advance(CONFIG.retry_cap + 1)
        drain(outbox, gov, client)
    assert outbox.stats().dead == pending and outbox.stats().pending == 0
    dead = outbox.deliveries(state="dead")
    assert all(d.attempts == CONFIG.max_attempts and d.last_status == 503 for d in dead)
    receiver.status, receiver.requests = 200, []
    gov.replay_webhook_dead_letters(CX_CHIEF, created.id, reason="receiver fixed")
    drain(outbox, gov, client)
    delivered = {b["delivery_id"] for b in receiver.bodies()
                 if b["kind"] != "cxgov.WebhookSubscription.DeadLettersReplayed"}
    assert delivered == {str(d.delivery_id) for d in dead}  # the same delivery ids
    assert outbox.stats().dead == 0


def test_one_bad_row_does_not_block_the_others(
        gov: Governance, outbox: MemoryOutbox, clock: Clock) -> None:
    bad = gov.create_webhook(CX_CHIEF, url="https://down.example.com/", kinds=["*"])
    good = gov.create_webhook(CX_CHIEF, url="https://up.example.com/", kinds=["*"])
    World(gov)
    seen: list[str] = []

    def route(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.host)
        if request.url.host == "down.example.com":
            raise httpx.ConnectError("refused")
        return httpx.Response(204)

    with httpx.Client(transport=httpx.MockTransport(route)) as client:
        drain(outbox, gov, client)
    assert not outbox.deliveries(subscription_id=good.id, state="pending")
    failing = outbox.deliveries(subscription_id=bad.id, state="pending")
    assert failing and all(d.last_error and "ConnectError" in d.last_error for d in failing)


def test_paused_holds_deleted_cancels(gov: Governance, outbox: MemoryOutbox,
                                      client: httpx.Client, receiver: Receiver) -> None:
    created = gov.create_webhook(CX_CHIEF, url=URL, kinds=["cxgov.PnL.Registered"])
    gov.register_pnl(FINANCE_LEAD, code="A1", name="One")
    hand_off(outbox, gov)
    gov.pause_webhook(CX_CHIEF, created.id, reason="maintenance")
    gov.register_pnl(FINANCE_LEAD, code="A2", name="Two")  # not queued while paused
    assert drain(outbox, gov, client) == 0  # the held one waits
    gov.resume_webhook(CX_CHIEF, created.id)
    gov.register_pnl(FINANCE_LEAD, code="A3", name="Three")
    assert drain(outbox, gov, client) == 2
    codes = [b["event"]["details"]["code"] for b in receiver.bodies()]  # type: ignore[index]
    assert sorted(codes) == ["A1", "A3"]
    gov.delete_webhook(CX_CHIEF, created.id)
    gov.register_pnl(FINANCE_LEAD, code="A4", name="Four")
    assert drain(outbox, gov, client) == 0
    with pytest.raises(InvalidTransition):
        gov.resume_webhook(CX_CHIEF, created.id)


def test_subscriptions_are_audited_and_readable_as_of(gov: Governance) -> None:
    created = gov.create_webhook(CX_CHIEF, url=URL, kinds=["*"])
    at_creation = gov.position()
    gov.pause_webhook(CX_CHIEF, created.id)
    now = gov.webhook_subscriptions(AUDITOR_ONE)
    then = gov.webhook_subscriptions(CX_CHIEF, upto=at_creation)
    assert [s.status for s in now] == ["paused"]
    assert [s.status for s in then] == ["active"]
    assert gov.webhook_subscriptions(CX_CHIEF, upto=at_creation - 1) == []
    with pytest.raises(Forbidden):
        gov.webhook_subscriptions(RB_OWNER)


@pytest.mark.parametrize("url", [
    "http://hooks.example.com/x",  # plain http to a public host
    "https://user:pw@hooks.example.com/x",  # credentials
    "https://hooks.example.com/x#frag",
    "ftp://hooks.example.com/x",
    "https://127.0.0.1/x",  # loopback without the setting
    "https://10.1.2.3/x",  # private without the setting
    "https://169.254.169.254/latest/meta-data",  # metadata: never
    "https://[::ffff:169.254.169.254]/",
    "https://0.0.0.0/",
    "https://localhost/x",
    "https://hooks.example.com/a b",
    "https://" + "a" * 2000 + ".com/",
    "javascript:alert(1)",
])
def test_hostile_urls_are_refused_and_nothing_is_written(gov: Governance, url: str) -> None:
    error = rejected_without_writing(gov, InvalidInput, lambda: gov.create_webhook(
        CX_CHIEF, url=url, kinds=["*"]))
    assert isinstance(error, InvalidInput) and error.field == "url"


def test_local_targets_only_with_the_setting() -> None:
    check_target("http://127.0.0.1:9000/hook", allow_local=True)
    check_target("http://localhost:9000/hook", allow_local=True)
    with pytest.raises(InvalidInput):
        check_target("http://hooks.example.com/", allow_local=True)  # http stays local-only
    with pytest.raises(InvalidInput):
        check_target("http://169.254.169.254/", allow_local=True)
    with pytest.raises(InvalidInput):  # a public name that resolves to a private address
        check_resolved("https://internal.example.com/", allow_local=False,
                       resolve=lambda host, port: ["10.0.0.7"])
    with pytest.raises(InvalidInput):
        check_resolved("https://meta.example.com/", allow_local=True,
                       resolve=lambda host, port: ["169.254.169.254"])
    check_resolved("https://hooks.example.com/", allow_local=False, resolve=public_dns)


def test_kinds_and_matching() -> None:
    assert check_kinds(["cxgov.Initiative.Approved", "cxgov.Initiative.Approved"]) == (
        "cxgov.Initiative.Approved",)
    for bad in ([], ["Initiative"], ["*", "cxgov.PnL.*"], ["cxgov.Initiative.Appr*"],
                ["x" * 300]):
        with pytest.raises(InvalidInput):
            check_kinds(bad)
    assert matches(("cxgov.Initiative.*",), "cxgov.Initiative.Approved")
    assert not matches(("cxgov.Initiative.*",), "cxgov.InitiativeX.Approved")
    assert check_url("https://hooks.example.com:8443/a?b=c") == (
        "https://hooks.example.com:8443/a?b=c")


def test_only_cx_executives_manage_subscriptions(gov: Governance) -> None:
    for who in (FINANCE_LEAD, AUDITOR_ONE, RB_OWNER):
        rejected_without_writing(gov, Forbidden, lambda w=who: gov.create_webhook(
            w, url=URL, kinds=["*"]))
    with pytest.raises(WebhookNotFound):
        gov.pause_webhook(CX_CHIEF, WebhookSubscription.create_id())


def test_signature_is_over_timestamp_and_body_and_expires() -> None:
    body = b'{"a":1}'
    header = f"t=1000,v1={subscription_secret('s', delivery_id(UUID(int=1), 1))}"
    assert not verify("k", header, body, now=1000)
    from governance.webhooks import sign

    signed = sign("k", 1000, body)
    assert verify("k", signed, body, now=1100)
    assert not verify("k", signed, body + b" ", now=1100)
    assert not verify("k", signed, body, now=2000)  # older than the tolerance


def test_backoff_grows_is_capped_and_jittered() -> None:
    import random

    rng = random.Random(1)
    config = DeliveryConfig(retry_base=2.0, retry_cap=60.0)
    delays = [backoff(n, config, rng) for n in range(1, 10)]
    assert 1.0 <= delays[0] <= 2.0 and 30.0 <= delays[-1] <= 60.0
    assert len({round(backoff(3, config, rng), 6) for _ in range(5)}) > 1


def test_a_redirect_is_a_failed_attempt_never_followed(
        gov: Governance, outbox: MemoryOutbox) -> None:
    gov.create_webhook(CX_CHIEF, url=URL, kinds=["cxgov.PnL.*"])
    gov.register_pnl(FINANCE_LEAD, code="R1", name="Redirected")
    hosts: list[str] = []

    def redirect(request: httpx.Request) -> httpx.Response:
        hosts.append(request.url.host)
        return httpx.Response(302, headers={"Location": "http://169.254.169.254/"})

    with httpx.Client(transport=httpx.MockTransport(redirect)) as client:
        drain(outbox, gov, client)
    assert hosts == ["hooks.example.com"]
    [row] = outbox.deliveries()
    assert (row.state, row.last_status, row.last_error) == ("pending", 302, "HTTP 302")


def test_a_target_that_resolves_to_a_private_address_is_never_contacted(
        gov: Governance, outbox: MemoryOutbox, client: httpx.Client,
        receiver: Receiver) -> None:
    gov.create_webhook(CX_CHIEF, url=URL, kinds=["cxgov.PnL.*"])
    gov.register_pnl(FINANCE_LEAD, code="R2", name="Rebound")
    hand_off(outbox, gov)
    assert deliver_one(outbox, client, secret_of, CONFIG,
                       resolve=lambda host, port: ["10.0.0.8"])
    [row] = outbox.deliveries()
    assert receiver.requests == [] and row.last_error is not None
    assert row.last_error.startswith("target refused")
