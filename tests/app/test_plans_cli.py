"""`cxgov plans save|list|compare|adopt` on one in-memory Harborview runtime (the commands'
own `runtime()` is pointed at it, so consecutive invocations share the log)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from governance.bootstrap import Runtime
from tests.api.conftest import cli_harborview, cxgov


@pytest.fixture
def rt(monkeypatch: pytest.MonkeyPatch) -> Iterator[Runtime]:
    yield from cli_harborview(monkeypatch)



def test_save_compare_and_adopt_plans_from_the_command_line(rt: Runtime) -> None:
    code, out = cxgov("plans", "save", "FY2027", "Value first", "--budget", "120000000")
    assert code == 0 and out.startswith("written:"), out
    before = rt.app.position()
    code, out = cxgov("plans", "save", "FY2027", "Cross-P&L first", "--budget", "120000000",
                      "--force-in", "I23=nobody else funds it",
                      "--force-out", "I07=overlaps a vendor release")
    assert code == 0, out
    code, out = cxgov("plans", "save", "FY2027", "Broken", "--budget", "1",
                      "--force-in", "I23")
    assert code != 0 and "CODE=reason" in out
    code, out = cxgov("plans", "compare", "FY2027", "Value first", "Cross-P&L first")
    assert code == 0, out
    assert "I07: funded by Value first; not by Cross-P&L first" in out
    assert "I23: funded by Cross-P&L first; not by Value first" in out
    code, out = cxgov("plans", "adopt", "FY2027", "cross-p&l first", "--rationale", "board")
    assert code == 0, out
    code, out = cxgov("plans", "list", "FY2027")
    assert code == 0 and out.splitlines()[1].startswith("* Cross-P&L first"), out
    code, out = cxgov("plans", "list", "FY2027", "--as-of", str(before), "--json")
    listed = json.loads(out)
    assert [p["name"] for p in listed["plans"]] == ["Value first"]
    assert listed["plan_of_record"] is None
    code, out = cxgov("plans", "adopt", "FY2027", "Nope", "--rationale", "x")
    assert code != 0 and "[plan.not_found]" in out
