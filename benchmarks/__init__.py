"""Benchmarks for EGP and its peers; run one with `python -m benchmarks NAME [--json] [args]`."""
