"""Index as code: ``ops/elasticsearch/*.json``, applied by the service at start, idempotently.

The files live in this package (the image is built from ``services/``, not ``ops/``);
``ops/elasticsearch/`` holds symlinks to them, so there is one copy to edit. At start
the service puts the lifecycle policy (ILM on Elasticsearch, its ISM form on OpenSearch, where
the server has either), puts the index template
for ``<alias>-*``, and creates the first backing index ``<alias>-000001`` behind the
write alias unless the alias exists; if it does, the template's mappings are put on
it, so an added field reaches the current indices without waiting for a rollover. Running it again changes nothing.
"""

from __future__ import annotations

import copy
import json
import logging
from functools import cache
from importlib import resources
from typing import Any, Final

from elasticsearch import ApiError, Elasticsearch

from kabar_search.es_compat import ServerFeatures, adapt_template, put_lifecycle

log = logging.getLogger(__name__)

TEMPLATE_FILE: Final = "index-template.json"
POLICY_FILE: Final = "ilm-policy.json"


@cache
def _load(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(resources.files("kabar_search").joinpath(name).read_text(encoding="utf-8"))
    return loaded


def load_ops_file(name: str) -> dict[str, Any]:
    """A fresh copy of one of the index-as-code files."""
    return copy.deepcopy(_load(name))


def template_analysis() -> dict[str, Any]:
    """The analyzers and filters the index template asks for (what ``es_compat`` probes a server for)."""
    analysis: dict[str, Any] = load_ops_file(TEMPLATE_FILE)["template"]["settings"]["analysis"]
    return analysis


def index_template(alias: str, features: ServerFeatures) -> dict[str, Any]:
    """The template for the backing indices of ``alias``, as this server accepts it."""
    template = load_ops_file(TEMPLATE_FILE)
    template["index_patterns"] = [f"{alias}-*"]
    settings = template["template"]["settings"]
    settings["index.lifecycle.name"] = alias
    settings["index.lifecycle.rollover_alias"] = alias
    return adapt_template(template, alias, features)


def first_index(alias: str) -> str:
    return f"{alias}-000001"


def ensure_index(client: Elasticsearch, alias: str, features: ServerFeatures) -> None:
    put_lifecycle(client, alias, load_ops_file(POLICY_FILE), features)
    template = index_template(alias, features)
    client.indices.put_index_template(
        name=alias, index_patterns=template["index_patterns"], priority=template["priority"],
        template=template["template"], meta=template.get("_meta"),
    )
    if client.indices.exists_alias(name=alias):
        _update_mappings(client, alias, template["template"]["mappings"])
        return
    try:
        client.indices.create(index=first_index(alias), aliases={alias: {"is_write_index": True}})
    except ApiError as exc:
        if "resource_already_exists" not in str(exc):
            raise
        # another worker created it first: the alias is there now


def _update_mappings(client: Elasticsearch, alias: str, mappings: dict[str, Any]) -> None:
    """Add new fields to the existing backing indices; a conflicting change waits for a rollover."""
    try:
        client.indices.put_mapping(index=alias, dynamic=mappings.get("dynamic"), properties=mappings["properties"])
    except ApiError as exc:
        refusal = str(exc)
    else:
        return
    log.error("the mapping of %r differs from ops/elasticsearch/%s and cannot be updated in place (%s); "
              "documents that do not fit are dead-lettered until the next rollover", alias, TEMPLATE_FILE, refusal)
