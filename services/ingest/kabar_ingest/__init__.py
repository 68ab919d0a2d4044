"""The ingest service: read, decode, clean, identify and queue articles."""
