"""The markets we serve: default currency, time zone and language."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Market:
    code: str
    name: str
    currency: str
    timezone: str
    locale: str


MARKETS: dict[str, Market] = {
    m.code: m
    for m in (
        Market("KE", "Kenya", "KES", "Africa/Nairobi", "en"),
        Market("TZ", "Tanzania", "TZS", "Africa/Dar_es_Salaam", "sw"),
        Market("UG", "Uganda", "UGX", "Africa/Kampala", "en"),
        Market("RW", "Rwanda", "RWF", "Africa/Kigali", "en"),
        Market("NG", "Nigeria", "NGN", "Africa/Lagos", "en"),
        Market("GH", "Ghana", "GHS", "Africa/Accra", "en"),
        Market("ZA", "South Africa", "ZAR", "Africa/Johannesburg", "en"),
        Market("CI", "Côte d'Ivoire", "XOF", "Africa/Abidjan", "fr"),
        Market("SN", "Senegal", "XOF", "Africa/Dakar", "fr"),
        Market("CM", "Cameroon", "XAF", "Africa/Douala", "fr"),
    )
}


def market(code: str) -> Market:
    return MARKETS.get(code.upper(), MARKETS["KE"])
