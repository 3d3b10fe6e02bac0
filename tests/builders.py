"""Builders for tests: principals, proposals and a small world on any store."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID

import pytest

from domain.initiative import Proposal
from domain.policy import PolicyTerms
from domain.values import ImpactClaim
from governance.app import Governance
from governance.principal import AUDITOR, CX_EXEC, FINANCE, INGEST, PNL_OWNER, Principal

T = TypeVar("T")

M = Decimal(1_000_000)


def harborview_path() -> Path:
    """The demo company file as the package ships it (governance/data/harborview.json, read
    through importlib.resources as the CLI's `bundled_company` does); missing fails, never skips."""
    packaged = resources.files("governance").joinpath("data", "harborview.json")
    if not isinstance(packaged, Path) or not packaged.is_file():
        pytest.fail(f"the packaged demo company is missing: {packaged}")
    return packaged


def person(subject: str, *roles: str, pnls: tuple[str, ...] = ()) -> Principal:
    """A principal with roles (and P&Ls for owners)."""
    return Principal(subject=subject, roles=frozenset(roles), pnls=frozenset(pnls), issuer="test")


FINANCE_LEAD = person("fiona", FINANCE)
CX_CHIEF = person("chris", CX_EXEC)
CX_DEPUTY = person("dana", CX_EXEC)
RB_OWNER = person("rob", PNL_OWNER, pnls=("RB",))
INS_OWNER = person("ines", PNL_OWNER, pnls=("INS",))
INGESTER = person("bot", INGEST)
AUDITOR_ONE = person("alex", AUDITOR)


def proposal(
    *,
    title: str = "Faster account opening",
    cost_m: str = "5",
    confidence: str = "0.8",
    impacts: tuple[tuple[str, str, str], ...] = (("M1", "48", "0.7"),),
    dependencies: tuple[str, ...] = (),
    mandatory: bool = False,
    mandate_reason: str | None = None,
    scenario: str | None = "S1",
) -> Proposal:
    """A valid proposal with overridable fields (cost in millions)."""
    return Proposal(
        title=title,
        problem="Customers wait days.",
        scenario=scenario,
        touchpoints=("Mobile", "Web"),
        functional_areas=("Onboarding ops", "IT"),
        cost=Decimal(cost_m) * M,
        confidence=Decimal(confidence),
        expected_impacts=tuple(
            ImpactClaim(m, Decimal(v), Decimal(r)) for m, v, r in impacts
        ),
        dependencies=dependencies,
        mandatory=mandatory,
        mandate_reason=mandate_reason,
    )


class World:
    """A period FY2027 with a 100 M pool, P&Ls RB and INS, metrics M1 and M2, policy v1."""

    period = "FY2027"

    def __init__(self, gov: Governance, *, opex_m: str = "1000", four_eyes_m: str = "10") -> None:
        self.gov = gov
        gov.open_period(FINANCE_LEAD, code=self.period, currency="USD",
                        opex_total=Decimal(opex_m) * M, cap_percent=Decimal(10))
        gov.register_pnl(FINANCE_LEAD, code="RB", name="Retail Banking", owners=["rob"])
        gov.register_pnl(FINANCE_LEAD, code="INS", name="Insurance", owners=["ines"])
        gov.define_scenario(CX_CHIEF, code="S1", name="Open an account", pnl="RB")
        gov.define_metric(CX_CHIEF, code="M1", customer_phrasing="Usable account within a day",
                          operational_metric="Median hours to first transaction", unit="hours",
                          direction="decrease", baseline=Decimal(120), target=Decimal(24),
                          scenario="S1", pnl="RB")
        gov.define_metric(CX_CHIEF, code="M2", customer_phrasing="One contact fixes it",
                          operational_metric="First contact resolution", unit="%",
                          direction="increase", baseline=Decimal(68), target=Decimal(85))
        gov.adopt_policy(CX_CHIEF, terms=PolicyTerms(weights={"M1": 60, "M2": 40},
                                                     four_eyes_threshold=Decimal(four_eyes_m) * M),
                         rationale="test policy")

    def submit(self, code: str, *, by: Principal = RB_OWNER, pnl: str | None = "RB",
               kind: str = "pnl", **fields: Any) -> UUID:
        """Submit an initiative with a proposal built from `fields`."""
        written = self.gov.submit_initiative(by, period=self.period, kind=kind, pnl=pnl,
                                             proposal=proposal(**fields), code=code)
        return written.id

    def status(self, initiative_id: UUID) -> str:
        """The initiative's lifecycle status."""
        return self.gov.initiative(initiative_id).status


def rejected_without_writing(gov: Governance, error: type[Exception],
                             command: Callable[[], T]) -> Exception:
    """Run a command that must fail with `error` and leave the log exactly as it was."""
    before = gov.position()
    with pytest.raises(error) as caught:
        command()
    assert gov.position() == before, "a rejected command wrote an event"
    return caught.value
