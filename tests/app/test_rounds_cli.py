"""`cxgov round open|mark|show` on one in-memory Harborview runtime (the commands' own
`runtime()` is pointed at it, so consecutive invocations share the log)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from governance.bootstrap import Runtime
from tests.api.conftest import cli_harborview, cxgov


@pytest.fixture
def rt(monkeypatch: pytest.MonkeyPatch) -> Iterator[Runtime]:
    yield from cli_harborview(monkeypatch)



def test_open_mark_and_show_a_round_from_the_command_line(rt: Runtime) -> None:
    rt.app.clock = lambda: datetime(2027, 1, 20, tzinfo=UTC)  # in the intake window
    code, out = cxgov("round", "show", "FY2027")
    assert code == 0 and "runs no funding round" in out, out
    before = rt.app.position()
    code, out = cxgov("round", "open", "FY2027", "--intake-opens", "2027-01-10T09:00:00Z",
                      "--intake-closes", "2027-01-24T09:00:00Z",
                      "--review-deadline", "2027-01-31T09:00:00Z",
                      "--decision-deadline", "2027-02-07T09:00:00Z")
    assert code == 0 and out.startswith("written:"), out
    code, out = cxgov("round", "open", "FY2027", "--intake-opens", "2027-01-10",
                      "--intake-closes", "2027-01-24T09:00:00Z",
                      "--review-deadline", "2027-01-31T09:00:00Z",
                      "--decision-deadline", "2027-02-07T09:00:00Z")
    assert code != 0 and "UTC offset" in out, out
    code, out = cxgov("round", "mark", "FY2027", "I01", "--verdict", "needs_information")
    assert code != 0 and "validation.invalid" in out, out
    code, out = cxgov("round", "mark", "FY2027", "I01", "--verdict", "needs_information",
                      "--note", "Which vendor?")
    assert code == 0, out
    code, out = cxgov("round", "show", "FY2027")
    assert code == 0 and "intake   2027-01-10T09:00:00+00:00" in out, out
    assert "I01    needs_information: Which vendor?" in out
    code, out = cxgov("round", "show", "FY2027", "--as-of", str(before), "--json")
    assert code == 0 and json.loads(out) is None, out
