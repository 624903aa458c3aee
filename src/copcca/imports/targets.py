"""What can be imported, and the fields of each target.

Header synonyms are in English, Swahili and French; they are compared after
lower-casing, dropping accents and punctuation (see ``mapping.normalise``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from copcca.errors import NotFound


class Kind(StrEnum):
    TEXT = "text"
    ID = "id"
    PHONE = "phone"
    EMAIL = "email"
    MONEY = "money"
    INT = "int"
    DATE = "date"
    CURRENCY = "currency"
    COUNTRY = "country"
    BOOL = "bool"


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    kind: Kind
    synonyms: tuple[str, ...] = ()
    example: str = ""
    max_len: int | None = None


@dataclass(frozen=True)
class Target:
    key: str
    label: str
    entity: str
    fields: tuple[Field, ...]
    # Each row needs at least one field of every group (e.g. a name or a phone).
    required: tuple[tuple[str, ...], ...]
    description: str = ""

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.fields]

    def required_label(self) -> str:
        return "; ".join(
            " or ".join(self.field(n).label for n in group) for group in self.required
        )


NAME = (
    "name",
    "full name",
    "names",
    "jina",
    "majina",
    "jina kamili",
    "nom",
    "nom complet",
    "prenom et nom",
)
PHONE = (
    "phone",
    "phone number",
    "mobile",
    "mobile number",
    "cell",
    "cellphone",
    "tel",
    "telephone",
    "msisdn",
    "whatsapp",
    "contact",
    "simu",
    "namba ya simu",
    "nambari ya simu",
    "namba",
    "rununu",
    "telephone",
    "tel",
    "portable",
    "numero",
    "numero de telephone",
    "mobile money number",
)
EMAIL = (
    "email",
    "e-mail",
    "email address",
    "mail",
    "barua pepe",
    "courriel",
    "adresse e-mail",
    "adresse email",
    "mel",
)
CITY = (
    "city",
    "town",
    "location",
    "area",
    "region",
    "mji",
    "mahali",
    "eneo",
    "mkoa",
    "ville",
    "localite",
    "quartier",
)
ADDRESS = (
    "address",
    "street",
    "physical address",
    "anwani",
    "sanduku la posta",
    "adresse",
    "rue",
)
BALANCE = (
    "balance",
    "debt",
    "owed",
    "amount owed",
    "outstanding",
    "credit",
    "deni",
    "salio",
    "madeni",
    "anadaiwa",
    "dette",
    "solde",
    "montant du",
    "reste a payer",
)
NOTES = (
    "notes",
    "note",
    "comment",
    "comments",
    "remarks",
    "maelezo",
    "maoni",
    "remarque",
    "remarques",
    "commentaire",
)
CUSTOMER_ID = (
    "id",
    "customer id",
    "customer code",
    "customer no",
    "account",
    "account number",
    "client id",
    "code",
    "kitambulisho",
    "namba ya mteja",
    "identifiant",
    "code client",
    "ref client",
)
COUNTRY = ("country", "nchi", "pays")
CURRENCY = ("currency", "curr", "sarafu", "fedha", "devise", "monnaie")
PRODUCT_NAME = (
    "product",
    "product name",
    "item",
    "item name",
    "name",
    "description",
    "goods",
    "bidhaa",
    "jina la bidhaa",
    "kitu",
    "produit",
    "article",
    "designation",
    "nom du produit",
    "libelle",
)
SKU = (
    "sku",
    "code",
    "item code",
    "product code",
    "stock code",
    "ref",
    "reference",
    "article no",
    "msimbo",
    "nambari ya bidhaa",
    "code article",
    "reference produit",
)
PRICE = (
    "price",
    "selling price",
    "unit price",
    "retail price",
    "amount",
    "bei",
    "bei ya kuuza",
    "bei ya rejareja",
    "prix",
    "prix de vente",
    "prix unitaire",
    "montant",
    "tarif",
)
COST = (
    "cost",
    "cost price",
    "buying price",
    "purchase price",
    "gharama",
    "bei ya kununua",
    "bei ya jumla",
    "cout",
    "prix d achat",
    "cout unitaire",
)
STOCK = (
    "stock",
    "qty",
    "quantity",
    "in stock",
    "on hand",
    "stock level",
    "idadi",
    "kiasi",
    "stoki",
    "bidhaa zilizopo",
    "quantite",
    "stock actuel",
    "qte",
)
REORDER = (
    "reorder level",
    "reorder",
    "minimum stock",
    "min stock",
    "reorder point",
    "kiwango cha kuagiza",
    "kiwango cha chini",
    "seuil",
    "stock minimum",
    "seuil de reapprovisionnement",
)
CATEGORY = (
    "category",
    "group",
    "department",
    "type",
    "aina",
    "kundi",
    "idara",
    "categorie",
    "famille",
    "rayon",
)
BARCODE = (
    "barcode",
    "ean",
    "upc",
    "bar code",
    "gtin",
    "msimbo pau",
    "code barre",
    "code-barres",
    "code barres",
)
DESCRIPTION = (
    "description",
    "details",
    "maelezo",
    "maelezo ya bidhaa",
    "descriptif",
    "details du produit",
)
COUNTED = (
    "count",
    "counted",
    "counted qty",
    "physical count",
    "stock count",
    "quantity counted",
    "qty",
    "quantity",
    "stock",
    "idadi",
    "hesabu",
    "idadi iliyohesabiwa",
    "quantite comptee",
    "comptage",
    "inventaire",
    "quantite",
)
DATE = (
    "date",
    "day",
    "counted on",
    "observed on",
    "seen on",
    "tarehe",
    "siku",
    "date du comptage",
    "jour",
    "le",
)
COMPETITOR = (
    "competitor",
    "shop",
    "store",
    "seller",
    "supplier",
    "rival",
    "mshindani",
    "duka",
    "muuzaji",
    "concurrent",
    "magasin",
    "boutique",
    "vendeur",
)
URL = ("url", "link", "web", "website", "kiungo", "tovuti", "lien", "site")

CUSTOMERS = Target(
    key="customers",
    label="Customers",
    entity="customer",
    description="People and businesses you sell to, with what they owe.",
    required=(("name", "phone", "email"),),
    fields=(
        Field(
            "name",
            "Name",
            Kind.TEXT,
            (
                *NAME,
                "customer",
                "customer name",
                "client",
                "mteja",
                "jina la mteja",
                "nom du client",
            ),
            "Wanjiku Kamau",
            200,
        ),
        Field("phone", "Phone", Kind.PHONE, PHONE, "0712 345 678"),
        Field(
            "phone2",
            "Second phone",
            Kind.PHONE,
            (
                "phone 2",
                "other phone",
                "alternative phone",
                "simu nyingine",
                "autre telephone",
                "telephone 2",
            ),
            "",
        ),
        Field("email", "Email", Kind.EMAIL, EMAIL, "wanjiku@example.com", 320),
        Field("city", "City or town", Kind.TEXT, CITY, "Nairobi", 120),
        Field("address", "Address", Kind.TEXT, ADDRESS, "Moi Avenue, shop 12"),
        Field("balance", "Balance owed", Kind.MONEY, BALANCE, "KSh 1,500"),
        Field("currency", "Currency", Kind.CURRENCY, CURRENCY, ""),
        Field("country", "Country", Kind.COUNTRY, COUNTRY, ""),
        Field("notes", "Notes", Kind.TEXT, NOTES, "Pays on Fridays"),
        Field("external_id", "Your customer ID", Kind.ID, CUSTOMER_ID, "C-0001", 255),
    ),
)

PRODUCTS = Target(
    key="products",
    label="Products",
    entity="product",
    description="What you sell, with price, stock and reorder level.",
    required=(("name", "sku"),),
    fields=(
        Field(
            "name", "Product name", Kind.TEXT, PRODUCT_NAME, "Unga wa ngano 2kg", 300
        ),
        Field("sku", "SKU / code", Kind.ID, SKU, "UNGA-2KG", 100),
        Field("price", "Selling price", Kind.MONEY, PRICE, "KSh 210"),
        Field("cost", "Cost price", Kind.MONEY, COST, "KSh 180"),
        Field("stock", "Stock on hand", Kind.INT, STOCK, "24"),
        Field("reorder_level", "Reorder level", Kind.INT, REORDER, "6"),
        Field("category", "Category", Kind.TEXT, CATEGORY, "Flour", 120),
        Field("barcode", "Barcode", Kind.TEXT, BARCODE, "6161100420018", 64),
        Field("description", "Description", Kind.TEXT, DESCRIPTION, ""),
        Field("currency", "Currency", Kind.CURRENCY, CURRENCY, ""),
        Field(
            "external_id",
            "Your product ID",
            Kind.ID,
            ("id", "product id", "item id", "identifiant"),
            "",
            255,
        ),
    ),
)

STOCK_COUNTS = Target(
    key="stock_counts",
    label="Stock counts",
    entity="product",
    description="A stock take: how many of each product you counted.",
    required=(("sku", "product"), ("counted",)),
    fields=(
        Field("sku", "SKU / code", Kind.ID, SKU, "UNGA-2KG", 100),
        Field(
            "product", "Product name", Kind.TEXT, PRODUCT_NAME, "Unga wa ngano 2kg", 300
        ),
        Field("counted", "Quantity counted", Kind.INT, COUNTED, "18"),
        Field("counted_at", "Date counted", Kind.DATE, DATE, "05/03/2025"),
    ),
)

COMPETITOR_PRICES = Target(
    key="competitor_prices",
    label="Competitor prices",
    entity="competitor_price",
    description="Prices you saw at other shops, to compare with yours.",
    required=(("sku", "product"), ("competitor",), ("price",)),
    fields=(
        Field("sku", "SKU / code", Kind.ID, SKU, "UNGA-2KG", 100),
        Field(
            "product", "Product name", Kind.TEXT, PRODUCT_NAME, "Unga wa ngano 2kg", 300
        ),
        Field(
            "competitor", "Competitor", Kind.TEXT, COMPETITOR, "Naivas Moi Avenue", 200
        ),
        Field("price", "Their price", Kind.MONEY, PRICE, "KSh 215"),
        Field("currency", "Currency", Kind.CURRENCY, CURRENCY, ""),
        Field("observed_at", "Date seen", Kind.DATE, DATE, "05/03/2025"),
        Field("url", "Link", Kind.TEXT, URL, "", 500),
    ),
)

TARGETS: dict[str, Target] = {
    t.key: t for t in (CUSTOMERS, PRODUCTS, STOCK_COUNTS, COMPETITOR_PRICES)
}


def register_target(target: Target) -> None:
    """Add a target (sales, invoices, payments live with their CRM modules)."""
    TARGETS[target.key] = target


def get_target(key: str) -> Target:
    try:
        return TARGETS[key]
    except KeyError as exc:
        raise NotFound(
            f"Cannot import into {key!r}.",
            fix="Choose one of: " + ", ".join(TARGETS) + ".",
        ) from exc
