"""Canonical names and stable ids for entity mentions: one name per person, place or organisation.

- Countries and cities come from ``models/names.tsv``, built from maintained data (CLDR
  country names in Indonesian, Malay and English; GeoNames cities and their alternate
  spellings, printed as newsrooms write them: Wonsan, not Wŏnsan) by
  ``training/build_names.py``: Korut / Korea Utara / DPRK -> North Korea, Moskwa / Moskow ->
  Moscow. A place name one letter away from a large place (Pyongjang -> Pyongyang) is
  matched too, when that is unambiguous.
- A country is a place whatever the recogniser labelled it ("Korut" tagged ORG).
- Organisations: news agencies, media and apps have one name each (``Kantor Berita
  Anadolu`` -> Anadolu Agency) and are organisations whatever they were tagged. A ministry
  is its portfolio and its country: Kementerian Luar Negeri Rusia, Kemenlu Rusia, Kemlu Rusia
  and Russia's Foreign Ministry are all "Ministry of Foreign Affairs of Russia"; a bare
  "Kemenlu" is the ministry of that portfolio the article named with its country.
- A bare "Korea" is the one Korea the article names, when it names one. "Georgia" is the US
  state in an American article (one that names another US state or Atlanta, or writes "the
  state of Georgia"), the country otherwise.
- An abbreviation the article defines ("Badan Intelijen Negara (BIN)") stands for the full
  name where it is used alone ("BIN"), and an institution's is an organisation there whatever
  it was tagged. A place in brackets is no abbreviation.
- Personal names: transliteration variants of given names are folded (Sergey -> Sergei), a
  Balinese name's "I" or "Ni" is dropped (not every outlet writes it), a tokenised hyphen is
  printed as one ("Pierre-Emerick Aubameyang"),
  and a bare surname or given name ("Lavrov") stands for the fuller name of the same
  person in the same article ("Sergei Lavrov"): the nearest one before it, else the first after.
- Every mention gets the stable id of its canonical entity (``kabar.contract.messages.entity_id``);
  the mentions of one entity in an article share one canonical name.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple, TypeVar

from kabar.contract.messages import Entity, EntityLabel, entity_id
from kabar_enrich.entities import EntitySpan
from kabar_enrich.loader import shared

NAMES_PATH = Path(__file__).parent / "models" / "names.tsv"
ATTRIBUTIVES_PATH = Path(__file__).parent / "models" / "attributives.tsv"
GIVEN_NAMES_PATH = Path(__file__).parent / "models" / "given_names.txt"
FUZZY_MIN_CHARS = 7
_SHORT_ABBREVIATION = 3  # characters: "RI", "AS", "UK"; see _as_written
_COUNTRY_KINDS = {"country", "country-alias"}
# Regions are hand-kept ("Semenanjung Korea" -> Korean Peninsula): no data set here carries them.
US_STATE_KIND = "us-state"
_AP_STATE_KIND = "us-state-ap"  # a state as AP style abbreviates it: "Wis.", "N.Y."
# Indonesia's provinces and islands, Malaysia's states (ISO 3166-2): "Jawa Barat" -> West Java.
SUBDIVISION_KIND = "subdivision"
REGENCY_KIND = "regency"  # an Indonesian regency or city by its name of two words or more ("Kutai Timur")
_PLACE_KINDS = _COUNTRY_KINDS | {"city", "city-alias", "region", US_STATE_KIND, SUBDIVISION_KIND, REGENCY_KIND}
# A country that is also a US state's name: the state where the article is American (it names another US state or
# the state's capital, or writes "negara bagian Georgia", "the state of Georgia"), the country otherwise. An article
# that names the country's capital or regions means the country whatever else it names.
US_STATES_NAMED_AS_COUNTRIES = {
    "Georgia": ("Georgia (U.S. state)", "Atlanta", {"Tbilisi", "South Ossetia", "Abkhazia"}),
}
_STATE_OF = re.compile(r"(?:negara\s+bagian|state\s+of(?:\s+the)?)\s+\Z", re.IGNORECASE)
_PERSON_KINDS = {"given_name", "surname"}
NICKNAME_KIND = "nickname"  # a public figure's whole name as the press writes it: "Jokowi" -> Joko Widodo
# A real place's name one edit from a known place's, but none of its names ("Lampung", a province, is not Lampang,
# Thailand; "Linares", Spain, is not Linhares, Brazil): never read as a misspelling. build_names.py lists them.
NOT_MISSPELT_KIND = "not-misspelt"
# Institutions are bodies the press names by their seat or acronym: Kremlin, Pentagon, PBB.
INSTITUTION_KIND = "institution"  # a public body, known by its seat or acronym ("Kremlin", "KPK")
ORGANISATION_KINDS = frozenset({"agency", "media", "app", INSTITUTION_KIND, "company", "club"})
# Words that make a capitalised run an organisation's name, not a person's.
ORGANISATION_WORDS = frozenset({
    "kementerian", "kemenlu", "dewan", "badan", "lembaga", "komisi", "partai", "universitas", "mahkamah",
    "pengadilan", "kejaksaan", "kepolisian", "angkatan", "pasukan", "tentara", "majelis", "parlemen", "kongres",
    "senat", "bank", "perusahaan", "pt", "kantor", "dinas", "departemen", "agensi", "jabatan", "persatuan",
    "ministry", "council", "agency", "committee", "commission", "party", "university", "court", "army", "navy",
    "force", "forces", "parliament", "congress", "senate", "company", "office", "department", "union",
    "parlimen", "suruhanjaya", "majlis", "jawatankuasa", "syarikat", "pertubuhan", "kesatuan", "tentera", "parti",
    "universiti", "perbadanan", "polis",
})
# Words that no person's name holds: a "person" with one is an institution, and so is a "work or event" (MISC) with
# one (Wikigold train: 86 organisations hold one, 1 MISC; the recogniser makes "Bulgarian Academy of Sciences" a
# MISC for its nationality word).
INSTITUTION_WORDS = ORGANISATION_WORDS | frozenset({
    "hospital", "academy", "institute", "institut", "society", "museum", "laboratory", "college", "school",
    "foundation", "association", "corporation", "inc", "ltd", "records", "club", "rumah", "sakit", "akademi",
    "yayasan", "asosiasi", "sekolah", "klub", "kolej", "muzium", "orchestra", "orkestra", "authority",
})
MINISTRY_KIND = "ministry"
# Last words that only companies' names hold: "Emergent Biosolutions", "Spiral Ventures", "Qatar Airways".
COMPANY_LAST_WORDS = frozenset({
    "holdings", "technologies", "pharmaceuticals", "pharma", "therapeutics", "biosolutions", "biotech", "biosciences",
    "airlines", "airways", "motors", "industries", "solutions", "laboratories", "networks", "communications",
    "enterprises", "ventures", "petroleum", "electronics", "semiconductor", "software", "robotics", "foods",
    "beverages", "logistics", "co", "llc", "plc", "group", "capital", "studios", "partners", "investments",
})
# English names a country's armed services with its attributive first (United States Navy, Indonesian Navy), and
# its ministries and councils with the country after "of" (Ministry of Foreign Affairs of Russia).
_ARMED_SERVICES = frozenset({"Navy", "Army", "Air Force", "Armed Forces"})
# "Kementerian Luar Negeri (Kemenlu) Rusia": the parenthesised abbreviation is not part of the name.
_ABBREVIATION_INSIDE = re.compile(r"\s*\(\s*([^\W\d_][\w.&-]{0,15})\s*\)\s*")
_ABBREVIATION_AFTER = re.compile(r"\s*\(\s*([^\W\d_][\w.&-]{0,15})\s*\)")
_SPACED_HYPHEN = re.compile(r"(?<=\w) - (?=\w)")
_DATELINE_END = re.compile(r"\s*(?:,|\(|-|—|–)")
# Balinese names: "I" (men) or "Ni" (women) before the birth-order name.
BALINESE_BIRTH_ORDER = r"(?:Wayan|Made|Nyoman|Ketut|Putu|Kadek|Komang|Gede|Gde|Gusti|Luh|Nengah)\b"
_BALINESE_ARTICLE = re.compile(rf"^(?:I|Ni) (?={BALINESE_BIRTH_ORDER})")
_POSSESSIVE = re.compile(r"['’]s$")
# A middle or given name's initial: "W." in George W. Bush, "RR" in George RR Martin, "J" in Yola Prima J Lubis.
_INITIAL = re.compile(r"^(?:[A-Z]\.?){1,2}$")
# Malaysian honours (federal and state), which stand before a name and change as they are conferred.
MALAYSIAN_HONOURS = (r"Tun|Toh Puan|Tan Sri|Puan Sri|Datuk Seri|Datuk Sri|Dato' Seri|Dato' Sri|Dato Sri"
                     r"|Datuk Patinggi|Datuk Amar|Datuk Wira|Datuk|Dato'|Dato|Datin Paduka|Datin Seri|Datin")
# A person is one whichever honours, degree or pilgrim's title an article writes before the name ("Tun Dr Mahathir
# Mohamad", "Dr Mahathir Mohamad", "Mahathir Mohamad"); a degree stays before one word ("Dr. Dre").
_HONOURS_BEFORE_NAME = re.compile(rf"^(?:(?:{MALAYSIAN_HONOURS})\s+)+")
_DEGREE_BEFORE_NAME = re.compile(r"^(?:Prof(?:essor)?\.?(?:\s+Madya)?|Dr|Ir|Haji|Hajah|Hj)\.?\s+(?=\S+\s+\S)")
_OF = {"of", "of the"}
_TEAM_WORDS = frozenset({"pasukan", "skuad", "squad", "tim", "team"})


# Latin letters that Unicode does not decompose into a base letter and a diacritic.
UNDECOMPOSED = str.maketrans({"ł": "l", "Ł": "L", "ø": "o", "Ø": "O", "đ": "d", "Đ": "D", "Ð": "D", "ß": "ss",
                              "æ": "ae", "Æ": "Ae", "œ": "oe", "Œ": "Oe", "ı": "i", "ð": "d", "þ": "th", "ʻ": "'",
                              "ʼ": "'", "’": "'", "‘": "'"})


# A company's legal form around its name, as written or in a name key: Indonesian "PT ... Tbk (Persero)", Malaysian
# "Berhad". "PT Bank Central Asia Tbk" and "Malayan Banking Bhd" are Bank Central Asia and Malayan Banking.
_LEGAL_FORM = re.compile(r"^PT\.? +|(?: +(?:Tbk|\(?Persero\)?|Berhad|Sdn\.? Bhd|Bhd)\.?)+$", re.IGNORECASE)
_LEGAL_FORM_ENDINGS = (" tbk", " persero", " berhad", " bhd")  # a cheap test first: organisation() runs per span


@lru_cache(maxsize=65536)  # names repeat across articles: the fold is the rules' main cost otherwise
def name_key(text: str) -> str:
    """Case, accents, punctuation and spacing do not make another name."""
    decomposed = unicodedata.normalize("NFKD", text.translate(UNDECOMPOSED))
    letters = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join("".join(char if char.isalnum() else " " for char in letters.casefold()).split())


def tidy(surface: str) -> str:
    """Spacing and the punctuation around a name; a bracket only where it closes nothing or opens nothing
    ("PT Pertamina (Persero)" keeps its ")")."""
    # A tokenised "Pierre - Emerick Aubameyang" is printed "Pierre-Emerick Aubameyang" (the id is the same either way).
    name = _SPACED_HYPHEN.sub("-", " ".join(surface.split())).strip(" .,;:'\"“”‘’")
    while name[:1] == "(" and name[-1:] == ")" and _balanced(name[1:-1]):  # "(Walhi)", not "(A) (B)"
        name = name[1:-1].strip(" .,;:'\"“”‘’")
    while name[-1:] in (")", "(") and (name[-1] == "(" or name.count(")") > name.count("(")):
        name = name[:-1].rstrip(" .,;:'\"“”‘’")
    while name[:1] in ("(", ")") and (name[0] == ")" or name.count("(") > name.count(")")):
        name = name[1:].lstrip(" .,;:'\"“”‘’")
    return name


def _balanced(text: str) -> bool:
    depth = 0
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0


def _deletions(key: str) -> set[str]:
    return {key[:i] + key[i + 1:] for i in range(len(key))}


def _one_edit_apart(a: str, b: str) -> bool:
    """One letter changed, added or dropped. Two keys sharing a deletion may be two edits apart: "amerika" and
    "almeria" both give "ameria", and America is not Almeria."""
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b, strict=True)) == 1
    short, long = sorted((a, b), key=len)
    return len(long) - len(short) == 1 and any(long[:i] + long[i + 1:] == short for i in range(len(long)))


@dataclass(frozen=True, slots=True)
class Place:
    name: str
    kind: str


@dataclass(frozen=True, slots=True)
class Organisation:
    name: str
    kind: str  # "agency" | "media" | "app" | "institution" | "company" | "ministry"


_Named = TypeVar("_Named", Place, Organisation)


class NameTable:
    def __init__(self, path: Path = NAMES_PATH, attributives_path: Path = ATTRIBUTIVES_PATH) -> None:
        self._places: dict[str, Place] = {}
        self._person_parts: dict[str, str] = {}
        self._nicknames: dict[str, str] = {}
        self._organisations: dict[str, Organisation] = {}
        self._ap_states: dict[str, Place] = {}  # "Wis.": only with its full stop
        self._not_misspelt: set[str] = set()
        for line in path.read_text(encoding="utf-8").splitlines():
            key, canonical, kind = line.split("\t")
            if kind == NOT_MISSPELT_KIND:
                self._not_misspelt.add(key)
            elif kind in _PLACE_KINDS:
                self._places[key] = Place(canonical, kind)
            elif kind == _AP_STATE_KIND:
                self._ap_states[key] = Place(canonical, US_STATE_KIND)
            elif kind in _PERSON_KINDS:
                self._person_parts[key] = canonical
            elif kind == NICKNAME_KIND:
                self._nicknames[key] = canonical
            else:
                self._organisations[key] = Organisation(canonical, kind)
        self._attributives = dict(line.split("\t") for line in attributives_path.read_text(encoding="utf-8")
                                  .splitlines() if line and not line.startswith("#"))
        # One edit away, same first letter: a misspelling keeps a name's start ("Pyongjang" is Pyongyang), while
        # two places may differ by only that ("Takistan", a city in Iran, is not Pakistan). Not from GeoNames'
        # alternate names of cities, many and odd: "Florida" was one edit from Floripa, Florianopolis.
        self._near: dict[str, set[str]] = {}
        for key, place in self._places.items():
            if place.kind == "city" and key != name_key(place.name):
                continue
            if len(key) >= FUZZY_MIN_CHARS and " " not in key:
                for variant in _deletions(key) | {key}:
                    self._near.setdefault(variant, set()).add(key)

    def place(self, surface: str, fuzzy: bool) -> Place | None:
        key = name_key(surface)
        if surface[-1:] == "." and (state := self.ap_state(surface)) is not None:
            return state
        found = _as_written(surface, self._places.get(key))
        if found is not None or not fuzzy or len(key) < FUZZY_MIN_CHARS or " " in key or key in self._not_misspelt:
            return found
        names = {self._places[near].name for variant in _deletions(key) | {key} for near in self._near.get(variant, ())
                 if near[0] == key[0] and _one_edit_apart(key, near)}
        return Place(names.pop(), "city") if len(names) == 1 else None

    def own_place(self, surface: str) -> Place | None:
        """The place ``surface`` names, but not a city by one of its GeoNames alternate names, which include given
        names and common words ("Ahmad" for Al Ahmadi, "Besar" for Bechar)."""
        place = self.place(surface, fuzzy=False)
        if place is None or (place.kind == "city" and name_key(place.name) != name_key(surface)):
            return None
        return place

    def ap_state(self, surface: str) -> Place | None:
        """A US state as AP style abbreviates it, full stop included ("Wis.", "N.Y.")."""
        return self._ap_states.get(name_key(surface)) if surface.endswith(".") else None

    def country(self, surface: str) -> Place | None:
        place = _as_written(surface, self._places.get(name_key(_POSSESSIVE.sub("", surface))))
        return place if place is not None and place.kind in _COUNTRY_KINDS else None

    def organisation(self, surface: str) -> Organisation | None:
        """A news agency, medium, app or ministry portfolio known by this name, a company also with its legal form
        ("PT Pertamina (Persero)", "Maybank Berhad"). An acronym with "PT" is some company's, not an institution's
        ("PT PBB" is not the United Nations)."""
        key = name_key(surface)
        found = self._organisations.get(key)
        if found is None and (key.startswith("pt ") or key.endswith(_LEGAL_FORM_ENDINGS)) \
                and (bare := _LEGAL_FORM.sub("", key)) != key:
            found = self._organisations.get(bare)
            if found is not None and found.kind != "company" and " " not in bare:
                found = None
        return _as_written(surface, found)

    def attributive(self, country: str) -> str | None:
        """The word English news puts before the country's armed services ("Russian" for Russia), if listed."""
        return self._attributives.get(country)

    def nickname(self, surface: str) -> str | None:
        """The full name of the public figure the press names ``surface`` as a whole ("Jokowi", "Tun M", "Puan
        Maharani"), if the tables know one."""
        return self._nicknames.get(name_key(surface))

    def person(self, surface: str) -> str:
        """A person's name with transliterations folded; a Balinese name without its "I" or "Ni", which not every
        outlet writes ("I Made Wirawan" and "Made Wirawan" are one person); a public figure's full name for the
        nickname the press writes ("Jokowi", "Ahok", "Gus Dur")."""
        nickname = self.nickname(surface)
        if nickname is not None:
            return nickname
        surface = _BALINESE_ARTICLE.sub("", surface)
        return " ".join(self._person_parts.get(name_key(part), part) for part in surface.split())


def _as_written(surface: str, found: _Named | None) -> _Named | None:
    """``found``, unless ``surface`` is a short word not in capitals that only an abbreviation of another name
    matches: "RI" is Indonesia and "AS" the United States, but the Korean surname "Ri" and the word "As" are
    neither. A short name of its own still matches as written ("Ufa", "dpa")."""
    if found is None or len(surface) > _SHORT_ABBREVIATION or surface.isupper():
        return found
    return found if name_key(found.name) == name_key(surface) else None


@dataclass(frozen=True, slots=True)
class Ministry:
    portfolio: str  # "Ministry of Foreign Affairs", "Navy"
    country: str | None  # "Russia"
    attributive: str | None = None  # "Russian"

    @property
    def name(self) -> str:
        if self.country is None:
            return self.portfolio
        if self.portfolio in _ARMED_SERVICES and self.attributive is not None:
            return f"{self.attributive} {self.portfolio}"
        return f"{self.portfolio} of {self.country}"


def ministry(name: str, table: NameTable) -> Ministry | None:
    """Portfolio and country of a ministry's name, in either order: "Kemlu Rusia", "Russia's Foreign Ministry"."""
    words = name.split()
    for size in range(len(words), 0, -1):
        for start in (0, len(words) - size):
            found = table.organisation(" ".join(words[start:start + size]))
            if found is None or found.kind != MINISTRY_KIND:
                continue
            rest = words[start + size:] if start == 0 else words[:start]
            if start == 0 and rest and " ".join(rest[:2]).lower() in _OF:
                rest = rest[2:] if " ".join(rest[:2]).lower() == "of the" else rest[1:]
            elif start == 0 and rest and rest[0].lower() == "of":
                rest = rest[1:]
            if not rest:
                return Ministry(found.name, None)
            country = table.country(" ".join(rest))
            return Ministry(found.name, country.name, table.attributive(country.name)) if country is not None else None
    return None


@dataclass(slots=True)
class _Mention:
    span: EntitySpan
    surface: str
    label: EntityLabel
    name: str = ""


def canonicalise(spans: Sequence[EntitySpan], names: NameTable | None = None, text: str | None = None) -> list[Entity]:
    """The entities of one article's spans (in text order). ``text``, when given, lets an
    abbreviation written just after a name ("Badan Intelijen Negara (BIN)") be learnt."""
    table = names or shared(NameTable)
    abbreviations: dict[str, _Abbreviation] = {}
    mentions = [_Mention(span, *_surface(span, table, text, abbreviations)) for span in spans]
    people = _full_people(mentions, table)
    ministries: dict[str, set[str]] = {}
    for mention in mentions:
        # a public figure by the name the press writes, whatever it was tagged: "Tun M" (before its honour goes)
        nickname = table.nickname(tidy(mention.span.text)) or table.nickname(mention.surface)
        mention.label, mention.name = ("PER", nickname) if nickname is not None \
            else _resolve(mention, table, people, ministries)
    for mention in mentions:  # a bare "Kemenlu": the ministry of that portfolio this article placed
        if mention.label == "ORG":
            countries = ministries.get(mention.name, set())
            if len(countries) == 1:
                country = next(iter(countries))
                mention.name = Ministry(mention.name, country, table.attributive(country)).name
    _companies_by_first_word(mentions)
    _without_middle_names(mentions)
    _name_bare_places(mentions, table)
    _us_states_named_as_countries(mentions, table, text)
    if text is not None:
        _datelines_as_written_elsewhere(mentions, text)
    return _with_ids(mentions)


def _datelines_as_written_elsewhere(mentions: Sequence[_Mention], text: str) -> None:
    """A place the tables do not know, in the capitals of a dateline (a line's start, then a comma, a bracket or a
    dash: "LA CROSSE, Wis. (AP) —"), is named as the rest of a text writes places: La Crosse. The id is the same
    either way. Elsewhere capitals are an acronym's ("RSCM", "SCBD")."""
    for mention in mentions:
        start, end = mention.span.start, mention.span.end
        if mention.label != "LOC" or mention.name != mention.surface or not mention.name.isupper():
            continue
        line_start = text.rfind("\n", 0, start) + 1
        if not text[line_start:start].strip() and _DATELINE_END.match(text, end):
            mention.name = mention.name.title()


def _name_bare_places(mentions: Sequence[_Mention], table: NameTable) -> None:
    """A bare "Korea" is the one Korea the article names ("Korea Utara" -> North Korea), or the one it names most
    often: an article on North Korea that names South Korea once means the North by "Rekan-rekan Korea kami".

    Only for a one-word name the tables do not know as a place of its own: "Sudan" is a
    country beside South Sudan, and stays one. And only for a longer name the tables know: "Banyumas" is not
    "Kabupaten Banyumas", nor "Borobudur" the "Kantor Balai Konservasi Borobudur" (an office). Nor an Indonesian
    regency's: Manokwari and South Manokwari are two regencies.
    """
    places = {mention.name for mention in mentions if mention.label == "LOC"
              and (place := table.place(mention.name, fuzzy=False)) is not None and place.kind != REGENCY_KIND}
    for mention in mentions:
        if mention.label != "LOC" or " " in mention.name or mention.name in places:  # known: a place of its own
            continue
        containing = Counter(other.name for other in mentions if other.label == "LOC" and other.name in places
                             and other.name.endswith(f" {mention.name}"))
        ranked = containing.most_common(2)
        if ranked and (len(ranked) == 1 or ranked[0][1] > ranked[1][1]):
            mention.name = ranked[0][0]


def _us_states_named_as_countries(mentions: Sequence[_Mention], table: NameTable, text: str | None) -> None:
    """ "Georgia Gov. Brian Kemp ... Atlanta" is the US state, "Georgia ... Tbilisi" the country."""
    ambiguous = [mention for mention in mentions
                 if mention.label == "LOC" and mention.name in US_STATES_NAMED_AS_COUNTRIES]
    if not ambiguous:
        return
    places = {mention.name for mention in mentions if mention.label == "LOC"}
    american = any((place := table.place(name, fuzzy=False)) is not None and place.kind == US_STATE_KIND
                   for name in places)
    for mention in ambiguous:
        state, capital, of_the_country = US_STATES_NAMED_AS_COUNTRIES[mention.name]
        called_a_state = text is not None and _STATE_OF.search(text, max(0, mention.span.start - 30),
                                                                mention.span.start) is not None
        if not places & of_the_country and (american or capital in places or called_a_state):
            mention.name = state


def _label(label: str) -> EntityLabel:
    return "PER" if label == "PER" else "ORG" if label == "ORG" else "LOC" if label == "LOC" else "MISC"


def _surface(span: EntitySpan, table: NameTable, text: str | None,
             abbreviations: dict[str, _Abbreviation]) -> tuple[str, EntityLabel]:
    """The name a mention writes, without descriptors or abbreviations, and its type; learns "Name (ABBR)".
    An abbreviation of an institution's name is an organisation wherever it is used alone ("Kemkominfo" tagged a
    person is the ministry). A place in brackets is no abbreviation ("Chan Peng Soon/Cheah Yee See (Malaysia)")."""
    label = _label(span.label)
    surface = tidy(span.text) or span.text
    if table.place(surface, fuzzy=False) is None:  # "blok Barat" is a name as written, "kota pesisir Wonsan" not
        surface = _without_unit_word(_proper_part(surface), table, label)
    inside = _ABBREVIATION_INSIDE.search(surface)
    if inside is not None:
        full = tidy(surface[: inside.start()] + " " + surface[inside.end():])
        _learn(abbreviations, inside.group(1), tidy(surface[: inside.start()]), label, table)
        surface = full
    elif text is not None and span.label == "ORG":
        after = _ABBREVIATION_AFTER.match(text, span.end)
        if after is not None and len(surface.split()) > 1:
            _learn(abbreviations, after.group(1), surface, label, table)
    if label == "PER":
        surface = _without_honours(surface)
    first, _, rest = surface.partition(" ")
    expansion, expanded_label, written = abbreviations.get(name_key(first), ("", label, ""))
    # An abbreviation in capitals is not the word of a name written in title case: "ADHI" after "PT Adhi Karya Tbk"
    # does not make a later "Adhi Karya" the company's name run on with "Karya".
    if expansion and (first.strip("()[]\"'“”‘’.,;:") == written or not written.isupper()) \
            and table.organisation(surface) is None \
            and name_key(expansion) != name_key(surface):
        surface = f"{expansion} {rest}".strip()
        if expanded_label == "ORG" and not INSTITUTION_WORDS.isdisjoint(expansion.lower().split()):
            label = "ORG"  # not "Ahok" after "Basuki Tjahaja Purnama (Ahok)" tagged an organisation
    return surface, label


def _without_honours(name: str) -> str:
    """A person's name without the honours, degrees and pilgrim's titles before it."""
    while True:
        shorter = _DEGREE_BEFORE_NAME.sub("", _HONOURS_BEFORE_NAME.sub("", name))
        if shorter == name or not shorter:
            return name
        name = shorter


class _Abbreviation(NamedTuple):
    name: str  # what it stands for
    label: EntityLabel
    written: str  # as the article wrote it in brackets


def _learn(abbreviations: dict[str, _Abbreviation], abbreviation: str, name: str, label: EntityLabel,
           table: NameTable) -> None:
    """Remember what an abbreviation in brackets stands for; a place in brackets is no abbreviation."""
    if table.place(abbreviation, fuzzy=False) is None:
        abbreviations.setdefault(name_key(abbreviation), _Abbreviation(name, label, abbreviation))


def _full_people(mentions: Sequence[_Mention], table: NameTable) -> list[tuple[int, str]]:
    """Names of people written out in full in this article, with where each was written."""
    return [(mention.span.start, table.person(_without_leading_places(mention.surface, table)))
            for mention in mentions if mention.label == "PER" and " " in mention.surface]


def _companies_by_first_word(mentions: Sequence[_Mention]) -> None:
    """A company this article names by a name and a company's word is the one that name alone names, though tagged
    a person: "Lily Robotics", then "Lily"; "Wuling Motors", then "Wuling"."""
    companies = {name_key(words[0]): mention.name for mention in mentions
                 if mention.label == "ORG" and len(words := mention.surface.split()) == 2
                 and words[-1].lower() in COMPANY_LAST_WORDS}  # not "Kudo East Ventures", two names run together
    for mention in mentions:
        if mention.label == "PER" and " " not in mention.surface \
                and (company := companies.get(name_key(mention.surface))) is not None:
            mention.label, mention.name = "ORG", company


def _without_middle_names(mentions: Sequence[_Mention]) -> None:
    """A person the article names both with and without middle names is one, by the shorter name, which news
    writes more often and other articles then share: "Anies Rasyid Baswedan" and "Anies Baswedan", "Donald J Trump"
    and "Donald Trump" (27 IndoSum articles). Not a pair joined by a hyphen ("Deddy Mizwar-Dedi Mulyadi")."""
    names = {mention.name for mention in mentions if mention.label == "PER" and " " in mention.name}
    shorter: dict[str, str] = {}
    for name in names:
        words = name.split()
        if "-" in name or len(set(words)) < len(words):
            continue
        found = [other for other in names if len(other.split()) < len(words) and other.split()[0] == words[0]
                 and other.split()[-1] == words[-1] and set(other.split()) <= set(words)]
        if found:
            shorter[name] = min(found, key=lambda other: (len(other.split()), other))
    for mention in mentions:
        if mention.label == "PER" and mention.name in shorter:
            mention.name = shorter[mention.name]


def _resolve(mention: _Mention, table: NameTable, people: list[tuple[int, str]],
             ministries: dict[str, set[str]]) -> tuple[EntityLabel, str]:
    label, name = mention.label, mention.surface
    single = " " not in name
    organisation = table.organisation(name) or _team_of(name, table)
    # "gedung KPK" tagged a place is the building, a place, not the commission
    building = label == "LOC" and mention.span.text[:1].islower() and organisation is not None \
        and organisation.kind == INSTITUTION_KIND
    if organisation is not None and organisation.kind in ORGANISATION_KINDS and not building:
        return "ORG", _without_legal_form(organisation.name)
    named_as_organisation = label == "ORG" or organisation is not None
    if named_as_organisation or not single:
        found = ministry(name, table)
        # A ministry with its country is one whatever it was tagged ("Kemenlu Rusia" as a person).
        if found is not None and (named_as_organisation or found.country is not None):
            if found.country is not None:
                ministries.setdefault(found.portfolio, set()).add(found.country)
            return "ORG", found.name
    if single and label == "PER":
        full = _full_name(table.person(name), mention.span.start, people)
        if full is not None:
            return "PER", full
    # "Wis." is known by the full stop that tidying drops.
    place = table.ap_state(mention.span.text.strip()) or table.place(name, fuzzy=label == "LOC")
    if place is not None and (label == "LOC" or _placed_anyway(label, name, place)):
        return "LOC", place.name
    if label == "PER":
        return label, table.person(_without_leading_places(name, table))
    return label, _without_legal_form(name) if label == "ORG" else name


def _without_legal_form(name: str) -> str:
    """A company's name without "PT", "Tbk", "(Persero)", "Berhad" or "Bhd"; a name of one word keeps its form
    ("Fear Sdn Bhd", "PT PBB")."""
    bare = _LEGAL_FORM.sub("", name)
    return bare if " " in bare else name


def _team_of(name: str, table: NameTable) -> Organisation | None:
    """A known organisation named after a word for a team ("Pasukan Harimau Malaya", "Skuad Harimau Malaya")."""
    first, _, rest = name.partition(" ")
    return table.organisation(rest) if rest and first.lower() in _TEAM_WORDS else None


def _placed_anyway(label: str, name: str, place: Place) -> bool:
    """Whether a place name the recogniser tagged otherwise is a place all the same.

    A country or a US state is ("Korut" tagged ORG), unless it is a short abbreviation, which the press uses
    for the state ("RI", "AS": the government). A single word tagged as a person is a place only
    when it is a country, a city's own name or a hand-kept spelling ("Moskwa"): GeoNames'
    alternate names include given names ("Rasyid", "Mita").
    """
    country = place.kind in _COUNTRY_KINDS
    if label == "ORG" and place.kind == US_STATE_KIND:
        return True  # "South Carolina" tagged an organisation: a state acts as a country does
    if label == "PER":
        return country or (" " not in name and (place.kind == "city-alias" or name_key(place.name) == name_key(name)))
    return country and not (name.isupper() and len(name) <= 3)


def _full_name(part: str, position: int, people: list[tuple[int, str]]) -> str | None:
    """The full name containing ``part``: the nearest one written before, else the first after."""
    containing = [(start, full) for start, full in people if part in full.split() and full != part]
    before = [full for start, full in containing if start < position]
    if before:
        return before[-1]
    return containing[0][1] if containing else None


def _miscased_words(name: str) -> tuple[int, int]:
    """How many words of three letters or more ``name`` writes in capitals ("Marc MARQUEZ": one), then how many
    after its first in lower case ("Propam Polda metro Jaya": one), which the same name's other mentions may write
    as a name is written."""
    words = name.split()
    return (sum(1 for word in words if len(word) >= 3 and word.isupper()),
            sum(1 for word in words[1:] if word[:1].islower() and word.lower() not in _LOWER_CASE_PARTICLES))


# The particles of people's names ("Virgil van Dijk", "Najib bin Razak").
NAME_PARTICLES = frozenset({
    "de", "da", "di", "do", "dos", "del", "della", "van", "von", "der", "den", "la", "le", "al", "el", "bin", "binti"})
# Words that names write in lower case ("Virgil van Dijk", "Bank of America", "Kementerian Pemuda dan Olahraga"):
# a mention that capitalises them is no better written.
_LOWER_CASE_PARTICLES = NAME_PARTICLES | frozenset({
    "das", "du", "des", "y", "e", "of", "the", "and", "for", "dan", "untuk"})


_cached_entity_id = lru_cache(maxsize=65536)(entity_id)


def _with_ids(mentions: Sequence[_Mention]) -> list[Entity]:
    """Entities with their ids; the mentions of one entity share the first mention's name, or the first with the
    fewest words in capitals, then in lower case: a dateline or a headline's "BARCELONA" is Barcelona where the text
    writes it so, "Marc MARQUEZ" Marc Marquez, and "Propam Polda metro Jaya" Propam Polda Metro Jaya."""
    identities = [_cached_entity_id(mention.label, mention.name) for mention in mentions]
    names: dict[str, str] = {}
    for identity, mention in zip(identities, mentions, strict=True):
        if identity not in names or _miscased_words(names[identity]) > _miscased_words(mention.name):
            names[identity] = mention.name
    return [Entity(text=mention.span.text, label=mention.label, start=mention.span.start, end=mention.span.end,
                   canonical=names[identity], id=identity)
            for identity, mention in zip(identities, mentions, strict=True)]


def _proper_part(name: str) -> str:
    """Drop leading lower-case words: "kota pesisir Wonsan" names Wonsan ("iNews" is a name)."""
    words = name.split()
    while len(words) > 1 and words[0].islower():
        words.pop(0)
    return " ".join(words)


# Words before a place's name that say what kind of place it is: "Kota Solo" is Solo (Surakarta), "Pulau Jawa" Java,
# where the rest is a known place. Not "Kabupaten": a regency is not the city of its name (Kabupaten Bogor, Kota
# Bogor), and not "Kecamatan": districts' names are often foreign cities' ("Kecamatan Tempe").
_UNIT_WORDS = frozenset({"kota", "pulau"})
# A province is its place, known or not: "Provinsi Hubei" and Malay "Wilayah Hubei" are Hubei.
_PROVINCE_WORDS = frozenset({"provinsi", "wilayah"})
# A kingdom (Indonesian "Kerajaan") or a government (Malay "Kerajaan") tagged a place is that place: "Kerajaan
# Belanda" is the Netherlands, "Kerajaan China" China. Tagged an organisation, it stays one ("Pemerintah Daerah").
_STATE_WORDS = frozenset({"kerajaan"})


def _without_unit_word(name: str, table: NameTable, label: EntityLabel) -> str:
    """ "Kota Solo" -> "Solo", "Provinsi Hubei" -> "Hubei"; "Kota Bharu", a city's own name, is looked up whole
    before this."""
    first, _, rest = name.partition(" ")
    first = first.lower()
    if rest and (first in _PROVINCE_WORDS or (first in _STATE_WORDS and label == "LOC")
                 or (first in _UNIT_WORDS and table.place(rest, fuzzy=False) is not None)):
        return rest
    return name


def _without_leading_places(name: str, table: NameTable) -> str:
    """"Ukraina Volodymyr Zelenskyy" (a nationality before the name) is Volodymyr Zelenskyy. A city counts by its
    own name only: GeoNames' alternate names include given names ("Ahmad" for Al Ahmadi, "Danang" for Da Nang)."""
    words = name.split()
    while len(words) > 2 and (place := table.own_place(words[0])) is not None \
            and not (place.kind == "city" and city_as_given_name(words[0], words[1:])):
        words.pop(0)
    return " ".join(words)


def city_as_given_name(city: str, rest: Sequence[str]) -> bool:
    """Is a city's name before ``rest`` a person's given name? An initial follows given names ("George W. Bush",
    "George RR Martin"), and no holder's name, player's or office's place is followed by one; not "I", which opens
    Balinese names ("Bupati Klungkung I Nyoman Suwirta"). A common given name before two names is one too ("Mary Lou
    McDonald", "Mary Jane Veloso": Mary is a city in Turkmenistan); not a rare one ("Milan Paolo Storari")."""
    return any(_INITIAL.match(word) and word != "I" for word in rest) \
        or (len(rest) >= 2 and city.title() in common_given_names())


@lru_cache(maxsize=1)
def common_given_names() -> frozenset[str]:
    """Given names of at least 1 in 10,000 Americans (``models/given_names.txt``, built by
    ``training/build_given_names.py`` from the US census)."""
    return word_list(GIVEN_NAMES_PATH)


def word_list(path: Path) -> frozenset[str]:
    """The lines of a one-word-a-line model file, its "#" comments and blank lines left out."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return frozenset(line for line in lines if line and not line.startswith("#"))
