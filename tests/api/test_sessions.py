"""Dashboard sign-in and sessions: no credential-free sign-in outside the demo, one-time links,
server-side sessions that sign-out revokes, and CSRF checks on every dashboard POST."""

from __future__ import annotations

import re
import signal
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr, ValidationError
from typer.testing import CliRunner

from api.app import create_app
from governance.bootstrap import Runtime, bootstrap
from governance.entrypoints import cli
from governance.identity import LINK_PURPOSE, mint_token
from governance.settings import Settings, get_settings
from governance.stores.database import connect
from governance.stores.sessions import Claims, MemorySessions, PostgresSessions, sessions_of
from tests.api.conftest import SECRET, auth

START = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)


class Clock:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


def served(runtime: Runtime, **settings: object) -> TestClient:
    """A client of the app over `runtime` with these settings."""
    configured = replace(runtime, settings=runtime.settings.model_copy(update=settings))
    return TestClient(create_app(configured), raise_server_exceptions=False)


@pytest.fixture
def clock(runtime: Runtime) -> Clock:
    """The session store's clock."""
    moved = Clock()
    store = sessions_of(runtime)
    assert isinstance(store, MemorySessions)
    store.clock = moved
    return moved


@pytest.fixture
def demo(runtime: Runtime, clock: Clock) -> Iterator[TestClient]:
    """The app as `cxgov demo` serves it: the persona picker is on."""
    with served(runtime, demo_sign_in=True) as client:
        yield client


@pytest.fixture
def plain(runtime: Runtime, clock: Clock) -> Iterator[TestClient]:
    """The app as `cxgov serve` serves it (embedded HS256 mode, no demo opt-in)."""
    with served(runtime) as client:
        yield client


def csrf_of(html: str) -> str:
    """The CSRF token of the page's forms."""
    found = re.search(r'name="csrf" value="([^"]*)"', html)
    assert found is not None, "the page has no CSRF field"
    return found.group(1)


def sign_in_form(client: TestClient, path: str = "/dashboard/sign-in") -> str:
    """Open a sign-in page (which sets the pre-session cookie); its form token."""
    page = client.get(path)
    assert page.status_code == 200
    return csrf_of(page.text)


def sign_in_as(client: TestClient, persona: str) -> None:
    """Use the demo persona picker."""
    token = sign_in_form(client)
    answer = client.post("/dashboard/sign-in", data={"persona": persona, "csrf": token},
                         follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/dashboard"


def session_cookie(client: TestClient) -> str | None:
    """The session cookie the client holds."""
    found: str | None = client.cookies.get("cxgov_session")
    return found


def home(client: TestClient) -> int:
    """The status of the executive home without following redirects (303: sign in)."""
    status: int = client.get("/dashboard", follow_redirects=False).status_code
    return status


# --- persona picker: the demo only ------------------------------------------------------------

@pytest.mark.parametrize("env", ["dev", "prod"])
def test_a_served_dashboard_gives_no_session_for_a_persona_name(runtime: Runtime,
                                                                 env: str) -> None:
    settings: dict[str, object] = {"env": env, "jwt_secret": SecretStr(SECRET)}
    if env == "prod":
        settings |= {"store": "postgres", "database_url": SecretStr("postgresql://x@db/cxgov")}
    with served(runtime, **settings) as client:
        token = sign_in_form(client)
        assert "data-persona" not in client.get("/dashboard/sign-in").text
        answer = client.post("/dashboard/sign-in", data={"persona": "cx.chief", "csrf": token},
                             follow_redirects=False)
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/dashboard/sign-in?")
        assert "demo+only" in answer.headers["location"]
        assert session_cookie(client) is None
        assert home(client) == 303


def test_the_demo_opt_in_is_refused_in_production() -> None:
    with pytest.raises(ValidationError, match="CXGOV_DEMO_SIGN_IN"):
        Settings(env="prod", store="postgres", demo_sign_in=True,
                 database_url=SecretStr("postgresql://x@db/cxgov"))


def test_the_demo_signs_in_a_persona_with_an_opaque_session_that_is_no_bearer_token(
        demo: TestClient) -> None:
    assert 'data-persona="cx.chief"' in demo.get("/dashboard/sign-in").text
    sign_in_as(demo, "cx.chief")
    assert home(demo) == 200
    cookie = session_cookie(demo)
    assert cookie is not None and cookie.count(".") == 0  # not a JWT
    api = demo.get("/v1/pnls", headers={"Authorization": f"Bearer {cookie}"})
    assert api.status_code == 401


# --- sessions: server side, revoked at sign-out, short-lived ----------------------------------

def test_sign_out_revokes_the_session_so_a_replayed_cookie_is_refused(demo: TestClient) -> None:
    sign_in_as(demo, "cx.chief")
    cookie = session_cookie(demo)
    assert cookie is not None
    page = demo.get("/dashboard")
    out = demo.post("/dashboard/sign-out", data={"csrf": csrf_of(page.text)},
                    follow_redirects=False)
    assert out.status_code == 303
    assert session_cookie(demo) is None
    demo.cookies.set("cxgov_session", cookie)  # the attacker kept a copy
    assert home(demo) == 303


def test_a_pasted_token_starts_a_session_that_ends_with_the_token(plain: TestClient,
                                                                  clock: Clock) -> None:
    now = int(datetime.now(UTC).timestamp())
    clock.now = datetime.fromtimestamp(now, UTC)
    token = mint_token(SECRET, sub="rita", roles=["pnl_owner"], pnls=["RB"], ttl=600)
    answer = plain.post("/dashboard/sign-in", data={"token": token, "csrf": sign_in_form(plain)},
                        follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/dashboard"
    assert session_cookie(plain) != token
    assert home(plain) == 200
    clock.now += timedelta(seconds=590)
    assert home(plain) == 200
    clock.now += timedelta(seconds=20)  # the token's exp has passed
    assert home(plain) == 303


def test_a_session_ends_after_30_idle_minutes_and_8_hours_in_all(demo: TestClient,
                                                                 clock: Clock) -> None:
    sign_in_as(demo, "auditor")
    clock.now += timedelta(minutes=29)
    assert home(demo) == 200
    clock.now += timedelta(minutes=31)
    assert home(demo) == 303
    sign_in_as(demo, "auditor")
    for _ in range(16):  # busy all day: a request every 29 minutes, up to 7 h 44 min
        clock.now += timedelta(minutes=29)
        assert home(demo) == 200
    clock.now += timedelta(minutes=29)  # 8 h 13 min after sign-in
    assert home(demo) == 303


# --- one-time sign-in links --------------------------------------------------------------------

def link_for(runtime: Runtime, sub: str = "rita", *, minutes: int = 10) -> str:
    """A link code, as `cxgov sign-in-link` issues it."""
    claims = Claims(sub, "Rita Owner", ("pnl_owner",), ("RB",), "cxgov")
    return sessions_of(runtime).issue(LINK_PURPOSE, claims.to_dict(),
                                      ttl=timedelta(minutes=minutes))


def use_link(client: TestClient, code: str) -> str:
    """Open the link's page and press its button; where the browser is sent."""
    token = sign_in_form(client, f"/dashboard/sign-in/{code}")
    answer = client.post(f"/dashboard/sign-in/{code}", data={"csrf": token},
                         follow_redirects=False)
    assert answer.status_code == 303
    return str(answer.headers["location"])


def test_a_one_time_link_signs_its_person_in_once(plain: TestClient, runtime: Runtime) -> None:
    code = link_for(runtime)
    assert use_link(plain, code) == "/dashboard"
    page = plain.get("/dashboard")
    assert page.status_code == 200 and "Rita Owner" in page.text
    plain.cookies.clear()
    assert use_link(plain, code).startswith("/dashboard/sign-in?")  # used: refused
    assert session_cookie(plain) is None and home(plain) == 303


def test_an_expired_or_unknown_link_is_refused(plain: TestClient, runtime: Runtime,
                                               clock: Clock) -> None:
    code = link_for(runtime, minutes=10)
    clock.now += timedelta(minutes=10, seconds=1)
    assert "expired" in use_link(plain, code)
    assert "expired" in use_link(plain, "x" * 43)
    assert session_cookie(plain) is None and home(plain) == 303


def test_opening_a_link_does_not_spend_it(plain: TestClient, runtime: Runtime) -> None:
    code = link_for(runtime)
    for _ in range(2):  # a mail scanner fetching the link
        assert plain.get(f"/dashboard/sign-in/{code}").status_code == 200
    assert use_link(plain, code) == "/dashboard"


# --- CSRF ----------------------------------------------------------------------------------

def decide_form(client: TestClient) -> tuple[str, str]:
    """(action, CSRF token) of the first decision form on the executive home."""
    page = client.get("/dashboard")
    action = re.search(r'action="(/dashboard/initiatives/[^"]+/decide)"', page.text)
    assert action is not None
    return action.group(1), csrf_of(page.text)


@pytest.mark.parametrize(("fields", "headers"), [
    ({}, {}),
    ({"csrf": "forged"}, {}),
    ({"csrf": None}, {"Sec-Fetch-Site": "cross-site"}),
    ({"csrf": None}, {"Sec-Fetch-Site": "same-site"}),
    ({"csrf": None}, {"Origin": "http://evil.example"}),
    ({"csrf": None}, {"Origin": "null"}),
])
def test_a_decision_post_without_a_valid_token_or_from_another_site_writes_nothing(
        demo: TestClient, runtime: Runtime, fields: dict[str, str | None],
        headers: dict[str, str]) -> None:
    sign_in_as(demo, "cx.chief")
    action, token = decide_form(demo)
    data = {"outcome": "defer", "rationale": "forged",
            **{k: token if v is None else v for k, v in fields.items()}}
    before = runtime.app.recorder.max_notification_id()
    answer = demo.post(action, data=data, headers=headers, follow_redirects=False)
    assert answer.status_code == 403
    assert answer.json()["code"] == "auth.csrf"
    assert runtime.app.recorder.max_notification_id() == before


def test_the_decision_form_with_its_token_records_the_decision(demo: TestClient,
                                                               runtime: Runtime) -> None:
    sign_in_as(demo, "cx.chief")
    action, token = decide_form(demo)
    before = runtime.app.recorder.max_notification_id() or 0
    answer = demo.post(action, data={"outcome": "defer", "rationale": "next year",
                                     "csrf": token},
                       headers={"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"},
                       follow_redirects=False)
    assert answer.status_code == 303 and "done=defer" in answer.headers["location"]
    assert (runtime.app.recorder.max_notification_id() or 0) > before


def test_another_sessions_token_is_refused(demo: TestClient, runtime: Runtime) -> None:
    sign_in_as(demo, "cx.chief")
    _, theirs = decide_form(demo)
    with served(runtime, demo_sign_in=True) as victim:
        sign_in_as(victim, "cx.deputy")
        action, _ = decide_form(victim)
        answer = victim.post(action, data={"outcome": "defer", "csrf": theirs},
                             follow_redirects=False)
        assert answer.status_code == 403


def test_the_desk_and_sign_out_need_the_token_too(demo: TestClient) -> None:
    sign_in_as(demo, "rb.owner")
    desk = demo.post("/dashboard/desk", data={"action": "preview", "title": "x"},
                     follow_redirects=False)
    assert desk.status_code == 403 and desk.json()["code"] == "auth.csrf"
    out = demo.post("/dashboard/sign-out", data={}, follow_redirects=False)
    assert out.status_code == 403
    assert home(demo) == 200  # still signed in: a forged sign-out did nothing


def test_login_csrf_a_sign_in_post_needs_the_pre_session_token(plain: TestClient) -> None:
    token = mint_token(SECRET, sub="mallory", roles=["cx_exec"])
    forged = plain.post("/dashboard/sign-in", data={"token": token}, follow_redirects=False)
    assert forged.status_code == 403 and forged.json()["code"] == "auth.csrf"
    cross = plain.post("/dashboard/sign-in", data={"token": token, "csrf": sign_in_form(plain)},
                       headers={"Sec-Fetch-Site": "cross-site"}, follow_redirects=False)
    assert cross.status_code == 403
    assert session_cookie(plain) is None


def test_the_api_still_takes_bearer_tokens_without_csrf(client: TestClient) -> None:
    answer = client.get("/v1/pnls", headers=auth("fiona", "finance"))
    assert answer.status_code == 200


# --- on PostgreSQL: the CLI's link, shared by processes, redeemed once ----------------------

@pytest.fixture
def pg_runtime(pg_env: dict[str, str], pg_url: str) -> Iterator[Runtime]:
    """A runtime on a migrated, emptied PostgreSQL database (no company loaded)."""
    settings = Settings(store="postgres", database_url=SecretStr(pg_url),
                        jwt_secret=SecretStr(SECRET), db_pool_size=1)
    rt = bootstrap(settings)
    yield rt
    rt.close()


@pytest.mark.pg
def test_cxgov_sign_in_link_prints_a_link_that_the_served_dashboard_takes_once(
        pg_runtime: Runtime, pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CXGOV_DATABASE_URL", pg_url)
    monkeypatch.setenv("CXGOV_JWT_SECRET", SECRET)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli.app, [
            "sign-in-link", "rita", "--role", "pnl_owner", "--pnl", "RB", "--name", "Rita Owner",
            "--base-url", "http://gov.example:8000/"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    link = result.output.strip()
    assert re.fullmatch(r"http://gov\.example:8000/dashboard/sign-in/[A-Za-z0-9_-]{43}", link)
    code = link.rsplit("/", 1)[1]
    with connect(pg_url) as conn:  # only a hash is stored
        stored = conn.execute("SELECT code_hash, payload FROM dashboard_tickets").fetchall()
    assert len(stored) == 1 and code not in str(stored[0])
    with served(pg_runtime) as first, served(pg_runtime) as second:
        token_first = sign_in_form(first, f"/dashboard/sign-in/{code}")
        token_second = sign_in_form(second, f"/dashboard/sign-in/{code}")
        assert use_link_with(first, code, token_first) == "/dashboard"
        assert use_link_with(second, code, token_second).startswith("/dashboard/sign-in?")
        who = first.get("/dashboard")
        assert who.status_code == 200 and "Rita Owner" in who.text
        session_id = session_cookie(first)
        assert session_id is not None
        with connect(pg_url) as conn:
            rows = conn.execute("SELECT id_hash, claims FROM dashboard_sessions").fetchall()
        assert len(rows) == 1 and session_id not in str(rows[0])
        page = first.get("/dashboard")
        first.post("/dashboard/sign-out", data={"csrf": csrf_of(page.text)})
        with connect(pg_url) as conn:
            left = conn.execute("SELECT count(*) FROM dashboard_sessions").fetchone()
        assert left is not None and left[0] == 0
        first.cookies.set("cxgov_session", session_id)
        assert home(first) == 303


def use_link_with(client: TestClient, code: str, token: str) -> str:
    """Press a link page's button with its token; where the browser is sent."""
    answer = client.post(f"/dashboard/sign-in/{code}", data={"csrf": token},
                         follow_redirects=False)
    assert answer.status_code == 303
    return str(answer.headers["location"])


@pytest.mark.pg
def test_postgres_sessions_expire_and_a_ticket_is_redeemed_once_under_a_race(
        pg_runtime: Runtime) -> None:
    store = sessions_of(pg_runtime)
    assert isinstance(store, PostgresSessions)
    clock = Clock()
    store.clock = clock
    claims = Claims("rita", "Rita", ("pnl_owner",), ("RB",), "cxgov")
    session_id = store.start(claims, idle=timedelta(minutes=30), lifetime=timedelta(hours=8))
    assert store.find(session_id) == claims
    clock.now += timedelta(minutes=31)
    assert store.find(session_id) is None
    code = store.issue(LINK_PURPOSE, claims.to_dict(), ttl=timedelta(minutes=10))
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: store.redeem(LINK_PURPOSE, code), range(8)))
    assert [r for r in results if r is not None] == [claims.to_dict()]
    late = store.issue(LINK_PURPOSE, claims.to_dict(), ttl=timedelta(minutes=10))
    clock.now += timedelta(minutes=11)
    assert store.redeem(LINK_PURPOSE, late) is None


@pytest.fixture
def demo_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """A clean environment for `cxgov demo` (its SIGTERM handler and opt-in are undone)."""
    monkeypatch.setenv("CXGOV_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CXGOV_DEMO_SIGN_IN", "false")  # restored (removed) afterwards
    handler = signal.getsignal(signal.SIGTERM)
    get_settings.cache_clear()
    yield monkeypatch
    signal.signal(signal.SIGTERM, handler)
    get_settings.cache_clear()


def test_cxgov_demo_turns_the_persona_picker_on_for_its_server(
        demo_env: pytest.MonkeyPatch) -> None:
    demo_env.setenv("CXGOV_STORE", "memory")
    assert not get_settings().demo_sign_in
    result = CliRunner().invoke(cli.app, ["demo", "--no-serve"])
    assert result.exit_code == 0, result.output
    assert get_settings().demo_sign_in  # what the served app reads


def test_cxgov_demo_refuses_to_run_in_production(demo_env: pytest.MonkeyPatch) -> None:
    demo_env.setenv("CXGOV_ENV", "prod")
    demo_env.setenv("CXGOV_DATABASE_URL", "postgresql://x@127.0.0.1:1/cxgov")
    result = CliRunner().invoke(cli.app, ["demo", "--no-serve"])
    assert result.exit_code == 1
    assert "CXGOV_DEMO_SIGN_IN" in result.output


def test_signing_in_again_ends_the_browsers_previous_session(demo: TestClient) -> None:
    sign_in_as(demo, "cx.chief")
    first = session_cookie(demo)
    sign_in_as(demo, "auditor")
    assert session_cookie(demo) != first and home(demo) == 200
    demo.cookies.set("cxgov_session", str(first))
    assert home(demo) == 303
