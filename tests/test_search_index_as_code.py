"""Index as code: the files in ops/elasticsearch, applied idempotently to the real servers
(Elasticsearch and OpenSearch), and a write alias that survives a rollover (``_rollover``)
without duplicating articles."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from articles import NEWSROOM, news
from conftest import ROOT, EngineUnderTest, engine_launcher
from kabar_search.documents import Revision, to_document
from kabar_search.es_backend import ElasticsearchBackend
from kabar_search.es_compat import ISM_ROLLOVER_ALIAS, ServerFeatures, adapt_template, ism_policy, roll_over
from kabar_search.es_index import POLICY_FILE, TEMPLATE_FILE, index_template, load_ops_file

OPS = ROOT / "ops" / "elasticsearch"
ALIAS = "kabar-articles"


@pytest.fixture
def es(engine: EngineUnderTest, tmp_path: Path) -> Iterator[ElasticsearchBackend]:
    backend = ElasticsearchBackend.from_settings(engine.settings(data_dir=tmp_path))
    yield backend
    backend.close()


def mapped_fields(properties: dict[str, Any], prefix: str = "") -> set[str]:
    fields = set()
    for name, spec in properties.items():
        fields.add(prefix + name)
        fields |= {f"{prefix}{name}.{sub}" for sub in spec.get("fields", {})}
    return fields


def test_ops_files_are_the_ones_the_service_applies() -> None:
    for name in (TEMPLATE_FILE, POLICY_FILE):
        ops_file = OPS / name
        packaged = ROOT / "services" / "search" / "kabar_search" / name
        assert ops_file.resolve() == packaged.resolve(), f"ops/elasticsearch/{name} must link to {packaged}"
        assert json.loads(ops_file.read_text()) == load_ops_file(name)


def test_the_mapping_is_strict_and_covers_every_stored_field() -> None:
    mappings = load_ops_file(TEMPLATE_FILE)["template"]["mappings"]
    assert mappings["dynamic"] == "strict"
    properties = mappings["properties"]
    stored = to_document(NEWSROOM[0], Revision("h", 1), datetime.now(UTC))
    assert set(stored) == set(properties), "every stored field is mapped and every mapped field is stored"
    for text_field in ("title", "text"):
        assert {"id", "en"} <= set(properties[text_field]["fields"])
        assert properties[text_field]["fields"]["id"]["analyzer"] == "kabar_id"
        assert properties[text_field]["fields"]["en"]["analyzer"] == "kabar_en"
    for keyword in ("language", "source_domain", "story_id", "duplicate_of", "entity_per", "entity_org",
                    "entity_loc", "entity_misc"):
        assert properties[keyword]["type"] == "keyword", keyword
    assert properties["fingerprint"] == {"type": "keyword", "index": False, "doc_values": False}
    for date_field in ("dated_at", "published_at", "received_at", "ingested_at", "enriched_at", "indexed_at"):
        assert properties[date_field]["type"] == "date"


def test_the_ilm_policy_rolls_over_by_size_and_age() -> None:
    rollover = load_ops_file(POLICY_FILE)["policy"]["phases"]["hot"]["actions"]["rollover"]
    assert {"max_primary_shard_size", "max_age"} <= set(rollover)


def test_servers_get_the_template_they_accept() -> None:
    full = ServerFeatures("elasticsearch", "9.2.0", "ilm")
    lean = ServerFeatures("elasticsearch", "9.2.0", None, ("kabar_id_root", "kabar_id_stemmer", "kabar_id"))
    ism = ServerFeatures("opensearch", "2.19.6", "ism")
    on_full = index_template("news-alias", full)
    settings = on_full["template"]["settings"]
    assert on_full["index_patterns"] == ["news-alias-*"]
    assert settings["index.lifecycle.name"] == settings["index.lifecycle.rollover_alias"] == "news-alias"
    assert settings["analysis"] == load_ops_file(TEMPLATE_FILE)["template"]["settings"]["analysis"]
    on_lean = adapt_template(load_ops_file(TEMPLATE_FILE), "kabar-articles", lean)
    lean_settings = on_lean["template"]["settings"]
    assert not any(key.startswith(("index.lifecycle", "plugins.")) for key in lean_settings)
    assert lean_settings["analysis"]["analyzer"]["kabar_id"] == {"type": "standard"}
    assert set(lean_settings["analysis"]["filter"]) == {"kabar_id_stop"}, "a filter the server lacks is left out"
    assert lean_settings["analysis"]["analyzer"]["kabar_folding"]["filter"] == ["lowercase", "asciifolding"]
    on_ism = index_template("news-alias", ism)["template"]["settings"]
    assert on_ism[ISM_ROLLOVER_ALIAS] == "news-alias"
    assert not any(key.startswith("index.lifecycle") for key in on_ism)


def test_the_ism_policy_rolls_over_as_the_ilm_policy_does() -> None:
    ilm = load_ops_file(POLICY_FILE)
    policy = ism_policy(ilm, "news-alias")["policy"]
    rollover = ilm["policy"]["phases"]["hot"]["actions"]["rollover"]
    expected = {"min_primary_shard_size": rollover["max_primary_shard_size"], "min_index_age": rollover["max_age"]}
    assert policy["states"][0]["actions"] == [{"rollover": expected}]
    assert policy["ism_template"] == [{"index_patterns": ["news-alias-*"], "priority": 100}]


def test_the_features_are_discovered_from_the_server(es: ElasticsearchBackend, engine: EngineUnderTest) -> None:
    assert es.features.engine == engine.name
    assert es.features.version == engine_launcher.versions()[engine.name], "the version docker-compose.yml names"
    assert es.features.lifecycle is None  # neither test build has ILM or the ISM plugin
    if engine.name == "opensearch":
        assert es.features.missing_analysis == ()
    else:  # the integ-test build lacks the analysis-common module
        assert {"kabar_folding", "kabar_id", "kabar_en", "kabar_id_stemmer"} <= set(es.features.missing_analysis)


def test_start_up_is_idempotent_and_builds_the_index_from_the_template(es: ElasticsearchBackend,
                                                                        engine: EngineUnderTest) -> None:
    es.ensure_ready()
    es.ensure_ready()
    aliases = httpx.get(f"{engine.url}/_alias/{ALIAS}", timeout=10).json()
    assert aliases == {f"{ALIAS}-000001": {"aliases": {ALIAS: {"is_write_index": True}}}}
    index = httpx.get(f"{engine.url}/{ALIAS}-000001", timeout=10).json()[f"{ALIAS}-000001"]
    mappings = index["mappings"]
    assert mappings["dynamic"] == "strict"
    template = load_ops_file(TEMPLATE_FILE)["template"]["mappings"]["properties"]
    assert mapped_fields(mappings["properties"]) == mapped_fields(template)
    analyzers = index["settings"]["index"]["analysis"]["analyzer"]
    if engine.name == "opensearch":
        assert analyzers["kabar_id"]["filter"] == ["lowercase", "kabar_id_stop", "kabar_id_root", "kabar_id_stemmer"]
        assert analyzers["kabar_en"]["type"] == "english"
    else:  # no analysis-common module: the named analyzers are the standard analyzer
        assert analyzers["kabar_id"]["type"] == analyzers["kabar_en"]["type"] == "standard"


def test_strict_mapping_refuses_unknown_fields(es: ElasticsearchBackend) -> None:
    doc = to_document(NEWSROOM[0], Revision("h", 1), datetime.now(UTC))
    response = es.client.options(ignore_status=400).index(index=ALIAS, id="x", document={**doc, "surprise": 1})
    assert response.meta.status == 400
    assert "strict" in json.dumps(response.body)


def test_an_update_after_a_rollover_stays_in_the_index_that_holds_the_article(es: ElasticsearchBackend) -> None:
    assert es.upsert(NEWSROOM[0])
    new_index = roll_over(es.client, ALIAS)
    assert new_index == f"{ALIAS}-000002"
    changed = NEWSROOM[0].model_copy(update={"title": "Lavrov dan Kim (diperbarui)", "content_hash": "h-v2"})
    assert es.upsert(changed)
    assert es.upsert(NEWSROOM[1])
    copies = es.client.search(index=ALIAS, query={"ids": {"values": ["n01", "n02"]}})["hits"]["hits"]
    assert sorted((hit["_id"], hit["_index"]) for hit in copies) == [("n01", f"{ALIAS}-000001"),
                                                                    ("n02", f"{ALIAS}-000002")]
    stored = es.get("n01")
    assert stored is not None and stored["version"] == 2 and stored["title"].endswith("(diperbarui)")
    assert es.count() == 2
    assert es.upsert(changed) is False, "a redelivery after the rollover is still recognised"


def test_a_second_copy_left_in_another_backing_index_is_removed_on_the_next_write(es: ElasticsearchBackend) -> None:
    assert es.upsert(NEWSROOM[0])
    new_index = roll_over(es.client, ALIAS)
    stray = to_document(NEWSROOM[0], Revision("stray", 1), datetime.now(UTC))
    es.client.index(index=new_index, id="n01", document=stray, refresh=True)
    assert es.count() == 2
    changed = news("n01", "Lavrov bertemu Kim (v2)", "Berita: isi baru.", "story-a", content_hash="h-v2")
    assert es.upsert(changed)
    assert es.count() == 1
    stored = es.get("n01")
    assert stored is not None and stored["title"] == "Lavrov bertemu Kim (v2)"
