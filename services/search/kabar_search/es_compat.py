"""Every difference between the Elasticsearch servers kabar runs against, in one place.

Production runs real Elasticsearch 8/9 (``server_mode="stack"``). The test suite runs
``osmem-server``, an OpenSearch-compatible in-memory server, which the elasticsearch
client only talks to in ``server_mode="serverless"`` (plain JSON headers, no
compatibility media types). Business logic never asks which server it has.
"""

from __future__ import annotations

from typing import Any

from elasticsearch import Elasticsearch

from kabar.contract.settings import KabarSettings


def connect(settings: KabarSettings) -> Elasticsearch:
    options: dict[str, Any] = {"request_timeout": 30, "retry_on_timeout": True, "max_retries": 3}
    if settings.elasticsearch_api_key:
        options["api_key"] = settings.elasticsearch_api_key
    if settings.elasticsearch_server_mode == "serverless":
        options["server_mode"] = "serverless"
    return Elasticsearch(settings.elasticsearch_url, **options)
