"""Access rules: who may run which command. Enforced in governance/, never in routes."""

from __future__ import annotations

from governance.errors import Forbidden
from governance.principal import CX_EXEC, PNL_OWNER, Principal


def require_role(principal: Principal, *roles: str, action: str) -> None:
    """Raise Forbidden unless the principal holds one of the roles."""
    if not principal.has(*roles):
        raise Forbidden(
            f"{action} needs the role {' or '.join(roles)}",
            required_roles=list(roles),
        )


def require_initiative_owner(principal: Principal, *, kind: str, pnl: str | None,
                             action: str) -> None:
    """P&L initiatives belong to their P&L's owners; cross-P&L ones to CX executives."""
    if kind == "pnl":
        if principal.has(PNL_OWNER) and pnl in principal.pnls:
            return
        raise Forbidden(f"{action} is for the owners of P&L {pnl}", pnl=pnl)
    require_role(principal, CX_EXEC, action=action)
