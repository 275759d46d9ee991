"""Exact amounts: rounding to a quantum (docs/semantics.md section 9), regime amounts in minor
units, the int64 limit, and largest-remainder allocation (section 10).

Every amount is an exact rational (a Fraction) until it is rounded; rounding is integer
arithmetic on its numerator and denominator, so nothing here depends on a decimal context.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Any

from ..errors import AmountOverflowError, RegimeError
from ..money import CURRENCY_EXPONENTS

INT64_MAX = 2**63 - 1


def fits(x: int, what: str, row: int) -> int:
    """x, when it fits in a signed 64-bit integer; else the overflow, naming the row."""
    if x > INT64_MAX:
        raise AmountOverflowError(f"{what} does not fit in 64-bit minor units", row=row)
    return x


# 9. Rounding


def round_steps(n: int, d: int, mode: str) -> int:
    """n/d (d > 0) rounded to an integer by the mode (the table of section 9), in integers."""
    below = n // d       # floor
    gap = n - below * d  # n/d - below = gap/d, in [0, 1)
    if gap == 0:
        return below
    above = below + 1
    toward_zero, away_from_zero = (below, above) if n > 0 else (above, below)
    if mode == "floor":
        return below
    if mode == "ceiling":
        return above
    if mode == "down":
        return toward_zero
    if mode == "up":
        return away_from_zero
    if 2 * gap < d:
        return below
    if 2 * gap > d:
        return above
    if mode == "half_up":
        return away_from_zero
    if mode == "half_even":
        return below if below % 2 == 0 else above
    raise ValueError(f"unknown rounding mode {mode!r}")


def quantum_in_minor(rounding: Any, exp: int) -> int:
    """A rounding's quantum as minor units of a currency with `exp` places (a whole number: the regime
    checked it when it was built)."""
    q = rounding.quantum.scaleb(exp)
    assert q == q.to_integral_value() and q >= 1, rounding.quantum
    return int(q)


def rounded(x: Fraction, rounding: Any, exp: int) -> int:
    """R(x): x minor units rounded to a multiple of the rounding's quantum, by its mode."""
    q = quantum_in_minor(rounding, exp)
    return round_steps(x.numerator, x.denominator * q, rounding.mode) * q


def regime_minor(amount: Decimal, what: str, regime: Any) -> int:
    """A regime amount (threshold, fixed fee, flat duty...) in minor units of the regime's currency: it
    must be a whole number of them and fit in 64 bits."""
    minor = Fraction(amount) * 10 ** CURRENCY_EXPONENTS[regime.currency]
    if minor.denominator != 1:
        raise RegimeError(f"{what} {amount} is not a whole number of minor units of {regime.currency}")
    if minor > INT64_MAX:
        raise RegimeError(f"{what} {amount} {regime.currency} does not fit in 64-bit minor units")
    return int(minor)


# 10. Largest remainder


def allocate(total: int, weights: list[int]) -> list[int]:
    """Largest remainder: floor shares, then +1 for the largest remainders (earlier first)."""
    k = len(weights)
    if k == 1:
        return [total]
    w = weights if sum(weights) > 0 else [1] * k
    W = sum(w)
    shares = [total * x // W for x in w]
    rems = [total * x % W for x in w]
    left = total - sum(shares)
    for j in sorted(range(k), key=lambda j: (-rems[j], j))[:left]:
        shares[j] += 1
    return shares
