"""Google Sheets share links: turned into the sheet's CSV export address and
fetched with httpx, streamed to a file under the byte limit.

Only links to the configured Google host are fetched (never an arbitrary
URL), redirects are not followed (a private sheet redirects to sign-in).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import IO
from urllib.parse import parse_qs, urlparse

import httpx

from copcca.imports.errors import (
    NotATable,
    SheetNotShared,
    SheetUnreachable,
    TooBig,
)
from copcca.imports.limits import Limits

SHEET_ID = re.compile(r"/spreadsheets/d/([A-Za-z0-9_-]{10,100})")
TIMEOUT = httpx.Timeout(20.0, connect=5.0)


@dataclass(frozen=True)
class SheetLink:
    sheet_id: str
    gid: str

    def export_url(self, base: str) -> str:
        return (
            f"{base.rstrip('/')}/spreadsheets/d/{self.sheet_id}/export"
            f"?format=csv&gid={self.gid}"
        )


def parse_link(link: str) -> SheetLink:
    """The sheet id and tab (gid) of a Google Sheets share link."""
    text = link.strip()
    parsed = urlparse(text)
    match = SHEET_ID.search(parsed.path)
    if (
        parsed.scheme not in ("http", "https")
        or match is None
        or not (parsed.hostname or "").endswith("docs.google.com")
    ):
        raise NotATable(
            "This is not a Google Sheets link.",
            fix="In Google Sheets press Share, copy the link and paste it here. It "
            "looks like https://docs.google.com/spreadsheets/d/…/edit.",
        )
    gid = "0"
    for source in (parsed.fragment, parsed.query):
        found = parse_qs(source).get("gid")
        if found and found[0].isdigit():
            gid = found[0]
    return SheetLink(match.group(1), gid)


def fetch(
    link: SheetLink,
    target: IO[bytes],
    limits: Limits,
    base_url: str,
    client: httpx.Client | None = None,
) -> int:
    """Stream the sheet's CSV into ``target``; returns the byte count."""
    own = client is None
    http = client or httpx.Client(timeout=TIMEOUT, follow_redirects=False)
    try:
        with http.stream("GET", link.export_url(base_url)) as response:
            _check(response)
            size = 0
            for chunk in response.iter_bytes(1 << 16):
                size += len(chunk)
                if size > limits.max_bytes:
                    raise TooBig(
                        f"This sheet is larger than {limits.describe_bytes()}.",
                        fix="Copy the rows you need into a new sheet and share that.",
                    )
                target.write(chunk)
            return size
    except httpx.HTTPError as exc:
        raise SheetUnreachable(
            "Google Sheets could not be reached.",
            fix="Check your internet connection and try again in a minute.",
        ) from exc
    finally:
        if own:
            http.close()


def _check(response: httpx.Response) -> None:
    status = response.status_code
    kind = response.headers.get("content-type", "")
    if status in (301, 302, 303, 307, 308, 401, 403) or (
        status == 200 and "text/html" in kind
    ):
        raise SheetNotShared(
            "This Google Sheet is not shared, so we cannot read it.",
            fix="In Google Sheets press Share > General access > 'Anyone with the "
            "link' (Viewer), then paste the link again.",
        )
    if status == 404:
        raise NotATable(
            "There is no Google Sheet at this link (or that tab was deleted).",
            fix="Open the sheet, copy its link from the address bar and try again.",
        )
    if status != 200:
        raise SheetUnreachable(
            f"Google Sheets answered with an error ({status}).",
            fix="Try again in a minute.",
        )
