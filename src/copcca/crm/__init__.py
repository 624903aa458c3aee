"""The CRM records everything syncs into, and the value types they use."""
