"""Same-story grouping: articles about one event share a ``story_id``, however reworded.

For each new article, in arrival order:
1. an article seen before keeps its story (a redelivered message gets the same answer);
2. a near-duplicate joins its original's story;
3. otherwise the candidate stories come from an index (``story_store``): stories sharing
   the article's strongest terms and names, last updated within ``window`` of its date,
   newest first and capped. The cost of a lookup does not grow with the archive;
4. each candidate is scored against the story so far -- the sums of its articles' vectors
   (a centroid), and the span of its articles' dates -- by ``StoryModel``: the article
   joins the best-scoring story when P(same event) >= ``join_probability``, else it
   starts a new story, named after itself.

Order matters, as in every single-pass clustering: an article is compared with the stories
that exist when it arrives, and joins at most one. Fed in another order, borderline articles
can end up in other stories; fed in the same order, the grouping is the same (ties go to the
larger, then the alphabetically first story). Pushing a backlog in publication order gives the
grouping closest to a live feed.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final, Protocol

from kabar_enrich.story_features import (
    StoryFeatures,
    StoryModel,
    Vector,
    default_model,
    dot,
    norm,
    strongest,
)

# What a story keeps of its articles: the strongest terms of each summed vector.
STORY_BODY_TERMS: Final = 40
STORY_LEAD_TERMS: Final = 30
STORY_NAME_TERMS: Final = 20
# Weights are stored to this many decimals: a story's state is about half as long.
STORED_DECIMALS: Final = 4
# The terms a story is indexed under, and those an article looks it up by.
INDEX_BODY_TERMS: Final = 10
INDEX_NAME_TERMS: Final = 6
LOOKUP_LEAD_TERMS: Final = 4
# Bounds on one lookup, whatever the archive's size: stories per term (newest first), stories scored.
POSTING_LIMIT: Final = 50
MAX_CANDIDATES: Final = 20
SECONDS_PER_DAY: Final = 86_400.0


@dataclass
class Story:
    """The grouping state of one story: summed unit vectors of its articles, its date span, its index terms."""

    story_id: str
    body: Vector = field(default_factory=dict)
    lead: Vector = field(default_factory=dict)
    names: Vector = field(default_factory=dict)
    first: datetime | None = None
    last: datetime | None = None
    seen: datetime | None = None  # when kabar received its latest article
    size: int = 0
    index_terms: list[str] = field(default_factory=list)

    def absorb(self, article: StoryFeatures) -> None:
        self.body = _add(self.body, article.body, STORY_BODY_TERMS)
        self.lead = _add(self.lead, article.lead, STORY_LEAD_TERMS)
        self.names = _add(self.names, article.names, STORY_NAME_TERMS)
        if article.moment is not None:
            self.first = min(self.first or article.moment, article.moment)
            self.last = max(self.last or article.moment, article.moment)
        if article.received is not None:
            self.seen = max(self.seen or article.received, article.received)
        self.size += 1
        self.index_terms = index_terms(self.body, self.names)

    @property
    def filed_at(self) -> datetime | None:
        """What the story's postings are scored by: its last date, else when its latest article arrived."""
        return self.last or self.seen

    def days_from(self, moment: datetime | None) -> float:
        """Days between ``moment`` and the story's span of dates (0 inside it, or when either is unknown)."""
        if moment is None or self.first is None or self.last is None:
            return 0.0
        if moment < self.first:
            return (self.first - moment).total_seconds() / SECONDS_PER_DAY
        return max(0.0, (moment - self.last).total_seconds() / SECONDS_PER_DAY)

    def encode(self) -> str:
        return json.dumps({"b": _rounded(self.body), "l": _rounded(self.lead), "n": _rounded(self.names),
                           "size": self.size,
                           "terms": self.index_terms, "first": _iso(self.first), "last": _iso(self.last),
                           "seen": _iso(self.seen)},
                          separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def decode(cls, story_id: str, raw: str | bytes) -> Story:
        data: dict[str, Any] = json.loads(raw)
        # A story stored before the lead and names vectors existed has one "vector": its body.
        return cls(story_id=story_id, body=data.get("b", data.get("vector", {})), lead=data.get("l", {}),
                   names=data.get("n", {}), size=int(data["size"]), index_terms=list(data["terms"]),
                   first=_moment(data.get("first")), last=_moment(data.get("last")),
                   seen=_moment(data.get("seen")))


def _add(total: Vector, vector: Mapping[str, float], keep: int) -> Vector:
    merged = Counter(total)
    merged.update(vector)
    return strongest(merged, keep)


def _rounded(vector: Vector) -> Vector:
    return {term: round(weight, STORED_DECIMALS) for term, weight in vector.items()}


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _moment(raw: str | None) -> datetime | None:
    return datetime.fromisoformat(raw) if raw else None


def index_terms(body: Mapping[str, float], names: Mapping[str, float]) -> list[str]:
    """The terms a story (or an article, as a lookup) is filed under: its strongest words and names."""
    terms = list(strongest(body, INDEX_BODY_TERMS)) + list(strongest(names, INDEX_NAME_TERMS))
    return list(dict.fromkeys(terms))


def lookup_terms(article: StoryFeatures) -> list[str]:
    """The terms an article looks for stories under: those it would be filed under, and its lead's strongest."""
    lead = list(strongest(article.lead, LOOKUP_LEAD_TERMS))
    return list(dict.fromkeys(index_terms(article.body, article.names) + lead))


def similarity(story_vector: Mapping[str, float], article_vector: Mapping[str, float]) -> float:
    """Cosine of a unit article vector with a story's summed (unnormalised) vector."""
    length = norm(story_vector)
    return dot(article_vector, story_vector) / length if length else 0.0


@dataclass(frozen=True, slots=True)
class Lookup:
    """What the store knows before an article is assigned."""

    known: str | None  # the story this article already has
    duplicate_story: Story | None  # the story of the article it is a near-duplicate of
    candidates: list[Story]


class StoryStore(Protocol):
    def lookup(self, article_id: str, duplicate_of: str | None, terms: list[str], moment: datetime | None,
               window: timedelta) -> Lookup:
        """In one go: the article's story if it has one, its original's story, and candidate stories
        filed under ``terms`` within ``window`` of ``moment`` (at any time when it is None), newest
        first, bounded."""

    def save(self, story: Story, article_id: str, old_terms: list[str]) -> str:
        """Record the story and the article's place in it; returns the article's story (the first answer wins)."""


class StoryGrouper:
    def __init__(self, store: StoryStore, join_probability: float, window: timedelta,
                 model: StoryModel | None = None) -> None:
        if not 0.0 < join_probability < 1.0:
            raise ValueError(f"join_probability must lie strictly between 0 and 1, not {join_probability}")
        self._store = store
        self._min_logit = StoryModel.logit_of(join_probability)
        self._window = window
        self._model = model or default_model()

    def assign(self, article_id: str, article: StoryFeatures, duplicate_of: str | None) -> str:
        found = self._store.lookup(article_id, duplicate_of, lookup_terms(article), article.moment, self._window)
        if found.known is not None:
            return found.known
        story = found.duplicate_story or self._best(article, found.candidates) or Story(story_id=article_id)
        old_terms = list(story.index_terms)
        story.absorb(article)
        return self._store.save(story, article_id, old_terms)

    def score(self, article: StoryFeatures, story: Story) -> float:
        """The log-odds that ``article`` reports the event of ``story``."""
        return self._model.logit(similarity(story.body, article.body), similarity(story.lead, article.lead),
                                 similarity(story.names, article.names), story.days_from(article.moment))

    def _best(self, article: StoryFeatures, candidates: list[Story]) -> Story | None:
        reach = self._window.total_seconds() / SECONDS_PER_DAY
        scored = [(self.score(article, story), story.size, story)
                  for story in sorted(candidates, key=lambda story: story.story_id)
                  if article.moment is None or story.days_from(article.moment) <= reach]
        # Highest score first; ties go to the larger story, then (max keeps the first) the alphabetically first id.
        best = max(scored, key=lambda item: (item[0], item[1]), default=None)
        return best[2] if best is not None and best[0] >= self._min_logit else None
