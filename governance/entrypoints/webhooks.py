"""`cxgov deliver` (the webhook process) and `cxgov webhooks ...` (subscriptions, deliveries,
dead letters, replay, secrets). Commands written from the CLI are an operator's: they act as
a CX executive with the subject given by --as (default: the shell user), issuer `cli`."""

from __future__ import annotations

import getpass
import json
import logging
import signal
import threading
from collections.abc import Callable
from contextlib import contextmanager
from typing import Annotated, Any
from uuid import UUID

import typer

from domain.errors import CxgovError
from governance.bootstrap import Runtime
from governance.entrypoints.common import fail, runtime
from governance.principal import CX_EXEC, Principal
from governance.stores.outbox import PostgresOutbox, outbox_for
from governance.webhooks import (
    delivery_config,
    describe,
    describe_delivery,
    hand_off,
    run_webhooks,
    secrets_of,
)
from projections.query import AsOfOutOfRange

webhooks_app = typer.Typer(no_args_is_help=True)

As = Annotated[str | None, typer.Option(
    "--as", help="The operator's subject recorded as the actor (default: the shell user).")]
Reason = Annotated[str | None, typer.Option("--reason", help="Why (kept in the audit log).")]
Id = Annotated[UUID, typer.Argument(help="The subscription id.")]
State = Annotated[str | None, typer.Option(
    "--state", help="pending, delivered, dead or cancelled.")]
SubscriptionOption = Annotated[UUID | None, typer.Option(
    "--subscription", help="Only this subscription's deliveries.")]
Limit = Annotated[int, typer.Option("--limit", min=1, max=10_000, help="At most this many.")]


def operator(subject: str | None) -> Principal:
    """The CLI's principal: shell access to the server is an operator's, acting as a CX
    executive; the actor is `cli|<subject>`."""
    return Principal(subject=subject or getpass.getuser() or "operator",
                     roles=frozenset({CX_EXEC}), issuer="cli")


def _echo(payload: Any) -> None:
    typer.echo(json.dumps(payload, indent=2, ensure_ascii=False))


@contextmanager
def _command() -> Any:
    with runtime() as rt:
        try:
            yield rt
        except CxgovError as exc:
            raise fail(f"[{exc.code}] {exc.message}") from None
        except AsOfOutOfRange as exc:
            raise fail(str(exc)) from None


def _write(run: Callable[[Runtime, Principal], Any], subject: str | None) -> None:
    with _command() as rt:
        result = run(rt, operator(subject))
        _echo({"id": str(result.id), "version": result.version, "position": result.position})


def _outbox(rt: Runtime) -> Any:
    found = outbox_for(rt.env)
    if not isinstance(found, PostgresOutbox):
        hand_off(found, rt.app)  # the in-memory store: this process's own outbox
    return found


@webhooks_app.command("list")
def list_command(as_of: Annotated[str | None, typer.Option(
        "--as-of", help="A log position or ISO 8601 UTC time.")] = None,
                 subject: As = None) -> None:
    """Every subscription (deleted ones too), live or as of a position or time."""
    with _command() as rt:
        upto = rt.read_models().resolve(as_of) if as_of else None
        _echo([describe(s) for s in rt.app.webhook_subscriptions(operator(subject), upto=upto)])


@webhooks_app.command("create")
def create_command(
    url: Annotated[str, typer.Argument(help="The target URL (https).")],
    kind: Annotated[list[str], typer.Option(
        "--kind", help="An event kind: a topic, cxgov.Aggregate.* or *; repeat for several.")],
    description: Annotated[str | None, typer.Option(help="What it is for.")] = None,
    subject: As = None,
) -> None:
    """Subscribe a URL to event kinds; prints the id and the signing secret."""
    with _command() as rt:
        result = rt.app.create_webhook(operator(subject), url=url, kinds=kind,
                                       description=description)
        _echo({"id": str(result.id), "position": result.position,
               "secret": secrets_of(rt.settings)(result.id)})


@webhooks_app.command("pause")
def pause_command(subscription: Id, reason: Reason = None, subject: As = None) -> None:
    """Pause a subscription (nothing sent, new events not queued)."""
    _write(lambda rt, who: rt.app.pause_webhook(who, subscription, reason=reason), subject)


@webhooks_app.command("resume")
def resume_command(subscription: Id, reason: Reason = None, subject: As = None) -> None:
    """Resume a paused subscription."""
    _write(lambda rt, who: rt.app.resume_webhook(who, subscription, reason=reason), subject)


@webhooks_app.command("delete")
def delete_command(subscription: Id, reason: Reason = None, subject: As = None) -> None:
    """Delete a subscription (its undelivered deliveries are cancelled)."""
    _write(lambda rt, who: rt.app.delete_webhook(who, subscription, reason=reason), subject)


@webhooks_app.command("replay")
def replay_command(subscription: Id, delivery: Annotated[list[UUID] | None, typer.Option(
        "--delivery", help="A dead delivery's id; repeat; all dead ones when omitted.")] = None,
                   reason: Reason = None, subject: As = None) -> None:
    """Send a subscription's dead letters again (same delivery ids, attempts reset)."""
    _write(lambda rt, who: rt.app.replay_webhook_dead_letters(
        who, subscription, delivery_ids=tuple(delivery or ()), reason=reason), subject)


@webhooks_app.command("deliveries")
def deliveries_command(state: State = None, subscription: SubscriptionOption = None,
                       limit: Limit = 100) -> None:
    """Deliveries, newest log position first."""
    with _command() as rt:
        outbox = _outbox(rt)
        _echo([describe_delivery(d) for d in outbox.deliveries(
            subscription_id=subscription, state=state, limit=limit)])


@webhooks_app.command("dead")
def dead_command(subscription: SubscriptionOption = None, limit: Limit = 100) -> None:
    """The dead-letter list: deliveries that gave up (replay them with `replay`)."""
    with _command() as rt:
        outbox = _outbox(rt)
        _echo([describe_delivery(d) for d in outbox.deliveries(
            subscription_id=subscription, state="dead", limit=limit)])


@webhooks_app.command("secret")
def secret_command(subscription: Id) -> None:
    """Print a subscription's signing secret (derived from this installation's signing
    secret and the id; give it to the receiver)."""
    with _command() as rt:
        known = {s.id for s in rt.app.webhook_subscriptions(operator(None))}
        if subscription not in known:
            raise fail(f"no webhook subscription {subscription}")
        typer.echo(secrets_of(rt.settings)(subscription))


def deliver_command(workers: Annotated[int | None, typer.Option(
        help="Delivery threads (default CXGOV_WEBHOOK_WORKERS).")] = None) -> None:
    """Run the webhook process until interrupted: hand events from the log to the outbox
    (exactly once) and deliver them (at least once, signed, retried, dead-lettered)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with runtime() as rt:
        if rt.database_url is None:
            raise fail("the webhook process needs PostgreSQL (CXGOV_STORE=postgres)")
        outbox = outbox_for(rt.env)
        typer.echo("delivering webhooks; Ctrl-C to stop")
        try:
            run_webhooks(outbox, rt.app, secrets_of(rt.settings), delivery_config(rt.settings),
                         stop=stop, workers=workers or rt.settings.webhook_workers)
        except KeyboardInterrupt:
            stop.set()
        finally:
            outbox.close()


@contextmanager
def delivering(rt: Runtime) -> Any:
    """The webhook process in a thread of this process while the block runs (`cxgov serve`
    with projectors, `cxgov demo`); nothing on the in-memory store."""
    if rt.database_url is None:
        yield
        return
    stop = threading.Event()
    outbox = outbox_for(rt.env)
    thread = threading.Thread(
        target=run_webhooks, args=(outbox, rt.app, secrets_of(rt.settings),
                                   delivery_config(rt.settings)),
        kwargs={"stop": stop, "workers": rt.settings.webhook_workers},
        name="webhooks", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=30)
