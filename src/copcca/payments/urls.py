"""The addresses we give providers for one connection."""

from __future__ import annotations

from copcca.models.integrations import Integration

# Safaricom refuses C2B addresses containing these words (providers.md §1.4).
DARAJA_FORBIDDEN = ("mpesa", "m-pesa", "safaricom", "exec", "cmd", "sql", "query")


def hook_url(base_url: str, integration: Integration) -> str:
    """The generic callback address (the inbox route)."""
    return f"{base_url.rstrip('/')}/hooks/{integration.provider}/{integration.callback_token}"


def c2b_urls(base_url: str, integration: Integration) -> dict[str, str]:
    """M-Pesa C2B confirmation and validation addresses (no 'mpesa' in them)."""
    base = f"{base_url.rstrip('/')}/hooks/c2b/{integration.callback_token}"
    return {"confirmation": f"{base}/confirmation", "validation": f"{base}/validation"}


def forbidden_word(url: str) -> str | None:
    lowered = url.lower()
    return next((w for w in DARAJA_FORBIDDEN if w in lowered), None)
