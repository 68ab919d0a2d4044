"""Canonical names for entity mentions: one name per country, city or person.

- Countries and cities come from ``models/names.tsv``, built from maintained data (CLDR
  country names in Indonesian, Malay and English; GeoNames cities and their alternate
  spellings) by ``training/build_names.py``: Korut / Korea Utara / DPRK -> North Korea,
  Moskwa / Moskow -> Moscow. A place name one letter away from a large place
  (Pyongjang -> Pyongyang) is matched too, when that is unambiguous.
- A country is a place whatever the recogniser labelled it ("Korut" tagged ORG).
- Personal names: transliteration variants of given names are folded (Sergey -> Sergei),
  and a bare surname or given name ("Lavrov") stands for the fuller name of the same
  person in the same article ("Sergei Lavrov").
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from kabar.contract.messages import Entity
from kabar_enrich.entities import EntitySpan

NAMES_PATH = Path(__file__).parent / "models" / "names.tsv"
FUZZY_MIN_CHARS = 7
_COUNTRY_KINDS = {"country", "country-alias"}
_PLACE_KINDS = _COUNTRY_KINDS | {"city"}


def name_key(text: str) -> str:
    """Case, accents, punctuation and spacing do not make another name."""
    decomposed = unicodedata.normalize("NFKD", text)
    letters = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join("".join(char if char.isalnum() else " " for char in letters.casefold()).split())


def tidy(surface: str) -> str:
    return " ".join(surface.split()).strip(" .,;:'\"“”‘’()")


def _deletions(key: str) -> set[str]:
    return {key[:i] + key[i + 1:] for i in range(len(key))}


@dataclass(frozen=True, slots=True)
class Place:
    name: str
    kind: str


class NameTable:
    def __init__(self, path: Path = NAMES_PATH) -> None:
        self._places: dict[str, Place] = {}
        self._person_parts: dict[str, str] = {}
        for line in path.read_text(encoding="utf-8").splitlines():
            key, canonical, kind = line.split("\t")
            if kind in _PLACE_KINDS:
                self._places[key] = Place(canonical, kind)
            else:
                self._person_parts[key] = canonical
        self._near: dict[str, set[str]] = {}
        for key, place in self._places.items():
            if len(key) >= FUZZY_MIN_CHARS and " " not in key:
                for variant in _deletions(key):
                    self._near.setdefault(variant, set()).add(place.name)

    def place(self, surface: str, fuzzy: bool) -> Place | None:
        key = name_key(surface)
        found = self._places.get(key)
        if found is not None or not fuzzy or len(key) < FUZZY_MIN_CHARS or " " in key:
            return found
        names = set().union(*(self._near.get(variant, set()) for variant in _deletions(key) | {key}))
        return Place(names.pop(), "city") if len(names) == 1 else None

    def person(self, surface: str) -> str:
        return " ".join(self._person_parts.get(name_key(part), part) for part in surface.split())


@lru_cache(maxsize=1)
def default_names() -> NameTable:
    return NameTable()


def canonicalise(spans: Sequence[EntitySpan], names: NameTable | None = None) -> list[Entity]:
    table = names or default_names()
    surfaces = [_proper_part(tidy(span.text) or span.text) for span in spans]
    # Names of people written out in full in this article: "Lavrov" alone means one of them.
    people = {table.person(_without_leading_places(surface, table))
              for span, surface in zip(spans, surfaces, strict=True) if span.label == "PER" and " " in surface}
    full_people = sorted(people, key=len, reverse=True)
    entities = []
    for span, surface in zip(spans, surfaces, strict=True):
        label, name = _resolve(span.label, surface, table, full_people)
        entities.append(Entity(text=span.text, label=label, start=span.start, end=span.end,
                               canonical=name))
    return entities


def _resolve(label: str, name: str, table: NameTable, full_people: list[str]) -> tuple[str, str]:
    single = " " not in name
    if label == "PER" and single:
        person = table.person(name)
        match = next((full for full in full_people if person in full.split()), None)
        if match is not None:
            return "PER", match
    place = table.place(name, fuzzy=label == "LOC" or (label == "PER" and single))
    # The recogniser sometimes calls a country an organisation ("Korut") or a city a person ("Moskwa").
    if place is not None and (label == "LOC" or (place.kind in _COUNTRY_KINDS and (label != "PER" or single))
                              or (label == "PER" and single)):
        return "LOC", place.name
    if label == "PER":
        return label, table.person(_without_leading_places(name, table))
    return label, name


def _proper_part(name: str) -> str:
    """Drop leading lower-case words: "kota pesisir Wonsan" names Wonsan."""
    words = name.split()
    while len(words) > 1 and words[0][:1].islower():
        words.pop(0)
    return " ".join(words)


def _without_leading_places(name: str, table: NameTable) -> str:
    """"Ukraina Volodymyr Zelenskyy" (a nationality before the name) is Volodymyr Zelenskyy."""
    words = name.split()
    while len(words) > 2 and table.place(words[0], fuzzy=False) is not None:
        words.pop(0)
    return " ".join(words)
