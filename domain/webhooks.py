"""Outbound webhook subscriptions: who wants which events of the log, at which URL.

A subscription is an aggregate, so creating, pausing, resuming, deleting and replaying its
dead letters are events: audited, and readable as of any position. The delivery itself
(outbox, retries, signatures) is no business rule and lives in governance/webhooks.py.

The URL is hostile input. The domain checks its shape only (docs/decisions.md): http or https,
a host, at most MAX_URL_LENGTH characters, no user name or password, no fragment, no
whitespace or control characters, a port in range. Which hosts a URL may name (https only
for public hosts; http and private or loopback addresses only when the operator allows local
targets) is decided by governance/webhooks.py, which knows the settings and resolves names.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from urllib.parse import SplitResult, urlsplit
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import InvalidInput, InvalidTransition
from domain.text import optional_text

MAX_URL_LENGTH = 2000
MAX_KINDS = 50
#: The wildcard kind: every event of the log.
EVERYTHING = "*"
#: An event kind: a topic (`cxgov.Initiative.Approved`), or an aggregate's topics
#: (`cxgov.Initiative.*`), or every event (`*`).
_KIND = re.compile(r"cxgov\.[A-Za-z][A-Za-z0-9]{0,59}(\.([A-Za-z][A-Za-z0-9]{0,59}|\*))?",
                   re.ASCII)
_HOST = re.compile(r"[A-Za-z0-9.\-_\[\]:%]{1,253}", re.ASCII)
ACTIVE, PAUSED, DELETED = "active", "paused", "deleted"


def check_url(url: str) -> str:
    """The URL if its shape is acceptable for a webhook target, else InvalidInput (field url)."""
    if not isinstance(url, str) or not url:
        raise InvalidInput("url is required", field="url")
    if len(url) > MAX_URL_LENGTH:
        raise InvalidInput(f"url is longer than {MAX_URL_LENGTH} characters", field="url")
    if any(ord(ch) <= 0x20 or ord(ch) >= 0x7f for ch in url):
        raise InvalidInput("url must be ASCII without spaces or control characters "
                           "(percent-encode other characters)", field="url")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise InvalidInput("url is not a valid URL", field="url") from None
    if parts.scheme not in ("https", "http"):
        raise InvalidInput("url must start with https:// (or http:// where the operator "
                           "allows local targets)", field="url")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise InvalidInput("url must not contain a user name or password: the receiver "
                           "verifies the signature instead", field="url")
    if parts.fragment or url.endswith("#"):
        raise InvalidInput("url must not contain a fragment", field="url")
    host = parts.hostname
    if not host or not _HOST.fullmatch(host):
        raise InvalidInput("url must name a host", field="url")
    if port is not None and not 0 < port < 65536:
        raise InvalidInput("url has an invalid port", field="url")
    return url


def url_host(url: str) -> tuple[SplitResult, str]:
    """The parts and the lower-case host of a checked URL."""
    parts = urlsplit(url)
    return parts, (parts.hostname or "").lower()


def literal_address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The IP address a host names literally (None for a DNS name)."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def check_kinds(kinds: Sequence[str]) -> tuple[str, ...]:
    """The event kinds, de-duplicated in order; `*` alone, or topics / `cxgov.Aggregate.*`."""
    if isinstance(kinds, str) or not kinds:
        raise InvalidInput("kinds must list at least one event kind (or \"*\")", field="kinds")
    if len(kinds) > MAX_KINDS:
        raise InvalidInput(f"kinds lists more than {MAX_KINDS} event kinds", field="kinds")
    found: list[str] = []
    for kind in kinds:
        if not isinstance(kind, str) or not (kind == EVERYTHING or _KIND.fullmatch(kind)):
            raise InvalidInput(f"{str(kind)[:80]!r} is not an event kind: use a topic such as "
                               "cxgov.Initiative.Approved, cxgov.Initiative.* or *",
                               field="kinds")
        if kind not in found:
            found.append(kind)
    if EVERYTHING in found and len(found) > 1:
        raise InvalidInput("\"*\" already names every event kind: list it alone",
                           field="kinds")
    return tuple(found)


def matches(kinds: Sequence[str], topic: str) -> bool:
    """Whether an event with this topic is one of the kinds."""
    for kind in kinds:
        if kind in (EVERYTHING, topic):
            return True
        if kind.endswith(".*") and topic.startswith(kind[:-1]):
            return True
    return False


class WebhookSubscription(Aggregate):
    """A target URL and the event kinds it receives; active, paused or deleted."""

    TOPIC = "cxgov.WebhookSubscription"

    class Created(Aggregate.Created):
        TOPIC = "cxgov.WebhookSubscription.Created"

    class Subscribed(Created):
        TOPIC = "cxgov.WebhookSubscription.Subscribed"
        url: str
        kinds: list[str]
        description: str
        actor: str

    class Paused(Aggregate.Event):
        TOPIC = "cxgov.WebhookSubscription.Paused"
        reason: str
        actor: str

    class Resumed(Aggregate.Event):
        TOPIC = "cxgov.WebhookSubscription.Resumed"
        reason: str
        actor: str

    class Deleted(Aggregate.Event):
        TOPIC = "cxgov.WebhookSubscription.Deleted"
        reason: str
        actor: str

    class DeadLettersReplayed(Aggregate.Event):
        """Dead letters sent again: the named deliveries, or every dead one (none named)."""

        TOPIC = "cxgov.WebhookSubscription.DeadLettersReplayed"
        delivery_ids: list[str]
        reason: str
        actor: str

    @classmethod
    def subscribe(cls, *, url: str, kinds: Sequence[str], description: str | None,
                  actor: str) -> WebhookSubscription:
        """A new active subscription (the URL's shape and the kinds checked)."""
        subscription: WebhookSubscription = cls(
            url=check_url(url), kinds=list(check_kinds(kinds)),
            description=optional_text(description, field="description", max_length=200),
            actor=actor)
        return subscription

    @event(Subscribed)
    def __init__(self, *, url: str, kinds: list[str], description: str, actor: str) -> None:
        self.url = url
        self.kinds = tuple(kinds)
        self.description = description
        self.status = ACTIVE
        self.created_by = actor

    def _alive(self, action: str) -> None:
        if self.status == DELETED:
            raise InvalidTransition(f"the subscription is deleted: cannot {action} it",
                                    status=self.status)

    def pause(self, *, reason: str | None, actor: str) -> None:
        """Stop sending (held deliveries wait; new events are not queued while paused)."""
        self._alive("pause")
        if self.status == PAUSED:
            raise InvalidTransition("the subscription is paused already", status=self.status)
        self._paused(reason=optional_text(reason, field="reason", max_length=500), actor=actor)

    @event(Paused)
    def _paused(self, *, reason: str, actor: str) -> None:
        self.status = PAUSED

    def resume(self, *, reason: str | None, actor: str) -> None:
        """Send again, the held deliveries first."""
        self._alive("resume")
        if self.status == ACTIVE:
            raise InvalidTransition("the subscription is active already", status=self.status)
        self._resumed(reason=optional_text(reason, field="reason", max_length=500), actor=actor)

    @event(Resumed)
    def _resumed(self, *, reason: str, actor: str) -> None:
        self.status = ACTIVE

    def delete(self, *, reason: str | None, actor: str) -> None:
        """Delete for good: undelivered deliveries are cancelled."""
        self._alive("delete")
        self._deleted(reason=optional_text(reason, field="reason", max_length=500), actor=actor)

    @event(Deleted)
    def _deleted(self, *, reason: str, actor: str) -> None:
        self.status = DELETED

    def replay_dead_letters(self, *, delivery_ids: Sequence[UUID], reason: str | None,
                            actor: str) -> None:
        """Queue dead letters again (the named ones, or all when none are named)."""
        self._alive("replay the dead letters of")
        if len(delivery_ids) > 500:
            raise InvalidInput("name at most 500 deliveries at once", field="delivery_ids")
        self._replayed(delivery_ids=sorted({str(i) for i in delivery_ids}),
                       reason=optional_text(reason, field="reason", max_length=500), actor=actor)

    @event(DeadLettersReplayed)
    def _replayed(self, *, delivery_ids: list[str], reason: str, actor: str) -> None:
        pass


#: The topics of the subscription's events (for reading them from the log).
TOPICS = tuple(cls.TOPIC for cls in (
    WebhookSubscription.Subscribed, WebhookSubscription.Paused, WebhookSubscription.Resumed,
    WebhookSubscription.Deleted, WebhookSubscription.DeadLettersReplayed))
