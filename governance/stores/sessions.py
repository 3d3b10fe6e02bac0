"""Dashboard sessions and one-time tickets, kept server side (only hashes of their secrets).

A session is an opaque random id in the browser's cookie; the server keeps sha256(id) with
the principal's claims, an idle timeout and an absolute expiry, checks it on every request and
deletes it on sign-out. A ticket is a single-use secret with a purpose (`link`: a sign-in link
printed by `cxgov sign-in-link`; `oidc`: a pending OIDC authorization), redeemed atomically.
PostgreSQL keeps them in dashboard_sessions / dashboard_tickets (migration 0005); the
in-memory store keeps them in the process.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from governance.bootstrap import Runtime
from governance.principal import Principal
from governance.stores.postgres import PostgresStore

SECRET_BYTES = 32
Clock = Callable[[], datetime]


def utcnow() -> datetime:
    """The current time (UTC)."""
    return datetime.now(UTC)


def digest(secret: str) -> bytes:
    """What the server keeps of a session id or ticket code: its sha256."""
    return hashlib.sha256(secret.encode("utf-8")).digest()


@dataclass(frozen=True)
class Claims:
    """Who a session or a sign-in link is for."""

    subject: str
    name: str
    roles: tuple[str, ...]
    pnls: tuple[str, ...]
    issuer: str

    @classmethod
    def of(cls, who: Principal) -> Claims:
        """The claims of a principal."""
        return cls(who.subject, who.name, tuple(sorted(who.roles)), tuple(sorted(who.pnls)),
                   who.issuer)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Claims:
        """Claims from their JSON form."""
        return cls(str(data["sub"]), str(data.get("name", "")),
                   tuple(str(r) for r in data.get("roles", [])),
                   tuple(str(p) for p in data.get("pnls", [])), str(data["iss"]))

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (the names of the token claims)."""
        return {"sub": self.subject, "name": self.name, "roles": list(self.roles),
                "pnls": list(self.pnls), "iss": self.issuer}

    def principal(self) -> Principal:
        """The principal the dashboard acts as."""
        return Principal(subject=self.subject, roles=frozenset(self.roles),
                         pnls=frozenset(self.pnls), name=self.name, issuer=self.issuer)


class Sessions(Protocol):
    """Server-side dashboard sessions and single-use tickets."""

    clock: Clock

    def start(self, claims: Claims, *, idle: timedelta, lifetime: timedelta) -> str:
        """A new session; returns its id (the cookie value), which is never stored."""
        ...

    def find(self, session_id: str) -> Claims | None:
        """The claims of a live session (and note the request); None if unknown or expired."""
        ...

    def end(self, session_id: str) -> None:
        """Delete the session (sign-out)."""
        ...

    def issue(self, purpose: str, payload: dict[str, Any], *, ttl: timedelta) -> str:
        """A single-use ticket; returns its code, which is never stored."""
        ...

    def redeem(self, purpose: str, code: str) -> dict[str, Any] | None:
        """The payload of an unexpired ticket, deleting it; None if unknown, used or expired."""
        ...


@dataclass
class _Session:
    claims: Claims
    idle: timedelta
    last_seen: datetime
    expires_at: datetime


class MemorySessions:
    """Sessions of the in-memory store: one process, lost on restart."""

    def __init__(self, clock: Clock = utcnow) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._sessions: dict[bytes, _Session] = {}
        self._tickets: dict[bytes, tuple[str, dict[str, Any], datetime]] = {}

    def start(self, claims: Claims, *, idle: timedelta, lifetime: timedelta) -> str:
        """See Sessions.start."""
        session_id, now = secrets.token_urlsafe(SECRET_BYTES), self.clock()
        with self._lock:
            self._purge(now)
            self._sessions[digest(session_id)] = _Session(claims, idle, now, now + lifetime)
        return session_id

    def find(self, session_id: str) -> Claims | None:
        """See Sessions.find."""
        now = self.clock()
        with self._lock:
            found = self._sessions.get(digest(session_id))
            if found is None or not _alive(found, now):
                return None
            found.last_seen = now
            return found.claims

    def end(self, session_id: str) -> None:
        """See Sessions.end."""
        with self._lock:
            self._sessions.pop(digest(session_id), None)

    def issue(self, purpose: str, payload: dict[str, Any], *, ttl: timedelta) -> str:
        """See Sessions.issue."""
        code = secrets.token_urlsafe(SECRET_BYTES)
        with self._lock:
            self._tickets[digest(code)] = (purpose, json.loads(json.dumps(payload)),
                                           self.clock() + ttl)
        return code

    def redeem(self, purpose: str, code: str) -> dict[str, Any] | None:
        """See Sessions.redeem."""
        key = digest(code)
        with self._lock:
            found = self._tickets.get(key)
            if found is None or found[0] != purpose:
                return None
            del self._tickets[key]
        return found[1] if found[2] > self.clock() else None

    def _purge(self, now: datetime) -> None:
        self._sessions = {k: s for k, s in self._sessions.items() if _alive(s, now)}
        self._tickets = {k: t for k, t in self._tickets.items() if t[2] > now}


def _alive(session: _Session, now: datetime) -> bool:
    return session.expires_at > now and session.last_seen + session.idle > now


class PostgresSessions:
    """Sessions in PostgreSQL (tables of migration 0005), shared by every API process."""

    def __init__(self, datastore: Any, clock: Clock = utcnow) -> None:
        self._datastore = datastore  # eventsourcing's PostgresDatastore: autocommit pool
        self.clock = clock

    def _run(self, query: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        with self._datastore.get_connection() as conn:
            cursor = conn.execute(query, params)
            return list(cursor.fetchall()) if cursor.description else []

    def start(self, claims: Claims, *, idle: timedelta, lifetime: timedelta) -> str:
        """See Sessions.start (expired sessions and tickets are deleted on the way)."""
        session_id, now = secrets.token_urlsafe(SECRET_BYTES), self.clock()
        self._run("DELETE FROM dashboard_sessions WHERE expires_at <= %(now)s "
                  "OR last_seen + make_interval(secs => idle_seconds) <= %(now)s", {"now": now})
        self._run("DELETE FROM dashboard_tickets WHERE expires_at <= %(now)s", {"now": now})
        self._run("INSERT INTO dashboard_sessions (id_hash, claims, idle_seconds, created_at, "
                  "last_seen, expires_at) VALUES (%(h)s, %(claims)s, %(idle)s, %(now)s, %(now)s, "
                  "%(expires)s)",
                  {"h": digest(session_id), "claims": json.dumps(claims.to_dict()),
                   "idle": int(idle.total_seconds()), "now": now, "expires": now + lifetime})
        return session_id

    def find(self, session_id: str) -> Claims | None:
        """See Sessions.find: one UPDATE checks both timeouts and notes the request."""
        rows = self._run(
            "UPDATE dashboard_sessions SET last_seen = %(now)s WHERE id_hash = %(h)s "
            "AND expires_at > %(now)s AND last_seen + make_interval(secs => idle_seconds) > "
            "%(now)s RETURNING claims", {"h": digest(session_id), "now": self.clock()})
        return Claims.from_dict(json.loads(rows[0]["claims"])) if rows else None

    def end(self, session_id: str) -> None:
        """See Sessions.end."""
        self._run("DELETE FROM dashboard_sessions WHERE id_hash = %(h)s",
                  {"h": digest(session_id)})

    def issue(self, purpose: str, payload: dict[str, Any], *, ttl: timedelta) -> str:
        """See Sessions.issue."""
        code = secrets.token_urlsafe(SECRET_BYTES)
        self._run("INSERT INTO dashboard_tickets (code_hash, purpose, payload, expires_at) "
                  "VALUES (%(h)s, %(purpose)s, %(payload)s, %(expires)s)",
                  {"h": digest(code), "purpose": purpose, "payload": json.dumps(payload),
                   "expires": self.clock() + ttl})
        return code

    def redeem(self, purpose: str, code: str) -> dict[str, Any] | None:
        """See Sessions.redeem: DELETE ... RETURNING, so two processes cannot both use it."""
        rows = self._run("DELETE FROM dashboard_tickets WHERE code_hash = %(h)s "
                         "AND purpose = %(purpose)s RETURNING payload, expires_at",
                         {"h": digest(code), "purpose": purpose})
        if not rows or rows[0]["expires_at"] <= self.clock():
            return None
        payload: dict[str, Any] = json.loads(rows[0]["payload"])
        return payload


def sessions_of(runtime: Runtime) -> Sessions:
    """The runtime's session store (PostgreSQL when it has a database, else in memory)."""
    found = runtime.extras.get("sessions")
    if found is None:
        store = runtime.app.store
        found = (PostgresSessions(store.datastore) if isinstance(store, PostgresStore)
                 else MemorySessions())
        runtime.extras["sessions"] = found
    sessions: Sessions = found
    return sessions
