"""Every difference between the search engines kabar runs against, in one place.

kabar runs on Elasticsearch 8/9 and on OpenSearch 2 (``KABAR_SEARCH_BACKEND``). What differs is
discovered from the server when the backend starts (``detect_features``), never configured, and
business logic never asks which engine it has; it asks this module for what differs:

- **Which engine** (logged): from the local node's info. The client quirks, and the clear
  error when the server is not the engine configured, are in ``kabar_search.es_client``.
- **Index lifecycle.** Elasticsearch has ILM, OpenSearch has ISM, a plugin. The index template's
  ``index.lifecycle.*`` settings are kept only where ILM answers; where ISM answers, an ISM
  policy with the same rollover conditions is put instead (``ism_policy``). Without either
  (Elasticsearch's integ-test distribution, OpenSearch without the plugin: the tests' engines)
  the template carries no lifecycle settings and rollover is manual (``roll_over``).
- **Analysis.** Each analyzer and token filter of the index template is tried with
  ``_analyze``; one the server lacks becomes the ``standard`` analyzer under the same name, so
  mappings and queries never change (``adapt_analysis``). Elasticsearch's integ-test
  distribution lacks the analysis-common module: no accent folding, no language stemming.
- **The percolator** (watchlists): ``has_percolator`` tries a ``percolate`` query. OpenSearch
  and Elasticsearch's full distribution have it; without it watchlists are matched by the
  equivalent in ``kabar_search.watch.matching``.

Both engines keep scores as float32 and compare a ``search_after`` cursor exactly, and both
have ``_rollover``: nothing here works around either.
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from elasticsearch import ApiError, BadRequestError, Elasticsearch

log = logging.getLogger(__name__)

Lifecycle = Literal["ilm", "ism"] | None
_ILM_SETTINGS: Final = ("index.lifecycle.name", "index.lifecycle.rollover_alias")
ISM_ROLLOVER_ALIAS: Final = "plugins.index_state_management.rollover_alias"
_PROBE_TEXT: Final = "Kabar bertemu"


@dataclass(frozen=True, slots=True)
class ServerFeatures:
    engine: Literal["elasticsearch", "opensearch"]
    version: str
    lifecycle: Lifecycle
    missing_analysis: tuple[str, ...] = field(default=())  # analyzers and filters this server lacks


def detect_features(client: Elasticsearch, template_analysis: dict[str, Any]) -> ServerFeatures:
    engine, version = _engine(client)
    lifecycle: Lifecycle = "ilm" if _answers(client, "/_ilm/status") else (
        "ism" if _answers(client, "/_plugins/_ism/policies") else None)
    missing = tuple(_missing_analysis(client, template_analysis))
    features = ServerFeatures(engine, version, lifecycle, missing)
    log.info("search server: %s %s, lifecycle %s, lacking %s", engine, version, lifecycle or "none (manual rollover)",
             ", ".join(missing) or "nothing")
    return features


def _engine(client: Elasticsearch) -> tuple[Literal["elasticsearch", "opensearch"], str]:
    # Not ``GET /``: Elasticsearch's integ-test distribution lacks it (the rest-root module), and
    # the client takes its 405 for a failed node. Elasticsearch names a build flavour; OpenSearch has none.
    nodes = client.nodes.info(node_id="_local", filter_path=["nodes.*.version", "nodes.*.build_flavor"]).body
    node = next(iter(nodes["nodes"].values()))
    return ("elasticsearch" if "build_flavor" in node else "opensearch"), str(node["version"])


def _answers(client: Elasticsearch, path: str) -> bool:
    try:
        client.perform_request("GET", path, headers={"accept": "application/json"})
    except ApiError as exc:
        if exc.status_code in (400, 404, 405):  # "no handler found": the feature is not installed
            return False
        raise
    return True


def _missing_analysis(client: Elasticsearch, analysis: dict[str, Any]) -> list[str]:
    """The analyzers and token filters of ``analysis`` this server refuses."""
    filters = analysis.get("filter", {})
    missing = [name for name, definition in filters.items() if not _analyzes(client, filter=[definition])]
    for name, definition in analysis.get("analyzer", {}).items():
        if definition.get("type") == "custom":
            steps = [filters.get(step, step) for step in definition.get("filter", [])]
            works = not set(definition.get("filter", [])) & set(missing) and _analyzes(
                client, tokenizer=definition["tokenizer"], filter=steps)
        else:
            works = _analyzes(client, analyzer=definition["type"])
        if not works:
            missing.append(name)
    return missing


def _analyzes(client: Elasticsearch, **probe: Any) -> bool:
    if "analyzer" not in probe:
        probe.setdefault("tokenizer", "standard")
    try:
        client.indices.analyze(text=_PROBE_TEXT, **probe)
    except BadRequestError:
        return False
    return True


def adapt_analysis(analysis: dict[str, Any], features: ServerFeatures) -> dict[str, Any]:
    """The template's analysis block as this server accepts it: what it lacks becomes ``standard``."""
    adapted = copy.deepcopy(analysis)
    for name in features.missing_analysis:
        if name in adapted.get("analyzer", {}):
            log.warning("search server has no %r analyzer (or one of its filters): it is the standard analyzer here",
                        name)
            adapted["analyzer"][name] = {"type": "standard"}
        adapted.get("filter", {}).pop(name, None)
    return adapted


def adapt_template(template: dict[str, Any], alias: str, features: ServerFeatures) -> dict[str, Any]:
    """The index template as this server accepts it (a copy; the input is left alone)."""
    adapted = copy.deepcopy(template)
    settings = adapted["template"]["settings"]
    settings["analysis"] = adapt_analysis(settings.get("analysis", {}), features)
    if features.lifecycle != "ilm":
        for key in _ILM_SETTINGS:
            settings.pop(key, None)
    if features.lifecycle == "ism":
        settings[ISM_ROLLOVER_ALIAS] = alias
    return adapted


def ism_policy(ilm: dict[str, Any], alias: str) -> dict[str, Any]:
    """OpenSearch ISM's form of the ILM policy: the same rollover conditions, for ``<alias>-*``.

    Verified on paper only: the tests' OpenSearch runs without the ISM plugin.
    """
    hot = ilm["policy"]["phases"]["hot"]["actions"]["rollover"]
    rollover = {"min_primary_shard_size": hot["max_primary_shard_size"], "min_index_age": hot["max_age"]}
    return {"policy": {
        "description": ilm["policy"].get("_meta", {}).get("description", "kabar articles"),
        "default_state": "hot",
        "states": [{"name": "hot", "actions": [{"rollover": rollover}], "transitions": []}],
        "ism_template": [{"index_patterns": [f"{alias}-*"], "priority": 100}],
    }}


def put_lifecycle(client: Elasticsearch, alias: str, ilm: dict[str, Any], features: ServerFeatures) -> None:
    if features.lifecycle == "ilm":
        client.ilm.put_lifecycle(name=alias, policy=ilm["policy"])
    elif features.lifecycle == "ism":
        path = f"/_plugins/_ism/policies/{alias}"
        try:
            client.perform_request("PUT", path, body=ism_policy(ilm, alias),
                                   headers={"accept": "application/json", "content-type": "application/json"})
        except ApiError as exc:
            if exc.status_code != 409:  # exists already: ISM wants seq_no/primary_term to replace it
                raise


def has_percolator(client: Elasticsearch, index: str) -> bool:
    """Whether this server answers ``percolate`` queries on ``index`` (which maps ``query`` as a percolator)."""
    try:
        client.search(index=index, size=0, query={"percolate": {"field": "query", "document": {}}})
    except ApiError as exc:
        if exc.status_code == 400:
            log.warning("search server refuses percolate queries: %s", exc)
            return False
        raise
    return True


def roll_over(client: Elasticsearch, alias: str) -> str:
    """Start a new write index behind ``alias`` now; returns its name.

    ILM or ISM does this by itself where the server has it; this is for operators and tests.
    """
    return str(client.indices.rollover(alias=alias)["new_index"])


def write_index(client: Elasticsearch, alias: str) -> str:
    aliases = client.indices.get_alias(name=alias).body
    for index, info in aliases.items():
        if info["aliases"][alias].get("is_write_index"):
            return str(index)
    if len(aliases) == 1:
        return str(next(iter(aliases)))
    raise LookupError(f"alias {alias!r} has no write index")
