"""Background jobs on Huey: SQLite-backed by default, Redis when configured."""
