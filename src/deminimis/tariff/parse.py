"""The duty-expression language: rate strings as real tariffs print them -> trees.

Grammar (whitespace is free; keywords are case-insensitive)::

    rate      := season ("," season)*            several seasons only with date ranges
    season    := bounded ["(" range ("," range)* ")"]
    range     := DAY [MONTH] "-" DAY MONTH       "01 NOV-14 MAY", "01-31 DEC"
    bounded   := sum (("MIN" | "MAX") sum)* ("-" term)*
    sum       := term (("+" | "plus") term)*
    term      := "Free" | NUMBER ["N/D"] ("%" | "percent")
               | money ("each" | ("/" | "per") [SCALE] UNIT)
    money     := ("$" | "€" | "£") NUMBER | NUMBER ("¢" | "€" | "£" | ISO-4217 code)

NUMBER is an exact decimal (``1,024.00`` has a thousands separator); ``¢``
is a hundredth of a US dollar.  Units: kg, g, t/tonne, l/liter/litre, hl, m3,
bbl, item/p/st/pcs/No., each, pair/pr., doz., gross, thousand, head, article,
pack, and a bare scale (``38.4¢/1000``: per 1000 pieces); ``kg/net`` is net mass;
pure alcohol: ``% vol/hl`` (per % vol per hectolitre, that is per litre of pure
alcohol), ``l alc. 100%``, ``hl alc. 100%``.

A subtracted term comes last: ``A MIN B MAX C - D`` is max(0, min(max(A, B), C) - D);
a ``-`` before MIN or MAX, or a ``+`` after a subtracted term, is a TariffSyntaxError
(which terms it would subtract is not written down).

Besides the grammar, the published prose forms are recognised:

- US chapter 99: ``The duty provided in the applicable subheading [+ rate]``
  (-> Applicable), ``No change`` (-> NoChange), ``See 9903.88.03`` (-> HeadingRef);
- forms that need data an item does not carry parse into ``CannotAssess`` with
  the reason: EU agricultural components (``EA``, ``ADSZ``, ``ADFM``), entry
  prices, rates on named components (``6% on the case``), qualified bases
  (``on drained weight``, ``of total sugars``, ``/ kg / tot alc``, ``clean kg``,
  ``pf. liter``, ``m2``), sliding scales, duties on partial values, references to
  other articles or notes, conditional free text, a number without ``%``;
- ``CANNOT_ASSESS[reason](text)`` (what ``str(CannotAssess)`` prints).

Anything else raises TariffSyntaxError with the position.  Nothing that fails
to parse ever becomes zero duty.
"""

from __future__ import annotations

import re
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache

from ..errors import TariffSyntaxError
from ..money import CURRENCY_EXPONENTS
from .expr import (
    FREE,
    MONTHS,
    UNIT_SYNONYMS,
    UNITS,
    AdValorem,
    Applicable,
    Bounded,
    CannotAssess,
    Compound,
    DayRange,
    HeadingRef,
    NoChange,
    ParsedExpr,
    Seasonal,
    Specific,
)

# currency signs -> (ISO code, factor to major units)
SIGNS = {"¢": ("USD", Decimal("0.01")), "$": ("USD", Decimal(1)), "€": ("EUR", Decimal(1)),
         "£": ("GBP", Decimal(1))}

#: reasons (stable strings: tests and load reports count by them)
R_AGRI = "EU agricultural component (EA, ADSZ, ADFM): needs the Meursing additional code of the goods"
R_ENTRY_PRICE = "EU entry price system: the duty depends on the declared entry price"
R_COMPONENT = "rate on a named component or content of the goods: needs that component's value or quantity"
R_SLIDING = "sliding scale by degree (sugar polarization): needs the degree"
R_PARTIAL_VALUE = "duty on a partial value (repairs, processing, U.S. content, drawback): not carried by the item"
R_CONTENT_VALUE = "additional duty on the value of a content (steel, aluminium, copper, non-U.S.): not carried"
R_FAIR_RETAIL = "percentage of the fair retail value or of a cost: not carried by the item"
R_OTHER_RATE = "refers to the rate of another article, heading or set: cannot be resolved from the item"
R_OTHER_SUBHEADINGS = "refers to the duty of other named subheadings"
R_MINUS = "the rate of the applicable subheading minus a reduction: not resolved"
R_NOTE = "see a note of the tariff (free text)"
R_HEADINGS = "refers to other headings (quota or conditions apply)"
R_CONDITIONAL_FREE = "free under a condition stated in the tariff (bond, note, regulation)"
R_BARE_NUMBER = "a number without '%' or a currency (a '%' missing in the published text?)"

_WS = re.compile(r"\s*")
_NUMBER = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+")
_FRACTION = re.compile(r"\s+(\d+)\s*/\s*(\d+)(?=\s*%)")
_MONTH = (r"JAN(?:UARY)?|FEB(?:RUARY)?|MAR(?:CH)?|APR(?:IL)?|MAY|JUNE?|JULY?|AUG(?:UST)?|SEPT?(?:EMBER)?"
          r"|OCT(?:OBER)?|NOV(?:EMBER)?|DEC(?:EMBER)?")
_RANGE = re.compile(rf"(\d{{1,2}})\s*(?:({_MONTH})\s*)?-\s*(\d{{1,2}})\s*({_MONTH})\b", re.I)
_AGRI = re.compile(r"(?:EA|EAR|ADSZ|ADSZR|ADFM|ADFMR|AD\s*S/Z|AD\s*F/M)(?![A-Za-z])")
_QUALIFIER = re.compile(r",?\s*(?:on|of|over|upon|including|for\s+each)\b", re.I)
_UNIT_END = re.compile(r"\s*(?:\+|(?<=\s)-|-(?=\s*[\d.$€£])|\(|\)|,(?!\d{3})|\bMIN\b|\bMAX\b|\bplus\b|\bon\b|\bof\b"
                       r"|\bover\b|\bupon\b"
                       r"|\bfor\s+each\b|$)", re.I)
_WHOLE_VALUE = re.compile(r"on\s+the\s+(?:entire\s+set|full\s+value\s+of\s+the\s+imported\s+article)\b", re.I)
_CANNOT = re.compile(r"CANNOT_ASSESS\[(?P<reason>[^\]]*)\]\((?P<text>.*)\)", re.S)

# published prose forms (matched on the whole stripped text, case-insensitive, tolerant of the
# official export's broken hyphenation "appli- cable" and glued words "inthe")
_APPLICABLE = re.compile(r"the\s+duty\s+provided\s+(?:for\s+)?in\s*the\s+appli-?\s*cable\s+subheading\s*"
                         r"(?:(?P<op>\+|plus\b)\s*)?", re.I)
_PROSE: list[tuple[re.Pattern[str], object]] = [
    (re.compile(r"no\s+change\.?", re.I), NoChange()),
    (re.compile(r"no\s+additional\s+duty\.?", re.I), FREE),
    (re.compile(r"entry\s+price\.?", re.I), R_ENTRY_PRICE),
    (re.compile(r"the\s+duty\s+rate\s+provided\s+in\s+such\s+subheading\s+minus\b.*", re.I | re.S), R_MINUS),
    (re.compile(r"the\s+duty\s+provided\s+in\s+subheadings?\s+\d.*", re.I | re.S), R_OTHER_SUBHEADINGS),
    (re.compile(r"the\s+(?:duty\s+)?rate\s+(?:of\s+duty\s+)?(?:appli-?\s*cable|provided)\b.*", re.I | re.S),
     R_OTHER_RATE),
    (re.compile(r"see\s+(?:additional\s+)?u\.\s*s\.\s+note\b.*", re.I | re.S), R_NOTE),
    (re.compile(r"a\s+duty\s+(?:upon|equal|\(in\s+lieu)\b.*", re.I | re.S), R_PARTIAL_VALUE),
    (re.compile(r"[\d.]+\s+percent\s+of\s+the\s+(?:fair\s+retail\s+value|cost)\b.*", re.I | re.S), R_FAIR_RETAIL),
    (re.compile(r"free\s*[,(].*", re.I | re.S), R_CONDITIONAL_FREE),
    (re.compile(r".*\bfor\s+each\s+degree\b.*", re.I | re.S), R_SLIDING),
]
_SEE_ONE = re.compile(r"see\s+(\d{4})\.?(\d{2})\.?(\d{2})(?:\.?(\d{2}))?\.?", re.I)
_SEE_MANY = re.compile(r"see\s+\d{4}\.?\d{2}.*", re.I | re.S)
_CONTENT_VALUE = re.compile(r"a\s+duty\s+of\s+.*\bupon\s+the\s+value\b.*", re.I | re.S)

# units that need a quantity items do not carry: (pattern on the normalised unit phrase, what is needed)
_UNIT_NEEDS: list[tuple[re.Pattern[str], str]] = [(re.compile(p), n) for p, n in [
    (r"%\s*vol|.*/%\s*vol|.*\btot\s*alc", "the alcoholic strength"),
    (r"pf\.?\s*(?:liter|litre)", "the alcoholic strength (proof litres)"),
    (r"clean\s*kg", "the clean yield (wool)"),
    (r"m2|m²|sq", "the area in square metres"),
    (r"m\b|lin\.?\s*m|linear", "the length in metres"),
    (r"jewel", "the number of jewels"),
    (r"line", "the button size in lines"),
    (r"carat", "the mass in carats"),
    (r".*(?:/|\s)(?:gross|br)\b", "the gross mass (with packing)"),
    (r".*drained|.*\beda\b", "the drained net weight"),
    (r".*\bdry\b", "the dry matter"),
    (r".*sacchar", "the sucrose content"),
    (r".*lactic", "the lactic matter content"),
    (r".*std\s*qual", "the standard-quality equivalent"),
    (r".*\bmas\b", "a qualified mass"),
]]
_UNIT_HEADS = {"kg", "g", "t", "l", "hl", "m3", "bbl", "liter", "litre", "tonne", "item", "items", "kgs",
               "%", "pf", "pf.", "clean", "m", "m2", "m²", "lin", "lin.", "jewel", "line", "carat", "doz", "doz.",
               "gross", "each", "pair", "pr", "pr.", "head", "article", "pack"}


class _NotAssessable(Exception):
    """Raised inside the grammar when a well-formed part needs data items do not carry."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Bare:
    """A number without % or currency (EU CET "6.4 + 24.6 EUR/100 kg")."""

    def __init__(self, pos: int) -> None:
        self.pos = pos


def _dec(s: str) -> Decimal:
    return Decimal(s.replace(",", ""))


def _month(s: str) -> int:
    return MONTHS.index(s.upper()[:3]) + 1


class _Parser:
    def __init__(self, text: str, pos: int = 0) -> None:
        self.s = text
        self.pos = pos
        self.bare: list[_Bare] = []

    # -- scanning
    def ws(self) -> None:
        self.pos = _WS.match(self.s, self.pos).end()  # type: ignore[union-attr]

    def take(self, pattern: re.Pattern[str] | str, flags: int = 0) -> re.Match[str] | None:
        self.ws()
        rx = pattern if isinstance(pattern, re.Pattern) else re.compile(pattern, flags)
        m = rx.match(self.s, self.pos)
        if m:
            self.pos = m.end()
        return m

    def peek(self, pattern: re.Pattern[str] | str, flags: int = 0) -> bool:
        self.ws()
        rx = pattern if isinstance(pattern, re.Pattern) else re.compile(pattern, flags)
        return rx.match(self.s, self.pos) is not None

    def fail(self, message: str, pos: int | None = None) -> TariffSyntaxError:
        return TariffSyntaxError(message, self.s, self.pos if pos is None else pos)

    # -- grammar
    def rate(self) -> ParsedExpr:
        alts: list[tuple[object, tuple[DayRange, ...]]] = []
        starts: list[int] = []
        while True:
            self.ws()
            starts.append(self.pos)
            expr = self.bounded()
            ranges = self.day_ranges() if self.peek(r"\(") else ()
            alts.append((expr, ranges))
            if not self.take(r","):
                break
        self.take(r"\.")  # a trailing full stop
        self.ws()
        if self.pos != len(self.s):
            raise self.fail("unexpected text")
        if self.bare:
            if len(alts) == 1 and not alts[0][1] and isinstance(alts[0][0], _Bare):
                raise self.fail("expected '%' or a currency after the number", self.bare[0].pos)
            raise _NotAssessable(R_BARE_NUMBER)
        if len(alts) == 1 and not alts[0][1]:
            return alts[0][0]  # type: ignore[return-value]
        bare = [i for i, (_, r) in enumerate(alts) if not r]
        if len(bare) > 1:
            raise self.fail("alternatives of a seasonal rate need date ranges", starts[bare[1]])
        return Seasonal(tuple(alts))  # type: ignore[arg-type]

    def day_ranges(self) -> tuple[DayRange, ...]:
        self.take(r"\(")
        out = []
        while True:
            m = self.take(_RANGE)
            if not m:
                raise self.fail("expected a date range such as '01 JAN-14 FEB'")
            d1, m1, d2, m2 = m.groups()
            end_month = _month(m2)
            start_month = _month(m1) if m1 else end_month
            r = DayRange(start_month, int(d1), end_month, int(d2))
            if not (1 <= r.start_day <= 31 and 1 <= r.end_day <= 31):
                raise self.fail("a day of the month must be 1 to 31", m.start())
            out.append(r)
            if self.take(r"\)"):
                return tuple(out)
            if not self.take(r","):
                raise self.fail("expected ',' or ')' in the date ranges")

    def bounded(self) -> object:
        main = self.sum()
        lo = hi = None
        while (m := self.take(r"(MIN|MAX)\b", re.I)) is not None:
            bound = self.sum()
            if m.group(1).upper() == "MIN":
                if lo is not None:
                    raise self.fail("a second MIN", m.start())
                lo = bound
            else:
                if hi is not None:
                    raise self.fail("a second MAX", m.start())
                hi = bound
        less = []
        while self.take(r"-"):
            less.append(self.term())
        if less and (m := self.take(r"MIN\b|MAX\b|plus\b|\+", re.I)) is not None:
            raise self.fail(f"'{m.group()}' after a subtracted term: write MIN, MAX and '+' before the '-'",
                            m.start())
        if lo is None and hi is None and not less:
            return main
        sub = None if not less else less[0] if len(less) == 1 else Compound(tuple(less))  # type: ignore[arg-type]
        return Bounded(main, lo, hi, sub)  # type: ignore[arg-type]

    def sum(self) -> object:
        terms = [self.term()]
        while self.take(r"\+|plus\b", re.I):
            terms.append(self.term())
        return terms[0] if len(terms) == 1 else Compound(tuple(terms))  # type: ignore[arg-type]

    def term(self) -> object:
        self.ws()
        start = self.pos
        if self.take(r"free\b\.?", re.I):
            return FREE
        if self.peek(_AGRI):
            raise _NotAssessable(R_AGRI)
        sign = self.take(r"[$€£]")
        num = self.take(_NUMBER)
        if num is None:
            raise self.fail("expected a rate")
        if sign:
            currency, factor = SIGNS[sign.group()]
        else:
            frac = _FRACTION.match(self.s, self.pos)
            value = Fraction(_dec(num.group()))
            if frac:
                self.pos = frac.end()
                num_, den = int(frac.group(1)), int(frac.group(2))
                if den == 0 or num_ >= den:
                    raise self.fail("a fraction of a percent must be proper, like 1/3", frac.start(1))
                value += Fraction(num_, den)
            if self.take(r"%|percent\b", re.I):
                return self.qualified(AdValorem(value))
            if frac:
                raise self.fail("expected '%' after a fraction")
            s = self.take(r"[¢€£]")
            code = None if s else self.take(r"(?!MIN\b|MAX\b)[A-Z]{3}(?![A-Za-z])")
            if s:
                currency, factor = SIGNS[s.group()]
            elif code and code.group() in CURRENCY_EXPONENTS:
                currency, factor = code.group(), Decimal(1)
            elif code:
                raise self.fail(f"unknown currency {code.group()!r}", code.start())
            else:
                b = _Bare(start)
                self.bare.append(b)
                return b
        amount = _dec(num.group()) * factor
        unit, per = self.unit()
        return self.qualified(Specific(amount, currency, unit, per))

    def qualified(self, term: object) -> object:
        """A term followed by "on the case", "of total sugars", "over 7"...: not assessable."""
        if self.peek(_QUALIFIER):
            self.ws()
            rest = self.s[self.pos:]
            whole = _WHOLE_VALUE.match(rest)
            if isinstance(term, AdValorem) and whole:
                self.pos += whole.end()
                return term  # the value of the whole item (the set, the article) is the customs value
            raise _NotAssessable(R_COMPONENT)
        return term

    def unit(self) -> tuple[str, Decimal]:
        if self.take(r"each\b", re.I):
            return "each", Decimal(1)
        if self.peek(r"for\s+each\b", re.I):  # "0.2¢ for each other piece or part, but ..."
            raise _NotAssessable(R_COMPONENT)
        if not self.take(r"/|per\b", re.I):
            raise self.fail("expected '/' and a unit after a specific amount")
        self.ws()
        start = end = self.pos
        while end < len(self.s) and not (end > start and _UNIT_END.match(self.s, end)):
            end += 1
        phrase = self.s[start:end]
        self.pos = end
        return self.interpret_unit(phrase, start)

    def interpret_unit(self, phrase: str, pos: int) -> tuple[str, Decimal]:
        norm = re.sub(r"(\w)-\s+(\w)", r"\1\2", phrase.strip().lower())   # "thou- sand"
        norm = re.sub(r"\s*/\s*", "/", norm)
        norm = re.sub(r"\s+", " ", norm)
        per = Decimal(1)
        m = re.match(r"(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)\s*", norm)
        if m:
            per = _dec(m.group(1))
            if per <= 0:
                raise self.fail("the scale of a unit must be positive", pos)
            norm = norm[m.end():]
        if not norm:
            if m:
                return "item", per  # "38.4¢/1000": per 1000 pieces
            raise self.fail("a unit is missing", pos)
        for cand in (norm, norm.rstrip(".")):
            if cand in UNIT_SYNONYMS:
                unit = UNIT_SYNONYMS[cand]
                if unit == "thousand":
                    return "item", per * 1000
                return unit, per
        net = re.fullmatch(r"([a-z]+)/net\.?", norm)
        if net and UNIT_SYNONYMS.get(net.group(1)) in UNITS and UNITS[UNIT_SYNONYMS[net.group(1)]][0] == "mass":
            return UNIT_SYNONYMS[net.group(1)], per  # net mass is what items carry
        for rx, needs in _UNIT_NEEDS:
            if rx.match(norm):
                raise _NotAssessable(f"charged per {norm}: needs {needs}, which the item does not carry")
        head = re.split(r"[/ ]", norm)[0]
        if head in UNIT_SYNONYMS or head in _UNIT_HEADS:
            raise _NotAssessable(f"charged per {norm}: needs a quantity the item does not carry")
        raise self.fail(f"unknown unit {phrase.strip()!r}", pos)


def _prose(t: str) -> ParsedExpr | None:
    m = _CANNOT.fullmatch(t)
    if m:
        return CannotAssess(m.group("reason"), m.group("text"))
    m = _APPLICABLE.match(t)
    if m:
        rest = t[m.end():].strip()
        if not rest or rest == ".":
            return Applicable()
        if _CONTENT_VALUE.fullmatch(rest):
            return CannotAssess(R_CONTENT_VALUE, t)
        if not m.group("op"):
            raise TariffSyntaxError("expected '+' after 'the applicable subheading'", t, m.end())
        p = _Parser(t, m.end())
        try:
            plus = p.rate()
        except _NotAssessable as exc:
            return CannotAssess(exc.reason, t)
        if isinstance(plus, (Seasonal, Applicable, NoChange, HeadingRef, CannotAssess)):
            raise TariffSyntaxError("expected a rate after 'the applicable subheading +'", t, m.end())
        return Applicable(plus)
    m = _SEE_ONE.fullmatch(t)
    if m:
        return HeadingRef("".join(g for g in m.groups() if g))
    if _SEE_MANY.fullmatch(t):
        return CannotAssess(R_HEADINGS, t)
    for rx, out in _PROSE:
        if rx.fullmatch(t):
            return CannotAssess(out, t) if isinstance(out, str) else out  # type: ignore[return-value]
    return None


@lru_cache(maxsize=1 << 16)
def _parse(t: str) -> ParsedExpr:
    node = _prose(t)
    if node is not None:
        return node
    try:
        return _Parser(t).rate()
    except _NotAssessable as exc:
        return CannotAssess(exc.reason, t)


def parse(text: str) -> ParsedExpr:
    """Parse one duty expression into a tree; TariffSyntaxError names the position.

    Returns a core node (AdValorem, Specific, Compound, Bounded, CannotAssess) or
    a tariff-level node (Seasonal, Applicable, NoChange, HeadingRef) that
    ``Tariff.lookup`` resolves.
    """
    if not isinstance(text, str):
        raise TariffSyntaxError("a duty expression must be a string", repr(text), 0)
    t = text.strip()
    if not t:
        raise TariffSyntaxError("empty duty expression", text, 0)
    return _parse(t)


# ------------------------------------------------------------ US "Special Rate of Duty" column

_PROGRAMS = re.compile(r"\(\s*((?:[A-Z]{1,2}[+*]?\s*,?\s*)+)\)")
_JUNK_TAIL = re.compile(r"\(\s*[A-Z+*,\s]*$")


@lru_cache(maxsize=1 << 14)
def _split_special(text: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    return tuple(_split(text))


def split_special(text: str) -> list[tuple[str, tuple[str, ...]]]:
    """Split a US special-rate cell into (rate text, program symbols) segments.

    ``Free (A+,AU,BH) 3.2% (JP)`` -> [("Free", ("A+", "AU", "BH")), ("3.2%", ("JP",))].
    A segment without a program list (a chapter 99 line's single rate) has ().
    The official export's noise (``(PA (PA)``, ``(B,C,)``, missing spaces) is tolerated.
    """
    return list(_split_special(text))


def _split(text: str) -> list[tuple[str, tuple[str, ...]]]:
    out: list[tuple[str, tuple[str, ...]]] = []
    pos = 0
    for m in _PROGRAMS.finditer(text):
        seg = _JUNK_TAIL.sub("", text[pos:m.start()]).strip()
        progs = tuple(dict.fromkeys(p.strip() for p in m.group(1).split(",") if p.strip()))
        if not seg:
            if out:  # "(PA (PA)": a repeated list
                out[-1] = (out[-1][0], tuple(dict.fromkeys(out[-1][1] + progs)))
                pos = m.end()
                continue
            raise TariffSyntaxError("a program list without a rate", text, m.start())
        out.append((seg, progs))
        pos = m.end()
    tail = text[pos:].strip()
    if tail:
        out.append((tail, ()))
    return out
