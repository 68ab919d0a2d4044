"""Canonical names: variants and aliases collapse to one name."""

from __future__ import annotations

import pytest

from kabar_enrich.canonical import canonicalise, name_key
from kabar_enrich.entities import EntitySpan


def canon(*mentions: tuple[str, str]) -> list[tuple[str, str]]:
    text = " ".join(surface for surface, _ in mentions)
    spans, offset = [], 0
    for surface, label in mentions:
        start = text.index(surface, offset)
        spans.append(EntitySpan(text=surface, label=label, start=start, end=start + len(surface)))
        offset = start + len(surface)
    return [(entity.label, entity.canonical) for entity in canonicalise(spans)]


@pytest.mark.parametrize("surface", ["Korut", "Korea Utara", "North Korea", "DPRK"])
def test_north_korea_variants(surface: str) -> None:
    assert canon((surface, "LOC")) == [("LOC", "North Korea")]


@pytest.mark.parametrize(("surface", "expected"), [
    ("Pyongyang", "Pyongyang"), ("Pyongjang", "Pyongyang"), ("Moskow", "Moscow"), ("Moskwa", "Moscow"),
    ("Moscow", "Moscow"), ("Rusia", "Russia"), ("Amerika Serikat", "United States"), ("AS", "United States"),
    ("Amerika Syarikat", "United States"),
])
def test_places_from_maintained_data(surface: str, expected: str) -> None:
    assert canon((surface, "LOC")) == [("LOC", expected)]


def test_a_country_labelled_as_an_organisation_is_a_place() -> None:
    assert canon(("Korut", "ORG")) == [("LOC", "North Korea")]


def test_a_city_labelled_as_a_person_is_a_place() -> None:
    assert canon(("Moskwa", "PER")) == [("LOC", "Moscow")]


def test_transliterations_and_bare_surnames_of_one_person() -> None:
    assert canon(("Sergey Lavrov", "PER"), ("Lavrov", "PER")) == [("PER", "Sergei Lavrov"), ("PER", "Sergei Lavrov")]
    assert canon(("Sergei Lavrov", "PER")) == [("PER", "Sergei Lavrov")]
    assert canon(("Lavrov", "PER")) == [("PER", "Lavrov")]  # no full name in this article: left as written


def test_descriptors_and_nationalities_are_not_part_of_the_name() -> None:
    assert canon(("kota pesisir Wonsan", "LOC")) == [("LOC", "Wŏnsan")]  # GeoNames' spelling
    assert canon(("Ukraina Volodymyr Zelenskyy", "PER")) == [("PER", "Volodymyr Zelensky")]


def test_unknown_names_are_kept_tidy() -> None:
    assert canon(("  Kementerian Luar Negeri  Rusia ", "ORG")) == [("ORG", "Kementerian Luar Negeri Rusia")]


def test_name_key_folds_case_accents_and_punctuation() -> None:
    assert name_key("Wŏnsan") == name_key("WONSAN") == "wonsan"
    assert name_key("P'yongyang") == "p yongyang"
