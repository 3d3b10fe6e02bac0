"""The webhook drill: a receiver that refuses (503) for a while, then accepts; events are
written meanwhile; the deliverers (`cxgov deliver`, two of them) are SIGKILLed and restarted.
In the end every event after the subscription must have reached the receiver under exactly
one delivery id, with a valid signature, and the outbox must hold every one as delivered.

At-least-once: a deliverer killed between the receiver's 2xx and its own commit sends that
delivery again after its lease; the receiver de-duplicates by the delivery id (the reason the
id is stable), so the drill counts such re-sends and reports them, and counts as a violation
only what de-duplication cannot hide: an event missing, an event under two delivery ids, a
bad signature, a row not delivered.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psycopg

from governance.app import Governance
from governance.principal import CX_EXEC, FINANCE, Principal
from governance.webhooks import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    delivery_id,
    subscription_secret,
    verify,
)
from ops.bench.infra import JWT_SECRET, ROOT, env_for, scratch_database
from ops.reliability.common import Report

CX = Principal(subject="drill.cx", roles=frozenset({CX_EXEC}), issuer="drill")
FIN = Principal(subject="drill.finance", roles=frozenset({FINANCE}), issuer="drill")
DELIVER = ("governance.entrypoints.cli", "deliver")
DELIVERERS = 2


@dataclass
class Receiver:
    """What the local receiver saw: every request, its delivery id, position, signature."""

    secret: str
    refuse_until: float
    requests: int = 0
    refused: int = 0
    accepted: Counter[str] = field(default_factory=Counter)  # delivery id -> 2xx answers
    positions: dict[str, int] = field(default_factory=dict)  # delivery id -> log position
    bad_signatures: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def handle(self, headers: dict[str, str], body: bytes) -> int:
        """The status to answer (503 while refusing, else 200)."""
        with self.lock:
            self.requests += 1
            if time.monotonic() < self.refuse_until:
                self.refused += 1
                return 503
            if not verify(self.secret, headers.get(SIGNATURE_HEADER, ""), body):
                self.bad_signatures += 1
                return 400
            payload = json.loads(body)
            found = headers.get(DELIVERY_HEADER, "")
            if found != payload["delivery_id"]:
                self.bad_signatures += 1
                return 400
            self.accepted[found] += 1
            self.positions[found] = int(payload["position"])
            return 200


@contextmanager
def serving(receiver: Receiver) -> Iterator[str]:
    """The receiver on 127.0.0.1 (an ephemeral port) in a thread; yields its URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            status = receiver.handle({k: v for k, v in self.headers.items()}, body)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    finally:
        server.shutdown()
        server.server_close()


def deliverer(url: str, data_dir: Path, timeout: float) -> subprocess.Popen[bytes]:
    """`cxgov deliver` on the drill's database (its log appended to data_dir/deliver.log)."""
    env = {**os.environ, "CXGOV_DATABASE_URL": url, "CXGOV_DATA_DIR": str(data_dir),
           "CXGOV_JWT_SECRET": JWT_SECRET, "CXGOV_DB_POOL_SIZE": "1",
           "CXGOV_DB_MAX_OVERFLOW": "2", "CXGOV_WEBHOOK_ALLOW_LOCAL_TARGETS": "true",
           "CXGOV_WEBHOOK_TIMEOUT_SECONDS": str(timeout),
           "CXGOV_WEBHOOK_RETRY_BASE_SECONDS": "0.5", "CXGOV_WEBHOOK_RETRY_CAP_SECONDS": "4",
           "CXGOV_WEBHOOK_MAX_ATTEMPTS": "100", "CXGOV_WEBHOOK_WORKERS": "2"}
    with (data_dir / "deliver.log").open("ab") as log:
        return subprocess.Popen([sys.executable, "-m", *DELIVER], cwd=ROOT, env=env,
                                stdout=log, stderr=subprocess.STDOUT)


def write_events(gov: Governance, events: int, seconds: float, written: list[int]) -> None:
    """`events` events (one each: scenario definitions), evenly over about `seconds`."""
    start = time.monotonic()
    for k in range(events):
        result = gov.define_scenario(CX, code=f"DRILL{k}", name=f"Drill scenario {k}")
        written.append(result.position)
        delay = start + seconds * (k + 1) / events - time.monotonic()
        if delay > 0:
            time.sleep(delay)


def tracked(url: str) -> int:
    """The log position the webhook hand-off has reached (0 before it first ran)."""
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT position FROM wh_tracking").fetchone()
    return int(row[0]) if row else 0


def outbox_states(url: str) -> dict[str, int]:
    """How many outbox rows are in each state."""
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT state, count(*) FROM wh_outbox GROUP BY state").fetchall()
    return {state: int(count) for state, count in rows}


def webhook_drill(admin: str, data_dir: Path, *, refuse_s: float, events: int, kills: int,
                  seed: int = 7, timeout: float = 1.0, deadline_s: float = 300.0) -> Report:
    """Refuse for `refuse_s`, write `events` events, SIGKILL a deliverer `kills` times."""
    report = Report(f"webhook delivery (receiver refuses {refuse_s:g} s, deliverers killed)")
    rng = random.Random(seed)
    with scratch_database(admin, "cxgov_rel_hooks") as url:
        gov = Governance(env=env_for(url, pool_size=1, overflow=4))
        gov.webhook_allow_local = True
        receiver = Receiver(secret="", refuse_until=float("inf"))
        with serving(receiver) as target:
            created = gov.create_webhook(CX, url=target, kinds=["*"], description="drill")
            receiver.secret = subscription_secret(JWT_SECRET, created.id)
            processes = [deliverer(url, data_dir, timeout) for _ in range(DELIVERERS)]
            # The clock starts once a deliverer is up (it has handed off the subscription):
            # the refusal and the kills are then never spent on the processes' start-up.
            ready = time.monotonic() + 120.0
            while tracked(url) < created.position and time.monotonic() < ready:
                time.sleep(0.1)
            start = time.monotonic()
            receiver.refuse_until = start + refuse_s
            written: list[int] = []
            writer = threading.Thread(target=write_events,
                                      args=(gov, events, refuse_s + 2.0, written))
            writer.start()
            # Kills spread over the refusal and the first seconds of acceptance (the backlog).
            moments = sorted(rng.uniform(0.3, refuse_s + 3.0) for _ in range(kills))
            done = 0
            try:
                for moment in moments:
                    delay = start + moment - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                    victim = rng.randrange(len(processes))
                    processes[victim].send_signal(signal.SIGKILL)
                    processes[victim].wait()
                    processes[victim] = deliverer(url, data_dir, timeout)
                    done += 1
                writer.join()
                expected = set(written)
                wanted = {str(delivery_id(created.id, p)) for p in expected}
                finish = time.monotonic() + deadline_s
                while time.monotonic() < finish:
                    with receiver.lock:
                        if wanted <= set(receiver.accepted):
                            break
                    for k, process in enumerate(processes):
                        if process.poll() is not None:  # exited by itself: note, restart
                            report.notes.append(f"deliverer exited ({process.returncode})")
                            processes[k] = deliverer(url, data_dir, timeout)
                    time.sleep(0.2)
                settle = time.monotonic() + 30.0
                while time.monotonic() < settle and outbox_states(url).get("pending"):
                    time.sleep(0.2)  # the last 2xx is marked delivered
            finally:
                for process in processes:
                    process.send_signal(signal.SIGKILL)
                    process.wait()
                writer.join()
            states = outbox_states(url)
            elapsed = time.monotonic() - start
        gov.close()
    got = set(receiver.accepted)
    missing = wanted - got
    extra = got - wanted  # deliveries of events the drill did not write (must be none)
    by_position = Counter(receiver.positions[d] for d in got)
    resent = sum(n - 1 for n in receiver.accepted.values())
    report.operations, report.faults = len(expected), done
    report.lost_writes = len(missing)
    if missing:
        report.violations.append(f"{len(missing)} events never delivered")
    if extra:
        report.violations.append(f"{len(extra)} unexpected delivery ids")
    if any(n > 1 for n in by_position.values()):
        report.violations.append("an event reached the receiver under two delivery ids")
    if not receiver.refused:
        report.violations.append("the receiver refused nothing: no retry was exercised")
    if receiver.bad_signatures:
        report.violations.append(f"{receiver.bad_signatures} bad signatures")
    if states.get("delivered", 0) != len(expected) or set(states) - {"delivered"}:
        report.violations.append(f"outbox rows {states}, expected {len(expected)} delivered")
    report.notes.append(
        f"{len(expected)} events, {len(got)} delivered (distinct delivery ids), "
        f"{receiver.requests} requests ({receiver.refused} refused 503), {resent} re-sent "
        f"after a kill and de-duplicated by id, {receiver.bad_signatures} bad signatures, "
        f"{done} SIGKILLs of {DELIVERERS} deliverers, outbox {states}, all delivered "
        f"{elapsed:.0f} s after the start")
    return report

