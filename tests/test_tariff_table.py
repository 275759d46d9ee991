"""The Tariff model: lookup rules, resolution into core nodes, records, files."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction
from typing import Any

import numpy as np
import pytest

import deminimis as dm
from deminimis.errors import TariffError, TariffSyntaxError
from deminimis.reference import duty_amount
from deminimis.rounding import Rounding
from deminimis.tariff import FREE, AdValorem, Bounded, CannotAssess, Compound, Specific, Tariff, parse, sample
from deminimis.tariff.algebra import lesser_of, stack
from deminimis.tariff.expr import is_core
from deminimis.tariff.report import (
    R_AMBIGUOUS,
    R_APPLICABLE_ALONE,
    R_HEADING,
    R_NO_BASE,
    R_NO_SEASON,
    R_SEASON_NEEDS_DATE,
    R_SEVERAL_DATED,
    R_SEVERAL_RATES,
    R_STACK_BOUNDS,
)

_ON = dt.date(2026, 11, 28)  # any date the test regime is in force


def AV(p: str) -> AdValorem:
    return AdValorem(Fraction(p))


def expr(t: Tariff, code: str, origin: str = "", on: dt.date | None = None) -> Any:
    found = t.lookup(code, origin, on=on)
    assert found is None or is_core(found[0]), found
    return None if found is None else found[0]


def test_longest_prefix_and_inheritance() -> None:
    t = Tariff.from_records([{"code": "6109", "duty": "12%"}, {"code": "61091000", "duty": "10%"},
                             {"code": "6109100012", "duty": "11%"}])
    assert t.lookup("6109100010") == (AV("10"), "61091000")   # a ten-digit line with no rate: its parent's
    assert t.lookup("6109100012") == (AV("11"), "6109100012")
    assert t.lookup("6109900000") == (AV("12"), "6109")
    assert t.lookup("6110") is None


def test_short_code_uses_the_lines_under_it_when_they_agree() -> None:
    t = Tariff.from_records([{"code": "61091000", "duty": "12%"}, {"code": "61099020", "duty": "12%"},
                             {"code": "62034231", "duty": "12%"}, {"code": "62034233", "duty": "8%"}])
    assert expr(t, "610910") == AV("12") and expr(t, "6109") == AV("12")
    e = expr(t, "620342")
    assert isinstance(e, CannotAssess) and e.reason == R_AMBIGUOUS  # never a guess, never zero
    assert expr(t, "6204") is None


def test_origin_measures_replace_the_base() -> None:
    t = Tariff.from_records([
        {"code": "61091000", "duty": "16.5%"},
        {"code": "61091000", "origin": "KR MX", "duty": "Free", "program": "KR,S"},
        {"code": "61", "origin": "CU", "duty": "90%", "program": "column 2"},
    ])
    assert expr(t, "6109100012", "KR") == FREE
    assert expr(t, "6109100012", "CN") == AV("16.5")
    assert expr(t, "6109100012", "") == AV("16.5")
    assert t.lookup("6109100012", "CU") == (AV("90"), "61")  # an origin measure at any level beats the base


def test_several_preferences_give_the_lower_duty() -> None:
    kg = Specific(Decimal(1), "USD", "kg")
    assert lesser_of([AV("5"), AV("4")]) == AV("4")
    assert lesser_of([AV("5"), FREE]) == FREE
    assert lesser_of([Compound((AV("5"), kg)), AV("5")]) == AV("5")
    assert lesser_of([AV("5"), kg]) == Bounded(AV("5"), None, kg)  # min(a, b), exactly
    three = lesser_of([AV("5"), kg, Specific(Decimal(1), "USD", "l")])
    assert isinstance(three, CannotAssess) and three.reason == R_SEVERAL_RATES
    t = Tariff.from_records([{"code": "0401", "duty": "10%"},
                             {"code": "0401", "origin": "MX", "duty": "3%", "program": "S"},
                             {"code": "0401", "origin": "MX CA", "duty": "1 USD/kg", "program": "S+"}])
    assert expr(t, "0401", "MX") == Bounded(AV("3"), None, Specific(Decimal(1), "USD", "kg"))
    assert expr(t, "0401", "CA") == Specific(Decimal(1), "USD", "kg")


def test_additional_duties_stack_exactly_into_min_max() -> None:
    t = Tariff.from_records([
        {"code": "91021100", "duty": "4.50% MIN 0.30 EUR / item MAX 0.80 EUR / item"},
        {"code": "9102", "origin": "CN", "measure": "additional", "duty": "25%"},
        {"code": "91", "measure": "additional", "duty": "1 EUR/item"},
    ])
    e = expr(t, "9102110000", "CN")
    add = [AV("25"), Specific(Decimal(1), "EUR", "item")]
    assert e == Bounded(stack(AV("4.5"), add), stack(Specific(Decimal("0.30"), "EUR", "item"), add),
                        stack(Specific(Decimal("0.80"), "EUR", "item"), add))
    r = Rounding("half_up", Decimal("0.01"))
    base = parse("4.50% MIN 0.30 EUR / item MAX 0.80 EUR / item")
    for value in (0, 500, 1000, 1777, 10_000, 10**7):
        q = {"mass": 0, "volume": 0, "count": 2000}
        clamped = min(max(Fraction(value) * Fraction("0.045"), Fraction(60)), Fraction(160))
        exact = clamped + Fraction(value) / 4 + 200
        assert duty_amount(e, value, q, "EUR", 2, r) == round_half_up(exact)
        assert duty_amount(base, value, q, "EUR", 2, r) == round_half_up(clamped)
    assert expr(t, "9102110000", "US") == stack(parse("4.50% MIN 0.30 EUR / item MAX 0.80 EUR / item"),
                                                [Specific(Decimal(1), "EUR", "item")])
    two = stack(parse("1% MIN 1 EUR/kg"), [parse("2% MAX 3 EUR/kg")])
    assert isinstance(two, CannotAssess) and two.reason == R_STACK_BOUNDS


def round_half_up(x: Fraction) -> int:
    return int((2 * x.numerator + x.denominator) // (2 * x.denominator))


def test_chapter_99_measures() -> None:
    t = Tariff.from_records([
        {"code": "8471", "duty": "Free"},
        {"code": "9403", "duty": "4.5% MIN 1 USD/item"},
        {"code": "99038803", "duty": "The duty provided in the applicable subheading + 25%"},
        {"code": "99038815", "duty": "The duty provided in the applicable subheading + 7.5%"},
        {"code": "99030125", "duty": "No change"},
        {"code": "99990000", "duty": "25%"},
        {"code": "8471", "origin": "CN", "measure": "additional", "duty": "See 9903.88.03"},
        {"code": "9403", "origin": "CN", "measure": "additional", "duty": "See 9903.88.15"},
        {"code": "9403", "origin": "CN", "measure": "additional", "duty": "See 9903.01.25"},
        {"code": "8471", "origin": "HK", "measure": "additional",
         "duty": "The duty provided in the applicable subheading + 10%"},
        {"code": "8471", "origin": "VN", "measure": "additional", "duty": "See 9999.00.00"},
    ])
    assert expr(t, "8471300100", "CN") == AV("25")
    assert expr(t, "8471300100", "HK") == AV("10")
    assert expr(t, "8471300100", "US") == FREE
    assert expr(t, "9403600000", "CN") == Bounded(AV("12"), Compound((AV("7.5"), Specific(Decimal(1), "USD", "item"))))
    e = expr(t, "9903880300", "CN")  # a chapter 99 number declared on its own
    assert isinstance(e, CannotAssess) and e.reason == R_APPLICABLE_ALONE
    e = expr(t, "8471300100", "VN")  # a reference to a line that is not an addition
    assert isinstance(e, CannotAssess) and e.reason == R_HEADING


def test_seasonal_rates_by_date() -> None:
    t = Tariff.from_records([{"code": "0805", "duty": "8.00% (01 NOV - 14 MAY), 14.00% (15 MAY - 31 OCT)"},
                             {"code": "0806", "duty": "4.00% (01 JAN-31 MAR), 5.10% (01 JUN-30 NOV)"}])
    assert expr(t, "0805", on=dt.date(2026, 6, 1)) == AV("14")
    assert expr(t, "0805", on=dt.datetime(2026, 12, 24, 10, 0)) == AV("8")
    e = expr(t, "0805")
    assert isinstance(e, CannotAssess) and e.reason == R_SEASON_NEEDS_DATE
    e = expr(t, "0806", on=dt.date(2026, 4, 15))
    assert isinstance(e, CannotAssess) and e.reason == R_NO_SEASON


def test_validity_dates() -> None:
    t = Tariff.from_records([
        {"code": "6109", "duty": "10%", "valid_to": "2026-07-01"},
        {"code": "6109", "duty": "12%", "valid_from": "2026-07-01"},
        {"code": "6110", "duty": "5%", "valid_from": "2027-01-01"},
    ])
    assert expr(t, "6109", on=dt.date(2026, 6, 30)) == AV("10")
    assert expr(t, "6109", on=dt.date(2026, 7, 1)) == AV("12")
    e = expr(t, "6109")
    assert isinstance(e, CannotAssess) and e.reason == R_SEVERAL_DATED
    assert expr(t, "6110", on=dt.date(2026, 7, 1)) is None
    with pytest.raises(TariffError, match="in force at the same time"):
        Tariff.from_records([{"code": "6109", "duty": "10%"}, {"code": "6109", "duty": "12%",
                                                                "valid_from": "2026-07-01"}])


def test_additional_without_base() -> None:
    t = Tariff.from_records([{"code": "9904", "measure": "additional", "duty": "66.6¢/kg"}])
    e = expr(t, "9904020100")
    assert isinstance(e, CannotAssess) and e.reason == R_NO_BASE


def test_records_round_trip(tmp_path: Any) -> None:
    recs = [
        {"code": "6109", "duty": "12%", "units": "doz.;kg", "description": "T-shirts", "source": "CET 2020"},
        {"code": "6109", "origin": "KR MX", "duty": "Free", "program": "KR,S"},
        {"code": "6109", "origin": "CN", "measure": "additional", "duty": "25%", "valid_from": "2026-01-01",
         "valid_to": "2027-01-01"},
        {"code": "9102", "duty": "4.50% MIN 0.30 EUR / item MAX 0.80 EUR / item"},
        {"code": "0805", "duty": "8.00% (01 NOV - 14 MAY), 14.00% (15 MAY - 31 OCT)"},
        {"code": "0401", "duty": dm.tariff.CannotAssess("agricultural component", "EA")},
        {"code": "610910", "units": ["No."]},
    ]
    t = Tariff.from_records(recs)
    out = t.to_records()
    assert out[0] == {"code": "0401", "duty": "CANNOT_ASSESS[agricultural component](EA)"}
    again = Tariff.from_records(out)
    assert again.to_records() == out and again.content_hash == t.content_hash
    for code, origin in [("6109100010", "CN"), ("6109", "MX"), ("9102", ""), ("0401", ""), ("0805", "")]:
        assert again.lookup(code, origin, on=dt.date(2026, 3, 1)) == t.lookup(code, origin, on=dt.date(2026, 3, 1))
    assert t.units("6109100010") == ("No.",) and t.units("6109") == ("doz.", "kg")
    path = str(tmp_path / "t.csv")
    t.to_csv(path)
    assert Tariff.from_csv(path).to_records() == out
    pytest.importorskip("pyarrow")
    path = str(tmp_path / "t.parquet")
    t.to_parquet(path)
    assert Tariff.from_parquet(path).to_records() == out


def test_from_records_errors() -> None:
    with pytest.raises(TariffError, match="unknown keys"):
        Tariff.from_records([{"code": "6109", "duty": "1%", "rate": "x"}])
    with pytest.raises(TariffError, match="2 to 10 digits"):
        Tariff.from_records([{"code": "61A9", "duty": "1%"}])
    with pytest.raises(TariffError, match="alpha-2"):
        Tariff.from_records([{"code": "6109", "duty": "1%", "origin": "China"}])
    with pytest.raises(TariffError, match="needs 'duty'"):
        Tariff.from_records([{"code": "6109"}])
    with pytest.raises(TariffError, match="two base measures"):
        Tariff.from_records([{"code": "6109", "duty": "1%"}, {"code": "6109", "duty": "2%"}])
    with pytest.raises(TariffSyntaxError, match="record 1 .code 6110."):
        Tariff.from_records([{"code": "6109", "duty": "1%"}, {"code": "6110", "duty": "12 per cent"}])
    t = Tariff.from_records([{"code": "6110", "duty": "12 XYZ/kg"}], errors="cannot_assess")
    e = expr(t, "6110")
    assert isinstance(e, CannotAssess) and e.text == "12 XYZ/kg"   # never zero
    assert t.report is not None and len(t.report.syntax_errors) == 1 and t.report.evaluable == 0


def test_resolve_is_lookup_per_distinct_pair() -> None:
    t = sample("US")
    rng = np.random.default_rng(5)
    codes = np.array(sorted(t.lines) + ["9999999999"])[rng.integers(0, len(t.lines) + 1, size=2000)]
    origins = np.array(["CN", "MX", "CU", "KR", ""])[rng.integers(0, 5, size=2000)]
    res = t.resolve(codes, origins)
    for i in range(0, 2000, 7):
        found = t.lookup(str(codes[i]), str(origins[i]))
        if found is None:
            assert res.missing[i] and res.index[i] == -1
        else:
            assert res.exprs[res.index[i]] == found[0]
    assert res.missing.sum() == (codes == "9999999999").sum()
    assert len(t.resolve([])) == 0


def test_compat_constructor_and_views() -> None:
    t = Tariff(lines={"6109": AV("12")}, by_origin={("6109", "CN"): AV("25")})
    assert t.lines == {"6109": AV("12")} and t.by_origin == {("6109", "CN"): AV("25")}
    assert expr(t, "6109100010", "CN") == AV("25") and len(t) == 1


@pytest.mark.parametrize("jurisdiction, currency", [("EU", "EUR"), ("UK", "GBP"), ("US", "USD")])
def test_samples_compile(jurisdiction: str, currency: str) -> None:
    from deminimis.tariff.compile import compile_measure
    t = sample(jurisdiction)
    assert len(t.lines) > 150
    for code in t.lines:
        for origin in ("", "CN", "MX", "KR", "CU"):
            found = t.lookup(code, origin, on=dt.date(2026, 11, 28))
            assert found is not None and is_core(found[0])
            compile_measure(found[0], currency, 2)
    assert all(m.source for m in t.measures())


def test_engine_flags_cannot_assess_instead_of_zero() -> None:
    regime = dm.Regime.from_dict({"id": "t", "currency": "USD", "valuation": "FOB",
                                  "vat": {"rates": {"US": {"standard": "0"}}}})
    t = sample("US")
    watch = next(c for c in t.lines if c.startswith("910211"))
    items = {"consignment": ["a", "b"], "hs_code": [watch, "6109100012"], "value": ["100", "100"],
             "currency": ["USD", "USD"], "origin": ["CN", "CN"]}
    got = dm.assess(items, regime=regime, tariff=t, on=_ON)
    assert got["rule"][0] & {name: bit for bit, name in dm.RULES.items()}["cannot_assess"]
    assert got["duty"].tolist() == [0, 1650]
    assert got.equals(dm.reference.assess(items, regime=regime, tariff=t, on=_ON))


def test_resolve_without_the_fast_keys() -> None:
    t = Tariff.from_records([{"code": "6109", "duty": "12%"}, {"code": "6109", "origin": "KR", "duty": "Free"}])
    res = t.resolve(["6109.10.00", "6109100010", "610910", "7001"], ["KR", "", "kr", "CN"])  # dots, lower case
    got = [None if i < 0 else res.exprs[i] for i in res.index]
    assert got == [FREE, AV("12"), AV("12"), None] and res.missing.tolist() == [False, False, False, True]
    res = t.resolve(np.array(["6109100010"] * 3), None)
    assert [res.exprs[i] for i in res.index] == [AV("12")] * 3
    assert t.codes() == ["6109"]
