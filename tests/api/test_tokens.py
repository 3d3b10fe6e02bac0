"""Bearer tokens: nine ways a token can be bad, each answered 401 with WWW-Authenticate."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import JwksKeys, TokenVerifier
from governance.bootstrap import Runtime
from tests.api.conftest import auth

ISSUER, AUDIENCE, KID = "https://id.example.com/", "cxgov-api", "key-1"
PRIVATE = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PUBLIC_PEM = PRIVATE.public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def jwks() -> dict[str, Any]:
    """The provider's published keys."""
    key = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(PRIVATE.public_key()))
    return {"keys": [{**key, "kid": KID, "use": "sig", "alg": "RS256"}]}


def claims(**changes: Any) -> dict[str, Any]:
    """Valid claims of a finance user, with changes."""
    now = int(time.time())
    found = {"sub": "fiona", "roles": ["finance"], "pnls": [], "iss": ISSUER, "aud": AUDIENCE,
             "iat": now, "nbf": now, "exp": now + 600}
    found.update(changes)
    return {k: v for k, v in found.items() if v is not None}


def rs256(payload: dict[str, Any], kid: str = KID) -> str:
    """A token signed by the provider's private key."""
    return jwt.encode(payload, PRIVATE, algorithm="RS256", headers={"kid": kid})


def unsigned(payload: dict[str, Any]) -> str:
    """An alg=none token."""
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    return f"{part({'alg': 'none', 'typ': 'JWT', 'kid': KID})}.{part(payload)}."


def confused() -> str:
    """HS256 signed with the RSA public key as the HMAC secret (key confusion)."""
    head = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": KID}).encode())
    body = _b64(json.dumps(claims()).encode())
    mac = hmac.new(PUBLIC_PEM, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{_b64(mac)}"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def tampered() -> str:
    """A valid token whose payload was edited to add a role."""
    head, _, signature = rs256(claims()).split(".")
    body = base64.urlsafe_b64encode(json.dumps(claims(roles=["finance", "cx_exec"])).encode())
    return f"{head}.{body.rstrip(b'=').decode()}.{signature}"


BAD: dict[str, Callable[[], str | None]] = {
    "none algorithm": lambda: unsigned(claims()),
    "HS/RS key confusion": confused,
    "expired": lambda: rs256(claims(exp=int(time.time()) - 60)),
    "future nbf": lambda: rs256(claims(nbf=int(time.time()) + 3600)),
    "wrong aud": lambda: rs256(claims(aud="another-api")),
    "wrong iss": lambda: rs256(claims(iss="https://evil.example.com/")),
    "unknown kid": lambda: rs256(claims(), kid="key-unknown"),
    "tampered payload": tampered,
    "missing token": lambda: None,
}


@pytest.fixture
def provider_client(runtime: Runtime) -> Iterator[TestClient]:
    """The API verifying RS256 tokens against a JWKS (production mode)."""
    verifier = TokenVerifier(ISSUER, AUDIENCE, ("RS256", "ES256"),
                             jwks=JwksKeys("https://id.example.com/jwks", fetch=lambda _: jwks()))
    with TestClient(create_app(runtime, verifier=verifier)) as c:
        yield c


@pytest.mark.parametrize("case", list(BAD))
def test_a_bad_token_is_answered_401_with_a_problem(provider_client: TestClient,
                                                    case: str) -> None:
    token = BAD[case]()
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = provider_client.post("/v1/periods", headers=headers, json={
        "code": "FY2030", "currency": "USD", "opex_total": "1000"})
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["code"] == "auth.unauthenticated"


def test_a_good_provider_token_is_accepted(provider_client: TestClient) -> None:
    response = provider_client.post("/v1/periods", headers={
        "Authorization": f"Bearer {rs256(claims())}"}, json={
        "code": "FY2030", "currency": "USD", "opex_total": "1000"})
    assert response.status_code == 201, response.text


def test_embedded_mode_refuses_an_rs256_token_and_accepts_its_own(client: TestClient) -> None:
    body = {"code": "FY2030", "currency": "USD", "opex_total": "1000"}
    foreign = client.post("/v1/periods", json=body, headers={
        "Authorization": f"Bearer {rs256(claims(iss='cxgov', aud='cxgov-api'))}"})
    own = client.post("/v1/periods", json=body, headers=auth("fiona", "finance"))
    assert (foreign.status_code, own.status_code) == (401, 201)


def test_an_embedded_token_signed_with_another_secret_is_refused(client: TestClient) -> None:
    token = jwt.encode(claims(iss="cxgov", aud="cxgov-api"),
                       "another-secret-0123456789abcdef-0123456789", algorithm="HS256")
    response = client.get("/v1/pnls", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
