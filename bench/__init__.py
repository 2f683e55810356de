"""Benchmarks: `python -m bench.cli_start`, `python -m bench.tasks` (see the justfile)."""
