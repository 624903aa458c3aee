"""F7: the parsers survive a fuzzing run under a memory and time limit."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
MEMORY_LIMIT = 2 * 1024**3
TIME_BUDGET = 240


def _limit() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


@pytest.mark.slow
def test_parsers_survive_fuzzing_under_limits() -> None:
    env = {**os.environ, "FUZZ_EXAMPLES": os.environ.get("FUZZ_EXAMPLES", "1000")}
    result = subprocess.run(
        [sys.executable, "-m", "tests.imports.fuzz_parsers"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIME_BUDGET,
        preexec_fn=_limit,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    assert result.stdout.count("no crash") == 5
