"""Compile duty-expression trees into the core's fixed-size numeric records.

A record holds three clauses (main, lower bound, upper bound).  Each clause is
amount = (value*adv + mass*m + volume*v + count*q) / den in minor units of the
customs currency, with mass, volume and count in milli-units (grams,
millilitres, thousandths of a piece) and every coefficient a non-negative
int64 over one common denominator.  the reference never uses these records: it
evaluates the trees, so a compiling bug shows up as a difference.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from ..errors import TariffError
from ..money import INT64_MAX
from .expr import AdValorem, Bounded, CannotAssess, Expr, Specific, linear_terms

FIELDS = ("adv", "mass", "vol", "qty")
_KIND_FIELD = {"mass": "mass", "volume": "vol", "count": "qty"}


def clause_coefficients(expr: Expr, currency: str, exponent: int) -> dict[str, Fraction]:
    """Exact per-unit coefficients (minor units per value unit or per milli-unit)."""
    coef = dict.fromkeys(FIELDS, Fraction(0))
    for term in linear_terms(expr):
        if isinstance(term, AdValorem):
            coef["adv"] += term.percent / 100
        else:
            assert isinstance(term, Specific)
            if term.currency != currency:
                raise TariffError(
                    f"specific duty {term} is in {term.currency}, the customs currency is {currency}")
            per_milli = Fraction(term.amount) * 10**exponent / (Fraction(term.base_units) * 1000)
            coef[_KIND_FIELD[term.quantity]] += per_milli
    return coef


def _clause_record(coef: dict[str, Fraction], expr: Expr) -> tuple[int, ...]:
    den = 1
    for f in coef.values():
        den = den * f.denominator // math.gcd(den, f.denominator)
    nums = [int(coef[k] * den) for k in FIELDS]
    if den > INT64_MAX or max(nums) > INT64_MAX:
        raise TariffError(f"duty expression {expr} needs coefficients beyond 64 bits")
    return (*nums, den)


def compile_measure(expr: Expr, currency: str, exponent: int) -> tuple[int, ...]:
    """One record as a tuple in the field order of _core.MEASURE_DTYPE."""
    zero = (0, 0, 0, 0, 1)
    if isinstance(expr, CannotAssess):
        return (*zero, *zero, *zero, 0, 0, 1)
    main, lo, hi = (expr.main, expr.minimum, expr.maximum) if isinstance(expr, Bounded) else (expr, None, None)
    try:
        parts = [_clause_record(clause_coefficients(e, currency, exponent), e) if e is not None else zero
                 for e in (main, lo, hi)]
    except TypeError as exc:
        raise TariffError(f"cannot compile {expr}: {exc}") from None
    return (*parts[0], *parts[1], *parts[2], int(lo is not None), int(hi is not None), 0)


def compile_measures(exprs: list[Expr], currency: str, exponent: int) -> np.ndarray:
    from .._core import MEASURE_DTYPE
    records = [compile_measure(e, currency, exponent) for e in exprs]
    return np.array(records, dtype=MEASURE_DTYPE)
