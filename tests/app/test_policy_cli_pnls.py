"""`cxgov policy adopt` refuses a guardrail naming a P&L not in the register (issue 16,
decision 149), nothing written; "CX" (cross-P&L work) and registered P&Ls are taken."""

from __future__ import annotations

import json

from governance.bootstrap import Runtime
from tests.api.conftest import cxgov
from tests.app.test_policy_cli import rt  # noqa: F401  (the fixture)


def test_an_unknown_pnl_is_refused_from_the_command_line(rt: Runtime) -> None:  # noqa: F811
    before = rt.app.position()
    code, out = cxgov(
        "policy", "adopt", "--rationale", "a cap", "--guardrail", "pnl:ZZ:max_share=0.4"
    )
    assert code != 0 and "[policy.invalid]" in out, out
    assert "guardrail pnl ZZ: no P&L ZZ in the register (P&L CX is cross-P&L work)" in out
    assert rt.app.position() == before
    code, out = cxgov(
        "policy", "adopt", "--rationale", "a cap", "--guardrail", "pnl:WM:max_share=0.4"
    )
    assert code == 0, out
    code, out = cxgov("policy", "show", "--json")
    assert [g["value"] for g in json.loads(out)["terms"]["guardrails"]] == ["WM"], out
