"""CXGOV_READ_DATABASE_URL (issue 19, part 4): validated like CXGOV_DATABASE_URL, off when
absent, refused without PostgreSQL."""

from __future__ import annotations

import pytest
from pydantic import SecretStr, ValidationError

from governance.settings import Settings, read_url


def test_absent_means_every_read_goes_to_the_primary() -> None:
    settings = Settings(database_url=SecretStr("postgresql://a@db:5432/cx"))
    assert read_url(settings) is None
    assert settings.read_replica_wait_seconds == 2.0


def test_a_standby_url_is_kept_and_its_wait_bounded() -> None:
    settings = Settings(
        database_url=SecretStr("postgresql://a@db:5432/cx"),
        read_database_url=SecretStr("postgresql://a@replica:5432/cx"),
        read_replica_wait_seconds=0.5,
    )
    assert read_url(settings) == "postgresql://a@replica:5432/cx"
    assert settings.read_replica_wait_seconds == 0.5


@pytest.mark.parametrize(
    "changes",
    [
        {"read_database_url": SecretStr("mysql://a@replica/cx")},
        {"read_database_url": SecretStr("postgresql://a@r1,r2/cx")},
        {"read_database_url": SecretStr("postgresql://a:secret@replica/cx?sslmode=x")},
        {"read_database_url": SecretStr("postgresql://a@replica/cx"), "store": "memory"},
        {"read_replica_wait_seconds": -1},
        {"read_replica_wait_seconds": 61},
    ],
)
def test_unusable_settings_are_refused_without_echoing_the_secret(
    changes: dict[str, object],
) -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(database_url=SecretStr("postgresql://a@db:5432/cx"), **changes)  # type: ignore[arg-type]
    assert "secret" not in str(refused.value)
