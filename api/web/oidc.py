"""Dashboard sign-in through the OIDC provider the API trusts: authorization code + PKCE (S256).

On when `CXGOV_JWT_JWKS_URL` and `CXGOV_OIDC_CLIENT_ID` are set. The provider is
`CXGOV_JWT_ISSUER`: discovery at `{issuer}/.well-known/openid-configuration` (its `issuer` must
be the same string). `start` keeps state, nonce and the code verifier server side, as a
single-use ticket (10 minutes) whose code is the `state`, and binds it to the browser with a
short-lived cookie; `finish` redeems it, exchanges the code (client_secret_post when a client
secret is set), and verifies the ID token with the API's JWKS keys (issuer, audience = the
client id, exp, nonce). The ID token must carry the `roles` (and `pnls`) claims.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from api.auth import TokenVerifier, principal_of
from api.errors import Unauthenticated
from governance.settings import Settings
from governance.stores.sessions import Claims, Sessions

PURPOSE = "oidc"
PENDING = timedelta(minutes=10)
HTTP_TIMEOUT_SECONDS = 5
Fetch = Callable[[str], dict[str, Any]]
Post = Callable[[str, dict[str, str]], dict[str, Any]]


def _get_json(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=HTTP_TIMEOUT_SECONDS) as response:
        data: dict[str, Any] = json.loads(response.read())
    return data


def _post_form(url: str, form: dict[str, str]) -> dict[str, Any]:
    request = urllib.request.Request(
        url, data=urlencode(form).encode("ascii"), method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded",
                 "Accept": "application/json"})
    with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_SECONDS) as response:
        data: dict[str, Any] = json.loads(response.read())
    return data


def challenge_of(verifier: str) -> str:
    """The PKCE S256 code challenge of a code verifier."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


@dataclass
class OidcClient:
    """The dashboard as an OIDC relying party of the API's issuer."""

    issuer: str
    client_id: str
    client_secret: str | None
    scopes: str
    redirect_url: str | None
    id_tokens: TokenVerifier
    fetch: Fetch = _get_json
    post: Post = _post_form
    _discovery: dict[str, Any] | None = field(default=None, repr=False)

    def discovery(self) -> dict[str, Any]:
        """The provider's metadata (fetched once)."""
        if self._discovery is None:
            try:
                found = self.fetch(f"{self.issuer.rstrip('/')}/.well-known/openid-configuration")
            except Exception as exc:
                raise Unauthenticated(f"the identity provider is unreachable: {exc}") from None
            if found.get("issuer") != self.issuer:
                raise Unauthenticated("the identity provider's discovery names another issuer")
            self._discovery = found
        return self._discovery

    def start(self, sessions: Sessions, *, next_url: str, redirect_uri: str) -> tuple[str, str]:
        """(authorization URL, state): the pending sign-in is kept as a single-use ticket."""
        endpoint = str(self.discovery()["authorization_endpoint"])
        nonce, verifier = secrets.token_urlsafe(32), secrets.token_urlsafe(48)
        state = sessions.issue(PURPOSE, {"nonce": nonce, "verifier": verifier,
                                         "next": next_url, "redirect_uri": redirect_uri},
                               ttl=PENDING)
        query = urlencode({"response_type": "code", "client_id": self.client_id,
                           "redirect_uri": redirect_uri, "scope": self.scopes, "state": state,
                           "nonce": nonce, "code_challenge": challenge_of(verifier),
                           "code_challenge_method": "S256"})
        return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}", state

    def finish(self, sessions: Sessions, *, code: str, state: str,
               bound_state: str | None) -> tuple[Claims, str]:
        """(claims, next URL) of a completed authorization; Unauthenticated otherwise."""
        if not bound_state or not hmac.compare_digest(bound_state.encode(), state.encode()):
            raise Unauthenticated("this sign-in was not started in this browser")
        pending = sessions.redeem(PURPOSE, state)
        if pending is None:
            raise Unauthenticated("this sign-in is unknown, used or expired; start again")
        form = {"grant_type": "authorization_code", "code": code,
                "redirect_uri": str(pending["redirect_uri"]), "client_id": self.client_id,
                "code_verifier": str(pending["verifier"])}
        if self.client_secret:
            form["client_secret"] = self.client_secret
        try:
            answer = self.post(str(self.discovery()["token_endpoint"]), form)
        except Exception as exc:
            raise Unauthenticated(f"the identity provider refused the code: {exc}") from None
        id_token = answer.get("id_token")
        if not isinstance(id_token, str):
            raise Unauthenticated("the identity provider returned no ID token")
        claims = self.id_tokens.claims(id_token)
        nonce = claims.get("nonce")
        if not isinstance(nonce, str) or not hmac.compare_digest(
                nonce.encode(), str(pending["nonce"]).encode()):
            raise Unauthenticated("the ID token's nonce does not match this sign-in")
        return Claims.of(principal_of(claims)), str(pending["next"])


def oidc_client(settings: Settings, api_tokens: TokenVerifier) -> OidcClient | None:
    """The relying party, when the API trusts a provider and a client id is configured."""
    if api_tokens.jwks is None or not settings.oidc_client_id:
        return None
    id_tokens = TokenVerifier(settings.jwt_issuer, settings.oidc_client_id,
                              api_tokens.algorithms, jwks=api_tokens.jwks,
                              leeway=api_tokens.leeway)
    secret = settings.oidc_client_secret
    return OidcClient(settings.jwt_issuer, settings.oidc_client_id,
                      secret.get_secret_value() if secret else None, settings.oidc_scopes,
                      settings.oidc_redirect_url, id_tokens)
