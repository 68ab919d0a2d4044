"""The Kibana saved objects: every line and every embedded JSON string parses, every reference
resolves, every field they chart is in the index mapping, and the compose file imports them once
Kibana is healthy. Against the real Elasticsearch (Kibana itself cannot run here): every field a
saved object uses exists in the live mapping with an aggregatable type, and each panel's
aggregation, built as Lens builds it, returns buckets on the seeds."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import ROOT, EngineUnderTest
from kabar.contract.settings import KabarSettings
from kabar_search.backend import open_backend
from kabar_search.es_index import TEMPLATE_FILE, load_ops_file
from test_api_search import seed_articles

KIBANA = ROOT / "ops" / "kibana"
NDJSON = KIBANA / "newsroom.ndjson"


@pytest.fixture(scope="module")
def objects() -> list[dict[str, Any]]:
    lines = NDJSON.read_text(encoding="utf-8").splitlines()
    parsed = []
    for number, line in enumerate(lines, start=1):
        try:
            parsed.append(json.loads(line))
        except json.JSONDecodeError as exc:
            pytest.fail(f"newsroom.ndjson line {number} is not JSON: {exc}")
    return parsed


def embedded_json(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Every string attribute whose name ends in JSON (Kibana nests JSON in strings)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key.endswith("JSON") and isinstance(item, str):
                yield f"{path}.{key}", item
            yield from embedded_json(item, f"{path}.{key}")
    elif isinstance(value, list):
        for position, item in enumerate(value):
            yield from embedded_json(item, f"{path}[{position}]")


def mapped_fields() -> set[str]:
    properties = load_ops_file(TEMPLATE_FILE)["template"]["mappings"]["properties"]
    fields = set(properties)
    for name, spec in properties.items():
        fields |= {f"{name}.{sub}" for sub in spec.get("fields", {})}
    return fields


def test_the_file_is_what_the_build_script_writes() -> None:
    spec = importlib.util.spec_from_file_location("build_newsroom_dashboard", KIBANA / "build_newsroom_dashboard.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert NDJSON.read_text(encoding="utf-8") == module.render(), "run ops/kibana/build_newsroom_dashboard.py"


def test_every_object_is_well_formed_and_unique(objects: list[dict[str, Any]]) -> None:
    keys = [(item["type"], item["id"]) for item in objects]
    assert len(keys) == len(set(keys))
    for item in objects:
        assert {"type", "id", "attributes", "references"} <= set(item), item.get("id")
        assert item["attributes"]["title"]
    assert {kind for kind, _ in keys} == {"index-pattern", "lens", "dashboard"}


def test_every_embedded_json_string_parses(objects: list[dict[str, Any]]) -> None:
    found = 0
    for item in objects:
        for where, text in embedded_json(item["attributes"], item["id"]):
            found += 1
            try:
                json.loads(text)
            except json.JSONDecodeError as exc:
                pytest.fail(f"{where} is not JSON: {exc}")
    assert found >= 3, "the dashboard's panelsJSON, optionsJSON and searchSourceJSON at least"


def test_every_reference_resolves(objects: list[dict[str, Any]]) -> None:
    present = {(item["type"], item["id"]) for item in objects}
    for item in objects:
        for reference in item["references"]:
            assert (reference["type"], reference["id"]) in present, (item["id"], reference)


def test_dashboard_panels_and_lens_layers_have_their_references(objects: list[dict[str, Any]]) -> None:
    for item in objects:
        names = {reference["name"] for reference in item["references"]}
        if item["type"] == "dashboard":
            panels = json.loads(item["attributes"]["panelsJSON"])
            assert len(panels) == len([r for r in item["references"] if r["type"] == "lens"])
            for panel in panels:
                assert f"{panel['panelIndex']}:{panel['panelRefName']}" in names, panel
        if item["type"] == "lens":
            layers = item["attributes"]["state"]["datasourceStates"]["formBased"]["layers"]
            for layer_id in layers:
                assert f"indexpattern-datasource-layer-{layer_id}" in names, item["id"]


def test_the_dashboard_charts_what_the_newsroom_asked_for(objects: list[dict[str, Any]]) -> None:
    charted = set()
    for item in objects:
        if item["type"] == "lens":
            for layer in item["attributes"]["state"]["datasourceStates"]["formBased"]["layers"].values():
                charted |= {column.get("sourceField") for column in layer["columns"].values()}
    # over time by language, sources, people, places, organisations, duplicate share, stories
    assert {"dated_at", "language", "source_domain", "entity_per", "entity_loc", "entity_org", "is_duplicate",
            "story_id"} <= charted


def test_every_charted_field_is_in_the_index_mapping(objects: list[dict[str, Any]]) -> None:
    fields = mapped_fields()
    for item in objects:
        if item["type"] == "index-pattern":
            assert item["attributes"]["title"] == KabarSettings().index_alias, "the data view covers the alias"
            assert item["attributes"]["timeFieldName"] in fields
        if item["type"] != "lens":
            continue
        for layer in item["attributes"]["state"]["datasourceStates"]["formBased"]["layers"].values():
            assert layer["columnOrder"] and set(layer["columnOrder"]) == set(layer["columns"])
            for column in layer["columns"].values():
                source = column["sourceField"]
                assert source == "___records___" or source in fields, (item["id"], source)
                sort_field = column.get("params", {}).get("sortField")
                assert sort_field is None or sort_field in fields


def test_compose_imports_the_file_once_kibana_is_healthy(compose: dict[str, Any]) -> None:
    setup = compose["services"]["kibana-setup"]
    assert setup["depends_on"]["kibana"]["condition"] == "service_healthy"
    assert setup["restart"] == "no"
    assert "./ops/kibana:/kibana:ro" in setup["volumes"]
    command = " ".join(setup["command"])
    assert "/api/saved_objects/_import?overwrite=true" in command
    assert f"file=@/kibana/{NDJSON.name}" in command
    assert "kbn-xsrf" in command
    assert Path(KIBANA / NDJSON.name).exists()


def lens_layers(objects: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    for item in objects:
        if item["type"] == "lens":
            for layer in item["attributes"]["state"]["datasourceStates"]["formBased"]["layers"].values():
                yield item["id"], layer


def used_fields(objects: list[dict[str, Any]]) -> set[str]:
    fields = {item["attributes"]["timeFieldName"] for item in objects if item["type"] == "index-pattern"}
    for _, layer in lens_layers(objects):
        for column in layer["columns"].values():
            fields.add(column["sourceField"])
            fields.add(column.get("params", {}).get("sortField"))
    return fields - {"___records___", None}


def bucket_aggregation(column: dict[str, Any]) -> dict[str, Any]:
    field = column["sourceField"]
    if column["operationType"] == "date_histogram":  # "auto" picks an interval from the time range: a day here
        return {"date_histogram": {"field": field, "calendar_interval": "day", "min_doc_count": 1}}
    assert column["operationType"] == "terms", column
    return {"terms": {"field": field, "size": column["params"]["size"]}}


def metric_aggregation(column: dict[str, Any], time_field: str) -> dict[str, Any]:
    assert column["operationType"] == "last_value", column
    return {"top_hits": {"size": 1, "_source": False, "docvalue_fields": [column["sourceField"]],
                         "sort": [{time_field: "desc"}]}}


def panel_aggregation(layer: dict[str, Any], time_field: str) -> dict[str, Any]:
    """What Lens asks Elasticsearch for one layer: its bucket columns nested in column order, the metrics
    inside the innermost (a count is each bucket's doc_count)."""
    columns = [layer["columns"][key] for key in layer["columnOrder"]]
    inner = {f"metric{n}": metric_aggregation(column, time_field) for n, column in enumerate(columns)
             if not column["isBucketed"] and column["operationType"] != "count"}
    for depth, column in reversed(list(enumerate(c for c in columns if c["isBucketed"]))):
        aggregation = bucket_aggregation(column)
        if inner:
            aggregation["aggs"] = inner
        inner = {f"level{depth}": aggregation}
    return inner


@pytest.fixture
def seeded_elasticsearch(elasticsearch_engine: EngineUnderTest, tmp_path: Path) -> EngineUnderTest:
    backend = open_backend(elasticsearch_engine.settings(data_dir=tmp_path))
    try:
        assert all(outcome.changed for outcome in backend.upsert_many(seed_articles(), refresh=True))
    finally:
        backend.close()
    return elasticsearch_engine


def test_every_field_the_dashboard_uses_is_aggregatable_in_the_live_mapping(
        objects: list[dict[str, Any]], seeded_elasticsearch: EngineUnderTest) -> None:
    alias = KabarSettings().index_alias
    fields = sorted(used_fields(objects))
    caps = httpx.get(f"{seeded_elasticsearch.url}/{alias}/_field_caps", params={"fields": ",".join(fields)},
                     timeout=30).json()["fields"]
    for field in fields:
        assert field in caps, f"{field} is not in the live mapping"
        assert all(kind["aggregatable"] for kind in caps[field].values()), (field, caps[field])


def test_each_panel_returns_buckets_on_the_seeds(objects: list[dict[str, Any]],
                                                 seeded_elasticsearch: EngineUnderTest) -> None:
    alias = KabarSettings().index_alias
    time_field = next(item["attributes"]["timeFieldName"] for item in objects if item["type"] == "index-pattern")
    panels = 0
    for panel, layer in lens_layers(objects):
        aggregation = panel_aggregation(layer, time_field)
        response = httpx.post(f"{seeded_elasticsearch.url}/{alias}/_search", timeout=30,
                              json={"size": 0, "aggs": aggregation})
        assert response.status_code == 200, (panel, response.text)
        level = response.json()["aggregations"]["level0"]
        assert level["buckets"], f"{panel}: no buckets on the seeds"
        first = level["buckets"][0]
        assert first["doc_count"] > 0, panel
        if "level1" in first:
            assert first["level1"]["buckets"], f"{panel}: no inner buckets"
        for name, value in first.items():
            if name.startswith("metric"):
                assert value["hits"]["hits"][0]["fields"], (panel, name, value)
        panels += 1
    assert panels == 7
