"""Run every benchmark module in ``bench/`` (or the ones named).

A benchmark is a module here exposing ``run() -> dict``; its figures are
printed and written to ``bench/results/<name>.json``. Modules whose name
starts with ``_`` are helpers, not benchmarks.

    python -m bench                 # all
    python -m bench shopify_sync    # one
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
RESULTS = HERE / "results"


def discover() -> list[str]:
    return sorted(
        m.name
        for m in pkgutil.iter_modules([str(HERE)])
        if not m.name.startswith("_") and not m.ispkg
    )


def run_one(name: str) -> dict[str, Any]:
    module = importlib.import_module(f"bench.{name}")
    runner = getattr(module, "run", None)
    if runner is None:
        return {}
    started = time.perf_counter()
    figures: dict[str, Any] = runner()
    figures.setdefault("benchmark_seconds", round(time.perf_counter() - started, 1))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(figures, indent=2) + "\n")
    return figures


def main(argv: list[str]) -> int:
    names = argv or discover()
    unknown = sorted(set(names) - set(discover()))
    if unknown:
        print(
            f"No benchmark called {', '.join(unknown)}; have {', '.join(discover())}."
        )
        return 2
    for name in names:
        print(f"== {name}", flush=True)
        figures = run_one(name)
        for key, value in figures.items():
            print(f"   {key}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
