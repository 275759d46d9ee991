"""Compile duty-expression trees into the core's fixed-size numeric records.

A record holds four clauses (main, lower bound, upper bound, subtracted term).
Each clause is amount = (value*adv + mass*m + volume*v + count*q + alcohol*a) / den
in minor units of the customs currency, with mass, volume and count in
milli-units (grams, millilitres, thousandths of a piece), alcohol in volume_ml x
strength in thousandths of a % vol (1e-8 litre of pure alcohol), and every
coefficient a non-negative int64 over one common denominator.

A specific amount in another currency than the customs currency is converted
with the assessment's exchange rate exactly: its coefficient is the exact
rational amount x rate, and only the clause's amount is rounded (docs/semantics.md
section 5, "Specific duties in another currency").  The reference never uses these
records: it evaluates the trees, so a compiling bug shows up as a difference.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from ..errors import TariffError
from ..money import CURRENCY_EXPONENTS, INT64_MAX
from ..rates import ExchangeRates
from .expr import AdValorem, Bounded, CannotAssess, Expr, Specific, linear_terms

FIELDS = ("adv", "mass", "vol", "qty", "alc")
_KIND_FIELD = {"mass": "mass", "volume": "vol", "count": "qty", "alcohol": "alc"}
#: quantity units per base unit of each kind (kg, litre, piece, litre of pure alcohol)
QUANTITY_SCALE = {"mass": 1000, "volume": 1000, "count": 1000, "alcohol": 10**8}


def minor_per_major(term: Specific, currency: str, exponent: int, rates: ExchangeRates | None) -> Fraction:
    """Customs minor units per major unit of the term's currency: exact, converted at the assessment's rate."""
    if term.currency == currency:
        return Fraction(10**exponent)
    if rates is None or rates.base != currency or not rates.has(term.currency):
        raise TariffError(f"specific duty {term} is in {term.currency}, the customs currency is {currency}, "
                          f"and the assessment has no {term.currency} exchange rate")
    return 10 ** CURRENCY_EXPONENTS[term.currency] * rates.factor(term.currency)


def clause_coefficients(expr: Expr, currency: str, exponent: int,
                        rates: ExchangeRates | None = None) -> dict[str, Fraction]:
    """Exact per-unit coefficients (minor units per value unit or per quantity unit)."""
    coef = dict.fromkeys(FIELDS, Fraction(0))
    for term in linear_terms(expr):
        if isinstance(term, AdValorem):
            coef["adv"] += term.percent / 100
        else:
            assert isinstance(term, Specific)
            per_unit = Fraction(term.amount) * minor_per_major(term, currency, exponent, rates)
            coef[_KIND_FIELD[term.quantity]] += per_unit / (Fraction(term.base_units) * QUANTITY_SCALE[term.quantity])
    return coef


def _clause_record(coef: dict[str, Fraction], expr: Expr) -> tuple[int, ...]:
    den = 1
    for f in coef.values():
        den = den * f.denominator // math.gcd(den, f.denominator)
    nums = [int(coef[k] * den) for k in FIELDS]
    if den > INT64_MAX or max(nums) > INT64_MAX:
        raise TariffError(f"duty expression {expr} needs coefficients beyond 64 bits")
    return (*nums, den)


def compile_measure(expr: Expr, currency: str, exponent: int, rates: ExchangeRates | None = None) -> tuple[int, ...]:
    """One record as a tuple in the field order of _core.MEASURE_DTYPE."""
    zero = (0, 0, 0, 0, 0, 1)
    if isinstance(expr, CannotAssess):
        return (*zero, *zero, *zero, *zero, 0, 0, 1, 0)
    clauses = ((expr.main, expr.minimum, expr.maximum, expr.less) if isinstance(expr, Bounded)
               else (expr, None, None, None))
    try:
        parts = [_clause_record(clause_coefficients(e, currency, exponent, rates), e) if e is not None else zero
                 for e in clauses]
    except TypeError as exc:
        raise TariffError(f"cannot compile {expr}: {exc}") from None
    main, lo, hi, less = clauses
    return (*parts[0], *parts[1], *parts[2], *parts[3], int(lo is not None), int(hi is not None), 0,
            int(less is not None))


def compile_measures(exprs: list[Expr], currency: str, exponent: int,
                     rates: ExchangeRates | None = None) -> np.ndarray:
    """The measure table: one record per expression; `rates` convert specific amounts in other currencies."""
    from .._core import MEASURE_DTYPE
    records = [compile_measure(e, currency, exponent, rates) for e in exprs]
    return np.array(records, dtype=MEASURE_DTYPE)
