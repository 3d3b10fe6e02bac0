"""Issue 17: on dashboard addresses a 404 or 422 is an HTML page (an unknown period named, with
the periods on record); API routes keep application/problem+json."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.web.session import COOKIE
from governance.bootstrap import Runtime
from governance.stores.sessions import Claims, sessions_of
from tests.api.conftest import auth


@pytest.fixture
def auditor(runtime: Runtime) -> Iterator[TestClient]:
    """A client with an auditor's dashboard session."""
    session = sessions_of(runtime).start(
        Claims("audit.one", "Auditor", ("auditor",), (), "cxgov"),
        idle=timedelta(minutes=5), lifetime=timedelta(minutes=5))
    with TestClient(create_app(runtime), raise_server_exceptions=False,
                    cookies={COOKIE: session}) as client:
        yield client


@pytest.mark.parametrize(("path", "status", "says"), [
    ("/dashboard/no-such-page", 404, "There is no dashboard page at /dashboard/no-such-page"),
    ("/dashboard/initiatives/not-an-id", 422, "initiative_id"),
    ("/dashboard/audit?show=everything", 422, "show"),
    ("/dashboard?period=FY1999", 404, "There is no period FY1999."),
    ("/dashboard/desk?period=FY1999", 404, "There is no period FY1999."),
    ("/dashboard?period=FY1999&as_of=3", 404, "There is no period FY1999 as of log position 3"),
])
def test_a_dashboard_error_is_an_html_page(auditor: TestClient, path: str, status: int,
                                           says: str) -> None:
    answer = auditor.get(path)
    assert answer.status_code == status
    assert answer.headers["content-type"].startswith("text/html")
    assert says in answer.text
    assert 'aria-label="Dashboard"' in answer.text  # the signed-in header, not a bare page


def test_an_unknown_period_page_links_the_periods_on_record(auditor: TestClient) -> None:
    answer = auditor.get("/dashboard/scorecard?period=FY1999")
    assert answer.status_code == 404
    assert 'href="/dashboard/scorecard?period=FY2027"' in answer.text


def test_a_known_period_and_no_period_still_show_the_page(auditor: TestClient) -> None:
    assert auditor.get("/dashboard?period=FY2027").status_code == 200
    assert auditor.get("/dashboard").status_code == 200


def test_signed_out_a_dashboard_404_is_a_page_too(client: TestClient) -> None:
    answer = client.get("/dashboard/no-such-page")
    assert answer.status_code == 404 and answer.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize(("path", "status", "code"), [
    ("/v1/no-such-route", 404, "route.not_found"),
    ("/v1/initiatives/not-an-id", 422, "validation.request"),
])
def test_api_routes_keep_problem_json(auditor: TestClient, path: str, status: int,
                                      code: str) -> None:
    answer = auditor.get(path, headers=auth("audit.one", "auditor"))
    assert answer.status_code == status
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["code"] == code
