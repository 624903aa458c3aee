"""Callback tokens for payment connections: ``<company hex>.<random>``, so
the receiving route can set the tenant before any lookup (the same shape
the webhook inbox uses)."""

from __future__ import annotations

import secrets
import uuid


def new_callback_token(company_id: uuid.UUID) -> str:
    return f"{company_id.hex}.{secrets.token_urlsafe(18)}"
