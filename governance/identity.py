"""Who someone is: minting and checking the embedded mode's tokens, its signing secret, the
demo personas, and the ticket purpose of one-time sign-in links. Used by the CLI
(governance/entrypoints/) and the API (api/auth.py, api/web/) alike."""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import jwt

from governance.principal import AUDITOR, CX_EXEC, FINANCE, INGEST, PNL_OWNER
from governance.settings import Settings, get_settings

SECRET_BYTES = 32
#: The ticket purpose of one-time sign-in links (`cxgov sign-in-link`).
LINK_PURPOSE = "link"


@dataclass(frozen=True)
class Persona:
    """A demo user: the claims of its token."""

    sub: str
    name: str
    roles: tuple[str, ...]
    pnls: tuple[str, ...] = ()


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


#: The demo company's P&Ls (governance/data/harborview.json) and its cross-P&L sponsor.
DEMO_PNLS = ("RB", "WM", "INS", "SBS")
DEMO_SPONSOR = "cx.architect"


def demo_personas(pnls: Sequence[str] = DEMO_PNLS,
                  sponsor: str = DEMO_SPONSOR) -> list[Persona]:
    """Finance, two CX execs, the CX architect sponsor, one owner per P&L, audit, ingest."""
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
