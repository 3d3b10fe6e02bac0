"""`python -m ops.bench.knockon --quick` runs and prints its rows (figures are not asserted:
they are loaded-machine timings)."""

from __future__ import annotations

import pytest

from ops.bench.knockon import main


def test_the_quick_knock_on_bench_prints_every_row(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--quick"]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("row |")]
    names = [line.split(" | ")[1] for line in rows]
    assert len(names) == 8, rows
    assert "initiative page with knock-ons (200 initiatives)" in names
    assert all("CPU median" in line and "wall median" in line for line in rows)
