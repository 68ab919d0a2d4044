"""Hypothesis strategies of good and bad input for the property tests (issue #14).

A *good* file is a seed article with a marker that makes it unique (so each is indexed exactly once,
not skipped as a repeat); a *bad* one is anything an attacker or a broken exporter may drop in a folder:
random bytes, empty files, text that is not UTF-8, JSON of any shape (with lone surrogates, 5,000-digit
numbers, deep nesting, unknown fields), HTML bombs and tag soup, unsupported suffixes, and file names
that are not valid UTF-8.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from hypothesis import strategies as st

from conftest import SEEDS

SEED_TEXTS = [path.read_text() for path in sorted(SEEDS.glob("*.txt"))]
SCALE = 25 if os.environ.get("KABAR_HYPOTHESIS_PROFILE") == "hunt" else 1  # more examples when hunting


def examples(count: int) -> int:
    """``count`` examples in CI (derandomized: the same every run), ``25 x count`` when hunting locally."""
    return count * SCALE


@dataclass(frozen=True)
class InputFile:
    name: bytes  # may be any bytes: file names need not be UTF-8
    data: bytes
    good: bool  # a unique, valid article that must be indexed exactly once

    def write(self, folder: Path) -> Path:
        path = os.fsencode(folder) + b"/" + self.name
        with open(path, "wb") as file:
            file.write(self.data)
        return Path(os.fsdecode(path))


text_strings = st.text(st.characters() | st.characters(categories=["Cs"]), max_size=200)  # lone surrogates too


class HugeNumber:
    """A 5,000-digit number in generated JSON (hypothesis cannot print the int itself: Python's digit limit)."""

    DIGITS: Final = 5000

    def __repr__(self) -> str:
        return f"HugeNumber({self.DIGITS} digits)"

    @property
    def value(self) -> int:
        return int("9" * 4000) * 10 ** (self.DIGITS - 4000)  # built without converting 5,000 digits


json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), text_strings,
                         st.builds(HugeNumber))
json_values = st.recursive(json_scalars, lambda children: st.one_of(
    st.lists(children, max_size=4),
    st.dictionaries(st.sampled_from(["url", "title", "text", "html", "published_at", "x", "\ud800"]) | text_strings,
                    children, max_size=5)), max_leaves=12)


_HUGE: Final = "__kabar_huge_number__"


def materialize(value: Any) -> Any:
    """The JSON value with every ``HugeNumber`` as the int itself."""
    if isinstance(value, HugeNumber):
        return value.value
    if isinstance(value, dict):
        return {key: materialize(item) for key, item in value.items()}
    if isinstance(value, list):
        return [materialize(item) for item in value]
    return value


def dump(value: Any) -> bytes:
    """JSON as a client writes it: lone surrogates as \\ud800 escapes, huge numbers in full."""
    def placeholders(item: Any) -> Any:
        if isinstance(item, HugeNumber):
            return _HUGE
        if isinstance(item, dict):
            return {key: placeholders(inner) for key, inner in item.items()}
        if isinstance(item, list):
            return [placeholders(inner) for inner in item]
        return item

    return json.dumps(placeholders(value)).replace(f'"{_HUGE}"', "9" * HugeNumber.DIGITS).encode()


@st.composite
def good_file(draw: st.DrawFn, marker: str) -> InputFile:
    seed = draw(st.sampled_from(SEED_TEXTS))
    title, _, body = seed.partition("\n")
    paragraphs = [line for line in body.splitlines() if line.strip()]
    # Inside the article (a last line like this would be cleaned away as page furniture).
    paragraphs.insert(1, f"Menurut catatan redaksi nomor {marker}, laporan ini disusun dari beberapa sumber resmi.")
    body = "\n\n".join(paragraphs)
    kind = draw(st.sampled_from(["txt", "json", "html"]))
    if kind == "txt":
        data = f"{title}\n\n{body}\n".encode()
    elif kind == "json":
        data = dump({"title": title, "text": body, "url": f"https://news.example.id/{marker}"})
    else:
        paragraphs = "".join(f"<p>{line}</p>" for line in body.splitlines() if line.strip())
        data = (f"<html><head><title>{title}</title></head><body><article><h1>{title}</h1>{paragraphs}"
                "</article></body></html>").encode()
    return InputFile(f"good-{marker}.{kind}".encode(), data, good=True)


bad_data = st.one_of(
    st.binary(max_size=2000),
    st.just(b""),
    st.just(b"  \n\t "),
    st.just("Berita café dari Jakarta".encode("cp1252")),
    json_values.map(dump),
    st.text(max_size=300).map(lambda text: text.encode("utf-8", "surrogatepass")),
    st.integers(1, 600).map(lambda depth: ("[" * depth + "]" * depth).encode()),
    st.integers(400, 700).map(lambda depth: ("<div>" * depth + "x" + "</div>" * depth).encode()),
    st.just(b"<p>x</p>" * 60_000),
    st.builds(lambda soup: soup.encode("utf-8", "surrogatepass"), st.text(st.sampled_from("<>/=\"' abp&;#x"),
                                                                           max_size=300)),
)
bad_names = st.one_of(
    st.sampled_from([b"bad.txt", b"bad.json", b"bad.html", b"bad.htm", b"bad.pdf", b"bad", b"bad.TXT"]),
    st.binary(min_size=1, max_size=12).filter(lambda name: b"/" not in name and b"\x00" not in name
                                               and not name.startswith(b".")).map(lambda name: name + b".json"),
)


@st.composite
def bad_file(draw: st.DrawFn, marker: str) -> InputFile:
    name = draw(bad_names)
    return InputFile(f"{marker}-".encode() + name, draw(bad_data), good=False)


@st.composite
def folders(draw: st.DrawFn, max_good: int = 3, max_bad: int = 4) -> list[InputFile]:
    """A folder's files: good and bad ones, shuffled, with unique names and markers."""
    token = draw(st.uuids()).hex[:10]
    goods = [draw(good_file(f"{token}{index}")) for index in range(draw(st.integers(0, max_good)))]
    bads = [draw(bad_file(f"{token}b{index}")) for index in range(draw(st.integers(1, max_bad)))]
    return draw(st.permutations([*goods, *bads]))
