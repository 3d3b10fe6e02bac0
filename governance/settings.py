"""Settings from the environment (CXGOV_*) and the one derivation of the eventsourcing env."""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Literal, Self
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

import platformdirs
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

EVENT_STORE_SCHEMA = "public"
DEFAULT_PORT = 5432
DEFAULT_DBNAME = "postgres"
_SCHEMES = ("postgresql", "postgres")
_QUERY_KEYS = frozenset({"host", "port", "user", "password", "dbname"})


@dataclass(frozen=True)
class ConnParams:
    """Connection parameters of a libpq URL; empty host/user mean the libpq defaults."""

    host: str
    port: int
    user: str
    password: str
    dbname: str

    def with_dbname(self, dbname: str) -> ConnParams:
        """Return the same server with another database."""
        return replace(self, dbname=dbname)

    def to_url(self) -> str:
        """Render as a libpq URL (a socket directory goes in ?host=)."""
        auth = quote(self.user, safe="")
        if self.password:
            auth += ":" + quote(self.password, safe="*")
        netloc = f"{auth}@" if auth else ""
        query: dict[str, str] = {}
        if self.host.startswith("/"):
            query["host"] = self.host
        else:
            netloc += f"[{self.host}]" if ":" in self.host else self.host
        if self.port != DEFAULT_PORT:
            if self.host and not self.host.startswith("/"):
                netloc += f":{self.port}"
            else:
                query["port"] = str(self.port)
        suffix = f"?{urlencode(query, safe='/')}" if query else ""
        return f"postgresql://{netloc}/{quote(self.dbname, safe='')}{suffix}"

    def redacted_url(self) -> str:
        """Render as a libpq URL with the password masked, for messages and logs."""
        shown = replace(self, password="***") if self.password else self
        return shown.to_url()


def parse_database_url(url: str) -> ConnParams:
    """Parse a postgresql:// (or postgres://) libpq URL; raise ValueError if unusable."""
    parts = urlsplit(url.strip())
    if parts.scheme not in _SCHEMES:
        raise ValueError("the database URL must start with postgresql:// or postgres://")
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user, _, password = userinfo.partition(":")
    if "," in hostport:
        raise ValueError("multi-host database URLs are not supported")
    host, port = _split_hostport(hostport)
    values = {
        "host": unquote(host),
        "port": port,
        "user": unquote(user),
        "password": unquote(password),
        "dbname": unquote(parts.path.lstrip("/")),
    }
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key not in _QUERY_KEYS:
            raise ValueError(
                f"unsupported database URL parameter {key!r}: the event store takes only "
                f"{sorted(_QUERY_KEYS)}; set other libpq options as PG* environment variables"
            )
        values[key] = value
    if not values["port"].isdigit() or not 0 < int(values["port"]) < 65536:
        raise ValueError("the database URL has an invalid port")
    return ConnParams(
        host=values["host"],
        port=int(values["port"]),
        user=values["user"],
        password=values["password"],
        dbname=values["dbname"] or DEFAULT_DBNAME,
    )


def _split_hostport(hostport: str) -> tuple[str, str]:
    """Split 'host:port' or '[v6]:port'; the port defaults to 5432."""
    if hostport.startswith("["):
        host, _, rest = hostport[1:].partition("]")
        return host, rest.removeprefix(":") or str(DEFAULT_PORT)
    host, _, port = hostport.partition(":")
    return host, port or str(DEFAULT_PORT)


class Settings(BaseSettings):
    """Validated configuration of one cxgov process, read from CXGOV_* variables."""

    model_config = SettingsConfigDict(env_prefix="CXGOV_", frozen=True, hide_input_in_errors=True)

    database_url: SecretStr | None = None
    data_dir: Path = Field(default_factory=lambda: platformdirs.user_data_path("cxgov"))
    store: Literal["postgres", "memory"] = "postgres"
    db_pool_size: int = Field(default=2, ge=1)  # connections each app opens at start
    db_max_overflow: int = Field(default=18, ge=0)  # more on demand, up to size + overflow
    db_connect_timeout: int = Field(default=5, ge=1)
    # Write deadlines (docs/operator-guide.md, "Write deadlines and readiness"), in seconds, 0 =
    # none: waiting for the events table lock; any one statement of a write transaction (the
    # server cancels it and rolls back, releasing the lock); a session left idle inside a
    # transaction is ended by the server.
    db_lock_timeout: int = Field(default=10, ge=0)
    db_statement_timeout: int = Field(default=30, ge=0)
    db_idle_in_transaction_timeout: int = Field(default=5, ge=0)
    env: Literal["dev", "prod"] = "dev"
    # A hot standby of database_url (docs/operator-guide.md, "Reads from a replica"): when set,
    # the API's read routes and dashboard pages read the views there; a read with min_position
    # waits up to read_replica_wait_seconds for the standby, then reads the primary. Unset:
    # everything reads the primary, as before.
    read_database_url: SecretStr | None = None
    read_replica_wait_seconds: float = Field(default=2.0, ge=0, le=60)
    audit_signing_key: SecretStr | None = None
    audit_signing_key_file: Path | None = None

    @field_validator("database_url", "read_database_url")
    @classmethod
    def _check_database_url(cls, value: SecretStr | None) -> SecretStr | None:
        """Refuse URLs the event store cannot use (without echoing the secret)."""
        if value is not None:
            parse_database_url(value.get_secret_value())
        return value

    @field_validator("data_dir")
    @classmethod
    def _expand_data_dir(cls, value: Path) -> Path:
        """Expand ~ so the embedded server gets an absolute folder."""
        return value.expanduser()

    @field_validator("audit_signing_key_file")
    @classmethod
    def _expand_key_file(cls, value: Path | None) -> Path | None:
        """Expand ~ in the checkpoint signing key's path."""
        return None if value is None else value.expanduser()

    @model_validator(mode="after")
    def _check_prod(self) -> Self:
        """Production runs on a configured PostgreSQL, never the embedded or memory store."""
        if self.env == "prod" and self.store != "postgres":
            raise ValueError("CXGOV_STORE must be postgres when CXGOV_ENV=prod")
        if self.env == "prod" and self.database_url is None:
            raise ValueError("CXGOV_DATABASE_URL is required when CXGOV_ENV=prod")
        if self.read_database_url is not None and self.store != "postgres":
            raise ValueError("CXGOV_READ_DATABASE_URL needs CXGOV_STORE=postgres")
        if self.env == "prod" and self.demo_sign_in:
            raise ValueError("CXGOV_DEMO_SIGN_IN (sign in as any persona without a credential) "
                             "is refused when CXGOV_ENV=prod")
        return self

    # --- HTTP API authentication (api/auth.py) ------------------------------------------------
    # Embedded mode signs and verifies HS256 with a secret: jwt_secret if given, else one
    # generated once into jwt_secret_file (default <data_dir>/jwt-secret, mode 0600).
    # Production sets jwt_jwks_url: tokens are RS256/ES256, verified against the provider's
    # keys (cached; `kid` required). Algorithms are allow-listed; exp, iss and aud are checked.
    jwt_issuer: str = "cxgov"
    jwt_audience: str = "cxgov-api"
    jwt_secret: SecretStr | None = None
    jwt_secret_file: Path | None = None
    jwt_jwks_url: str | None = None
    jwt_algorithms: tuple[str, ...] | None = None  # default: HS256, or RS256+ES256 with JWKS
    jwt_leeway_seconds: int = Field(default=0, ge=0, le=300)

    # --- Dashboard sign-in and sessions (api/web/session.py; docs/operator-guide.md) ----------
    # DEMO ONLY: the one-click persona picker signs anyone in as any demo persona without a
    # credential. `cxgov demo` turns it on; refused when env is prod.
    demo_sign_in: bool = False
    # A dashboard session ends after this long without a request, and this long after sign-in.
    session_idle_seconds: int = Field(default=1800, ge=60, le=86_400)
    session_max_seconds: int = Field(default=8 * 3600, ge=300, le=7 * 86_400)
    # OIDC sign-in (authorization code + PKCE) against jwt_issuer, on when a JWKS URL and a
    # client id are set. The redirect URL defaults to <this server>/dashboard/oidc/callback.
    oidc_client_id: str | None = None
    oidc_client_secret: SecretStr | None = None
    oidc_redirect_url: str | None = None
    oidc_scopes: str = "openid profile"

    # --- Operations (api/observability.py, api/routes/health.py; docs/operator-guide.md) ------
    # /readyz answers 503 when the projectors are more than this many events, or this many
    # seconds (age of the oldest unprojected event), behind the log; 0 turns a check off.
    ready_max_lag_events: int = Field(default=1000, ge=0)
    ready_max_lag_seconds: float = Field(default=60.0, ge=0)
    # ... and when events have waited this many seconds while no projector recorded a heartbeat
    # for a projection within as many seconds (check `no_projector`); 0 turns the check off.
    ready_projector_timeout_seconds: float = Field(default=15.0, ge=0)
    # The projector process (`cxgov project`, and `cxgov demo`) signs an audit checkpoint when
    # this many seconds have passed with new events, and whenever a period is closed; 0: never.
    audit_checkpoint_interval_seconds: float = Field(default=3600.0, ge=0)
    log_json: bool = True  # structured JSON request logs on the "cxgov.access" logger
    # A request still running after this many seconds is answered 503 `request.timeout` (the
    # work finishes in the background; retry with the same Idempotency-Key); 0 turns it off.
    request_timeout_seconds: float = Field(default=60.0, ge=0)
    # /readyz answers 503 when a writer could not get the event store's lock within this many
    # milliseconds (probed on each call, PostgreSQL only); 0 turns the check off.
    ready_lock_timeout_ms: int = Field(default=2000, ge=0)

    # --- Outbound webhooks (governance/webhooks.py; docs/operator-guide.md "Webhooks") --------
    # Allow http, loopback and private-network targets (a receiver on this host or the LAN);
    # off: https to public addresses only. Link-local and metadata addresses are never allowed.
    webhook_allow_local_targets: bool = False
    webhook_timeout_seconds: float = Field(default=5.0, gt=0, le=60)  # one POST
    webhook_max_attempts: int = Field(default=12, ge=1, le=100)  # then dead-lettered ...
    webhook_max_age_seconds: float = Field(default=86_400.0, gt=0)  # ... or this old
    webhook_retry_base_seconds: float = Field(default=2.0, gt=0)  # back-off: base * 2^(n-1)
    webhook_retry_cap_seconds: float = Field(default=600.0, gt=0)  # ... at most this, jittered
    webhook_workers: int = Field(default=4, ge=1, le=32)  # delivery threads per process


def read_url(settings: Settings) -> str | None:
    """The hot standby's URL the read side reads views from (None: read the primary)."""
    found = settings.read_database_url
    return None if found is None else found.get_secret_value()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the process settings, read from the environment once."""
    return Settings()


def eventstore_env(settings: Settings, database_url: str | None) -> dict[str, str]:
    """Derive the eventsourcing environment (the only place that does)."""
    if settings.store == "memory":
        return {"PERSISTENCE_MODULE": "eventsourcing.popo"}
    if database_url is None and settings.database_url is not None:
        database_url = settings.database_url.get_secret_value()
    if database_url is None:
        raise ValueError("the postgres store needs a database URL (see resolve_database_url)")
    params = parse_database_url(database_url)
    return {
        "PERSISTENCE_MODULE": "governance.stores.integrity",
        "POSTGRES_DBNAME": params.dbname,
        "POSTGRES_HOST": params.host,
        "POSTGRES_PORT": str(params.port),
        "POSTGRES_USER": params.user,
        "POSTGRES_PASSWORD": params.password,
        "POSTGRES_SCHEMA": EVENT_STORE_SCHEMA,
        "CREATE_TABLE": "n",
        "POSTGRES_POOL_SIZE": str(settings.db_pool_size),
        "POSTGRES_MAX_OVERFLOW": str(settings.db_max_overflow),
        "POSTGRES_CONNECT_TIMEOUT": str(settings.db_connect_timeout),
        "POSTGRES_LOCK_TIMEOUT": str(settings.db_lock_timeout),
        "POSTGRES_STATEMENT_TIMEOUT": str(settings.db_statement_timeout),
        "POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT": str(
            settings.db_idle_in_transaction_timeout),
        **audit_seal_env(settings),
    }


def audit_seal_env(settings: Settings) -> dict[str, str]:
    """The key that seals each write transaction (issue 18): the audit signing key, when one
    is configured or its key file exists (never created here); none, writes are unsealed."""
    if settings.audit_signing_key is not None:
        return {"CXGOV_AUDIT_SEAL_KEY": settings.audit_signing_key.get_secret_value()}
    path = settings.audit_signing_key_file or settings.data_dir / "audit" / "signing.key"
    if path.is_file():
        return {"CXGOV_AUDIT_SEAL_KEY": path.read_text(encoding="ascii")}
    return {}
