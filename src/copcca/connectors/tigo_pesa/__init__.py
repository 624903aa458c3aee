"""Tigo Pesa (Mixx by Yas), Tanzania: a gateway-config push connector."""
