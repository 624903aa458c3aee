"""PayPal (REST): captures and refunds by verified webhook."""
