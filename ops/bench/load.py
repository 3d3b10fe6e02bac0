"""HTTP load: closed-loop throughput and open-loop latency at a fixed request rate."""

from __future__ import annotations

import http.client
import json
import statistics
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Answer:
    """An HTTP response: status and body."""

    status_code: int
    content: bytes

    def json(self) -> Any:
        """The body as JSON."""
        return json.loads(self.content)


class Client:
    """A keep-alive HTTP/1.1 client on the standard library, for load generation.

    The load runs on the same machine as the servers and the database, so the client's own
    CPU is taken from what is measured: httpx spends about 0.56 ms of CPU per request here,
    `http.client` about 0.18 ms (docs/performance.md). Same wire protocol, same requests.
    """

    def __init__(self, base_url: str, timeout: float = 120) -> None:
        parts = urlsplit(base_url)
        self._host, self._port = parts.hostname or "127.0.0.1", parts.port or 80
        self._timeout = timeout
        self._conn: http.client.HTTPConnection | None = None

    def post(self, path: str, *, json: Any = None,
             headers: dict[str, str] | None = None) -> Answer:
        """POST a JSON body."""
        return self.request("POST", path, body=json, headers=headers)

    def get(self, path: str, *, headers: dict[str, str] | None = None) -> Answer:
        """GET."""
        return self.request("GET", path, headers=headers)

    def request(self, method: str, path: str, *, body: Any = None,
                headers: dict[str, str] | None = None) -> Answer:
        """One request on the kept-alive connection (reconnects once if the server closed it)."""
        payload = None if body is None else _dumps(body)
        sent = {**(headers or {}), **({"Content-Type": "application/json"} if payload else {})}
        for attempt in (1, 2):
            if self._conn is None:
                self._conn = http.client.HTTPConnection(self._host, self._port,
                                                        timeout=self._timeout)
            try:
                self._conn.request(method, path, body=payload, headers=sent)
                response = self._conn.getresponse()
                return Answer(response.status, response.read())
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        """Close the connection."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _dumps(body: Any) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()


@dataclass(frozen=True)
class Throughput:
    """Operations per second and how many failed."""

    count: int
    seconds: float
    failures: int
    refused: tuple[int, ...] = ()  # HTTP statuses of the failures

    @property
    def rate(self) -> float:
        """Successful operations per second."""
        return (self.count - self.failures) / self.seconds


def combined(runs: list[Throughput]) -> Throughput:
    """Several runs as one."""
    return Throughput(sum(r.count for r in runs), sum(r.seconds for r in runs),
                      sum(r.failures for r in runs), tuple(s for r in runs for s in r.refused))


def closed_loop(bases: list[str], calls: list[Callable[[Client], Answer]], *,
                threads: int) -> Throughput:
    """Run every call from `threads` workers (each its own client, round robin over servers)."""
    local = threading.local()

    def run(n: int) -> int:
        client = getattr(local, "client", None)
        if client is None:
            client = local.client = Client(bases[n % len(bases)])
        try:
            return calls[n](client).status_code
        except (OSError, http.client.HTTPException):
            return 599

    start = time.perf_counter()
    pool = ThreadPoolExecutor(threads)
    try:
        statuses = list(pool.map(run, range(len(calls))))
    finally:  # on an interrupt, drop the queued calls instead of running them all
        pool.shutdown(cancel_futures=True)
    refused = tuple(sorted(s for s in statuses if s >= 300))
    return Throughput(len(calls), time.perf_counter() - start, len(refused), refused)


def open_loop(work: Callable[[int], object], *, rate: float, count: int,
              threads: int = 32) -> list[float]:
    """Latencies (s) of `count` calls started at a fixed rate, measured from their start slot."""
    latencies: list[float] = []
    lock = threading.Lock()
    start = time.perf_counter() + 0.05

    def run(n: int) -> None:
        slot = start + n / rate
        delay = slot - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        work(n)
        with lock:
            latencies.append(time.perf_counter() - slot)

    pool = ThreadPoolExecutor(threads)
    try:
        list(pool.map(run, range(count)))
    finally:
        pool.shutdown(cancel_futures=True)
    return latencies


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) of values."""
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[max(0, min(98, int(q) - 1))]
