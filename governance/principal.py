"""Who is acting: the authenticated principal and the roles cxgov knows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

FINANCE: Final = "finance"
CX_EXEC: Final = "cx_exec"
PNL_OWNER: Final = "pnl_owner"
INGEST: Final = "ingest"
AUDITOR: Final = "auditor"
ROLES: Final = (FINANCE, CX_EXEC, PNL_OWNER, INGEST, AUDITOR)


@dataclass(frozen=True)
class Principal:
    """An authenticated caller; `actor` is what events record."""

    subject: str
    roles: frozenset[str]
    pnls: frozenset[str] = field(default_factory=frozenset)
    name: str = ""
    issuer: str = "cxgov"

    @property
    def actor(self) -> str:
        """Issuer and subject: unique across identity providers."""
        return f"{self.issuer}|{self.subject}"

    def has(self, *roles: str) -> bool:
        """True when the principal holds any of the roles."""
        return bool(self.roles.intersection(roles))
