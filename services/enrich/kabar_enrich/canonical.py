"""Canonical names for entity mentions.

This first version collapses the variants any article shows on its own: spacing and
case, and a bare surname ("Lavrov") or given name that stands for a fuller name of the
same person in the same article ("Sergei Lavrov").
"""

from __future__ import annotations

from collections.abc import Sequence

from kabar.contract.messages import Entity
from kabar_enrich.entities import EntitySpan


def tidy(surface: str) -> str:
    return " ".join(surface.split()).strip(" .,;:'\"“”‘’()")


def canonicalise(spans: Sequence[EntitySpan]) -> list[Entity]:
    full_people = sorted({tidy(span.text) for span in spans if span.label == "PER" and " " in tidy(span.text)},
                         key=len, reverse=True)
    entities = []
    for span in spans:
        name = tidy(span.text) or span.text
        if span.label == "PER" and " " not in name:
            name = next((full for full in full_people if name in full.split()), name)
        entities.append(Entity(text=span.text, label=span.label,
                               start=span.start, end=span.end, canonical=name))
    return entities
