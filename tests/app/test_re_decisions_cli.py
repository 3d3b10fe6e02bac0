"""`cxgov carry-over` and `cxgov metrics retarget|targets` on one in-memory Harborview runtime
(the commands' own `runtime()` is pointed at it, so consecutive invocations share the log)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal

import pytest

from governance.bootstrap import Runtime
from tests.api.conftest import cli_harborview, cxgov
from tests.builders import CX_CHIEF, FINANCE_LEAD, M


@pytest.fixture
def rt(monkeypatch: pytest.MonkeyPatch) -> Iterator[Runtime]:
    yield from cli_harborview(monkeypatch)



def test_carry_over_from_the_command_line(rt: Runtime) -> None:
    gov = rt.app
    original = gov.initiative_id("FY2027", "I01")
    gov.decide(CX_CHIEF, initiative_id=original, outcome="defer", rationale="next year")
    gov.open_period(FINANCE_LEAD, code="FY2028", currency="USD", opex_total=1000 * M,
                    cap_percent=Decimal(10))

    code, out = cxgov("carry-over", "FY2027", "I01", "--to", "FY2028", "--reason",
                      "still needed", "--cost", "4000000", "--as", "cx.deputy")

    assert code == 0, out
    assert "(submitted)" in out and gov.initiative(original).status == "carried_over"
    successor = gov.initiative(gov.initiative_id("FY2028", "I01"))
    assert (successor.carried_from, successor.cost) == ("FY2027/I01", 4 * M)
    assert successor.submitted_by == "cxgov|cx.deputy"
    again, out = cxgov("carry-over", "FY2027", "I01", "--to", "FY2028", "--reason", "again",
                       "--code", "I77")
    assert again == 1 and "[state.invalid_transition]" in out


def test_retarget_and_the_history_from_the_command_line(rt: Runtime) -> None:
    before = rt.app.position()
    code, out = cxgov("metrics", "retarget", "M1", "--target", "36", "--target-date",
                      "2028-06-30", "--reason", "core banking first")
    assert code == 0, out
    assert rt.app.metric("M1").target == 36
    code, out = cxgov("metrics", "targets", "M1")
    assert code == 0, out
    lines = out.splitlines()
    assert lines[0].startswith("v1 definition") and "target       24" in lines[0]
    assert lines[1].startswith("v2 retarget") and "core banking first" in lines[1]
    code, out = cxgov("metrics", "targets", "M1", "--as-of", str(before), "--json")
    assert code == 0, out
    assert [t["target"] for t in json.loads(out)] == ["24"]
    code, out = cxgov("metrics", "targets", "M1", "--period", "FY2027", "--json")
    assert code == 0 and [t["version"] for t in json.loads(out)] == [1, 2]


@pytest.mark.parametrize(("args", "message"), [
    (("metrics", "retarget", "M1", "--reason", "nothing"), "[validation.invalid]"),
    (("metrics", "retarget", "M1", "--target", "x", "--reason", "r"), "--target must be"),
    (("metrics", "retarget", "M1", "--target-date", "soon", "--reason", "r"),
     "--target-date must be"),
    (("metrics", "retarget", "M99", "--target", "1", "--reason", "r"), "[metric.not_found]"),
    (("metrics", "targets", "M99"), "no metric M99"),
])
def test_refusals_exit_1_with_the_code_and_write_nothing(rt: Runtime, args: tuple[str, ...],
                                                          message: str) -> None:
    before = rt.app.position()
    code, out = cxgov(*args)
    assert code == 1 and message in out
    assert rt.app.position() == before
