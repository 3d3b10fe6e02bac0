"""The guardrails rows of `ops/bench/run --quick` (no database needed): every shape (and the
binding one with the HiGHS port) prints our time, HiGHS's time as the ceiling and a ratio, and
the optimum values agree. No timing is
asserted; the quick sizes keep the run short so the rows cannot rot unnoticed."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("highspy")

ROOT = Path(__file__).resolve().parents[2]
NUMBER = r"\d+(\.\d+)?"


def test_the_quick_guardrails_rows_print_figures_ceilings_and_equal_optima() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "ops.bench", "--quick", "--only", "guardrails"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    rows = [line.split(" | ") for line in done.stdout.splitlines() if line.startswith("row | ")]
    assert [r[1].split(",")[1].strip() for r in rows] == [
        "three guardrails not binding",
        "three guardrails binding",
        "three guardrails binding with the HiGHS port",
    ], rows
    for row in rows:
        assert "(equal optimum)" in row[1], row
        assert re.fullmatch(rf"{NUMBER} s", row[2]), row
        assert re.fullmatch(rf"ceiling HiGHS {NUMBER} s", row[3]), row
        assert re.fullmatch(rf"ratio {NUMBER}", row[4]), row


def test_a_solve_past_its_limit_is_reported_as_stopped() -> None:
    from ops.bench.guardrails import _limited, seconds

    assert _limited(sum, ([1, 2],), 60.0) == 3
    assert _limited(_forever, (), 0.2) is None
    assert seconds(None, 300.0) == "> 300 s (stopped)"


def _forever() -> None:
    while True:
        pass
