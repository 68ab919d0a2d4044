"""The search service: index enriched articles and answer searches (API and CLI)."""
