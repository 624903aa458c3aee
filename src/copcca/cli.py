"""The ``copcca`` command: serve, web, worker, migrate, demo, keys, sandbox."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

from copcca.config import get_settings
from copcca.runtime import Runtime
from copcca.security.vault import KeyConfigError

app = typer.Typer(help="COPCCA Integrations hub.", no_args_is_help=True)
keys_app = typer.Typer(help="Master keys for stored credentials.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


def _runtime() -> Runtime:
    from copcca.runtime import build_runtime, set_runtime

    try:
        runtime = build_runtime(get_settings())
    except KeyConfigError as exc:
        typer.secho(f"Refusing to start: {exc}", fg="red", err=True)
        raise typer.Exit(code=2) from exc
    set_runtime(runtime)
    return runtime


@app.command()
def migrate() -> None:
    """Create or upgrade the database schema."""
    from copcca.db.migrate import upgrade

    settings = get_settings()
    upgrade(settings.effective_migration_url)
    typer.echo("Database is up to date.")


@app.command()
def demo() -> None:
    """Create the demo company (a Nairobi shop) if it does not exist yet."""
    from copcca.demo import ensure_demo

    email, _password = ensure_demo(_runtime())
    typer.echo(f"Demo company ready: sign in as {email}.")


def _banner(host: str, port: int) -> None:
    from copcca.demo import demo_login
    from copcca.runtime import get_runtime

    typer.secho(
        f"\n  COPCCA Integrations is running at http://{host}:{port}/", bold=True
    )
    runtime = get_runtime()
    login = demo_login(runtime)
    if login:
        typer.echo(f"  Demo login: {login[0]}  password: {login[1]}")
    if runtime.settings.demo:
        from copcca.sandbox.demo import store_url

        typer.echo(
            f"  Sandbox Shopify store (not a real shop): {store_url(runtime.settings)}"
        )
    typer.echo("")


@app.command()
def serve(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
) -> None:
    """Web app, background worker and scheduler in one process."""
    import uvicorn

    from copcca.main import create_app

    runtime = _runtime()
    application = create_app(runtime.settings, runtime=runtime, embedded_worker=True)
    _banner(host, port)
    uvicorn.run(application, host=host, port=port, log_level="info", access_log=False)


@app.command()
def web(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    workers: Annotated[int, typer.Option(help="Web processes")] = 1,
) -> None:
    """Only the web app (run workers apart with `copcca worker`)."""
    import uvicorn

    _runtime()
    uvicorn.run(
        "copcca.main:create_web_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        access_log=False,
    )


@app.command()
def worker(
    threads: Annotated[int, typer.Option(help="Job threads")] = 2,
    scheduler: Annotated[
        bool, typer.Option(help="Run periodic jobs (exactly one worker should)")
    ] = True,
) -> None:
    """Run background jobs until stopped."""
    from copcca.jobs import tasks
    from copcca.jobs.consumer import run_worker
    from copcca.jobs.queue import configure_queue

    runtime = _runtime()
    configure_queue(runtime.settings)
    tasks.load_all()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    run_worker(threads, periodic=scheduler)


@app.command("import")
def import_file(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    into: Annotated[
        str,
        typer.Option(
            "--into",
            help="customers, products, sales, invoices, payments (M-Pesa "
            "statements too), stock_counts or competitor_prices",
        ),
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Report what would change; write nothing")
    ] = False,
    company: Annotated[str | None, typer.Option(help="Company name or id")] = None,
    sheet: Annotated[str | None, typer.Option(help="Sheet of a workbook")] = None,
    country: Annotated[str | None, typer.Option(help="Country of local phones")] = None,
    date_order: Annotated[str | None, typer.Option(help="DMY, MDY or YMD")] = None,
    map_: Annotated[
        list[str] | None, typer.Option("--map", help="'Column heading=field'")
    ] = None,
    on: Annotated[
        list[str] | None,
        typer.Option("--on", help="'problem=choice', e.g. bad_phone=without"),
    ] = None,
) -> None:
    """Import a CSV, Excel or OpenDocument file into the CRM."""
    from rich.console import Console

    from copcca.errors import CopccaError
    from copcca.imports import console as flow

    runtime = _runtime()
    out = Console()
    try:
        job = flow.run(
            runtime,
            out,
            file,
            into,
            company=company,
            dry_run=dry_run,
            sheet=sheet,
            country=country,
            date_order=date_order,
            mapping=map_ or [],
            on_problem=on or [],
        )
    except CopccaError as exc:
        flow.fail(out, exc)
        raise typer.Exit(code=1) from exc
    flow.report(out, job, dry_run)


@app.command()
def sandbox(
    provider: Annotated[
        str,
        typer.Argument(
            help="shopify, woocommerce, mpesa, airtel, tigo, flutterwave or paypal"
        ),
    ],
    port: Annotated[int, typer.Option()] = 8100,
    orders: Annotated[int, typer.Option(help="Seeded orders (shops)")] = 1000,
    customers: Annotated[int, typer.Option(help="Seeded customers (shops)")] = 200,
    callback_url: Annotated[
        str,
        typer.Option(help="Where Airtel, Tigo, Flutterwave or PayPal call back"),
    ] = "",
) -> None:
    """Run a provider emulator on 127.0.0.1, to try the hub without real accounts."""
    from copcca.sandbox import launch
    from copcca.sandbox.catalog import build
    from copcca.sandbox.server import serve_forever

    base = f"http://127.0.0.1:{port}"
    if provider in launch.SHOPS:
        app_, lines = launch.build(provider, orders=orders, customers=customers)
        typer.secho(f"\n  Sandbox {provider} at {base}  (not a real shop)", bold=True)
        for line in lines:
            typer.echo(f"  {line}".replace("{base}", base))
        typer.echo(f"  Control API: {base}/_sandbox\n")
        serve_forever(app_, port)
        return
    try:
        emulator = build(provider, callback_url=callback_url)
    except LookupError as exc:
        typer.secho(str(exc), fg="red", err=True)
        raise typer.Exit(code=2) from exc
    typer.echo(f"{provider} emulator on {base}/ (state: /_sandbox/control)")
    serve_forever(emulator.app, port)


@keys_app.command("rotate")
def keys_rotate(
    reencrypt_only: Annotated[
        bool, typer.Option(help="Do not make a new key; finish re-encrypting")
    ] = False,
) -> None:
    """Make a new master key and re-encrypt every stored secret (safe to re-run)."""
    from copcca.security.keys import rotate

    runtime = _runtime()
    try:
        report = rotate(
            runtime.settings,
            runtime.db,
            runtime.vault,
            new_key=not reencrypt_only,
            progress=typer.echo,
        )
    except KeyConfigError as exc:
        typer.secho(str(exc), fg="red", err=True)
        raise typer.Exit(code=2) from exc
    typer.echo(
        f"Primary key is now {report.primary}: {report.resealed} secrets re-encrypted, "
        f"{report.already_current} already current, in {report.companies} companies."
    )


@keys_app.command("prune")
def keys_prune() -> None:
    """Forget old master keys that no stored secret uses any more."""
    from copcca.security.keys import prune

    runtime = _runtime()
    removed = prune(runtime.settings, runtime.db, runtime.vault)
    typer.echo(f"Removed keys: {', '.join(removed) or 'none'}")


if __name__ == "__main__":
    app()
