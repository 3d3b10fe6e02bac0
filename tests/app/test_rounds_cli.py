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


def test_phase_changes_from_the_command_line(rt: Runtime) -> None:
    """Decision 200: close-intake, reschedule and open-decisions, each with --reason; a
    refusal prints its code and writes nothing; show lists the changes."""
    rt.app.clock = lambda: datetime(2027, 1, 12, 9, tzinfo=UTC)  # in the intake window
    code, out = cxgov("round", "open", "FY2027", "--intake-opens", "2027-01-10T09:00:00Z",
                      "--intake-closes", "2027-01-24T09:00:00Z",
                      "--review-deadline", "2027-01-31T09:00:00Z",
                      "--decision-deadline", "2027-02-07T09:00:00Z")
    assert code == 0, out
    code, out = cxgov("round", "close-intake", "FY2027")
    assert code != 0 and "--reason" in out, out
    before = rt.app.position()
    code, out = cxgov("round", "open-decisions", "FY2027", "--reason", "skip")
    assert code != 0 and "round.change_refused" in out, out
    assert rt.app.position() == before
    code, out = cxgov("round", "close-intake", "FY2027", "--reason", "Every P&L has submitted")
    assert code == 0 and out.startswith("written:"), out
    code, out = cxgov("round", "reschedule", "FY2027", "--reason", "Quotes late",
                      "--review-deadline", "2027-02-03T09:00:00")
    assert code != 0 and "UTC offset" in out, out
    code, out = cxgov("round", "reschedule", "FY2027", "--reason", "Quotes late",
                      "--review-deadline", "2027-02-03T09:00:00Z")
    assert code == 0, out
    rt.app.clock = lambda: datetime(2027, 1, 13, 9, tzinfo=UTC)  # in review
    code, out = cxgov("round", "open-decisions", "FY2027", "--reason", "Board meets early")
    assert code == 0, out
    code, out = cxgov("round", "show", "FY2027", "--json")
    assert code == 0, out
    assert [c["change"] for c in json.loads(out)["changes"]] == [
        "close_intake", "reschedule", "open_decisions"]
    code, out = cxgov("round", "show", "FY2027")
    assert code == 0 and "review   until 2027-01-13T09:00:00+00:00" in out, out
    assert ("(close_intake, in intake): intake_closes 2027-01-24T09:00:00+00:00 -> "
            "2027-01-12T09:00:00+00:00; why: Every P&L has submitted") in out
