"""The catalogue of every provider the hub knows, in the order shop owners
look for them. A provider's working client registers itself here (see
``register``); until it does, the catalogue still describes it honestly and
the UI says its live sync is not built yet."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from copcca.connectors import catalogue as c
from copcca.errors import NotFound


class Category(StrEnum):
    POS = "pos"
    ACCOUNTING = "accounting"
    COMMUNICATION = "communication"
    ECOMMERCE = "ecommerce"
    PAYMENTS = "payments"


CATEGORY_LABELS = {
    Category.POS: "Point of sale",
    Category.ACCOUNTING: "Accounting",
    Category.COMMUNICATION: "Messaging",
    Category.ECOMMERCE: "Online shop",
    Category.PAYMENTS: "Payments",
}


@dataclass(frozen=True)
class ProviderInfo:
    key: str
    name: str
    category: Category
    description: str
    auth_kind: str  # api_key | oauth2 | basic | callback
    config_model: type[c.ProviderConfig]
    brings: tuple[str, ...]  # CRM records it fills
    capabilities: tuple[str, ...]
    countries: tuple[str, ...] = ()
    connector: type[Any] | None = field(default=None, compare=False)

    @property
    def available(self) -> bool:
        """True once a working client is registered for this provider."""
        return self.connector is not None

    @property
    def pulls(self) -> bool:
        """True when it has records to read on a schedule. Payment providers
        only call us (callbacks, webhooks), so they have no sync to run."""
        return self.available and "sync" in self.capabilities


_PROVIDERS: dict[str, ProviderInfo] = {}


def _add(info: ProviderInfo) -> None:
    _PROVIDERS[info.key] = info


_add(
    ProviderInfo(
        "mpesa",
        "M-Pesa",
        Category.PAYMENTS,
        "Safaricom M-Pesa paybill and till payments land in the CRM and are matched "
        "to invoices; request payment straight to a customer's phone.",
        "api_key",
        c.MpesaConfig,
        ("payments", "customers"),
        ("callbacks", "status_query", "stk_push", "balance"),
        ("KE",),
    )
)
_add(
    ProviderInfo(
        "airtel_money",
        "Airtel Money",
        Category.PAYMENTS,
        "Airtel Money collections: push a payment request and record every payment.",
        "api_key",
        c.AirtelMoneyConfig,
        ("payments", "customers"),
        ("callbacks", "status_query", "ussd_push"),
        ("KE", "UG", "TZ", "RW", "NG"),
    )
)
_add(
    ProviderInfo(
        "tigo_pesa",
        "Tigo Pesa (Mixx by Yas)",
        Category.PAYMENTS,
        "Tigo Pesa merchant payments in Tanzania, through your gateway account.",
        "basic",
        c.TigoPesaConfig,
        ("payments", "customers"),
        ("callbacks", "status_query", "ussd_push"),
        ("TZ",),
    )
)
_add(
    ProviderInfo(
        "flutterwave",
        "Flutterwave",
        Category.PAYMENTS,
        "Card, bank and mobile-money payments through Flutterwave, each verified "
        "with Flutterwave before it counts.",
        "api_key",
        c.FlutterwaveConfig,
        ("payments", "customers"),
        ("webhooks", "verify"),
        ("NG", "KE", "GH", "UG", "TZ", "RW", "ZA"),
    )
)
_add(
    ProviderInfo(
        "paypal",
        "PayPal",
        Category.PAYMENTS,
        "PayPal captures and refunds, verified with PayPal before they count.",
        "oauth2_client",
        c.PayPalConfig,
        ("payments", "customers"),
        ("webhooks", "verify"),
    )
)
_add(
    ProviderInfo(
        "shopify",
        "Shopify",
        Category.ECOMMERCE,
        "Orders, customers and products from your Shopify store, live as they happen.",
        "api_key",
        c.ShopifyConfig,
        ("sales", "customers", "products"),
        ("sync", "webhooks", "oauth"),
    )
)
_add(
    ProviderInfo(
        "woocommerce",
        "WooCommerce",
        Category.ECOMMERCE,
        "Orders, customers and products from your WordPress shop.",
        "api_key",
        c.WooCommerceConfig,
        ("sales", "customers", "products"),
        ("sync", "webhooks"),
    )
)
_add(
    ProviderInfo(
        "lightspeed",
        "Lightspeed Retail",
        Category.POS,
        "Sales, customers, products and stock from your Lightspeed tills.",
        "oauth2",
        c.LightspeedConfig,
        ("sales", "customers", "products"),
        ("sync", "webhooks", "oauth"),
    )
)
_add(
    ProviderInfo(
        "odoo",
        "Odoo",
        Category.POS,
        "Customers, products, sales, point-of-sale orders and invoices from Odoo.",
        "api_key",
        c.OdooConfig,
        ("sales", "customers", "products", "invoices"),
        ("sync", "webhooks"),
    )
)
_add(
    ProviderInfo(
        "quickbooks_pos",
        "QuickBooks POS",
        Category.POS,
        "Sales, customers and items from QuickBooks Point of Sale through the "
        "QuickBooks Web Connector on the shop's computer.",
        "basic",
        c.QuickBooksPosConfig,
        ("sales", "customers", "products"),
        ("sync",),
    )
)
_add(
    ProviderInfo(
        "quickbooks_online",
        "QuickBooks Online",
        Category.ACCOUNTING,
        "Customers, items, invoices and payments kept in step with QuickBooks Online.",
        "oauth2",
        c.QuickBooksOnlineConfig,
        ("customers", "products", "invoices", "payments"),
        ("sync", "webhooks", "oauth", "write"),
    )
)
_add(
    ProviderInfo(
        "xero",
        "Xero",
        Category.ACCOUNTING,
        "Contacts, items, invoices and payments kept in step with Xero.",
        "oauth2",
        c.XeroConfig,
        ("customers", "products", "invoices", "payments"),
        ("sync", "webhooks", "oauth", "write"),
    )
)
_add(
    ProviderInfo(
        "zoho_books",
        "Zoho Books",
        Category.ACCOUNTING,
        "Contacts, items, invoices and payments kept in step with Zoho Books.",
        "oauth2",
        c.ZohoBooksConfig,
        ("customers", "products", "invoices", "payments"),
        ("sync", "oauth", "write"),
    )
)
_add(
    ProviderInfo(
        "whatsapp",
        "WhatsApp Business",
        Category.COMMUNICATION,
        "Send receipts, reminders and offers on WhatsApp and see every reply.",
        "api_key",
        c.WhatsAppConfig,
        ("messages", "customers"),
        ("webhooks", "write"),
    )
)
_add(
    ProviderInfo(
        "sms",
        "SMS",
        Category.COMMUNICATION,
        "Text customers through Africa's Talking or Twilio, with delivery reports.",
        "api_key",
        c.SmsConfig,
        ("messages",),
        ("webhooks", "write"),
    )
)
_add(
    ProviderInfo(
        "gmail",
        "Gmail",
        Category.COMMUNICATION,
        "Send invoices and reminders from your Gmail and file customer emails.",
        "oauth2",
        c.GmailConfig,
        ("messages", "customers"),
        ("sync", "webhooks", "oauth", "write"),
    )
)


def all_providers() -> list[ProviderInfo]:
    return list(_PROVIDERS.values())


def get_provider(key: str) -> ProviderInfo:
    try:
        return _PROVIDERS[key]
    except KeyError as exc:
        raise NotFound(
            f"We do not know a system called '{key}'.",
            fix="Pick one from Connect Systems.",
        ) from exc


def register(key: str, connector: type[Any]) -> None:
    """Attach a working client to a catalogue entry."""
    info = get_provider(key)
    _PROVIDERS[key] = ProviderInfo(**{**info.__dict__, "connector": connector})


# Providers with a working client register themselves on import.
import copcca.connectors.shopify  # noqa: E402
import copcca.connectors.woocommerce  # noqa: E402, F401
from copcca.connectors.airtel_money.connector import AirtelMoneyConnector  # noqa: E402
from copcca.connectors.flutterwave.connector import FlutterwaveConnector  # noqa: E402
from copcca.connectors.mpesa.connector import MpesaConnector  # noqa: E402
from copcca.connectors.paypal.connector import PayPalConnector  # noqa: E402
from copcca.connectors.tigo_pesa.connector import TigoPesaConnector  # noqa: E402

register("mpesa", MpesaConnector)
register("airtel_money", AirtelMoneyConnector)
register("tigo_pesa", TigoPesaConnector)
register("flutterwave", FlutterwaveConnector)
register("paypal", PayPalConnector)
