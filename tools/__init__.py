"""Benchmarks and one-off utilities (not installed with the package)."""
