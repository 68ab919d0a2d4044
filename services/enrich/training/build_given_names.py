"""Build the list of common given names (``kabar_enrich/models/given_names.txt``).

A city's name opening a person's name is often a given name: "Mary Lou McDonald" (Mary is a city in
Turkmenistan), "Mary Jane Veloso", "Florence Griffith Joyner". Without a list of given names, the entity
rules split off such a city as a place, and canonical names cut it off the person's. This script keeps
the given names of the US 1990 census (public domain, as packaged by the ``names`` package, MIT) borne by
at least ``MIN_PERCENT`` of men or of women: rare ones ("Milan", "Paris") are more often the city.

    python services/enrich/training/build_given_names.py

Needs the ``training`` extras (``names``). Deterministic.
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
OUTPUT = ROOT / "services" / "enrich" / "kabar_enrich" / "models" / "given_names.txt"
CENSUS_FILES = ("dist.female.first", "dist.male.first")
MIN_PERCENT = 0.01  # 1 in 10,000: Mary 2.6 %, George 0.93, Austin 0.044; Milan 0.004, Paris 0.004


def common_given_names() -> list[str]:
    names: set[str] = set()
    for file_name in CENSUS_FILES:
        # each line: NAME, percent of people, cumulative percent, rank
        for line in importlib.resources.files("names").joinpath(file_name).read_text(encoding="ascii").splitlines():
            name, percent, *_ = line.split()
            if float(percent) >= MIN_PERCENT:
                names.add(name.title())
    return sorted(names)


def main() -> None:
    names = common_given_names()
    header = (f"# Given names of at least {MIN_PERCENT} % of men or of women in the US 1990 census (public\n"
              "# domain), from the names package (MIT); built by services/enrich/training/build_given_names.py.\n")
    OUTPUT.write_text(header + "\n".join(names) + "\n", encoding="utf-8")
    print(f"{len(names)} given names -> {OUTPUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
