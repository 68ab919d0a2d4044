"""The search page newsrooms use: plain server-rendered HTML, no JavaScript (but for the key form).

``/`` searches (box, filters, facets, results grouped by story with highlights),
``/view/articles/{id}`` shows one article, ``/view/stories`` the stories newest or fastest
growing first (filters: language, entity, dates), ``/view/stories/{id}`` one story: its
summary and its coverage day by day, near-copies marked.
With ``KABAR_API_READ_REQUIRES_KEY`` set, every page needs the key, like the JSON reads: a browser
is asked for it once per tab (``kabar_search.page_key``).

Every page is sent with a Content-Security-Policy that allows no script but the key form's, no
inline style but the page's own (by its hash), no framing, and ``nosniff``.

Everything that comes from an article or a request is escaped. Highlights arrive with
``<mark>`` tags around matched words in otherwise raw text: the whole passage is
escaped and then only the escaped ``<mark>``/``</mark>`` tags are turned back into tags
(so a literal "<mark>" in an article shows as a highlight; no other markup can get in).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Annotated, Any, Final
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from kabar.service_api import ApiSecurity
from kabar_search import story_pages
from kabar_search.backend import MAX_STORY_ARTICLES, SearchBackend
from kabar_search.markup import esc, marked, view
from kabar_search.models import EntityFacetBucket, EntityType, FacetBucket, Facets, SearchHit, SearchResult
from kabar_search.page_key import KEY_FORM, SCRIPT, SCRIPT_PATH, keyed_route
from kabar_search.params import SearchParameters
from kabar_search.query import QueryError
from kabar_search.story_api import StoryListParameters

PAGE_SIZE: Final = 20
ENTITY_HEADINGS: Final[dict[EntityType, str]] = {
    "PER": "People", "ORG": "Organisations", "LOC": "Places", "MISC": "Other names",
}
FILTER_PARAMETERS: Final = ("language", "source", "entity", "entity_id", "story_id")
_STYLE: Final = """
body{font:16px/1.5 system-ui,sans-serif;margin:0;color:#1d1d1f;background:#fafafa}
header{background:#12355b;color:#fff;padding:.8rem 1.5rem}header a{color:#fff;text-decoration:none}
header form{display:flex;flex-wrap:wrap;gap:.5rem;align-items:center;margin-top:.5rem}
header input[type=search]{flex:1 1 20rem;font-size:1.1rem;padding:.4rem}
main{display:flex;gap:2rem;padding:1rem 1.5rem}aside{flex:0 0 16rem}section{flex:1;min-width:0}
aside h3{font-size:.9rem;text-transform:uppercase;color:#555;margin:1rem 0 .2rem}
aside ul{list-style:none;padding:0;margin:0}aside li{display:flex;justify-content:space-between}
.story{background:#fff;border:1px solid #ddd;border-radius:6px;padding:.7rem 1rem;margin-bottom:.8rem}
.story h2{font-size:1.15rem;margin:0}.meta{color:#666;font-size:.85rem}
mark{background:#ffe27a;padding:0 .1em}.error{background:#fde8e8;border:1px solid #e0a0a0;padding:.6rem 1rem}
.active a{background:#e4ecf7;border-radius:3px;padding:0 .4rem;margin-right:.3rem;text-decoration:none}
.dup{color:#8a5a00;font-size:.85rem}article.full p{max-width:48rem}
header nav{display:inline;margin-left:1rem}header nav a{margin-right:.8rem;opacity:.9}
.timeline h3{font-size:1rem;margin:1rem 0 .3rem}.timeline ol{margin:0}
"""

_STYLE_HASH: Final = base64.b64encode(hashlib.sha256(_STYLE.encode()).digest()).decode()
PAGE_HEADERS: Final = {
    "Content-Security-Policy": (f"default-src 'none'; script-src 'self'; style-src 'sha256-{_STYLE_HASH}'; "
                                "connect-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; "
                                "frame-ancestors 'none'"),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}

BackendGetter = Callable[[], SearchBackend]


def page(title: str, body: str, query: str = "", hidden: Iterable[tuple[str, str]] = (), status_code: int = 200,
         *, script: bool = False, headers: Mapping[str, str] | None = None) -> HTMLResponse:
    """A page of the site, with its security headers."""
    return HTMLResponse(layout(title, body, query, hidden, script=script), status_code=status_code,
                        headers={**PAGE_HEADERS, **(headers or {})})


def key_page(refused: StarletteHTTPException) -> HTMLResponse:
    """The answer to a page asked for without the key: the form, and the script that sends the key as a header."""
    return page("kabar search: API key", KEY_FORM, status_code=401, script=True, headers=refused.headers)


def layout(title: str, body: str, query: str = "", hidden: Iterable[tuple[str, str]] = (), *,
           script: bool = False) -> str:
    fields = "".join(f'<input type="hidden" name="{esc(name)}" value="{esc(value)}">' for name, value in hidden)
    scripts = f'<script src="{SCRIPT_PATH}" defer></script>' if script else ""
    return (f'<!doctype html><html lang="id"><head><meta charset="utf-8"><title>{esc(title)}</title>'
            f'<meta name="viewport" content="width=device-width,initial-scale=1"><style>{_STYLE}</style>'
            f'{scripts}</head>'
            f'<body><header><a href="/"><strong>kabar</strong> search</a><nav><a href="/view/stories">Stories</a>'
            f'<a href="/view/stories?sort=growth">Growing</a></nav>'
            f'<form method="get" action="/" role="search"><input type="search" name="q" value="{esc(query)}" '
            f'placeholder="Kim Jong Un, &quot;harga beras&quot;, -gosip" aria-label="Search" autofocus>{fields}'
            f'<button type="submit">Search</button></form></header>{body}</body></html>')


def href(params: list[tuple[str, str]]) -> str:
    """A link to the search page with these parameters (always back to the first page)."""
    return "/?" + urlencode([(name, value) for name, value in params if name != "search_after"])


def router(backend: BackendGetter, security: ApiSecurity) -> APIRouter:
    """The pages, guarded like the JSON reads: they show the same articles."""
    pages = APIRouter(include_in_schema=False, dependencies=[Depends(security.require_read)],
                      route_class=keyed_route(key_page))

    @pages.get("/", response_class=HTMLResponse)
    def search_page(
        *,
        q: str = "",
        language: Annotated[list[str] | None, Query()] = None,
        source: Annotated[list[str] | None, Query()] = None,
        entity: Annotated[list[str] | None, Query()] = None,
        entity_id: Annotated[list[str] | None, Query()] = None,
        story_id: Annotated[list[str] | None, Query()] = None,
        date_from: Annotated[str | None, Query(alias="from")] = None,
        date_to: Annotated[str | None, Query(alias="to")] = None,
        sort: str = "relevance",
        search_after: str | None = None,
    ) -> HTMLResponse:
        params = _page_params(q, {"language": language, "source": source, "entity": entity,
                                  "entity_id": entity_id, "story_id": story_id}, date_from, date_to, sort)
        if not q.strip():
            return page("kabar search", _intro())
        return _results_page(backend(), params, search_after)

    @pages.get("/view/articles/{article_id:path}", response_class=HTMLResponse)
    def article_page(article_id: str) -> HTMLResponse:
        doc = backend().get(article_id)
        if doc is None:
            raise StarletteHTTPException(404, f"no article with id {article_id!r}")
        return page(doc["title"], _article(doc))

    @pages.get("/view/stories", response_class=HTMLResponse)
    def stories_page(params: Annotated[StoryListParameters, Depends()]) -> HTMLResponse:
        try:
            query = params.parsed()
        except QueryError as exc:
            body = f'<main><section><p class="error" role="alert">{esc(exc)}</p></section></main>'
            return page("kabar stories: invalid request", body, status_code=400)
        return page("Stories – kabar", story_pages.story_list(backend().stories(query), query))

    @pages.get("/view/stories/{story_id:path}", response_class=HTMLResponse)
    def story_page(story_id: str) -> HTMLResponse:
        found = backend().story(story_id, MAX_STORY_ARTICLES)
        if found is None:
            raise StarletteHTTPException(404, f"no story with id {story_id!r}")
        title = found.summary.headline if found.summary else f"Story {story_id}"
        return page(title, story_pages.story_timeline(found))

    return pages


def script_router() -> APIRouter:
    """The key form's script: open to all (it holds nothing), cached by the browser for an hour."""
    scripts = APIRouter(include_in_schema=False)

    @scripts.get(SCRIPT_PATH)
    def key_script() -> Response:
        return Response(SCRIPT, media_type="text/javascript; charset=utf-8",
                        headers={"Cache-Control": "max-age=3600", "X-Content-Type-Options": "nosniff"})

    return scripts


def _page_params(q: str, filters: dict[str, list[str] | None], date_from: str | None, date_to: str | None,
                 sort: str) -> list[tuple[str, str]]:
    params = [("q", q)]
    for name, values in filters.items():
        params += [(name, value) for value in values or []]
    params += [(name, value) for name, value in (("from", date_from), ("to", date_to)) if value]
    if sort == "date":
        params.append(("sort", "date"))
    return params


def _results_page(backend: SearchBackend, params: list[tuple[str, str]], search_after: str | None) -> HTMLResponse:
    values: dict[str, list[str]] = {}
    for name, value in params:
        values.setdefault(name, []).append(value)
    first = {name: found[0] for name, found in values.items()}
    request = SearchParameters(
        q=first["q"], language=values.get("language"), source=values.get("source"), entity=values.get("entity"),
        entity_id=values.get("entity_id"), story_id=values.get("story_id"), date_from=first.get("from"),
        date_to=first.get("to"),
        sort="date" if first.get("sort") == "date" else "relevance", collapse=True, facets=True, limit=PAGE_SIZE,
        search_after=search_after,
    )
    hidden = [(name, value) for name, value in params if name != "q"]
    try:
        query, options = request.parsed()
    except QueryError as exc:
        body = f'<main><section><p class="error" role="alert">{esc(exc)}</p></section></main>'
        return page("kabar search: invalid query", body, first["q"], hidden, status_code=400)
    result = backend.search(query, first["q"], PAGE_SIZE, options)
    body = f"<main>{_sidebar(result.facets, params)}{_results(result, params)}</main>"
    return page(f"{first['q']} – kabar search", body, first["q"], hidden)


def _intro() -> str:
    return ('<main><section><p>Search every indexed article: words are ANDed, <code>"quoted phrases"</code> match '
            'as phrases, <code>-word</code> excludes. Results come grouped by story.</p></section></main>')


def _sidebar(facets: Facets | None, params: list[tuple[str, str]]) -> str:
    parts = ['<aside aria-label="Filters">', _active_filters(params, _entity_names(facets)), _date_form(params)]
    if facets is not None:
        parts.append(_facet_list("Language", "language", facets.language, params))
        parts.append(_facet_list("Source", "source", facets.source, params))
        for label, heading in ENTITY_HEADINGS.items():
            parts.append(_facet_list(heading, "entity", facets.entities.get(label, []), params))
        dates = "".join(f"<li><span>{esc(bucket.start.isoformat())}</span><span>{bucket.count}</span></li>"
                        for bucket in facets.dates)
        parts.append(f'<h3>Dates (per {esc(facets.interval)})</h3><ul class="dates">{dates}</ul>')
    parts.append("</aside>")
    return "".join(parts)


def _entity_names(facets: Facets | None) -> dict[str, str]:
    """Entity id -> canonical name, from the facets (a filter shows the name, not the id)."""
    if facets is None:
        return {}
    return {bucket.id: bucket.value for buckets in facets.entities.values() for bucket in buckets}


def _active_filters(params: list[tuple[str, str]], entity_names: dict[str, str]) -> str:
    active = [(name, value) for name, value in params if name in (*FILTER_PARAMETERS, "from", "to")]
    if not active:
        return ""
    links = "".join(f'<a href="{esc(href([p for p in params if p != (name, value)]))}" title="remove this filter">'
                    f"{esc(_filter_label(name, value, entity_names))} ×</a>" for name, value in active)
    return f'<div class="active"><h3>Filters</h3>{links}</div>'


def _date_form(params: list[tuple[str, str]]) -> str:
    values = dict(params)
    kept = "".join(f'<input type="hidden" name="{esc(n)}" value="{esc(v)}">' for n, v in params
                   if n not in ("from", "to", "sort"))
    date_sort = " selected" if values.get("sort") == "date" else ""
    return (f'<form method="get" action="/" class="dates-form"><h3>Date range</h3>{kept}'
            f'<input type="date" name="from" value="{esc(values.get("from", ""))}" aria-label="from"> '
            f'<input type="date" name="to" value="{esc(values.get("to", ""))}" aria-label="to">'
            f'<h3>Sort</h3><select name="sort"><option value="relevance">relevance</option>'
            f'<option value="date"{date_sort}>newest first</option></select> <button type="submit">Apply</button>'
            f"</form>")


def _filter_label(name: str, value: str, entity_names: dict[str, str]) -> str:
    if name == "entity_id":
        return f"entity: {entity_names.get(value, value)}"
    return f"{name}: {value}"


def _facet_list(heading: str, parameter: str, buckets: Sequence[FacetBucket], params: list[tuple[str, str]]) -> str:
    """Facet links; an entity's filters on its id, so two entities of one name stay apart."""
    if not buckets:
        return ""
    items = "".join(
        f'<li><a href="{esc(href([*params, _facet_filter(parameter, bucket)]))}">{esc(bucket.value)}</a>'
        f"<span>{bucket.count}</span></li>" for bucket in buckets
    )
    return f'<h3>{esc(heading)}</h3><ul class="facet" data-facet="{esc(parameter)}">{items}</ul>'


def _facet_filter(parameter: str, bucket: FacetBucket) -> tuple[str, str]:
    return ("entity_id", bucket.id) if isinstance(bucket, EntityFacetBucket) else (parameter, bucket.value)


def _results(result: SearchResult, params: list[tuple[str, str]]) -> str:
    summary = (f'<p class="summary">{result.total} article(s) in {result.total_stories or 0} '
               f"story(ies) match <strong>{esc(result.query)}</strong></p>")
    stories = "".join(_story_card(hit) for hit in result.hits) or "<p>Nothing found.</p>"
    more = ""
    if result.next_search_after:
        next_page = href(params) + "&" + urlencode({"search_after": result.next_search_after})
        more = f'<p><a rel="next" href="{esc(next_page)}">More stories →</a></p>'
    return f'<section aria-label="Results">{summary}{stories}{more}</section>'


def _story_card(hit: SearchHit) -> str:
    title = marked(hit.title_highlight) if hit.title_highlight else esc(hit.title)
    date = hit.published_at.date().isoformat() if hit.published_at else "undated"
    count = hit.story_articles or 1
    coverage = (f'<a class="coverage" href="{esc(view("stories", hit.story_id))}">{count} article(s) in this story</a>'
                if count > 1 else '<span class="coverage">1 article in this story</span>')
    return (f'<article class="story" data-story="{esc(hit.story_id)}"><h2><a href="{esc(view("articles", hit.id))}">'
            f'{title}</a></h2><p class="meta">{esc(hit.source_domain or "unknown source")} · {esc(date)} · '
            f'{esc(hit.language)}</p><p class="snippet">{marked(hit.highlight)}</p>{coverage}</article>')


def _article(doc: dict[str, Any]) -> str:
    paragraphs = "".join(f"<p>{esc(part)}</p>" for part in str(doc["text"]).split("\n") if part.strip())
    meta = [esc(doc.get("source_domain") or "unknown source"), esc(doc.get("published_at") or "undated"),
            esc(doc["language"]), f"version {esc(doc.get('version', 1))}",
            f'<a href="{esc(view("stories", doc["story_id"]))}">the whole story</a>']
    url = str(doc.get("url") or "")
    if url.startswith(("http://", "https://")):  # never a javascript: or data: link
        meta.insert(0, f'<a href="{esc(url)}" rel="noopener noreferrer">original</a>')
    duplicate = ""
    if doc.get("duplicate_of"):
        duplicate = (f'<p class="dup">Near-copy of <a href="{esc(view("articles", doc["duplicate_of"]))}">'
                     "another article</a></p>")
    return (f'<main><aside>{_entity_lists(doc.get("entities", []))}</aside><article class="full">'
            f'<h1>{esc(doc["title"])}</h1><p class="meta">{" · ".join(meta)}</p>{duplicate}{paragraphs}'
            "</article></main>")


def _entity_lists(entities: list[dict[str, Any]]) -> str:
    names: dict[str, list[str]] = {}
    for entity in entities:
        found = names.setdefault(str(entity["label"]), [])
        if entity["canonical"] not in found:
            found.append(entity["canonical"])
    headings: dict[str, str] = {label: heading for label, heading in ENTITY_HEADINGS.items()}
    return "".join(f"<h3>{esc(headings.get(label, label))}</h3><p>{esc(', '.join(found))}</p>"
                   for label, found in sorted(names.items()))
