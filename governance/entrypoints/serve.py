"""`cxgov serve`, `cxgov token`, `cxgov sign-in-link` and the demo personas (mounted in
governance/entrypoints/cli.py)."""

from __future__ import annotations

import json
import os
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import jwt
import typer

from governance.entrypoints.company import CompanyFile
from governance.principal import AUDITOR, CX_EXEC, FINANCE, INGEST, PNL_OWNER, ROLES
from governance.settings import Settings, get_settings

#: The uvicorn factory that builds the API in each worker (imported by name: the API layer
#: sits above governance, so governance never imports it).
APP_FACTORY = "api.app:serve"
SECRET_BYTES = 32
#: One-time sign-in links (`cxgov sign-in-link`): their ticket purpose and default lifetime.
LINK_PURPOSE = "link"
LINK_MINUTES = 10


@dataclass(frozen=True)
class Persona:
    """A demo user: the claims of its token."""

    sub: str
    name: str
    roles: tuple[str, ...]
    pnls: tuple[str, ...] = ()


def serve_command(host: str = "127.0.0.1", port: int = 8000, workers: int = 2) -> None:
    """Run the HTTP API with uvicorn, several worker processes, via the app factory."""
    import uvicorn

    from governance.entrypoints.common import runtime

    runtime().close()  # refuse an unreachable database or an unmigrated schema in one line

    uvicorn.run(APP_FACTORY, factory=True, host=host, port=port, workers=workers,
                proxy_headers=False, server_header=False)


def token_command(
    sub: Annotated[str, typer.Option("--sub", help="The subject (user or service id).")],
    role: Annotated[list[str], typer.Option(
        "--role", help=f"A role ({', '.join(ROLES)}); repeat for several.")],
    pnl: Annotated[list[str] | None, typer.Option(
        "--pnl", help="A P&L code the subject owns; repeat for several.")] = None,
    name: Annotated[str, typer.Option(help="Display name (default: the subject).")] = "",
    ttl: Annotated[int, typer.Option(help="Lifetime in seconds.", min=60, max=86_400)] = 3600,
) -> None:
    """Print an embedded-mode (HS256) bearer token for a subject with roles and P&Ls."""
    _check_roles(role)
    typer.echo(mint(Persona(sub, name or sub, tuple(role), tuple(pnl or ())), ttl=ttl))


def _check_roles(role: Sequence[str]) -> None:
    unknown = sorted(set(role) - set(ROLES))
    if unknown or not role:
        raise typer.BadParameter(f"unknown role {', '.join(unknown)}; choose from "
                                 f"{', '.join(ROLES)}", param_hint="--role")


def sign_in_link_command(
    sub: Annotated[str, typer.Argument(help="The person's subject (user id).")],
    role: Annotated[list[str], typer.Option(
        "--role", help=f"A role ({', '.join(ROLES)}); repeat for several.")],
    pnl: Annotated[list[str] | None, typer.Option(
        "--pnl", help="A P&L code the person owns; repeat for several.")] = None,
    name: Annotated[str, typer.Option(help="Display name (default: the subject).")] = "",
    base_url: Annotated[str, typer.Option(
        help="The dashboard's address as the person's browser reaches it.")] = (
        "http://127.0.0.1:8000"),
    minutes: Annotated[int, typer.Option(
        help="Minutes until the link expires.", min=1, max=60)] = LINK_MINUTES,
) -> None:
    """Print a one-time dashboard sign-in link for a named person (embedded mode): it works
    once, within --minutes, and starts a dashboard session with these roles and P&Ls."""
    from governance.entrypoints.common import fail, runtime
    from governance.stores.sessions import Claims, sessions_of

    _check_roles(role)
    settings = get_settings()
    if settings.jwt_jwks_url:
        raise fail("with an identity provider (CXGOV_JWT_JWKS_URL) people sign in through it")
    with runtime() as rt:
        if rt.database_url is None:
            raise fail("sign-in links are kept in PostgreSQL: the in-memory store cannot "
                       "share them with a server")
        claims = Claims(sub, name or sub, tuple(role), tuple(pnl or ()), settings.jwt_issuer)
        code = sessions_of(rt).issue(LINK_PURPOSE, claims.to_dict(),
                                     ttl=timedelta(minutes=minutes))
    typer.echo(f"{base_url.rstrip('/')}/dashboard/sign-in/{code}")


def mint(persona: Persona, *, ttl: int = 3600) -> str:
    """An embedded-mode token for a persona, signed with this installation's secret."""
    settings = get_settings()
    return mint_token(embedded_secret(settings), sub=persona.sub, roles=persona.roles,
                      pnls=persona.pnls, name=persona.name, issuer=settings.jwt_issuer,
                      audience=settings.jwt_audience, ttl=ttl)


def mint_token(secret: str, *, sub: str, roles: Sequence[str], pnls: Sequence[str] = (),
               name: str = "", issuer: str = "cxgov", audience: str = "cxgov-api",
               ttl: int = 3600) -> str:
    """An embedded-mode HS256 bearer token."""
    now = int(time.time())
    claims = {"sub": sub, "name": name or sub, "roles": list(roles), "pnls": list(pnls),
              "iss": issuer, "aud": audience, "iat": now, "nbf": now, "exp": now + ttl}
    return jwt.encode(claims, secret, algorithm="HS256")


def load_or_create_secret(path: Path) -> str:
    """The embedded signing secret, generated once into `path` with mode 0600."""
    if path.is_file():
        return path.read_text(encoding="utf-8").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it first: use theirs
        return path.read_text(encoding="utf-8").strip()
    secret = secrets.token_urlsafe(SECRET_BYTES)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(secret)
    return secret


def embedded_secret(settings: Settings) -> str:
    """The HS256 secret of embedded mode (setting, else the generated file)."""
    if settings.jwt_secret is not None:
        return settings.jwt_secret.get_secret_value()
    return load_or_create_secret(settings.jwt_secret_file or settings.data_dir / "jwt-secret")


def demo_personas(company: CompanyFile | None = None) -> list[Persona]:
    """Finance, two CX execs, the CX architect sponsor, one owner per P&L, audit, ingest."""
    pnls = [p.code for p in company.pnls] if company else ["RB", "WM", "INS", "SBS"]
    sponsor = company.cx_sponsor if company else "cx.architect"
    return [
        Persona("finance.lead", "Finance lead", (FINANCE,)),
        Persona("cx.chief", "Chief customer officer", (CX_EXEC,)),
        Persona("cx.deputy", "Deputy CX executive", (CX_EXEC,)),
        Persona(sponsor, "CX architect (cross-P&L sponsor)", (CX_EXEC,)),
        *(Persona(f"{code.lower()}.owner", f"{code} P&L owner", (PNL_OWNER,), (code,))
          for code in pnls),
        Persona("auditor", "Internal audit", (AUDITOR,)),
        Persona("ingest.bot", "Metrics ingest service", (INGEST,)),
    ]


def personas_json(ttl: int = 8 * 3600) -> str:
    """The demo personas with fresh tokens, as JSON (for `cxgov demo`)."""
    return json.dumps([{"sub": p.sub, "name": p.name, "roles": list(p.roles),
                        "pnls": list(p.pnls), "token": mint(p, ttl=ttl)}
                       for p in demo_personas()], indent=2)
