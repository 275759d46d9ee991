"""Every citation is inside the project: regime files and docs cite the official source itself
(legal reference, publication, URL), never a file outside the repository (RULES.md, ../shared,
/work, an absolute path), and every regime file has sources, each with a URL or a legal reference."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import deminimis.regimes
from deminimis.regimes.model import read_toml

ROOT = Path(__file__).resolve().parents[1]
# the regime files as installed (the wheel's tests run without the source tree)
DATA = Path(deminimis.regimes.__file__).resolve().parent / "data"
REGIME_FILES = sorted(DATA.glob("*.toml")) + sorted(DATA.glob("vat/*.toml"))
DOCS = sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md", ROOT / "CHANGELOG.md"]

OUTSIDE = re.compile(r"RULES\.md|\.\./shared|(?<![\w.])/work/|(?<![\w.:/])\.\./\.\.|(?<![\w:/])/(?:home|root|tmp)/")
# a URL or domain, or a legal reference (article, section, regulation, act, CFR, FR, OJ, ...)
CITES = re.compile(r"https?://|\b[\w-]+(?:\.[\w-]+)*\.(?:gov|gob|gouv|govt|gc|admin|europa|eu|int|org|com|net|uk|"
                   r"ch|no|jp|cn|br|sg|au|nz|ca|de|fr|es|ie|ee|fi|lv|lt|bg|ro|sk|cz|at|lu|hr|dk|se|pl|info|"
                   r"news|app|co|ng|us|io|live|am)\b|\b(?:art|arts|article|section|s|reg|regulation|directive|"
                   r"act|law|cfr|fr|oj|order|decree|notice|circular|code|ley|lei|portaria|cbsa|cn)\b[\s.]*\d",
                   re.IGNORECASE)


def _files() -> list[Path]:
    assert REGIME_FILES and all(p.exists() for p in DOCS[-2:])
    return REGIME_FILES + [p for p in DOCS if p.exists()]


def _name(path: Path) -> str:
    """A test id: the path in the clone, or the regime file's name when installed elsewhere."""
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else f"regimes/data/{path.relative_to(DATA)}"


@pytest.mark.parametrize("path", _files(), ids=_name)
def test_no_citation_points_outside_the_project(path: Path) -> None:
    bad = [f"line {i}: {m.group(0)!r}" for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
           for m in OUTSIDE.finditer(line)]
    assert not bad, f"{path.name} cites a path outside the project: {bad}"


@pytest.mark.parametrize("path", sorted(DATA.glob("*.toml")), ids=lambda p: p.name)
def test_every_regime_file_cites_an_official_reference_in_each_source(path: Path) -> None:
    sources = read_toml(path).get("sources", [])
    assert sources, f"{path.name} has no sources"
    weak = [s for s in sources if not CITES.search(s)]
    assert not weak, f"{path.name}: sources without a URL or legal reference: {weak}"


def test_every_dated_rate_has_a_source_with_a_url_or_legal_reference() -> None:
    for path in DATA.glob("vat/*.toml"):
        entries = read_toml(path)["rates"]
        weak = [(e["destination"], str(e["from"])) for e in entries if not CITES.search(e["source"])]
        assert not weak, f"{path.name}: rates without a URL or legal reference: {weak}"


def test_the_checks_would_catch_an_outside_citation() -> None:
    """The patterns themselves: a reference to the shared rules file, a sibling path, /work."""
    for text in ("(RULES.md S7)", "see ../shared/data/x.csv", "/work/shared/RULES.md"):
        assert OUTSIDE.search(text), text
    assert not OUTSIDE.search("docs/regimes.md and src/deminimis/regimes/data/vat/EU.toml")
    assert not CITES.search("secondary tables")
    assert CITES.search("Reg 1186/2009 art 23") and CITES.search("eur-lex.europa.eu/eli/reg/2026/382/oj")
