"""Exchange-rate tables of exact decimal rates.

``ExchangeRates({"USD": "1.0876"}, base="EUR")`` quotes foreign units per base
unit, as the ECB does: 1 EUR = 1.0876 USD, so USD amounts are *divided* by
1.0876.  ``quote="base_per_foreign"`` takes the other quotation (1 USD = 1.3912
CAD, as the Bank of Canada and Brazil quote), and amounts are *multiplied*.
The two are different operations on exact decimals; neither goes through a
rounded reciprocal.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

from .errors import DeminimisError, UnknownCurrencyError
from .money import INT64_MAX, exponent

QUOTES = ("foreign_per_base", "base_per_foreign")


class ExchangeRates:
    """Exact exchange rates into one base (customs) currency."""

    def __init__(self, rates: Mapping[str, Any], base: str, *, quote: str = "foreign_per_base",
                 source: str = "") -> None:
        exponent(base)
        if quote not in QUOTES:
            raise DeminimisError(f"quote must be one of {QUOTES}, got {quote!r}")
        self.base = base
        self.quote = quote
        self.source = source
        self.rates: dict[str, Decimal] = {}
        for cur, r in rates.items():
            exponent(cur)
            try:
                d = Decimal(str(r)) if not isinstance(r, Decimal) else r
            except InvalidOperation:
                raise DeminimisError(f"rate for {cur} is not a decimal: {r!r}") from None
            if not d.is_finite() or d <= 0:
                raise DeminimisError(f"rate for {cur} must be positive, got {r!r}")
            self.rates[cur] = d

    def __repr__(self) -> str:
        rates = {k: str(v) for k, v in self.rates.items()}
        return f"ExchangeRates({rates}, base={self.base!r}, quote={self.quote!r})"

    def has(self, currency: str) -> bool:
        return currency == self.base or currency in self.rates

    def factor(self, currency: str) -> Fraction:
        """Exact base minor units per minor unit of `currency`."""
        if currency == self.base:
            return Fraction(1)
        if currency not in self.rates:
            raise UnknownCurrencyError(f"no exchange rate from {currency} to {self.base}", value=currency)
        scale = Fraction(10) ** (exponent(self.base) - exponent(currency))
        r = Fraction(self.rates[currency])
        return scale / r if self.quote == "foreign_per_base" else scale * r

    def mul_div(self, currency: str) -> tuple[int, int]:
        """The factor as (multiplier, divisor) int64s for the core."""
        f = self.factor(currency)
        if f.numerator > INT64_MAX or f.denominator > INT64_MAX:
            raise DeminimisError(f"the {currency} rate has too many digits for 64-bit arithmetic")
        return f.numerator, f.denominator

    @property
    def content_hash(self) -> str:
        blob = json.dumps({"base": self.base, "quote": self.quote,
                           "rates": {k: str(v) for k, v in sorted(self.rates.items())}}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()
