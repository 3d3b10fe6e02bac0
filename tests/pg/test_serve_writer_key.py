"""`cxgov serve --no-projectors` (the projectors, and so the checkpointer that makes the audit
signing key, run elsewhere): before the workers start, the key is made for a fresh embedded
log, so its writes are sealed from the first; a log whose checkpoints another key signed, or a
configured database, gets a warning and never a new key."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import SecretStr

from governance.bootstrap import Runtime, bootstrap
from governance.entrypoints.serve import writer_key
from governance.settings import Settings, audit_seal_env
from governance.stores.integrity import issue_checkpoint, signing_key_path
from tests.api.conftest import SECRET

pytestmark = pytest.mark.pg

Make = Callable[..., Runtime]


@pytest.fixture
def make(pg_env: dict[str, str], pg_url: str, tmp_path: Path) -> Iterator[Make]:
    made: list[Runtime] = []

    def runtime(data: str = "data") -> Runtime:
        rt = bootstrap(Settings(store="postgres", database_url=SecretStr(pg_url),
                                jwt_secret=SecretStr(SECRET), db_pool_size=1,
                                db_max_overflow=2, data_dir=tmp_path / data))
        made.append(rt)
        return rt

    yield runtime
    for rt in made:
        rt.close()


def test_a_fresh_embedded_log_gets_its_key_before_the_workers_start(make: Make) -> None:
    rt = make()
    assert audit_seal_env(rt.settings) == {}  # what a worker would read: no key yet
    note = writer_key(rt, embedded=True)
    assert note is not None and note.startswith(
        f"created the audit signing key at {signing_key_path(rt.settings)}")
    assert "CXGOV_AUDIT_SEAL_KEY" in audit_seal_env(rt.settings)  # the workers seal
    assert writer_key(rt, embedded=True) is None  # the next start finds it


def test_a_configured_database_gets_a_warning_not_a_key(make: Make) -> None:
    rt = make()
    note = writer_key(rt, embedded=False)
    assert note is not None and note.startswith("warning: no signing key at ")
    assert "writes are not sealed" in note and "CXGOV_AUDIT_SIGNING_KEY" in note
    assert not signing_key_path(rt.settings).exists()


def test_a_log_signed_by_another_key_is_never_given_a_new_one(make: Make) -> None:
    rt = make()
    other = Ed25519PrivateKey.generate()
    signed = issue_checkpoint(rt.app, other)
    here = make("elsewhere")  # the same log, another data folder: no key file there
    note = writer_key(here, embedded=True)
    assert note is not None and note.startswith("warning: ")
    assert f"signed by key {signed.key_id}" in note
    assert not signing_key_path(here.settings).exists()
