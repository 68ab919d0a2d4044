"""Strip web page furniture from article text and find its title.

Scraped news carries ad slots, "read also" links, cookie banners, app promotions and
editorial footers in Indonesian, Malay and English. Each pattern below names one kind
of furniture; a line is dropped when it matches one as a whole. Footer markers (editor
credits, "follow us" lines) near the end cut everything after them, because what
follows a footer on a news page is the site's, not the article's.

A title, given or picked, is one line of visible text: without control characters, ANSI
escapes and bidi overrides or isolates (they hide or reorder what a reader sees), its
whitespace collapsed, and cut at a word to ``MAX_TITLE_CHARS`` with an ellipsis.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from kabar_ingest.reader import MAX_TITLE_CHARS, sanitize
from kabar_ingest.titles import without_site_name

_QUOTES = "\"'“”‘’«»"

# Whole-line furniture, matched case-insensitively after stripping quotes and bullets.
_FURNITURE_PATTERNS = {
    "ad slot": r"(article )?ad box|advertisement|iklan|sponsored( content)?|konten (ber)?sponsor",
    "scroll prompt": r".*scroll (to see content|to continue|untuk melanjutkan|ke bawah).*",
    "loading": r"loading\W*|memuat\W*",
    "related link": r"baca artikel .{0,60} lainnya\b.*|\[gambas:[^\]]*\]",
    "cookie notice": r".*\b(uses|use|menggunakan) cookies?\b.*|.*\bcookie (policy|settings|kebijakan)\b.*",
    "app promo": r"(get|download|unduh) .{0,40}\b(app|aplikasi)\b.*",
    "share widget": r"(share|bagikan|shares?) ?:?|aa text|font size|ukuran (huruf|teks)",
    "trending bar": r"(sedang )?trending\b.{0,40}",
    "call to action": r".{0,160}\b(klik|click) (di sini|here|lebih lanjut|untuk)\b.*"
                      r"|dapatkan (update|info(rmasi)?|berita|notifikasi)\b.*",
    "follow prompt": r"(ikuti|follow) (kami|us|berita \w+) (di|on|lewat|melalui|via)\b.*",
    # The Kompas and Tribun networks end a syndicated copy with where it first ran.
    "syndication note": r"artikel ini (telah|sudah)? ?(tayang|terbit|dimuat|diterbitkan|ditayangkan) di\b.*",
    # A photo's caption ends with its credit: "Sergei Lavrov (kanan) … (Foto: Kemlu Rusia via Reuters)",
    # "… (twitter.com/@RusEmbJakarta)". A source credited after prose, "(Health.com)", is not a photo's.
    "photo caption": r"(?:\S+\s+){0,39}\S*\s*\((?:foto|photo|dok|dokumentasi|ilustrasi|illustration|image|gambar"
                     r"|credit|antara foto)\b[^()]*\)"
                     r"|(?:\S+\s+){0,39}\S*\s*\((?:https?://)?(?:www\.)?(?:twitter|x|instagram|facebook|youtube|tiktok)"
                     r"\.com/[^()]*\)",
    # IDN Times opens an article with a summary under this label.
    "summary label": r"intinya sih\W*",
}
_FOOTER_PATTERNS = (
    r"(editor|penulis|pewarta|reporter|redaktur|penyunting|sumber)\s*:.{1,80}",
    r"editor\s*[A-Z][\w .]{1,40}",
    r"\(\s*[a-z]{2,5}(\s*/\s*[a-z]{2,5})+\s*\)",
    r"(copyright|hak cipta)\b.*|©.*",
    r"follow (whatsapp|telegram|google news|instagram|us)\b.*|ikuti (kami|berita|saluran)\b.*",
    r"this article (is|was) written by\b.*|editorial team",
    r"(tags?|topik|topics?|kata kunci|keywords?)\s*:.{1,200}",
)
# "Baca Juga: <another article's headline>" and its kin in Indonesian, Malay and English. These
# phrases announce a link to another article whatever follows them, so the whole line goes.
_RELATED_PHRASES = (
    r"(baca|simak|lihat|tonton|saksikan|cek|dengarkan|klik) (juga|pula|lagi|selengkapnya)( (video|berita|artikel))?",
    r"(simak|tonton|saksikan|lihat) video( pilihan)?( (berikut|di bawah)( ini)?)?",
    r"(artikel|berita|bacaan|konten|topik|video|pautan) (terkait|berkaitan|lainnya|lain|pilihan|menarik|populer)",
    r"(baca|simak) (berita|artikel) (lainnya|lain|terkait|menarik|sumber|selengkapnya)|jangan lewatkan",
    # Words that open prose too ("Pilihan editor jatuh pada …"): a link only before a separator or alone.
    r"(anda (mungkin )?(juga )?(berminat|suka|tertarik)|pilihan (editor|redaksi))(?=\s*(?:[:|»>›]|$))",
    r"(read|see|watch) (next|more|also)|also (read|see|watch)|related( (articles?|stories|news|content|posts?))?",
    r"more (stories|news) (from|on)\b.*|you (may|might) also like|recommended( (for you|reading|stories))?",
    r"further reading|editor'?s picks?|most read|popular (now|stories)",
)
# A single word such as "Baca" or "Read" is a link marker only when it is shouted ("MEMBACA …", as
# machine-translated pages render READ) or followed by a colon or an arrow ("Baca: …", "Read » …").
_RELATED_WORDS = r"baca|bacaan|membaca|simak|lihat|terkait|berkaitan|read|watch|see"
_RELATED_SEPARATOR = r"\s*(?:[:|»>›]+|[-–—]+(?=\s))\s*"
_RELATED_LINE = re.compile(
    rf"(?:{'|'.join(_RELATED_PHRASES)})\b(?:{_RELATED_SEPARATOR}|\s+|$)(?P<rest>.*)", re.IGNORECASE
)
_RELATED_WORD_LINE = re.compile(rf"(?:{_RELATED_WORDS})(?:{_RELATED_SEPARATOR})(?P<rest>.*)", re.IGNORECASE)
_BRACKETED = re.compile(r"\[(?P<square>[^\[\]]*)\]|\((?P<round>[^()]*)\)")
_SHOUTED_WORD_LINE = re.compile(rf"(?:{_RELATED_WORDS.upper()})\s+(?P<rest>\S.*)")
# "… kata dia. Baca juga: Judul Berita Lain Selain itu, …": a link inside a paragraph, where a
# scraper flattened the page. It follows a sentence's end and has a separator; the headline is
# the run of capitalised words after it (news headlines are title case), less the word that
# starts the next sentence. In brackets ("[Baca juga: …]") the brackets bound it.
_INLINE_PHRASES = r"(?:baca|simak|lihat) (?:juga|pula|lagi)|read (?:also|more|next)|also read"
_INLINE_MARKER = re.compile(
    rf"(?<=[.!?\"”’)])\s+(?:{_INLINE_PHRASES}|tonton (?:juga|pula|lagi)|berita (?:terkait|berkaitan))"
    r"\s*(?:[:»>›]|[-–—](?=\s))(?:\s*[-–—](?=\s))?\s*",
    re.IGNORECASE,
)
_INLINE_BRACKETED = re.compile(rf"\s*[\[(]\s*(?:{_INLINE_PHRASES}|baca)\s*[:»>›-][^\[\]()\n]{{1,200}}[\])]",
                               re.IGNORECASE)
# Lower-case words and signs inside a title-case headline, Indonesian, Malay and English.
_JOINERS = """di ke dari dan untuk yang dengan pada oleh atau vs vs. tak & - – — | :
    a an the of in on at to for and or as by with from after over"""
_HEADLINE_JOINERS = frozenset(_JOINERS.split())
# After a bare "Baca Juga:" line, the headlines it links to follow on their own lines.
_LINKED_HEADLINES_MAX = 5
_HEADLINE_MAX_WORDS = 25

_FURNITURE = re.compile(
    "|".join(f"(?:{pattern})" for pattern in _FURNITURE_PATTERNS.values()), re.IGNORECASE
)
_FOOTER = re.compile("|".join(f"(?:{pattern})" for pattern in _FOOTER_PATTERNS), re.IGNORECASE)
# A footer marker only ends the article in its last part: "Editor:" in paragraph two is prose.
_FOOTER_ZONE = 0.6
_BULLET = re.compile(r"^[\s•·\-–—*>]+")
_CAPTION_CREDIT = re.compile(r"\((?:foto|dok|ilustrasi|photo|[\w.@-]+\.(?:com|id|net|org|ru|go\.id)\b)[^)]*\)\s*$",
                             re.IGNORECASE)
# "Jakarta, IDN Times – " / "SEOUL, iNews.id - ": the dateline is not part of a sentence.
_DATELINE = re.compile(r"^[\w .,/]{1,40}\s[–—-]\s+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"“])")
_MAX_TITLE_CHARS = 200
_TITLE_SEARCH_LINES = 8
_MASTHEAD_SCRAP_WORDS = 3  # a line this short above the headline is the site's, not the story's
_TITLE_LINE_SCAN = 8 * MAX_TITLE_CHARS


@dataclass(frozen=True, slots=True)
class CleanText:
    title: str
    text: str
    removed_lines: int


def normalise_line(line: str) -> str:
    return _BULLET.sub("", line).strip().strip(_QUOTES).strip()


def is_furniture(line: str) -> bool:
    normalised = normalise_line(line)
    return bool(_FURNITURE.fullmatch(normalised)) or related_link(normalised) is not None


def related_link(line: str) -> str | None:
    """What follows the marker when ``line`` (normalised) links to another article, else None.

    "Baca juga: Judul" -> "Judul"; a bare "Baca Juga:" -> "" (its headlines are on the next lines).
    A shouted marker ("MEMBACA Judul") counts only before a headline, so prose is never taken.
    """
    line = _unbracketed(line)
    for pattern in (_RELATED_LINE, _RELATED_WORD_LINE):
        found = pattern.fullmatch(line)
        if found is not None and _phrase_is_not_prose(line, found.group("rest")):
            return found.group("rest").strip()
    shouted = _SHOUTED_WORD_LINE.fullmatch(line)
    if shouted is not None and looks_like_linked_headline(shouted.group("rest")):
        return shouted.group("rest").strip()
    return None


def _unbracketed(line: str) -> str:
    """"[Baca juga: Judul]" and "(Baca: Judul)" are the same links, set in brackets."""
    found = _BRACKETED.fullmatch(line)
    return (found.group("square") or found.group("round") or "").strip() if found is not None else line


def _phrase_is_not_prose(line: str, rest: str) -> bool:
    """"Terkait hal itu, polisi …" is a sentence: a one-word marker needs a separator or a headline."""
    if " " in line[: len(line) - len(rest)].strip() or not rest:
        return True
    marker = line[: len(line) - len(rest)]
    return bool(re.search(r"[:|»>›\-–—]\s*$", marker)) or looks_like_linked_headline(rest)


def looks_like_linked_headline(line: str) -> bool:
    """A headline as linked: a few words, starting with a capital or digit, not ending a sentence."""
    words = line.split()
    return (0 < len(words) <= _HEADLINE_MAX_WORDS and (line[0].isupper() or line[0].isdigit() or line[0] in _QUOTES)
            and not line.rstrip(_QUOTES).endswith((".", ",", ";")))


def is_footer(line: str) -> bool:
    return bool(_FOOTER.fullmatch(normalise_line(line)))


def clean_text(raw: str, title_hint: str | None = None, sites: frozenset[str] = frozenset()) -> CleanText:
    """Remove furniture lines and repeats, cut the footer, and pick a title: the headline, without the site's
    name (``sites``: ``titles.site_keys`` of the page's site names and host; see ``titles``)."""
    # Sanitized again here: a message put straight on the queue was never read by kabar, and the text of a
    # page holds what its character references decoded to.
    lines = [sanitize(unicodedata.normalize("NFC", line)).rstrip() for line in raw.replace("\r\n", "\n").split("\n")]
    kept = _cut_footer(lines)
    kept = [_without_inline_links(line) for line in _without_related_links(kept)]
    kept = [line for line in kept if not is_furniture(line)]
    kept = _drop_repeated_lines(kept)
    removed = sum(1 for line in lines if line.strip()) - sum(1 for line in kept if line.strip())
    given_title = clean_title(title_hint or "")
    title = given_title or clean_title(pick_title(kept))
    body = _join_paragraphs(_without_title_line(kept, title))
    if not body and not given_title:  # one paragraph and no headline: its first sentence is the title, and
        # the paragraph stays the body (a page or a push whose only text is its given headline has no body)
        body = _join_paragraphs([line for line in kept if len(line.split()) > _MASTHEAD_SCRAP_WORDS] or kept)
    return CleanText(title=without_site_name(title, sites), text=body, removed_lines=removed)


def clean_title(title: str) -> str:
    """One line of visible text, at most ``MAX_TITLE_CHARS`` long (see the module's docstring)."""
    visible = " ".join(sanitize(unicodedata.normalize("NFC", title)).split())
    return cut_at_word(visible, MAX_TITLE_CHARS)


def cut_at_word(text: str, limit: int) -> str:
    """``text`` if it fits in ``limit`` characters, else its start cut at a word, with "…" (within ``limit``)."""
    if len(text) <= limit:
        return text
    head = text[: limit - 1]  # room for the ellipsis
    if text[limit - 1] != " ":  # the cut fell inside a word: leave the whole word out
        whole_words = head.rsplit(" ", 1)[0]
        # A title of very long "words" (a URL, a script without spaces) is cut where it is.
        head = whole_words if len(whole_words) >= limit // 2 else head
    return head.rstrip() + "…"


def masked_furniture(raw: str) -> str:
    """``raw`` with what ``clean_text`` removes blanked out, character for character (line breaks kept), so an
    offset into the result is an offset into ``raw``: furniture and "read also" lines, the headlines listed
    under a bare marker, links inside paragraphs, and everything from a footer on. For text whose offsets
    must stay the caller's (``kabar enrich --jsonl``); repeated lines and the title line stay."""
    lines = raw.split("\n")
    footer = _footer_start(lines)
    links = _related_link_lines(lines[:footer])
    masked = []
    for index, line in enumerate(lines):
        if index >= footer or index in links or is_furniture(line):
            masked.append(" " * len(line))
        else:
            masked.append(_without_inline_links(line, blank=True))
    return "\n".join(masked)


def _cut_footer(lines: list[str]) -> list[str]:
    return lines[: _footer_start(lines)]


def _footer_start(lines: list[str]) -> int:
    """The index of the first footer line in the last part of ``lines`` (their count when there is none)."""
    start_of_zone = int(len(lines) * _FOOTER_ZONE)
    for index in range(start_of_zone, len(lines)):
        if lines[index].strip() and is_footer(lines[index]):
            return index
    return len(lines)


def _without_related_links(lines: list[str]) -> list[str]:
    """Drop "read also" lines, and after a bare marker ("Baca Juga:") the headlines listed under it."""
    links = _related_link_lines(lines)
    return [line for index, line in enumerate(lines) if index not in links]


def _related_link_lines(lines: list[str]) -> set[int]:
    """The indices of "read also" lines, and after a bare marker ("Baca Juga:") of the headlines listed under it."""
    links: set[int] = set()
    headlines_to_drop = 0
    for index, line in enumerate(lines):
        normalised = normalise_line(line)
        if not normalised:
            continue
        rest = related_link(normalised)
        if rest is not None:
            headlines_to_drop = 0 if rest else _LINKED_HEADLINES_MAX
            links.add(index)
        elif headlines_to_drop and looks_like_linked_headline(normalised):
            headlines_to_drop -= 1
            links.add(index)
        else:
            headlines_to_drop = 0
    return links


def _without_inline_links(line: str, *, blank: bool = False) -> str:
    """A paragraph without the "read also" links set inside it (see ``_INLINE_MARKER``); with ``blank``, each
    link's characters become spaces instead, so the paragraph keeps its length."""
    if not _INLINE_MARKER.search(line) and "[" not in line and "(" not in line:
        return line
    line = _INLINE_BRACKETED.sub((lambda found: " " * len(found.group())) if blank else "", line)
    searched_to = 0
    while (marker := _INLINE_MARKER.search(line, searched_to)) is not None:
        after = line[marker.end():]
        headline_words = _linked_headline_words(after)
        if headline_words is None:
            break  # no headline that can be told from the prose after it: leave the line as written
        rest = after.split(" ")[headline_words:]
        if blank:
            rest_start = len(line) - len(" ".join(rest)) if rest else len(line)
            line = line[: marker.start()] + " " * (rest_start - marker.start()) + line[rest_start:]
            searched_to = rest_start
        else:
            line = (line[: marker.start()] + (" " + " ".join(rest) if rest else "")).rstrip()
    return line


def _linked_headline_words(after: str) -> int | None:
    """How many space-separated words after an inline marker are the linked headline."""
    words = after.split(" ")
    if not re.search(r"[.!?](?:\s|$)", after.rstrip(_QUOTES)) and len(words) <= _HEADLINE_MAX_WORDS:
        return len(words)  # the paragraph ends with the link
    run = 0
    while run < len(words) and _headline_word(words[run]):
        run += 1
    if run == len(words):
        return run
    # The last capitalised word before the prose starts the next sentence ("… Dibongkar Untuk
    # memberikan …"), with the word before it when it opens a clause ("… Menurut Airlangga, pusat").
    start_of_sentence = run - 1
    while start_of_sentence > 0 and not words[start_of_sentence][:1].isupper():
        start_of_sentence -= 1
    if start_of_sentence > 0 and words[start_of_sentence].endswith(","):
        start_of_sentence -= 1
    return start_of_sentence if start_of_sentence >= 2 else None


def _headline_word(word: str) -> bool:
    return bool(word) and (word[0].isupper() or word[0].isdigit() or word[0] in _QUOTES
                           or any(char.isupper() for char in word) or word.lower() in _HEADLINE_JOINERS)


def _drop_repeated_lines(lines: list[str]) -> list[str]:
    """Pages repeat captions and headlines; keep each non-empty line once."""
    seen: set[str] = set()
    result = []
    for line in lines:
        key = normalise_line(line).casefold()
        if key and key in seen:
            continue
        seen.add(key)
        result.append(line)
    return result


def pick_title(lines: list[str]) -> str:
    """The first headline-like line near the top, else the first sentence of the text."""
    candidates = [line.strip() for line in lines if line.strip()][:_TITLE_SEARCH_LINES]
    for line in candidates:
        if _looks_like_headline(line):
            return line
    first_paragraph = next(
        (line.strip() for line in lines if len(line.split()) >= 8 and not _BULLET.match(line)), ""
    )
    fallback = candidates[0][:_MAX_TITLE_CHARS] if candidates else ""
    return _first_sentence(_DATELINE.sub("", first_paragraph)) or fallback


def _looks_like_headline(line: str) -> bool:
    words = line.split()
    return (
        3 <= len(words) <= 25
        and len(line) <= _MAX_TITLE_CHARS
        and not line.endswith((".", ":", "…", ","))
        and not _BULLET.match(line)
        and not re.match(r"^\d+[.)]\s", line)
        and not _CAPTION_CREDIT.search(line)
    )


def _first_sentence(paragraph: str) -> str:
    sentence = _SENTENCE_END.split(paragraph, maxsplit=1)[0].strip()
    if len(sentence) <= _MAX_TITLE_CHARS:
        return sentence
    return sentence[:_MAX_TITLE_CHARS].rsplit(" ", 1)[0] + "…"


def _without_title_line(lines: list[str], title: str) -> list[str]:
    """Drop the headline line from the body, with the masthead scraps (short lines) above it."""
    for index, line in enumerate(lines[: _TITLE_SEARCH_LINES * 3]):
        # The title is cleaned, the line not yet. Its first _TITLE_LINE_SCAN characters are enough
        # to find a (cut) title in it, and a 10 MB one-line text is not cleaned whole here.
        if line.strip() and clean_title(line[:_TITLE_LINE_SCAN]) == title:
            above = [kept for kept in lines[:index] if len(kept.split()) > _MASTHEAD_SCRAP_WORDS]
            return above + lines[index + 1:]
    return lines


def _join_paragraphs(lines: list[str]) -> str:
    text = "\n".join(line.strip() for line in lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()
