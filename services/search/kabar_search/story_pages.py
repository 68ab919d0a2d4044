"""The stories pages: a list of stories (newest or fastest growing first) and one story's timeline.

Everything that comes from an article or a request is escaped (``markup.esc``).
"""

from __future__ import annotations

from itertools import groupby
from urllib.parse import urlencode

from kabar_search.markup import esc, view
from kabar_search.models import StoryList, StoryResult, StorySummary
from kabar_search.story_query import StoryQuery

_SORTS = {"recent": "Latest", "growth": "Growing"}


def story_list(listed: StoryList, query: StoryQuery) -> str:
    tabs = " · ".join(f"<strong>{label}</strong>" if sort == query.sort
                      else f'<a href="/view/stories?{esc(urlencode({"sort": sort}))}">{label}</a>'
                      for sort, label in _SORTS.items())
    window = (f" (articles since {esc(listed.growth_since.strftime('%Y-%m-%d %H:%M'))} UTC)"
              if listed.growth_since else "")
    cards = "".join(_story_card(story) for story in listed.stories) or "<p>No story matches.</p>"
    more = ""
    if listed.next_offset is not None:
        more = f'<p><a rel="next" href="{esc(_next_page(query, listed.next_offset))}">More stories →</a></p>'
    return (f'<main><section aria-label="Stories"><h1>Stories</h1><p class="meta">{tabs}</p>'
            f'<p class="summary">{listed.total} story(ies){window}</p>{cards}{more}</section></main>')


def _next_page(query: StoryQuery, offset: int) -> str:
    filters = query.filters
    params = [("sort", query.sort), *(("language", value) for value in filters.languages),
              *(("source", value) for value in filters.sources), *(("entity", value) for value in filters.entities),
              *(("entity_id", value) for value in filters.entity_ids),
              ("limit", str(query.limit)), ("offset", str(offset))]
    return "/view/stories?" + urlencode(params)


def _story_card(story: StorySummary) -> str:
    span = f"{story.first_seen:%Y-%m-%d} – {story.last_updated:%Y-%m-%d}"
    growth = f" · {story.recent_articles} new" if story.recent_articles is not None else ""
    outlets = ", ".join(bucket.value for bucket in story.outlets[:5])
    names = ", ".join(entity.name for entity in story.entities[:6])
    return (f'<article class="story" data-story="{esc(story.story_id)}"><h2>'
            f'<a href="{esc(view("stories", story.story_id))}">{esc(story.headline)}</a></h2>'
            f'<p class="meta">{story.articles} article(s){growth} · {esc(span)} · '
            f'{esc(", ".join(bucket.value for bucket in story.languages))}</p>'
            f'<p class="meta">{esc(outlets)}</p><p>{esc(names)}</p></article>')


def story_timeline(story: StoryResult) -> str:
    summary = story.summary
    head = f"<h1>Story {esc(story.story_id)}</h1>"
    if summary is not None:
        entities = ", ".join(f'<a href="/view/stories?{esc(urlencode({"entity_id": entity.id}))}" '
                             f'title="stories naming {esc(entity.name)}">{esc(entity.name)}</a> ({entity.articles})'
                             for entity in summary.entities)
        outlets = ", ".join(f"{bucket.value} ({bucket.count})" for bucket in summary.outlets)
        head = (f"<h1>{esc(summary.headline)}</h1><p class=\"meta\">{summary.articles} article(s), "
                f"{summary.duplicates} near-copy(ies) · first seen {summary.first_seen:%Y-%m-%d %H:%M} UTC · "
                f"last updated {summary.last_updated:%Y-%m-%d %H:%M} UTC · "
                f"{esc(', '.join(bucket.value for bucket in summary.languages))}</p>"
                f"<p>{esc(outlets)}</p><p>{entities}</p>")
    days = []
    for day, items in groupby(story.articles, key=lambda item: item.published_at.date().isoformat()
                              if item.published_at else "undated"):
        rows = "".join(
            f'<li><a href="{esc(view("articles", item.id))}">{esc(item.title)}</a> <span class="meta">'
            f'{esc(item.source_domain or "unknown source")} · {esc(item.language)}</span>'
            + (' <span class="dup">duplicate</span>' if item.is_duplicate else "") + "</li>" for item in items)
        days.append(f'<h3>{esc(day)}</h3><ol class="coverage">{rows}</ol>')
    shown = f"{len(story.articles)} of {story.total}" if len(story.articles) < story.total else f"{story.total}"
    return (f'<main><section>{head}<div class="timeline"><p>{shown} article(s), oldest first</p>'
            f'{"".join(days)}</div></section></main>')
