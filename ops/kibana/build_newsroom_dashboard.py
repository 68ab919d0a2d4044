"""Write ops/kibana/newsroom.ndjson: the kabar data view and the newsroom dashboard.

Kibana's saved objects nest JSON inside JSON strings, which is error-prone to edit by
hand; edit this script and run it instead (``python ops/kibana/build_newsroom_dashboard.py``).
tests/test_search_kibana.py checks the file is what this script writes, and that
every line, every embedded JSON string and every reference in it holds together.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

OUT = Path(__file__).with_name("newsroom.ndjson")
DATA_VIEW = "kabar-articles"  # id and title: the write alias, which spans every backing index
TIME_FIELD = "dated_at"
LAYER = "layer1"
VERSION = {"coreMigrationVersion": "8.8.0"}

COUNT = {"label": "Articles", "dataType": "number", "operationType": "count", "isBucketed": False,
         "scale": "ratio", "sourceField": "___records___", "params": {"emptyAsNull": True}}


def terms(field: str, label: str, size: int = 10, data_type: str = "string") -> dict[str, Any]:
    return {"label": label, "dataType": data_type, "operationType": "terms", "scale": "ordinal",
            "sourceField": field, "isBucketed": True,
            "params": {"size": size, "orderBy": {"type": "column", "columnId": "count"}, "orderDirection": "desc",
                       "otherBucket": False, "missingBucket": False, "parentFormat": {"id": "terms"}}}


def lens(object_id: str, title: str, visualization_type: str, columns: dict[str, Any],
         visualization: dict[str, Any]) -> dict[str, Any]:
    layer = {"columns": columns, "columnOrder": list(columns), "incompleteColumns": {}}
    return {
        "type": "lens", "id": object_id, **VERSION, "typeMigrationVersion": "8.9.0",
        "attributes": {
            "title": title, "description": "", "visualizationType": visualization_type,
            "state": {"datasourceStates": {"formBased": {"layers": {LAYER: layer}}},
                      "visualization": visualization, "query": {"query": "", "language": "kuery"}, "filters": []},
        },
        "references": [{"type": "index-pattern", "id": DATA_VIEW, "name": f"indexpattern-datasource-layer-{LAYER}"}],
    }


def bars(object_id: str, title: str, field: str, label: str) -> dict[str, Any]:
    """Top values of a keyword field as horizontal bars."""
    return lens(object_id, title, "lnsXY", {"value": terms(field, label), "count": COUNT}, {
        "legend": {"isVisible": False, "position": "right"}, "valueLabels": "show",
        "preferredSeriesType": "bar_horizontal",
        "layers": [{"layerId": LAYER, "layerType": "data", "seriesType": "bar_horizontal", "xAccessor": "value",
                    "accessors": ["count"]}],
    })


def visualizations() -> list[dict[str, Any]]:
    date = {"label": "Date", "dataType": "date", "operationType": "date_histogram", "sourceField": TIME_FIELD,
            "isBucketed": True, "scale": "interval", "params": {"interval": "auto", "includeEmptyRows": True}}
    over_time = lens("kabar-articles-over-time", "Articles over time by language", "lnsXY",
                     {"date": date, "language": terms("language", "Language", size=5), "count": COUNT}, {
                         "legend": {"isVisible": True, "position": "right"}, "valueLabels": "hide",
                         "preferredSeriesType": "bar_stacked",
                         "layers": [{"layerId": LAYER, "layerType": "data", "seriesType": "bar_stacked",
                                     "xAccessor": "date", "splitAccessor": "language", "accessors": ["count"]}],
                     })
    duplicates = lens("kabar-duplicate-share", "Duplicate share", "lnsPie",
                      {"duplicate": terms("is_duplicate", "Near-duplicate", size=2, data_type="boolean"),
                       "count": COUNT}, {
                          "shape": "donut",
                          "layers": [{"layerId": LAYER, "layerType": "data", "primaryGroups": ["duplicate"],
                                      "metrics": ["count"], "numberDisplay": "percent", "categoryDisplay": "default",
                                      "legendDisplay": "show"}],
                      })
    title = {"label": "Latest title", "dataType": "string", "operationType": "last_value", "isBucketed": False,
             "scale": "ordinal", "sourceField": "title.raw", "params": {"sortField": TIME_FIELD}}
    stories = lens("kabar-top-stories", "Stories with the most coverage", "lnsDatatable",
                   {"story": terms("story_id", "Story", size=15), "title": title, "count": COUNT}, {
                       "layerId": LAYER, "layerType": "data",
                       "columns": [{"columnId": "story"}, {"columnId": "title"}, {"columnId": "count"}],
                   })
    return [over_time, bars("kabar-top-sources", "Top sources", "source_domain", "Source"),
            bars("kabar-top-people", "Top people", "entity_per", "Person"),
            bars("kabar-top-places", "Top places", "entity_loc", "Place"),
            bars("kabar-top-organisations", "Top organisations", "entity_org", "Organisation"),
            duplicates, stories]


def dashboard(panels: list[dict[str, Any]]) -> dict[str, Any]:
    layout = [(0, 0, 48, 14), (0, 14, 16, 14), (16, 14, 16, 14), (32, 14, 16, 14), (0, 28, 16, 14),
              (16, 28, 12, 14), (28, 28, 20, 14)]
    panels_json = []
    references = []
    for number, (panel, (x, y, w, h)) in enumerate(zip(panels, layout, strict=True), start=1):
        index = f"p{number}"
        panels_json.append({"type": "lens", "gridData": {"x": x, "y": y, "w": w, "h": h, "i": index},
                            "panelIndex": index, "embeddableConfig": {"enhancements": {}},
                            "panelRefName": f"panel_{index}"})
        references.append({"type": "lens", "id": panel["id"], "name": f"{index}:panel_{index}"})
    return {
        "type": "dashboard", "id": "kabar-newsroom", **VERSION, "typeMigrationVersion": "8.9.0",
        "attributes": {
            "title": "kabar newsroom", "description": "What the newsroom is covering: volume by language, "
                                                      "sources, people, places, organisations, duplicates, stories.",
            "panelsJSON": json.dumps(panels_json), "timeRestore": True, "timeFrom": "now-30d", "timeTo": "now",
            "refreshInterval": {"pause": False, "value": 60000},
            "optionsJSON": json.dumps({"useMargins": True, "syncColors": True, "hidePanelTitles": False}),
            "kibanaSavedObjectMeta": {"searchSourceJSON": json.dumps({"query": {"query": "", "language": "kuery"},
                                                                      "filter": []})},
        },
        "references": references,
    }


def data_view() -> dict[str, Any]:
    return {"type": "index-pattern", "id": DATA_VIEW, **VERSION, "typeMigrationVersion": "8.0.0",
            "attributes": {"title": DATA_VIEW, "name": "kabar articles", "timeFieldName": TIME_FIELD},
            "references": []}


def saved_objects() -> list[dict[str, Any]]:
    panels = visualizations()
    return [data_view(), *panels, dashboard(panels)]


def render() -> str:
    return "".join(json.dumps(item, ensure_ascii=False, sort_keys=True) + "\n" for item in saved_objects())


if __name__ == "__main__":
    OUT.write_text(render(), encoding="utf-8")
    print(f"wrote {OUT}")
