"""Dashboard sign-in through an OIDC provider (authorization code + PKCE S256), against a
small provider served on 127.0.0.1 by the test (discovery, JWKS, token endpoint)."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient

from api.app import create_app
from governance.bootstrap import Runtime

CLIENT_ID = "cxgov-dashboard"
KID = "provider-key-1"


@dataclass
class Provider:
    """A minimal OIDC provider: it authorizes whoever the test says, once per code."""

    issuer: str = ""
    key: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048))
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    token_requests: list[dict[str, str]] = field(default_factory=list)

    def jwks(self) -> dict[str, Any]:
        """The public key set."""
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        return {"keys": [{**public, "kid": KID, "alg": "RS256", "use": "sig"}]}

    def discovery(self) -> dict[str, Any]:
        """The OpenID configuration."""
        return {"issuer": self.issuer, "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token", "jwks_uri": f"{self.issuer}/jwks",
                "response_types_supported": ["code"],
                "code_challenge_methods_supported": ["S256"]}

    def authorize(self, url: str, claims: dict[str, Any], **id_token: Any) -> str:
        """The user signs in at the provider: the callback URL the browser is sent to."""
        query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
        assert url.startswith(f"{self.issuer}/authorize?")
        assert query["response_type"] == "code" and query["client_id"] == CLIENT_ID
        assert query["code_challenge_method"] == "S256" and "openid" in query["scope"]
        code = secrets.token_urlsafe(16)
        self.codes[code] = {"challenge": query["code_challenge"],
                            "redirect_uri": query["redirect_uri"],
                            "claims": {"nonce": query["nonce"], **claims}, "id_token": id_token}
        return f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query['state']})}"

    def token(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        """The token endpoint: the code once, with the PKCE verifier of its challenge."""
        self.token_requests.append(form)
        grant = self.codes.pop(form.get("code", ""), None)
        verifier = form.get("code_verifier", "")
        challenge = base64.urlsafe_b64encode(
            hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
        if (grant is None or grant["challenge"] != challenge
                or grant["redirect_uri"] != form.get("redirect_uri")
                or form.get("client_id") != CLIENT_ID):
            return 400, {"error": "invalid_grant"}
        now = int(time.time())
        options = grant["id_token"]
        claims = {"iss": self.issuer, "aud": options.get("aud", CLIENT_ID), "iat": now,
                  "exp": now + 300, **grant["claims"]}
        key = options.get("key", self.key)
        id_token = jwt.encode(claims, key, algorithm="RS256", headers={"kid": KID})
        return 200, {"id_token": id_token, "access_token": "opaque", "token_type": "Bearer"}


@pytest.fixture
def provider() -> Iterator[Provider]:
    """The provider on 127.0.0.1, in a thread."""
    found = Provider()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_: Any) -> None:
            pass

        def _send(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            pages = {"/.well-known/openid-configuration": found.discovery, "/jwks": found.jwks}
            page = pages.get(self.path)
            self._send(200, page()) if page else self._send(404, {})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            self._send(*found.token(form)) if self.path == "/token" else self._send(404, {})

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    found.issuer = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield found
    server.shutdown()
    server.server_close()


@pytest.fixture
def browser(runtime: Runtime, provider: Provider,
            monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """The dashboard of a server that trusts the provider (API tokens and sign-in)."""
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    settings = runtime.settings.model_copy(update={
        "jwt_issuer": provider.issuer, "jwt_jwks_url": f"{provider.issuer}/jwks",
        "oidc_client_id": CLIENT_ID, "demo_sign_in": True})
    with TestClient(create_app(replace(runtime, settings=settings)),
                    raise_server_exceptions=False) as client:
        yield client


ALICE = {"sub": "alice", "name": "Alice Exec", "roles": ["cx_exec"], "pnls": []}


def start(client: TestClient, next_url: str = "/dashboard/scorecard") -> str:
    """Press 'Sign in with your identity provider': the provider URL."""
    answer = client.get(f"/dashboard/oidc/start?next={next_url}", follow_redirects=False)
    assert answer.status_code == 303
    return str(answer.headers["location"])


def test_the_sign_in_page_offers_the_provider_and_no_personas(browser: TestClient) -> None:
    page = browser.get("/dashboard/sign-in").text
    assert 'id="oidc-sign-in"' in page and "data-persona" not in page


def test_code_flow_with_pkce_signs_in_with_the_id_token_claims(browser: TestClient,
                                                                provider: Provider) -> None:
    location = start(browser)
    query = parse_qs(urlsplit(location).query)
    assert query["redirect_uri"] == ["http://testserver/dashboard/oidc/callback"]
    callback = provider.authorize(location, ALICE)
    answer = browser.get(callback, follow_redirects=False)
    assert answer.status_code == 200
    assert 'content="0;url=/dashboard/scorecard"' in answer.text
    sent = provider.token_requests[-1]
    assert sent["grant_type"] == "authorization_code" and len(sent["code_verifier"]) >= 43
    page = browser.get("/dashboard/scorecard", follow_redirects=False)
    assert page.status_code == 200 and "Alice Exec" in page.text
    cookie = browser.cookies.get("cxgov_session")
    assert cookie is not None
    api = browser.get("/v1/pnls", headers={"Authorization": f"Bearer {cookie}"})
    assert api.status_code == 401


def test_a_replayed_callback_is_refused(browser: TestClient, provider: Provider) -> None:
    callback = provider.authorize(start(browser), ALICE)
    assert browser.get(callback, follow_redirects=False).status_code == 200
    browser.cookies.clear()
    browser.get("/dashboard/sign-in")
    again = browser.get(callback, follow_redirects=False)
    assert again.status_code == 303 and "/dashboard/sign-in?" in again.headers["location"]
    assert browser.cookies.get("cxgov_session") is None


def test_a_callback_in_another_browser_is_refused(browser: TestClient, runtime: Runtime,
                                                  provider: Provider) -> None:
    callback = provider.authorize(start(browser), ALICE)
    browser.cookies.clear()  # the victim's browser never started this sign-in
    answer = browser.get(callback, follow_redirects=False)
    assert answer.status_code == 303
    assert "not+started+in+this+browser" in answer.headers["location"]
    assert browser.cookies.get("cxgov_session") is None


@pytest.mark.parametrize(("claims", "id_token", "why"), [
    ({**ALICE, "nonce": "another"}, {}, "nonce"),
    (ALICE, {"aud": "someone-else"}, "Audience"),
    (ALICE, {"key": rsa.generate_private_key(public_exponent=65537, key_size=2048)},
     "Signature"),
])
def test_an_id_token_with_a_wrong_nonce_audience_or_key_is_refused(
        browser: TestClient, provider: Provider, claims: dict[str, Any],
        id_token: dict[str, Any], why: str) -> None:
    location = start(browser)
    callback = provider.authorize(location, {}, **id_token)
    code = parse_qs(urlsplit(callback).query)["code"][0]
    provider.codes[code]["claims"] |= {k: v for k, v in claims.items()}
    answer = browser.get(callback, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    assert why in parse_qs(urlsplit(answer.headers["location"]).query)["error"][0]
    assert browser.cookies.get("cxgov_session") is None


def test_a_wrong_code_verifier_is_refused_by_the_provider(browser: TestClient,
                                                         provider: Provider) -> None:
    callback = provider.authorize(start(browser), ALICE)
    code = parse_qs(urlsplit(callback).query)["code"][0]
    provider.codes[code]["challenge"] = "not-the-challenge"
    answer = browser.get(callback, follow_redirects=False)
    assert answer.status_code == 303 and "refused+the+code" in answer.headers["location"]
    assert browser.cookies.get("cxgov_session") is None
