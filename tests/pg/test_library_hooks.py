"""The eventsourcing internals the live projector relies on (governance/stores/library_hooks.py)
are still there and still mean what they meant: this fails loudly on an upgrade that moves
them, instead of the projector silently writing after every event."""

from __future__ import annotations

from eventsourcing.projection import ApplicationSubscription

from governance.app import Governance
from governance.stores.library_hooks import buffered, missing_internals
from tests.builders import World


def test_every_internal_the_projector_relies_on_is_still_there() -> None:
    assert missing_internals() == []


def test_the_subscription_tells_when_fetched_events_are_still_buffered(
        pg_env: dict[str, str]) -> None:
    gov = Governance(env=pg_env)
    World(gov)  # a period, P&Ls, metrics and a policy: several events in the log
    end = gov.position()
    assert end >= 3
    with ApplicationSubscription(gov, gt=0) as subscription:
        next(subscription)
        assert buffered(subscription), "the rest of the first fetch should be buffered"
        for _ in range(end - 1):
            next(subscription)
        assert not buffered(subscription), "everything fetched was yielded"
    gov.close()
