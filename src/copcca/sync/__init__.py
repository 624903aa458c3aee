"""The sync engine, its scheduler and the logs it writes."""
