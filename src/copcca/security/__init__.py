"""Users, sessions, roles, API keys, the vault, signatures and the audit log."""
