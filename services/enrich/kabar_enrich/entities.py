"""Named-entity recognition (PER / ORG / LOC / MISC) for Indonesian, Malay and English news.

The models are linear-chain CRFs trained with crfsuite by ``services/enrich/training/train_ner.py``
on the corpora credited in ``models/NOTICE``, and decoded here with numpy (``kabar_enrich.crf``).
Everything runs offline. The features (``kabar_enrich.ner_features``) are shared with the training
script so that training and run time can never drift apart.

Why it is cheap: a CRF's score for a token is a sum of weights, and most of the terms depend on one
word only (the token's own features and those its neighbours lend it). The recogniser adds those
up once per distinct word and keeps the sums, so an article costs a few array look-ups per token,
a handful of per-token sentence features (gazetteer, capitalised runs, bigrams) and one Viterbi
pass over all its sentences at once.

Tokenisation keeps character offsets and follows the training data:

* punctuation is split off (``"(Jokowi)"`` -> ``(`` ``Jokowi`` ``)``);
* hyphens are ALWAYS split: ``"Rusia-Ukraina"`` -> ``Rusia`` ``-`` ``Ukraina`` so that both countries
  can be found as separate LOC entities (NERGrit tokenises every hyphen this way, and the training
  script re-tokenises idner-news-2k to match). A multi-token name such as ``"Al-Qaeda"`` still comes
  back as one span whose text is the original ``"Al-Qaeda"``;
* URLs, @handles, #hashtags, numbers such as ``12/7/2025`` or ``1.250,5``, dotted initialisms
  (``U.S.``) and news domains (``Tribunnews.com``) stay one token.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from kabar_enrich.crf import FloatArray, LinearChainModel
from kabar_enrich.ner_features import OFFSETS, FeatureExtractor, document_features

#: Further features per token of each sentence (see SentenceTagger.tag).
Extra = Sequence[Sequence[Sequence[str]]]

__all__ = [
    "MAX_CHARS",
    "DocumentTagger",
    "EntityRecognizer",
    "EntitySpan",
    "SentenceTagger",
    "Token",
    "bio_to_spans",
    "split_sentences",
    "tokenize",
]

#: Only the first MAX_CHARS characters of a text are analysed. A long news article is ~10k
#: characters; this bounds the work (and latency) of pathological inputs such as a 1 MB paste.
MAX_CHARS = 50_000
#: Sentences longer than this are cut into chunks: CRF decoding is linear, but feature memory per
#: sequence is not free and real sentences are far shorter.
MAX_SENTENCE_TOKENS = 150

DEFAULT_MODEL_DIR = Path(__file__).resolve().parent / "models"
# Written by the trainer in kabar_enrich.crf's format (gzipped, deterministic).
MODEL_FILES = {"id": "ner_id.crf.gz", "en": "ner_en.crf.gz"}
# Optional second-pass models, which also read document features (see DocumentTagger).
SECOND_PASS_FILES = {"id": "ner_id_document.crf.gz", "en": "ner_en_document.crf.gz"}
# ISO 639-1 code -> model key. Malay is close enough to Indonesian for names and titles.
LANGUAGE_MODELS = {"id": "id", "ms": "id", "en": "en"}
LABELS = frozenset({"PER", "ORG", "LOC", "MISC"})

# The token kinds, in order of precedence (the first that matches at a position wins).
SPLIT_RULES = r"""
      https?://\S+ | www\.\S+                          # URLs stay whole
    | [@\#][^\W_][\w]*                                  # @handles and #hashtags
    | (?:[^\W\d_]\.){2,}                                # initialisms: U.S. N.M.
    | [^\W_]+(?:\.[^\W_]+)*\.(?:com|co\.id|id|net|org|go\.id)\b  # news domains: Tribunnews.com
    | \d+(?:[.,:/]\d+)*                                 # 12/7/2025, 1.250,5, 10:30
    | [^\W\d_]+(?=n't\b)                                # English "do|n't"
    | n't\b | '(?:s|re|ve|ll|d|m)\b                     # English clitics, as in the corpora
    | [^\W_]+                                           # words (letters and digits, any script)
    | \S                                                # any other single character
    """
SPLIT_FLAGS = re.VERBOSE | re.IGNORECASE
# Most tokens are plain words. A word that starts with a letter and is followed by none of . : ' is what the
# alternatives above would make of it too (no URL, initialism, domain or clitic can start there), so it is matched
# first, at once: the alternatives cost ~0.2 ms more per article, scanning each word three times.
_PLAIN_WORD = r"[^\W\d_][^\W_]*+(?![.:'\w])"
_TOKEN_RE = re.compile(f"{_PLAIN_WORD} | {SPLIT_RULES}", SPLIT_FLAGS)
# Tokens after which a full stop does not end a sentence.
_ABBREVIATIONS = frozenset(
    {"dr", "drs", "ir", "jl", "jln", "h", "hj", "prof", "st", "mr", "mrs", "ms", "no", "vs", "kec", "kab"}
)
_SENTENCE_END = frozenset({".", "!", "?"})
_OPENERS = frozenset({'"', "“", "'", "‘", "(", "["})


@dataclass(frozen=True, slots=True)
class EntitySpan:
    """One recognised entity; ``text == source_text[start:end]`` always holds."""

    text: str
    label: str  # "PER" | "ORG" | "LOC" | "MISC"
    start: int  # char offset into the input text
    end: int


class Token(NamedTuple):
    """A token and its character offsets (a NamedTuple: cheaper to create than a dataclass)."""

    text: str
    start: int
    end: int


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens carrying exact character offsets (see module docstring)."""
    return [Token(m.group(), m.start(), m.end()) for m in _TOKEN_RE.finditer(text)]


def split_sentences(text: str, tokens: Sequence[Token]) -> list[list[Token]]:
    """Group tokens into sentences: at line breaks, and after . ! ? followed by a capital/opener.

    A full stop after a known abbreviation or a single capital letter (an initial) does not split.
    """
    sentences: list[list[Token]] = []
    current: list[Token] = []
    for i, token in enumerate(tokens):
        if current and "\n" in text[current[-1].end : token.start]:
            sentences.append(current)
            current = []
        current.append(token)
        if len(current) >= MAX_SENTENCE_TOKENS or _ends_sentence(tokens, i):
            sentences.append(current)
            current = []
    if current:
        sentences.append(current)
    return sentences


def _ends_sentence(tokens: Sequence[Token], i: int) -> bool:
    if tokens[i].text not in _SENTENCE_END or i + 1 >= len(tokens) or i == 0:
        return False
    before, after = tokens[i - 1].text, tokens[i + 1].text
    if tokens[i + 1].start == tokens[i].end:  # "3.5", "kumparan.com" glued: not a boundary
        return False
    if before.lower() in _ABBREVIATIONS or (len(before) == 1 and before.isupper()):
        return False
    return after[0].isupper() or after[0].isdigit() or after in _OPENERS


_CLOSERS = {")": "(", "]": "[", "”": "“", "’": "‘"}
_STRAY_MARKS = frozenset({",", ";", ":", '"', "'", *_CLOSERS, *_CLOSERS.values()})


def _without_stray_marks(sentence: Sequence[Token], first: int, last: int) -> tuple[int, int]:
    """Drop marks the tagger took in at an entity's edges: "(Walhi)" tagged as far as its ")" is "Walhi".
    A closing bracket whose opener is inside the entity stays ("Partai Golongan Karya (Golkar)")."""
    while first < last and sentence[first].text in _STRAY_MARKS:
        first += 1
    while first < last:
        mark = sentence[last - 1].text
        opener = _CLOSERS.get(mark)
        if mark not in _STRAY_MARKS or (opener is not None
                                        and any(token.text == opener for token in sentence[first:last - 1])):
            break
        last -= 1
    return first, last


def bio_to_spans(tags: Sequence[str]) -> Iterator[tuple[str, int, int]]:
    """Yield (label, first_token, last_token_exclusive); a stray I-X opens an entity (seqeval's rule)."""
    label, begin = "", -1
    for i, tag in enumerate((*tags, "O")):
        prefix, _, kind = tag.partition("-")
        if label and (prefix != "I" or kind != label):
            yield label, begin, i
            label = ""
        if prefix in ("B", "I") and not label:
            label, begin = kind, i


class WordScores:
    """Per-word sums of a model's state weights, kept for the words seen so far.

    A word's row in :meth:`table` holds, label by label, what its own features add to its score,
    then what the features it lends add to the token :data:`OFFSETS` ``[slot]`` positions away,
    for each slot in turn.
    """

    #: Words kept before starting afresh: bounds memory (~15 MB a language) on any input.
    LIMIT = 50_000

    def __init__(self, model: LinearChainModel, features: FeatureExtractor, limit: int = LIMIT) -> None:
        self._model, self._features, self._limit = model, features, limit
        self._rows: dict[str, int] = {}
        self._lowers: list[str] = []
        self._weights = np.vstack([model.state_weights, np.zeros((1, len(model.labels)))])
        width = (1 + len(OFFSETS)) * len(model.labels)
        self._table = np.zeros((1024, width))

    def rows(self, words: Sequence[str]) -> tuple[list[int], list[str]]:
        """Each word's row in the table (computed for new words) and its lower-cased form."""
        if len(self._rows) + len(words) > self._limit:
            self._rows.clear()
            self._lowers.clear()
        known = self._rows
        new = [w for w in dict.fromkeys(words) if w not in known]
        if new:
            self._add(new)
        rows = [known[w] for w in words]
        lowers = self._lowers
        return rows, [lowers[r] for r in rows]

    def table(self) -> FloatArray:
        """One row per cached word: own scores, then the scores lent at each of OFFSETS."""
        return self._table

    def __len__(self) -> int:
        return len(self._rows)

    def _add(self, words: Sequence[str]) -> None:
        """Score new words all at once: one gather and one segmented sum over the weight rows."""
        attribute_rows = self._model.attribute_rows
        nothing = len(self._model.state_weights)  # a zero row, so that no segment is empty
        flat: list[int] = []
        starts: list[int] = []
        for word in words:
            own, lent, lower = self._features.word_features(word)
            for feats in (own, *lent):
                starts.append(len(flat))
                flat.append(nothing)
                flat.extend(attribute_rows[f] for f in feats if f in attribute_rows)
            self._rows[word] = len(self._lowers)
            self._lowers.append(lower)
        sums = np.add.reduceat(self._weights[flat], starts, axis=0).reshape(len(words), -1)
        first = len(self._lowers) - len(words)
        while len(self._lowers) > len(self._table):
            self._table = np.vstack([self._table, np.zeros_like(self._table)])
        self._table[first : len(self._lowers)] = sums


class SentenceTagger:
    """One language's model, features and word-score cache."""

    def __init__(self, model: LinearChainModel, features: FeatureExtractor) -> None:
        self.model, self.features = model, features
        self.scores = WordScores(model, features)

    def tag(self, sentences: Sequence[Sequence[str]], extra: Extra | None = None) -> list[list[str]]:
        """BIO2 tags of each sentence (all decoded in one Viterbi pass); [] for an empty one.

        ``extra`` gives further sentence-level features per token of each sentence (the document
        features of a second pass)."""
        keep = [i for i, s in enumerate(sentences) if s]
        found = self._tag([sentences[i] for i in keep], None if extra is None else [extra[i] for i in keep])
        tags: list[list[str]] = [[] for _ in sentences]
        for i, sentence_tags in zip(keep, found, strict=True):
            tags[i] = sentence_tags
        return tags

    def _tag(self, sentences: Sequence[Sequence[str]], extra: Extra | None) -> list[list[str]]:
        if not sentences:
            return []
        return self.model.decode(self.emissions(sentences, extra), [len(s) for s in sentences])

    def emissions(self, sentences: Sequence[Sequence[str]], extra: Extra | None = None) -> FloatArray:
        """Per-label state scores of every token of the (non-empty) sentences, one row per token."""
        n_labels = len(self.model.labels)
        lengths = [len(s) for s in sentences]
        words = [w for s in sentences for w in s]
        rows, lowers = self.scores.rows(words)
        table = self.scores.table()[rows]
        emissions = table[:, :n_labels].copy()
        position = np.concatenate([np.arange(n) for n in lengths])
        size = np.repeat(lengths, lengths)
        everyone = np.arange(len(words))
        for slot, offset in enumerate(OFFSETS):
            # token i receives what token i+offset lends it, if both are in the same sentence
            inside = (position + offset >= 0) & (position + offset < size)
            receivers = everyone[inside]
            columns = slice((slot + 1) * n_labels, (slot + 2) * n_labels)
            emissions[receivers] += table[receivers + offset, columns]
        self._add_sentence_level(emissions, sentences, lowers, extra)
        return emissions

    def _add_sentence_level(
        self, emissions: FloatArray, sentences: Sequence[Sequence[str]], lowers: Sequence[str], extra: Extra | None
    ) -> None:
        attribute_rows = self.model.attribute_rows
        tokens: list[int] = []
        rows: list[int] = []
        first = 0
        for k, sentence in enumerate(sentences):
            end = first + len(sentence)
            per_token = self.features.sentence_level(sentence, lowers[first:end])
            if extra is not None:
                per_token = [[*a, *b] for a, b in zip(per_token, extra[k], strict=True)]
            for i, feats in enumerate(per_token, first):
                for feat in feats:
                    row = attribute_rows.get(feat)
                    if row is not None:
                        tokens.append(i)
                        rows.append(row)
            first = end
        if rows:
            np.add.at(emissions, tokens, self.model.state_weights[rows])


class DocumentTagger:
    """Tags an article's sentences; a language with a second-pass model tags them twice.

    The second pass sees, for each capitalised word, how the first pass tagged it in the article's
    other sentences (``kabar_enrich.ner_features.document_features``), so a surname gets the
    type its full name got. Only languages whose training data keeps documents together have one
    (English: Wikigold); the Indonesian corpora are shuffled sentences.
    """

    def __init__(self, first: SentenceTagger, second: SentenceTagger | None = None) -> None:
        self.first, self.second = first, second
        # The word-score caches are plain dicts and arrays; one recogniser may serve a threads pool.
        self._lock = threading.Lock()

    def tag(self, sentences: Sequence[Sequence[str]]) -> list[list[str]]:
        """BIO2 tags of each sentence of one document.

        A sentence none of whose words occurs capitalised elsewhere in the document keeps its
        first-pass tags: the second pass leans on that evidence and does no better than the first
        without it (Wikigold dev, one sentence at a time: F1 0.635 against 0.636).
        """
        with self._lock:
            return self._tag(sentences)

    def _tag(self, sentences: Sequence[Sequence[str]]) -> list[list[str]]:
        tags = self.first.tag(sentences)
        if self.second is None:
            return tags
        extra = document_features(sentences, tags)
        with_evidence = [i for i, per_token in enumerate(extra) if any(per_token)]
        if with_evidence:
            second = self.second.tag([sentences[i] for i in with_evidence], [extra[i] for i in with_evidence])
            for i, sentence_tags in zip(with_evidence, second, strict=True):
                tags[i] = sentence_tags
        return tags

    @classmethod
    def load(cls, directory: Path, language: str) -> DocumentTagger:
        """The models of ``language`` in ``directory``; FileNotFoundError when the first is missing."""
        path = directory / MODEL_FILES[language]
        if not path.is_file():
            raise FileNotFoundError(f"NER model missing: {path} (run services/enrich/training/train_ner.py)")
        features = FeatureExtractor.load(directory, language, cache=False)
        second_path = directory / SECOND_PASS_FILES[language]
        second = SentenceTagger(LinearChainModel.load(second_path), features) if second_path.is_file() else None
        return cls(SentenceTagger(LinearChainModel.load(path), features), second)


class EntityRecognizer:
    """Loads the NER models once (~1 s); ``extract`` then costs ~5 ms CPU per average news article
    (benchmarks/enrich.py).

    Only the first :data:`MAX_CHARS` characters of each text are analysed. Threads may share a
    recogniser: each language's tagging is serialised by a lock (the work holds the GIL anyway).
    """

    def __init__(self, model_dir: Path | None = None) -> None:
        directory = model_dir if model_dir is not None else DEFAULT_MODEL_DIR
        self._taggers = {key: DocumentTagger.load(directory, key) for key in MODEL_FILES}

    def extract(self, text: str, language: str) -> list[EntitySpan]:
        """Entities of ``text`` in order; [] for languages without a model ("id", "ms", "en" have one)."""
        tagger = self._taggers.get(LANGUAGE_MODELS.get(_base_language(language), ""))
        if tagger is None or not text:
            return []
        text = text[:MAX_CHARS]
        # Sentences without a capitalised word or @/# hold almost no entities (2 of 7,292 in the
        # Indonesian training data, none in the English): they are not tagged.
        sentences = [
            s
            for s in split_sentences(text, tokenize(text))
            if any(t.text[:1].isupper() or t.text[:1] in "@#" for t in s)
        ]
        spans: list[EntitySpan] = []
        for sentence, tags in zip(sentences, tagger.tag([[t.text for t in s] for s in sentences]), strict=True):
            for label, tagged_first, tagged_last in bio_to_spans(tags):
                first, last = _without_stray_marks(sentence, tagged_first, tagged_last)
                if label in LABELS and first < last:
                    start, end = sentence[first].start, sentence[last - 1].end
                    spans.append(EntitySpan(text[start:end], label, start, end))
        return spans

    def tag_sentences(self, sentences: Sequence[Sequence[str]], language: str) -> list[list[str]]:
        """BIO2 tags for the pre-tokenised sentences of ONE document (for evaluation); all "O"
        without a model."""
        tagger = self._taggers.get(LANGUAGE_MODELS.get(_base_language(language), ""))
        if tagger is None:
            return [["O"] * len(s) for s in sentences]
        return tagger.tag(sentences)

    def tag_tokens(self, words: Sequence[str], language: str) -> list[str]:
        """BIO2 tags for one pre-tokenised sentence (for evaluation); all "O" without a model."""
        return self.tag_sentences([words], language)[0]

    def extract_many(self, texts: Sequence[str], languages: Sequence[str]) -> list[list[EntitySpan]]:
        """``extract`` over aligned sequences of texts and language codes."""
        if len(texts) != len(languages):
            raise ValueError(f"{len(texts)} texts but {len(languages)} languages")
        return [self.extract(text, language) for text, language in zip(texts, languages, strict=True)]


def _base_language(language: str) -> str:
    """ "id-ID" / "EN" / "ms_MY" -> "id" / "en" / "ms"."""
    return language.strip().lower().replace("_", "-").split("-")[0]
