"""The governance application: every use case, on one event store.

Use cases live in governance/usecases/, one module per role that performs them; their
plumbing (the store, the clock, `transact`, queries) in governance/usecases/base.py; the
unit of work each command attempt runs in, in governance/unit_of_work.py; the decision
rules in the domain (domain/decisions.py).
"""

from __future__ import annotations

from domain.initiative import Proposal
from domain.values import ImpactClaim
from governance.unit_of_work import CommandResult
from governance.usecases.audit import AuditUseCases
from governance.usecases.cx_exec import CxExecUseCases
from governance.usecases.feedback import FeedbackUseCases
from governance.usecases.finance import FinanceUseCases
from governance.usecases.ingest import IngestUseCases
from governance.usecases.jobs import JobUseCases
from governance.usecases.loop import LoopUseCases
from governance.usecases.plans import PlanUseCases
from governance.usecases.pnl_owner import OwnerUseCases
from governance.usecases.rounds import RoundUseCases
from governance.usecases.webhooks import WebhookUseCases


class Governance(FinanceUseCases, CxExecUseCases, OwnerUseCases, IngestUseCases,
                 LoopUseCases, WebhookUseCases, PlanUseCases, JobUseCases,
                 FeedbackUseCases, RoundUseCases, AuditUseCases):
    """Commands for finance, CX executives, P&L owners and ingest services."""

    name = "cxgov"  # the library names an application after its class unless told (tables)


__all__ = ["CommandResult", "Governance", "ImpactClaim", "Proposal"]
