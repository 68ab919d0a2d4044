"""A headline without the site's name: "Steigende US-Zinsen setzen Dax zu | Börsen-Zeitung" is the headline
"Steigende US-Zinsen setzen Dax zu".

Pages' ``<title>`` and ``og:title`` add the site's name, a section or a date before or after the headline, set off
by a separator ("|", " - ", "：", "_"). Every search result and alert shows the title, so what is not the
headline goes:
* a segment at either end that names the site: its ``og:site_name`` or its host, compared letters only and
  without accents ("MDR.DE", "- WELT", "｜日刊ゲンダイDIGITAL", "Diario HOY |");
* a segment at either end that is a date ("| 28.04.2023");
* a separator left dangling at the end ("Pferdesport dabei -");
* after " | ", a short trailing segment (up to ``MAX_SECTION_WORDS`` words) when the site is not known, as in
  a text file ("… di Depan Mata | Berita Perang Rusia-Ukraina"): news headlines do not use a pipe.

A dash inside a headline stays ("Rusia - Ukraina Sepakat Gencatan Senjata"): only a segment that names the
site, or a date, is taken off at a dash.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import Final

# Where a headline and a site's name meet: a pipe (ASCII, full-width, Hangul's ㅣ), a full-width colon or an
# underscore, spaced or not; a dash, middle dot, guillemet or star with spaces around it; a bare hyphen only
# before the last word-run ("新华网" after "-"), which ``_names_site`` must then confirm.
_SEPARATOR: Final = re.compile(r"\s*[|｜ㅣ：_]\s*|\s+[-–—·»›⋆~:]\s+|\s+[-–—·]\s*$|-(?=[^\s-]+$)")
_PIPE: Final = re.compile(r"\s*[|｜]\s*")
_DATE: Final = re.compile(r"\d{1,2}[./-]\d{1,2}[./-]\d{2,4}\b.{0,30}|\d{4}-\d{2}-\d{2}\b.{0,30}")
_NOT_LETTERS: Final = re.compile(r"[\W_]+")
_TOP_LEVEL: Final = re.compile(r"\.(?:[a-z]{2,6})$")
MAX_SITE_WORDS: Final = 6
MAX_SECTION_WORDS: Final = 4
MIN_HEADLINE_WORDS: Final = 3
_GERMAN: Final = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})


def site_keys(names: Iterable[str | None]) -> frozenset[str]:
    """Letters-only keys a site is known by: each name as given ("Scinexx | Das Wissensmagazin" also by its
    parts, "Schweizer Radio und Fernsehen (SRF)" also as "SRF"), and a host also without "www." and its
    top-level domain ("boersen-zeitung.de" -> "boersenzeitung")."""
    keys: set[str] = set()
    for name in names:
        if not name:
            continue
        parts = [name, *re.split(r"\s*[|(),]\s*", name)]
        host = name.lower().removeprefix("https://").removeprefix("http://").removeprefix("www.")
        if " " not in host and "." in host:
            parts += [host, _TOP_LEVEL.sub("", host)]
        keys |= {key for part in parts for key in _keys(part) if len(key) >= 2}
    return frozenset(keys)


def _keys(text: str) -> set[str]:
    """The letters of ``text``, lower case, with accents dropped and with German umlauts spelt out."""
    lowered = unicodedata.normalize("NFKC", text).casefold()
    plain = "".join(char for char in unicodedata.normalize("NFKD", lowered) if not unicodedata.combining(char))
    return {_NOT_LETTERS.sub("", plain), _NOT_LETTERS.sub("", lowered.translate(_GERMAN))}


def without_site_name(title: str, sites: frozenset[str] = frozenset()) -> str:
    """``title`` without the site's name, section or date at either end (see the module's docstring)."""
    while True:
        shorter = _without_last(title, sites) or _without_first(title, sites)
        if shorter is None:
            return title
        title = shorter


def _without_last(title: str, sites: frozenset[str]) -> str | None:
    """The title without its last segment when that segment is the site's, a date or a section. The segment may
    hold a separator of its own ("| Berita Perang Rusia-Ukraina"): separators are tried from the end."""
    for separator in reversed(list(_SEPARATOR.finditer(title))):
        head, tail = title[: separator.start()].strip(), title[separator.end():].strip()
        if not head or len(tail.split()) > MAX_SITE_WORDS:
            return None
        if not tail or _names_site(tail, sites) or _DATE.fullmatch(tail):
            return head
        if (_PIPE.fullmatch(separator.group()) and not sites and len(tail.split()) <= MAX_SECTION_WORDS
                and len(head.split()) >= MIN_HEADLINE_WORDS):
            return head
    return None


def _without_first(title: str, sites: frozenset[str]) -> str | None:
    first = _SEPARATOR.search(title)
    if first is None or first.start() == 0:
        return None
    head, tail = title[: first.start()].strip(), title[first.end():].strip()
    if tail and (_names_site(head, sites) or _DATE.fullmatch(head)):
        return tail
    return None


def _names_site(segment: str, sites: frozenset[str]) -> bool:
    """Whether ``segment`` is the site's name (or starts with it: "Piratenpartei Österreichs" on piratenpartei.at)."""
    if not sites or len(segment.split()) > MAX_SITE_WORDS:
        return False
    return any(key in sites or any(key.startswith(site) and len(site) >= 4 for site in sites)
               for key in _keys(segment) if key)
