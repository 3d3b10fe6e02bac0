"""HTTP load: closed-loop throughput and open-loop latency at a fixed request rate."""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx


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


def closed_loop(bases: list[str], calls: list[Callable[[httpx.Client], httpx.Response]], *,
                threads: int) -> Throughput:
    """Run every call from `threads` workers (each its own client, round robin over servers)."""
    local = threading.local()

    def run(n: int) -> int:
        client = getattr(local, "client", None)
        if client is None:
            client = local.client = httpx.Client(base_url=bases[n % len(bases)], timeout=120)
        try:
            return calls[n](client).status_code
        except httpx.TransportError:
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
