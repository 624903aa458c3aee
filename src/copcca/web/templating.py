"""The Jinja environment, filters for money/dates/phones, and ``render``."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote
from zoneinfo import ZoneInfo

from babel.dates import format_datetime, format_timedelta
from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from copcca import __version__
from copcca.crm.money import format_money
from copcca.crm.phones import display_phone
from copcca.db.base import utcnow
from copcca.web import i18n

TEMPLATE_DIR = Path(__file__).parent / "templates"
FLASH_COOKIE = "copcca_flash"
BABEL_LOCALES = {"en": "en_KE", "sw": "sw_KE", "fr": "fr"}

env = Environment(
    loader=FileSystemLoader(TEMPLATE_DIR),
    autoescape=select_autoescape(["html"]),
    extensions=["jinja2.ext.i18n"],
    trim_blocks=True,
    lstrip_blocks=True,
)
env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]


def _babel_locale() -> str:
    return BABEL_LOCALES.get(i18n.current_locale(), "en_KE")


def when(
    value: datetime | None, tz: str = "Africa/Nairobi", fmt: str = "medium"
) -> str:
    if value is None:
        return "—"
    return str(
        format_datetime(value, format=fmt, tzinfo=ZoneInfo(tz), locale=_babel_locale())
    )


def ago(value: datetime | None) -> str:
    if value is None:
        return i18n.gettext("never")
    delta = value - utcnow()
    return str(
        format_timedelta(delta, add_direction=True, locale=_babel_locale(), threshold=1)
    )


def money(amount_minor: int | None, currency: str) -> str:
    if amount_minor is None:
        return "—"
    return format_money(amount_minor, currency, i18n.current_locale())


env.filters["when"] = when
env.filters["ago"] = ago
env.filters["money"] = money
env.filters["phone"] = display_phone
env.globals["LOCALES"] = i18n.LOCALES
env.globals["VERSION"] = __version__


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    locale: str = i18n.DEFAULT_LOCALE,
    status_code: int = 200,
) -> HTMLResponse:
    """Render a page in ``locale``, with the one-time message of the previous
    redirect if any. Pages never cache: they hold private data."""
    flash = request.cookies.get(FLASH_COOKIE)
    ctx: dict[str, Any] = {
        "request": request,
        "lang": locale,
        "path": request.url.path,
        "flash": unquote(flash) if flash else None,
    }
    ctx.update(context or {})
    with i18n.use_locale(locale):
        html = env.get_template(template).render(ctx)
    response = HTMLResponse(html, status_code=status_code)
    response.headers["cache-control"] = "no-store"
    if flash:
        response.delete_cookie(FLASH_COOKIE, path="/")
    return response
