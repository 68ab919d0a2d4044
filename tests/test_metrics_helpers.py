"""The observation helpers service code calls: values, bounded labels and the naming scheme."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from prometheus_client import REGISTRY, Counter, Histogram

from kabar.contract import metrics
from kabar.contract.messages import EnrichedArticle

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
# Every label any kabar metric may carry; each has a bounded set of values.
BOUNDED_LABELS = {"stage", "kind", "route", "method", "status", "language", "source_domain", "reason", "channel",
                  "outcome"}


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def article(**changes: Any) -> EnrichedArticle:
    fields: dict[str, Any] = {
        "id": "a1", "url": "https://www.kompas.com/berita/1", "source_domain": "kompas.com", "title": "Judul",
        "text": "Isi berita.", "content_hash": "h", "received_at": NOW - timedelta(seconds=90), "language": "id",
        "language_confidence": 0.99, "fingerprint": "AAAA", "story_id": "a1",
    }
    return EnrichedArticle(**{**fields, **changes})


def kabar_metrics() -> list[Counter | Histogram]:
    return [item for item in vars(metrics).values() if isinstance(item, Counter | Histogram)]


def test_an_indexed_article_records_lag_language_source_and_story() -> None:
    before = {
        "lag_count": value("kabar_ingest_to_searchable_seconds_count"),
        "lag_sum": value("kabar_ingest_to_searchable_seconds_sum"),
        "within_120s": value("kabar_ingest_to_searchable_seconds_bucket", le="120.0"),
        "within_60s": value("kabar_ingest_to_searchable_seconds_bucket", le="60.0"),
        "language": value("kabar_articles_indexed_by_language_total", language="id"),
        "source": value("kabar_articles_indexed_by_source_total", source_domain="kompas.com"),
        "stories": value("kabar_new_stories_total"),
        "duplicates": value("kabar_near_duplicates_total"),
    }

    metrics.observe_indexed(article(), changed=True, now=NOW)

    assert value("kabar_ingest_to_searchable_seconds_count") == before["lag_count"] + 1
    assert value("kabar_ingest_to_searchable_seconds_sum") == pytest.approx(before["lag_sum"] + 90)
    assert value("kabar_ingest_to_searchable_seconds_bucket", le="120.0") == before["within_120s"] + 1
    assert value("kabar_ingest_to_searchable_seconds_bucket", le="60.0") == before["within_60s"]
    assert value("kabar_articles_indexed_by_language_total", language="id") == before["language"] + 1
    assert value("kabar_articles_indexed_by_source_total", source_domain="kompas.com") == before["source"] + 1
    assert value("kabar_new_stories_total") == before["stories"] + 1, "story named after the article: new"
    assert value("kabar_near_duplicates_total") == before["duplicates"]


def test_a_near_duplicate_joining_a_story_counts_as_such() -> None:
    duplicates, stories = value("kabar_near_duplicates_total"), value("kabar_new_stories_total")

    metrics.observe_indexed(article(id="a2", duplicate_of="a1", story_id="a1"), changed=True, now=NOW)

    assert value("kabar_near_duplicates_total") == duplicates + 1
    assert value("kabar_new_stories_total") == stories


def test_unchanged_content_records_nothing() -> None:
    lag_count, language = (value("kabar_ingest_to_searchable_seconds_count"),
                           value("kabar_articles_indexed_by_language_total", language="id"))

    metrics.observe_indexed(article(received_at=NOW - timedelta(days=3)), changed=False, now=NOW)

    assert value("kabar_ingest_to_searchable_seconds_count") == lag_count
    assert value("kabar_articles_indexed_by_language_total", language="id") == language


def test_a_clock_ahead_of_ours_gives_zero_lag_not_negative() -> None:
    lag_sum = value("kabar_ingest_to_searchable_seconds_sum")
    lag_count = value("kabar_ingest_to_searchable_seconds_count")

    metrics.observe_searchable_lag(NOW + timedelta(seconds=30), now=NOW)

    assert value("kabar_ingest_to_searchable_seconds_sum") == lag_sum
    assert value("kabar_ingest_to_searchable_seconds_count") == lag_count + 1


def test_pages_count_towards_their_source_yield() -> None:
    url = "https://reader:secret@WWW.Tempo.co:8443/read/1?utm=x"
    pages, bodies = (value("kabar_source_pages_total", source_domain="tempo.co"),
                     value("kabar_source_pages_with_body_total", source_domain="tempo.co"))

    metrics.observe_page(url, has_body=True)
    metrics.observe_page(url, has_body=False)

    assert value("kabar_source_pages_total", source_domain="tempo.co") == pages + 2
    assert value("kabar_source_pages_with_body_total", source_domain="tempo.co") == bodies + 1


def test_a_source_without_any_body_still_has_a_yield_series() -> None:
    # The yield alert divides two series: a missing numerator would hide a source at 0%.
    metrics.observe_page("https://broken.example/1", has_body=False)

    assert REGISTRY.get_sample_value("kabar_source_pages_with_body_total", {"source_domain": "broken.example"}) == 0


def test_failure_reasons_are_a_closed_set() -> None:
    before = value("kabar_source_failures_total", source_domain="detik.com", reason="other")

    metrics.observe_source_failure("https://detik.com/x", "no_body")
    metrics.observe_source_failure("https://detik.com/x", "ValueError: something new")  # type: ignore[arg-type]

    assert value("kabar_source_failures_total", source_domain="detik.com", reason="no_body") >= 1
    assert value("kabar_source_failures_total", source_domain="detik.com", reason="other") == before + 1


def test_watchlist_and_alert_delivery_counters() -> None:
    matches = value("kabar_watchlist_matches_total")
    delivered = value("kabar_alert_deliveries_total", channel="webhook", outcome="delivered")
    odd = value("kabar_alert_deliveries_total", channel="other", outcome="other")

    metrics.observe_watchlist_match(3)
    metrics.observe_watchlist_match(0)
    metrics.observe_alert_delivery("webhook", "delivered")
    metrics.observe_alert_delivery("pigeon", "lost")  # type: ignore[arg-type]

    assert value("kabar_watchlist_matches_total") == matches + 3
    assert value("kabar_alert_deliveries_total", channel="webhook", outcome="delivered") == delivered + 1
    assert value("kabar_alert_deliveries_total", channel="other", outcome="other") == odd + 1


@pytest.mark.parametrize(("given", "expected"), [
    ("https://www.Antaranews.com/berita/123", "antaranews.com"),
    ("kompas.com", "kompas.com"),
    ("https://[::1", "unknown"),  # unparseable URL
    (None, "unknown"),
    ("", "unknown"),
    ("not a domain/with spaces", "other"),
])
def test_source_labels_are_hosts_only(given: str | None, expected: str) -> None:
    assert metrics.source_label(given) == expected


def test_labels_beyond_the_limit_become_other() -> None:
    labels = metrics.BoundedLabels(2, re.compile(r"[a-z]+"))

    assert [labels.label(v) for v in ("aa", "bb", "cc", "aa", "BAD", "other", None)] == [
        "aa", "bb", "other", "aa", "other", "other", "unknown"]


def test_source_domains_are_capped_per_process(monkeypatch: pytest.MonkeyPatch) -> None:
    # A small cap of its own: filling the process-wide one would turn other tests' sources into "other".
    monkeypatch.setattr(metrics, "_SOURCES", metrics.BoundedLabels(3, metrics._DOMAIN))

    labels = [metrics.source_label(f"https://site{n}.example/") for n in range(5)]

    assert labels == ["site0.example", "site1.example", "site2.example", "other", "other"]
    assert metrics.source_label("https://www.site1.example/later") == "site1.example"


def test_language_labels_are_codes() -> None:
    assert metrics.language_label("ID") == "id"
    assert metrics.language_label("min") == "min"
    assert metrics.language_label("zh-Hant") == "other"
    assert metrics.language_label(None) == "unknown"


def test_every_metric_follows_the_naming_scheme() -> None:
    found = kabar_metrics()
    assert len(found) >= 17
    for metric in found:
        name = metric._name  # without the _total suffix prometheus_client adds to counters
        assert name.startswith("kabar_"), name
        if isinstance(metric, Histogram):
            assert name.endswith("_seconds"), f"{name}: durations are histograms in seconds"
        assert set(metric._labelnames) <= BOUNDED_LABELS, f"{name}: {metric._labelnames}"
