"""`cxgov serve`, `cxgov token`, `cxgov sign-in-link` and the demo personas (mounted in
governance/entrypoints/cli.py)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import timedelta
from typing import Annotated

import typer

from governance.identity import LINK_PURPOSE, Persona, demo_personas, mint
from governance.principal import ROLES
from governance.settings import get_settings

#: The default lifetime of a one-time sign-in link (`cxgov sign-in-link`), in minutes.
LINK_MINUTES = 10


def app_factory() -> str:
    """The import string of the API's app factory (`api.app.serve`) for uvicorn, whose worker
    processes import it by name. Taken from the function itself, so a rename cannot leave a
    stale string: the one import of the API by the application layer, declared as such in
    pyproject.toml's import contracts."""
    from api.app import serve

    return f"{serve.__module__}:{serve.__qualname__}"


def serve_command(host: str = "127.0.0.1", port: int = 8000, workers: int = 2) -> None:
    """Run the HTTP API with uvicorn, several worker processes, via the app factory."""
    import uvicorn

    from governance.entrypoints.common import runtime

    runtime().close()  # refuse an unreachable database or an unmigrated schema in one line

    uvicorn.run(app_factory(), factory=True, host=host, port=port, workers=workers,
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


def personas_json(ttl: int = 8 * 3600) -> str:
    """The demo personas with fresh tokens, as JSON (for `cxgov demo`)."""
    return json.dumps([{"sub": p.sub, "name": p.name, "roles": list(p.roles),
                        "pnls": list(p.pnls), "token": mint(p, ttl=ttl)}
                       for p in demo_personas()], indent=2)
