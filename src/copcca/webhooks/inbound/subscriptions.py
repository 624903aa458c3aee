"""Turn on live updates: ask the provider to send its webhooks to this
connection's receiving address, for providers whose API can do it (Shopify
with any access token; WooCommerce with a Read/Write key).

The provider is called outside any writing unit of work; the outcome is
written afterwards as an audit entry and a sync-log row the shop owner can
read.
"""

from __future__ import annotations

import uuid
from typing import Protocol, runtime_checkable

from copcca.connectors.base import ConnectorContext
from copcca.connectors.errors import ProviderError
from copcca.connectors.registry import get_provider
from copcca.errors import CopccaError
from copcca.integrations import service as integrations
from copcca.models.integrations import SyncStatus
from copcca.models.tenancy import Company
from copcca.runtime import Runtime
from copcca.security import audit
from copcca.security.principal import Principal
from copcca.sync.context import connector_for, open_context
from copcca.sync.logs import finish_log, start_log
from copcca.webhooks.inbound.labels import event_label


@runtime_checkable
class Subscriber(Protocol):
    def register_webhooks(self, ctx: ConnectorContext, address: str) -> list[str]:
        """Subscribe ``address`` to every event we handle; the topics added."""
        ...


class SubscribeFailed(CopccaError):
    status_code = 422
    code = "subscribe_failed"


def can_subscribe(provider: str) -> bool:
    info = get_provider(provider)
    return info.connector is not None and issubclass(info.connector, Subscriber)


def receiving_address(base_url: str, provider: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/hooks/{provider}/{token}"


def subscribe(
    runtime: Runtime, actor: Principal, integration_id: uuid.UUID
) -> list[str]:
    """Subscribe the provider's webhooks to this connection; the topics added."""
    with runtime.db.transaction(actor.company_id, write=False) as session:
        integration = integrations.get_integration(session, actor, integration_id)
        company = session.get(Company, actor.company_id)
        assert company is not None
        info = get_provider(integration.provider)
        connector = connector_for(integration.provider)
        if not isinstance(connector, Subscriber) or not integration.callback_token:
            raise SubscribeFailed(
                f"{info.name} cannot be asked to send live updates automatically.",
                fix="Paste the webhook address into its settings instead.",
            )
        address = receiving_address(
            runtime.settings.base_url, integration.provider, integration.callback_token
        )
    try:
        with open_context(runtime.db, runtime.vault, integration, company) as ctx:
            added = connector.register_webhooks(ctx, address)
    except ProviderError as exc:
        _record(runtime, actor, integration_id, info.name, [], exc.message, exc.fix)
        raise SubscribeFailed(exc.message, fix=exc.fix) from exc
    _record(runtime, actor, integration_id, info.name, added, None, None)
    return added


def _record(
    runtime: Runtime,
    actor: Principal,
    integration_id: uuid.UUID,
    name: str,
    added: list[str],
    error: str | None,
    fix: str | None,
) -> None:
    with runtime.db.transaction(actor.company_id) as session:
        integration = integrations.get_integration(session, actor, integration_id)
        log = start_log(
            session,
            actor.company_id,
            provider=integration.provider,
            integration_id=integration.id,
            kind="webhook",
            trigger="manual",
        )
        if error is None:
            message = (
                f"Live updates are on: {name} sends "
                f"{', '.join(event_label(t) for t in added)} as they happen."
                if added
                else f"Live updates were already on for {name}."
            )
            finish_log(log, status=SyncStatus.SUCCESS, message=message)
        else:
            finish_log(
                log,
                status=SyncStatus.FAILED,
                message=f"Could not turn on live updates: {error}",
                fix=fix,
                error_kind="request",
            )
        audit.record(
            session,
            actor,
            "integration.webhooks",
            f"Asked {name} to send live updates to '{integration.name}'.",
            target_type="integration",
            target_id=integration.id,
            after={"topics": added, "ok": error is None},
        )
