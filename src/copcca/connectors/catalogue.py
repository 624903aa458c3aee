"""What each provider needs from a shop owner to connect, described once.

Each provider has a pydantic config model: secrets are ``SecretStr`` (sealed
by the vault, never shown again), everything else is plain config. The UI
builds its connect form and the API validates its body from the same model.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, SecretStr

Environment = Literal["sandbox", "production"]


class ProviderConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ShopifyConfig(ProviderConfig):
    shop_domain: str = Field(
        title="Shop address",
        description="Your store's myshopify.com address, e.g. duka-la-amina.myshopify.com",
        pattern=r"^[a-zA-Z0-9][a-zA-Z0-9\-]*\.myshopify\.com$|^[a-zA-Z0-9.\-:]+$",
        max_length=255,
    )
    access_token: SecretStr = Field(
        title="Admin API access token",
        description="From Settings → Apps → Develop apps → your app → API credentials.",
    )
    webhook_secret: SecretStr | None = Field(
        default=None,
        title="Webhook signing secret",
        description="The app's client secret, used to check Shopify's webhooks.",
    )
    refresh_token: SecretStr | None = Field(
        default=None,
        title="Refresh token",
        description="Only for expiring tokens from the Shopify sign-in; leave empty.",
    )
    api_base_url: HttpUrl | None = Field(
        default=None,
        title="API address (sandbox only)",
        description="Leave empty for a real store. Only for a sandbox store, "
        "e.g. http://127.0.0.1:8000/sandbox/shopify",
    )


class WooCommerceConfig(ProviderConfig):
    store_url: HttpUrl = Field(
        title="Store address", description="e.g. https://myshop.co.ke"
    )
    consumer_key: SecretStr = Field(
        title="Consumer key",
        description="WooCommerce → Settings → Advanced → REST API → Add key (Read/Write).",
    )
    consumer_secret: SecretStr = Field(title="Consumer secret")
    webhook_secret: SecretStr | None = Field(
        default=None,
        title="Webhook secret",
        description="The secret you type when creating webhooks in WooCommerce.",
    )


API_BASE_URL_HINT = (
    "Leave empty to use the provider's own address. Only for testing against "
    "an emulator, e.g. the built-in sandbox."
)
ALLOWED_IPS_HINT = (
    "Optional. Callbacks from any other address are refused. Separate "
    "addresses or ranges with commas, e.g. 196.201.214.0/24."
)


class MpesaConfig(ProviderConfig):
    environment: Environment = Field(default="sandbox", title="Environment")
    shortcode: str = Field(
        title="Paybill or till number",
        pattern=r"^\d{5,7}$",
        description="The number customers pay to.",
    )
    shortcode_type: Literal["paybill", "till"] = Field(default="paybill", title="Type")
    store_number: str | None = Field(
        default=None,
        title="Store number (tills only)",
        pattern=r"^\d{5,7}$",
        description="For a till: the store (head office) number that owns it. "
        "Leave empty for a paybill.",
    )
    consumer_key: SecretStr = Field(
        title="Consumer key", description="From your app on developer.safaricom.co.ke"
    )
    consumer_secret: SecretStr = Field(title="Consumer secret")
    passkey: SecretStr | None = Field(
        default=None,
        title="Lipa na M-Pesa passkey",
        description="Needed to request payments from a customer's phone (STK push).",
    )
    initiator_name: str | None = Field(
        default=None,
        title="API initiator name",
        max_length=100,
        description="The API operator created on the M-Pesa business portal. "
        "Needed to confirm payments with Safaricom and to show your balance.",
    )
    security_credential: SecretStr | None = Field(
        default=None,
        title="Security credential",
        description="The initiator's password encrypted on the Daraja portal "
        "(Go Live → Generate security credential).",
    )
    reject_unknown_accounts: bool = Field(
        default=False,
        title="Reject payments to unknown account numbers",
    )
    allowed_ips: str | None = Field(
        default=None,
        title="Only accept callbacks from",
        max_length=500,
        description=ALLOWED_IPS_HINT,
    )
    api_base_url: HttpUrl | None = Field(
        default=None, title="API address (advanced)", description=API_BASE_URL_HINT
    )


class AirtelMoneyConfig(ProviderConfig):
    environment: Environment = Field(default="sandbox", title="Environment")
    country: Literal["KE", "UG", "TZ", "RW", "NG", "ZM", "MW", "CD"] = Field(
        default="UG", title="Country"
    )
    client_id: str = Field(title="Client ID", max_length=200)
    client_secret: SecretStr = Field(title="Client secret")
    allowed_ips: str | None = Field(
        default=None,
        title="Only accept callbacks from",
        max_length=500,
        description=ALLOWED_IPS_HINT,
    )
    api_base_url: HttpUrl | None = Field(
        default=None, title="API address (advanced)", description=API_BASE_URL_HINT
    )


class TigoPesaConfig(ProviderConfig):
    api_base_url: HttpUrl = Field(
        title="Gateway address",
        description="Given by Tigo when your merchant account opens, "
        "e.g. https://accessgw.tigo.co.tz:8443",
    )
    token_path: str = Field(
        title="Token path",
        max_length=200,
        pattern=r"^/\S*$",
        description="The 'Get token URL' path Tigo gave you, e.g. /Shop2DM-GetToken",
    )
    push_path: str = Field(
        title="Push path",
        max_length=200,
        pattern=r"^/\S*$",
        description="The 'Push URL' path Tigo gave you, e.g. /Shop2DM-PushBillpay",
    )
    username: str = Field(title="Username", max_length=200)
    password: SecretStr = Field(title="Password")
    biller_msisdn: str = Field(
        title="Merchant number", max_length=20, pattern=r"^\+?\d{9,15}$"
    )
    biller_code: str = Field(
        title="Biller code",
        max_length=20,
        pattern=r"^[A-Za-z0-9]{1,20}$",
        description="The short code Tigo put in front of your reference numbers.",
    )
    hold_for_review: bool = Field(
        default=False,
        title="Let me confirm every Tigo payment",
        description="Tigo has no way to double-check a payment, so you may "
        "prefer to confirm each one against your Tigo statement.",
    )
    allowed_ips: str | None = Field(
        default=None,
        title="Only accept callbacks from",
        max_length=500,
        description=ALLOWED_IPS_HINT,
    )


class FlutterwaveConfig(ProviderConfig):
    environment: Environment = Field(default="sandbox", title="Environment")
    secret_key: SecretStr = Field(
        title="Secret key", description="Settings → API keys (starts with FLWSECK)."
    )
    secret_hash: SecretStr = Field(
        title="Webhook secret hash", description="Settings → Webhooks → Secret hash."
    )
    api_base_url: HttpUrl | None = Field(
        default=None, title="API address (advanced)", description=API_BASE_URL_HINT
    )


class PayPalConfig(ProviderConfig):
    environment: Environment = Field(default="sandbox", title="Environment")
    client_id: str = Field(title="Client ID", max_length=200)
    client_secret: SecretStr = Field(title="Secret")
    webhook_id: str | None = Field(
        default=None,
        title="Webhook ID",
        max_length=100,
        description="From the app's webhook settings, used to verify events.",
    )
    signature_check: Literal["api", "certificate"] = Field(
        default="api",
        title="How to check PayPal's signatures",
        description="“api” asks PayPal about each event. “certificate” checks "
        "it here with PayPal's certificate, fetched from PayPal and kept for an "
        "hour (no call to PayPal per event; needs the Webhook ID).",
    )
    api_base_url: HttpUrl | None = Field(
        default=None, title="API address (advanced)", description=API_BASE_URL_HINT
    )


class OAuthTokens(ProviderConfig):
    """Tokens obtained by the provider's sign-in flow."""

    access_token: SecretStr = Field(title="Access token")
    refresh_token: SecretStr | None = Field(default=None, title="Refresh token")


class QuickBooksOnlineConfig(OAuthTokens):
    realm_id: str = Field(title="Company ID (realm)", max_length=64)
    environment: Environment = Field(default="sandbox", title="Environment")


class XeroConfig(OAuthTokens):
    tenant_id: str = Field(title="Organisation (tenant) ID", max_length=64)
    webhook_key: SecretStr | None = Field(default=None, title="Webhook key")


class ZohoBooksConfig(OAuthTokens):
    organization_id: str = Field(title="Organisation ID", max_length=64)
    data_center: Literal["com", "eu", "in", "com.au", "jp", "ca", "sa"] = Field(
        default="com", title="Zoho data centre"
    )


class LightspeedConfig(OAuthTokens):
    domain_prefix: str = Field(
        title="Store prefix",
        description="The part before .retail.lightspeed.app",
        max_length=100,
    )


class OdooConfig(ProviderConfig):
    url: HttpUrl = Field(
        title="Odoo address", description="e.g. https://mycompany.odoo.com"
    )
    database: str = Field(title="Database name", max_length=100)
    username: str = Field(title="Login", max_length=200)
    api_key: SecretStr = Field(
        title="API key", description="Preferences → Account Security → New API key."
    )


class QuickBooksPosConfig(ProviderConfig):
    web_connector_username: str = Field(
        title="Web Connector user name",
        max_length=100,
        description="The user name you will type into QuickBooks Web Connector.",
    )
    web_connector_password: SecretStr = Field(title="Web Connector password")


class WhatsAppConfig(ProviderConfig):
    phone_number_id: str = Field(title="Phone number ID", max_length=64)
    business_account_id: str = Field(
        title="WhatsApp Business Account ID", max_length=64
    )
    access_token: SecretStr = Field(
        title="Access token", description="A permanent System User token."
    )
    app_secret: SecretStr = Field(
        title="App secret", description="Used to check Meta's webhook signatures."
    )


class GmailConfig(OAuthTokens):
    email: str = Field(title="Gmail address", max_length=320)


class SmsConfig(ProviderConfig):
    gateway: Literal["africastalking", "twilio"] = Field(
        default="africastalking", title="SMS gateway"
    )
    username: str = Field(
        title="Username or Account SID",
        description="Africa's Talking username ('sandbox' to test) or Twilio Account SID.",
        max_length=100,
    )
    api_key: SecretStr = Field(title="API key or Auth token")
    sender_id: str | None = Field(
        default=None,
        title="Sender ID",
        max_length=20,
        description="The name or short code your messages come from.",
    )
