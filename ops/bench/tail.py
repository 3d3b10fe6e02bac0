"""Tail throughput of the live portfolio projection after a rebuild on a long history.

    python -m ops.bench.tail --events 200000 --tail 1000 [--runner]

Writes `--events` generated events (ops/bench/history.py) to a scratch database, rebuilds the
read models, then times the live projection of `--tail` more events: in process through
`catch_up` (the in-process read models' path), or with `--runner` by `cxgov project` in a
subprocess (its supervised ProjectionRunners; started and caught up first, then the tail is
written and followed).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import ExitStack

from governance.app import Governance
from governance.stores.readside import bound_portfolio_projection, postgres_views, rebuild
from ops.bench.history import Generator, setup_world
from ops.bench.infra import ROOT, env_for, scratch_database, scratch_server
from projections.log import ApplicationLog
from projections.projection import catch_up


def _wait(view: object, app_name: str, position: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while (view.max_tracking_id(app_name) or 0) < position:  # type: ignore[attr-defined]
        if time.monotonic() > deadline:
            raise TimeoutError(f"projection did not reach {position} in {timeout} s")
        time.sleep(0.01)


def main(argv: Sequence[str] | None = None) -> int:
    """Print the rebuild time and the tail's events/s."""
    parser = argparse.ArgumentParser(prog="python -m ops.bench.tail", description=__doc__)
    parser.add_argument("--events", type=int, default=200_000, help="history before the tail")
    parser.add_argument("--tail", type=int, default=1000, help="events projected live")
    parser.add_argument("--runner", action="store_true",
                        help="follow with `cxgov project` (its ProjectionRunners) as a subprocess")
    parser.add_argument("--timeout", type=float, default=1800)
    args = parser.parse_args(argv)
    with ExitStack() as stack:
        admin = stack.enter_context(scratch_server())
        url = stack.enter_context(scratch_database(admin, "cxgov_tail"))
        env = env_for(url, pool_size=2, overflow=8)
        gov = Governance(env=env)
        try:
            setup_world(gov, four_eyes_m="1000")
            generator = Generator(gov)
            start = time.perf_counter()
            generator.write(args.events)
            print(f"history | {gov.position()} events written in "
                  f"{time.perf_counter() - start:.1f} s ({generator.periods} periods)", flush=True)
            start = time.perf_counter()
            rebuild(gov, env)
            print(f"rebuild | {time.perf_counter() - start:.1f} s", flush=True)
            portfolio, _ = postgres_views(env)
            if args.runner:
                data_dir = stack.enter_context(tempfile.TemporaryDirectory())
                process = subprocess.Popen(
                    [sys.executable, "-m", "governance.entrypoints.cli", "project"], cwd=ROOT,
                    env={**os.environ, "CXGOV_DATABASE_URL": url, "CXGOV_DATA_DIR": data_dir},
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                try:
                    start = time.perf_counter()
                    generator.write(1)  # a first new event: the projector started and restored
                    _wait(portfolio, gov.name, gov.position(), args.timeout)
                    print(f"restore | `cxgov project` started and restored in "
                          f"{time.perf_counter() - start:.1f} s", flush=True)
                    before = gov.position()
                    start = time.perf_counter()
                    generator.write(args.tail)
                    print(f"write | {args.tail} events in {time.perf_counter() - start:.2f} s "
                          "(followed meanwhile)", flush=True)
                    _wait(portfolio, gov.name, gov.position(), args.timeout)
                    seconds = time.perf_counter() - start
                finally:
                    process.kill()
                    process.wait()
            else:
                start = time.perf_counter()
                projection = bound_portfolio_projection(None, gov)(portfolio)
                print(f"restore | {time.perf_counter() - start:.1f} s", flush=True)
                before = gov.position()
                generator.write(args.tail)
                start = time.perf_counter()
                catch_up(ApplicationLog(gov), projection, application_name=gov.name)
                seconds = time.perf_counter() - start
            count = gov.position() - before
            mode = "runner" if args.runner else "in-process"
            print(f"tail | {mode}: {count} events at {before} in {seconds:.2f} s | "
                  f"{count / seconds:.0f} events/s", flush=True)
        finally:
            gov.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
