"""Webhooks in (the inbox) and out (Standard Webhooks delivery)."""
