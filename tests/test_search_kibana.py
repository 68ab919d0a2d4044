"""The Kibana saved objects, checked offline: every line and every embedded JSON string
parses, every reference resolves, every field they chart is in the index mapping, and
the compose file imports them once Kibana is healthy."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import ROOT
from kabar.contract.settings import KabarSettings
from kabar_search.es_index import TEMPLATE_FILE, load_ops_file

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
