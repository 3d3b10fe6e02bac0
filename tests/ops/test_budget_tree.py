"""ops.bench.budget counts a server's children too (Granian serves from a worker process)."""

from __future__ import annotations

import os
import subprocess
import sys

from ops.bench.budget import cpu_seconds, tree_seconds

BURN = "sum(i * i for i in range(3_000_000)); print('done', flush=True); input()"


def test_a_process_tree_includes_its_living_children() -> None:
    child = subprocess.Popen([sys.executable, "-c", BURN], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "done"
        spent = cpu_seconds(child.pid)
        assert spent > 0.05
        assert tree_seconds(os.getpid()) >= cpu_seconds(os.getpid()) + spent - 0.02
    finally:
        child.kill()
        child.wait()
