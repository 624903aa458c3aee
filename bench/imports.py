"""Import Center benchmark (issue 5). ``run() -> dict`` for the bench runner;
``python -m bench.imports`` runs it alone. Inputs are generated at run time
under bench/results (ignored by git).

Figures, each against a baseline measured in the same run:
- 1,000,000-row customer CSV end to end (parse, map, check, normalise
  phones, upsert) into SQLite vs a bare sqlite3 ``executemany`` of the same
  cleaned rows into the same table (target <= 2.5);
- 100,000-row xlsx: our reader (content check, zip safety pass, calamine,
  row iteration) vs python-calamine's bare read (target <= 1.5);
- peak RSS of the end-to-end import at 250,000 and 1,000,000 rows (target
  < 300 MB and nearly flat), each in a fresh process;
- the same import on PostgreSQL (RLS on, app role) vs a bare COPY of the
  cleaned rows, when BENCH_PG_URL or COPCCA_TEST_PG_URL names a server.

Sizes: BENCH_IMPORT_ROWS, BENCH_XLSX_ROWS, BENCH_RSS_ROWS ("250000,1000000");
BENCH_REPEAT (2): how many import/baseline pairs the SQLite figure takes
the fastest of; BENCH_BATCH (20000): rows per import batch.
"""

from __future__ import annotations

import base64
import json
import os
import random
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
KEY = "kbench:" + base64.b64encode(b"b" * 32).decode()
CITIES = ["Nairobi", "Mombasa", "Kisumu", "Nakuru", "Eldoret", "Thika", "Machakos"]


def _phone(rng: random.Random) -> str:
    nsn = "7" + f"{rng.randrange(10**8):08d}"
    style = rng.randrange(6)
    if style == 0:
        return f"0{nsn[:3]} {nsn[3:6]} {nsn[6:]}"
    if style == 1:
        return nsn
    if style == 2:
        return f"+254 {nsn[:3]}-{nsn[3:6]}-{nsn[6:]}"
    if style == 3:
        return "254" + nsn
    if style == 4:
        return "0" + nsn
    return f"+254{nsn}"


def _balance(rng: random.Random) -> str:
    amount = rng.randrange(0, 50_000)
    return rng.choice(
        [
            f"KSh {amount:,}",
            str(amount),
            f"{amount:,}".replace(",", " "),
            "",
            f"{amount}.00",
        ]
    )


def make_csv(path: Path, rows: int, seed: int = 5) -> Path:
    if path.exists() and path.stat().st_size > 0:
        return path
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write("Name,Phone,Email,City,Balance\n")
        for i in range(rows):
            out.write(
                f"Mteja {i},{_phone(rng)},mteja{i}@example.com,"
                f'{rng.choice(CITIES)},"{_balance(rng)}"\n'
            )
    return path


def make_xlsx(path: Path, rows: int, seed: int = 7) -> Path:
    if path.exists() and path.stat().st_size > 0:
        return path
    import openpyxl

    rng = random.Random(seed)
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("Wateja")
    sheet.append(["Jina", "Simu", "Barua pepe", "Mji", "Deni"])
    for i in range(rows):
        sheet.append(
            [
                f"Mteja {i}",
                _phone(rng),
                f"mteja{i}@example.com",
                rng.choice(CITIES),
                rng.randrange(0, 50_000),
            ]
        )
    book.save(path)
    return path


def _runtime(url: str, data_dir: Path, admin_url: str | None = None) -> Any:
    os.environ.setdefault("COPCCA_SECRET_KEY", KEY)
    from copcca.config import Settings
    from copcca.db.migrate import upgrade
    from copcca.runtime import build_runtime, set_runtime

    upgrade(admin_url or url)
    settings = Settings(
        data_dir=data_dir,
        database_url=url,
        secret_key=KEY,
        migration_database_url=admin_url,
        import_max_bytes=500_000_000,
        import_max_rows=2_000_000,
        import_batch_rows=int(os.environ.get("BENCH_BATCH", "20000")),
    )
    runtime = build_runtime(settings)
    set_runtime(runtime)
    return runtime


def _company(runtime: Any) -> Any:
    from copcca.models.tenancy import Role
    from copcca.security import accounts
    from copcca.security.principal import Principal

    user, company = accounts.sign_up(
        runtime.db,
        accounts.SignUp(
            company_name="Bench Duka",
            name="Owner",
            email="bench@example.co.ke",
            password="correct horse battery",  # noqa: S106 - a throwaway bench database
            country="KE",
        ),
    )
    return Principal(company.id, user.id, Role.OWNER, "bench", "user")


def import_end_to_end(runtime: Any, me: Any, path: Path) -> tuple[float, Any]:
    """What ``copcca import FILE --into customers`` does, timed."""
    from copcca.imports import runner, service
    from copcca.imports.limits import Limits

    limits = Limits.from_settings(runtime.settings)
    start = time.perf_counter()
    with runtime.db.transaction(me.company_id) as session, path.open("rb") as handle:
        with service.stage(handle, limits) as staged:
            job = service.create_job(
                session,
                me,
                runtime.settings,
                staged,
                filename=path.name,
                target="customers",
            )
        token = service.start_import(session, me, job.id, enqueue=False, trigger="cli")
        job_id = job.id
    runner.run_import(runtime.db, runtime.settings, me.company_id, job_id, token)
    elapsed = time.perf_counter() - start
    with runtime.db.transaction(me.company_id, write=False) as session:
        done = service.get_job(session, me, job_id)
        session.expunge(done)
    return elapsed, done


COLUMNS = (
    "id, company_id, name, phone, email, phones, emails, city, address, "
    "country, notes, balance_minor, currency, source, merged_into_id, "
    "deleted_at, created_at, updated_at"
)


def sqlite_baseline(db_path: Path, work: Path) -> dict[str, float]:
    """Bare executemany of the very rows the import stored, into a fresh
    database with the same schema (and into a plain table without indexes)."""
    from copcca.db.migrate import upgrade

    rows = (
        sqlite3.connect(db_path).execute(f"SELECT {COLUMNS} FROM customers").fetchall()
    )
    company = sqlite3.connect(db_path).execute("SELECT * FROM companies").fetchall()
    fresh = work / "baseline.db"
    upgrade(f"sqlite:///{fresh}")
    con = sqlite3.connect(fresh, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    marks = ",".join("?" * len(company[0]))
    con.execute(f"INSERT INTO companies VALUES ({marks})", company[0])
    marks = ",".join("?" * 18)
    start, cpu = time.perf_counter(), time.process_time()
    con.execute("BEGIN")
    con.executemany(f"INSERT INTO customers ({COLUMNS}) VALUES ({marks})", rows)
    con.execute("COMMIT")
    same_table = time.perf_counter() - start
    same_table_cpu = time.process_time() - cpu
    con.execute(f"CREATE TABLE plain AS SELECT {COLUMNS} FROM customers WHERE 0")
    start = time.perf_counter()
    con.execute("BEGIN")
    con.executemany(f"INSERT INTO plain ({COLUMNS}) VALUES ({marks})", rows)
    con.execute("COMMIT")
    plain = time.perf_counter() - start
    con.close()
    return {
        "same_table_s": same_table,
        "same_table_cpu_s": same_table_cpu,
        "plain_table_s": plain,
        "rows": len(rows),
    }


def sqlite_figures(path: Path, rows: int, repeat: int = 1) -> dict[str, Any]:
    """The import and its baseline, each pair in a fresh database, ``repeat``
    times; the fastest of each side counts (other work on a shared machine
    only ever slows a run down). CPU seconds are reported too: unlike wall
    time, they barely move with the machine's load."""
    runs: list[tuple[float, float, Any, dict[str, float]]] = []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory(dir=RESULTS) as tmp:
            work = Path(tmp)
            db = work / "copcca.db"
            runtime = _runtime(f"sqlite:///{db}", work / "data")
            me = _company(runtime)
            cpu = time.process_time()
            elapsed, job = import_end_to_end(runtime, me, path)
            cpu = time.process_time() - cpu
            runtime.db.dispose()
            runs.append((elapsed, cpu, job, sqlite_baseline(db, work)))
    elapsed = min(r[0] for r in runs)
    cpu = min(r[1] for r in runs)
    job = runs[0][2]
    same = min(r[3]["same_table_s"] for r in runs)
    same_cpu = min(r[3]["same_table_cpu_s"] for r in runs)
    plain = min(r[3]["plain_table_s"] for r in runs)
    return {
        "rows": rows,
        "runs": repeat,
        "seconds": round(elapsed, 2),
        "rows_per_s": int(rows / elapsed),
        "created": job.created_count,
        "updated": job.updated_count,
        "unchanged": job.unchanged_count,
        "skipped": job.skipped_count,
        "baseline_executemany_s": round(same, 2),
        "ratio": round(elapsed / same, 2),
        "each_run": [
            {"seconds": round(r[0], 1), "baseline_s": round(r[3]["same_table_s"], 1)}
            for r in runs
        ],
        "cpu_s": round(cpu, 2),
        "baseline_cpu_s": round(same_cpu, 2),
        "cpu_ratio": round(cpu / same_cpu, 2),
        "baseline_plain_table_s": round(plain, 2),
        "ratio_vs_plain_table": round(elapsed / plain, 2),
    }


def xlsx_figures(path: Path, rows: int) -> dict[str, Any]:
    import python_calamine

    from copcca.imports.formats.table import data_rows, scan
    from copcca.imports.limits import Limits
    from copcca.imports.targets import TARGETS

    limits = Limits(max_rows=2_000_000, max_bytes=500_000_000)
    layout, _ = scan(path, limits, TARGETS["customers"], "KE")
    bare, ours = [], []
    for _ in range(3):
        start = time.perf_counter()
        with python_calamine.CalamineWorkbook.from_path(str(path)) as book:
            data = book.get_sheet_by_index(0).to_python()
        bare.append(time.perf_counter() - start)
        assert len(data) == rows + 1
        start = time.perf_counter()
        count = sum(1 for _ in data_rows(path, layout, limits))
        ours.append(time.perf_counter() - start)
        assert count == rows
    return {
        "rows": rows,
        "calamine_bare_s": round(min(bare), 3),
        "our_reader_s": round(min(ours), 3),
        "ratio": round(min(ours) / min(bare), 2),
    }


def rss_child(rows: int, path: Path) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(dir=RESULTS) as tmp:
        work = Path(tmp)
        runtime = _runtime(f"sqlite:///{work / 'copcca.db'}", work / "data")
        me = _company(runtime)
        elapsed, _job = import_end_to_end(runtime, me, path)
    return {
        "rows": rows,
        "peak_rss_mb": round(_peak_rss_kb() / 1024, 1),
        "seconds": round(elapsed, 1),
    }


def _peak_rss_kb() -> int:
    """This process's high-water RSS. VmHWM, because ru_maxrss survives exec
    on Linux and would report the parent's peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def rss_figures(sizes: list[int]) -> list[dict[str, Any]]:
    out = []
    for rows in sizes:
        path = make_csv(RESULTS / f"customers-{rows}.csv", rows)
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "bench.imports",
                "--rss-child",
                str(rows),
                str(path),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        out.append(json.loads(result.stdout.strip().splitlines()[-1]))
    return out


def postgres_figures(path: Path, rows: int, admin: str) -> dict[str, Any]:
    import psycopg
    from sqlalchemy.engine import make_url

    from copcca.db.session import normalise_url

    name = f"copcca_bench_{os.getpid()}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        base = make_url(normalise_url(admin)).set(database=name)
        admin_url = base.render_as_string(hide_password=False)
        app_url = base.set(username="copcca_app", password=None).render_as_string(
            hide_password=False
        )
        with tempfile.TemporaryDirectory(dir=RESULTS) as tmp:
            runtime = _runtime(app_url, Path(tmp) / "data", admin_url)
            me = _company(runtime)
            elapsed, job = import_end_to_end(runtime, me, path)
            runtime.db.dispose()
        plain = admin_url.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(plain) as conn:
            conn.execute("CREATE TABLE customers_copy (LIKE customers INCLUDING ALL)")
            data = bytearray()
            with conn.cursor().copy(f"COPY customers ({COLUMNS}) TO STDOUT") as out:
                for chunk in out:
                    data += chunk
            start = time.perf_counter()
            with conn.cursor().copy(
                f"COPY customers_copy ({COLUMNS}) FROM STDIN"
            ) as copy:
                copy.write(bytes(data))
            conn.commit()
            copy_s = time.perf_counter() - start
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return {
        "rows": rows,
        "seconds": round(elapsed, 2),
        "rows_per_s": int(rows / elapsed),
        "created": job.created_count,
        "baseline_copy_s": round(copy_s, 2),
        "ratio": round(elapsed / copy_s, 2),
    }


def _load() -> list[float]:
    """The 1, 5 and 15 minute load averages."""
    return [round(x, 2) for x in os.getloadavg()]


def run() -> dict[str, Any]:
    """Every figure of the Import Center benchmark, as a dict."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    rows = int(os.environ.get("BENCH_IMPORT_ROWS", "1000000"))
    xrows = int(os.environ.get("BENCH_XLSX_ROWS", "100000"))
    sizes = [
        int(x) for x in os.environ.get("BENCH_RSS_ROWS", "250000,1000000").split(",")
    ]
    csv_path = make_csv(RESULTS / f"customers-{rows}.csv", rows)
    # Other work on the machine moves both sides of each ratio, not equally.
    out: dict[str, Any] = {"load_average_before": _load()}
    repeat = int(os.environ.get("BENCH_REPEAT", "2"))
    out["csv_sqlite"] = sqlite_figures(csv_path, rows, repeat)
    out["xlsx_read"] = xlsx_figures(
        make_xlsx(RESULTS / f"customers-{xrows}.xlsx", xrows), xrows
    )
    out["peak_rss"] = rss_figures(sizes)
    pg = os.environ.get("BENCH_PG_URL") or os.environ.get("COPCCA_TEST_PG_URL")
    if pg:
        out["csv_postgres"] = postgres_figures(csv_path, rows, pg)
    else:
        out["csv_postgres"] = "skipped: set BENCH_PG_URL to a superuser URL"
    out["load_average_after"] = _load()
    (RESULTS / "imports.json").write_text(json.dumps(out, indent=2))
    return out


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--rss-child":
        print(json.dumps(rss_child(int(sys.argv[2]), Path(sys.argv[3]))))
    else:
        print(json.dumps(run(), indent=2))
