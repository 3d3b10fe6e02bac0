"""Benchmarks runnable with `python -m ops.bench.<name>`."""
