"""The audit benchmark rows (ops/bench/audit.py) run end to end on a small history: a clean
sealed history verifies, and every proof it times checks (no timing is asserted)."""

from __future__ import annotations

from ops.bench.audit import bench_merkle, bench_verify


def test_the_audit_bench_rows_run_on_a_small_history() -> None:
    verify = bench_verify(1_000, chunk=300)
    assert (verify["row"], verify["events"]) == ("verify", 1_000)
    assert verify["bytes"] > 0 and verify["target_ratio"] == 0.5
    rows = bench_merkle(1_000, samples=10)
    assert [r["row"] for r in rows] == ["merkle_build", "merkle_append", "inclusion_proof",
                                        "consistency_proof"]
    assert [r.get("ceiling_ms") for r in rows] == [None, None, 10.0, 50.0]
