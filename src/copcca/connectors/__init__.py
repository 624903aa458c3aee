"""Connectors: the catalogue of systems a shop can connect, and their clients."""
