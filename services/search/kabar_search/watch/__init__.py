"""Watchlists: saved searches that post an alert to a webhook when a new story matches.

A watchlist is a query in the search syntax (``kabar_search.query``) with optional
language, source and entity filters, and a webhook URL. The index stage matches every
article it has stored against all watchlists (``hook``), right after writing it:

- matching (``matching``): the percolator where the search server has one (OpenSearch, Elasticsearch;
  ``es_compat.has_percolator`` is THE switch), else the equivalent: the article goes into a
  one-row, in-memory SQLite FTS5 table with the search index's tokenizer, and each
  watchlist's query is run against it with the expression the SQLite backend searches with.
  The embedded backend always uses the equivalent;
- one alert per story per watchlist (``store``): an atomic Redis script (services) or a
  SQLite transaction (embedded) records each matching article under its story. The first
  article of a story creates the alert; later coverage only raises its article count and
  moves its last article, which ``GET /watchlists/{id}`` shows. No second message is posted;
- delivery (``delivery``, ``tasks``): services mode puts the alert on the ``alert`` queue
  (``kabar.alert``), where ``kabar worker alert`` posts it, retrying with exponential backoff
  and jitter and dead-lettering it (stage ``alert``) when it keeps failing; embedded mode
  posts it inline after indexing, once, with a short timeout, and dead-letters a failure.
  The index stage never waits for a webhook.

Watchlists live in Redis (services) or SQLite (embedded), chosen by ``kabar.contract.state``.
"""
