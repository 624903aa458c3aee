"""Set-based upserts, one module per target. Each applies the same matching
rules as :class:`copcca.crm.ingest.Ingestor`, a batch at a time."""
