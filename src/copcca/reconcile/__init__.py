"""Payment to invoice matching."""
