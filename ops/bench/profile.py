"""Where an API command's time goes: py-spy on one API process while it serves commands.

`python -m ops.bench.profile [--commands N] [--gil]` (py-spy comes with the dev extra); prints
the functions with the largest inclusive share of the server's samples, per command kind, and
the largest self shares (the frame on top of the stack). Without `--gil` the samples include
threads waiting on PostgreSQL or a lock (wall time); with it only the thread holding the GIL is
sampled, so the shares are of the process's Python CPU.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

from governance.app import Governance
from ops.bench.__main__ import CX, submit_call
from ops.bench.history import setup_world
from ops.bench.infra import ApiServer, env_for, scratch_database, scratch_server
from ops.bench.load import Answer, Client, closed_loop

TOP = 25


def summarise(raw: Path, top: int = TOP, *, own: bool = False) -> list[tuple[float, str]]:
    """(share, function) with the largest inclusive share of the collapsed stacks (`own`:
    the largest self share, the top frame only)."""
    inclusive: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        total += int(count)
        frames = stack.split(";")
        for frame in ({frames[-1]} if own else set(frames)):
            inclusive[frame] += int(count)
    return [(n / max(total, 1), frame) for frame, n in inclusive.most_common(top)]


def profiled(server: ApiServer, work: Callable[[], object], out: Path, *, gil: bool = False,
             top: int = TOP) -> list[tuple[float, str]]:
    """Run `work` while py-spy samples the server process."""
    assert server.process is not None
    spy = shutil.which("py-spy") or str(Path(__file__).resolve().parents[2] / ".venv/bin/py-spy")
    recorder = subprocess.Popen([spy, "record", "--pid", str(server.process.pid), "--format",
                                 "raw", "--output", str(out), "--rate", "200", "--nonblocking",
                                 *(["--gil"] if gil else [])],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)
    work()
    recorder.send_signal(2)
    recorder.wait(timeout=60)
    return summarise(out, top)


def main(argv: Sequence[str] | None = None) -> int:
    """Profile submissions, then approvals, on one API process."""
    parser = argparse.ArgumentParser(prog="python -m ops.bench.profile", description=__doc__)
    parser.add_argument("--commands", type=int, default=40)
    parser.add_argument("--gil", action="store_true", help="sample the GIL holder only (CPU)")
    parser.add_argument("--top", type=int, default=TOP, help="rows per table")
    args = parser.parse_args(argv)
    with scratch_server() as admin, scratch_database(admin, "cxgov_bench_prof") as url, \
            tempfile.TemporaryDirectory() as folder:
        gov = Governance(env=env_for(url))
        setup_world(gov)
        server = ApiServer(url, Path(folder)).start()
        try:
            codes = [f"P{k:05d}" for k in range(args.commands)]
            calls = [submit_call(c) for c in codes]
            found = profiled(server, lambda: closed_loop([server.base], calls, threads=2),
                             Path(folder) / "submit.txt", gil=args.gil, top=args.top)
            show("submit: inclusive share of samples", found)
            show("submit: self share", summarise(Path(folder) / "submit.txt", args.top,
                                                 own=True))
            ids = [str(gov.initiative_id("FY2027", c)) for c in codes]

            def approve(i: str) -> Callable[[Client], Answer]:
                return lambda c: c.post(f"/v1/initiatives/{i}/decisions", headers=CX,
                                        json={"outcome": "approve", "rationale": "profile"})

            found = profiled(server, lambda: closed_loop([server.base], [approve(i) for i in ids],
                                                         threads=2), Path(folder) / "approve.txt",
                             gil=args.gil, top=args.top)
            show(f"approve ({args.commands} undecided at the start): inclusive share", found)
            show("approve: self share", summarise(Path(folder) / "approve.txt", args.top,
                                                  own=True))
        finally:
            server.stop()
            gov.close()
    return 0


def show(title: str, found: list[tuple[float, str]]) -> None:
    """One table of shares."""
    print(title)
    for share, frame in found:
        print(f"  {share:6.1%}  {frame}")


if __name__ == "__main__":
    raise SystemExit(main())
