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
from pathlib import Path

import pytest

import deminimis.reference

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
