"""Where an API command's time goes: py-spy on one API process while it serves commands.

`python -m ops.bench.profile [--commands N]` (py-spy comes with the dev extra); prints the
functions with the largest inclusive share of the server's samples, per command kind.
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


def summarise(raw: Path, top: int = TOP) -> list[tuple[float, str]]:
    """(share, function) with the largest inclusive share of the collapsed stacks."""
    inclusive: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        total += int(count)
        for frame in set(stack.split(";")):
            inclusive[frame] += int(count)
    return [(n / max(total, 1), frame) for frame, n in inclusive.most_common(top)]


def profiled(server: ApiServer, work: Callable[[], object], out: Path) -> list[tuple[float, str]]:
    """Run `work` while py-spy samples the server process."""
    assert server.process is not None
    spy = shutil.which("py-spy") or str(Path(__file__).resolve().parents[2] / ".venv/bin/py-spy")
    recorder = subprocess.Popen([spy, "record", "--pid", str(server.process.pid), "--format",
                                 "raw", "--output", str(out), "--rate", "200", "--nonblocking"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)
    work()
    recorder.send_signal(2)
    recorder.wait(timeout=60)
    return summarise(out)


def main(argv: Sequence[str] | None = None) -> int:
    """Profile submissions, then approvals, on one API process."""
    parser = argparse.ArgumentParser(prog="python -m ops.bench.profile", description=__doc__)
    parser.add_argument("--commands", type=int, default=40)
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
                             Path(folder) / "submit.txt")
            print("submit: inclusive share of samples")
            for share, frame in found:
                print(f"  {share:6.1%}  {frame}")
            ids = [str(gov.initiative_id("FY2027", c)) for c in codes]

            def approve(i: str) -> Callable[[Client], Answer]:
                return lambda c: c.post(f"/v1/initiatives/{i}/decisions", headers=CX,
                                        json={"outcome": "approve", "rationale": "profile"})

            found = profiled(server, lambda: closed_loop([server.base], [approve(i) for i in ids],
                                                         threads=2), Path(folder) / "approve.txt")
            print(f"approve ({args.commands} undecided at the start): inclusive share")
            for share, frame in found:
                print(f"  {share:6.1%}  {frame}")
        finally:
            server.stop()
            gov.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
