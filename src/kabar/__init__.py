"""kabar: an event-driven news-ingestion pipeline (ingest → enrich → search)."""

__version__ = "0.1.0"
