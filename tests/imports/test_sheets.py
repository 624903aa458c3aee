"""Google Sheets links, fetched with httpx from a local HTTP server that
answers like Google's CSV export (shared, private, missing)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from copcca.imports.errors import NotATable, SheetNotShared
from copcca.imports.formats.sheets import parse_link
from copcca.runtime import Runtime
from tests.helpers import make_company
from tests.imports.helpers import customers, job, run

SHARED = "1AbCdEfGhIjKlMnOpQrStUvWxYz0123456789"
PRIVATE = "1PrivateSheetIdPrivateSheetId0000000"
CSV = b"Jina,Simu\r\nAmina,0712345678\r\nBaraka,0722000111\r\n"
SEEN: list[str] = []


class FakeGoogle(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        SEEN.append(self.path)
        if self.path == f"/spreadsheets/d/{SHARED}/export?format=csv&gid=42":
            self.send_response(200)
            self.send_header("content-type", "text/csv")
            self.send_header("content-length", str(len(CSV)))
            self.end_headers()
            self.wfile.write(CSV)
        elif PRIVATE in self.path:
            self.send_response(302)
            self.send_header("location", "https://accounts.google.com/ServiceLogin")
            self.end_headers()
        else:
            self.send_response(404)
            self.end_headers()

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def google(runtime: Runtime) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeGoogle)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    runtime.settings.google_sheets_url = base
    try:
        yield base
    finally:
        server.shutdown()
        server.server_close()


def test_link_becomes_the_csv_export_address() -> None:
    link = parse_link(f"https://docs.google.com/spreadsheets/d/{SHARED}/edit#gid=42")
    assert link.export_url("https://docs.google.com") == (
        f"https://docs.google.com/spreadsheets/d/{SHARED}/export?format=csv&gid=42"
    )
    with pytest.raises(NotATable, match="not a Google Sheets link"):
        parse_link("http://169.254.169.254/latest/meta-data")


def test_shared_sheet_is_fetched_and_imported(google: str, runtime: Runtime) -> None:
    from copcca.imports import service

    tenant = make_company(runtime)
    url = f"https://docs.google.com/spreadsheets/d/{SHARED}/edit#gid=42"
    with (
        runtime.db.transaction(tenant.company_id) as session,
        service.stage_sheet(url, runtime.settings) as (staged, name),
    ):
        created = service.create_job(
            session,
            tenant.principal,
            runtime.settings,
            staged,
            filename=name,
            target="customers",
            source_kind="sheets",
        )
        job_id = created.id
    assert job(runtime, tenant, job_id).source_kind == "sheets"
    done = run(runtime, tenant, job_id)
    assert done.created_count == 2
    assert [c[0] for c in customers(runtime, tenant)] == ["Amina", "Baraka"]


def test_private_sheet_gets_the_sharing_fix(google: str, runtime: Runtime) -> None:
    from copcca.imports import service

    url = f"https://docs.google.com/spreadsheets/d/{PRIVATE}/edit"
    with (
        pytest.raises(SheetNotShared) as refused,
        service.stage_sheet(url, runtime.settings),
    ):
        pass
    assert "Anyone with the link" in (refused.value.fix or "")
