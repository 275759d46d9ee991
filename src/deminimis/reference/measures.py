"""Duty expressions evaluated from their trees (docs/semantics.md section 5, "Tariff"), and the
statement of which trees the engine refuses to compile.

The engine compiles each tree into a numeric record; the reference never does: it sums the
terms exactly and rounds once, so a compiling bug shows up as a difference.
"""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction
from typing import Any

from ..errors import TariffError
from ..tariff.expr import UNIT_SYNONYMS, UNITS, AdValorem, Bounded, CannotAssess, Compound, Expr, Specific
from .amounts import INT64_MAX, rounded


def _unit(t: Specific) -> tuple[str, Decimal]:
    """The quantity kind a specific duty's unit measures, and how many kg, litres or pieces one unit is."""
    name = t.unit.lower()
    return UNITS[UNIT_SYNONYMS.get(name, name)]


def quantity_of(t: Specific) -> str:
    """"mass", "volume" or "count"."""
    return _unit(t)[0]


def per_unit(t: Specific) -> Decimal:
    """How many kg, litres or pieces the amount of a specific duty is charged per."""
    return t.per * _unit(t)[1]


def quantities_needed(expr: Expr) -> set[str]:
    """The quantity kinds a duty charges per (an item without them cannot be assessed)."""
    if isinstance(expr, Specific):
        return {quantity_of(expr)}
    if isinstance(expr, Compound):
        return {k for t in expr.terms for k in quantities_needed(t)}
    if isinstance(expr, Bounded):
        return {k for part in (expr.main, expr.minimum, expr.maximum) if part is not None
                for k in quantities_needed(part)}
    return set()


def linear_amount(expr: Expr, value: int, qty: dict[str, int], currency: str, exp: int) -> Fraction:
    """The exact amount (minor units) of a sum of ad valorem and specific terms."""
    if isinstance(expr, AdValorem):
        return value * expr.percent / 100
    if isinstance(expr, Specific):
        if expr.currency != currency:
            raise TariffError(f"specific duty {expr} is in {expr.currency}, the customs currency is {currency}")
        # quantities are in thousandths of the unit's base (g, ml, 1/1000 piece)
        return Fraction(qty[quantity_of(expr)]) * Fraction(expr.amount) * 10**exp / (Fraction(per_unit(expr)) * 1000)
    if isinstance(expr, Compound):
        return sum((linear_amount(t, value, qty, currency, exp) for t in expr.terms), Fraction(0))
    raise TariffError(f"cannot evaluate {expr} as a sum")


def duty_amount(expr: Expr, value: int, qty: dict[str, int], currency: str, exp: int, rounding: Any) -> int:
    """Evaluate a tree: main, at least the minimum, at most the maximum, each rounded."""
    if isinstance(expr, Bounded):
        d = rounded(linear_amount(expr.main, value, qty, currency, exp), rounding, exp)
        if expr.minimum is not None:
            d = max(d, rounded(linear_amount(expr.minimum, value, qty, currency, exp), rounding, exp))
        if expr.maximum is not None:
            d = min(d, rounded(linear_amount(expr.maximum, value, qty, currency, exp), rounding, exp))
        return d
    return rounded(linear_amount(expr, value, qty, currency, exp), rounding, exp)


def check_compilable(expr: Expr, currency: str, exp: int) -> None:
    """Refuse what the engine refuses to compile (TariffError).

    The engine holds each clause (main, minimum, maximum) as one record: a coefficient per unit
    of value, per gram, per millilitre and per thousandth of a piece, each a non-negative int64
    over one common int64 denominator.  So it refuses a clause that is not a sum of ad valorem
    and specific terms, a specific duty in another currency than the customs currency, and a
    clause whose coefficients over their least common denominator need more than 64 bits.  A
    line that cannot be assessed compiles (to nothing).
    """
    if isinstance(expr, CannotAssess):
        return
    given = [expr.main, expr.minimum, expr.maximum] if isinstance(expr, Bounded) else [expr]
    clauses: list[Expr] = [c for c in given if c is not None]
    nothing = {"mass": 0, "volume": 0, "count": 0}
    for clause in clauses:  # a sum, and in the customs currency (raises otherwise)
        linear_amount(clause, 0, nothing, currency, exp)
    for clause in clauses:
        per = {"value": Fraction(0), "mass": Fraction(0), "volume": Fraction(0), "count": Fraction(0)}
        one_of_each = {"mass": 1, "volume": 1, "count": 1}
        for t in flat_terms(clause):
            if isinstance(t, AdValorem):
                per["value"] += t.percent / 100
            else:
                kind = quantity_of(t)
                per[kind] += linear_amount(t, 0, {**nothing, kind: one_of_each[kind]}, currency, exp)
        common = 1
        for c in per.values():
            common = common * c.denominator // math.gcd(common, c.denominator)
        if common > INT64_MAX or any(c * common > INT64_MAX for c in per.values()):
            raise TariffError(f"duty expression {clause} needs coefficients beyond 64 bits")


def flat_terms(e: Any) -> list[AdValorem | Specific]:
    """The ad valorem and specific terms of a sum, in order; TypeError for anything else."""
    if isinstance(e, (AdValorem, Specific)):
        return [e]
    if isinstance(e, Compound):
        return [t for part in e.terms for t in flat_terms(part)]
    raise TypeError(f"not a sum of ad valorem and specific terms: {e}")
