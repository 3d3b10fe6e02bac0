"""The audit benchmark rows (ops/bench/audit.py) run end to end on a small history: a clean
sealed history verifies, and every proof it times checks (no timing is asserted)."""

from __future__ import annotations

import pytest

from ops.bench.audit import bench_merkle, bench_verify
from ops.bench.audit_bundle import bench_bundle, period_events
from ops.bench.audit_decisions import bench_decisions


def test_the_audit_bench_rows_run_on_a_small_history() -> None:
    verify = bench_verify(1_000, chunk=300, disclose_every=250)
    assert (verify["row"], verify["events"]) == ("verify", 1_000)
    assert verify["bytes"] > 0 and verify["target_ratio"] == 0.5
    # a seal per 2 rows, every one in an epoch whose key was disclosed (every 250 rows, the
    # last at 1,000): all by MAC
    assert (verify["seals_by_mac"], verify["seals_by_signature"]) == (500, 0)
    assert verify["loop"] == "C"  # ops/test requires it built (decision 291)
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


def test_python_loop_runs_the_rows_in_python(monkeypatch: pytest.MonkeyPatch) -> None:
    """`--python-loop`: the verifier's Python loop, named in the row's `loop` column."""
    import auditverify.verifier
    import ops.bench.audit

    monkeypatch.setattr(auditverify.verifier, "ACCELERATOR", auditverify.verifier.ACCELERATOR)
    calls: list[int] = []
    original = auditverify.verifier.Verifier._run_python

    def counted(self: auditverify.verifier.Verifier, rows: object) -> None:
        calls.append(1)
        original(self, rows)  # type: ignore[arg-type]

    monkeypatch.setattr(auditverify.verifier.Verifier, "_run_python", counted)
    assert ops.bench.audit.main(["--events", "400", "--only", "verify", "--python-loop"]) == 0
    assert auditverify.verifier.ACCELERATOR is None and calls


def test_the_decision_replay_row_runs_on_a_small_period() -> None:
    """Both replays (walk kept, from scratch) re-derive every decision of the clean period
    with no finding (the row asserts it) and report their CPU time."""
    row = bench_decisions(100, 60)
    assert (row["row"], row["initiatives"], row["decisions"]) == ("decisions_one_period", 100, 60)
    assert row["kept_cpu_s"] >= 0 and row["scratch_cpu_s"] >= 0 and "ratio" in row


def test_the_bundle_row_verifies_a_clean_bundle_with_every_decision_rederived() -> None:
    """The period's events spread among feedback batches keep every decision's ranking
    position pointing where its history now sits: the bundle verifies with every decision
    checked (the row raises otherwise), seals by MAC (a key disclosed every 10,000 rows, so
    at 3,000 rows none yet: by signature)."""
    one, two = bench_bundle(3_000, initiatives=60, decisions=40)
    assert [one["row"], two["row"]] == ["verify_bundle", "verify_bundle_2proc"]
    for row in (one, two):
        assert (row["events"], row["decisions"]) == (3_000, 40)
        assert (row["seals_by_mac"], row["seals_by_signature"]) == (0, 1_500)
        assert row["verify_s"] > 0 and row["ceiling_sha256_s"] > 0 and row["bundle_mb"] > 0
    events, made = period_events(500, 60, 40)
    decisions = [e for e in events if e.topic.startswith("cxgov.Initiative.")
                 and b'"ranking_position"' in e.state]
    assert len(events) == 500 and len(decisions) == made == 40
    with pytest.raises(ValueError, match="do not fit"):
        period_events(100, 60, 40)
