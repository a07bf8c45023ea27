"""Benchmark scripts: each prints its figures and rewrites its own section of docs/benchmarks.md."""
