"""`cxgov departments map|list|show` on one in-memory Harborview runtime (the commands' own
`runtime()` is pointed at it, so consecutive invocations share the log)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from governance.bootstrap import Runtime
from tests.api.conftest import cli_harborview, cxgov


@pytest.fixture
def rt(monkeypatch: pytest.MonkeyPatch) -> Iterator[Runtime]:
    yield from cli_harborview(monkeypatch)



def test_map_list_and_show_departments_from_the_command_line(rt: Runtime) -> None:
    code, out = cxgov("departments", "list")
    assert code == 0 and "Onboarding Operations: 3 operational metric(s) serving M1, M6" in out
    before = rt.app.position()
    code, out = cxgov("departments", "map", "M9", "--operational",
                      "Repeat contacts in 7 days | contact centre CRM | share per month | "
                      "Service Quality")
    assert code == 0 and out.startswith("written:"), out
    code, out = cxgov("departments", "show", "service quality")
    assert code == 0, out
    assert out.splitlines()[0] == "Service Quality"
    assert "M9" in out and "Repeat contacts in 7 days (share per month; source contact " \
        "centre CRM)" in out
    code, out = cxgov("departments", "show", "Service Quality", "--as-of", str(before))
    assert code != 0 and "[department.not_found]" in out
    code, out = cxgov("departments", "list", "--as-of", str(before), "--json")
    assert code == 0
    assert "Service Quality" not in [d["department"] for d in json.loads(out)]
    code, out = cxgov("departments", "map", "M9", "--operational", "only | three | parts")
    assert code != 0 and "NAME | SOURCE | AGGREGATION | DEPARTMENT" in out
    code, out = cxgov("departments", "map", "M9", "--operational", "a | b | c | \u202eX")
    assert code != 0 and "[validation.invalid]" in out
