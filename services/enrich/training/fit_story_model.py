"""Fit the story model (``kabar_enrich/models/story_model.json``) on the labelled dev pairs.

Reads ``../shared/eval/story/pairs.jsonl`` (the dev half; the other half is held out) and the
IndoSum articles they name in ``../shared/corpus/indosum.jsonl``, prepares each article as the
push API and the enrich stage would (cleaning, language, canonical entities, date), and fits a
logistic regression of "same event" on the four things ``StoryModel`` weighs: the cosines of
the body, lead and names vectors, and the days between the two articles. Five numbers; an L2
penalty (``PENALTY``) keeps them from chasing single pairs. Pairs marked unsure are left out.

    python services/enrich/training/fit_story_model.py

Deterministic: the output depends only on the two files and the shipped models.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

ROOT = Path(__file__).resolve().parents[3]
SHARED = ROOT.parent / "shared"
PAIRS = SHARED / "eval" / "story" / "pairs.jsonl"
CORPUS = SHARED / "corpus" / "indosum.jsonl"
OUTPUT = ROOT / "services" / "enrich" / "kabar_enrich" / "models" / "story_model.json"
PENALTY = 0.1  # L2 on the weights (not the bias): scikit-learn's C = 10
FEATURES = ("body", "lead", "names", "per_day")

for folder in ("src", "services/ingest", "services/enrich"):
    sys.path.insert(0, str(ROOT / folder))

from kabar_enrich.stories import Story, similarity  # noqa: E402
from kabar_enrich.story_features import StoryFeatures, StoryModel  # noqa: E402


@dataclass(frozen=True, slots=True)
class Prepared:
    """One corpus article as the enrich stage sees it, and what the story grouper needs of it."""

    corpus_id: str
    article_id: str
    features: StoryFeatures
    duplicate_of: str | None


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def scored_pairs() -> list[dict[str, Any]]:
    return [pair for pair in read_jsonl(PAIRS) if not pair.get("unsure")]


def pair_articles(pairs: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The corpus rows the pairs name, in publication order (the order the scoring protocol pushes them)."""
    wanted = {pair[side] for pair in pairs for side in ("a", "b")}
    rows = [row for row in read_jsonl(CORPUS) if row["id"] in wanted]
    return sorted(rows, key=lambda row: (row["date_from_id"], row["id"]))


def as_pushed(row: dict[str, Any]) -> Any:
    """The article the ingest stage makes of a pushed corpus row (url = source_url, its date)."""
    from kabar.contract.messages import RawDocument  # noqa: PLC0415
    from kabar_ingest.stage import build_article  # noqa: PLC0415

    published = datetime.fromisoformat(row["date_from_id"].replace("Z", "+00:00"))
    return build_article(RawDocument(source="push", format="text", content=row["text"], url=row["source_url"],
                                     published_at=published))


def prepare(rows: Sequence[dict[str, Any]]) -> list[Prepared]:
    """Enrich the rows in order with the enrich stage itself (fresh state), keeping what the story grouper is given."""
    from kabar.contract.settings import KabarSettings  # noqa: PLC0415
    from kabar_enrich.stage import build_enricher  # noqa: PLC0415
    from kabar_enrich.story_features import default_vectorizer  # noqa: PLC0415

    enricher = build_enricher(KabarSettings(mode="embedded"), sqlite_path=Path(":memory:"))
    prepared = []
    for row in rows:
        article = as_pushed(row)
        enriched = enricher.enrich(article)
        features = default_vectorizer().features(article.title, article.text,
                                                 [entity.canonical for entity in enriched.entities],
                                                 enriched.published_at, article.received_at)
        prepared.append(Prepared(row["id"], article.id, features, enriched.duplicate_of))
    return prepared


def pair_features(earlier: StoryFeatures, later: StoryFeatures) -> list[float]:
    """What StoryModel weighs, for a story of one article (``earlier``) and a newcomer (``later``)."""
    story = Story(story_id="pair")
    story.absorb(earlier)
    return [similarity(story.body, later.body), similarity(story.lead, later.lead),
            similarity(story.names, later.names), story.days_from(later.moment)]


def fit(rows: Sequence[Sequence[float]], labels: Sequence[int], penalty: float = PENALTY) -> StoryModel:
    """L2-penalised logistic regression by Newton's method (a handful of iterations for five numbers)."""
    x = np.hstack([np.ones((len(rows), 1)), np.asarray(rows, dtype=np.float64)])
    y = np.asarray(labels, dtype=np.float64)
    ridge = np.diag([0.0] + [penalty] * (x.shape[1] - 1))
    w: npt.NDArray[np.float64] = np.zeros(x.shape[1])
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-x @ w))
        gradient = x.T @ (p - y) + ridge @ w
        hessian = (x.T * (p * (1 - p))) @ x + ridge
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if float(np.max(np.abs(step))) < 1e-10:
            break
    # days enter the model with a minus sign: per_day is the penalty per day apart
    return StoryModel(bias=float(w[0]), body=float(w[1]), lead=float(w[2]), names=float(w[3]), per_day=float(-w[4]))


def fit_on(pairs: Sequence[dict[str, Any]], prepared: dict[str, Prepared]) -> StoryModel:
    rows = [pair_features(prepared[pair["a"]].features, prepared[pair["b"]].features) for pair in pairs]
    return fit(rows, [int(pair["same"]) for pair in pairs])


def main() -> None:
    if not PAIRS.exists() or not CORPUS.exists():
        print(f"skipped: {PAIRS} or {CORPUS} not found")
        return
    pairs = scored_pairs()
    prepared = {item.corpus_id: item for item in prepare(pair_articles(pairs))}
    model = fit_on(pairs, prepared)
    weights = {name: round(getattr(model, name), 4) for name in ("bias", *FEATURES)}
    OUTPUT.write_text(json.dumps({
        "description": "P(same event) = logistic(bias + body*cos_body + lead*cos_lead + names*cos_names "
                       "- per_day*days apart); see kabar_enrich.story_features",
        "trained_on": "../shared/eval/story/pairs.jsonl (dev half, unsure pairs left out) over IndoSum articles "
                      "(CC-BY-SA 4.0); fitted by services/enrich/training/fit_story_model.py",
        "pairs": len(pairs), "same": sum(int(pair["same"]) for pair in pairs), "l2_penalty": PENALTY,
        "weights": weights,
    }, indent=2) + "\n", encoding="utf-8")
    print(f"{len(pairs)} pairs -> {OUTPUT.relative_to(ROOT)}: {weights}")


if __name__ == "__main__":
    main()
