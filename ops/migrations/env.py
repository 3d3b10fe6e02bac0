"""Alembic environment: run revisions against the URL given by code, alembic.ini or Settings."""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context
from sqlalchemy import URL, Connection, create_engine
from sqlalchemy.pool import NullPool

# No SQLAlchemy models: revisions are hand-written SQL, so autogenerate has nothing to diff.
TARGET_METADATA = None


def _url() -> URL | str:
    """Return the database URL: Config attributes, then sqlalchemy.url, then Settings."""
    config = context.config
    given = config.attributes.get("sqlalchemy_url")
    if given is not None:
        return given  # type: ignore[no-any-return]
    from_ini = config.get_main_option("sqlalchemy.url")
    if from_ini:
        return from_ini
    # The alembic CLI (alembic -c ops/migrations/alembic.ini ...): use the configured
    # database, starting the embedded server when CXGOV_DATABASE_URL is unset.
    from governance.settings import get_settings
    from governance.stores.database import resolve_database_url, sqlalchemy_url

    url, _ = resolve_database_url(get_settings())
    return sqlalchemy_url(url)


def _run(connection: Connection) -> None:
    """Run the pending revisions on one connection, in one transaction."""
    context.configure(
        connection=connection, target_metadata=TARGET_METADATA, compare_type=True
    )
    with context.begin_transaction():
        context.run_migrations()


def run_offline() -> None:
    """Emit the SQL instead of running it (alembic upgrade --sql)."""
    context.configure(
        url=_url(), target_metadata=TARGET_METADATA, compare_type=True, literal_binds=True
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    """Connect (or reuse a connection handed over in Config attributes) and migrate."""
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_engine(_url(), poolclass=NullPool)
    try:
        with engine.connect() as conn:
            _run(conn)
    finally:
        engine.dispose()


if context.config.config_file_name is not None:
    fileConfig(context.config.config_file_name, disable_existing_loggers=False)

if context.is_offline_mode():
    run_offline()
else:
    run_online()
