"""Bearer JWT authentication: embedded HS256 or provider keys from a JWKS URL."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jwt

from api.errors import Unauthenticated
from governance.identity import embedded_secret
from governance.principal import ROLES, Principal
from governance.settings import Settings

HMAC_ALGORITHMS = frozenset({"HS256", "HS384", "HS512"})
ASYMMETRIC_ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "ES256", "ES384", "PS256"})
JWKS_TTL_SECONDS = 300.0
JWKS_MIN_REFRESH_SECONDS = 30.0


class JwksKeys:
    """Signing keys of an identity provider, fetched from its JWKS URL and cached."""

    def __init__(self, url: str, *, fetch: Callable[[str], dict[str, Any]] | None = None,
                 ttl: float = JWKS_TTL_SECONDS) -> None:
        self.url = url
        self._fetch = fetch or _http_json
        self._ttl = ttl
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = float("-inf")
        self._lock = threading.Lock()

    def key(self, kid: str) -> jwt.PyJWK:
        """The key with this id; an unknown id refetches at most every 30 s."""
        with self._lock:
            age = time.monotonic() - self._fetched_at
            if age > self._ttl or (kid not in self._keys and age > JWKS_MIN_REFRESH_SECONDS):
                self._refresh()
            found = self._keys.get(kid)
        if found is None:
            raise Unauthenticated("the token's signing key is unknown")
        return found

    def _refresh(self) -> None:
        try:
            keys = jwt.PyJWKSet.from_dict(self._fetch(self.url)).keys
        except Exception:  # a provider outage must not take the keys we have
            self._fetched_at = time.monotonic() - self._ttl + JWKS_MIN_REFRESH_SECONDS
            return
        self._keys = {k.key_id: k for k in keys if k.key_id}
        self._fetched_at = time.monotonic()


def _http_json(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=5) as response:
        data: dict[str, Any] = json.loads(response.read())
    return data


@dataclass(frozen=True)
class TokenVerifier:
    """Verifies bearer tokens and turns their claims into a Principal."""

    issuer: str
    audience: str
    algorithms: tuple[str, ...]
    secret: str | None = None
    jwks: JwksKeys | None = None
    leeway: int = 0

    def verify(self, token: str) -> Principal:
        """The principal of a valid token; raise Unauthenticated otherwise."""
        return principal_of(self.claims(token))

    def claims(self, token: str) -> dict[str, Any]:
        """The verified claims of a token (signature, exp, iss, aud, sub); or Unauthenticated."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise Unauthenticated("the bearer token is malformed") from None
        algorithm = header.get("alg")
        if algorithm not in self.algorithms:
            raise Unauthenticated("the token's algorithm is not accepted")
        key: Any
        if algorithm in HMAC_ALGORITHMS:
            if self.secret is None:
                raise Unauthenticated("the token's algorithm is not accepted")
            key = self.secret
        else:
            kid = header.get("kid")
            if self.jwks is None or not isinstance(kid, str) or not kid:
                raise Unauthenticated("the token has no key id (kid)")
            key = self.jwks.key(kid)
        try:
            claims: dict[str, Any] = jwt.decode(
                token, key, algorithms=[algorithm], audience=self.audience, issuer=self.issuer,
                leeway=self.leeway, options={"require": ["exp", "iss", "aud", "sub"]})
        except jwt.PyJWTError as exc:
            raise Unauthenticated(f"the bearer token is not valid: {exc}") from None
        return claims


def principal_of(claims: dict[str, Any]) -> Principal:
    """Claims sub, name, roles, pnls -> Principal(issuer=iss); unknown roles are dropped."""
    subject, roles, pnls = claims.get("sub"), claims.get("roles", []), claims.get("pnls", [])
    if not isinstance(subject, str) or not subject.strip():
        raise Unauthenticated("the token has no subject")
    if not _strings(roles) or not _strings(pnls):
        raise Unauthenticated("the roles and pnls claims must be lists of strings")
    name = claims.get("name")
    return Principal(subject=subject, roles=frozenset(r for r in roles if r in ROLES),
                     pnls=frozenset(pnls), name=name if isinstance(name, str) else "",
                     issuer=str(claims["iss"]))


def _strings(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def verifier_from_settings(settings: Settings) -> TokenVerifier:
    """Embedded HS256 unless a JWKS URL is configured."""
    leeway = settings.jwt_leeway_seconds
    if settings.jwt_jwks_url:
        algorithms = settings.jwt_algorithms or ("RS256", "ES256")
        if set(algorithms) - ASYMMETRIC_ALGORITHMS:
            raise ValueError("with a JWKS URL only asymmetric algorithms may be allowed")
        return TokenVerifier(settings.jwt_issuer, settings.jwt_audience, tuple(algorithms),
                             jwks=JwksKeys(settings.jwt_jwks_url), leeway=leeway)
    algorithms = settings.jwt_algorithms or ("HS256",)
    if set(algorithms) - HMAC_ALGORITHMS:
        raise ValueError("embedded mode verifies HMAC (HS256) tokens only")
    return TokenVerifier(settings.jwt_issuer, settings.jwt_audience, tuple(algorithms),
                         secret=embedded_secret(settings), leeway=leeway)
