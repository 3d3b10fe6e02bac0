"""CX executives: outbound webhook subscriptions (create, pause, resume, delete, replay dead
letters), and who may read them. Delivery is governance/webhooks.py."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.errors import WebhookNotFound
from domain.webhooks import WebhookSubscription, check_kinds
from governance.access import require_role
from governance.principal import AUDITOR, CX_EXEC, Principal
from governance.settings import get_settings
from governance.unit_of_work import CommandResult, UnitOfWork
from governance.usecases.base import Commands
from governance.webhooks import Subscription, check_target, subscriptions_at


class WebhookUseCases(Commands):
    """Subscriptions are a CX executive's to manage; CX executives and auditors read them."""

    #: Whether http, loopback and private targets are allowed (None: the setting
    #: CXGOV_WEBHOOK_ALLOW_LOCAL_TARGETS); tests set it on their application.
    webhook_allow_local: bool | None = None

    def _allow_local(self) -> bool:
        if self.webhook_allow_local is not None:
            return self.webhook_allow_local
        return get_settings().webhook_allow_local_targets

    def create_webhook(self, principal: Principal, *, url: str, kinds: Sequence[str],
                       description: str | None = None) -> CommandResult:
        """Subscribe a URL to event kinds (topics, `cxgov.Aggregate.*` or `*`)."""
        require_role(principal, CX_EXEC, action="creating a webhook subscription")
        check_target(url, allow_local=self._allow_local())
        check_kinds(kinds)

        def build(unit: UnitOfWork) -> list[Aggregate]:
            return [WebhookSubscription.subscribe(url=url, kinds=kinds, description=description,
                                                  actor=principal.actor)]

        return self.transact(build)

    def _change(self, principal: Principal, subscription_id: UUID, action: str,
                change: str, **kwargs: object) -> CommandResult:
        require_role(principal, CX_EXEC, action=f"{action} a webhook subscription")

        def build(unit: UnitOfWork) -> list[Aggregate]:
            subscription = unit.load(WebhookSubscription, subscription_id, lambda: WebhookNotFound(
                f"no webhook subscription {subscription_id}", id=str(subscription_id)))
            getattr(subscription, change)(actor=principal.actor, **kwargs)
            return [subscription]

        return self.transact(build)

    def pause_webhook(self, principal: Principal, subscription_id: UUID, *,
                      reason: str | None = None) -> CommandResult:
        """Stop sending; new events are not queued while paused."""
        return self._change(principal, subscription_id, "pausing", "pause", reason=reason)

    def resume_webhook(self, principal: Principal, subscription_id: UUID, *,
                       reason: str | None = None) -> CommandResult:
        """Send again (held deliveries first)."""
        return self._change(principal, subscription_id, "resuming", "resume", reason=reason)

    def delete_webhook(self, principal: Principal, subscription_id: UUID, *,
                       reason: str | None = None) -> CommandResult:
        """Delete; undelivered deliveries are cancelled."""
        return self._change(principal, subscription_id, "deleting", "delete", reason=reason)

    def replay_webhook_dead_letters(self, principal: Principal, subscription_id: UUID, *,
                                    delivery_ids: Sequence[UUID] = (),
                                    reason: str | None = None) -> CommandResult:
        """Queue dead letters again: the named ones, or every dead one."""
        return self._change(principal, subscription_id, "replaying dead letters of",
                            "replay_dead_letters", delivery_ids=tuple(delivery_ids),
                            reason=reason)

    def webhook_subscriptions(self, principal: Principal, *,
                              upto: int | None = None) -> list[Subscription]:
        """Every subscription (deleted ones too), live or as of a log position."""
        require_webhook_reader(principal)
        return subscriptions_at(self, upto)


def require_webhook_reader(principal: Principal) -> None:
    """CX executives and auditors read subscriptions and deliveries (bodies are audit rows)."""
    require_role(principal, CX_EXEC, AUDITOR, action="reading webhook subscriptions")
