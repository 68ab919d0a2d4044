"""Articles that several test files index, search and match: one place, so they stay the same everywhere.

- ``news`` and ``NEWSROOM``: ten enriched articles over four stories, three languages and four
  sources, for the search contract (filters, facets, stories, pages) and watchlist matching;
- ``seed_articles``: the five seeds in ``seeds/`` as the enrich stage would hand them over, with
  entities from a small gazetteer and explicit stories.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime

from conftest import SEEDS
from kabar.contract.messages import EnrichedArticle, Entity, EntityLabel


def news(article_id: str, title: str, text: str, story: str, *, language: str = "id", source: str | None = None,
         published: datetime | None = None, entities: Sequence[tuple[EntityLabel, str]] = (),
         duplicate_of: str | None = None, content_hash: str | None = None) -> EnrichedArticle:
    """An article whose entities are (label, canonical) pairs found in its text or title."""
    found = []
    for label, name in entities:
        start = text.find(name)
        found.append(Entity(text=name, label=label, start=max(start, 0), end=max(start, 0) + len(name),
                            canonical=name))
    return EnrichedArticle(
        id=article_id, title=title, text=text, content_hash=content_hash or f"hash-{article_id}",
        url=f"https://{source}/{article_id}" if source else None, source_domain=source,
        published_at=published, received_at=datetime(2025, 7, 20, 8, tzinfo=UTC), language=language,
        language_confidence=0.97, entities=found, fingerprint="AAAA", duplicate_of=duplicate_of, story_id=story,
    )


def day(d: int, month: int = 7, hour: int = 9) -> datetime:
    return datetime(2025, month, d, hour, tzinfo=UTC)


Named = tuple[EntityLabel, str]  # (label, canonical name)
KIM: Named = ("PER", "Kim Jong Un")
LAVROV: Named = ("PER", "Sergei Lavrov")
WONSAN: Named = ("LOC", "Wonsan")
RUSIA: Named = ("LOC", "Rusia")
KCNA: Named = ("ORG", "KCNA")
JAKARTA: Named = ("LOC", "Jakarta")
BULOG: Named = ("ORG", "Bulog")
NEWSROOM = [
    news("n01", "Lavrov bertemu Kim Jong Un di Wonsan", "Berita: Sergei Lavrov bertemu Kim Jong Un di Wonsan.",
         "story-a", source="detik.com", published=day(12), entities=[KIM, LAVROV, WONSAN]),
    news("n02", "Kim Jong Un dukung Rusia", "Berita: Kim Jong Un mendukung Rusia, lapor KCNA.", "story-a",
         source="cnnindonesia.com", published=day(13), entities=[KIM, RUSIA, KCNA]),
    news("n03", "Kim Jong Un dukung Rusia", "Berita: Kim Jong Un mendukung Rusia, lapor KCNA.", "story-a",
         source="kompas.com", published=day(13, hour=11), entities=[KIM, RUSIA, KCNA], duplicate_of="n02"),
    news("n04", "Kremlin talks in Wonsan", "Berita in English: Sergei Lavrov met Kim Jong Un in Wonsan.",
         "story-a", language="en", source="reuters.com", published=day(12, hour=15), entities=[KIM, LAVROV, WONSAN]),
    news("n05", "Kim Jong Un tinjau pabrik rudal", "Berita: Kim Jong Un meninjau pabrik rudal, kata KCNA.",
         "story-b", source="detik.com", published=day(1, month=8), entities=[KIM, KCNA]),
    news("n06", "Harga beras naik di Jakarta", "Berita: harga beras di Jakarta naik, Bulog menambah stok.",
         "story-c", source="kompas.com", published=day(30, month=6), entities=[JAKARTA, BULOG]),
    news("n07", "Bulog tambah stok beras", "Berita: Bulog menambah stok beras di Jakarta.", "story-c",
         source="detik.com", published=None, entities=[JAKARTA, BULOG]),
    news("n08", "Banjir di Jakarta", "Berita: banjir melanda Jakarta utara.", "story-d", source="detik.com",
         published=day(2, month=8), entities=[JAKARTA]),
    news("n09", "Rusia uji rudal", "Berita: Rusia menguji rudal baru.", "story-e", source="reuters.com",
         published=day(5, month=8), entities=[RUSIA]),
    news("n10", "Kim Jong Un dan rudal baru", "Berita: Kim Jong Un memamerkan rudal baru.", "story-b",
         source="cnnindonesia.com", published=day(2, month=8, hour=7), entities=[KIM]),
]


# A small gazetteer for the seeds: (label, canonical, spellings in the text).
GAZETTEER = [
    ("PER", "Kim Jong Un", ["Kim Jong Un"]), ("PER", "Sergei Lavrov", ["Sergei Lavrov", "Sergey Lavrov"]),
    ("PER", "Vladimir Putin", ["Vladimir Putin"]), ("LOC", "Korea Utara", ["Korea Utara"]),
    ("LOC", "Rusia", ["Rusia"]), ("LOC", "Ukraina", ["Ukraina"]), ("LOC", "Wonsan", ["Wonsan"]),
    ("ORG", "KCNA", ["KCNA"]), ("ORG", "TASS", ["TASS"]),
]
SEED_STORIES = {"000": "story-lavrov-visit", "001": "story-lavrov-visit", "002": "story-lavrov-visit",
                "003": "story-lavrov-visit", "004": "story-inews"}
SEED_SOURCES = {"000": "detik.com", "001": "voaindonesia.com", "002": "5blogger.id", "003": "idntimes.com",
                "004": "inews.id"}


def seed_articles() -> list[EnrichedArticle]:
    """The five seeds as the enrich stage would hand them over, with explicit stories."""
    articles = []
    for path in sorted(SEEDS.glob("*.txt")):
        number = path.name[:3]
        lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        title, text = lines[0], "\n".join(lines[1:])
        entities = [Entity(text=spelling, label=label, start=match.start(), end=match.end(), canonical=canonical)
                    for label, canonical, spellings in GAZETTEER for spelling in spellings
                    for match in re.finditer(re.escape(spelling), text)]
        articles.append(EnrichedArticle(
            id=f"seed-{number}", url=f"https://{SEED_SOURCES[number]}/{path.stem}", source_domain=SEED_SOURCES[number],
            title=title, text=text, content_hash=f"hash-{path.stem}", published_at=datetime(2025, 7, 12, tzinfo=UTC),
            received_at=datetime(2025, 7, 12, 6, tzinfo=UTC), language="id", language_confidence=0.99,
            entities=entities, fingerprint="AAAA", story_id=SEED_STORIES[number],
            duplicate_of="seed-002" if number == "003" else None,
        ))
    return articles
