"""The duty-expression language: forms, errors, and properties.

- the parser never crashes on arbitrary text: it returns a tree or raises TariffSyntaxError
  with a position inside the text;
- printing a tree and parsing it again gives the same tree;
- nothing that fails to parse becomes zero duty.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from deminimis.errors import TariffError, TariffSyntaxError
from deminimis.money import CURRENCY_EXPONENTS
from deminimis.tariff import (
    FREE,
    AdValorem,
    Applicable,
    Bounded,
    CannotAssess,
    Compound,
    DayRange,
    HeadingRef,
    NoChange,
    Seasonal,
    Specific,
    parse,
    split_special,
)
from deminimis.tariff.expr import BARREL_LITRES, UNITS, is_core
from deminimis.tariff.parse import R_AGRI, R_BARE_NUMBER, R_COMPONENT, R_ENTRY_PRICE

NODE_TYPES = (AdValorem, Specific, Compound, Bounded, CannotAssess, Seasonal, Applicable, NoChange, HeadingRef)


# ------------------------------------------------------------------ forms


@pytest.mark.parametrize("text, tree", [
    ("Free", FREE),
    ("free.", FREE),
    ("6.8%", AdValorem(Fraction("6.8"))),
    ("12.00%", AdValorem(Fraction(12))),
    ("12 %", AdValorem(Fraction(12))),
    ("33 1/3%", AdValorem(Fraction(100, 3))),
    ("5 percent", AdValorem(Fraction(5))),
    ("1¢/kg", Specific(Decimal("0.01"), "USD", "kg")),
    ("$1.646/kg", Specific(Decimal("1.646"), "USD", "kg")),
    ("0.9¢ each", Specific(Decimal("0.009"), "USD", "each")),
    ("38.4¢/1000", Specific(Decimal("0.384"), "USD", "item", Decimal(1000))),
    ("4.40 EUR / 100 kg", Specific(Decimal("4.40"), "EUR", "kg", Decimal(100))),
    ("253.00 GBP/100kg", Specific(Decimal("253"), "GBP", "kg", Decimal(100))),
    ("1,024.00 EUR / tonne", Specific(Decimal(1024), "EUR", "t")),
    ("52.00 EUR / 1,000 items", Specific(Decimal(52), "EUR", "item", Decimal(1000))),
    ("0.34¢/liter", Specific(Decimal("0.0034"), "USD", "l")),
    ("76¢/pr.", Specific(Decimal("0.76"), "USD", "pair")),
    ("25¢/doz.", Specific(Decimal("0.25"), "USD", "doz")),
    ("$2.50/thou- sand", Specific(Decimal("2.50"), "USD", "item", Decimal(1000))),
    ("1.6€/100kg/net", Specific(Decimal("1.6"), "EUR", "kg", Decimal(100))),
    ("32.00 EUR / hl", Specific(Decimal(32), "EUR", "hl")),
    ("5.25¢/bbl", Specific(Decimal("0.0525"), "USD", "bbl")),
    ("0.5 JPY/p/st", Specific(Decimal("0.5"), "JPY", "p/st")),
    ("3 EUR per kg", Specific(Decimal(3), "EUR", "kg")),
    ("39.9¢/kg +6%", Compound((Specific(Decimal("0.399"), "USD", "kg"), AdValorem(Fraction(6))))),
    ("2.2¢/kg  +  33.5%", Compound((Specific(Decimal("0.022"), "USD", "kg"), AdValorem(Fraction("33.5"))))),
    ("$9.92/kg+ 25%", Compound((Specific(Decimal("9.92"), "USD", "kg"), AdValorem(Fraction(25))))),
    ("4.50% MIN 0.30 EUR / item MAX 0.80 EUR / item",
     Bounded(AdValorem(Fraction("4.5")), Specific(Decimal("0.3"), "EUR", "item"),
             Specific(Decimal("0.8"), "EUR", "item"))),
    ("6.20% + 27.10 EUR / 100 kg MAX 17.90%",
     Bounded(Compound((AdValorem(Fraction("6.2")), Specific(Decimal("27.1"), "EUR", "kg", Decimal(100)))),
             None, AdValorem(Fraction("17.9")))),
    ("8.00% (01 NOV - 14 MAY), 14.00% (15 MAY - 31 OCT)",
     Seasonal(((AdValorem(Fraction(8)), (DayRange(11, 1, 5, 14),)),
               (AdValorem(Fraction(14)), (DayRange(5, 15, 10, 31),))))),
    ("4.00% (01 JAN-31 MAR, 01-31 DEC), 5.10% (01 JUN-30 NOV)",
     Seasonal(((AdValorem(Fraction(4)), (DayRange(1, 1, 3, 31), DayRange(12, 1, 12, 31))),
               (AdValorem(Fraction("5.1")), (DayRange(6, 1, 11, 30),))))),
    ("No change", NoChange()),
    ("No Change", NoChange()),
    ("No change.", NoChange()),
    ("The duty provided in the applicable subheading", Applicable()),
    ("The duty provided in the applicable subheading + 25%", Applicable(AdValorem(Fraction(25)))),
    ("The duty provided in the applicable subheading plus 25%", Applicable(AdValorem(Fraction(25)))),
    ("The duty provided inthe applicable subheading+ 25%", Applicable(AdValorem(Fraction(25)))),
    ("The duty provided in the applicable subheading + 50%.", Applicable(AdValorem(Fraction(50)))),
    ("See 9903.88.03", HeadingRef("99038803")),
    ("No additional duty", FREE),
])
def test_forms(text: str, tree: Any) -> None:
    assert parse(text) == tree
    assert parse(str(tree)) == tree


@pytest.mark.parametrize("text, reason", [
    ("9.00% +  EA MAX 18.70%  + ADSZ", R_AGRI),
    ("8.30% + EA", R_AGRI),
    ("Entry Price", R_ENTRY_PRICE),
    ("44¢ each + 6% on the case + 14% on the strap, band or bracelet + 5.3% on the battery", R_COMPONENT),
    ("3.7¢/kg on drained weight", R_COMPONENT),
    ("$1.32/t, including weight of container", R_COMPONENT),
    ("6.4 + 24.6 EUR/100 kg", R_BARE_NUMBER),
    ("7.2 MIN 0.36 EUR/100 kg", R_BARE_NUMBER),
    ("1.62 EUR / kg / tot alc", "charged per kg/tot alc"),  # per kg of alcohol: a mass no item carries
    ("18.7¢/clean kg", "charged per clean kg"),
    ("$1.32/pf. liter", "charged per pf. liter"),
    ("3.80% MIN 0.60 EUR / 100 kg / gross", "charged per kg/gross"),
])
def test_cannot_assess_forms(text: str, reason: str) -> None:
    tree = parse(text)
    assert isinstance(tree, CannotAssess)
    assert tree.reason.startswith(reason) and tree.text == text
    assert parse(str(tree)) == tree


@pytest.mark.parametrize("text, position", [
    ("", 0), ("   ", 0), ("12", 0), ("abc", 0), ("12% +", 5), ("12 XYZ/kg", 3), ("1 USD/parsec", 6),
    ("12 EUR", 6), ("12%, 14%", 5), ("5 %% on", 3), ("1 USD/kg MIN 1% MIN 2%", 16),
    ("8% (01 JAN-31 ZZZ)", 4), ("8% (41 JAN-31 DEC)", 4),
])
def test_syntax_errors_name_the_position(text: str, position: int) -> None:
    with pytest.raises(TariffSyntaxError) as info:
        parse(text)
    assert info.value.position == position, info.value


def test_not_a_string() -> None:
    with pytest.raises(TariffSyntaxError):
        parse(12)  # type: ignore[arg-type]


def test_units() -> None:
    assert Specific(Decimal(1), "USD", "bbl").base_units == BARREL_LITRES
    assert Specific(Decimal(1), "EUR", "kg", Decimal(100)).base_units == 100
    assert Specific(Decimal(1), "EUR", "doz").base_units == 12
    assert Specific(Decimal(1), "EUR", "gross").quantity == "count"
    assert Specific(Decimal(1), "EUR", "m3").base_units == 1000
    assert Specific(Decimal(1), "EUR", "g").base_units == Decimal("0.001")
    with pytest.raises(TariffError):
        Specific(Decimal(1), "EUR", "parsec")


def test_day_ranges() -> None:
    wrap = DayRange(11, 1, 5, 14)
    assert wrap.contains(dt.date(2026, 12, 25)) and wrap.contains(dt.date(2026, 5, 14))
    assert not wrap.contains(dt.date(2026, 5, 15))
    assert DayRange(1, 1, 4, 31).contains(dt.date(2026, 4, 30))  # "31 APR" as printed in the CET
    s = parse("8.00% (01 JAN-31 MAY, 1 NOV-31 DEC), 12.00% (01 JUN-31 OCT)")
    assert isinstance(s, Seasonal)
    assert s.pick(dt.date(2026, 7, 1)) == AdValorem(Fraction(12))
    assert s.pick(dt.date(2026, 11, 2)) == AdValorem(Fraction(8))
    gap = parse("4.00% (01 JAN-31 MAR), 5.10% (01 JUN-30 NOV)")
    assert isinstance(gap, Seasonal) and gap.pick(dt.date(2026, 4, 15)) is None


def test_split_special() -> None:
    assert split_special("Free (A+,AU,BH) 3.2% (JP)") == [("Free", ("A+", "AU", "BH")), ("3.2%", ("JP",))]
    assert split_special("Free (A,AU)8.8¢/liter(JO)") == [("Free", ("A", "AU")), ("8.8¢/liter", ("JO",))]
    assert split_special("Free (AU,BH, CL,CO)") == [("Free", ("AU", "BH", "CL", "CO"))]
    assert split_special("A duty upon ... (see U.S. note 3 of this subchapter) (B,C,)")[-1][1] == ("B", "C")
    assert split_special("See 9919.04.50, 9919.04.67 (PA (PA)") == [("See 9919.04.50, 9919.04.67", ("PA",))]
    assert split_special("The duty provided in the applicable subheading + 25%") == [
        ("The duty provided in the applicable subheading + 25%", ())]
    assert split_special("See U.S. note 3(e) (CO,PE)") == [("See U.S. note 3(e)", ("CO", "PE"))]


# ------------------------------------------------------------------ properties

TARIFF_CHARS = "0123456789.,%¢$€£/+- ()kgKGlitrMINAXFreEURUSDGBeachpdoz:;"


@given(st.one_of(st.text(max_size=60), st.text(alphabet=TARIFF_CHARS, max_size=40)))
@example("(")
@example("1 1/0%")
@example("12 1/2 EUR/kg")
@example("CANNOT_ASSESS[x](")
@example("0/0")
@example("1 EUR/0 kg")
@example("See 9903.88")
def test_parser_never_crashes(text: str) -> None:
    try:
        tree = parse(text)
    except TariffSyntaxError as exc:
        assert 0 <= exc.position <= len(text)
        assert isinstance(exc, TariffError)
        return
    assert isinstance(tree, NODE_TYPES)
    if tree == FREE:  # zero duty only when the text says so
        said = re.fullmatch(r"\s*(free\.?|no\s+additional\s+duty\.?|0*\.?0*\s*(%|percent)\.?)\s*", text, re.I)
        assert said, text


def _decimal(max_places: int = 6, hi: int = 10**7) -> st.SearchStrategy[Decimal]:
    return st.builds(lambda m, p: Decimal(m).scaleb(-p), st.integers(0, hi), st.integers(0, max_places))


percent = st.one_of(
    _decimal(4, 10**6).map(lambda d: AdValorem(Fraction(d))),
    st.builds(lambda w, n, d: AdValorem(Fraction(w) + Fraction(n, d)), st.integers(0, 200), st.integers(1, 10),
              st.integers(11, 13)))
UNIT_NAMES = sorted(u for u in UNITS if u != "thousand")
specific = st.builds(Specific, _decimal(), st.sampled_from(sorted(CURRENCY_EXPONENTS)), st.sampled_from(UNIT_NAMES),
                     st.one_of(st.just(Decimal(1)), _decimal(2, 10**5).filter(lambda d: d > 0)))
term = st.one_of(percent, specific)
linear = st.one_of(term, st.lists(term, min_size=2, max_size=4).map(lambda ts: Compound(tuple(ts))))
bounded = st.builds(Bounded, linear, st.one_of(st.none(), linear), st.one_of(st.none(), linear)).filter(
    lambda b: b.minimum is not None or b.maximum is not None)
rate = st.one_of(linear, bounded)
day_range = st.builds(DayRange, st.integers(1, 12), st.integers(1, 31), st.integers(1, 12), st.integers(1, 31))


@st.composite
def seasonal(draw: Any) -> Seasonal:
    alts = draw(st.lists(st.tuples(rate, st.lists(day_range, min_size=1, max_size=3).map(tuple)),
                         min_size=1, max_size=4))
    if draw(st.booleans()):
        alts.append((draw(rate), ()))
    return Seasonal(tuple(alts))


reason = st.text(st.characters(blacklist_characters="]", blacklist_categories=("Cs",)), min_size=1, max_size=30)
cannot = st.builds(CannotAssess, reason, st.text(st.characters(blacklist_categories=("Cs",)), max_size=40))
tree = st.one_of(rate, seasonal(), st.builds(Applicable, st.one_of(st.none(), rate)), st.just(NoChange()),
                 st.from_regex(r"[0-9]{8}([0-9]{2})?", fullmatch=True).map(HeadingRef), cannot)


@given(tree)
@example(AdValorem(Fraction(1, 3)))
@example(Specific(Decimal("1E-7"), "EUR", "kg", Decimal("1E+2")))
@example(Specific(Decimal("0.5"), "USD", "each", Decimal(12)))
@example(CannotAssess("r", " padded (text) "))
def test_print_then_parse_gives_the_same_tree(t: Any) -> None:
    assert parse(str(t)) == t


@given(rate)
def test_core_trees_are_core(t: Any) -> None:
    assert is_core(t)
