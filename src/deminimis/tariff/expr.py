"""Duty-expression trees: the shared data model of the engine and the reference.

A tree is built by the parser (parse.py), compiled into a fixed-size numeric
record for the core (compile.py), and evaluated directly by the reference (deminimis/reference/measures.py).
Amounts are exact Decimals; percentages may be rationals (``33 1/3 %``), held
as Fraction.

Five node types are the *core* vocabulary that the compiler and the reference
understand: AdValorem, Specific, Compound, Bounded (MIN, MAX and a subtracted
term) and CannotAssess.  The
parser also builds a few *tariff-level* nodes that only make sense inside a
Tariff (Seasonal, Applicable, NoChange, HeadingRef); ``Tariff.lookup``
resolves them into core nodes (a seasonal rate by the assessment date, a US
chapter 99 "applicable subheading + X" by stacking X on the goods' own rate),
so the engine never sees them.  Every node is a frozen, hashable dataclass:
the engine and the reference key compiled measures by expression value.

``str(tree)`` prints a canonical rate string that ``parse`` reads back into
an equal tree.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

#: quantity kinds an item carries, and the input column each comes from.  "alcohol" (litres of pure
#: alcohol) is the volume times the alcoholic strength: a line charged per pure alcohol needs both columns.
QUANTITY_COLUMNS = {"mass": "net_mass_kg", "volume": "volume_l", "count": "quantity", "alcohol": "alcohol_pct"}

#: one US barrel (42 US gallons of 231 cubic inches) in litres, exactly
BARREL_LITRES = Decimal("158.987294928")

#: canonical unit -> (quantity kind, base units of that kind per unit).
#: Base units: kg for mass, litres for volume, pieces (or pairs, heads...) for count, litres of pure
#: alcohol for alcohol.  "% vol/hl" (EU/UK: an amount per % vol per hectolitre) charges
#: amount x strength x hectolitres = amount x litres of pure alcohol, so its base is one litre.
UNITS: dict[str, tuple[str, Decimal]] = {
    "kg": ("mass", Decimal(1)), "g": ("mass", Decimal("0.001")), "t": ("mass", Decimal(1000)),
    "l": ("volume", Decimal(1)), "hl": ("volume", Decimal(100)), "m3": ("volume", Decimal(1000)),
    "bbl": ("volume", BARREL_LITRES),
    "item": ("count", Decimal(1)), "p/st": ("count", Decimal(1)), "each": ("count", Decimal(1)),
    "pair": ("count", Decimal(1)), "head": ("count", Decimal(1)), "article": ("count", Decimal(1)),
    "pack": ("count", Decimal(1)), "pin": ("count", Decimal(1)),
    "doz": ("count", Decimal(12)), "gross": ("count", Decimal(144)), "thousand": ("count", Decimal(1000)),
    "% vol/hl": ("alcohol", Decimal(1)), "l alc": ("alcohol", Decimal(1)), "hl alc": ("alcohol", Decimal(100)),
}

#: spellings found in published tariffs (lower case, dots kept) -> canonical unit
UNIT_SYNONYMS: dict[str, str] = {
    **{u: u for u in UNITS},
    "kgs": "kg", "kilogram": "kg", "kilograms": "kg", "gram": "g", "grams": "g",
    "tonne": "t", "tonnes": "t", "metric ton": "t",
    "liter": "l", "liters": "l", "litre": "l", "litres": "l", "ltr": "l", "hectolitre": "hl", "hectoliter": "hl",
    "m³": "m3", "cubic metre": "m3", "cubic meter": "m3",
    "items": "item", "piece": "item", "pieces": "item", "pcs": "item", "pce": "item", "no": "item",
    "no.": "item", "unit": "item", "units": "item", "nar": "item",
    "pairs": "pair", "pr": "pair", "pr.": "pair", "prs": "pair", "prs.": "pair",
    "heads": "head", "articles": "article", "packs": "pack", "pins": "pin",
    "doz.": "doz", "dozen": "doz", "dozens": "doz", "thousands": "thousand",
    "%vol/hl": "% vol/hl", "% vol./hl": "% vol/hl", "l alc. 100%": "l alc", "l alc. 100 %": "l alc",
    "l pure alcohol": "l alc", "litre of pure alcohol": "l alc", "lpa": "l alc",
    "hl alc. 100%": "hl alc", "hl alc. 100 %": "hl alc", "hl pure alcohol": "hl alc",
}


@dataclass(frozen=True)
class AdValorem:
    """percent % of the customs value."""

    percent: Fraction

    def __post_init__(self) -> None:
        if not isinstance(self.percent, Fraction):
            object.__setattr__(self, "percent", Fraction(str(self.percent)) if isinstance(self.percent, float)
                               else Fraction(self.percent))

    def __str__(self) -> str:
        return f"{_fmt_fraction(self.percent)}%"


@dataclass(frozen=True)
class Specific:
    """amount (in currency) per `per` `unit` (``4.40 EUR / 100 kg``: per=100, unit="kg")."""

    amount: Decimal
    currency: str
    unit: str          # a key of UNITS (or a synonym): "kg", "l", "item", "each", "doz", "pair"...
    per: Decimal = Decimal(1)

    def __post_init__(self) -> None:
        for name in ("amount", "per"):
            v = getattr(self, name)
            if not isinstance(v, Decimal):
                object.__setattr__(self, name, Decimal(str(v)))
        if _canonical_unit(self.unit) not in UNITS:
            from ..errors import TariffError
            raise TariffError(f"unknown unit {self.unit!r} in a specific duty; known: {sorted(UNIT_SYNONYMS)}")

    @property
    def quantity(self) -> str:
        """The quantity kind the unit measures: "mass", "volume", "count" or "alcohol"."""
        return UNITS[_canonical_unit(self.unit)][0]

    @property
    def base_units(self) -> Decimal:
        """How many kg, litres or pieces the amount is charged per."""
        return self.per * UNITS[_canonical_unit(self.unit)][1]

    def __str__(self) -> str:
        amount = _fmt_decimal(self.amount)
        if self.unit == "each" and self.per == 1:
            return f"{amount} {self.currency} each"
        per = "" if self.per == 1 else f"{_fmt_decimal(self.per)} "
        return f"{amount} {self.currency}/{per}{self.unit}"


@dataclass(frozen=True)
class Compound:
    """The sum of its terms (``3.8% + 4.40 EUR/100 kg``)."""

    terms: tuple[Expr, ...]

    def __str__(self) -> str:
        return " + ".join(str(t) for t in self.terms)


@dataclass(frozen=True)
class Bounded:
    """main, at least `minimum` (TARIC "MIN"), at most `maximum` (TARIC "MAX"), less `less` ("- D").

    duty = max(0, min(max(main, minimum), maximum) - less), each clause rounded first: the
    subtracted term reduces the bounded duty (docs/tariffs.md, "A subtracted term") and a
    reduction larger than the duty leaves no duty, never a refund.
    """

    main: Expr
    minimum: Expr | None = None
    maximum: Expr | None = None
    less: Expr | None = None

    def __str__(self) -> str:
        s = str(self.main)
        if self.minimum is not None:
            s += f" MIN {self.minimum}"
        if self.maximum is not None:
            s += f" MAX {self.maximum}"
        if self.less is not None:
            s += "".join(f" - {t}" for t in linear_terms(self.less))
        return s


@dataclass(frozen=True)
class CannotAssess:
    """A form that cannot be evaluated from the item's data; never zero duty.

    `reason` says what is missing (agricultural component, entry price, a rate on
    a named component, free text...); `text` is the rate as published.
    """

    reason: str
    text: str

    def __str__(self) -> str:
        return f"CANNOT_ASSESS[{self.reason}]({self.text})"


# ------------------------------------------------------------ tariff-level nodes

MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")


@dataclass(frozen=True)
class DayRange:
    """A range of days of the year, both ends inclusive (``01 NOV-14 MAY`` wraps over the new year).

    A day beyond the month's end (``31 APR``, as printed in the EU tariff) means the month's last day.
    """

    start_month: int
    start_day: int
    end_month: int
    end_day: int

    def contains(self, on: _dt.date) -> bool:
        d = (on.month, on.day)
        lo, hi = (self.start_month, self.start_day), (self.end_month, self.end_day)
        return lo <= d <= hi if lo <= hi else (d >= lo or d <= hi)

    def __str__(self) -> str:
        return (f"{self.start_day:02d} {MONTHS[self.start_month - 1]}-"
                f"{self.end_day:02d} {MONTHS[self.end_month - 1]}")


@dataclass(frozen=True)
class Seasonal:
    """Date-ranged alternatives (``8% (01 NOV-14 MAY), 14% (15 MAY-31 OCT)``).

    The first alternative whose ranges contain the assessment date applies; an
    alternative with no ranges applies on every other day.  Resolved by
    ``Tariff.lookup(..., on=date)``; without a date it cannot be assessed.
    """

    alternatives: tuple[tuple[Expr, tuple[DayRange, ...]], ...]

    def pick(self, on: _dt.date) -> Expr | None:
        for expr, ranges in self.alternatives:
            if any(r.contains(on) for r in ranges):
                return expr
        for expr, ranges in self.alternatives:
            if not ranges:
                return expr
        return None

    def __str__(self) -> str:
        parts = []
        for expr, ranges in self.alternatives:
            parts.append(f"{expr} ({', '.join(str(r) for r in ranges)})" if ranges else str(expr))
        return ", ".join(parts)


@dataclass(frozen=True)
class Applicable:
    """US chapter 99: the duty provided in the applicable subheading, plus `plus` (None: nothing more).

    Meaningful only as an additional measure stacked on the goods' own line; on
    its own (an item declared under the chapter 99 number) it cannot be assessed.
    """

    plus: Expr | None = None

    def __str__(self) -> str:
        base = "The duty provided in the applicable subheading"
        return base if self.plus is None else f"{base} + {self.plus}"


@dataclass(frozen=True)
class NoChange:
    """US chapter 99 "No change": the rate of the applicable subheading applies unchanged."""

    def __str__(self) -> str:
        return "No change"


@dataclass(frozen=True)
class HeadingRef:
    """``See 9903.88.03``: the measure is given by another heading of the same tariff."""

    code: str  # digits only

    def __str__(self) -> str:
        c = self.code
        dotted = ".".join([c[:4]] + [c[i:i + 2] for i in range(4, len(c), 2)])
        return f"See {dotted}"


Expr = AdValorem | Specific | Compound | Bounded | CannotAssess
#: everything the parser may return (tariff-level nodes are resolved by Tariff.lookup)
ParsedExpr = AdValorem | Specific | Compound | Bounded | CannotAssess | Seasonal | Applicable | NoChange | HeadingRef
CORE_TYPES = (AdValorem, Specific, Compound, Bounded, CannotAssess)

FREE = AdValorem(Fraction(0))


def _canonical_unit(unit: str) -> str:
    u = unit.lower()
    return UNIT_SYNONYMS.get(u, u)


def _fmt_decimal(d: Decimal) -> str:
    s = format(d, "f")
    return s


def _fmt_fraction(f: Fraction) -> str:
    if f.denominator == 1:
        return str(f.numerator)
    d = Decimal(f.numerator) / Decimal(f.denominator)
    if Fraction(d) == f:
        return format(d, "f")
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


def is_linear(expr: object) -> bool:
    """A sum of ad valorem and specific terms (what one clause of a compiled record holds)."""
    if isinstance(expr, (AdValorem, Specific)):
        return True
    return isinstance(expr, Compound) and all(is_linear(t) for t in expr.terms)


def is_core(expr: object) -> bool:
    """Built only from the five core node types, in the shapes the compiler accepts."""
    if isinstance(expr, CannotAssess):
        return True
    if isinstance(expr, Bounded):
        return is_linear(expr.main) and all(p is None or is_linear(p)
                                            for p in (expr.minimum, expr.maximum, expr.less))
    return is_linear(expr)


def quantities_used(expr: Expr) -> set[str]:
    """Quantity kinds ("mass", "volume", "count", "alcohol") the expression needs; pure alcohol is
    the volume times the strength, so "alcohol" comes with "volume"."""
    if isinstance(expr, Specific):
        return {"alcohol", "volume"} if expr.quantity == "alcohol" else {expr.quantity}
    if isinstance(expr, Compound):
        return set().union(*(quantities_used(t) for t in expr.terms))
    if isinstance(expr, Bounded):
        parts = [expr.main, expr.minimum, expr.maximum, expr.less]
        return set().union(*(quantities_used(t) for t in parts if t is not None))
    return set()
