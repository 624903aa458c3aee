"""Sync 100,000 Shopify orders from the sandbox store, over real HTTP.

Measured in the same run, each in its own process (so peak memory is the
process's own), against the sandbox store in a third process:

- ``bare``: a plain client that only fetches and parses the same pages
  (``orders.json``, 250 a page, ``order=updated_at asc``, following
  ``Link``), with the same JSON reader as the hub: the baseline rate.
- ``sync``: the real thing: a company connected to the store, the sync
  engine reading the orders stream, mapping each order to a sale with
  lines, its customer and products, and committing page by page into
  SQLite (the embedded default), then an incremental sync that finds
  nothing new.

Figures: records per second of both and their ratio (target ≥ 0.4), peak
RSS of the sync process at two store sizes (target: flat), and the empty
incremental sync time (target < 1 s). The store's REST call-limit bucket
is switched off: on a real standard-plan store Shopify's 2 calls a second
(500 orders a second) would be the limit, for both clients alike.

``COPCCA_BENCH_ORDERS`` sets the larger size (default 100000).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
LARGE = int(os.environ.get("COPCCA_BENCH_ORDERS", "100000"))
SIZES = (LARGE // 5, LARGE)
TOKEN = "shpat_sandbox_token"  # noqa: S105  (the sandbox's own token)
API = "/admin/api/2025-07"


def run() -> dict[str, Any]:
    figures: dict[str, Any] = {"orders": LARGE}
    for size in SIZES:
        with emulator(size) as url:
            bare = child("bare", url)
            sync = child("sync", url)
        figures[f"peak_rss_mb_at_{size}"] = round(sync["maxrss_kb"] / 1024, 1)
        if size == LARGE:
            figures["bare_records_per_s"] = round(bare["records"] / bare["seconds"])
            figures["sync_records_per_s"] = round(sync["records"] / sync["seconds"])
            figures["ratio_to_bare"] = round(
                figures["sync_records_per_s"] / figures["bare_records_per_s"], 3
            )
            figures["sync_seconds"] = round(sync["seconds"], 1)
            # CPU time: steadier than wall time on a shared machine.
            figures["ratio_by_cpu_time"] = round(
                bare["cpu_seconds"] / sync["cpu_seconds"], 3
            )
            figures["empty_incremental_sync_s"] = round(sync["incremental_seconds"], 3)
            figures["sales_created"] = sync["created"]
            figures["bare_peak_rss_mb"] = round(bare["maxrss_kb"] / 1024, 1)
    small, large = (figures[f"peak_rss_mb_at_{n}"] for n in SIZES)
    figures["rss_growth_small_to_large"] = round(large / small, 2)
    figures["targets"] = {
        "ratio_to_bare >= 0.4": figures["ratio_to_bare"] >= 0.4,
        "empty incremental < 1 s": figures["empty_incremental_sync_s"] < 1.0,
        "memory flat (growth < 1.25x for 5x the orders)": figures[
            "rss_growth_small_to_large"
        ]
        < 1.25,
    }
    return figures


@contextmanager
def emulator(orders: int) -> Iterator[str]:
    """The sandbox store in its own process, call-limit bucket off."""
    from copcca.sandbox.server import free_port

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [
        sys.executable, "-m", "copcca.cli", "sandbox", "shopify",
        "--port", str(port), "--orders", str(orders), "--customers", str(orders // 5),
    ]  # fmt: skip
    process = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.post(f"{url}/_sandbox/bucket", json={"enabled": False}, timeout=2)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("the sandbox store did not start") from None
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def child(mode: str, url: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "bench.shopify_sync", mode, url],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=3600,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"{mode} failed:\n{out.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def maxrss_kb() -> int:
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


# children -------------------------------------------------------------------
def bare(url: str) -> dict[str, Any]:
    """Fetch and parse every orders page, nothing else."""
    from copcca.connectors.http import read_json  # the hub's own JSON reader
    from copcca.connectors.shopify.client import next_page_info

    records = 0
    started, cpu = time.perf_counter(), time.process_time()
    with httpx.Client(timeout=60, headers={"X-Shopify-Access-Token": TOKEN}) as client:
        params: dict[str, Any] = {
            "limit": 250,
            "status": "any",
            "order": "updated_at asc",
        }
        while True:
            response = client.get(f"{url}{API}/orders.json", params=params)
            response.raise_for_status()
            records += len(read_json(response)["orders"])
            page_info = next_page_info(response.headers.get("link"))
            if page_info is None:
                break
            params = {"limit": 250, "page_info": page_info}
    return {
        "records": records,
        "seconds": time.perf_counter() - started,
        "cpu_seconds": time.process_time() - cpu,
        "maxrss_kb": maxrss_kb(),
    }


def sync(url: str) -> dict[str, Any]:
    """Connect a company to the store and sync its orders, twice."""
    with tempfile.TemporaryDirectory(prefix="copcca-bench-") as tmp:
        runtime, company_id, integration_id = _setup(Path(tmp), url)
        started, cpu = time.perf_counter(), time.process_time()
        log = _sync_once(runtime, company_id, integration_id)
        seconds = time.perf_counter() - started
        cpu_seconds = time.process_time() - cpu
        started = time.perf_counter()
        again = _sync_once(runtime, company_id, integration_id)
        incremental = time.perf_counter() - started
        runtime.db.dispose()
    if log["status"] != "success" or again["status"] != "success":
        raise RuntimeError(f"sync did not succeed: {log} {again}")
    return {
        "records": log["read"],
        "created": log["created_sales"],
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "incremental_seconds": incremental,
        "incremental_read": again["read"],
        "maxrss_kb": maxrss_kb(),
    }


def _setup(tmp: Path, url: str) -> tuple[Any, uuid.UUID, uuid.UUID]:
    import base64

    from copcca.config import Settings
    from copcca.db.migrate import upgrade
    from copcca.integrations import service
    from copcca.models.tenancy import Role
    from copcca.runtime import build_runtime, set_runtime
    from copcca.security import accounts
    from copcca.security.principal import Principal

    settings = Settings(
        data_dir=tmp,
        secret_key="kbench:" + base64.b64encode(os.urandom(32)).decode(),
    )
    upgrade(settings.effective_database_url)
    runtime = build_runtime(settings)
    set_runtime(runtime)
    user, company = accounts.sign_up(
        runtime.db,
        accounts.SignUp(
            company_name="Bench Duka",
            name="Bench",
            email="bench@example.co.ke",
            password=os.urandom(12).hex(),
            country="KE",
        ),
    )
    actor = Principal(company.id, user.id, Role.OWNER, "bench", "user")
    with runtime.db.transaction(company.id) as session:
        integration = service.connect(
            session,
            actor,
            runtime.vault,
            service.NewIntegration(
                provider="shopify",
                credentials={
                    "shop_domain": "duka-la-amina.myshopify.com",
                    "access_token": TOKEN,
                    "api_base_url": url,
                },
                streams=["sales"],
                frequency="manual",
                schedule=False,
            ),
        )
        integration_id = integration.id
    return runtime, company.id, integration_id


def _sync_once(runtime: Any, company_id: uuid.UUID, integration_id: uuid.UUID) -> Any:
    from copcca.models.integrations import SyncLog
    from copcca.models.sync import SyncRun
    from copcca.sync import runs
    from copcca.sync.engine import execute_run

    with runtime.db.transaction(company_id) as session:
        run = runs.request_run(session, company_id, integration_id, trigger="manual")
        run_id = run.run.id
    execute_run(runtime.db, runtime.vault, runtime.settings, company_id, run_id)
    with runtime.db.transaction(company_id, write=False) as session:
        log = session.get(SyncLog, session.get(SyncRun, run_id).log_id)
        read = log.details["streams"]["orders"]["read"]
        return {
            "status": log.status,
            "read": sum(read.values()),
            "created_sales": log.details["streams"]["orders"]["entities"]
            .get("sales", {})
            .get("created", 0),
        }


if __name__ == "__main__":
    mode, target = sys.argv[1], sys.argv[2]
    print(json.dumps(bare(target) if mode == "bare" else sync(target)))
