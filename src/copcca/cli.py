"""The ``copcca`` command: serve, web, worker, migrate, demo, keys."""

from __future__ import annotations

import logging
import sys
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
    login = demo_login(get_runtime())
    if login:
        typer.echo(f"  Demo login: {login[0]}  password: {login[1]}\n")


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


@app.command()
def sandbox(
    provider: Annotated[
        str, typer.Argument(help="mpesa, airtel, tigo, flutterwave or paypal")
    ],
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8100,
    callback_url: Annotated[
        str,
        typer.Option(help="Where Airtel, Tigo, Flutterwave or PayPal call back"),
    ] = "",
) -> None:
    """Run a provider emulator, to try the hub without real accounts."""
    import uvicorn

    from copcca.sandbox.catalog import build

    try:
        emulator = build(provider, callback_url=callback_url)
    except LookupError as exc:
        typer.secho(str(exc), fg="red", err=True)
        raise typer.Exit(code=2) from exc
    typer.echo(
        f"{provider} emulator on http://{host}:{port}/ (state: /_sandbox/control)"
    )
    uvicorn.run(emulator.app, host=host, port=port, log_level="info", access_log=False)


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
