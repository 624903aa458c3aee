"""Safaricom M-Pesa (Daraja): STK push, C2B callbacks, status queries."""
