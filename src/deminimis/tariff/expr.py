"""Duty-expression trees: the shared data model of the engine and the reference.

A tree is built by the parser (parse.py), compiled into a fixed-size numeric
record for the core (compile.py), and evaluated directly by reference.py.
Amounts are exact Decimals; percentages may be rationals (``33 1/3 %``), held
as Fraction.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Union

#: quantity kinds an item carries, and the input column each comes from
QUANTITY_COLUMNS = {"mass": "net_mass_kg", "volume": "volume_l", "count": "quantity"}


@dataclass(frozen=True)
class AdValorem:
    """percent % of the customs value."""

    percent: Fraction

    def __str__(self) -> str:
        return f"{_fmt_fraction(self.percent)}%"


#: unit as printed (lower case) -> (quantity kind, base units of that kind per unit)
UNITS: dict[str, tuple[str, Decimal]] = {
    "kg": ("mass", Decimal(1)), "kilogram": ("mass", Decimal(1)), "kgs": ("mass", Decimal(1)),
    "g": ("mass", Decimal("0.001")), "t": ("mass", Decimal(1000)), "tonne": ("mass", Decimal(1000)),
    "l": ("volume", Decimal(1)), "liter": ("volume", Decimal(1)), "litre": ("volume", Decimal(1)),
    "hl": ("volume", Decimal(100)),
    "p/st": ("count", Decimal(1)), "piece": ("count", Decimal(1)), "pieces": ("count", Decimal(1)),
    "pcs": ("count", Decimal(1)), "pce": ("count", Decimal(1)), "each": ("count", Decimal(1)),
    "item": ("count", Decimal(1)), "no": ("count", Decimal(1)), "no.": ("count", Decimal(1)),
    "unit": ("count", Decimal(1)), "pair": ("count", Decimal(1)), "pr": ("count", Decimal(1)),
    "pr.": ("count", Decimal(1)), "doz": ("count", Decimal(12)), "doz.": ("count", Decimal(12)),
    "dozen": ("count", Decimal(12)),
}


@dataclass(frozen=True)
class Specific:
    """amount (in currency) per `per` `unit` (``4.40 EUR / 100 kg``: per=100, unit="kg")."""

    amount: Decimal
    currency: str
    unit: str          # as printed: "kg", "l", "p/st", "each", "doz.", "pair", "pieces"...
    per: Decimal = Decimal(1)

    @property
    def quantity(self) -> str:
        """The quantity kind the unit measures: "mass", "volume" or "count"."""
        return UNITS[self.unit.lower()][0]

    @property
    def base_units(self) -> Decimal:
        """How many kg, litres or pieces the amount is charged per."""
        return self.per * UNITS[self.unit.lower()][1]

    def __str__(self) -> str:
        if self.unit == "each" and self.per == 1:
            return f"{self.amount} {self.currency} each"
        per = "" if self.per == 1 else f"{self.per} "
        return f"{self.amount} {self.currency}/{per}{self.unit}"


@dataclass(frozen=True)
class Compound:
    """The sum of its terms (``3.8% + 4.40 EUR/100 kg``)."""

    terms: tuple["Expr", ...]

    def __str__(self) -> str:
        return " + ".join(str(t) for t in self.terms)


@dataclass(frozen=True)
class Bounded:
    """main, at least `minimum` (TARIC "MIN") and at most `maximum` (TARIC "MAX").

    duty = min(max(main, minimum), maximum), each side rounded first.
    """

    main: "Expr"
    minimum: "Expr | None" = None
    maximum: "Expr | None" = None

    def __str__(self) -> str:
        s = str(self.main)
        if self.minimum is not None:
            s += f" MIN {self.minimum}"
        if self.maximum is not None:
            s += f" MAX {self.maximum}"
        return s


@dataclass(frozen=True)
class CannotAssess:
    """A form that cannot be evaluated from the item's data; never zero duty."""

    reason: str
    text: str

    def __str__(self) -> str:
        return f"CANNOT_ASSESS[{self.reason}]({self.text})"


Expr = Union[AdValorem, Specific, Compound, Bounded, CannotAssess]

FREE = AdValorem(Fraction(0))


def _fmt_fraction(f: Fraction) -> str:
    if f.denominator == 1:
        return str(f.numerator)
    d = Decimal(f.numerator) / Decimal(f.denominator)
    if Fraction(d) == f:
        return str(d)
    whole, rest = divmod(f.numerator, f.denominator)
    return f"{whole} {rest}/{f.denominator}"


def linear_terms(expr: Expr) -> list[AdValorem | Specific]:
    """The terms of a sum of ad valorem and specific parts; TypeError otherwise."""
    if isinstance(expr, (AdValorem, Specific)):
        return [expr]
    if isinstance(expr, Compound):
        out: list[AdValorem | Specific] = []
        for t in expr.terms:
            out.extend(linear_terms(t))
        return out
    raise TypeError(f"not a sum of ad valorem and specific terms: {expr}")


def quantities_used(expr: Expr) -> set[str]:
    """Quantity kinds ("mass", "volume", "count") the expression needs."""
    if isinstance(expr, Specific):
        return {expr.quantity}
    if isinstance(expr, Compound):
        return set().union(*(quantities_used(t) for t in expr.terms))
    if isinstance(expr, Bounded):
        parts = [expr.main, expr.minimum, expr.maximum]
        return set().union(*(quantities_used(t) for t in parts if t is not None))
    return set()
