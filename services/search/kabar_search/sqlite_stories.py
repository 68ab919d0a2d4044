"""Story summaries on the SQLite backend: aggregated from the indexed articles when asked.

The articles table is the one source of truth; nothing is stored per story. Listing groups
the matching articles by story through ``articles_by_story`` (and ``articles_by_date`` for a
date range), then summarises only the stories on the page.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime
from typing import Any, Final

from kabar_search.models import DateBucket, FacetBucket, StoryEntity, StoryList, StorySummary
from kabar_search.story_query import TOP_ENTITIES, TOP_OUTLETS, StoryQuery

Where = tuple[str, list[Any]]
_RANKING: Final = {"recent": "last DESC, a.story_id", "growth": "n DESC, last DESC, a.story_id"}


def _moment(millis: int) -> datetime:
    return datetime.fromtimestamp(millis / 1000, tz=UTC)


def list_stories(db: sqlite3.Connection, query: StoryQuery, where: Where) -> StoryList:
    """``where``: the SQL conditions (on articles ``a``) of ``query.ranking_filters()``, and their parameters."""
    clause, params = where
    total = db.execute(f"SELECT COUNT(DISTINCT a.story_id) FROM articles a WHERE 1{clause}", params).fetchone()[0]
    rows = db.execute(
        f"""SELECT a.story_id, MAX(a.dated_at) AS last, COUNT(*) AS n FROM articles a WHERE 1{clause}
            GROUP BY a.story_id ORDER BY {_RANKING[query.sort]} LIMIT ? OFFSET ?""",
        (*params, query.limit, query.offset)).fetchall()
    found = summaries(db, [row[0] for row in rows])
    stories = [found[story_id] for story_id, _, _ in rows if story_id in found]
    if query.sort == "growth":
        recent = {story_id: count for story_id, _, count in rows}
        stories = [story.model_copy(update={"recent_articles": recent[story.story_id]}) for story in stories]
    more = query.offset + len(rows) < total
    return StoryList(total=total, sort=query.sort, stories=stories,
                     growth_since=_moment(query.growth_since_ms) if query.sort == "growth" and
                     query.growth_since_ms is not None else None,
                     next_offset=query.offset + len(rows) if more else None)


def summaries(db: sqlite3.Connection, story_ids: list[str]) -> dict[str, StorySummary]:
    """The summary of each story that has articles."""
    if not story_ids:
        return {}
    marks = ",".join("?" * len(story_ids))
    spans = db.execute(f"""SELECT story_id, MIN(dated_at), MAX(dated_at), COUNT(*), SUM(duplicate_of IS NOT NULL)
                           FROM articles WHERE story_id IN ({marks}) GROUP BY story_id""", story_ids).fetchall()
    headlines = dict(db.execute(
        f"""SELECT story_id, json_extract(doc, '$.title') FROM (
                SELECT story_id, doc, ROW_NUMBER() OVER (
                    PARTITION BY story_id ORDER BY duplicate_of IS NOT NULL, dated_at, id) AS place
                FROM articles WHERE story_id IN ({marks})) WHERE place = 1""", story_ids).fetchall())
    outlets = _counted(db, "source_domain", marks, story_ids, TOP_OUTLETS)
    languages = _counted(db, "language", marks, story_ids, None)
    entities = _entities(db, marks, story_ids)
    return {story_id: StorySummary(
        story_id=story_id, headline=headlines.get(story_id) or "", first_seen=_moment(first),
        last_updated=_moment(last), articles=count, duplicates=int(duplicates or 0),
        outlets=outlets.get(story_id, []), languages=languages.get(story_id, []),
        entities=entities.get(story_id, []),
    ) for story_id, first, last, count, duplicates in spans}


def timeline(db: sqlite3.Connection, story_id: str) -> list[DateBucket]:
    rows = db.execute("""SELECT strftime('%Y-%m-%d', dated_at / 1000, 'unixepoch') AS day, COUNT(*)
                         FROM articles WHERE story_id = ? GROUP BY day ORDER BY day""", (story_id,))
    return [DateBucket(start=date.fromisoformat(day), count=count) for day, count in rows]


def _counted(db: sqlite3.Connection, column: str, marks: str, story_ids: list[str],
             top: int | None) -> dict[str, list[FacetBucket]]:
    rows = db.execute(f"""SELECT story_id, {column}, COUNT(*) AS n FROM articles
                          WHERE story_id IN ({marks}) AND {column} IS NOT NULL
                          GROUP BY story_id, {column} ORDER BY story_id, n DESC, {column}""", story_ids)
    found: dict[str, list[FacetBucket]] = {}
    for story_id, value, count in rows:
        bucket = found.setdefault(story_id, [])
        if top is None or len(bucket) < top:
            bucket.append(FacetBucket(value=value, count=count))
    return found


def _entities(db: sqlite3.Connection, marks: str, story_ids: list[str]) -> dict[str, list[StoryEntity]]:
    """Grouped on entity ids, as the search facets are; the name shown is the id's first canonical name."""
    rows = db.execute(f"""SELECT story_id, label, entity_id, name, n FROM (
                              SELECT a.story_id, e.label, e.entity_id, MIN(e.canonical) AS name, COUNT(*) AS n,
                                     ROW_NUMBER() OVER (PARTITION BY a.story_id
                                                        ORDER BY COUNT(*) DESC, e.entity_id) AS place
                              FROM articles a JOIN article_entities e ON e.article_id = a.id
                              WHERE a.story_id IN ({marks}) GROUP BY a.story_id, e.label, e.entity_id)
                          WHERE place <= ? ORDER BY story_id, place""", (*story_ids, TOP_ENTITIES))
    found: dict[str, list[StoryEntity]] = {}
    for story_id, label, entity_id, name, count in rows:
        found.setdefault(story_id, []).append(StoryEntity(name=name, id=entity_id, label=label, articles=count))
    return found
