"""``copcca worker`` with the test store registered, for the crash tests.

Run as ``python -m tests.sync.worker_main worker --threads 2``: the real
CLI command and consumer, plus the test store's connector in the catalogue.
"""

from __future__ import annotations

import sys

from copcca.cli import app
from copcca.connectors import registry
from tests.connectors import teststore

registry._PROVIDERS[teststore.KEY] = teststore.INFO

if __name__ == "__main__":
    app(sys.argv[1:])
