"""The served Merkle log bench (ops/bench/audit_served.py) in a quick size: a 2,000-event chain
on PostgreSQL, an API process, every row printed with a figure; each proof it times checks
against the signed checkpoint (no timing is asserted)."""

from __future__ import annotations

import pytest

from ops.bench.audit_served import served_rows

pytestmark = pytest.mark.pg


def test_the_served_proof_rows_run_on_a_small_chain(pg_admin_url: str) -> None:
    rows = served_rows(2_000, pg_admin_url, samples=10)
    assert [r["row"] for r in rows] == [
        "served_fill", "served_first_request", "served_inclusion", "served_consistency",
        "inproc_first_build", "inproc_inclusion", "inproc_consistency", "cli_prove"]
    by_name = {r["row"]: r for r in rows}
    assert by_name["served_first_request"]["tree_size"] == 2_000
    assert [by_name[n]["ceiling_ms"] for n in ("served_inclusion", "served_consistency",
                                               "inproc_inclusion", "inproc_consistency")] == [
        10.0, 50.0, 10.0, 50.0]
    assert all(by_name[n]["samples"] == 10 for n in ("served_inclusion", "inproc_consistency"))
    assert by_name["cli_prove"]["wall_s"] > 0
