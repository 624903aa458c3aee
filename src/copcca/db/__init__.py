"""Database infrastructure: declarative base, unit of work, repositories."""
