"""Reliability drills: `python -m ops.reliability [--quick]` (docs/reliability.md).

`--only replica` runs the replica drill (not part of the default run): a synchronous hot
standby promoted while writers run, counting lost acknowledged writes.

Scratch databases go on CXGOV_DATABASE_URL's server, else on an embedded server in a temporary
folder; the fault drill always starts its own embedded server (the only one it restarts).
Exits 1 if any drill found a violation or a lost write (a negative control that is not caught
is a violation).
"""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from ops.bench.infra import machine_facts, scratch_server
from ops.reliability.common import Report
from ops.reliability.crashes import crash_control, crash_drill
from ops.reliability.faults import faults_drill
from ops.reliability.race import negative_control, race_drill
from ops.reliability.replica import replica_drill
from ops.reliability.tailing import tailing_control, tailing_drill
from ops.reliability.webhooks import webhook_drill

QUICK = {"racers": 16, "rounds": 1, "room": 5, "fault_s": 8.0, "tail_s": 2.0, "kills": 2,
         "events": 400, "refuse_s": 3.0, "hook_events": 40, "replica_before": 20,
         "replica_after": 10}
#: Drills that run only when named with --only (the replica drill starts its own primary and
#: standby from the embedded server's binaries: ops/cluster pg-start).
OPT_IN = frozenset({"replica"})
CONTROL_KILLS, CONTROL_EVENTS = 10, 3000  # the crash control's size, quick or full
FULL = {"racers": 200, "rounds": 50, "room": 7, "fault_s": 300.0, "tail_s": 60.0, "kills": 50,
        "events": 20_000, "refuse_s": 30.0, "hook_events": 400, "replica_before": 400,
        "replica_after": 200}


def main(argv: Sequence[str] | None = None) -> int:
    """Run every drill and print one line each; exit 1 on any violation or lost write."""
    parser = argparse.ArgumentParser(prog="ops/reliability/run", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="short version for the test suite")
    parser.add_argument("--racers", type=int)
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--fault-seconds", type=float)
    parser.add_argument("--kills", type=int)
    parser.add_argument("--events", type=int, help="history length of the crash drill")
    parser.add_argument("--refuse-seconds", type=float,
                        help="how long the webhook drill's receiver refuses (503)")
    parser.add_argument("--only", choices=("race", "control", "faults", "tailing",
                                            "tailing-control", "crashes", "crash-control",
                                            "webhooks", "replica"),
                        action="append",
                        help="run only these drills (replica runs only when named here)")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # clean up scratch state
    sizes = dict(QUICK if args.quick else FULL)
    if args.racers:
        sizes["racers"] = args.racers
    if args.rounds:
        sizes["rounds"] = args.rounds
    if args.fault_seconds:
        sizes["fault_s"] = args.fault_seconds
    if args.kills:
        sizes["kills"] = args.kills
    if args.events:
        sizes["events"] = args.events
    if args.refuse_seconds:
        sizes["refuse_s"] = args.refuse_seconds
    print(f"sizes: {sizes}", flush=True)
    reports: list[Report] = []
    with scratch_server() as admin, tempfile.TemporaryDirectory() as folder:
        print(machine_facts(admin), flush=True)
        data_dir = Path(folder)
        racers, room = int(sizes["racers"]), int(sizes["room"])
        drills: dict[str, Callable[[], Report]] = {
            "race": lambda: race_drill(admin, data_dir, racers=racers,
                                       rounds=int(sizes["rounds"]), room=room),
            "control": lambda: negative_control(admin, data_dir, racers=min(racers, 40),
                                                room=room),
            "faults": lambda: faults_drill(data_dir, seconds=sizes["fault_s"]),
            "tailing": lambda: tailing_drill(admin, writers=10, readers=3,
                                             seconds=sizes["tail_s"]),
            "tailing-control": lambda: tailing_control(admin, writers=10, readers=3,
                                                       seconds=min(sizes["tail_s"], 10.0)),
            "crashes": lambda: crash_drill(admin, data_dir, kills=int(sizes["kills"]),
                                           events=int(sizes["events"])),
            "crash-control": lambda: crash_control(admin, data_dir, kills=CONTROL_KILLS,
                                                   events=CONTROL_EVENTS),
            "webhooks": lambda: webhook_drill(admin, data_dir, refuse_s=sizes["refuse_s"],
                                              events=int(sizes["hook_events"]),
                                              kills=min(int(sizes["kills"]), 6)),
            "replica": lambda: replica_drill(data_dir, writers=4,
                                             before=int(sizes["replica_before"]),
                                             after=int(sizes["replica_after"])),
        }
        for name, drill in drills.items():
            if (args.only and name not in args.only) or (name in OPT_IN and not args.only):
                continue
            start = time.perf_counter()
            report = drill()
            reports.append(report)
            print(f"{report.line()} | {time.perf_counter() - start:.0f} s", flush=True)
            for violation in report.violations[:20]:
                print(f"  violation: {violation}", flush=True)
    bad = [r for r in reports if r.violations or r.lost_writes]
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
