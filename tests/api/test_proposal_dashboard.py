"""Proposed weights on the dashboard (issue 15, parts 4 and 5; decision 160): on the demo
company, the drivers page and the job map link a CX executive to the period's ranking under
the proposed weights beside the ranking in force (moves up and down, crossings of the cut
line), with nothing written; a separate form adopts them as the next policy version, refused
in plain words (nothing written) when the rationale is missing or the proposal has changed."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from governance.bootstrap import Runtime
from governance.entrypoints.cli import bundled_company
from governance.entrypoints.demo_history import apply_history
from governance.principal import CX_EXEC, FINANCE
from tests.api.conftest import auth, harborview_runtime
from tests.api.test_loop_dashboard_forms import post
from tests.api.test_loop_http import cookie
from tests.api.test_policy_dashboard import _labelled
from tests.api.test_re_decisions_dashboard import csrf_of

CX = auth("cx.chief", CX_EXEC)


@pytest.fixture
def demo() -> Iterator[tuple[TestClient, Runtime]]:
    runtime = harborview_runtime()
    apply_history(runtime.app, bundled_company())
    with TestClient(create_app(runtime), raise_server_exceptions=False) as client:
        yield client, runtime
    runtime.close()


def link_of(page: str) -> str:
    found = re.search(r'<a href="([^"]+)" id="preview-link">', page)
    assert found is not None, "no preview link"
    return html.unescape(found.group(1))


def ranks(client: TestClient) -> dict[str, tuple[int, bool]]:
    got = client.get("/v1/periods/FY2027/ranking", headers=CX)
    assert got.status_code == 200, got.text
    return {r["code"]: (r["rank"], r["above_cut_line"]) for r in got.json()["items"]}


def test_drivers_weights_are_previewed_then_adopted_as_a_new_version(
    demo: tuple[TestClient, Runtime],
) -> None:
    client, runtime = demo
    cx = cookie(runtime, CX_EXEC)
    drivers = client.get("/dashboard/drivers?metric=NPS", headers=cx)
    assert drivers.status_code == 200
    link = link_of(drivers.text)
    assert link.startswith("/dashboard/policy/proposal?source=drivers&metric=NPS")
    api = client.get("/v1/metrics/NPS/drivers", headers=CX).json()
    weights = api["item"]["proposed_weights"]
    assert weights

    before, start = ranks(client), runtime.app.position()
    shown = client.get(link + "&period=FY2027", headers=cx)
    assert shown.status_code == 200, shown.text
    _labelled(shown.text)
    assert runtime.app.position() == start  # a preview writes nothing
    expected = client.post(
        "/v1/scoring-policy/preview", headers=CX, json={"period": "FY2027", "weights": weights}
    ).json()["items"]  # the API's use case
    table = shown.text[shown.text.index('id="ranking-compared"') :]
    cells = re.findall(
        r'<tr class="[a-z]*"><td class="num">(\d+)</td><td class="num">(\d+)'
        r'</td>\s*<td>(?:[▲▼] )?([a-z 0-9]+)</td>\s*<th scope="row">(\w+) ',
        table,
    )
    assert [(int(r), c) for r, _, _, c in cells] == [(e["rank"], e["code"]) for e in expected]
    for rank, was, word, code in cells:  # each move against the ranking in force
        moved = before[code][0] - int(rank)
        assert int(was) == before[code][0]
        assert word == ("same" if moved == 0 else f"up {moved}" if moved > 0 else f"down {-moved}")
    assert any(w.startswith("up") for *_, w, _ in cells)
    assert any(w.startswith("down") for *_, w, _ in cells)
    crossed = [e["code"] for e in expected if before[e["code"]][1] and not e["above_cut_line"]]
    assert crossed and all(
        re.search(rf"{c} [^<]*</th>.*?\(drops below the cut line\)", table, re.S) for c in crossed
    )
    assert 'id="adopt-form"' in shown.text and "Adopt these weights" in shown.text
    # the preview is of the present: no as-of box that would drop its source
    assert 'class="asof"' not in shown.text and 'class="asof"' in drivers.text
    token = csrf_of(shown.text)

    # finance: no link, no preview, and its adoption is refused; nothing written
    finance = cookie(runtime, FINANCE)
    theirs = client.get("/dashboard/drivers?metric=NPS", headers=finance)
    assert theirs.status_code == 200 and 'id="preview-link"' not in theirs.text
    assert client.get(link, headers=finance).status_code == 403
    text = ",".join(f"{k}={v}" for k, v in sorted(weights.items()))
    form = {"source": "drivers", "metric": "NPS", "weights": text, "period": "FY2027"}
    status, _ = post(
        client,
        "/dashboard/policy/proposal",
        finance,
        {**form, "csrf": csrf_of(theirs.text), "rationale": "x"},
    )
    assert status == 403 and runtime.app.position() == start

    # refusals in plain words, input kept, nothing written
    status, page = post(
        client, "/dashboard/policy/proposal", cx, {**form, "csrf": token, "rationale": ""}
    )
    assert status == 422 and 'id="adopt-error" role="alert">Not adopted:' in page
    status, page = post(
        client,
        "/dashboard/policy/proposal",
        cx,
        {**form, "weights": "M1=100", "csrf": token, "rationale": "kept"},
    )
    assert status == 422 and "changed since the preview" in page and "kept</textarea>" in page
    status, _ = post(client, "/dashboard/policy/proposal", cx, {**form, "rationale": "no token"})
    assert status == 403
    assert runtime.app.position() == start and ranks(client) == before

    # adopted: version 2 with the proposed weights; the ranking is the previewed one
    status, page = post(
        client,
        "/dashboard/policy/proposal",
        cx,
        {**form, "csrf": token, "rationale": "NPS drivers, Q3 review"},
    )
    assert status == 200, page
    assert "Recorded — new version with proposed weights." in page
    assert "Version 2" in page
    policy = client.get("/v1/scoring-policy", headers=CX).json()["item"]
    assert policy["version"] == 2 and policy["terms"]["weights"] == weights
    assert policy["rationale"] == "NPS drivers, Q3 review"
    after = ranks(client)
    assert after != before
    assert {c: r for c, (r, _) in after.items()} == {e["code"]: e["rank"] for e in expected}


def test_the_job_map_proposes_weights_to_preview(demo: tuple[TestClient, Runtime]) -> None:
    client, runtime = demo
    cx = cookie(runtime, CX_EXEC)
    empty = client.get("/dashboard/policy/proposal?source=jobs", headers=cx)
    assert empty.status_code == 200 and 'id="no-proposal"' in empty.text
    assert 'id="adopt-form"' not in empty.text
    for code, metric in (("J1", "M1"), ("J2", "M5")):
        made = client.post(
            "/v1/jobs",
            headers=CX,
            json={
                "code": code,
                "statement": f"Get {metric} done",
                "importance": "9",
                "satisfaction": "3",
                "metrics": [metric],
            },
        )
        assert made.status_code == 201, made.text
    jobs = client.get("/dashboard/jobs", headers=cx)
    link = link_of(jobs.text)
    assert link == "/dashboard/policy/proposal?source=jobs"
    start = runtime.app.position()
    shown = client.get(link, headers=cx)
    assert shown.status_code == 200, shown.text
    assert (
        'id="ranking-compared"' in shown.text and 'name="weights" value="M1=50,M5=50"' in shown.text
    )
    assert runtime.app.position() == start


def test_an_unknown_driver_or_source_proposes_nothing(demo: tuple[TestClient, Runtime]) -> None:
    client, runtime = demo
    cx = cookie(runtime, CX_EXEC)
    start = runtime.app.position()
    none = client.get("/dashboard/policy/proposal?source=drivers&metric=NPS&names=ZZ9", headers=cx)
    assert none.status_code == 200 and 'id="no-proposal"' in none.text
    assert client.get("/dashboard/policy/proposal?source=nps", headers=cx).status_code == 422
    assert runtime.app.position() == start
