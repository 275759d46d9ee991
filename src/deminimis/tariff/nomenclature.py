"""The HS nomenclature's six-digit subheadings, per edition, and whether an item code is one of them.

The World Customs Organization's Harmonized System is the first six digits of every national tariff
(the EU's CN, the US HTS, the UK tariff); each edition (HS 2017, HS 2022) adds, splits and deletes
subheadings.  A code whose first six digits are no subheading of the tariff's edition was mistyped,
or classified under another edition: either way no line of the tariff was meant for it.

The lists (``data/hs2017_subheadings.txt``, ``data/hs2022_subheadings.txt``, one code a line) are
derived from the WCO nomenclature as published in the open dataset ``datasets/harmonized-system``
(data/README.md says how); regenerate them with::

    python -m deminimis.tariff.nomenclature ../shared/data/hs_nomenclature
"""

from __future__ import annotations

import csv
import os
import sys
from functools import cache

#: the editions built in, oldest first
EDITIONS = ("2017", "2022")

#: chapters the HS leaves to national use (98, 99: special classification provisions, US chapter 99
#: measures); a code there is no HS code and is not checked
NATIONAL_CHAPTERS = ("98", "99")

#: the dataset's files per edition, and the rows that are no WCO subheading
SOURCES = {"2017": "harmonized-system-hs2017.csv", "2022": "harmonized-system.csv"}
NOT_SUBHEADINGS = frozenset({"999999"})  # "commodities not specified according to kind": trade statistics


def check_edition(edition: object) -> str | None:
    """The edition as given (None: none), or ValueError naming the editions built in."""
    if edition is None or (isinstance(edition, str) and edition in EDITIONS):
        return edition
    raise ValueError(f"hs_edition must be one of {EDITIONS} or None, got {edition!r}")


@cache
def subheadings(edition: str) -> frozenset[str]:
    """The six-digit subheadings of an HS edition."""
    from importlib import resources
    text = (resources.files(__package__) / "data" / f"hs{edition}_subheadings.txt").read_text(encoding="ascii")
    return frozenset(line for line in text.splitlines() if line and not line.startswith("#"))


@cache
def _prefixes(edition: str) -> frozenset[str]:
    """Every subheading and its first 4 and 5 digits (a heading, or a one-dash subheading)."""
    return frozenset(c[:n] for c in subheadings(edition) for n in (4, 5, 6))


def code_problem(code: str, edition: str) -> str | None:
    """Why an item code (4 to 10 digits) is not of the edition's nomenclature, or None.

    A code of 6 digits or more must begin with a subheading; a shorter one must begin one.  The
    message says when the code is a subheading of another edition."""
    if code.startswith(NATIONAL_CHAPTERS) or code[:6] in _prefixes(edition):
        return None
    problem = f"{code[:6]} is not a subheading of HS {edition}"
    other = [e for e in EDITIONS if e != edition and code[:6] in _prefixes(e)]
    if other:
        return problem + f" (an HS {other[-1]} code; the tariff is HS {edition})"
    return problem + ", the tariff's edition"


def derive(folder: str, edition: str) -> list[str]:
    """The subheadings of an edition from the dataset's CSV: the rows of level 6, less NOT_SUBHEADINGS."""
    with open(os.path.join(folder, SOURCES[edition]), newline="", encoding="utf-8-sig") as f:
        return sorted({r["hscode"] for r in csv.DictReader(f) if r["level"] == "6"} - NOT_SUBHEADINGS)


def main(folder: str) -> None:  # pragma: no cover - run by hand
    here = os.path.join(os.path.dirname(__file__), "data")
    for edition in EDITIONS:
        codes = derive(folder, edition)
        with open(os.path.join(here, f"hs{edition}_subheadings.txt"), "w", encoding="ascii", newline="\n") as f:
            f.write(f"# HS {edition} six-digit subheadings (WCO); see data/README.md\n")
            f.write("\n".join(codes) + "\n")
        print(f"HS {edition}: {len(codes)} subheadings")


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1])
