"""Hand-computed tests of input reading and of every error of docs/semantics.md section 1.

Every case runs through BOTH `deminimis.assess` and `deminimis.reference.assess`:
good input must give the values worked out by hand in the comments (EUR cents
unless said otherwise); bad input must raise the same exception type, naming the
same column and the same (0-based) row, in the order of "Validation order".
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import numpy as np
import pytest

import deminimis as dm
from deminimis.errors import (
    AmountOverflowError,
    InconsistentConsignmentError,
    InvalidValueError,
    LengthMismatchError,
    MissingColumnError,
    RegimeError,
    TariffError,
    UnknownCodeError,
    UnknownCurrencyError,
    UnknownValueError,
)

TSHIRT, MILK, WINE, TOY, BOOK = "6109100010", "0401100000", "2204210000", "9503000000", "4901990000"
INT64_MAX = 2**63 - 1
ON = dt.date(2026, 11, 28)  # any date: the test regimes have no validity bounds


# ---------------------------------------------------------------- helpers


def regime(**kw: Any) -> dm.Regime:
    d: dict[str, Any] = {"id": "TEST", "currency": "EUR", "valuation": "CIF",
                         "vat": {"rates": {"DE": {"standard": "0"}}}}
    d.update(kw)
    return dm.Regime.from_dict(d)


def tariff(*records: tuple[str, str]) -> dm.Tariff:
    return dm.Tariff.from_records([{"code": c, "duty": e} for c, e in records])


REG = regime()
TAR = tariff(("61", "10%"), ("0401", "3 EUR / kg"), ("2204", "2.5 EUR / l"), ("9503", "0.30 EUR / p/st"),
             ("4901", "0%"))
RATES = dm.ExchangeRates({"USD": "2", "JPY": "160", "BHD": "0.4"}, base="EUR")


def base(**cols: Any) -> dict[str, list[Any]]:
    """A valid batch of three T-shirts (A: 10.00 + 20.00, B: 30.00), with columns replaced or added."""
    d: dict[str, list[Any]] = {"consignment": ["A", "A", "B"], "hs_code": [TSHIRT] * 3,
                               "value": ["10.00", "20.00", "30.00"], "currency": ["EUR"] * 3}
    d.update(cols)
    return d


def both(items: Any, reg: dm.Regime = REG, tar: dm.Tariff = TAR, **kw: Any):
    kw.setdefault("rates", RATES)
    kw.setdefault("on", ON)
    return (dm.assess(items, regime=reg, tariff=tar, **kw),
            dm.reference.assess(items, regime=reg, tariff=tar, **kw))


def check(items: Any, reg: dm.Regime = REG, tar: dm.Tariff = TAR, *, kw: dict[str, Any] | None = None,
          cons: dict[str, list[int]] | None = None, **expected: list[int]):
    eng, ref = both(items, reg, tar, **(kw or {}))
    problems = []
    for name, res in (("engine", eng), ("reference", ref)):
        for col, want in expected.items():
            if res[col].tolist() != want:
                problems.append(f"{name} item {col}: got {res[col].tolist()}, expected {want}")
        for col, want in (cons or {}).items():
            if res.consignments[col].tolist() != want:
                problems.append(f"{name} consignment {col}: got {res.consignments[col].tolist()}, expected {want}")
    assert not problems, "\n".join(problems)
    return eng, ref


def raises_same(exc_type: type, column: str | None, row: int | None, items: Any, reg: dm.Regime = REG,
                tar: dm.Tariff = TAR, **kw: Any) -> None:
    """Both engine and reference raise exactly exc_type naming `column` and `row`."""
    kw.setdefault("rates", RATES)
    kw.setdefault("on", ON)
    problems = []
    for name, fn in (("engine", dm.assess), ("reference", dm.reference.assess)):
        try:
            fn(items, regime=reg, tariff=tar, **kw)
        except Exception as exc:  # noqa: BLE001 - the type is what is checked
            got = (type(exc).__name__, getattr(exc, "column", None), getattr(exc, "row", None))
            if got != (exc_type.__name__, column, row):
                problems.append(f"{name}: raised {got} ({exc}), expected {(exc_type.__name__, column, row)}")
        else:
            problems.append(f"{name}: raised nothing, expected {exc_type.__name__}")
    assert not problems, "\n".join(problems)


# ================================================================ 1. required columns and lengths


@pytest.mark.parametrize("column", ["consignment", "hs_code", "value"])
def test_missing_required_column(column):
    items = {k: v for k, v in base().items() if k != column}
    raises_same(MissingColumnError, column, None, items)


def test_missing_currency_column_and_currency_keyword():
    items = {k: v for k, v in base().items() if k != "currency"}
    raises_same(MissingColumnError, "currency", None, items)
    # currency= for the whole batch: 1000, 2000, 3000 cents
    check(items, kw={"currency": "EUR"}, intrinsic=[1000, 2000, 3000])
    # in USD at 1 EUR = 2 USD: 500, 1000, 1500
    check(items, kw={"currency": "USD"}, intrinsic=[500, 1000, 1500])


def test_length_mismatch():
    raises_same(LengthMismatchError, "value", None, base(value=["10.00", "20.00"]))
    raises_same(LengthMismatchError, "freight", None, base(freight=["1"] * 4))


def test_missing_column_comes_before_length_mismatch():
    items = {k: v for k, v in base(hs_code=[TSHIRT]).items() if k != "value"}
    raises_same(MissingColumnError, "value", None, items)


# ================================================================ 2. consignment and hs_code


def test_consignment_id_missing():
    raises_same(InvalidValueError, "consignment", 1, base(consignment=["A", None, "B"]))
    raises_same(InvalidValueError, "consignment", 2, base(consignment=[1.0, 2.0, float("nan")]))


def test_consignment_checked_before_hs_code():
    # a bad code at row 0 and a missing consignment at row 2: the consignment column is checked first
    raises_same(InvalidValueError, "consignment", 2, base(consignment=["A", "A", None], hs_code=["61", TSHIRT, TSHIRT]))


@pytest.mark.parametrize("bad", ["610", "61091000001", "6109a00000", "", " 6109", "６１０９１０"])
def test_hs_code_must_be_4_to_10_ascii_digits(bad):
    raises_same(InvalidValueError, "hs_code", 1, base(hs_code=[TSHIRT, bad, TSHIRT]))


def test_hs_code_must_be_a_string():
    raises_same(InvalidValueError, "hs_code", 0, base(hs_code=[6109100010] * 3))


def test_hs_code_lengths_4_and_10_accepted():
    # 4 digits "6109" and 10 digits: both covered by the "61" line, 10% of 1000, 2000, 3000
    check(base(hs_code=["6109", "6109100010", "61091000"]), duty=[100, 200, 300])


# ================================================================ 3. currency


@pytest.mark.parametrize("bad", ["XXX", "eur", "", "EURO"])
def test_currency_not_iso_4217(bad):
    raises_same(UnknownCurrencyError, "currency", 2, base(currency=["EUR", "EUR", bad]))


def test_currency_without_rate():
    raises_same(UnknownCurrencyError, "currency", 1, base(currency=["EUR", "GBP", "EUR"]))


def test_currency_iso_check_before_rate_check():
    # row 0 has no rate (GBP), row 2 is no ISO code: the ISO check runs over the column first
    raises_same(UnknownCurrencyError, "currency", 2, base(currency=["GBP", "EUR", "XXX"], consignment=["A", "B", "C"]))


def test_currency_checked_before_value():
    raises_same(UnknownCurrencyError, "currency", 2,
                base(value=["abc", "20.00", "30.00"], currency=["EUR", "EUR", "XXX"]))


# ================================================================ 4. value


@pytest.mark.parametrize("bad", ["abc", "-1.00", "-0.01", "NaN", "Infinity", "-Infinity", "1.001", "1e-3", None,
                                 True, "1,00"])
def test_value_invalid(bad):
    items = base(value=["10.00", bad, "30.00"])
    items["value"] = np.array(items["value"], dtype=object)  # keep each value's own type
    raises_same(InvalidValueError, "value", 1, items)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -1.0])
def test_value_invalid_float(bad):
    raises_same(InvalidValueError, "value", 1, base(value=[10.0, bad, 30.0]))


@pytest.mark.parametrize("currency,bad", [("JPY", "1.5"), ("BHD", "1.0001"), ("EUR", "0.001")])
def test_value_more_places_than_currency(currency, bad):
    raises_same(InvalidValueError, "value", 1, base(value=["1", bad, "1"], currency=[currency] * 3,
                                                    consignment=["A", "B", "C"]))


def test_value_first_bad_row_wins():
    # row 0 too precise, row 1 negative: row 0
    raises_same(InvalidValueError, "value", 0, base(value=["1.001", "-1", "30.00"]))


def test_value_overflow_and_invalid_first_row_wins():
    # row 0 overflows, row 1 is negative: the first offending row is named, whatever the error
    raises_same(AmountOverflowError, "value", 0, base(value=["92233720368547758.08", "-1", "1"]))
    raises_same(InvalidValueError, "value", 0, base(value=["-1", "92233720368547758.08", "1"]))


def test_value_as_many_places_as_currency():
    items = base(value=["1", "1.234", "1.5"], currency=["JPY", "BHD", "EUR"], consignment=["A", "B", "C"])
    # 1 JPY = 100 / 160 = 0.625 -> 1 (half_up); 1234 fils / 4 = 308.5 -> 309; 150
    check(items, intrinsic=[1, 309, 150])


def test_value_overflow_int64():
    # 92233720368547758.08 EUR = 9223372036854775808 cents = 2^63: does not fit
    raises_same(AmountOverflowError, "value", 1, base(value=["1", "92233720368547758.08", "1"]))
    # 2^63 yen
    raises_same(AmountOverflowError, "value", 0, base(value=["9223372036854775808", "1", "1"], currency=["JPY"] * 3,
                                                      consignment=["A", "B", "C"]))
    # an integer (whole euros): 92233720368547759 * 100 > 2^63 - 1
    raises_same(AmountOverflowError, "value", 2, base(value=[1, 2, 92233720368547759]))


def test_value_at_int64_max_fits():
    tar = tariff(("61", "0%"))
    items = base(value=["92233720368547758.07", "0.00", "0.00"], consignment=["A", "B", "C"])
    # 2^63 - 1 cents, alone in its consignment, no duty, no VAT
    check(items, tar=tar, intrinsic=[INT64_MAX, 0, 0], customs_value=[INT64_MAX, 0, 0], total=[0, 0, 0],
          cons={"intrinsic": [INT64_MAX, 0, 0]})
    # an integer in whole euros: 92233720368547758 * 100 = 9223372036854775800 fits
    check(base(value=[92233720368547758, 0, 0], consignment=["A", "B", "C"]), tar=tar,
          intrinsic=[9223372036854775800, 0, 0])


# ---------------------------------------------------------------- how amounts are read


def test_floats_read_through_their_repr_half_even():
    items = base(value=[0.1, 2.675, 1.005, 0.015, 0.025, 12.0], consignment=list("ABCDEF"),
                 hs_code=[TSHIRT] * 6, currency=["EUR"] * 6)
    # 0.1 -> 10; 2.675 -> 267.5 -> 268 (even); 1.005 -> 100.5 -> 100 (even); 0.015 -> 1.5 -> 2;
    # 0.025 -> 2.5 -> 2; 12.0 -> 1200  (the binary values 2.67499.., 1.00499.. would give 267, 100)
    want = [10, 268, 100, 2, 2, 1200]
    check(items, intrinsic=want)
    check({**items, "value": np.array(items["value"], dtype=np.float64)}, intrinsic=want)


def test_float_yen_rounds_to_whole_yen():
    # 1000.5 JPY -> 1000 yen (half even); 1001.5 -> 1002; then 100 y / 160 cents: 625, 626.25 -> 626
    check(base(value=[1000.5, 1001.5, 0.0], currency=["JPY"] * 3, consignment=["A", "B", "C"]),
          intrinsic=[625, 626, 0])


def test_decimal_int_and_string_amounts():
    items = base(value=np.array([Decimal("12.30"), 12, " 12.30 "], dtype=object), consignment=["A", "B", "C"])
    # Decimal 12.30 -> 1230; integer 12 = 12 whole euros -> 1200; the string, stripped -> 1230
    check(items, intrinsic=[1230, 1200, 1230])


def test_integer_array_values_in_mixed_currencies():
    items = base(value=np.array([1000, 12, 1], dtype=np.int64), currency=["JPY", "EUR", "BHD"],
                 consignment=["A", "B", "C"])
    # whole units of each currency: 1000 yen -> 100000 / 160 = 625; 12 EUR -> 1200;
    # 1 BHD = 1000 fils -> 1000 / 4 = 250
    check(items, intrinsic=[625, 1200, 250])


def test_trailing_zeros_lose_nothing():
    # "12.300" has three places but the same value as 12.30: nothing would be lost -> 1230
    check(base(value=["12.300", "1.0", "5"], consignment=["A", "B", "C"]), intrinsic=[1230, 100, 500])


def test_amounts_minor():
    items = base(value=[1234, 5, 0], consignment=["A", "B", "C"])
    check(items, kw={"amounts": "minor"}, intrinsic=[1234, 5, 0])
    # minor units of each currency: 1000 yen -> 100000 / 160 = 625; 1234 fils -> 308.5 -> 309; 101 US cents
    # -> 50.5 -> 51
    items = base(value=[1000, 1234, 101], currency=["JPY", "BHD", "USD"], consignment=["A", "B", "C"])
    check(items, kw={"amounts": "minor"}, intrinsic=[625, 309, 51])
    # freight in minor units too: 250 cents over 1000:2000 -> 83 r1000, 166 r2000 -> 1 left -> row 1
    items = base(value=[1000, 2000, 3000], freight=[250, 250, 0])
    check(items, kw={"amounts": "minor"}, customs_value=[1083, 2167, 3000])
    # the largest int64
    check(base(value=[INT64_MAX, 0, 0], consignment=["A", "B", "C"]), tar=tariff(("61", "0%")),
          kw={"amounts": "minor"}, intrinsic=[INT64_MAX, 0, 0])


@pytest.mark.parametrize("values,exc,row", [
    (["12.30", "1", "2"], InvalidValueError, 0),            # strings are not minor units
    ([10.0, 20.0, 30.0], InvalidValueError, 0),             # nor floats
    ([1, -5, 2], InvalidValueError, 1),                     # negative
    (np.array([0, 2**63, 0], dtype=np.uint64), AmountOverflowError, 1),
    (np.array([0, 0, 2**64], dtype=object), AmountOverflowError, 2),
])
def test_amounts_minor_rejects(values, exc, row):
    raises_same(exc, "value", row, base(value=values), amounts="minor")


# ================================================================ 5. origin and quantities


@pytest.mark.parametrize("bad", ["cn", "CHN", "C1", "C", 12])
def test_origin_invalid(bad):
    items = base(origin=np.array(["CN", bad, "VN"], dtype=object))
    raises_same(InvalidValueError, "origin", 1, items)


def test_origin_empty_or_missing_allowed():
    check(base(origin=np.array(["", None, "VN"], dtype=object)), duty=[100, 200, 300])


@pytest.mark.parametrize("column,bad", [
    ("net_mass_kg", "1.0001"), ("net_mass_kg", "-1"), ("net_mass_kg", "abc"), ("quantity", "0.0005"),
    ("quantity", -2), ("volume_l", "NaN"), ("volume_l", "inf"),
])
def test_quantity_invalid(column, bad):
    items = base(**{column: np.array(["1", bad, "1"], dtype=object)})
    raises_same(InvalidValueError, column, 1, items)


def test_quantity_overflow():
    # 9223372036854775.808 kg = 2^63 grams
    raises_same(AmountOverflowError, "net_mass_kg", 0, base(net_mass_kg=["9223372036854775.808", "1", "1"]))


def test_quantity_columns_checked_in_documented_order():
    items = base(quantity=["1", "-1", "1"], net_mass_kg=["1", "-1", "1"], volume_l=["1", "-1", "1"])
    raises_same(InvalidValueError, "net_mass_kg", 1, items)  # net_mass_kg, volume_l, quantity


def test_origin_checked_before_quantities_and_value_before_origin():
    raises_same(InvalidValueError, "origin", 2, base(origin=["CN", "CN", "cn"], quantity=["-1", "1", "1"]))
    raises_same(InvalidValueError, "value", 2, base(origin=["cn", "CN", "CN"], value=["1", "1", "-1"]))


def test_quantities_in_thousandths():
    items = {"consignment": ["A", "B", "C"], "hs_code": [MILK, WINE, TOY], "value": ["1.00"] * 3,
             "currency": ["EUR"] * 3, "net_mass_kg": ["0.001", None, None], "volume_l": [None, "1.2", None],
             "quantity": [None, None, 3]}
    # 1 g * 3 EUR/kg = 0.3 cents -> 0; 1.2 l * 250 = 300; 3 * 30 = 90
    check(items, duty=[0, 300, 90])


# ================================================================ 6. consignment-level columns


def test_freight_currency_unknown():
    raises_same(UnknownCurrencyError, "freight_currency", 1,
                base(freight_currency=["EUR", "XXX", "EUR"], freight=["1", "1", "1"]))
    raises_same(UnknownCurrencyError, "freight_currency", 0,
                base(freight_currency=["GBP", "GBP", "EUR"], freight=["1", "1", "1"]))


def test_freight_inconsistent_names_first_disagreeing_row():
    raises_same(InconsistentConsignmentError, "freight", 1, base(freight=["5", "6", "7"]))
    # non-adjacent items of A (rows 0 and 2): row 2 disagrees with row 0
    raises_same(InconsistentConsignmentError, "freight", 2,
                base(consignment=["A", "B", "A"], freight=["5", "7", "6"]))


def test_freight_equal_amounts_written_differently_agree():
    # "5" and "5.00" are the same amount: 500 over 1000:2000 (W=3000): 500000/3000 = 166 r2000,
    # 1000000/3000 = 333 r1000 -> 1 left -> row 0: 167, 333
    check(base(freight=["5", "5.00", "0"]), customs_value=[1167, 2333, 3000])


def test_freight_invalid():
    raises_same(InvalidValueError, "freight", 2, base(freight=["1", "1", "-1"]))
    raises_same(InvalidValueError, "freight", 0, base(freight=["1.5", "1.5", "1"], freight_currency=["JPY"] * 3))
    raises_same(InvalidValueError, "insurance", 1, base(insurance=["1", "x", "1"]))


def test_freight_missing_is_zero():
    check(base(freight=np.array([None, None, "1.00"], dtype=object)), customs_value=[1000, 2000, 3100])


def test_insurance_inconsistent():
    raises_same(InconsistentConsignmentError, "insurance", 1, base(insurance=["1", "2", "3"]))


def test_item_currency_must_agree_when_freight_has_no_currency():
    items = base(currency=["EUR", "USD", "EUR"], freight=["1", "1", "1"])
    raises_same(InconsistentConsignmentError, "currency", 1, items)
    # with a freight_currency the items may mix currencies: 1000 + 20.00 USD / 2 = 1000; freight 100 EUR
    # over 1000:1000 -> 50, 50
    check({**items, "freight_currency": ["EUR"] * 3}, customs_value=[1050, 1050, 3100])


def test_collected_at_sale():
    raises_same(InvalidValueError, "collected_at_sale", 2,
                base(collected_at_sale=np.array([True, True, "yes"], dtype=object)))
    raises_same(InconsistentConsignmentError, "collected_at_sale", 1, base(collected_at_sale=[True, False, True]))


def test_destination():
    reg = regime(vat={"rates": {"DE": {"standard": "19"}, "FR": {"standard": "20"}}})
    raises_same(UnknownValueError, "destination", 2, base(destination=["DE", "DE", "XX"]), reg)
    raises_same(InconsistentConsignmentError, "destination", 1, base(destination=["DE", "FR", "FR"]), reg)
    # several destinations, no default, no column
    raises_same(MissingColumnError, "destination", None, base(), reg)


@pytest.mark.parametrize("column,good", [("transport", ["post", "post", "courier"]),
                                         ("consignee", ["ann", "ann", "bob"])])
def test_transport_and_consignee(column, good):
    raises_same(InvalidValueError, column, 1, base(**{column: np.array([good[0], None, good[2]], dtype=object)}))
    raises_same(InconsistentConsignmentError, column, 1, base(**{column: [good[0], good[2], good[2]]}))


def test_date():
    raises_same(InvalidValueError, "date", 2, base(date=["2026-01-01", "2026-01-01", "2026-13-01"]))
    raises_same(InvalidValueError, "date", 0, base(date=np.array([20260101, 20260101, 20260101], dtype=object)))
    raises_same(InconsistentConsignmentError, "date", 1, base(date=["2026-01-01", "2026-01-02", "2026-01-01"]))


def test_consignment_columns_checked_in_documented_order():
    reg = regime(vat={"rates": {"DE": {"standard": "19"}, "FR": {"standard": "20"}}})
    # destination disagrees at row 1, freight at row 2: freight comes first in the order
    items = base(consignment=["A", "A", "A"], destination=["DE", "FR", "FR"], freight=["1", "1", "2"])
    raises_same(InconsistentConsignmentError, "freight", 2, items, reg)
    # date disagrees at row 1, transport at row 2: transport comes first
    items = base(consignment=["A", "A", "A"], date=["2026-01-01", "2026-01-02", "2026-01-02"],
                 transport=["post", "post", "air"])
    raises_same(InconsistentConsignmentError, "transport", 2, items)
    # collected_at_sale (row 2) before destination (row 1)
    items = base(consignment=["A", "A", "A"], destination=["DE", "FR", "FR"], collected_at_sale=[True, True, False])
    raises_same(InconsistentConsignmentError, "collected_at_sale", 2, items, reg)
    # item-level columns (origin, row 2) before consignment-level ones (freight, row 1)
    raises_same(InvalidValueError, "origin", 2, base(origin=["CN", "CN", "x"], freight=["1", "2", "3"]))


# ================================================================ 7. tariff lines, quantities, VAT rates


def test_unknown_code():
    raises_same(UnknownCodeError, "hs_code", 1, base(hs_code=[TSHIRT, "9999000000", TSHIRT]))


def test_origin_specific_lines():
    tar = dm.Tariff.from_records([{"code": "6109", "duty": "12%"}, {"code": "6109", "duty": "5%", "origin": "CN"},
                                  {"code": "9102", "duty": "3%", "origin": "CN"}])
    # CN: 5% of 1000 = 50; VN: base line 12% of 2000 = 240; unknown origin: 12% of 3000 = 360
    check(base(origin=["CN", "VN", ""]), tar=tar, duty=[50, 240, 360])
    # 9102 has only a CN line: a VN watch has no line
    items = base(hs_code=["9102110000"] * 3, origin=["CN", "CN", "VN"])
    raises_same(UnknownCodeError, "hs_code", 2, items, tar=tar)


def test_unknown_code_before_missing_quantity():
    items = base(hs_code=[MILK, TSHIRT, "9999000000"])
    raises_same(UnknownCodeError, "hs_code", 2, items)


def test_missing_quantity_for_specific_line():
    # no net_mass_kg column at all: the first item whose line charges per kg is row 1
    raises_same(MissingColumnError, "net_mass_kg", 1, base(hs_code=[TSHIRT, MILK, MILK]))
    # the column is there but the value is missing
    raises_same(InvalidValueError, "net_mass_kg", 2,
                base(hs_code=[TSHIRT, MILK, MILK], net_mass_kg=np.array([None, "1", None], dtype=object)))
    raises_same(InvalidValueError, "net_mass_kg", 1,
                base(hs_code=[TSHIRT, MILK, MILK], net_mass_kg=np.array([None, float("nan"), "1"], dtype=object)))
    raises_same(MissingColumnError, "volume_l", 0, base(hs_code=[WINE, TSHIRT, TSHIRT]))
    raises_same(MissingColumnError, "quantity", 2, base(hs_code=[TSHIRT, TSHIRT, TOY]))


def test_missing_quantity_not_needed_by_ad_valorem_line():
    # 10% of 1000, 2000, 3000: no quantity column needed
    check(base(net_mass_kg=np.array([None, None, None], dtype=object)), duty=[100, 200, 300])


def test_specific_duty_in_a_currency_without_a_rate_is_a_tariff_error():
    tar = tariff(("61", "1 GBP / kg"))  # RATES has no GBP
    raises_same(TariffError, None, None, base(net_mass_kg=["1", "1", "1"]), tar=tar)


def test_specific_duty_in_another_currency_is_converted_at_the_rate():
    # 1 USD / kg at 1 EUR = 2 USD is 0.50 EUR / kg: 1.5 kg -> 0.75 EUR; 0.001 kg -> 0.0005 EUR -> 0.00
    # (half up to the cent); 3 kg -> 1.50 EUR
    tar = tariff(("61", "1 USD / kg"))
    engine, ref = both(base(net_mass_kg=["1.5", "0.001", "3"]), tar=tar)
    assert engine["duty"].tolist() == ref["duty"].tolist() == [75, 0, 150]


def test_missing_vat_category_rate_is_a_regime_error():
    reg = regime(vat={"rates": {"DE": {"standard": "19", "reduced": "7"}, "FR": {"standard": "20"}},
                      "categories": {"reduced": ["4901"]}, "default_destination": "DE"})
    # a book for DE is fine; a book for FR has no reduced rate
    raises_same(RegimeError, None, None, base(hs_code=[BOOK, TSHIRT, BOOK], destination=["DE", "DE", "FR"]), reg)


# ================================================================ 8. columns the regime needs


@pytest.mark.parametrize("drop", ["consignee", "date"])
def test_consignee_aggregation_needs_consignee_and_date(drop):
    reg = regime(duty_relief={"conditions": [{"threshold": "150", "per": "consignee_year"}]})
    items = base(consignee=["ann", "ann", "bob"], date=["2026-01-01"] * 3)
    del items[drop]
    raises_same(MissingColumnError, drop, None, items, reg)


def test_transport_condition_needs_transport():
    reg = regime(duty_relief={"conditions": [{"threshold": "150"}], "transports": ["post"]})
    raises_same(MissingColumnError, "transport", None, base(), reg)
    reg = regime(fees=[{"name": "courier", "amount": "1", "transports": ["courier"]}])
    raises_same(MissingColumnError, "transport", None, base(), reg)


# ================================================================ empty input and frames


def test_empty_input():
    items = {"consignment": [], "hs_code": [], "value": [], "currency": []}
    for res in both(items):
        assert len(res) == 0
        assert res.consignment_ids == []
        assert res["total"].tolist() == [] and res.consignments["total"].tolist() == []
        assert res.summary()["total"] == 0 and res.summary()["items"] == 0


def test_empty_dataframe():
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"consignment": pd.Series([], dtype=object), "hs_code": pd.Series([], dtype=object),
                       "value": pd.Series([], dtype=object), "currency": pd.Series([], dtype=object)})
    for res in both(df):
        assert len(res) == 0 and res.consignments["items"].tolist() == []


FRAME_REG = regime(vat={"rates": {"DE": {"standard": "19"}, "FR": {"standard": "20"}}},
                   collection_at_sale={"conditions": [{"threshold": "150"}]})
FRAME_ROWS = {
    "consignment": ["P1", "P1", "P2"],
    "hs_code": [TSHIRT, TOY, TSHIRT],
    "value": ["10.00", "20.00", "5.00"],
    "currency": ["EUR", "EUR", "USD"],
    "quantity": [1, 2, 1],
    "freight": ["3.00", "3.00", "1.00"],
    "destination": ["DE", "DE", "FR"],
    "collected_at_sale": [False, False, True],
}
# P1: freight 300 over 1000:2000 -> 100, 200; customs 1100, 2200
#     T-shirt: 10% of 1100 = 110; VAT 19% of 1210 = 229.9 -> 230; total 340
#     toy: 2 * 30 = 60; VAT 19% of 2260 = 429.4 -> 429; total 489
# P2: 5.00 USD / 2 = 250; freight 1.00 USD -> 50; customs 300; 10% = 30; VAT 20% of 330 = 66 at sale
FRAME_EXPECTED = {"intrinsic": [1000, 2000, 250], "customs_value": [1100, 2200, 300], "duty": [110, 60, 30],
                  "vat": [230, 429, 0], "vat_at_sale": [0, 0, 66], "total": [340, 489, 30], "rule": [0, 0, 16]}


def test_dict_input():
    check(FRAME_ROWS, FRAME_REG, **FRAME_EXPECTED, cons={"total": [829, 30]})


def test_pandas_input():
    pd = pytest.importorskip("pandas")
    check(pd.DataFrame(FRAME_ROWS), FRAME_REG, **FRAME_EXPECTED, cons={"total": [829, 30]})


def test_polars_input():
    pl = pytest.importorskip("polars")
    check(pl.DataFrame(FRAME_ROWS), FRAME_REG, **FRAME_EXPECTED, cons={"total": [829, 30]})


def test_pyarrow_input():
    pa = pytest.importorskip("pyarrow")
    check(pa.table(FRAME_ROWS), FRAME_REG, **FRAME_EXPECTED, cons={"total": [829, 30]})


def test_frames_with_nulls_in_optional_columns():
    rows = {"consignment": ["A", "B", "C"], "hs_code": [TOY, TSHIRT, TOY], "value": ["1.00"] * 3,
            "currency": ["EUR"] * 3, "quantity": [2, None, 3], "origin": ["CN", None, ""]}
    # toys: 2 * 30 = 60, 3 * 30 = 90; the T-shirt needs no quantity: 10% of 100 = 10
    want = [60, 10, 90]
    pd = pytest.importorskip("pandas")
    pl = pytest.importorskip("polars")
    pa = pytest.importorskip("pyarrow")
    for frame in (rows, pd.DataFrame(rows), pl.DataFrame(rows), pa.table(rows)):
        check(frame, duty=want)


def test_frames_with_float_values():
    rows = {"consignment": ["A", "B", "C"], "hs_code": [TSHIRT] * 3, "value": [0.1, 2.675, 1.005],
            "currency": ["EUR"] * 3}
    # 0.1 -> 10; 2.675 -> 268; 1.005 -> 100 (half even from the repr)
    want = [10, 268, 100]
    pd = pytest.importorskip("pandas")
    pl = pytest.importorskip("polars")
    pa = pytest.importorskip("pyarrow")
    for frame in (rows, pd.DataFrame(rows), pl.DataFrame(rows), pa.table(rows)):
        check(frame, intrinsic=want)


def test_dates_as_datetime64_day_array():
    reg = regime(duty_relief={"conditions": [{"threshold": "25", "per": "consignee_day"}]})
    items = base(consignment=["A", "B", "C"], consignee=["ann", "ann", "ann"],
                 date=np.array(["2026-01-01", "2026-01-01", "2026-01-02"], dtype="datetime64[D]"))
    # ann on 1 Jan: 10 + 20 = 30 > 25 -> 10% duty 100, 200; on 2 Jan: 30 > 25 -> 300
    check(items, reg, duty=[100, 200, 300])
    reg = regime(duty_relief={"conditions": [{"threshold": "30", "per": "consignee_day"}]})
    # threshold 30: 30 <= 30 relief on both days
    check(items, reg, duty=[0, 0, 0], rule=[1, 1, 1])


def test_missing_datetime64_date_is_refused():
    # NaT in a datetime64 column (hashed as int64 words by the encoder) is a missing date, named at its row
    reg = regime(duty_relief={"conditions": [{"threshold": "25", "per": "consignee_day"}]})
    items = base(consignment=["A", "B", "C"], consignee=["ann", "ann", "ann"],
                 date=np.array(["2026-01-01", "2026-01-01", "NaT"], dtype="datetime64[D]"))
    raises_same(InvalidValueError, "date", 2, items, reg)


def test_pandas_datetime_column():
    pd = pytest.importorskip("pandas")
    reg = regime(duty_relief={"conditions": [{"threshold": "25", "per": "consignee_day"}]})
    df = pd.DataFrame(base(consignment=["A", "B", "C"], consignee=["ann", "ann", "ann"],
                           date=pd.to_datetime(["2026-01-01", "2026-01-01", "2026-01-02"])))
    # as in test_dates_as_datetime64_day_array: 100, 200, 300
    check(df, reg, duty=[100, 200, 300])


@pytest.mark.parametrize("kind", ["numpy", "pandas"])
def test_datetime64_ns_dates(kind):
    reg = regime(duty_relief={"conditions": [{"threshold": "25", "per": "consignee_day"}]})
    dates = np.array(["2026-01-01", "2026-01-01", "2026-01-02"], dtype="datetime64[ns]")
    items: Any = base(consignment=["A", "B", "C"], consignee=["ann", "ann", "ann"], date=dates)
    if kind == "pandas":
        pd = pytest.importorskip("pandas")
        items = pd.DataFrame(items)
        items["date"] = items["date"].astype("datetime64[ns]")
    # as in test_dates_as_datetime64_day_array: 100, 200, 300
    check(items, reg, duty=[100, 200, 300])


# ================================================================ overflow in the computation


def test_conversion_overflow():
    rates = dm.ExchangeRates({"USD": "0.5"}, base="EUR")
    # 50000000000000000.00 USD / 0.5 = 10^17 EUR = 10^19 cents > 2^63 - 1, at row 1
    items = base(value=["1", "50000000000000000.00", "1"], currency=["USD"] * 3, consignment=["A", "B", "C"])
    raises_same(AmountOverflowError, None, 1, items, rates=rates)


def test_customs_value_overflow_with_freight():
    # 2^63 - 1 cents + 1 cent of freight in consignment A (rows 1 and 2): the consignment's first row is 1
    items = base(consignment=["B", "A", "A"], value=["1", "92233720368547758.07", "0"], freight=["0", "0.01", "0.01"])
    raises_same(AmountOverflowError, None, 1, items, tar=tariff(("61", "0%")))


def test_consignment_sum_overflow_names_the_consignment_first_row():
    # 5 * 10^18 + 5 * 10^18 = 10^19 > 2^63 - 1
    items = base(consignment=["A", "A", "B"], value=["50000000000000000.00", "50000000000000000.00", "1"])
    raises_same(AmountOverflowError, None, 0, items, tar=tariff(("61", "0%")))


def test_consignee_aggregate_overflow():
    reg = regime(duty_relief={"conditions": [{"threshold": "150", "per": "consignee_day"}]})
    # two consignments of ann on one day, 5 * 10^18 cents each: their sum overflows; both engines name the
    # first row of a consignment of the group
    items = base(consignment=["A", "B", "C"], value=["50000000000000000.00", "1", "50000000000000000.00"],
                 consignee=["ann", "bob", "ann"], date=["2026-01-01"] * 3)
    eng_exc = ref_exc = None
    try:
        dm.assess(items, regime=reg, tariff=TAR, rates=RATES, on=ON)
    except AmountOverflowError as exc:
        eng_exc = exc
    try:
        dm.reference.assess(items, regime=reg, tariff=TAR, rates=RATES, on=ON)
    except AmountOverflowError as exc:
        ref_exc = exc
    assert eng_exc is not None and ref_exc is not None
    assert eng_exc.row == ref_exc.row == 2  # the consignment at which ann's running sum overflowed is C


def test_duty_and_vat_overflow():
    tar = tariff(("61", "100%"), ("0401", "1000 EUR / kg"))
    reg = regime(vat={"rates": {"DE": {"standard": "20"}}})
    # duty 100% of 2^63 - 1 fits, but the VAT base customs + duty = 2(2^63 - 1) does not: row 1
    items = base(consignment=["A", "B", "C"], value=["1", "92233720368547758.07", "1"])
    raises_same(AmountOverflowError, None, 1, items, reg, tar)
    # 9223372036854775.807 kg at 1000 EUR/kg = 100000 cents per kg: about 9.2 * 10^20 cents: row 2
    items = base(consignment=["A", "B", "C"], hs_code=[TSHIRT, TSHIRT, MILK],
                 net_mass_kg=[None, None, "9223372036854775.807"])
    raises_same(AmountOverflowError, None, 2, items, reg, tar)


@pytest.mark.parametrize("grouped", [True, False])
def test_conversion_overflow_is_reported_before_an_earlier_consignments_vat_overflow(grouped):
    # docs/semantics.md: the overflow named is the first in the order of the steps (conversion first).  The engine
    # assesses consignment by consignment, converting each as it goes, and must still name the
    # conversion overflow (row 5) rather than the VAT overflow (row 0) met first, on any thread count.
    tar = tariff(("61", "100%"))
    reg = regime(vat={"rates": {"DE": {"standard": "20"}}})
    rates = dm.ExchangeRates({"USD": "0.5"}, base="EUR")
    values = ["92233720368547758.07", "1", "1", "1", "1", "50000000000000000.00"]
    currency = ["EUR"] * 5 + ["USD"]
    ids, row = ["A", "B", "C", "D", "E", "F"], 5
    if not grouped:  # A's items are not adjacent (rows 0 and 5); F's is at row 1
        ids, row = ["A", "F", "B", "C", "D", "A"], 1
        values[1], values[5] = values[5], "0"  # A's sum still fits
        currency[1], currency[5] = currency[5], currency[1]
    items = base(consignment=ids, value=values, currency=currency, hs_code=[TSHIRT] * 6)
    raises_same(AmountOverflowError, None, row, items, reg, tar, rates=rates)
    with pytest.raises(AmountOverflowError) as info:
        dm.assess(items, regime=reg, tariff=tar, rates=rates, n_threads=2, on=ON)
    assert info.value.row == row


def test_core_refuses_a_consignment_code_out_of_range():
    # engine.py's encoding never gives one, but the kernel indexes by these codes: a direct
    # _core.assess call with a bad one is an error naming the row, not a read out of bounds
    from deminimis import _core
    from deminimis.engine import encode
    enc = encode(base(), regime=REG, tariff=TAR, rates=RATES, on=ON)
    n, nc = enc["n"], enc["n_cons"]
    out_items = {k: np.empty(n, dtype=np.int64) for k in _core.ITEM_OUTPUTS}
    out_items["rule"] = np.empty(n, dtype=np.int32)
    out_cons = {k: np.empty(nc, dtype=np.int64) for k in _core.CONS_OUTPUTS}
    for bad in (nc, -1):
        items = dict(enc["items"], cons=np.array([0, 0, bad], dtype=np.int64))
        with pytest.raises(ValueError, match=r"cons\[2\]"):
            _core.assess(items, enc["cons"], enc["tables"], enc["params"], out_items, out_cons)


def test_regime_not_in_force():
    reg = regime(valid_from="2026-07-01", valid_to="2028-07-01")
    raises_same(RegimeError, None, None, base(), reg, on=dt.date(2026, 6, 30))
    # valid_to is exclusive
    raises_same(RegimeError, None, None, base(), reg, on=dt.date(2028, 7, 1))
    check(base(), reg, kw={"on": dt.date(2026, 7, 1)}, duty=[100, 200, 300])
