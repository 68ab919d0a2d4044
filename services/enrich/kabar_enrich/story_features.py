"""What the story grouper knows of an article, and how it weighs the evidence.

An article becomes three weighted term vectors and a time:
- ``body``: TF-IDF of the words of the title and text (document frequencies from a news
  corpus, ``models/idf.json``), its strongest ``BODY_TERMS`` terms;
- ``lead``: the same over the title and the first ``LEAD_WORDS`` words of the text only:
  who, what, where and when are told there, so it counts above the body;
- ``names``: the words of its canonical entity names (people, places, organisations), IDF
  weighted. Canonical names are shared across languages ("Korea Utara" and "North Korea"
  are both "North Korea"), and so are numbers ("1.500" and "1,500" are both "1500"): these
  are what lets an English, a Malay and an Indonesian report of one event meet.
- ``moment``: when it was published (``None`` when nothing tells), and ``received``: when kabar
  got it, which files a story none of whose articles has a date.

``StoryModel`` turns the similarities of an article to a story into the probability that
it reports the same event: a logistic function of the three cosines and of the days between
the article and the story's span. Its five numbers are fitted by
``training/fit_story_model.py`` on the labelled dev pairs and shipped in
``models/story_model.json``.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Final

from kabar_enrich.fingerprint import words
from kabar_enrich.loader import shared

MODELS: Final = Path(__file__).parent / "models"
IDF_PATH: Final = MODELS / "idf.json"
MODEL_PATH: Final = MODELS / "story_model.json"
BODY_TERMS: Final = 40
LEAD_TERMS: Final = 30
NAME_TERMS: Final = 20
LEAD_WORDS: Final = 60
NUMBER_PREFIX: Final = "#"
# Separators dropped: "1.500" (Indonesian, Malay) and "1,500" (English) are both "1500", and so are
# "2,5" and "2.5" ("25"). Short numbers (days, ages, scores) and years are too common to tell events apart.
_NUMBER: Final = re.compile(r"\d(?:[\d.,]*\d)?")
_YEAR: Final = re.compile(r"^(?:19|20)\d\d$")
MIN_NUMBER_DIGITS: Final = 3

Vector = dict[str, float]


def norm(vector: Mapping[str, float]) -> float:
    return math.sqrt(sum(weight * weight for weight in vector.values()))


def normalise(vector: Mapping[str, float]) -> Vector:
    length = norm(vector)
    return {term: weight / length for term, weight in vector.items()} if length else {}


def dot(left: Mapping[str, float], right: Mapping[str, float]) -> float:
    small, large = (left, right) if len(left) <= len(right) else (right, left)
    return sum(weight * large.get(term, 0.0) for term, weight in small.items())


def strongest(vector: Mapping[str, float], count: int) -> Vector:
    """The ``count`` heaviest terms; ties go to the alphabetically first, so the result is deterministic."""
    return dict(sorted(vector.items(), key=lambda item: (-item[1], item[0]))[:count])


def numbers_in(text: str) -> list[str]:
    """Amounts, counts and scores' large numbers, separators dropped; years left out."""
    found = (match.replace(".", "").replace(",", "") for match in _NUMBER.findall(text))
    return [number for number in found if len(number) >= MIN_NUMBER_DIGITS and not _YEAR.match(number)]


@dataclass(frozen=True, slots=True)
class StoryFeatures:
    """One article, as the grouper compares it (unit vectors)."""

    body: Vector
    lead: Vector
    names: Vector
    moment: datetime | None
    received: datetime | None = None


class StoryVectorizer:
    """TF-IDF over words; entity names and numbers as a third vector."""

    def __init__(self, idf_path: Path = IDF_PATH) -> None:
        table = json.loads(idf_path.read_text(encoding="utf-8"))
        self._documents = int(table["documents"])
        self._df: dict[str, int] = table["df"]

    def idf(self, term: str) -> float:
        return math.log((self._documents + 1) / (self._df.get(term, 0) + 1))

    def features(self, title: str, text: str, entity_names: Iterable[str], moment: datetime | None,
                 received: datetime | None = None) -> StoryFeatures:
        title_words, text_words = words(title), words(text)
        return StoryFeatures(
            body=self._tfidf(title_words + text_words, BODY_TERMS),
            lead=self._tfidf(title_words + text_words[:LEAD_WORDS], LEAD_TERMS),
            names=self._names(entity_names, numbers_in(f"{title}\n{text}")),
            moment=moment,
            received=received,
        )

    def _tfidf(self, tokens: list[str], count: int) -> Vector:
        counts = Counter(word for word in tokens if len(word) > 2 and not word.isdigit())
        weights = {word: (1.0 + math.log(seen)) * self.idf(word) for word, seen in counts.items()}
        return normalise(strongest(weights, count))

    def _names(self, entity_names: Iterable[str], numbers: list[str]) -> Vector:
        counts = Counter(word for name in entity_names for word in words(name) if len(word) > 1)
        counts.update(NUMBER_PREFIX + number for number in numbers)
        weights = {term: (1.0 + math.log(seen)) * self.idf(term) for term, seen in counts.items()}
        return normalise(strongest(weights, NAME_TERMS))


def default_vectorizer() -> StoryVectorizer:
    """This process' vectorizer (``kabar_enrich.loader``: built once, shared)."""
    return shared(StoryVectorizer)


@dataclass(frozen=True, slots=True)
class StoryModel:
    """P(same event) = logistic(bias + body·cos + lead·cos + names·cos - per_day·days apart)."""

    bias: float
    body: float
    lead: float
    names: float
    per_day: float

    def logit(self, body: float, lead: float, names: float, days: float) -> float:
        return self.bias + self.body * body + self.lead * lead + self.names * names - self.per_day * days

    @staticmethod
    def logit_of(probability: float) -> float:
        return math.log(probability / (1.0 - probability))

    @classmethod
    def load(cls, path: Path = MODEL_PATH) -> StoryModel:
        weights = json.loads(path.read_text(encoding="utf-8"))["weights"]
        return cls(**{name: float(weights[name]) for name in ("bias", "body", "lead", "names", "per_day")})


@lru_cache(maxsize=1)
def default_model() -> StoryModel:
    return StoryModel.load()
