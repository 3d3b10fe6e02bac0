"""The audit benchmark rows (ops/bench/audit.py) run end to end on a small history: a clean
sealed history verifies, and every proof it times checks (no timing is asserted)."""

from __future__ import annotations

from ops.bench.audit import bench_merkle, bench_verify
from ops.bench.audit_decisions import bench_decisions


def test_the_audit_bench_rows_run_on_a_small_history() -> None:
    verify = bench_verify(1_000, chunk=300, disclose_every=250)
    assert (verify["row"], verify["events"]) == ("verify", 1_000)
    assert verify["bytes"] > 0 and verify["target_ratio"] == 0.5
    # a seal per 2 rows, every one in an epoch whose key was disclosed (every 250 rows, the
    # last at 1,000): all by MAC
    assert (verify["seals_by_mac"], verify["seals_by_signature"]) == (500, 0)
    rows = bench_merkle(1_000, samples=10)
    assert [r["row"] for r in rows] == ["merkle_build", "merkle_append", "inclusion_proof",
                                        "consistency_proof"]
    assert [r.get("ceiling_ms") for r in rows] == [None, None, 10.0, 50.0]


def test_the_verify_row_without_disclosures_checks_every_signature_and_reports_cpu_time(
) -> None:
    """`--disclose-every 0`: a seal per two rows (a write transaction's), every seal checked
    by its signature, as before decision 287 (the history verifies, else bench_verify
    fails); the CPU columns are there."""
    verify = bench_verify(1_000, chunk=300, seal_every=2, disclose_every=0)
    assert verify["seal_every"] == 2
    assert (verify["seals_by_mac"], verify["seals_by_signature"]) == (0, 500)
    assert {"cpu_verify_s", "cpu_sha256_s", "cpu_ratio"} <= set(verify)
    assert verify["cpu_verify_s"] > 0


def test_the_decision_replay_row_runs_on_a_small_period() -> None:
    """Both replays (walk kept, from scratch) re-derive every decision of the clean period
    with no finding (the row asserts it) and report their CPU time."""
    row = bench_decisions(100, 60)
    assert (row["row"], row["initiatives"], row["decisions"]) == ("decisions_one_period", 100, 60)
    assert row["kept_cpu_s"] >= 0 and row["scratch_cpu_s"] >= 0 and "ratio" in row
