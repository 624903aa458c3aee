"""Keep secrets that travel in URLs out of the logs, for every provider.

httpx logs each request at INFO with its full URL (``HTTP Request: POST
https://…/hooks/mpesa/<token> "HTTP/1.1 200 OK"``). Our own callback
addresses carry an unguessable token that works like a password, a few
provider APIs take keys in the query string (WooCommerce over http), and a
URL may carry ``user:password@``. One filter on the loggers that print URLs
(httpx, httpcore, uvicorn's access log) masks all three before a line is
written, whichever connector, emulator or job made the request.
"""

from __future__ import annotations

import logging
import re

MASK = "***"
# /hooks/<provider>/<company hex>.<random> and /hooks/c2b/<token>/...
_CALLBACK_TOKEN = re.compile(r"\b[0-9a-f]{32}\.[A-Za-z0-9_-]{8,}")
_SECRET_QUERY = re.compile(
    r"(?i)([?&][^=&\s\"']*(?:secret|token|key|password|passwd|signature|sig|code|hash)"
    r"[^=&\s\"']*=)[^&\s\"']*"
)
_USERINFO = re.compile(r"(://)[^/@\s\"']+@")
LOGGERS = ("httpx", "httpcore", "uvicorn.access")


def redact(text: str) -> str:
    """``text`` with callback tokens, secret query values and URL
    credentials replaced by ``***``."""
    text = _CALLBACK_TOKEN.sub(MASK, text)
    text = _SECRET_QUERY.sub(rf"\g<1>{MASK}", text)
    return _USERINFO.sub(rf"\g<1>{MASK}@", text)


class RedactUrls(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        return True


_FILTER = RedactUrls()


def install() -> None:
    """Attach the filter (once) to every logger that prints URLs."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
