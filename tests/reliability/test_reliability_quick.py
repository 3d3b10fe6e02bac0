"""The reliability drills in their quick size: no violation, no lost write, control caught."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.pg

ROOT = Path(__file__).resolve().parents[2]
DRILLS = ("last-funds race over HTTP",
          "negative control (check-then-act over HTTP, must be caught)",
          "randomised history with faults", "tailing readers",
          "tailing negative control (no insert lock, must be caught)", "projector crashes",
          "crash negative control (tracking before rows, must be caught)",
          "webhook delivery (receiver refuses 3 s, deliverers killed)")


def test_every_drill_passes_and_the_broken_variant_is_caught(pg_admin_url: str) -> None:
    env = {**os.environ, "CXGOV_DATABASE_URL": pg_admin_url}
    done = subprocess.run([sys.executable, "-m", "ops.reliability", "--quick"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=400,
                          check=False)
    lines = [line.split(" | ") for line in done.stdout.splitlines()
             if line.startswith("drill | ")]
    assert [line[1] for line in lines] == list(DRILLS), done.stdout + done.stderr[-3000:]
    assert {line[1]: (line[4], line[5]) for line in lines} == {
        name: ("violations 0", "lost writes 0") for name in DRILLS}, done.stdout
    assert done.returncode == 0
    for control in (line for line in lines if "negative control" in line[1]):
        found = re.search(r"checker findings: (\d+)", control[6])
        assert found is not None and int(found.group(1)) > 0, control
    faults = next(line for line in lines if line[1].startswith("randomised"))
    assert int(faults[3].removeprefix("faults ")) >= 2, faults
