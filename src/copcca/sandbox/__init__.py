"""Emulators of each provider's documented API, for tests and the demo."""
