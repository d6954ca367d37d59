"""Benchmarks run by ``python -m piltools bench``; each measures ratios within one run."""
