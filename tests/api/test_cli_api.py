"""`cxgov token` and the demo personas: tokens the API accepts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.auth import verifier_from_settings
from governance.entrypoints.cli import app, bundled_company
from governance.entrypoints.serve import token_command
from governance.identity import demo_personas, load_or_create_secret, mint
from governance.settings import get_settings


@pytest.fixture
def embedded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Settings with a fresh data folder and no configured secret."""
    monkeypatch.setenv("CXGOV_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("CXGOV_JWT_SECRET", raising=False)
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def test_a_printed_token_verifies_as_its_principal(embedded: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    token_command("rb.owner", ["pnl_owner"], ["RB"], "Rita", 600)
    principal = verifier_from_settings(get_settings()).verify(capsys.readouterr().out.strip())
    assert (principal.actor, principal.roles, principal.pnls, principal.name) == (
        "cxgov|rb.owner", frozenset({"pnl_owner"}), frozenset({"RB"}), "Rita")


def test_the_generated_secret_is_private_and_stable(embedded: Path) -> None:
    first = load_or_create_secret(embedded / "jwt-secret")
    assert load_or_create_secret(embedded / "jwt-secret") == first
    assert (embedded / "jwt-secret").stat().st_mode & 0o777 == 0o600


def test_the_demo_has_every_role_and_one_owner_per_harborview_pnl(embedded: Path) -> None:
    company = bundled_company()
    personas = demo_personas([p.code for p in company.pnls], company.cx_sponsor)
    owners = {p.sub: p.pnls for p in personas if p.roles == ("pnl_owner",)}
    verifier = verifier_from_settings(get_settings())
    assert owners == {"rb.owner": ("RB",), "wm.owner": ("WM",), "ins.owner": ("INS",),
                      "sbs.owner": ("SBS",)}
    assert "cx.architect" in {p.sub for p in personas}
    assert {r for p in personas for r in p.roles} == {
        "finance", "cx_exec", "pnl_owner", "ingest", "auditor"}
    assert sum(p.roles == ("cx_exec",) for p in personas) == 3
    assert all(verifier.verify(mint(p)).subject == p.sub for p in personas)


def test_the_documented_option_form_of_cxgov_token_works(embedded: Path) -> None:
    result = CliRunner().invoke(app, ["token", "--sub", "rb.owner", "--role", "pnl_owner",
                                      "--pnl", "RB", "--name", "Rita", "--ttl", "600"])
    assert result.exit_code == 0, result.output
    principal = verifier_from_settings(get_settings()).verify(result.output.strip())
    assert (principal.subject, principal.roles, principal.pnls) == (
        "rb.owner", frozenset({"pnl_owner"}), frozenset({"RB"}))
    refused = CliRunner().invoke(app, ["token", "--sub", "x", "--role", "root"])
    assert refused.exit_code != 0 and "unknown role root" in refused.output
