"""Tailing readers: writers (some holding transactions open) and readers following the log."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from governance.app import Governance
from ops.bench.ceiling import Bare, Tick
from ops.bench.infra import env_for, scratch_database
from ops.reliability.common import Report

PAGE = 50


@dataclass
class Tail:
    """What one reader saw."""

    seen: list[int] = field(default_factory=list)

    def follow(self, app: Governance | Bare, stop: threading.Event) -> None:
        """Read pages after the last seen position until stopped and drained."""
        last = 0
        while True:
            done = stop.is_set()
            batch = app.recorder.select_notifications(start=last, limit=PAGE,
                                                      inclusive_of_start=False)
            self.seen.extend(n.id for n in batch)
            if batch:
                last = batch[-1].id
            elif done:
                return


class Unchained(Bare):
    """The negative control's application: its own events table, created by the library
    (no hash chain, no cxgov triggers), written without the table lock."""

    name = "tailctl"


def tailing_drill(admin: str, *, writers: int, readers: int, seconds: float,
                  store: str = "ops.reliability.slowstore", kind: type[Bare] = Bare,
                  name: str = "tailing readers") -> Report:
    """Writers save trivial aggregates for a while; every reader must see every event once."""
    report = Report(name)
    with scratch_database(admin, "cxgov_rel_tail") as url:
        own = {"CREATE_TABLE": "y"} if kind is not Bare else {}
        env = {**env_for(url, pool_size=1, overflow=2), "PERSISTENCE_MODULE": store, **own}
        apps = [kind(env=env) for _ in range(writers)]
        reader_app = kind(env={**env_for(url, pool_size=readers, overflow=2), **own})
        stop, writing = threading.Event(), threading.Event()
        tails = [Tail() for _ in range(readers)]
        written: list[int] = []
        lock = threading.Lock()

        def write(app: Bare) -> None:
            while not writing.is_set():
                recordings = app.save(*[Tick() for _ in range(1 + len(written) % 3)])
                with lock:
                    written.extend(r.notification.id for r in recordings)

        threads = [threading.Thread(target=write, args=(a,)) for a in apps]
        threads += [threading.Thread(target=t.follow, args=(reader_app, stop)) for t in tails]
        for thread in threads:
            thread.start()
        time.sleep(seconds)
        writing.set()
        for thread in threads[:writers]:
            thread.join()
        stop.set()
        for thread in threads[writers:]:
            thread.join()
        for app in [*apps, reader_app]:
            app.close()
    expected = sorted(written)
    report.operations = len(written)
    for n, tail in enumerate(tails):
        missing = len(set(expected) - set(tail.seen))
        duplicates = len(tail.seen) - len(set(tail.seen))
        increasing = all(a < b for a, b in zip(tail.seen, tail.seen[1:], strict=False))
        report.lost_writes += missing
        if missing or duplicates or not increasing:
            report.violations.append(f"reader {n}: {missing} missing, {duplicates} duplicates, "
                                     f"strictly increasing: {increasing}")
    report.notes.append(f"{writers} writers (30% hold their transaction 5-50 ms before commit), "
                        f"{readers} readers, {seconds:g} s, {len(written)} events; each reader "
                        f"saw {[len(t.seen) for t in tails]}")
    return report


def tailing_control(admin: str, *, writers: int, readers: int, seconds: float) -> Report:
    """The same drill on inserts without the table lock: the checker must catch readers
    skipping events that committed after a higher position was read."""
    found = tailing_drill(admin, writers=writers, readers=readers, seconds=seconds,
                          store="ops.reliability.unlockedstore", kind=Unchained,
                          name="tailing negative control (no insert lock, must be caught)")
    report = Report(found.name, operations=found.operations)
    report.notes = [f"checker findings: {len(found.violations)} "
                    f"({'; '.join(found.violations)[:200]}); {found.lost_writes} events skipped "
                    f"by readers", *found.notes]
    if not found.violations:
        report.violations.append("readers of unserialised inserts were NOT caught skipping")
    return report
