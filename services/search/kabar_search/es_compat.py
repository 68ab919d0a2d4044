"""Every difference between the Elasticsearch servers kabar runs against, in one place.

Production runs real Elasticsearch 8/9 (``server_mode="stack"``). The test suite runs
``osmem-server``, an OpenSearch-compatible in-memory server, which the elasticsearch
client only talks to in ``server_mode="serverless"`` (plain JSON headers, no
compatibility media types). Business logic never asks which server it has; it asks
this module for what differs:

- ILM (rollover by size and age): Elasticsearch has it; osmem-server (and Elastic's own
  serverless offering) have no ``_ilm`` API and refuse the ``index.lifecycle.*``
  settings, so the template is applied without them there.
- The ``_rollover`` API: missing on osmem-server; ``roll_over`` emulates it there with
  the same two steps (create the next index, move the write alias).
- Language analyzers: Elasticsearch has ``indonesian`` and ``english``; a server that
  lacks one gets the ``standard`` analyzer under the same name, so mappings and queries
  never change (``language_analysis``: THE switch).
- The percolator (watchlists): Elasticsearch has it; osmem-server refuses ``percolate``
  queries. ``has_percolator`` is THE switch: without it watchlists are matched by the
  equivalent in ``kabar_search.watch.matching``.
- ``search_after`` on ``_score``: Elasticsearch keeps scores in float32 and compares
  the cursor in float32. osmem-server keeps them in float64 but prints them rounded to
  float32, so the printed score of the cursor's hit is not the score it compares with:
  hits tied with it may be skipped. There, ``search_after_score`` sends the top of the
  float32's rounding interval instead, so every tied hit comes back, and the backend
  drops the ones already shown (it drops any hit that is not after the cursor).
"""

from __future__ import annotations

import logging
import re
import struct
from dataclasses import dataclass
from typing import Any, Final

from elasticsearch import ApiError, Elasticsearch

from kabar.contract.settings import KabarSettings

log = logging.getLogger(__name__)

# Our analyzer name → the built-in analyzer type it stands for.
LANGUAGE_ANALYZERS: Final = {"kabar_id": "indonesian", "kabar_en": "english"}
FALLBACK_ANALYZER: Final = "standard"
_LIFECYCLE_SETTINGS: Final = ("index.lifecycle.name", "index.lifecycle.rollover_alias")
_NUMBERED = re.compile(r"^(?P<prefix>.*-)(?P<number>\d{6})$")


@dataclass(frozen=True, slots=True)
class ServerFeatures:
    ilm: bool
    rollover_api: bool
    analyzers: dict[str, str]  # our analyzer name → the analyzer type this server will use
    float32_scores: bool = True  # compares a search_after score as the float32 it printed


def connect(settings: KabarSettings) -> Elasticsearch:
    options: dict[str, Any] = {"request_timeout": 30, "retry_on_timeout": True, "max_retries": 3}
    if settings.elasticsearch_api_key:
        options["api_key"] = settings.elasticsearch_api_key
    if settings.elasticsearch_server_mode == "serverless":
        options["server_mode"] = "serverless"
    return Elasticsearch(settings.elasticsearch_url, **options)


def detect_features(client: Elasticsearch, settings: KabarSettings) -> ServerFeatures:
    stack = settings.elasticsearch_server_mode == "stack"
    return ServerFeatures(ilm=stack, rollover_api=stack, analyzers=language_analysis(client), float32_scores=stack)


def language_analysis(client: Elasticsearch) -> dict[str, str]:
    """Each language analyzer this server has, else the standard analyzer in its place."""
    chosen = {}
    for name, builtin in LANGUAGE_ANALYZERS.items():
        chosen[name] = builtin if _has_analyzer(client, builtin) else FALLBACK_ANALYZER
        if chosen[name] != builtin:
            log.warning("search server has no %r analyzer; %s uses %r", builtin, name, FALLBACK_ANALYZER)
    return chosen


def _has_analyzer(client: Elasticsearch, analyzer: str) -> bool:
    try:
        client.indices.analyze(analyzer=analyzer, text="kabar")
    except ApiError as exc:
        if exc.status_code == 400:
            return False
        raise
    return True


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


def search_after_score(score: float, features: ServerFeatures) -> float:
    """The score to send as a search_after value for a hit that printed ``score``."""
    if features.float32_scores or score <= 0:
        return score
    bits = struct.unpack("<I", struct.pack("<f", score))[0]
    low, high = (struct.unpack("<f", struct.pack("<I", b))[0] for b in (bits, bits + 1))
    return float((low + high) / 2)  # exact in float64: one bit more than a float32


def adapt_template(template: dict[str, Any], features: ServerFeatures) -> dict[str, Any]:
    """The index template as this server accepts it (a copy; the input is left alone)."""
    settings = dict(template["template"]["settings"])
    analysis = {**settings.get("analysis", {})}
    analyzers = {**analysis.get("analyzer", {})}
    for name, analyzer_type in features.analyzers.items():
        analyzers[name] = {"type": analyzer_type}
    settings["analysis"] = {**analysis, "analyzer": analyzers}
    if not features.ilm:
        for key in _LIFECYCLE_SETTINGS:
            settings.pop(key, None)
    return {**template, "template": {**template["template"], "settings": settings}}


def roll_over(client: Elasticsearch, alias: str, features: ServerFeatures) -> str:
    """Start a new write index behind ``alias`` now; returns its name.

    ILM does this by itself on Elasticsearch; this is for operators and tests.
    """
    if features.rollover_api:
        return str(client.indices.rollover(alias=alias)["new_index"])
    current = write_index(client, alias)
    match = _NUMBERED.match(current)
    if match is None:
        raise ValueError(f"write index {current!r} does not end in a 6-digit number")
    new_index = f"{match['prefix']}{int(match['number']) + 1:06d}"
    client.indices.create(index=new_index)
    client.indices.update_aliases(actions=[
        {"add": {"index": current, "alias": alias, "is_write_index": False}},
        {"add": {"index": new_index, "alias": alias, "is_write_index": True}},
    ])
    return new_index


def write_index(client: Elasticsearch, alias: str) -> str:
    aliases = client.indices.get_alias(name=alias).body
    for index, info in aliases.items():
        if info["aliases"][alias].get("is_write_index"):
            return str(index)
    if len(aliases) == 1:
        return str(next(iter(aliases)))
    raise LookupError(f"alias {alias!r} has no write index")
