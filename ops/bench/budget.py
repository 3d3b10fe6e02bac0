"""Where the CPU of one HTTP command goes: `python -m ops.bench.budget [--commands N]`.

Run it on an otherwise idle machine: it counts every PostgreSQL process's CPU.

Everything runs on one machine: the load generator, two API processes and PostgreSQL. This
counts the CPU seconds (user + system, from /proc) each of them spent while N submissions,
then N approvals, ran from 4 client threads, and prints milliseconds per command. On C cores
the commands/s can never exceed C / (total ms per command) * 1000, whatever the locking;
that bound, next to the single-save ceiling, is the first explanation of a gap.

`--compare TREE` is a same-run A/B: the second API process runs the code of another checkout
(`TREE`, e.g. a copy with one change), both serve the same load at the same time, and each
process's CPU is divided by the commands it served (its own `/metrics` count), so the
machine's load falls on both alike. `--compare-server granian` runs that second process
under Granian (a Rust HTTP server; it must be importable, e.g. on `--compare-path`) instead
of uvicorn; a process's CPU includes its children's (Granian's worker).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from governance.app import Governance
from ops.bench.__main__ import CX, submit_call
from ops.bench.history import setup_world
from ops.bench.infra import (
    JWT_SECRET,
    ROOT,
    ApiServer,
    env_for,
    scratch_database,
    scratch_server,
)
from ops.bench.load import Answer, Client, closed_loop

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def tree_seconds(pid: int) -> float:
    """CPU seconds of a process and its living descendants."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int(
                    (entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    family, grew = {pid}, True
    while grew:
        more = {child for child, parent in parents.items() if parent in family} - family
        family |= more
        grew = bool(more)
    total = 0.0
    for member in family:
        try:
            total += cpu_seconds(member)
        except OSError:
            continue
    return total


class GranianServer(ApiServer):
    """The API under Granian (ASGI, one worker) instead of uvicorn."""

    def start(self, module: str = "api.app:serve") -> GranianServer:
        """Start Granian and wait until it answers."""
        env = {**os.environ, "CXGOV_DATABASE_URL": self.url, "CXGOV_STORE": "postgres",
               "CXGOV_DATA_DIR": str(self.data_dir), "CXGOV_JWT_SECRET": JWT_SECRET,
               "CXGOV_DB_POOL_SIZE": str(self.pool_size),
               "CXGOV_DB_MAX_OVERFLOW": str(self.overflow), "CXGOV_LOG_JSON": "false",
               **self.extra_env}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "granian", "--interface", "asgi", "--factory", "--host",
             "127.0.0.1", "--port", str(self.port), "--workers", "1", "--no-ws",
             "--log-level", "warning", "--no-access-log", module],
            env=env, cwd=ROOT, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
        self._wait_started()
        return self


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


def served(server: ApiServer) -> float:
    """Commands a server has answered (its cxgov_commands_total, every outcome)."""
    client = Client(server.base)
    try:
        text = client.get("/metrics").content.decode()
    finally:
        client.close()
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("cxgov_commands_total{"))


def measure(servers: list[ApiServer], calls: list[Callable[[Client], Answer]]
            ) -> tuple[float, dict[str, float], list[float]]:
    """(commands/s, CPU ms per command by part, API CPU ms per command each server served)
    of running the calls."""
    pids = [s.process.pid for s in servers if s.process is not None]
    each0, counts0 = [tree_seconds(p) for p in pids], [served(s) for s in servers]
    pg0, client0 = postgres_seconds(), time.process_time()
    result = closed_loop([s.base for s in servers], calls, threads=4)
    each = [tree_seconds(p) - c for p, c in zip(pids, each0, strict=True)]
    parts = {"API processes": sum(each),
             "PostgreSQL": postgres_seconds() - pg0,
             "load generator": time.process_time() - client0}
    counts = [served(s) - c for s, c in zip(servers, counts0, strict=True)]
    per_server = [cpu / max(n, 1) * 1000 for cpu, n in zip(each, counts, strict=True)]
    return result.rate, {k: v / len(calls) * 1000 for k, v in parts.items()}, per_server


def main(argv: Sequence[str] | None = None) -> int:
    """Print the CPU budget of submissions and approvals over HTTP."""
    parser = argparse.ArgumentParser(prog="python -m ops.bench.budget", description=__doc__)
    parser.add_argument("--commands", type=int, default=200)
    parser.add_argument("--compare", type=Path, metavar="TREE",
                        help="run the second API process from this checkout (same-run A/B)")
    parser.add_argument("--compare-server", choices=("uvicorn", "granian"), default="uvicorn",
                        help="the second API process's server")
    parser.add_argument("--compare-path", type=Path, help="also importable by that process")
    args = parser.parse_args(argv)
    cores = os.cpu_count() or 1
    with scratch_server() as admin, scratch_database(admin, "cxgov_bench_budget") as url, \
            tempfile.TemporaryDirectory() as folder:
        gov = Governance(env=env_for(url))
        setup_world(gov)
        tree = (args.compare or ROOT).resolve()
        path = os.pathsep.join([str(tree), *([str(args.compare_path)] if args.compare_path
                                            else [])])
        other = {"PYTHONSAFEPATH": "1", "PYTHONPATH": path}
        second = GranianServer if args.compare_server == "granian" else ApiServer
        if args.compare is None and args.compare_server == "granian":
            args.compare = tree
        servers = [ApiServer(url, Path(folder)).start(),
                   second(url, Path(folder), extra_env=other).start()]
        try:
            codes = [f"B{k:05d}" for k in range(args.commands)]
            rate, parts, each = measure(servers, [submit_call(c) for c in codes])
            report("submit", rate, parts, cores, each, args.compare)
            ids = [gov.initiative_id("FY2027", c) for c in codes]

            def approve(i: object) -> Callable[[Client], Answer]:
                return lambda c: c.post(f"/v1/initiatives/{i}/decisions", headers=CX,
                                        json={"outcome": "approve", "rationale": "budget"})

            rate, parts, each = measure(servers, [approve(i) for i in ids])
            report(f"approve ({args.commands} in the period)", rate, parts, cores, each,
                   args.compare)
        finally:
            for server in servers:
                server.stop()
            gov.close()
    return 0


def report(name: str, rate: float, parts: dict[str, float], cores: int,
           each: Sequence[float] = (), compare: Path | None = None) -> None:
    """One line per command kind (and, with --compare, the API CPU of each tree)."""
    total = sum(parts.values())
    shown = ", ".join(f"{k} {v:.2f}" for k, v in parts.items())
    print(f"budget | {name} | {rate:.1f}/s | CPU ms per command: {shown}, total {total:.2f} | "
          f"CPU bound on {cores} cores: {cores / total * 1000:.0f}/s", flush=True)
    if compare is not None and len(each) == 2:
        print(f"compare | {name} | API CPU ms per command served: this checkout {each[0]:.2f}, "
              f"{compare} {each[1]:.2f} | ratio {each[1] / each[0]:.3f}", flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
