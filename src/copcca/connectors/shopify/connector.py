"""The Shopify connector: a custom app's Admin API token or the OAuth
install, three streams, and signed webhooks. See the package docstring."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from copcca.connectors.base import (
    CheckResult,
    ConnectionRevoked,
    Connector,
    ConnectorContext,
    InboundEvent,
    OAuthFlow,
    Stream,
    WebhookReceiver,
)
from copcca.connectors.errors import AuthError, ProviderError
from copcca.connectors.http import ProviderHttp, RetryPolicy, connection_limiter
from copcca.connectors.shopify import oauth, webhooks
from copcca.connectors.shopify.client import ShopifyClient, classify
from copcca.connectors.shopify.streams import STREAMS
from copcca.errors import InvalidInput

# Pacing comes from Shopify's call-limit header and 429s (which pause the
# whole connection); this limiter only stops bursts beyond any plan's bucket.
RATE, BURST = 40.0, 40
RETRY = RetryPolicy()  # 5 tries, capped backoff; then the engine's own retries


class ShopifyConnector(Connector, WebhookReceiver, OAuthFlow):
    key = "shopify"
    known_event_types = frozenset(webhooks.TOPICS)

    def __init__(self, app: oauth.ShopifyApp | None = None) -> None:
        self._app = app

    @property
    def app(self) -> oauth.ShopifyApp:
        """Our Partner app's credentials (settings), needed for OAuth only."""
        if self._app is None:
            from copcca.runtime import get_runtime

            settings = get_runtime().settings
            if not settings.shopify_client_id or not settings.shopify_client_secret:
                raise AuthError(
                    "Signing in with Shopify is not set up on this server.",
                    fix="Use a custom app's Admin API access token instead, or ask "
                    "the administrator to set COPCCA_SHOPIFY_CLIENT_ID and "
                    "COPCCA_SHOPIFY_CLIENT_SECRET.",
                )
            self._app = oauth.ShopifyApp(
                settings.shopify_client_id,
                settings.shopify_client_secret.get_secret_value(),
            )
        return self._app

    def client(self, ctx: ConnectorContext) -> ShopifyClient:
        """A client for this connection, sharing its limiter (J8)."""
        http = ProviderHttp(
            ctx.http,
            provider="Shopify",
            classifier=classify,
            limiter=connection_limiter(ctx.connection_key, RATE, BURST),
            retry=RETRY,
        )
        return ShopifyClient(http, ctx.config, refresh=self._refresher(ctx, http))

    def _refresher(self, ctx: ConnectorContext, http: ProviderHttp) -> Any:
        """Renew an expiring offline token once per connection (S5): under the
        engine's lock, only if the stored token is still the one refused;
        the new pair is sealed before it is used."""

        def refresh(refused: str) -> None:
            def needed(stored: dict[str, str]) -> bool:
                return stored.get("access_token") == refused and bool(
                    stored.get("refresh_token")
                )

            def renew(stored: dict[str, str]) -> dict[str, str]:
                return oauth.refresh_tokens(
                    http, ctx.config, self.app, stored["refresh_token"]
                )

            if ctx.refresh_secrets is None:
                raise AuthError(
                    "Shopify's access token expired.",
                    fix="Reconnect Shopify from Connect Systems.",
                    status=401,
                )
            ctx.refresh_secrets(needed, renew)

        return refresh

    # Connector --------------------------------------------------------------
    def check(self, ctx: ConnectorContext) -> CheckResult:
        try:
            shop = self.client(ctx).shop()
        except ProviderError as exc:
            return CheckResult(False, exc.message, exc.kind, exc.fix)
        name = str(shop.get("name") or ctx.config.get("shop_domain") or "your store")
        currency = str(shop.get("currency") or "")
        return CheckResult(
            True,
            f"Connected to {name}" + (f", prices in {currency}." if currency else "."),
            details={
                "shop_name": name,
                "currency": currency,
                "domain": str(shop.get("myshopify_domain") or ""),
            },
        )

    def streams(self, ctx: ConnectorContext) -> list[Stream]:
        client = self.client(ctx)
        return [cls(client) for cls in STREAMS]

    # WebhookReceiver --------------------------------------------------------
    def verify_webhook(
        self, config: Mapping[str, Any], body: bytes, headers: Mapping[str, str]
    ) -> None:
        secret = config.get("webhook_secret")
        if not secret and self._app_configured():
            secret = self.app.client_secret
        webhooks.verify(str(secret) if secret else None, body, headers)

    def parse_webhook(
        self, body: bytes, headers: Mapping[str, str]
    ) -> list[InboundEvent]:
        return webhooks.parse(body, headers)

    def apply_webhook(self, ctx: ConnectorContext, event: InboundEvent) -> list[Any]:
        """CRM records a stored event brings. ``app/uninstalled`` means our
        token is dead: the connection needs reconnecting. An older delivery
        than the stored version is left unchanged by the ingest service's
        version check (W9)."""
        if event.type == webhooks.UNINSTALLED:
            return [
                ConnectionRevoked(
                    "The Shopify store removed our app, so we can no longer read it."
                )
            ]
        return webhooks.records_for(event, ctx.currency)

    def register_webhooks(self, ctx: ConnectorContext, address: str) -> list[str]:
        """Subscribe ``address`` to every topic we handle; returns new topics."""
        client = self.client(ctx)
        have = {
            str(h.get("topic"))
            for h in client.webhooks()
            if str(h.get("address")) == address
        }
        added = [t for t in webhooks.TOPICS if t not in have]
        for topic in added:
            client.create_webhook(topic, address)
        return added

    # OAuthFlow --------------------------------------------------------------
    def authorize_url(
        self, config: Mapping[str, Any], state: str, redirect_uri: str
    ) -> str:
        try:
            oauth.check_shop(str(config.get("shop_domain") or ""))
            app = self.app
        except AuthError as exc:  # typed in the form: say what to change
            raise InvalidInput(exc.message, fix=exc.fix, field="shop_domain") from exc
        return oauth.authorize_url(config, app, state, redirect_uri)

    def exchange(
        self, ctx: ConnectorContext, params: Mapping[str, str], redirect_uri: str
    ) -> dict[str, str]:
        oauth.verify_callback(params, self.app.client_secret)
        shop = oauth.check_shop(str(params.get("shop") or ""))
        expected = str(ctx.config.get("shop_domain") or "").strip().lower()
        if expected and shop != expected:
            raise AuthError(
                f"Shopify answered for {shop}, not {expected}.",
                fix="Start again and sign in to the right store.",
            )
        http = ProviderHttp(ctx.http, provider="Shopify", classifier=classify)
        config = {**ctx.config, "shop_domain": shop}
        return oauth.exchange_code(
            http, config, self.app, str(params.get("code") or "")
        )

    def oauth_ready(self) -> bool:
        """Signing in with Shopify needs our app's credentials on the server."""
        return self._app_configured()

    def _app_configured(self) -> bool:
        try:
            self.app  # noqa: B018  (resolves the settings once)
        except AuthError:
            return False
        return True
