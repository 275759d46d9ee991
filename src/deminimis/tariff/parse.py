"""A parser for the common duty-expression forms.

Covers ``Free``; ad valorem (``12%``, ``12.00 %``, ``33 1/3%``); specific
amounts per unit in any ISO currency or in cents/dollars/euros/pounds
(``4.40 EUR / 100 kg``, ``1.2¢/kg``, ``$1.646/kg``, ``0.9¢ each``,
``25¢/doz.``, ``38.4¢/1000``); compound sums (``+``); ``MIN`` and ``MAX``
bounds.  Anything else raises TariffSyntaxError with the position; nothing
that fails to parse ever becomes zero duty.
"""

from __future__ import annotations

import re
from decimal import Decimal
from fractions import Fraction

from ..errors import TariffSyntaxError
from .expr import FREE, UNITS, AdValorem, Bounded, Compound, Expr, Specific

# currency signs -> (ISO code, factor to major units)
SIGNS = {"¢": ("USD", Decimal("0.01")), "$": ("USD", Decimal(1)), "€": ("EUR", Decimal(1)),
         "£": ("GBP", Decimal(1)), "p": ("GBP", Decimal("0.01"))}

_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<number>\d+(?:[.,]\d+)?(?:\s+\d+/\d+)?)
  | (?P<frac>\d+/\d+)
  | (?P<op>[+%/])
  | (?P<sign>[¢$€£])
  | (?P<word>[pP]/[sS][tT]|[A-Za-z][A-Za-z.]*)
""", re.VERBOSE)


def _tokens(text: str) -> list[tuple[str, str, int]]:
    out, pos = [], 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise TariffSyntaxError(f"unexpected character {text[pos]!r}", text, pos)
        kind = m.lastgroup or ""
        if kind != "ws":
            out.append((kind, m.group(), pos))
        pos = m.end()
    return out


def _number(s: str) -> Fraction:
    parts = s.replace(",", ".").split()
    value = Fraction(Decimal(parts[0]))
    if len(parts) == 2:  # "33 1/3"
        num, den = parts[1].split("/")
        value += Fraction(int(num), int(den))
    return value


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = _tokens(text)
        self.i = 0

    def peek(self, offset: int = 0) -> tuple[str, str, int] | None:
        j = self.i + offset
        return self.toks[j] if j < len(self.toks) else None

    def fail(self, message: str) -> TariffSyntaxError:
        tok = self.peek()
        return TariffSyntaxError(message, self.text, tok[2] if tok else len(self.text))

    def parse(self) -> Expr:
        if not self.toks:
            raise TariffSyntaxError("empty duty expression", self.text, 0)
        main = self.sum()
        lo = hi = None
        while (tok := self.peek()) is not None and tok[0] == "word" and tok[1].upper() in ("MIN", "MAX"):
            self.i += 1
            bound = self.sum()
            if tok[1].upper() == "MIN":
                if lo is not None:
                    raise self.fail("a second MIN")
                lo = bound
            else:
                if hi is not None:
                    raise self.fail("a second MAX")
                hi = bound
        if self.peek() is not None:
            raise self.fail("unexpected text")
        return main if lo is None and hi is None else Bounded(main, lo, hi)

    def sum(self) -> Expr:
        terms = [self.term()]
        while (tok := self.peek()) is not None and tok[1] == "+":
            self.i += 1
            terms.append(self.term())
        return terms[0] if len(terms) == 1 else Compound(tuple(terms))

    def term(self) -> Expr:
        tok = self.peek()
        if tok is None:
            raise self.fail("a term is missing")
        kind, text, _ = tok
        if kind == "word" and text.lower().rstrip(".") == "free":
            self.i += 1
            return FREE
        currency, factor = None, Decimal(1)
        if kind == "sign":  # $1.646/kg, €3
            currency, factor = SIGNS[text]
            self.i += 1
            tok = self.peek()
            if tok is None or tok[0] != "number":
                raise self.fail("an amount must follow the currency sign")
            kind, text, _ = tok
        if kind != "number":
            raise self.fail("expected a rate")
        value = _number(text)
        if currency is not None and value.denominator != 1 and " " in text:
            raise self.fail("a specific amount cannot be a fraction")
        self.i += 1
        nxt = self.peek()
        if currency is None and nxt is not None and nxt[1] == "%":
            self.i += 1
            return AdValorem(value)
        if currency is None:
            if nxt is not None and nxt[0] == "sign" and nxt[1] in ("¢", "p"):
                currency, factor = SIGNS[nxt[1]]
                self.i += 1
            elif nxt is not None and nxt[0] == "word" and re.fullmatch(r"[A-Z]{3}", nxt[1]):
                currency = nxt[1]
                self.i += 1
            else:
                raise self.fail("expected % or a currency after the number")
        if value.denominator != 1 and Fraction(Decimal(value.numerator) / value.denominator) != value:
            raise self.fail("a specific amount must be a decimal")
        amount = Decimal(value.numerator) / Decimal(value.denominator) * factor
        return self.per_unit(amount, currency)

    def per_unit(self, amount: Decimal, currency: str) -> Specific:
        tok = self.peek()
        per = Decimal(1)
        if tok is not None and tok[0] == "word" and tok[1].lower() in ("each", "per"):
            self.i += 1
            if tok[1].lower() == "each":
                return Specific(amount, currency, "each")
        elif tok is not None and tok[1] == "/":
            self.i += 1
        else:
            raise self.fail("expected '/' and a unit after a specific amount")
        tok = self.peek()
        if tok is not None and tok[0] == "number":
            per = Decimal(tok[1].replace(",", "."))
            self.i += 1
            tok = self.peek()
        unit = "pieces"  # "38.4¢/1000": a bare scale counts pieces
        if tok is not None and tok[0] == "word" and tok[1].upper() not in ("MIN", "MAX"):
            unit = tok[1]
            self.i += 1
        elif per == 1:
            raise self.fail("a unit is missing")
        if unit.lower() not in UNITS:
            raise self.fail(f"unknown unit {unit!r}")
        return Specific(amount, currency, unit, per)


def parse(text: str) -> Expr:
    """Parse one duty expression into a tree; TariffSyntaxError names the position."""
    if not isinstance(text, str):
        raise TariffSyntaxError("a duty expression must be a string", repr(text), 0)
    return _Parser(text.strip()).parse()
