"""Every emulator by name, for ``copcca sandbox <name>`` and the demo."""

from __future__ import annotations

from typing import Any

from copcca.sandbox.airtel import AirtelEmulator
from copcca.sandbox.flutterwave import FlutterwaveEmulator
from copcca.sandbox.mpesa import DarajaEmulator
from copcca.sandbox.paypal import PayPalEmulator
from copcca.sandbox.tigo import TigoEmulator

# name -> (emulator class, the option naming where it calls the hub back)
EMULATORS: dict[str, tuple[type[Any], str | None]] = {
    "mpesa": (DarajaEmulator, None),  # Daraja is told per request
    "airtel": (AirtelEmulator, "callback_url"),
    "tigo": (TigoEmulator, "callback_url"),
    "flutterwave": (FlutterwaveEmulator, "webhook_url"),
    "paypal": (PayPalEmulator, "webhook_url"),
}


def build(name: str, *, callback_url: str = "", **options: Any) -> Any:
    """An emulator instance; ``callback_url`` is where providers that keep a
    registered address (Airtel, Tigo, Flutterwave, PayPal) call back."""
    try:
        cls, option = EMULATORS[name]
    except KeyError as exc:
        raise LookupError(
            f"no emulator called {name!r}; try {', '.join(EMULATORS)}"
        ) from exc
    if option and callback_url:
        options[option] = callback_url
    return cls(**options)
