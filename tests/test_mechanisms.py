"""Hand-computed unit tests of every mechanism of docs/semantics.md.

Every case runs through BOTH the native engine (`deminimis.assess`) and the
reference (`deminimis.reference.assess`), and both must give the numbers worked
out by hand in the comments (amounts are minor units: EUR cents unless said
otherwise).  Nothing here computes an expected value with the code under test.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

import deminimis as dm
from deminimis.tariff.expr import CannotAssess

# rule bits (docs/semantics.md section 11)
DUTY_RELIEF, FLAT, DUTY_WAIVED, VAT_RELIEF, AT_SALE, VAT_WAIVED, CANNOT, FEE = 1, 2, 4, 8, 16, 32, 64, 128
MODE_NAMES = ("half_up", "half_even", "down", "up", "floor", "ceiling")


# ---------------------------------------------------------------- helpers


def regime(**kw: Any) -> dm.Regime:
    """A test regime in EUR, CIF, VAT 0 unless the test says otherwise."""
    d: dict[str, Any] = {"id": "TEST", "currency": "EUR", "valuation": "CIF",
                         "vat": {"rates": {"DE": {"standard": "0"}}}}
    d.update(kw)
    return dm.Regime.from_dict(d)


def tariff(*records: tuple[str, Any]) -> dm.Tariff:
    return dm.Tariff.from_records([{"code": c, "duty": e} for c, e in records])


def batch(*rows: dict[str, Any], **common: Any) -> dict[str, list[Any]]:
    """Columns from rows; `common` values are repeated on every row unless a row overrides them."""
    keys: list[str] = []
    for r in (common, *rows):
        for k in r:
            if k not in keys:
                keys.append(k)
    return {k: [r.get(k, common.get(k)) for r in rows] for k in keys}


def both(items: Any, reg: dm.Regime, tar: dm.Tariff, **kw: Any) -> tuple[dm.Assessment, dm.Assessment]:
    kw.setdefault("on", dt.date(2026, 11, 28))  # any date: the test regimes have no validity bounds
    eng = dm.assess(items, regime=reg, tariff=tar, **kw)
    ref = dm.reference.assess(items, regime=reg, tariff=tar, **kw)
    return eng, ref


def check(items: Any, reg: dm.Regime, tar: dm.Tariff, *, cons: dict[str, list[int]] | None = None,
          kw: dict[str, Any] | None = None, **expected: list[int]) -> tuple[dm.Assessment, dm.Assessment]:
    """Run both engines and assert every given item column (and consignment column) equals `expected`."""
    eng, ref = both(items, reg, tar, **(kw or {}))
    problems = []
    for name, res in (("engine", eng), ("reference", ref)):
        for col, want in expected.items():
            got = res[col].tolist()
            if got != want:
                problems.append(f"{name} item {col}: got {got}, expected {want}")
        for col, want in (cons or {}).items():
            got = res.consignments[col].tolist()
            if got != want:
                problems.append(f"{name} consignment {col}: got {got}, expected {want}")
    assert not problems, "\n".join(problems)
    return eng, ref


ZERO = tariff(("01", "0%"), ("02", "0%"), ("03", "0%"), ("04", "0%"), ("61", "0%"), ("62", "0%"),
              ("91", "0%"), ("22", "0%"), ("49", "0%"))
TEN = tariff(("61", "10%"), ("22", "5%"), ("91", "10%"))
TSHIRT, JUMPER, BEER, WATCH, BOOK = "6109100010", "6110209900", "2203000100", "9102110000", "4901990000"


# ================================================================ 2. conversion


@pytest.mark.parametrize("quote,expected", [
    ("foreign_per_base", 500),    # 1 EUR = 2 USD: 10.00 USD / 2 = 5.00 EUR
    ("base_per_foreign", 2000),   # 1 USD = 2 EUR: 10.00 USD * 2 = 20.00 EUR
])
def test_conversion_divides_or_multiplies_by_quote(quote, expected):
    rates = dm.ExchangeRates({"USD": "2"}, base="EUR", quote=quote)
    items = batch({"value": "10.00"}, consignment="A", hs_code=TSHIRT, currency="USD")
    check(items, regime(), ZERO, kw={"rates": rates}, intrinsic=[expected], customs_value=[expected])


def test_conversion_ecb_style_foreign_per_base():
    rates = dm.ExchangeRates({"USD": "1.0876"}, base="EUR")
    items = batch({"value": "100.00"}, {"value": "1.00"}, {"value": "0.01"},
                  consignment="A", hs_code=TSHIRT, currency="USD")
    # 10000 / 1.0876 = 9194.5568... (1.0876 * 9194 = 9999.3944, 0.6056 / 1.0876 = 0.5568) -> 9195
    # 100 / 1.0876 = 91.9456 -> 92
    # 1 / 1.0876 = 0.9195 -> 1
    check(items, regime(), ZERO, kw={"rates": rates}, intrinsic=[9195, 92, 1], cons={"intrinsic": [9288]})


def test_conversion_base_per_foreign_into_cad():
    rates = dm.ExchangeRates({"USD": "1.3912"}, base="CAD", quote="base_per_foreign")
    reg = regime(currency="CAD", vat={"rates": {"CA": {"standard": "0"}}})
    items = batch({"value": "100.00"}, {"value": "10.01"}, {"value": "0.05"},
                  consignment="A", hs_code=TSHIRT, currency="USD")
    # 10000 * 1.3912 = 13912
    # 1001 * 1.3912 = 1392.5912 -> 1393
    # 5 * 1.3912 = 6.956 -> 7
    check(items, reg, ZERO, kw={"rates": rates}, intrinsic=[13912, 1393, 7])


def test_conversion_jpy_zero_decimals_into_eur():
    rates = dm.ExchangeRates({"JPY": "162.5"}, base="EUR")
    items = batch({"value": "1000"}, {"value": "1"}, {"value": "13"}, {"value": "2500"},
                  consignment="A", hs_code=TSHIRT, currency="JPY")
    # JPY has no minor unit: a yen -> a * 100 / 162.5 cents
    # 1000 -> 100000 / 162.5 = 615.38 -> 615
    # 1 -> 100 / 162.5 = 0.615 -> 1
    # 13 -> 1300 / 162.5 = 8 exactly
    # 2500 -> 250000 / 162.5 = 1538.46 -> 1538
    check(items, regime(), ZERO, kw={"rates": rates}, intrinsic=[615, 1, 8, 1538])


def test_conversion_bhd_three_decimals_into_eur():
    rates = dm.ExchangeRates({"BHD": "0.4"}, base="EUR")
    items = batch({"value": "1.000"}, {"value": "0.001"}, {"value": "10.5"},
                  consignment="A", hs_code=TSHIRT, currency="BHD")
    # BHD has 3 decimals: f fils -> f * 10^(2-3) / 0.4 = f / 4 cents
    # 1000 fils -> 250; 1 fils -> 0.25 -> 0; 10500 fils -> 2625
    check(items, regime(), ZERO, kw={"rates": rates}, intrinsic=[250, 0, 2625])


# Ties under every rounding mode.  BHD at 1 EUR = 0.4 BHD: f fils -> f / 4 cents;
# JPY at 1 EUR = 160 JPY: y yen -> 100 y / 160 = 0.625 y cents.
CONVERSION_TIES = {
    #             BHD 1.234  BHD 1.235  BHD 1.238  JPY 4  JPY 12
    #             308.5 tie  308.75     309.5 tie  2.5    7.5
    "half_up":   [309, 309, 310, 3, 8],
    "half_even": [308, 309, 310, 2, 8],
    "down":      [308, 308, 309, 2, 7],
    "up":        [309, 309, 310, 3, 8],
    "floor":     [308, 308, 309, 2, 7],
    "ceiling":   [309, 309, 310, 3, 8],
}


@pytest.mark.parametrize("mode", MODE_NAMES)
def test_conversion_ties_every_mode(mode):
    rates = dm.ExchangeRates({"BHD": "0.4", "JPY": "160"}, base="EUR")
    reg = regime(rounding={"conversion": {"mode": mode, "quantum": "0.01"}})
    items = batch({"value": "1.234", "currency": "BHD"}, {"value": "1.235", "currency": "BHD"},
                  {"value": "1.238", "currency": "BHD"}, {"value": "4", "currency": "JPY"},
                  {"value": "12", "currency": "JPY"}, consignment="A", hs_code=TSHIRT)
    want = CONVERSION_TIES[mode]
    check(items, reg, ZERO, kw={"rates": rates}, intrinsic=want, cons={"intrinsic": [sum(want)]})


def test_conversion_base_per_foreign_tie():
    # 1 JPY = 0.00625 EUR: 4 JPY -> 4 * 0.00625 * 100 = 2.5 cents, a tie
    rates = dm.ExchangeRates({"JPY": "0.00625"}, base="EUR", quote="base_per_foreign")
    items = batch({"value": "4"}, consignment="A", hs_code=TSHIRT, currency="JPY")
    check(items, regime(rounding={"conversion": {"mode": "half_even"}}), ZERO, kw={"rates": rates},
          intrinsic=[2])
    check(items, regime(rounding={"conversion": {"mode": "half_up"}}), ZERO, kw={"rates": rates},
          intrinsic=[3])


@pytest.mark.parametrize("quantum,mode,expected", [
    # 10.00 USD at 1 EUR = 1.5 USD: 1000 / 1.5 = 666.67 cents
    ("0.01", "half_up", [667, 10]),
    ("0.05", "half_up", [665, 10]),   # 666.67 / 5 = 133.33 steps -> 133 -> 665; 15 / 1.5 = 10 = 2 steps
    ("0.05", "up", [670, 10]),        # 134 steps -> 670
    ("1", "half_up", [700, 0]),       # 666.67 / 100 = 6.67 -> 7 -> 700; 10 / 100 = 0.1 -> 0
    ("1", "down", [600, 0]),          # 6 -> 600
])
def test_conversion_quantum(quantum, mode, expected):
    rates = dm.ExchangeRates({"USD": "1.5"}, base="EUR")
    reg = regime(rounding={"conversion": {"mode": mode, "quantum": quantum}})
    items = batch({"value": "10.00"}, {"value": "0.15"}, consignment="A", hs_code=TSHIRT, currency="USD")
    check(items, reg, ZERO, kw={"rates": rates}, intrinsic=expected)


def test_amount_in_customs_currency_is_not_changed_by_conversion_quantum():
    reg = regime(rounding={"conversion": {"mode": "half_up", "quantum": "1"}})
    items = batch({"value": "12.34"}, consignment="A", hs_code=TSHIRT, currency="EUR", freight="0.56")
    # EUR 12.34 is already in EUR: 1234 cents unchanged; freight 0.56 EUR: 56 unchanged
    check(items, reg, ZERO, intrinsic=[1234], customs_value=[1290])


def test_conversion_quantum_applies_to_freight():
    rates = dm.ExchangeRates({"USD": "1.5"}, base="EUR")
    reg = regime(rounding={"conversion": {"mode": "half_up", "quantum": "0.05"}})
    items = batch({"value": "3.00"}, consignment="A", hs_code=TSHIRT, currency="USD", freight="1.00",
                  insurance="0.10")
    # item 300 / 1.5 = 200; freight 100 / 1.5 = 66.67 -> 13.33 steps of 5 -> 13 -> 65;
    # insurance 10 / 1.5 = 6.67 -> 1.33 steps -> 1 -> 5; customs 200 + 65 + 5 = 270
    check(items, reg, ZERO, kw={"rates": rates}, intrinsic=[200], customs_value=[270])


# ================================================================ 2-3. CIF / FOB and transport allocation


@pytest.mark.parametrize("valuation,customs,duty,c_customs", [
    # transport 4.00 + 1.00 = 500, allocated 3000:1000 -> 500*3000/4000 = 375, 125
    ("CIF", [3375, 1125], [338, 113], [4500]),  # 10% of 3375 = 337.5 -> 338; of 1125 = 112.5 -> 113
    ("FOB", [3000, 1000], [300, 100], [4000]),  # transport not in the customs value
])
def test_cif_vs_fob(valuation, customs, duty, c_customs):
    items = batch({"value": "30.00"}, {"value": "10.00"}, consignment="A", hs_code=TSHIRT, currency="EUR",
                  freight="4.00", insurance="1.00")
    check(items, regime(valuation=valuation), TEN, intrinsic=[3000, 1000], customs_value=customs, duty=duty,
          cons={"intrinsic": [4000], "customs_value": c_customs, "duty": [sum(duty)]})


@pytest.mark.parametrize("values,freight,customs", [
    # weights 100,100,100 W=300, T=10: floors 3,3,3 (9), remainders 1000 mod 300 = 100 each:
    # the 1 left goes to the earliest item -> shares 4,3,3
    (["1.00", "1.00", "1.00"], "0.10", [104, 103, 103]),
    # weights 100,200,700 W=1000, T=7: 700/1000 -> 0 r700; 1400/1000 -> 1 r400; 4900/1000 -> 4 r900;
    # 2 left -> r900 (item 3), r700 (item 1) -> shares 1,1,5
    (["1.00", "2.00", "7.00"], "0.07", [101, 201, 705]),
    # weights 333,333,334 W=1000, T=2: 666 -> 0 r666; 0 r666; 668 -> 0 r668;
    # 2 left -> r668 (item 3), then the tie r666 goes to item 1 (earlier) -> shares 1,0,1
    (["3.33", "3.33", "3.34"], "0.02", [334, 333, 335]),
    # all weights 0: equal weights 1,1,1, T=10 -> 4,3,3
    (["0.00", "0.00", "0.00"], "0.10", [4, 3, 3]),
    # weights 0 and 100: 5*0/100 = 0, 5*100/100 = 5
    (["0.00", "1.00"], "0.05", [0, 105]),
])
def test_transport_allocation_largest_remainder(values, freight, customs):
    items = batch(*({"value": v} for v in values), consignment="A", hs_code=TSHIRT, currency="EUR",
                  freight=freight)
    eng, _ = check(items, regime(), ZERO, customs_value=customs)
    # the parts sum exactly to the transport
    total_transport = int(freight.replace(".", ""))
    assert sum(customs) - sum(int(v.replace(".", "")) for v in values) == total_transport


def test_transport_allocation_ties_in_input_order_with_non_adjacent_items():
    # rows: A, B, A.  A: weights 100,100, T=1 -> tie, row 0 (the earlier) gets it.  B: 500 + 3.
    items = batch({"consignment": "A", "value": "1.00", "freight": "0.01"},
                  {"consignment": "B", "value": "5.00", "freight": "0.03"},
                  {"consignment": "A", "value": "1.00", "freight": "0.01"},
                  hs_code=TSHIRT, currency="EUR")
    check(items, regime(), ZERO, customs_value=[101, 503, 100],
          cons={"customs_value": [201, 503], "intrinsic": [200, 500], "items": [2, 1]})


def test_freight_currency_differs_from_item_currency():
    rates = dm.ExchangeRates({"USD": "2"}, base="EUR")
    items = batch({"value": "10.00"}, {"value": "30.00"}, consignment="A", hs_code=TSHIRT, currency="EUR",
                  freight_currency="USD", freight="1.01", insurance="1.01")
    # each converted separately: 101 / 2 = 50.5 -> 51 (half_up), twice -> 102 (converting 2.02 USD at once
    # would give 101).  Allocated over 1000:3000, W=4000: 102000/4000 = 25 r2000, 306000/4000 = 76 r2000;
    # 1 left, tie -> the earlier item: 26, 76.
    check(items, regime(), ZERO, kw={"rates": rates}, intrinsic=[1000, 3000], customs_value=[1026, 3076],
          cons={"customs_value": [4102]})


def test_freight_in_customs_currency_for_foreign_items():
    rates = dm.ExchangeRates({"USD": "2"}, base="EUR")
    items = batch({"value": "10.00"}, {"value": "30.00"}, consignment="A", hs_code=TSHIRT, currency="USD",
                  freight_currency="EUR", freight="1.00")
    # items 1000/2 = 500, 3000/2 = 1500; freight 100 EUR as is, 100*500/2000 = 25, 100*1500/2000 = 75
    check(items, regime(), ZERO, kw={"rates": rates}, intrinsic=[500, 1500], customs_value=[525, 1575])


def test_freight_currency_defaults_to_item_currency():
    rates = dm.ExchangeRates({"USD": "2"}, base="EUR")
    items = batch({"value": "10.00"}, consignment="A", hs_code=TSHIRT, currency="USD", freight="1.01")
    # item 1000/2 = 500; freight in USD: 101/2 = 50.5 -> 51
    check(items, regime(), ZERO, kw={"rates": rates}, customs_value=[551])


# ================================================================ 4. reliefs


def relief_regime(per: str = "consignment", basis: str = "intrinsic", threshold: str = "150",
                  inclusive: bool = True, **rule: Any) -> dm.Regime:
    return regime(duty_relief={"conditions": [{"basis": basis, "per": per, "threshold": threshold,
                                               "inclusive": inclusive}], **rule})


@pytest.mark.parametrize("value,inclusive,duty,rule", [
    ("150.00", True, 0, DUTY_RELIEF),    # 15000 <= 15000
    ("149.99", True, 0, DUTY_RELIEF),
    ("150.01", True, 1500, 0),           # 15001 > 15000: 10% = 1500.1 -> 1500
    ("150.00", False, 1500, 0),          # 15000 < 15000 is false: 10% = 1500
    ("149.99", False, 0, DUTY_RELIEF),   # 14999 < 15000
    ("150.01", False, 1500, 0),
])
def test_relief_threshold_inclusive_or_not(value, inclusive, duty, rule):
    items = batch({"value": value}, consignment="A", hs_code=TSHIRT, currency="EUR")
    check(items, relief_regime(inclusive=inclusive), TEN, duty=[duty], rule=[rule], total=[duty])


@pytest.mark.parametrize("basis,freight,duty,rule", [
    # intrinsic 14000 <= 15000 whatever the freight
    ("intrinsic", "20.00", [0], [DUTY_RELIEF]),
    # customs 14000 + 2000 = 16000 > 15000: 10% of 16000 = 1600
    ("customs", "20.00", [1600], [0]),
    # customs 14000 + 1000 = 15000 <= 15000
    ("customs", "10.00", [0], [DUTY_RELIEF]),
    ("customs", "10.01", [1500], [0]),  # 15001: 10% = 1500.1 -> 1500
])
def test_relief_basis_intrinsic_vs_customs(basis, freight, duty, rule):
    items = batch({"value": "140.00"}, consignment="A", hs_code=TSHIRT, currency="EUR", freight=freight)
    check(items, relief_regime(basis=basis), TEN, duty=duty, rule=rule)


def test_relief_per_item():
    items = batch({"value": "50.00"}, {"value": "50.01"}, consignment="A", hs_code=TSHIRT, currency="EUR")
    # 5000 <= 5000: relief; 5001 > 5000: 10% = 500.1 -> 500
    check(items, relief_regime(per="item", threshold="50"), TEN, duty=[0, 500], rule=[DUTY_RELIEF, 0])


def test_relief_per_item_on_customs_value():
    items = batch({"value": "50.00"}, {"value": "50.00"}, consignment="A", hs_code=TSHIRT, currency="EUR",
                  freight="0.01")
    # transport 1 over 5000:5000 -> tie -> first item: customs 5001, 5000
    # item 0: 5001 > 5000 -> 10% = 500.1 -> 500; item 1: 5000 <= 5000 -> relief
    check(items, relief_regime(per="item", basis="customs", threshold="50"), TEN,
          customs_value=[5001, 5000], duty=[500, 0], rule=[0, DUTY_RELIEF])


def test_relief_per_consignment():
    items = batch({"consignment": "A", "value": "100.00"}, {"consignment": "A", "value": "50.01"},
                  {"consignment": "B", "value": "100.00"}, {"consignment": "B", "value": "50.00"},
                  hs_code=TSHIRT, currency="EUR")
    # A: 15001 > 15000: duty 1000 and 500.1 -> 500.  B: 15000 <= 15000: relief
    check(items, relief_regime(), TEN, duty=[1000, 500, 0, 0], rule=[0, 0, DUTY_RELIEF, DUTY_RELIEF],
          cons={"duty": [1500, 0]})


def test_relief_per_consignee_day():
    d5, d6 = dt.date(2026, 1, 5), dt.date(2026, 1, 6)
    items = batch({"consignment": "A", "consignee": "alice", "date": d5, "value": "100.00"},
                  {"consignment": "B", "consignee": "alice", "date": d5, "value": "60.00"},
                  {"consignment": "C", "consignee": "alice", "date": d6, "value": "60.00"},
                  {"consignment": "D", "consignee": "bob", "date": d5, "value": "60.00"},
                  hs_code=TSHIRT, currency="EUR")
    # alice on 5 Jan: 100 + 60 = 160 > 150 -> A, B dutiable (10%: 1000, 600)
    # alice on 6 Jan: 60 -> relief; bob on 5 Jan: 60 -> relief
    check(items, relief_regime(per="consignee_day"), TEN, duty=[1000, 600, 0, 0],
          rule=[0, 0, DUTY_RELIEF, DUTY_RELIEF])


def test_relief_per_consignee_year_cumulative():
    items = batch(
        {"consignment": "C1", "consignee": "alice", "date": "2026-03-01", "value": "80.00"},
        {"consignment": "C2", "consignee": "alice", "date": "2026-01-15", "value": "50.00"},
        {"consignment": "C3", "consignee": "alice", "date": "2026-03-01", "value": "30.00"},
        {"consignment": "C4", "consignee": "alice", "date": "2027-01-02", "value": "100.00"},
        {"consignment": "C5", "consignee": "bob", "date": "2026-01-01", "value": "200.00"},
        {"consignment": "C6", "consignee": "alice", "date": "2026-12-31", "value": "1.00"},
        hs_code=TSHIRT, currency="EUR")
    # alice 2026 in date order, same-date ties by first appearance (C1 before C3):
    #   C2 (15 Jan) 50 -> 50 <= 150 relief; C1 (1 Mar) 50 + 80 = 130 relief;
    #   C3 (1 Mar) 130 + 30 = 160 > 150 -> 10% of 3000 = 300; C6 (31 Dec) 161 -> 10% of 100 = 10
    # alice 2027 restarts: C4 100 relief.  bob 2026: C5 200 > 150 -> 10% of 20000 = 2000
    check(items, relief_regime(per="consignee_year"), TEN, duty=[0, 0, 300, 0, 2000, 10],
          rule=[DUTY_RELIEF, DUTY_RELIEF, 0, DUTY_RELIEF, 0, 0])


def test_relief_per_consignee_year_with_date_objects_and_customs_basis():
    items = batch(
        {"consignment": "X", "consignee": 7, "date": dt.date(2026, 6, 1), "value": "70.00", "freight": "5.00"},
        {"consignment": "Y", "consignee": 7, "date": dt.datetime(2026, 5, 1, 12, 0), "value": "70.00",
         "freight": "5.00"},
        {"consignment": "Z", "consignee": 7, "date": dt.date(2026, 7, 1), "value": "0.01", "freight": "0.00"},
        hs_code=TSHIRT, currency="EUR")
    # customs values: X 7500, Y 7500, Z 1.  In date order: Y (1 May) 7500 relief; X (1 Jun) 15000 relief
    # (<= 15000); Z (1 Jul) 15001 > 15000 -> 10% of 1 = 0.1 -> 0 duty, no relief bit
    check(items, relief_regime(per="consignee_year", basis="customs"), TEN, duty=[0, 0, 0],
          rule=[DUTY_RELIEF, DUTY_RELIEF, 0])


def test_relief_excluded_codes():
    items = batch({"hs_code": BEER, "value": "10.00"}, {"hs_code": TSHIRT, "value": "10.00"},
                  consignment="A", currency="EUR")
    # beer (2203) never qualifies: 5% of 1000 = 50; the T-shirt is relieved
    check(items, relief_regime(excluded_codes=["2203"]), TEN, duty=[50, 0], rule=[0, DUTY_RELIEF])


def test_relief_excluded_origins():
    items = batch({"origin": "CN", "value": "10.00"}, {"origin": "VN", "value": "10.00"},
                  {"origin": "", "value": "10.00"}, consignment="A", currency="EUR", hs_code=TSHIRT)
    # CN excluded: 10% of 1000 = 100; VN and unknown origin relieved
    check(items, relief_regime(excluded_origins=["CN"]), TEN, duty=[100, 0, 0],
          rule=[0, DUTY_RELIEF, DUTY_RELIEF])


def test_relief_transports():
    items = batch({"consignment": "A", "transport": "post"}, {"consignment": "B", "transport": "courier"},
                  value="10.00", currency="EUR", hs_code=TSHIRT)
    # only post qualifies: courier pays 10% of 1000 = 100
    check(items, relief_regime(transports=["post"]), TEN, duty=[0, 100], rule=[DUTY_RELIEF, 0])


def test_relief_requires_collected_at_sale():
    items = batch({"consignment": "A", "collected_at_sale": True},
                  {"consignment": "B", "collected_at_sale": False},
                  value="10.00", currency="EUR", hs_code=TSHIRT)
    check(items, relief_regime(requires_collected_at_sale=True), TEN, duty=[0, 100], rule=[DUTY_RELIEF, 0])
    # without the requirement both are relieved
    check(items, relief_regime(), TEN, duty=[0, 0], rule=[DUTY_RELIEF, DUTY_RELIEF])


def test_relief_needs_every_condition():
    reg = regime(duty_relief={"conditions": [{"basis": "intrinsic", "per": "item", "threshold": "50"},
                                             {"basis": "intrinsic", "per": "consignment", "threshold": "150"}]})
    items = batch({"consignment": "A", "value": "40.00"}, {"consignment": "A", "value": "60.00"},
                  {"consignment": "B", "value": "40.00"}, {"consignment": "B", "value": "120.00"},
                  hs_code=TSHIRT, currency="EUR")
    # A (10000 <= 15000): 4000 <= 5000 relief; 6000 > 5000 -> 10% = 600
    # B (16000 > 15000): no relief at all -> 400, 1200
    check(items, reg, TEN, duty=[0, 600, 400, 1200], rule=[DUTY_RELIEF, 0, 0, 0])


def test_vat_relief():
    reg = regime(vat={"rates": {"DE": {"standard": "20"}}},
                 vat_relief={"conditions": [{"basis": "intrinsic", "per": "consignment", "threshold": "22"}]})
    items = batch({"consignment": "A", "value": "22.00"}, {"consignment": "B", "value": "22.01"},
                  currency="EUR", hs_code=TSHIRT)
    # A: 2200 <= 2200 relief; B: 20% of 2201 = 440.2 -> 440
    check(items, reg, ZERO, vat=[0, 440], rule=[VAT_RELIEF, 0], total=[0, 440])


# ================================================================ 5. duty


DUTY_TARIFF = tariff(
    ("6109", "12%"),
    ("0401", "3 EUR / kg"),
    ("2204", "2.5 EUR / l"),
    ("9503", "0.30 EUR / p/st"),
    ("1001", "4.40 EUR / 100 kg"),
    ("6115", "1 EUR / doz"),
    ("0402", "3.8% + 4.40 EUR / 100 kg"),
    ("9102", "4.5% MIN 0.30 EUR / p/st MAX 0.80 EUR / p/st"),
    ("9101", "4.5% MIN 0.30 EUR / p/st"),
    ("9103", "10% MAX 1 EUR / kg"),
)


def test_duty_every_expression_form():
    rows = [
        # code         value     mass       volume  quantity   hand computation
        ("6109100010", "23.45", None, None, None),      # 12% of 2345 = 281.4 -> 281
        ("0401100000", "5.00", "1.255", None, None),    # 1.255 kg * 300 = 376.5 -> 377
        ("2204210000", "5.00", None, "0.75", None),     # 0.75 l * 250 = 187.5 -> 188
        ("9503000000", "5.00", None, None, 7),          # 7 * 30 = 210
        ("1001990000", "5.00", "12.345", None, None),   # 12.345 / 100 * 440 = 54.318 -> 54
        ("6115100000", "5.00", None, None, 5),          # 5 / 12 * 100 = 41.67 -> 42
        ("0402100000", "100.00", "25", None, None),     # 3.8% of 10000 = 380, + 25/100 * 440 = 110 -> 490
        ("9102110000", "5.00", None, None, 1),          # 4.5% of 500 = 22.5 -> 23; MIN 30 -> 30 (MAX 80)
        ("9102110000", "10.00", None, None, 1),         # 45, between MIN 30 and MAX 80 -> 45
        ("9102110000", "20.00", None, None, 1),         # 90 -> MAX 80 -> 80
        ("9102110000", "5.00", None, None, 2),          # 23; MIN 2 * 30 = 60 -> 60 (MAX 160)
        ("9101110000", "1000.00", None, None, 1),       # 4.5% of 100000 = 4500 >= MIN 30 -> 4500
        ("9103110000", "50.00", "0.2", None, None),     # 10% of 5000 = 500; MAX 0.2 * 100 = 20 -> 20
    ]
    items = {"consignment": [f"C{i}" for i in range(len(rows))], "hs_code": [r[0] for r in rows],
             "value": [r[1] for r in rows], "net_mass_kg": [r[2] for r in rows],
             "volume_l": [r[3] for r in rows], "quantity": [r[4] for r in rows],
             "currency": ["EUR"] * len(rows)}
    duty = [281, 377, 188, 210, 54, 42, 490, 30, 45, 80, 60, 4500, 20]
    check(items, regime(), DUTY_TARIFF, duty=duty, total=duty, rule=[0] * len(rows))


def test_duty_rounding_mode_applies_to_specific_ties():
    items = batch({"hs_code": "0401100000", "net_mass_kg": "1.255"},    # 376.5 cents
                  {"hs_code": "2204210000", "volume_l": "0.75"},        # 187.5 cents
                  {"hs_code": "0401100000", "net_mass_kg": "0.001"},    # 0.3 cents
                  consignment="A", value="5.00", currency="EUR")
    # half_even: 376, 188, 0; up: 377, 188, 1; down: 376, 187, 0
    check(items, regime(rounding={"duty": {"mode": "half_even"}}), DUTY_TARIFF, duty=[376, 188, 0])
    check(items, regime(rounding={"duty": {"mode": "up"}}), DUTY_TARIFF, duty=[377, 188, 1])
    check(items, regime(rounding={"duty": {"mode": "down"}}), DUTY_TARIFF, duty=[376, 187, 0])


def test_duty_rounding_quantum():
    # 12% of 2345 = 281.4 cents; to 0.05: 56.28 steps -> 56 -> 280; to 1 EUR: 2.814 -> 3 -> 300
    items = batch({"value": "23.45"}, consignment="A", hs_code=TSHIRT, currency="EUR")
    check(items, regime(rounding={"duty": {"quantum": "0.05"}}), DUTY_TARIFF, duty=[280])
    check(items, regime(rounding={"duty": {"quantum": "1"}}), DUTY_TARIFF, duty=[300])


def test_duty_rounding_level_consignment():
    tar = tariff(("6109", "12.5%"), ("6110", "12.5%"), ("6111", "12.50 %"), ("9102", "5%"), ("0401", "3 EUR / kg"))
    items = batch(
        {"consignment": "A", "hs_code": "6109100010", "value": "0.04"},
        {"consignment": "A", "hs_code": "9102110000", "value": "1.00"},
        {"consignment": "A", "hs_code": "6110209900", "value": "0.04"},
        {"consignment": "A", "hs_code": "6111200000", "value": "0.04"},
        {"consignment": "B", "hs_code": "0401100000", "value": "1.00", "net_mass_kg": "0.001"},
        {"consignment": "B", "hs_code": "0401100000", "value": "2.00", "net_mass_kg": "0.001"},
        {"consignment": "B", "hs_code": "0401100000", "value": "3.00", "net_mass_kg": "0.001"},
        currency="EUR")
    # Item level: 12.5% of 4 = 0.5 -> 1 each; 5% of 100 = 5; 3 g at 0.3 cent/g = 0.3 -> 0 each
    check(items, regime(), tar, duty=[1, 5, 1, 1, 0, 0, 0])
    # Consignment level: A's 12.5% group (one expression, whatever the code): 12.5% of 12 = 1.5 -> 2,
    #   allocated over 4,4,4 (W=12): 8/12 -> 0 r8 each; 2 left -> the first two (rows 0, 2): 1, 1, 0.
    #   The 5% group alone: 5.  B: summed mass 3 g * 0.3 = 0.9 -> 1, allocated over customs 100,200,300:
    #   remainders 100, 200, 300 -> the 1 goes to row 6.
    check(items, regime(rounding={"duty": {"level": "consignment"}}), tar, duty=[1, 5, 1, 0, 0, 0, 1],
          cons={"duty": [7, 1]})


def test_duty_level_consignment_bounds_on_summed_quantities():
    # 9102: 4.5% MIN 0.30/p/st MAX 0.80/p/st, two watches of 5.00 in one consignment, quantity 1 each
    # item level: 22.5 -> 23, MIN 30 -> 30 each = 60
    # consignment level: 4.5% of 1000 = 45, MIN 2 * 30 = 60, MAX 160 -> 60, allocated 500:500 -> 30, 30
    items = batch({"value": "5.00"}, {"value": "5.00"}, consignment="A", hs_code=WATCH, currency="EUR",
                  quantity=1)
    check(items, regime(rounding={"duty": {"level": "consignment"}}), DUTY_TARIFF, duty=[30, 30])
    # three watches of 1.00, 1.00, 20.00: item level 30, 30, 80 (90 -> MAX 80) = 140
    items = batch({"value": "1.00"}, {"value": "1.00"}, {"value": "20.00"}, consignment="A", hs_code=WATCH,
                  currency="EUR", quantity=1)
    check(items, regime(), DUTY_TARIFF, duty=[30, 30, 80])
    # consignment level: 4.5% of 2200 = 99; MIN 90; MAX 240 -> 99, over 100,100,2000 (W=2200):
    # 9900/2200 = 4 r1100; 4 r1100; 198000/2200 = 90 r0 -> 98, 1 left -> row 0: 5, 4, 90
    check(items, regime(rounding={"duty": {"level": "consignment"}}), DUTY_TARIFF, duty=[5, 4, 90])


def test_cannot_assess_is_not_zero_duty():
    tar = dm.Tariff.from_records([{"code": "0101", "duty": CannotAssess("entry price", "see EA")},
                                  {"code": "6109", "duty": "12%"}])
    items = batch({"hs_code": "0101210000", "value": "10.00"}, {"hs_code": TSHIRT, "value": "10.00"},
                  consignment="A", currency="EUR")
    reg = regime(vat={"rates": {"DE": {"standard": "20"}}})
    # the horse: duty 0 with the cannot_assess bit; VAT 20% of 1000 = 200
    # the T-shirt: 12% of 1000 = 120; VAT 20% of 1120 = 224
    check(items, reg, tar, duty=[0, 120], vat=[200, 224], rule=[CANNOT, 0], total=[200, 344])


# ---------------------------------------------------------------- flat duty


def flat_regime(key_digits: int = 6, **kw: Any) -> dm.Regime:
    return regime(flat_duty={"amount": "3", "key_digits": key_digits,
                             "conditions": [{"basis": "intrinsic", "per": "consignment", "threshold": "150"}]},
                  **kw)


FLAT_TARIFF = tariff(("6206", "12%"), ("6109", "12%"), ("9102", "4.5%"))


def test_flat_duty_council_examples():
    items = batch(
        # 1 silk blouse (6206 10) + 2 wool blouses (6206 20): 2 distinct subheadings -> 2 x EUR 3 = 600;
        # 620610 alone: 300; 620620 shared 2000:1000 -> 200, 100
        {"consignment": "A", "hs_code": "6206100010", "value": "40.00"},
        {"consignment": "A", "hs_code": "6206200010", "value": "20.00"},
        {"consignment": "A", "hs_code": "6206200090", "value": "10.00"},
        # 5 T-shirts (6109 10): one subheading -> 300, 60 each
        *({"consignment": "B", "hs_code": TSHIRT, "value": "10.00"} for _ in range(5)),
        # T-shirt + watch: two subheadings -> 600
        {"consignment": "C", "hs_code": TSHIRT, "value": "10.00"},
        {"consignment": "C", "hs_code": WATCH, "value": "50.00"},
        currency="EUR")
    check(items, flat_regime(), FLAT_TARIFF, duty=[300, 200, 100, 60, 60, 60, 60, 60, 300, 300],
          rule=[FLAT] * 10, cons={"duty": [600, 300, 600]})


def test_flat_duty_allocation_remainders():
    # 7 T-shirts of 1.00: 300 * 100 / 700 = 42 r600 each; 294 given, 6 left, all remainders tie
    # -> the first 6 get 43, the last 42
    items = batch(*({"value": "1.00"} for _ in range(7)), consignment="A", hs_code=TSHIRT, currency="EUR")
    check(items, flat_regime(), FLAT_TARIFF, duty=[43, 43, 43, 43, 43, 43, 42])


def test_flat_duty_key_digits():
    items = batch({"hs_code": "6206100010", "value": "40.00"}, {"hs_code": "6206200010", "value": "20.00"},
                  {"hs_code": "6206200090", "value": "10.00"}, consignment="A", currency="EUR")
    # key_digits 4: one key 6206 -> 300 over 4000:2000:1000 (W=7000):
    # 1200000/7000 = 171 r3000; 600000/7000 = 85 r5000; 300000/7000 = 42 r6000; 298 given, 2 left
    # -> r6000 (row 2), r5000 (row 1): 171, 86, 43
    check(items, flat_regime(key_digits=4), FLAT_TARIFF, duty=[171, 86, 43])
    # key_digits 10: three keys -> 300 each
    check(items, flat_regime(key_digits=10), FLAT_TARIFF, duty=[300, 300, 300])


def test_flat_duty_allocated_by_intrinsic_not_customs():
    # two T-shirts of 0.01, freight 0.01: transport 1 -> tie -> row 0: customs 2, 1
    # the flat 300 is shared by intrinsic 1:1 -> 150, 150 (by customs it would be 200, 100)
    items = batch({"value": "0.01"}, {"value": "0.01"}, consignment="A", hs_code=TSHIRT, currency="EUR",
                  freight="0.01")
    check(items, flat_regime(), FLAT_TARIFF, customs_value=[2, 1], duty=[150, 150])


def test_flat_duty_threshold_and_vat_base():
    reg = flat_regime(vat={"rates": {"DE": {"standard": "20"}}})
    items = batch({"consignment": "A", "value": "150.00"}, {"consignment": "B", "value": "150.01"},
                  hs_code=TSHIRT, currency="EUR")
    # A: 15000 <= 15000 -> flat 300; VAT 20% of (15000 + 300) = 3060
    # B: 15001 > 15000 -> tariff 12% of 15001 = 1800.12 -> 1800; VAT 20% of 16801 = 3360.2 -> 3360
    check(items, reg, FLAT_TARIFF, duty=[300, 1800], vat=[3060, 3360], rule=[FLAT, 0], total=[3360, 5160])


def test_flat_duty_requires_collected_at_sale_and_exclusions():
    reg = regime(flat_duty={"amount": "3", "key_digits": 6, "requires_collected_at_sale": True,
                            "excluded_codes": ["9102"],
                            "conditions": [{"basis": "intrinsic", "per": "consignment", "threshold": "150"}]})
    items = batch({"consignment": "A", "collected_at_sale": True, "hs_code": TSHIRT},
                  {"consignment": "A", "collected_at_sale": True, "hs_code": WATCH},
                  {"consignment": "B", "collected_at_sale": False, "hs_code": TSHIRT},
                  value="10.00", currency="EUR")
    # A: the T-shirt takes the flat 300; the watch is excluded -> tariff 4.5% of 1000 = 45
    # B: not collected at sale -> tariff 12% of 1000 = 120
    check(items, reg, FLAT_TARIFF, duty=[300, 45, 120], rule=[FLAT, 0, 0])


def test_flat_duty_takes_precedence_over_duty_relief():
    reg = flat_regime(duty_relief={"conditions": [{"threshold": "150"}]})
    items = batch({"value": "10.00"}, consignment="A", hs_code=TSHIRT, currency="EUR")
    check(items, reg, FLAT_TARIFF, duty=[300], rule=[FLAT])


# ---------------------------------------------------------------- duty waivers


@pytest.mark.parametrize("inclusive,duty,rule", [
    # 10% of 9.00, 10.00, 10.10 -> 90, 100, 101; threshold 1.00 = 100
    (True, [0, 0, 101], [DUTY_WAIVED, DUTY_WAIVED, 0]),   # 90 <= 100, 100 <= 100
    (False, [0, 100, 101], [DUTY_WAIVED, 0, 0]),          # only 90 < 100
])
def test_duty_waiver_per_item(inclusive, duty, rule):
    reg = regime(waivers=[{"target": "duty", "per": "item", "threshold": "1.00", "inclusive": inclusive}])
    items = batch({"value": "9.00"}, {"value": "10.00"}, {"value": "10.10"}, consignment="A", hs_code=TSHIRT,
                  currency="EUR")
    check(items, reg, TEN, duty=duty, rule=rule)


def test_duty_waiver_per_consignment():
    reg = regime(waivers=[{"target": "duty", "per": "consignment", "threshold": "1.50"}])
    items = batch({"consignment": "A", "value": "9.00"}, {"consignment": "A", "value": "5.00"},
                  {"consignment": "B", "value": "9.00"}, {"consignment": "B", "value": "7.00"},
                  {"consignment": "C", "value": "0.00"}, hs_code=TSHIRT, currency="EUR")
    # A: 90 + 50 = 140 <= 150 -> both waived.  B: 90 + 70 = 160 -> kept.
    # C: duty 0 -> nothing to waive, no bit
    check(items, reg, TEN, duty=[0, 0, 90, 70, 0], rule=[DUTY_WAIVED, DUTY_WAIVED, 0, 0, 0])


def test_vat_base_uses_duty_after_waiver():
    reg = regime(vat={"rates": {"DE": {"standard": "20"}}},
                 waivers=[{"target": "duty", "per": "item", "threshold": "1.00"}])
    items = batch({"value": "9.00"}, {"value": "20.00"}, consignment="A", hs_code=TSHIRT, currency="EUR")
    # 10% of 900 = 90 <= 100: waived, VAT 20% of 900 = 180 (not of 990)
    # 10% of 2000 = 200 kept, VAT 20% of 2200 = 440
    check(items, reg, TEN, duty=[0, 200], vat=[180, 440], rule=[DUTY_WAIVED, 0], total=[180, 640])


# ================================================================ 6. VAT


def vat_regime(rates: dict[str, Any] | None = None, **vat: Any) -> dict[str, Any]:
    return {"rates": rates or {"DE": {"standard": "19"}}, **vat}


def test_vat_exclusive_on_customs_value_plus_duty():
    items = batch({"value": "23.45"}, consignment="A", hs_code=TSHIRT, currency="EUR")
    # duty 12% of 2345 = 281.4 -> 281; VAT 19% of (2345 + 281 = 2626) = 498.94 -> 499; total 780
    check(items, regime(vat=vat_regime()), DUTY_TARIFF, duty=[281], vat=[499], total=[780])


def test_vat_gross_up_brazil_icms():
    reg = regime(currency="BRL", vat=vat_regime({"BR": {"standard": "17"}}, method="gross_up"))
    tar = tariff(("6109", "0%"), ("6110", "60%"))
    items = batch({"consignment": "A", "hs_code": TSHIRT}, {"consignment": "B", "hs_code": JUMPER},
                  value="100.00", currency="BRL")
    # "por dentro": base / (1 - 0.17) * 0.17 = base * 17/83
    # A: 10000 * 17 / 83 = 170000 / 83 = 2048.19 (83 * 2048 = 169984, r 16) -> 2048
    # B: duty 60% = 6000; base 16000 * 17 / 83 = 272000 / 83 = 3277.108 (83 * 3277 = 271991) -> 3277
    check(items, reg, tar, duty=[0, 6000], vat=[2048, 3277], total=[2048, 9277])


def test_vat_factor():
    reg = regime(currency="CNY", vat=vat_regime({"CN": {"standard": "13"}}, factor="0.7"))
    items = batch({"value": "100.00"}, {"value": "123.45"}, consignment="A", hs_code=TSHIRT, currency="CNY")
    # 13% * 0.7 = 9.1%: 10000 * 0.091 = 910; 12345 * 0.091 = 1123.395 -> 1123
    check(items, reg, ZERO, vat=[910, 1123])


def test_vat_categories_by_longest_prefix():
    reg = regime(vat=vat_regime({"DE": {"standard": "20", "reduced": "10", "super": "5", "zero": "0"}},
                                categories={"super": ["4901"], "reduced": ["49"], "zero": ["490110"]}))
    items = batch({"hs_code": "4902000000"}, {"hs_code": "4901990000"}, {"hs_code": "4901100000"},
                  {"hs_code": TSHIRT}, consignment="A", value="10.00", currency="EUR")
    # 4902 -> "49" reduced 10%: 100; 4901 99 -> "4901" super 5%: 50; 4901 10 -> "490110" zero: 0;
    # 6109 -> standard 20%: 200
    check(items, reg, ZERO, vat=[100, 50, 0, 200])


def test_vat_destination_dependent_rates():
    reg = regime(vat=vat_regime({"DE": {"standard": "19"}, "FR": {"standard": "20"}}))
    items = batch({"consignment": "A", "destination": "DE"}, {"consignment": "B", "destination": "FR"},
                  value="10.00", currency="EUR", hs_code=TSHIRT)
    # 19% and 20% of 1000
    check(items, reg, ZERO, vat=[190, 200])
    # with a default destination the column may be left out
    reg = regime(vat=vat_regime({"DE": {"standard": "19"}, "FR": {"standard": "20"}}, default_destination="FR"))
    check({k: v for k, v in items.items() if k != "destination"}, reg, ZERO, vat=[200, 200])


@pytest.mark.parametrize("valuation,adds,customs,duty,vat", [
    # transport 400 over 3000:1000 -> 300, 100
    # FOB + adds_transport: base 3000 + 300 + 300 = 3600 -> 720; 1000 + 100 + 100 = 1200 -> 240
    ("FOB", True, [3000, 1000], [300, 100], [720, 240]),
    # FOB without: base 3300 -> 660; 1100 -> 220
    ("FOB", False, [3000, 1000], [300, 100], [660, 220]),
    # CIF: transport is in the customs value already; adds_transport changes nothing:
    # customs 3300, 1100; duty 330, 110; base 3630 -> 726, 1210 -> 242
    ("CIF", True, [3300, 1100], [330, 110], [726, 242]),
])
def test_vat_adds_transport(valuation, adds, customs, duty, vat):
    reg = regime(valuation=valuation, vat=vat_regime({"AU": {"standard": "20"}}, adds_transport=adds))
    items = batch({"value": "30.00"}, {"value": "10.00"}, consignment="A", hs_code=TSHIRT, currency="EUR",
                  freight="4.00")
    check(items, reg, TEN, customs_value=customs, duty=duty, vat=vat)


def test_vat_rounding_level_consignment():
    vat = vat_regime({"DE": {"standard": "20", "reduced": "10"}}, categories={"reduced": ["4901"]})
    items = batch({"hs_code": TSHIRT, "value": "0.03"}, {"hs_code": BOOK, "value": "0.05"},
                  {"hs_code": TSHIRT, "value": "0.03"}, {"hs_code": TSHIRT, "value": "0.03"},
                  consignment="A", currency="EUR")
    # item level: 20% of 3 = 0.6 -> 1 each; 10% of 5 = 0.5 -> 1
    check(items, regime(vat=vat), ZERO, vat=[1, 1, 1, 1])
    # consignment level: the 20% group 20% of 9 = 1.8 -> 2 over 3,3,3: 6/9 -> 0 r6 each, 2 left -> rows 0, 2;
    # the 10% group alone: 0.5 -> 1
    check(items, regime(vat=vat, rounding={"vat": {"level": "consignment"}}), ZERO, vat=[1, 1, 1, 0])


def test_vat_collection_at_sale():
    reg = regime(vat=vat_regime({"DE": {"standard": "20"}}),
                 collection_at_sale={"conditions": [{"basis": "intrinsic", "per": "consignment", "threshold": "150"}],
                                     "excluded_codes": ["2203"]})
    items = batch({"consignment": "A", "collected_at_sale": True, "hs_code": TSHIRT, "value": "20.00"},
                  {"consignment": "A", "collected_at_sale": True, "hs_code": BEER, "value": "10.00"},
                  {"consignment": "B", "collected_at_sale": False, "hs_code": TSHIRT, "value": "20.00"},
                  {"consignment": "C", "collected_at_sale": True, "hs_code": TSHIRT, "value": "150.01"},
                  currency="EUR")
    # A: the T-shirt's 20% of 2000 = 400 is collected at sale; the beer (excluded) pays 200 at the border
    # B: no collection at sale: 400 at the border.  C: above 150: 20% of 15001 = 3000.2 -> 3000 at the border
    check(items, reg, ZERO, vat=[0, 200, 400, 3000], vat_at_sale=[400, 0, 0, 0], rule=[AT_SALE, 0, 0, 0],
          total=[0, 200, 400, 3000], cons={"vat": [200, 400, 3000], "vat_at_sale": [400, 0, 0]})


def test_vat_level_consignment_groups_by_collected_at_sale():
    reg = regime(vat=vat_regime({"DE": {"standard": "20"}}), rounding={"vat": {"level": "consignment"}},
                 collection_at_sale={"conditions": [{"threshold": "150"}], "excluded_codes": ["2203"]})
    items = batch({"hs_code": TSHIRT}, {"hs_code": BEER}, {"hs_code": TSHIRT}, {"hs_code": BEER},
                  consignment="A", value="0.03", currency="EUR", collected_at_sale=True)
    # at sale (rows 0, 2): 20% of 6 = 1.2 -> 1 over 3:3 -> row 0; at the border (rows 1, 3): same -> row 1
    # (one group of all four would give 20% of 12 = 2.4 -> 2)
    check(items, reg, ZERO, vat_at_sale=[1, 0, 0, 0], vat=[0, 1, 0, 0], rule=[AT_SALE, 0, AT_SALE, 0])


def test_collection_at_sale_takes_precedence_over_vat_relief():
    reg = regime(vat=vat_regime({"DE": {"standard": "20"}}),
                 vat_relief={"conditions": [{"threshold": "22"}]},
                 collection_at_sale={"conditions": [{"threshold": "150"}]})
    items = batch({"consignment": "A", "collected_at_sale": True}, {"consignment": "B", "collected_at_sale": False},
                  value="10.00", currency="EUR", hs_code=TSHIRT)
    # A: collected at sale: 200 reported at sale.  B: VAT relief (1000 <= 2200)
    check(items, reg, ZERO, vat=[0, 0], vat_at_sale=[200, 0], rule=[AT_SALE, VAT_RELIEF])


# ---------------------------------------------------------------- VAT waivers


def chf_regime(quantum: str = "0.01", inclusive: bool = True) -> dm.Regime:
    return regime(currency="CHF", vat=vat_regime({"CH": {"standard": "8.1"}}),
                  waivers=[{"target": "vat", "per": "consignment", "threshold": "5", "inclusive": inclusive}],
                  rounding={"vat": {"quantum": quantum}})


@pytest.mark.parametrize("value,vat,rule", [
    ("61.73", 0, VAT_WAIVED),   # 6173 * 0.081 = 500.013 -> 500 <= 500: not levied
    ("61.79", 0, VAT_WAIVED),   # 500.499 -> 500
    ("61.80", 501, 0),          # 500.58 -> 501 > 500: due
    ("62.00", 502, 0),          # 502.2 -> 502: due (CHF 5.02 is above CHF 5)
    ("62.50", 506, 0),          # 506.25 -> 506: due
])
def test_vat_waiver_swiss_five_francs(value, vat, rule):
    items = batch({"value": value}, consignment="A", hs_code=TSHIRT, currency="CHF")
    check(items, chf_regime(), ZERO, vat=[vat], rule=[rule], total=[vat])


def test_vat_waiver_swiss_with_five_rappen_quantum():
    items = batch({"consignment": "A", "value": "62.00"}, {"consignment": "B", "value": "62.50"},
                  hs_code=TSHIRT, currency="CHF")
    # to CHF 0.05: 502.2 / 5 = 100.44 steps -> 100 -> 500 <= 500 waived;
    # 506.25 / 5 = 101.25 -> 101 -> 505 due
    check(items, chf_regime(quantum="0.05"), ZERO, vat=[0, 505], rule=[VAT_WAIVED, 0])


def test_vat_waiver_not_inclusive_and_per_consignment_sum():
    items = batch({"consignment": "A", "value": "61.73"},
                  {"consignment": "B", "value": "30.00"}, {"consignment": "B", "value": "31.73"},
                  hs_code=TSHIRT, currency="CHF")
    # inclusive: A 500 <= 500 waived; B: 3000 * 0.081 = 243, 3173 * 0.081 = 257.013 -> 257; 500 -> waived
    check(items, chf_regime(), ZERO, vat=[0, 0, 0], rule=[VAT_WAIVED] * 3)
    # not inclusive: 500 < 500 is false: all due
    check(items, chf_regime(inclusive=False), ZERO, vat=[500, 243, 257], rule=[0, 0, 0])


def test_vat_waiver_per_item_and_vat_at_sale_untouched():
    reg = regime(vat=vat_regime({"DE": {"standard": "20"}}),
                 waivers=[{"target": "vat", "per": "item", "threshold": "1.00"}],
                 collection_at_sale={"conditions": [{"threshold": "150"}]})
    items = batch({"consignment": "A", "value": "5.00"}, {"consignment": "A", "value": "5.01"},
                  {"consignment": "B", "value": "5.00", "collected_at_sale": True},
                  hs_code=TSHIRT, currency="EUR", collected_at_sale=False)
    # A: 20% of 500 = 100 <= 100 waived; 20% of 501 = 100.2 -> 100 waived too
    # B: 100 collected at sale: a waiver only touches VAT due at the border
    check(items, reg, ZERO, vat=[0, 0, 0], vat_at_sale=[0, 0, 100], rule=[VAT_WAIVED, VAT_WAIVED, AT_SALE])


# ================================================================ 7. fees


def test_fee_fixed_per_consignment_allocated_by_customs_value():
    reg = regime(fees=[{"name": "handling", "amount": "2.00"}])
    items = batch({"consignment": "A", "value": "10.00"}, {"consignment": "A", "value": "30.00"},
                  {"consignment": "B", "value": "10.00"}, {"consignment": "B", "value": "20.00"},
                  hs_code=TSHIRT, currency="EUR")
    # A: 200 over 1000:3000 -> 50, 150.  B: 200 over 1000:2000 (W=3000): 200000/3000 = 66 r2000,
    # 400000/3000 = 133 r1000; 1 left -> row 2: 67, 133
    check(items, reg, ZERO, fees=[50, 150, 67, 133], total=[50, 150, 67, 133], rule=[FEE] * 4,
          cons={"fees": [200, 200]})


def test_fee_allocation_remainder_and_zero_share():
    reg = regime(fees=[{"name": "handling", "amount": "1.00"}])
    items = batch({"value": "10.00"}, {"value": "20.00"}, {"value": "0.00"}, consignment="A", hs_code=TSHIRT,
                  currency="EUR")
    # 100 over 1000:2000:0 (W=3000): 33 r1000, 66 r2000, 0 r0; 1 left -> row 1: 33, 67, 0
    # the item with no share has no fee bit
    check(items, reg, ZERO, fees=[33, 67, 0], rule=[FEE, FEE, 0])


def test_fee_per_item():
    reg = regime(fees=[{"name": "per parcel line", "per": "item", "amount": "0.50"}])
    items = batch({"value": "10.00"}, {"value": "20.00"}, {"value": "30.00"}, consignment="A", hs_code=TSHIRT,
                  currency="EUR")
    # 3 items * 50 = 150, over 1000:2000:3000 -> 25, 50, 75
    check(items, reg, ZERO, fees=[25, 50, 75], cons={"fees": [150]})


def test_fee_us_mpf_percent_with_minimum_maximum_and_band():
    reg = regime(currency="USD", valuation="FOB", vat=vat_regime({"US": {"standard": "0"}}),
                 fees=[{"name": "MPF", "percent": "0.3464", "minimum": "31.88", "maximum": "651.50",
                        "value_above": "2500"}])
    values = ["2500.00", "2500.01", "10000.00", "12345.67", "200000.00"]
    items = batch(*({"consignment": f"C{i}", "value": v} for i, v in enumerate(values)),
                  hs_code=TSHIRT, currency="USD")
    # 2500.00: not above 2500 -> no fee
    # 2500.01: 250001 * 0.003464 = 866.003 -> 866 < 3188 -> MIN 3188
    # 10000.00: 1000000 * 0.003464 = 3464
    # 12345.67: 1234567 * 0.003464 = 4276.540 -> 4277
    # 200000.00: 20000000 * 0.003464 = 69280 > 65150 -> MAX 65150
    fees = [0, 3188, 3464, 4277, 65150]
    check(items, reg, ZERO, fees=fees, total=fees, rule=[0, FEE, FEE, FEE, FEE])


def test_fee_fixed_plus_percent_then_bounds():
    reg = regime(fees=[{"name": "f", "amount": "1.00", "percent": "1", "maximum": "2.50"}])
    items = batch({"consignment": "A", "value": "12.34"}, {"consignment": "B", "value": "200.00"},
                  hs_code=TSHIRT, currency="EUR")
    # A: 1% of 1234 = 12.34 -> 12, + 100 = 112.  B: 1% of 20000 = 200 + 100 = 300 -> MAX 250
    check(items, reg, ZERO, fees=[112, 250])


def test_fee_when_due():
    reg = regime(vat=vat_regime({"DE": {"standard": "20"}}),
                 duty_relief={"conditions": [{"threshold": "150"}]},
                 vat_relief={"conditions": [{"threshold": "22"}]},
                 collection_at_sale={"conditions": [{"threshold": "150"}]},
                 fees=[{"name": "handling", "amount": "2.00", "when": "due"}])
    items = batch({"consignment": "A", "value": "20.00"},
                  {"consignment": "B", "value": "30.00"},
                  {"consignment": "C", "value": "30.00", "collected_at_sale": True},
                  {"consignment": "D", "value": "200.00"},
                  hs_code=TSHIRT, currency="EUR", collected_at_sale=False)
    # A: duty relief and VAT relief: nothing due -> no fee
    # B: VAT 20% of 3000 = 600 due -> fee 200
    # C: VAT only at sale (600): nothing due at the border -> no fee
    # D: duty 10% of 20000 = 2000, VAT 20% of 22000 = 4400 -> fee 200
    check(items, reg, TEN, duty=[0, 0, 0, 2000], vat=[0, 600, 0, 4400], vat_at_sale=[0, 0, 600, 0],
          fees=[0, 200, 0, 200], total=[0, 800, 0, 6600],
          rule=[DUTY_RELIEF | VAT_RELIEF, DUTY_RELIEF | FEE, DUTY_RELIEF | AT_SALE, FEE])


def test_fee_when_due_after_vat_waiver():
    reg = regime(currency="CHF", vat={"rates": {"CH": {"standard": "8.1"}}},
                 waivers=[{"target": "vat", "per": "consignment", "threshold": "5"}],
                 fees=[{"name": "handling", "amount": "11.50", "when": "due"}])
    items = batch({"consignment": "A", "value": "61.73"}, {"consignment": "B", "value": "61.80"},
                  hs_code=TSHIRT, currency="CHF")
    # A: VAT 500.013 -> 500, waived: nothing due -> no fee.  B: VAT 501 due -> fee 1150; total 1651
    check(items, reg, ZERO, vat=[0, 501], fees=[0, 1150], total=[0, 1651], rule=[VAT_WAIVED, FEE])


def test_fee_transports_and_value_up_to():
    reg = regime(fees=[{"name": "courier", "amount": "1.00", "transports": ["courier"]},
                       {"name": "small", "amount": "0.10", "value_up_to": "100"}])
    items = batch({"consignment": "A", "transport": "post", "value": "100.00"},
                  {"consignment": "B", "transport": "courier", "value": "100.00"},
                  {"consignment": "C", "transport": "courier", "value": "100.01"},
                  hs_code=TSHIRT, currency="EUR")
    # A: post, 10000 <= 10000 -> small only: 10.  B: courier 100 + small 10 = 110.  C: above 100: 100
    check(items, reg, ZERO, fees=[10, 110, 100])


# ================================================================ 8. totals: everything together


EU_LIKE = {
    # the mechanisms of the EU regime from 1 July 2026 (regimes/data/EU-2026-07-01.toml), inlined so that
    # this test does not move when the data file is edited
    "id": "EU-LIKE", "currency": "EUR", "valuation": "CIF",
    "flat_duty": {"amount": "3", "key_digits": 6, "requires_collected_at_sale": True,
                  "conditions": [{"basis": "intrinsic", "per": "consignment", "threshold": "150"}]},
    "collection_at_sale": {"requires_collected_at_sale": True,
                           "conditions": [{"basis": "intrinsic", "per": "consignment", "threshold": "150"}],
                           "excluded_codes": ["2203", "2204", "2205", "2206", "2207", "2208", "2402", "2403"]},
    "vat": {"method": "exclusive", "categories": {"reduced": ["4901"]},
            "rates": {"DE": {"standard": "19", "reduced": "7"}, "FR": {"standard": "20", "reduced": "5.5"}}},
}


def test_eu_readme_example_by_hand():
    items = {
        "consignment": ["P1", "P1", "P2"],
        "hs_code": ["6109100010", "6110209900", "9102110000"],
        "value": ["20.00", "35.50", "180"],
        "currency": ["EUR", "EUR", "USD"],
        "quantity": [1, 1, 2],
        "destination": ["DE", "DE", "FR"],
        "collected_at_sale": [True, True, False],
        "freight": ["5", "5", "10"],
    }
    tar = tariff(("61091000", "12.0%"), ("61102099", "12.0%"),
                 ("91021100", "4.50% MIN 0.30 EUR / item MAX 0.80 EUR / item"))
    rates = dm.ExchangeRates({"USD": "1.0876"}, base="EUR")
    # P1 (IOSS, intrinsic 5550 <= 15000): flat EUR 3 per subheading 610910, 611020 -> 300, 300.
    #   freight 500 over 2000:3550 (W=5550): 1000000/5550 = 180 r1000, 1775000/5550 = 319 r4550 -> 180, 320;
    #   customs 2180, 3870; VAT (DE 19%) at sale: 2480 * 0.19 = 471.2 -> 471, 4170 * 0.19 = 792.3 -> 792
    # P2: 18000 / 1.0876 = 16550.20 -> 16550 > 15000: no flat duty; freight 1000 / 1.0876 = 919.46 -> 919;
    #   customs 17469; duty 4.5% = 786.105 -> 786, MIN 2 * 30 = 60, MAX 2 * 80 = 160 -> 160;
    #   VAT (FR 20%) 20% of 17629 = 3525.8 -> 3526 at the border
    check(items, regime(**EU_LIKE), tar, kw={"rates": rates},
          intrinsic=[2000, 3550, 16550], customs_value=[2180, 3870, 17469], duty=[300, 300, 160],
          vat=[0, 0, 3526], vat_at_sale=[471, 792, 0], fees=[0, 0, 0], total=[300, 300, 3686],
          rule=[FLAT | AT_SALE, FLAT | AT_SALE, 0],
          cons={"items": [2, 1], "intrinsic": [5550, 16550], "customs_value": [6050, 17469],
                "duty": [600, 160], "vat": [0, 3526], "vat_at_sale": [1263, 0], "total": [600, 3686]})


def test_totals_duty_vat_and_fees():
    reg = regime(vat=vat_regime({"DE": {"standard": "19"}}), fees=[{"name": "handling", "amount": "1.50"}])
    items = batch({"value": "23.45"}, {"value": "10.00"}, consignment="A", hs_code=TSHIRT, currency="EUR",
                  freight="1.00")
    # freight 100 over 2345:1000 (W=3345): 234500/3345 = 70 r350, 100000/3345 = 29 r2995 -> 1 left -> row 1:
    #   70, 30; customs 2415, 1030
    # duty 12%: 289.8 -> 290; 123.6 -> 124
    # VAT 19%: (2415 + 290) * 0.19 = 2705 * 0.19 = 513.95 -> 514; (1030 + 124) * 0.19 = 1154 * 0.19 = 219.26 -> 219
    # fee 150 over 2415:1030 (W=3445): 362250/3445 = 105 r525, 154500/3445 = 44 r2920 -> 1 left -> row 1:
    #   105, 45
    check(items, reg, DUTY_TARIFF, customs_value=[2415, 1030], duty=[290, 124], vat=[514, 219],
          fees=[105, 45], total=[909, 388], rule=[FEE, FEE],
          cons={"intrinsic": [3345], "customs_value": [3445], "duty": [414], "vat": [733], "fees": [150],
                "total": [1297]})


# ================================================================ 4. thresholds by destination (M14)


def test_relief_threshold_per_destination():
    """vat_relief <= EUR 22, but EUR 10 for FR (a member state's lower import VAT exemption); VAT 20%."""
    reg = regime(vat=vat_regime({"DE": {"standard": "20"}, "FR": {"standard": "20"}}),
                 vat_relief={"conditions": [{"threshold": "22", "thresholds_by_destination": {"FR": "10"}}]})
    items = batch({"consignment": "A", "value": "15", "destination": "DE"},
                  {"consignment": "B", "value": "15", "destination": "FR"},
                  {"consignment": "C", "value": "10", "destination": "FR"},
                  {"consignment": "D", "value": "22.01", "destination": "DE"}, hs_code=TSHIRT, currency="EUR")
    # A: 1500 <= 2200 relieved; B: 1500 > 1000: 20% = 300; C: 1000 <= 1000 relieved;
    # D: 2201 > 2200: 20% = 440.2 -> 440
    check(items, reg, ZERO, vat=[0, 300, 0, 440], rule=[VAT_RELIEF, 0, VAT_RELIEF, 0])


def test_item_threshold_per_destination():
    """A per-item condition reads its consignment's destination too: FR items <= EUR 5, others <= EUR 50."""
    reg = regime(vat=vat_regime({"DE": {"standard": "20"}, "FR": {"standard": "20"}}),
                 vat_relief={"conditions": [{"threshold": "50", "per": "item",
                                             "thresholds_by_destination": {"FR": "5"}}]})
    items = batch({"consignment": "A", "value": "6", "destination": "DE"},
                  {"consignment": "B", "value": "6", "destination": "FR"},
                  {"consignment": "B", "value": "5", "destination": "FR"}, hs_code=TSHIRT, currency="EUR")
    # A: 600 <= 5000 relieved; B: 600 > 500: 120; 500 <= 500 relieved
    check(items, reg, ZERO, vat=[0, 120, 0])


def test_threshold_for_a_destination_without_rates_is_refused():
    with pytest.raises(dm.RegimeError, match="no VAT rates for destinations"):
        regime(vat_relief={"conditions": [{"threshold": "22", "thresholds_by_destination": {"FR": "10"}}]})


# ================================================================ 6. VAT surtaxes (M11)


def test_vat_surtax_rounded_on_its_own():
    """JP-like: national 7.8% rounded down to EUR 1, local 22/78 of it rounded down to EUR 1."""
    reg = regime(vat={"rates": {"DE": {"standard": "7.8"}},
                      "surtaxes": [{"fraction": "22/78", "rounding": {"mode": "down", "quantum": "1"}}]},
                 rounding={"vat": {"mode": "down", "quantum": "1", "level": "item"}})
    items = batch({"value": "160"}, consignment="A", hs_code=TSHIRT, currency="EUR")
    # 16000 x 7.8% = 1248 -> 1200; 1200 x 22/78 = 338.46 -> 300; 1500 (not 10% x 160 = 16)
    check(items, reg, ZERO, vat=[1500])


def test_two_surtaxes_on_a_consignment_level_vat():
    """Each surtax is a fraction of the VAT itself (not of the VAT plus the earlier surtax)."""
    reg = regime(vat={"rates": {"DE": {"standard": "7.8"}},
                      "surtaxes": [{"fraction": "22/78", "rounding": {"mode": "down", "quantum": "1"}},
                                   {"fraction": "0.5", "rounding": {"mode": "half_up", "quantum": "0.01"}}]},
                 rounding={"vat": {"mode": "down", "quantum": "1", "level": "consignment"}})
    items = batch({"value": "80"}, {"value": "80"}, consignment="A", hs_code=TSHIRT, currency="EUR")
    # summed base 16000 x 7.8% = 1248 -> 1200; + 300 (22/78) + 600 (half) = 2100, shared 1050 / 1050
    check(items, reg, ZERO, vat=[1050, 1050], cons={"vat": [2100]})


def test_surtax_fraction_is_checked():
    with pytest.raises(dm.RegimeError, match="surtax"):
        regime(vat={"rates": {"DE": {"standard": "7.8"}}, "surtaxes": [{"fraction": "1/0",
                                                                         "rounding": {"quantum": "1"}}]})
