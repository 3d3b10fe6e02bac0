"""The benchmark script in its quick size: every row prints a figure and a ratio (not targets)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.pg

ROOT = Path(__file__).resolve().parents[2]
ROWS = ("recommendation (exact", "recommendation API", "executive home page",
        "every dashboard page", "decision round trip",
        "three guardrails not binding", "three guardrails binding,",
        "three guardrails binding with the HiGHS port",
        "HTTP submit", "HTTP approve", "in-process submit",
        "in-process approve", "approvals/s at 5,000", "latency", "via API",
        "`cxgov import`", "full rebuild", "as-of ranking", "projector peak RSS")
NUMBER = r"\d+(\.\d+)?"


def test_every_benchmark_row_prints_a_figure_and_a_ratio(pg_admin_url: str) -> None:
    env = {**os.environ, "CXGOV_DATABASE_URL": pg_admin_url}
    done = subprocess.run([sys.executable, "-m", "ops.bench", "--quick"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600,
                          check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = [line.split(" | ") for line in done.stdout.splitlines() if line.startswith("row | ")]
    assert [sum(name in r[1] for r in rows) for name in ROWS] == [1] * len(ROWS), rows
    assert len(rows) == len(ROWS)
    for row in rows:
        assert re.search(NUMBER, row[2]), row
        ratio = row[4].removeprefix("ratio ")
        assert ratio == "--" or re.fullmatch(NUMBER, ratio), row
    assert all(re.fullmatch(NUMBER, r[4].removeprefix("ratio ")) for r in rows
               if r[3] != "ceiling --"), rows
    assert any(line.startswith("machine: ") for line in done.stdout.splitlines())
