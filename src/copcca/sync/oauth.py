"""The OAuth plumbing every ``OAuthFlow`` connector shares: a state bound to
the person who started it, the redirect to the provider, and the callback
that trades the code for tokens and stores them sealed.

The pending sign-in lives in a short-lived cookie sealed by the vault with
the company and user as associated data, so it cannot be forged, read, or
replayed by someone else; the ``state`` the provider echoes back must match
it (compared in constant time). Provider specifics (scopes, the callback's
own signature, as Shopify's ``hmac``) belong to the connector's
``exchange``.
"""

from __future__ import annotations

import base64
import secrets
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from copcca.connectors.base import OAuthFlow
from copcca.connectors.registry import get_provider
from copcca.errors import CopccaError, VaultError
from copcca.integrations import credentials
from copcca.models.tenancy import Company
from copcca.security.principal import Principal
from copcca.security.signatures import constant_time_equal
from copcca.security.vault import Vault
from copcca.sync.context import connector_for, unsaved_context

COOKIE = "copcca_oauth"
COOKIE_PATH = "/app/integrations/oauth"
LIFETIME_SECONDS = 600


class SignInFailed(CopccaError):
    status_code = 400
    code = "oauth_failed"


@dataclass(frozen=True)
class Pending:
    provider: str
    state: str
    config: dict[str, Any]  # plain settings typed before leaving
    name: str | None
    integration_id: uuid.UUID | None  # set when reconnecting


def flow_for(provider: str) -> OAuthFlow | None:
    connector = connector_for(provider)
    return connector if isinstance(connector, OAuthFlow) else None


def redirect_uri(base_url: str, provider: str) -> str:
    return f"{base_url.rstrip('/')}{COOKIE_PATH}/{provider}/callback"


def _context(actor: Principal) -> str:
    return f"oauth-state:{actor.company_id}:{actor.user_id}"


def begin(
    vault: Vault,
    actor: Principal,
    provider: str,
    config: dict[str, Any],
    *,
    base_url: str,
    name: str | None = None,
    integration_id: uuid.UUID | None = None,
) -> tuple[str, str]:
    """(the provider's authorise URL, the sealed cookie value)."""
    flow = flow_for(provider)
    if flow is None:
        raise SignInFailed(f"{get_provider(provider).name} has no sign-in flow.")
    state = secrets.token_urlsafe(24)
    sealed = vault.seal_json(
        {
            "provider": provider,
            "state": state,
            "config": config,
            "name": name,
            "integration_id": str(integration_id) if integration_id else None,
            "expires": int(time.time()) + LIFETIME_SECONDS,
        },
        context=_context(actor),
    )
    url = flow.authorize_url(config, state, redirect_uri(base_url, provider))
    return url, base64.urlsafe_b64encode(sealed).decode("ascii")


def pending(
    vault: Vault,
    actor: Principal,
    provider: str,
    cookie: str | None,
    params: Mapping[str, str],
) -> Pending:
    """The sign-in this callback belongs to, or a plain error."""
    expired = SignInFailed(
        "This sign-in expired or was not started here.",
        fix="Start connecting again from Connect Systems.",
    )
    if not cookie:
        raise expired
    try:
        data = vault.open_json(
            base64.urlsafe_b64decode(cookie), context=_context(actor)
        )
    except (VaultError, ValueError) as exc:
        raise expired from exc
    if data.get("provider") != provider or int(data.get("expires", 0)) < time.time():
        raise expired
    if not constant_time_equal(str(data.get("state", "")), params.get("state", "")):
        raise expired
    if params.get("error"):
        raise SignInFailed(
            f"{get_provider(provider).name} did not give access.",
            fix="Try again and choose Allow on the sign-in page.",
        )
    raw_id = data.get("integration_id")
    return Pending(
        provider,
        str(data["state"]),
        dict(data.get("config") or {}),
        data.get("name"),
        uuid.UUID(raw_id) if raw_id else None,
    )


def exchange(
    company: Company,
    found: Pending,
    params: Mapping[str, str],
    *,
    base_url: str,
    transport: httpx.BaseTransport | None = None,
) -> dict[str, Any]:
    """Trade the callback for tokens; the validated full config."""
    flow = flow_for(found.provider)
    assert flow is not None
    info = get_provider(found.provider)
    with unsaved_context(
        company, found.provider, found.config, transport=transport
    ) as ctx:
        tokens = flow.exchange(ctx, params, redirect_uri(base_url, found.provider))
    config = credentials.validate_config(info.config_model, {**found.config, **tokens})
    secret_values, plain = credentials.split(config)
    return {**plain, **secret_values}
