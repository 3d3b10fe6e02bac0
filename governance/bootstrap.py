"""The composition root: one function builds the application from one Settings object."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from governance.app import Governance
from governance.settings import Settings, eventstore_env, get_settings
from governance.stores.database import (
    embedded_stop,
    is_at_head,
    migrate,
    resolve_database_url,
    wait_for_database,
)
from governance.stores.readside import InProcess, in_memory, in_process_postgres
from projections.loop_source import ReadSideSignals
from projections.query import ReadModels


class SchemaNotMigrated(RuntimeError):
    """The database is not at the newest migration; run `cxgov migrate`."""


@dataclass
class Runtime:
    """Everything a process needs; close() releases connections and an embedded server."""

    settings: Settings
    app: Governance
    env: dict[str, str]
    database_url: str | None
    started_embedded: bool
    extras: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Webhook targets follow this runtime's settings (tests build runtimes from their own).
        self.app.webhook_allow_local = self.settings.webhook_allow_local_targets
        if self.app.signal_source is None:  # the loop's commands ask the read side (issue 14)
            self.app.signal_source = ReadSideSignals(self.read_models)

    def in_process(self) -> InProcess:
        """Read models caught up by this process (CLI commands, the demo, tests)."""
        if "in_process" not in self.extras:
            self.extras["in_process"] = (
                in_memory(self.app) if self.database_url is None
                else in_process_postgres(self.app, self.env))
        return self.extras["in_process"]  # type: ignore[no-any-return]

    def read_models(self) -> ReadModels:
        """Queries over the read models, caught up before each read."""
        return self.in_process().read_models()

    def close(self) -> None:
        """Close the application; stop the embedded server only if this process started it."""
        self.app.close()
        if self.started_embedded:
            embedded_stop(self.settings.data_dir)

    def __enter__(self) -> Runtime:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def bootstrap(settings: Settings | None = None, *, auto_migrate: bool = False,
              keep_embedded: bool = False) -> Runtime:
    """Build the governance application on the configured store.

    With no CXGOV_DATABASE_URL the embedded server is started in CXGOV_DATA_DIR. An unmigrated
    schema is refused with a clear message unless `auto_migrate` (used by `cxgov demo`).
    """
    settings = settings or get_settings()
    if settings.store == "memory":
        env = eventstore_env(settings, None)
        return Runtime(settings, Governance(env=env), env, None, False)
    url, started = resolve_database_url(settings)
    try:
        wait_for_database(url, timeout_s=settings.db_connect_timeout * 6)
        if auto_migrate:
            migrate(url)
        elif not is_at_head(url):
            raise SchemaNotMigrated(
                "the database schema is not at the newest migration: run `cxgov migrate`")
        env = eventstore_env(settings, url)
        app = Governance(env=env)
    except BaseException:
        if started and not keep_embedded:
            embedded_stop(settings.data_dir)
        raise
    return Runtime(settings, app, env, url, started and not keep_embedded)
