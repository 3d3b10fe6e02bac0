"""Projector crashes: SIGKILL `cxgov project` at random moments; the views equal a rebuild."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from governance.app import Governance
from governance.stores.readside import postgres_views, rebuild, served_read_models
from ops.bench.history import Generator, setup_world
from ops.bench.infra import ROOT, env_for, scratch_database
from ops.reliability.common import Report
from projections.query import NotCaughtUp, ReadModels

CATCH_UP_S = 900


PROJECT = ("governance.entrypoints.cli", "project")  # `cxgov project`
BROKEN = ("ops.reliability.broken_projector",)  # the negative control's projector


def projector(url: str, data_dir: Path,
              module: Sequence[str] = PROJECT) -> subprocess.Popen[bytes]:
    """`cxgov project` (or `module`) on the drill's database (its log appended to
    data_dir/projector.log)."""
    env = {**os.environ, "CXGOV_DATABASE_URL": url, "CXGOV_DATA_DIR": str(data_dir),
           "CXGOV_DB_POOL_SIZE": "1"}
    with (data_dir / "projector.log").open("ab") as log:
        return subprocess.Popen([sys.executable, "-m", *module], cwd=ROOT,
                                env=env, stdout=log, stderr=subprocess.STDOUT)


def supervise(process: subprocess.Popen[bytes], url: str, data_dir: Path, models: ReadModels,
              position: int, report: Report,
              module: Sequence[str] = PROJECT) -> subprocess.Popen[bytes]:
    """Wait until the views reach `position`, restarting a projector that exits on its own."""
    deadline = time.monotonic() + CATCH_UP_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = (data_dir / "projector.log").read_text(errors="replace")[-300:]
            report.notes.append(f"projector exited by itself (code {process.returncode}): "
                                f"{tail!r}; restarted")
            process = projector(url, data_dir, module)
        try:
            models.wait(position, timeout=5)
            return process
        except NotCaughtUp:
            continue
    raise NotCaughtUp(f"the views did not reach {position} within {CATCH_UP_S} s")


def paced(generator: Generator, events: int, seconds: float, slice_size: int = 200) -> None:
    """Write `events` events in slices, evenly over about `seconds`."""
    slices = max(1, events // slice_size)
    start = time.monotonic()
    for k in range(slices):
        generator.write(events // slices + (1 if k < events % slices else 0))
        delay = start + seconds * (k + 1) / slices - time.monotonic()
        if delay > 0:
            time.sleep(delay)


def crash_drill(admin: str, data_dir: Path, *, kills: int, events: int,
                pause: tuple[float, float] = (0.3, 1.5), seed: int = 11,
                module: Sequence[str] = PROJECT, name: str = "projector crashes") -> Report:
    """Write `events` events while killing the projector `kills` times, then compare."""
    report = Report(name)
    rng = random.Random(seed)
    with scratch_database(admin, "cxgov_rel_proj") as url:
        env = env_for(url, pool_size=1, overflow=4)
        gov = Governance(env=env)
        setup_world(gov)
        generator = Generator(gov, seed=seed)
        # Spread the writes over the whole kill schedule, so that kills land while the
        # projector is following new events as well as while it is catching up.
        spread = kills * (pause[0] + pause[1]) / 2
        writer = threading.Thread(target=paced, args=(generator, events, spread))
        writer.start()
        process = projector(url, data_dir, module)
        done = 0
        try:
            while done < kills:
                time.sleep(rng.uniform(*pause))
                process.send_signal(signal.SIGKILL)
                process.wait()
                done += 1
                process = projector(url, data_dir, module)
            writer.join()
            process = supervise(process, url, data_dir, served_read_models(gov, env),
                                gov.position(), report, module)
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait()
            writer.join()
        portfolio, audit = postgres_views(env)
        live_docs, live_audit = portfolio.dump(), audit.rows(limit=10_000_000)
        rebuild(gov, env)
        fresh_docs, fresh_audit = portfolio.dump(), audit.rows(limit=10_000_000)
        positions = [r["position"] for r in live_audit]
        report.operations, report.faults = gov.position(), done
        gov.close()
    if live_docs != fresh_docs:
        differing = len(set(live_docs) ^ set(fresh_docs))
        report.violations.append(f"portfolio documents differ from a rebuild ({differing})")
    if live_audit != fresh_audit:
        report.violations.append("audit log differs from a rebuild")
    if positions != sorted(set(positions)):
        report.violations.append("audit positions not strictly increasing")
    report.lost_writes = len({r["position"] for r in fresh_audit} - set(positions))
    report.notes.append(f"{done} SIGKILLs during {report.operations} positions; "
                        f"{len(live_docs)} documents and {len(live_audit)} audit rows equal "
                        f"a rebuild: {live_docs == fresh_docs and live_audit == fresh_audit}")
    return report


def crash_control(admin: str, data_dir: Path, *, kills: int, events: int) -> Report:
    """The same drill with a projector whose audit view commits tracking before its rows: the
    comparison with a rebuild must catch the rows a kill between the two left out."""
    found = crash_drill(admin, data_dir, kills=kills, events=events, module=BROKEN,
                        name="crash negative control (tracking before rows, must be caught)")
    report = Report(found.name, operations=found.operations, faults=found.faults)
    report.notes = [f"checker findings: {len(found.violations) + bool(found.lost_writes)} "
                    f"({'; '.join(found.violations)[:160]}; {found.lost_writes} audit rows "
                    "missing)", *found.notes]
    if not found.violations and not found.lost_writes:
        report.violations.append("the broken projector was NOT caught losing rows")
    return report
