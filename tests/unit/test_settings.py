"""Settings validate the environment and derive the eventsourcing env in one place."""

from __future__ import annotations

import pytest
from pydantic import SecretStr, ValidationError

from governance.settings import Settings, eventstore_env, parse_database_url


def test_socket_url_from_the_embedded_server_becomes_a_socket_host() -> None:
    env = eventstore_env(Settings(), "postgresql://postgres:@/postgres?host=/tmp/x/pg")
    assert (env["POSTGRES_HOST"], env["POSTGRES_PORT"], env["POSTGRES_DBNAME"]) == (
        "/tmp/x/pg", "5432", "postgres")
    assert (env["POSTGRES_USER"], env["POSTGRES_PASSWORD"], env["CREATE_TABLE"]) == (
        "postgres", "", "n")


def test_tcp_url_keeps_encoded_password_port_and_dbname() -> None:
    params = parse_database_url("postgres://app:p%40ss@db.example.com:6543/cxgov")
    assert (params.user, params.password, params.host, params.port, params.dbname) == (
        "app", "p@ss", "db.example.com", 6543, "cxgov")


def test_url_without_dbname_uses_postgres() -> None:
    assert parse_database_url("postgresql://u@h").dbname == "postgres"


def test_memory_store_needs_no_database() -> None:
    assert eventstore_env(Settings(store="memory"), None) == {
        "PERSISTENCE_MODULE": "eventsourcing.popo"}


def test_pool_and_timeouts_come_from_settings() -> None:
    settings = Settings(db_pool_size=3, db_max_overflow=4, db_connect_timeout=2, db_lock_timeout=7)
    env = eventstore_env(settings, "postgresql://u@h/d")
    assert [env[k] for k in ("POSTGRES_POOL_SIZE", "POSTGRES_MAX_OVERFLOW",
                             "POSTGRES_CONNECT_TIMEOUT", "POSTGRES_LOCK_TIMEOUT")] == [
        "3", "4", "2", "7"]


def test_non_postgres_url_is_refused_without_echoing_it() -> None:
    with pytest.raises(ValidationError) as raised:
        Settings(database_url=SecretStr("mysql://u:topsecret@h/d"))
    assert "topsecret" not in str(raised.value)


def test_unsupported_url_parameter_is_refused() -> None:
    with pytest.raises(ValueError, match="sslmode"):
        parse_database_url("postgresql://u@h/d?sslmode=require")


def test_prod_requires_a_configured_database() -> None:
    with pytest.raises(ValidationError, match="CXGOV_DATABASE_URL is required"):
        Settings(env="prod")


def test_connect_timeout_below_one_second_is_refused() -> None:
    with pytest.raises(ValidationError):
        Settings(db_connect_timeout=0)


def test_redacted_url_masks_the_password() -> None:
    assert parse_database_url("postgresql://u:pw@h:5433/d").redacted_url() == (
        "postgresql://u:***@h:5433/d")
