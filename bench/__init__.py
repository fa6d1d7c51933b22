"""Benchmarks: `make bench` (python -m bench.run) times the pages on generated databases."""
