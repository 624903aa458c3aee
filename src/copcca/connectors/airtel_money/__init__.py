"""Airtel Money (Airtel Africa Open API): USSD push collections."""
