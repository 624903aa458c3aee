"""COPCCA Integrations hub."""

__version__ = "0.1.0"
