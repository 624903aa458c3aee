"""Callback tokens: ``<company uuid hex>.<random>``.

The company part lets the receiving path set the tenant for PostgreSQL
row-level security before it looks anything up (like the session cookie in
``copcca.security.sessions``); the random part (144 bits) is what makes the
address unguessable, compared in constant time (P4, W2).
"""

from __future__ import annotations

import secrets
import uuid

TOKEN_BYTES = 18  # 24 url-safe characters; the whole token fits String(64)


def new_token(company_id: uuid.UUID) -> str:
    return f"{company_id.hex}.{secrets.token_urlsafe(TOKEN_BYTES)}"


def company_of(token: str) -> uuid.UUID | None:
    """The company a well-formed token names, or ``None``."""
    company_hex, dot, rest = token.partition(".")
    if not dot or not rest or len(token) > 64 or len(company_hex) != 32:
        return None
    try:
        return uuid.UUID(hex=company_hex)
    except ValueError:
        return None
