"""Currencies and exact conversion of decimal amounts to integer minor units.

The minor-unit exponent of each currency comes from ISO 4217 (data, not an
assumption of 2: JPY has 0, BHD 3).  Nothing here goes through binary floating
point: floats are read through their shortest repr, which is the decimal the
caller wrote.
"""

from __future__ import annotations

import decimal
from decimal import Decimal
from typing import Any

from .errors import InvalidValueError, UnknownCurrencyError

INT64_MAX = 2**63 - 1

# ISO 4217 currencies whose minor unit is not 2 decimal places (List One, 2024).
_EXPONENT_EXCEPTIONS = {
    **dict.fromkeys("BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF".split(), 0),
    **dict.fromkeys("BHD IQD JOD KWD LYD OMR TND".split(), 3),
    **dict.fromkeys("CLF UYW".split(), 4),
}
# Active ISO 4217 codes with 2 decimal places.
_TWO_DECIMALS = """
AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL BSD BTN BWP BYN BZD
CAD CDF CHE CHF CHW CNY COP COU CRC CUC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL
GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT LAK LBP LKR LRD
LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD PAB PEN
PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL
THB TJS TMT TOP TRY TTD TWD TZS UAH USD USN UYU UZS VED VES WST XCD XCG YER ZAR ZMW ZWG ZWL
""".split()

CURRENCY_EXPONENTS: dict[str, int] = {**dict.fromkeys(_TWO_DECIMALS, 2), **_EXPONENT_EXCEPTIONS}


def exponent(currency: str) -> int:
    """Number of decimal places of the currency's minor unit (ISO 4217)."""
    try:
        return CURRENCY_EXPONENTS[currency]
    except (KeyError, TypeError):
        raise UnknownCurrencyError("not an ISO 4217 currency code", value=currency) from None


def to_decimal(x: Any, *, column: str | None = None, row: int | None = None) -> Decimal:
    """Read one amount as an exact Decimal: str, int, Decimal, or float via its repr."""
    if isinstance(x, bool):
        raise InvalidValueError("an amount cannot be a boolean", column=column, row=row, value=x)
    try:
        if isinstance(x, Decimal):
            d = x
        elif isinstance(x, float):
            d = Decimal(repr(x))
        elif isinstance(x, int):
            d = Decimal(x)
        elif isinstance(x, str):
            d = Decimal(x.strip())
        elif hasattr(x, "dtype") and getattr(x.dtype, "kind", "") in "iu":  # numpy integer scalar
            d = Decimal(int(x))
        elif hasattr(x, "dtype") and getattr(x.dtype, "kind", "") == "f":  # numpy float scalar
            d = Decimal(repr(float(x)))
        else:
            raise InvalidValueError("cannot read as a decimal amount", column=column, row=row, value=x)
    except decimal.InvalidOperation:
        raise InvalidValueError("cannot read as a decimal amount", column=column, row=row, value=x) from None
    if not d.is_finite():
        raise InvalidValueError("amount is not finite", column=column, row=row, value=x)
    return d


def to_minor(x: Any, currency_exponent: int, *, from_float: bool = False,
             column: str | None = None, row: int | None = None, what: str = "its currency") -> int:
    """Exact count of minor units of a non-negative decimal amount.

    A decimal with more places than the currency has is an error (nothing is
    silently lost), except for floats, which are rounded half-even to the nearest
    minor unit from their shortest repr.
    """
    d = to_decimal(x, column=column, row=row)
    if d < 0:
        raise InvalidValueError("must not be negative", column=column, row=row, value=x)
    scaled = d.scaleb(currency_exponent, context=decimal.Context(prec=200))
    integral = scaled.to_integral_value(rounding=decimal.ROUND_HALF_EVEN)
    if integral != scaled and not (from_float or isinstance(x, float)):
        raise InvalidValueError(
            f"has more than {currency_exponent} decimal places for {what}",
            column=column, row=row, value=x)
    n = int(integral)
    if n > INT64_MAX:
        from .errors import AmountOverflowError
        raise AmountOverflowError("amount does not fit in 64-bit minor units", column=column, row=row, value=x)
    return n
