"""`cxgov serve`, `cxgov token` and the demo personas (mounted in governance/cli.py)."""

from __future__ import annotations

import json
import os
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import jwt
import typer

from governance.company import CompanyFile
from governance.principal import AUDITOR, CX_EXEC, FINANCE, INGEST, PNL_OWNER, ROLES
from governance.settings import Settings, get_settings

#: The uvicorn factory that builds the API in each worker (imported by name: the API layer
#: sits above governance, so governance never imports it).
APP_FACTORY = "api.app:serve"
SECRET_BYTES = 32


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

    from governance.cli_common import runtime

    runtime().close()  # refuse an unreachable database or an unmigrated schema in one line

    uvicorn.run(APP_FACTORY, factory=True, host=host, port=port, workers=workers,
                proxy_headers=False, server_header=False)


def token_command(sub: str, role: list[str], pnl: list[str] | None = None, name: str = "",
                  ttl: int = 3600) -> None:
    """Print an embedded-mode (HS256) bearer token for a subject with roles and P&Ls."""
    unknown = sorted(set(role) - set(ROLES))
    if unknown:
        raise typer.BadParameter(f"unknown role {', '.join(unknown)}; choose from "
                                 f"{', '.join(ROLES)}", param_hint="--role")
    typer.echo(mint(Persona(sub, name or sub, tuple(role), tuple(pnl or ())), ttl=ttl))


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
