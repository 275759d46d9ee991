"""The reference decides every amount itself: it imports nothing of the engine and calls none of
the model methods the engine computes with.

The differential tests (test_differential.py) can only find a bug on one side of the comparison.
If the reference imported the engine's tariff lookup, rounding or compiled measures, or called
the model methods the engine computes with (Tariff.lookup, Regime.amount_minor, ...), a bug there
would give both sides the same wrong answer.  This test parses every module of the reference
package with `ast` and fails on any such import (module level or inside a function, relative
imports resolved) or any call of such a method.
"""

from __future__ import annotations

import ast
import datetime as dt
from pathlib import Path

import pytest

import deminimis as dm
import deminimis.reference
from deminimis.reference import lookup
from deminimis.reference.lookup import NaiveTariff
from deminimis.tariff import CannotAssess, Tariff

PACKAGE = "deminimis.reference"
ROOT = Path(deminimis.reference.__file__).parent

#: modules that compute for the engine (a module and everything under it)
FORBIDDEN_MODULES = ("deminimis.engine", "deminimis._core", "deminimis._encode", "deminimis._arrow",
                     "deminimis.tariff.compile", "deminimis.tariff.algebra", "deminimis.rounding")

#: model methods the engine computes with, and the engine's rounding and reading helpers
FORBIDDEN_CALLS = frozenset({"lookup", "resolve", "amount_minor", "category_of", "in_force", "excludes",
                             "rule_slots", "aggregations", "factor", "round_ratio", "to_minor"})


def _absolute(module: str | None, level: int, here: str) -> str:
    """An import's module as an absolute name (`here` is the importing module's package)."""
    if level == 0:
        return module or ""
    parts = here.split(".")
    base = parts[:len(parts) - (level - 1)]
    return ".".join(base + ([module] if module else []))


def imported_modules(tree: ast.AST, package: str) -> list[str]:
    """Every module an `import` or `from ... import` names, anywhere in the tree; for `from X import y`
    both X and X.y (y may be a module)."""
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            source = _absolute(node.module, node.level, package)
            out.append(source)
            out += [f"{source}.{alias.name}" for alias in node.names]
    return out


def used_names(tree: ast.AST, package: str) -> list[str]:
    """The forbidden names the code uses: called (`f(...)`, `x.f(...)`), read as an attribute (`x.f`,
    a method passed around uncalled is still used), or imported from outside the reference.

    `factor` is also a field (VatSpec.factor, VatReduction.factor, read as data): only a call of it
    (ExchangeRates.factor) counts."""
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, (ast.Name, ast.Attribute)):
            out.append(node.func.id if isinstance(node.func, ast.Name) else node.func.attr)
        elif isinstance(node, ast.Attribute) and node.attr != "factor":
            out.append(node.attr)
        elif isinstance(node, ast.ImportFrom) and not _absolute(node.module, node.level, package).startswith(PACKAGE):
            out += [alias.name for alias in node.names]
    return [name for name in out if name in FORBIDDEN_CALLS]


def violations(source: str, package: str = PACKAGE) -> list[str]:
    tree = ast.parse(source)
    found = [f"imports {m}" for m in imported_modules(tree, package)
             if any(m == bad or m.startswith(bad + ".") for bad in FORBIDDEN_MODULES)]
    found += [f"uses {name}" for name in used_names(tree, package)]
    return found


def reference_modules() -> list[Path]:
    return sorted(ROOT.rglob("*.py"))


def test_the_reference_is_a_package_of_several_modules() -> None:
    names = {p.stem for p in reference_modules()}
    assert {"__init__", "reading", "lookup", "measures", "rules", "steps", "amounts"} <= names


@pytest.mark.parametrize("path", reference_modules(), ids=lambda p: p.name)
def test_no_engine_import_and_no_engine_method(path: Path) -> None:
    assert violations(path.read_text(encoding="utf-8")) == []


def test_the_public_names_still_import() -> None:
    from deminimis.reference import assess, duty_amount, explain, linear_amount
    assert all(callable(f) for f in (assess, duty_amount, explain, linear_amount))


# ------------------------------------------------------------------ the check can fail


@pytest.mark.parametrize("source,expected", [
    ("import deminimis.engine", "imports deminimis.engine"),
    ("from deminimis.engine.params import core_params", "imports deminimis.engine.params"),
    ("from .. import _core", "imports deminimis._core"),
    ("from ..tariff import compile", "imports deminimis.tariff.compile"),
    ("from ..tariff.algebra import stack", "imports deminimis.tariff.algebra"),
    ("def f():\n    from ..rounding import Rounding\n", "imports deminimis.rounding"),
    ("from ... import _encode", None),  # beyond the top package: resolved, not deminimis._encode
    ("import deminimis._arrow as a", "imports deminimis._arrow"),
    ("x = tariff.lookup(code, origin, on=day)", "uses lookup"),
    ("x = reg.amount_minor(t, 'threshold')", "uses amount_minor"),
    ("x = reg.vat.category_of(code)", "uses category_of"),
    ("ok = reg.in_force(on)", "uses in_force"),
    ("ok = rule.excludes(code, origin)", "uses excludes"),
    ("slots = reg.rule_slots()", "uses rule_slots"),
    ("aggs = reg.aggregations()", "uses aggregations"),
    ("f = rates.factor(cur)", "uses factor"),
    ("r = tariff.resolve(codes)", "uses resolve"),
    ("from ..money import to_minor", "uses to_minor"),
    ("check = reg.in_force", "uses in_force"),
    ("from ..rounding import round_ratio", "uses round_ratio"),
    ("x = reg.vat.factor * reduction.factor", None),  # fields, read as data
])
def test_a_forbidden_import_or_call_is_found(source: str, expected: str | None) -> None:
    found = violations(source)
    if expected is None:
        assert found == [], found
    else:
        assert expected in found, found


def test_allowed_imports_pass() -> None:
    source = ("from ..tariff.table import Measure, Tariff\nfrom ..regimes.model import Regime\n"
              "from ..money import CURRENCY_EXPONENTS\nfrom . import lookup\nimport decimal\n"
              "x = reg.valuation_factor\n")
    assert violations(source) == []


# ------------------------------------------------------------------ the reference's own lookup


def _hand_made() -> Tariff:
    """Every rule of the lookup at least once: nested lines, dated and several rates, origin programs,
    additional duties on prefixes and for origins, seasonal rates, chapter 99 references, lines under a
    short code, additional duties without a rate."""
    t = Tariff.from_records([
        {"code": "6109", "duty": "12%"},
        {"code": "610910", "duty": "10% MIN 1 EUR/kg MAX 3 EUR/kg"},
        {"code": "6109100010", "duty": "8%", "valid_to": "2026-11-28"},
        {"code": "6109100010", "duty": "9%", "valid_from": "2026-11-28"},
        {"code": "6109100020", "duty": "2 EUR/kg", "valid_from": "2026-11-28"},
        {"code": "6109100020", "duty": "3%", "valid_from": "2026-11-28", "program": "x"},
        {"code": "6109", "origin": "CN", "duty": "25%"},
        {"code": "610910", "origin": "VN", "duty": "4%", "program": "A"},
        {"code": "610910", "origin": "VN", "duty": "3% + 1 EUR/kg", "program": "B"},
        {"code": "610910", "origin": "VN", "duty": "5%", "program": "C"},
        {"code": "610990", "origin": "VN", "duty": "4%", "program": "A"},
        {"code": "610990", "origin": "VN", "duty": "5%", "program": "B"},
        {"code": "6109", "measure": "additional", "duty": "1 EUR/kg + 2%"},
        {"code": "610910", "measure": "additional", "origin": "CN TR", "duty": "7.5%", "valid_to": "2026-11-29"},
        {"code": "0702", "duty": "8.8% (01 NOV-14 MAY), 14.4% (15 MAY-31 OCT)"},
        {"code": "0703", "duty": "10% (01 JAN-31 MAR)"},
        {"code": "84713001", "duty": "2%"},
        {"code": "84713002", "duty": "2%"},
        {"code": "84716001", "duty": "2%"},
        {"code": "84716002", "duty": "3%"},
        {"code": "9903880", "duty": "The duty provided in the applicable subheading + 25%"},
        {"code": "99038803", "measure": "additional", "duty": "The duty provided in the applicable subheading + 7.5%"},
        {"code": "8517", "measure": "additional", "origin": "CN", "duty": "See 9903.88.03"},
        {"code": "8517", "measure": "additional", "duty": "No change"},
        {"code": "8518", "measure": "additional", "duty": "5%"},
        {"code": "6109", "measure": "additional", "origin": "US", "duty": "See 9903.88.99"},
        {"code": "8519", "duty": "3% MIN 1 EUR/kg"},
        {"code": "8519", "measure": "additional", "duty": "2% MAX 1 EUR/kg"},
        {"code": "0101", "duty": CannotAssess("agricultural component", "EA")},
        {"code": "0101", "measure": "additional", "duty": "5%"},
    ])
    return t


def _codes_to_try(tariff: Tariff) -> list[str]:
    """Every line's code and its prefixes of 4 to 10 digits, and codes one digit longer."""
    out = set()
    for m in tariff.measures():
        for n in range(4, 11):
            out.add((m.code + "0000000000")[:n])
            out.add(m.code[:n])
    return sorted(c for c in out if len(c) >= 4)


def _agree(tariff: Tariff, codes: list[str], origins: list[str], days: list[dt.date | None]) -> set[str]:
    """Every (code, origin, day): the reference's lookup gives Tariff.lookup's duty; the kinds of duty
    and the reasons met."""
    naive = NaiveTariff(tariff)
    met = set()
    for code in codes:
        for origin in origins:
            for day in days:
                found = tariff.lookup(code, origin, on=day)
                duty = naive.duty(code, origin, day)
                assert duty == (None if found is None else found[0]), (code, origin, day)
                met.add(getattr(duty, "reason", type(duty).__name__))
    return met


DAYS = [None, dt.date(2026, 1, 15), dt.date(2026, 7, 1), dt.date(2026, 11, 27), dt.date(2026, 11, 28),
        dt.date(2026, 11, 29)]


def test_the_lookup_agrees_with_the_tariffs_on_a_hand_made_tariff() -> None:
    t = _hand_made()
    codes = _codes_to_try(t) + ["6109100030", "8517120000", "8518000000", "0101210000", "8519000000", "3303000000"]
    met = _agree(t, codes, ["", "CN", "VN", "TR", "US"], DAYS)
    assert {"NoneType", "AdValorem", "Compound", "Bounded", "agricultural component"} <= met
    assert {lookup.AMBIGUOUS, lookup.SEVERAL_RATES, lookup.SEVERAL_DATED, lookup.STACK_BOUNDS, lookup.NO_BASE,
            lookup.HEADING, lookup.APPLICABLE_ALONE, lookup.SEASON_NEEDS_DATE, lookup.NO_SEASON} <= met, met


@pytest.mark.parametrize("jurisdiction", ["EU", "US", "UK"])
def test_the_lookup_agrees_with_the_tariffs_on_the_samples(jurisdiction: str) -> None:
    t = dm.tariff.sample(jurisdiction)
    origins = ["", *sorted({o for m in t.measures() for o in (m.origins or ())}), "ZZ"]
    assert "AdValorem" in _agree(t, _codes_to_try(t), origins, [None, dt.date(2026, 11, 28)])


# ------------------------------------------------------------------ the reference's own rounding

#: docs/semantics.md section 9: mode -> what 2.5, -2.5, 2.4, -2.4 round to
ROUNDING_TABLE = {"half_up": (3, -3, 2, -2), "half_even": (2, -2, 2, -2), "down": (2, -2, 2, -2),
                  "up": (3, -3, 3, -3), "floor": (2, -3, 2, -3), "ceiling": (3, -2, 3, -2)}


@pytest.mark.parametrize("mode", sorted(ROUNDING_TABLE))
def test_rounding_follows_the_table_of_section_9(mode: str) -> None:
    from deminimis.reference.amounts import round_steps
    got = tuple(round_steps(n, 10, mode) for n in (25, -25, 24, -24))
    assert got == ROUNDING_TABLE[mode]
    assert round_steps(35, 10, "half_even") == 4 and round_steps(30, 10, mode) == 3  # ties to even; exact


def test_rounding_to_a_quantum() -> None:
    from fractions import Fraction

    from deminimis.reference.amounts import rounded
    from deminimis.regimes.model import Regime
    r = Regime.from_dict({"id": "q", "currency": "CHF", "vat": {"rates": {"CH": {"standard": "8.1"}}},
                          "rounding": {"vat": {"mode": "half_up", "quantum": "0.05"}}}).rounding["vat"]
    assert [rounded(Fraction(x), r, 2) for x in (1247, 1248, Fraction(2499, 2), 1252)] == [1245, 1250, 1250, 1250]
