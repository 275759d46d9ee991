"""Duty expressions evaluated from their trees (docs/semantics.md section 5, "Tariff"), and the
statement of which trees the engine refuses to compile.

The engine compiles each tree into a numeric record; the reference never does: it sums the
terms exactly and rounds each clause once, so a compiling bug shows up as a difference.
"""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction
from typing import Any

from ..errors import TariffError
from ..rates import ExchangeRates
from ..tariff.expr import UNIT_SYNONYMS, UNITS, AdValorem, Bounded, CannotAssess, Compound, Expr, Specific
from .amounts import INT64_MAX, rounded

#: the item's quantities are counted in these parts of the unit's base: thousandths of a kg, litre or
#: piece; pure alcohol as millilitres x thousandths of a % vol, that is 1e-8 litre of pure alcohol
PARTS_PER_BASE = {"mass": 1000, "volume": 1000, "count": 1000, "alcohol": 1000 * 1000 * 100}


def _unit(t: Specific) -> tuple[str, Decimal]:
    """The quantity kind a specific duty's unit measures, and how many kg, litres or pieces one unit is."""
    name = t.unit.lower()
    return UNITS[UNIT_SYNONYMS.get(name, name)]


def quantity_of(t: Specific) -> str:
    """"mass", "volume", "count" or "alcohol" (litres of pure alcohol)."""
    return _unit(t)[0]


def per_unit(t: Specific) -> Decimal:
    """How many kg, litres or pieces the amount of a specific duty is charged per."""
    return t.per * _unit(t)[1]


def _clauses(expr: Expr) -> list[Expr]:
    if isinstance(expr, Bounded):
        return [p for p in (expr.main, expr.minimum, expr.maximum, expr.less) if p is not None]
    return [expr]


def quantities_needed(expr: Expr) -> set[str]:
    """The quantity kinds a duty charges per (an item without them cannot be assessed); pure alcohol
    is read from the strength and the volume, so it needs both."""
    if isinstance(expr, Specific):
        kind = quantity_of(expr)
        return {kind, "volume"} if kind == "alcohol" else {kind}
    if isinstance(expr, Compound):
        return {k for t in expr.terms for k in quantities_needed(t)}
    if isinstance(expr, Bounded):
        return {k for part in _clauses(expr) for k in quantities_needed(part)}
    return set()


def in_customs_minor(t: Specific, currency: str, exp: int, rates: ExchangeRates | None) -> Fraction:
    """The specific amount in minor units of the customs currency, exactly: an amount in another
    currency at the assessment's rate, never rounded (only the clause's duty is)."""
    minor = Fraction(t.amount) * 10**exp
    if t.currency == currency:
        return minor
    if rates is None or rates.base != currency or t.currency not in rates.rates:
        raise TariffError(f"specific duty {t} is in {t.currency}, the customs currency is {currency}, "
                          f"and the assessment has no {t.currency} exchange rate")
    rate = Fraction(rates.rates[t.currency])
    return minor / rate if rates.quote == "foreign_per_base" else minor * rate


def linear_amount(expr: Expr, value: int, qty: dict[str, int], currency: str, exp: int,
                  rates: ExchangeRates | None = None) -> Fraction:
    """The exact amount (minor units) of a sum of ad valorem and specific terms."""
    if isinstance(expr, AdValorem):
        return value * expr.percent / 100
    if isinstance(expr, Specific):
        kind = quantity_of(expr)
        base_units = Fraction(qty[kind]) / PARTS_PER_BASE[kind]
        return base_units * in_customs_minor(expr, currency, exp, rates) / Fraction(per_unit(expr))
    if isinstance(expr, Compound):
        return sum((linear_amount(t, value, qty, currency, exp, rates) for t in expr.terms), Fraction(0))
    raise TariffError(f"cannot evaluate {expr} as a sum")


def duty_amount(expr: Expr, value: int, qty: dict[str, int], currency: str, exp: int, rounding: Any,
                rates: ExchangeRates | None = None) -> int:
    """Evaluate a tree: main, at least the minimum, at most the maximum, less the subtracted term (never
    below zero), each rounded."""
    def clause(e: Expr) -> int:
        return rounded(linear_amount(e, value, qty, currency, exp, rates), rounding, exp)

    if isinstance(expr, Bounded):
        d = clause(expr.main)
        if expr.minimum is not None:
            d = max(d, clause(expr.minimum))
        if expr.maximum is not None:
            d = min(d, clause(expr.maximum))
        if expr.less is not None:
            d = max(0, d - clause(expr.less))
        return d
    return clause(expr)


def check_compilable(expr: Expr, currency: str, exp: int, rates: ExchangeRates | None = None) -> None:
    """Refuse what the engine refuses to compile (TariffError).

    The engine holds each clause (main, minimum, maximum, subtracted term) as one record: a
    coefficient per unit of value, per gram, per millilitre, per thousandth of a piece and per
    1e-8 litre of pure alcohol, each a non-negative int64 over one common int64 denominator.  So
    it refuses a clause that is not a sum of ad valorem and specific terms, a specific duty in a
    currency the assessment has no exchange rate for, and a clause whose coefficients over their
    least common denominator need more than 64 bits.  A line that cannot be assessed compiles (to
    nothing).
    """
    if isinstance(expr, CannotAssess):
        return
    clauses = _clauses(expr)
    nothing = dict.fromkeys(PARTS_PER_BASE, 0)
    for clause in clauses:  # a sum, and in a currency with a rate (raises otherwise)
        linear_amount(clause, 0, nothing, currency, exp, rates)
    for clause in clauses:
        per = {"value": Fraction(0), **dict.fromkeys(PARTS_PER_BASE, Fraction(0))}
        for t in flat_terms(clause):
            if isinstance(t, AdValorem):
                per["value"] += t.percent / 100
            else:
                kind = quantity_of(t)
                per[kind] += linear_amount(t, 0, {**nothing, kind: 1}, currency, exp, rates)
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
