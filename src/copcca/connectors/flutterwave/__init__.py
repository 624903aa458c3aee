"""Flutterwave (v3): card, bank and mobile-money payments by webhook."""
