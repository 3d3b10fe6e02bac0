"""Where the CPU of one HTTP command goes: `python -m ops.bench.budget [--commands N]`.

Run it on an otherwise idle machine: it counts every PostgreSQL process's CPU.

Everything runs on one machine: the load generator, two API processes and PostgreSQL. This
counts the CPU seconds (user + system, from /proc) each of them spent while N submissions,
then N approvals, ran from 4 client threads, and prints milliseconds per command. On C cores
the commands/s can never exceed C / (total ms per command) * 1000, whatever the locking;
that bound, next to the single-save ceiling, is the first explanation of a gap.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from governance.app import Governance
from ops.bench.__main__ import CX, submit_call
from ops.bench.history import setup_world
from ops.bench.infra import ApiServer, env_for, scratch_database, scratch_server
from ops.bench.load import Answer, Client, closed_loop

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def postgres_seconds() -> float:
    """CPU seconds of every PostgreSQL process on this machine (backends included)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if b"postgres" in (entry / "cmdline").read_bytes().split(b"\0")[0]:
                total += cpu_seconds(int(entry.name))
        except (OSError, IndexError):
            continue
    return total


def measure(servers: list[ApiServer], calls: list[Callable[[Client], Answer]]
            ) -> tuple[float, dict[str, float]]:
    """(commands/s, CPU ms per command by part) of running the calls."""
    pids = [s.process.pid for s in servers if s.process is not None]
    server0, pg0, client0 = sum(map(cpu_seconds, pids)), postgres_seconds(), time.process_time()
    result = closed_loop([s.base for s in servers], calls, threads=4)
    parts = {"API processes": sum(map(cpu_seconds, pids)) - server0,
             "PostgreSQL": postgres_seconds() - pg0,
             "load generator": time.process_time() - client0}
    return result.rate, {k: v / len(calls) * 1000 for k, v in parts.items()}


def main(argv: Sequence[str] | None = None) -> int:
    """Print the CPU budget of submissions and approvals over HTTP."""
    parser = argparse.ArgumentParser(prog="python -m ops.bench.budget", description=__doc__)
    parser.add_argument("--commands", type=int, default=200)
    args = parser.parse_args(argv)
    cores = os.cpu_count() or 1
    with scratch_server() as admin, scratch_database(admin, "cxgov_bench_budget") as url, \
            tempfile.TemporaryDirectory() as folder:
        gov = Governance(env=env_for(url))
        setup_world(gov)
        servers = [ApiServer(url, Path(folder)).start() for _ in range(2)]
        try:
            codes = [f"B{k:05d}" for k in range(args.commands)]
            rate, parts = measure(servers, [submit_call(c) for c in codes])
            report("submit", rate, parts, cores)
            ids = [gov.initiative_id("FY2027", c) for c in codes]

            def approve(i: object) -> Callable[[Client], Answer]:
                return lambda c: c.post(f"/v1/initiatives/{i}/decisions", headers=CX,
                                        json={"outcome": "approve", "rationale": "budget"})

            rate, parts = measure(servers, [approve(i) for i in ids])
            report(f"approve ({args.commands} in the period)", rate, parts, cores)
        finally:
            for server in servers:
                server.stop()
            gov.close()
    return 0


def report(name: str, rate: float, parts: dict[str, float], cores: int) -> None:
    """One line per command kind."""
    total = sum(parts.values())
    shown = ", ".join(f"{k} {v:.2f}" for k, v in parts.items())
    print(f"budget | {name} | {rate:.1f}/s | CPU ms per command: {shown}, total {total:.2f} | "
          f"CPU bound on {cores} cores: {cores / total * 1000:.0f}/s", flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
