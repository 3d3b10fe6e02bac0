"""Racing commands on threads: the shared harness of the PostgreSQL race tests."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from domain.errors import CxgovError
from governance.app import Governance


def race(env: dict[str, str], count: int, act: Callable[[Governance, int], str],
         start_at: float) -> list[str]:
    """In one process: `count` threads on one app, released together at `start_at`, thread
    `n` running `act(app, n)`. Each outcome is the word `act` returns, a refusal's stable
    code, or `crash: ...` for anything else (which the test must report)."""
    app = Governance(env=env)
    barrier = threading.Barrier(count)
    outcomes = ["unset"] * count

    def racer(n: int) -> None:
        barrier.wait()
        time.sleep(max(0.0, start_at - time.time()))
        try:
            outcomes[n] = act(app, n)
        except CxgovError as exc:
            outcomes[n] = exc.code
        except Exception as exc:  # anything else is a crash the test must report
            outcomes[n] = f"crash: {type(exc).__name__}: {exc}"

    threads = [threading.Thread(target=racer, args=(n,)) for n in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    app.close()
    return outcomes
