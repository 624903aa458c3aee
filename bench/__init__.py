"""Benchmarks: speed goals as ratios against a baseline measured in the same
run. Each module here with ``run() -> dict`` is run by ``python -m bench``."""
