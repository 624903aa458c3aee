"""Readers for every kind of table we accept. The kind is decided by the
bytes (promise F3), never by the file name."""
