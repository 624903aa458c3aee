"""M-Pesa C2B confirmations under load (issue 4, promise P1 at volume).

One ``copcca serve`` process on SQLite receives C2B confirmation callbacks
from a load generator in a second process (32 keep-alive connections on
loopback), with 10% of them duplicates. The same generator first hits a
bare endpoint of the same framework and server settings, in the same run,
so the figure that matters is the ratio. Afterwards the embedded worker
confirms every payment with the Daraja emulator (Transaction Status) and
we count payments: they must equal the distinct transactions sent.

Targets: at least 0.5 of the bare rate, p99 under 50 ms (callback path
only: accept, store, answer; matching happens in the job).

    python -m bench payments_c2b          # or: python bench/payments_c2b.py
"""

from __future__ import annotations

import base64
import json
import os
import random
import secrets
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
DISTINCT = int(os.environ.get("BENCH_C2B_DISTINCT", "3000"))
WARMUP = 300
CONNECTIONS = 32
SETTLE_TIMEOUT = 600.0


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            httpx.get(url, timeout=1.0)
            return
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _receipt(n: int) -> str:
    return f"SB{n:08d}"


def _body(receipt: str, amount: int, token_shortcode: str) -> bytes:
    return json.dumps(
        {
            "TransactionType": "Pay Bill",
            "TransID": receipt,
            "TransTime": time.strftime("%Y%m%d%H%M%S"),
            "TransAmount": f"{amount}.00",
            "BusinessShortCode": token_shortcode,
            "BillRefNumber": f"ACC{receipt[-4:]}",
            "InvoiceNumber": "",
            "OrgAccountBalance": "",
            "ThirdPartyTransID": "",
            "MSISDN": "25471****678",
            "FirstName": "Load",
            "MiddleName": "",
            "LastName": "Test",
        },
        separators=(",", ":"),
    ).encode()


def _setup(data_dir: Path, hub: str, emulator: str) -> str:
    """Migrate, create a company and its M-Pesa connection; its token."""
    os.environ["COPCCA_DATA_DIR"] = str(data_dir)
    from copcca.config import Settings
    from copcca.db.migrate import upgrade
    from copcca.integrations import service
    from copcca.models.tenancy import Role
    from copcca.runtime import build_runtime, set_runtime
    from copcca.security import accounts
    from copcca.security.principal import Principal

    settings = Settings(
        data_dir=data_dir, base_url=hub, secret_key=os.environ["COPCCA_SECRET_KEY"]
    )
    upgrade(settings.effective_migration_url)
    runtime = build_runtime(settings)
    set_runtime(runtime)
    user, company = accounts.sign_up(
        runtime.db,
        accounts.SignUp(
            company_name="Bench Duka",
            name="Bench",
            email="bench@example.co.ke",
            password="a long enough password",  # noqa: S106 (a throwaway bench account)
            country="KE",
        ),
    )
    owner = Principal(company.id, user.id, Role.OWNER, "bench", "user")
    with runtime.db.transaction(company.id) as session:
        integration = service.connect(
            session,
            owner,
            runtime.vault,
            service.NewIntegration(
                provider="mpesa",
                credentials={
                    "shortcode": "174379",
                    "consumer_key": "sandbox-key",
                    "consumer_secret": "sandbox-secret",
                    "initiator_name": "testapi",
                    "security_credential": "sandbox-credential",
                    "api_base_url": emulator,
                },
            ),
        )
        token = str(integration.callback_token)
    runtime.db.dispose()
    return token


def _loadgen(
    port: int, path: str, bodies: list[bytes], workdir: Path
) -> dict[str, Any]:
    file = workdir / f"bodies-{port}.jsonl"
    file.write_bytes(b"\n".join(bodies) + b"\n")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench._loadgen",
            "127.0.0.1",
            str(port),
            path,
            str(file),
            str(CONNECTIONS),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=900,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _count(db: Path, table: str) -> int:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30) as conn:
        return int(conn.execute(f"select count(*) from {table}").fetchone()[0])


def _settle(db: Path, count: int) -> None:
    deadline = time.monotonic() + SETTLE_TIMEOUT
    while _count(db, "payments") < count and time.monotonic() < deadline:
        time.sleep(0.5)


def run() -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="bench-c2b-"))
    data_dir = workdir / "data"
    hub_port, emu_port, bare_port = _port(), _port(), _port()
    hub, emulator = f"http://127.0.0.1:{hub_port}", f"http://127.0.0.1:{emu_port}"
    key = "kbench:" + base64.b64encode(secrets.token_bytes(32)).decode()
    env = {
        **os.environ,
        "COPCCA_DATA_DIR": str(data_dir),
        "COPCCA_BASE_URL": hub,
        "COPCCA_SECRET_KEY": key,
        "PYTHONPATH": str(ROOT / "src"),
    }
    os.environ["COPCCA_SECRET_KEY"] = key
    token = _setup(data_dir, hub, emulator)
    copcca = [sys.executable, "-m", "copcca.cli"]
    processes = [
        subprocess.Popen(
            [*copcca, "sandbox", "mpesa", "--port", str(emu_port)],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        ),
        subprocess.Popen(
            [*copcca, "serve", "--port", str(hub_port)],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        ),
        subprocess.Popen(
            [sys.executable, "-m", "bench._bare", str(bare_port)],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        ),
    ]
    try:
        for url in (
            f"{emulator}/_sandbox/control",
            f"{hub}/healthz",
            f"http://127.0.0.1:{bare_port}/docs",
        ):
            _wait(url)
        rng = random.Random(4)
        total = WARMUP + DISTINCT
        amounts = {_receipt(n): rng.randint(1, 5000) for n in range(total)}
        httpx.post(
            f"{emulator}/_sandbox/transactions",
            json={
                "transactions": [
                    {
                        "receipt": r,
                        "amount": a,
                        "msisdn": "254712345678",
                        "bill_ref": f"ACC{r[-4:]}",
                    }
                    for r, a in amounts.items()
                ]
            },
            timeout=60,
        ).raise_for_status()
        bodies = {r: _body(r, a, "174379") for r, a in amounts.items()}
        warm = [bodies[_receipt(n)] for n in range(WARMUP)]
        main = [bodies[_receipt(n)] for n in range(WARMUP, total)]
        main += rng.sample(main, DISTINCT // 10)  # 10% duplicates mixed in
        rng.shuffle(main)
        path = f"/hooks/c2b/{token}/confirmation"
        load_before = os.getloadavg()[0]  # other work on the machine skews both
        _loadgen(bare_port, path, warm, workdir)
        bare = _loadgen(bare_port, path, main, workdir)
        db = data_dir / "copcca.db"
        _loadgen(hub_port, path, warm, workdir)
        _settle(db, WARMUP)  # the warm-up's own checks are done before we measure
        real = _loadgen(hub_port, path, main, workdir)
        load_after = os.getloadavg()[0]
        started = time.monotonic()
        while (
            _count(db, "payments") < total
            and time.monotonic() - started < SETTLE_TIMEOUT
        ):
            time.sleep(1.0)
        settle = time.monotonic() - started
        payments = _count(db, "payments")
        return {
            "connections": CONNECTIONS,
            "cpus": os.cpu_count(),
            "load_1m_before": round(load_before, 2),
            "load_1m_after": round(load_after, 2),
            "callbacks_sent": len(main),
            "duplicates_sent": DISTINCT // 10,
            "bare_rps": bare["rps"],
            "bare_p99_ms": bare["p99_ms"],
            "hub_rps": real["rps"],
            "hub_p50_ms": real["p50_ms"],
            "hub_p99_ms": real["p99_ms"],
            "hub_errors": real["errors"],
            "ratio_to_bare": round(real["rps"] / bare["rps"], 3),
            "target_ratio": 0.5,
            "target_p99_ms": 50,
            "distinct_transactions": total,
            "payments_created": payments,
            "inbox_rows": _count(db, "webhook_inbox"),
            "payments_equal_distinct": payments == total,
            "seconds_until_all_confirmed": round(settle, 1),
        }
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    for name, value in run().items():
        print(f"{name}: {value}")
