"""Read-access rules: who reads which read-model rows. Enforced here, never in routes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from domain.initiative import UNDECIDED
from governance.access import require_role
from governance.principal import AUDITOR, CX_EXEC, FINANCE, PNL_OWNER, Principal

#: Roles that see every initiative, decided or not.
SEE_ALL_INITIATIVES = (CX_EXEC, AUDITOR, FINANCE)


def require_audit_reader(principal: Principal) -> None:
    """Only auditors and CX executives read the raw event stream and decision records."""
    require_role(principal, AUDITOR, CX_EXEC, action="reading the audit trail")


def require_policy_previewer(principal: Principal) -> None:
    """What-if previews of draft scoring terms are for CX executives."""
    require_role(principal, CX_EXEC, action="previewing a scoring policy")


def sees_initiative(principal: Principal, row: Mapping[str, Any]) -> bool:
    """Undecided initiatives are visible to their P&L's owners and their submitter only.

    Decided ones (approved, rejected, withdrawn ...) are visible to every caller.
    """
    if row.get("status") not in UNDECIDED or principal.has(*SEE_ALL_INITIATIVES):
        return True
    if principal.has(PNL_OWNER) and row.get("pnl") in principal.pnls:
        return True
    return row.get("submitted_by") == principal.actor


def visible_initiatives(principal: Principal,
                        rows: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The rows of a list the principal may see."""
    return [row for row in rows if sees_initiative(principal, row)]
