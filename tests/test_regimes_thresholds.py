"""Boundary tests at every threshold of every built-in regime: a value one minor unit below, equal
to, and one minor unit above the threshold, through both the engine and the reference.

Each row's threshold, its comparison (<= or <) and what it aggregates are written from the source
cited in the row's comment, not read from the regime file, so a wrong number in a file fails here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

import deminimis as dm
from deminimis import RULES, regimes

pytestmark = pytest.mark.pure  # worked through the reference alone too (tests/conftest.py)

BIT = {name: bit for bit, name in RULES.items()}
FREE = dm.Tariff.from_records([{"code": "61", "duty": "12%"}, {"code": "62", "duty": "12%"},
                               {"code": "85", "duty": "Free"}, {"code": "49", "duty": "Free"}])


def both(items: dict[str, list[Any]], regime: str, on: dt.date | dt.datetime,
         tariff: dm.Tariff = FREE, rates: dm.ExchangeRates | None = None) -> dm.Assessment:
    """Assess with the engine and the reference (the reference alone in pure-Python mode)."""
    r = regimes.get(regime)
    b = dm.reference.assess(items, regime=r, tariff=tariff, rates=rates, on=on)
    if dm.NATIVE:
        a = dm.assess(items, regime=r, tariff=tariff, rates=rates, on=on)
        assert a.equals(b), a.differences(b)
    return b


def step(amount: str, exp: int, k: int) -> str:
    """amount + k minor units, as a decimal string."""
    return str(Decimal(amount) + Decimal(k).scaleb(-exp))


def one(value: str, currency: str, code: str = "6109100010", **cons: Any) -> dict[str, list[Any]]:
    """A one-item consignment; consignment-level columns given as keywords."""
    items: dict[str, list[Any]] = {"consignment": ["c1"], "hs_code": [code], "value": [value], "currency": [currency]}
    items.update({k: [v] for k, v in cons.items()})
    return items


def split(value: str, currency: str, **cons: Any) -> dict[str, list[Any]]:
    """Two items of one consignment whose values sum to `value` (a consignment-level threshold)."""
    first = Decimal("10.00") if currency != "JPY" else Decimal(1000)
    items: dict[str, list[Any]] = {"consignment": ["c1", "c1"], "hs_code": ["6109100010", "6204620000"],
                                   "value": [str(first), str(Decimal(value) - first)], "currency": [currency] * 2}
    items.update({k: [v, v] for k, v in cons.items()})
    return items


# (regime id, assessment instant, rule observed, threshold, currency, inclusive, builder(value) -> items)
# `inclusive` True: the rule holds at the threshold (<=); False: only below it (<).
CASES: list[tuple[str, Any, str, str, str, bool, Callable[[str], dict[str, list[Any]]]]] = [
    # EU before 2021: Reg 1186/2009 art 23 'not exceeding EUR 150' per consignment; Dir 2009/132 art 23
    # 'not exceeding EUR 22' (Reg 2026/382 recital 2).
    ("EU-2019-01-01", dt.date(2019, 6, 1), "duty_relief", "150", "EUR", True, lambda v: split(v, "EUR", destination="DE")),
    ("EU-2019-01-01", dt.date(2019, 6, 1), "vat_relief", "22", "EUR", True, lambda v: split(v, "EUR", destination="DE")),
    ("EU-2020-07-01", dt.date(2020, 8, 1), "vat_relief", "22", "EUR", True, lambda v: split(v, "EUR", destination="DE")),
    ("EU-2021-01-01", dt.date(2021, 2, 1), "vat_relief", "22", "EUR", True, lambda v: split(v, "EUR", destination="FR")),
    # EU 2021-2026 (EU-2024-01-01: that version's VAT rates): IOSS for consignments of intrinsic value not exceeding EUR 150 (Dir 2017/2455).
    ("EU-2024-01-01", dt.date(2024, 1, 1), "duty_relief", "150", "EUR", True, lambda v: split(v, "EUR", destination="DE")),
    ("EU-2024-01-01", dt.date(2024, 1, 1), "vat_at_sale", "150", "EUR", True,
     lambda v: split(v, "EUR", destination="DE", collected_at_sale=True)),
    # EU from 1 Jul 2026: EUR 3 per item in consignments <= EUR 150 (Council, RULES.md S7).
    ("EU-2026-07-01", dt.date(2026, 11, 28), "flat_duty", "150", "EUR", True,
     lambda v: split(v, "EUR", destination="IT", collected_at_sale=True)),
    ("EU-2026-07-01", dt.date(2026, 11, 28), "vat_at_sale", "150", "EUR", True,
     lambda v: split(v, "EUR", destination="IT", collected_at_sale=True)),
    # UK: 'consignments of goods with a value of GBP 135 or less' (HMRC); gifts 'GBP 39 or less' (gov.uk).
    ("UK-2021-01-01", dt.date(2025, 1, 1), "duty_relief", "135", "GBP", True, lambda v: split(v, "GBP")),
    ("UK-2021-01-01", dt.date(2025, 1, 1), "vat_at_sale", "135", "GBP", True, lambda v: split(v, "GBP")),
    ("UK-2021-01-01", dt.date(2025, 1, 1), "vat_relief", "39", "GBP", True, lambda v: split(v, "GBP", nature="gift")),
    ("UK-2021-01-01", dt.date(2025, 1, 1), "duty_relief", "135", "GBP", True, lambda v: split(v, "GBP", nature="gift")),
    ("UK-GIFTS-2021-01-01", dt.date(2025, 1, 1), "vat_relief", "39", "GBP", True, lambda v: split(v, "GBP")),
    ("UK-GIFTS-2021-01-01", dt.date(2025, 1, 1), "duty_relief", "135", "GBP", True, lambda v: split(v, "GBP")),
    # US: 19 CFR 10.151 'not exceeding $800', one person one day; two consignments of one consignee.
    ("US-2024-10-01", dt.date(2025, 1, 15), "duty_relief", "800", "USD", True,
     lambda v: {"consignment": ["a", "b"], "hs_code": ["6109100010", "6204620000"], "value": ["300", str(Decimal(v) - 300)],
                "currency": ["USD"] * 2, "origin": ["VN"] * 2, "consignee": ["p1"] * 2, "date": ["2025-01-15"] * 2}),
    ("US-2025-05-02", dt.date(2025, 6, 2), "duty_relief", "800", "USD", True,
     lambda v: one(v, "USD", origin="VN", consignee="p1", date="2025-06-02")),
    # CA: CBSA - mail '$20 and under'; courier from the US/Mexico 'up to $40' tax free, '$150' duty free.
    ("CA-2020-07-01", dt.date(2024, 1, 1), "duty_relief", "20", "CAD", True, lambda v: split(v, "CAD", transport="post")),
    ("CA-2020-07-01", dt.date(2024, 1, 1), "vat_relief", "20", "CAD", True, lambda v: split(v, "CAD", transport="post")),
    ("CA-2025-04-01", dt.date(2025, 6, 1), "vat_relief", "20", "CAD", True,
     lambda v: split(v, "CAD", transport="courier", shipped_from="CN")),
    ("CA-2025-04-01", dt.date(2025, 6, 1), "duty_relief", "150", "CAD", True,
     lambda v: split(v, "CAD", transport="courier", shipped_from="US")),
    ("CA-2025-04-01", dt.date(2025, 6, 1), "vat_relief", "40", "CAD", True,
     lambda v: split(v, "CAD", transport="courier", shipped_from="MX")),
    ("CA-CUSMA-2020-07-01", dt.date(2024, 1, 1), "duty_relief", "150", "CAD", True, lambda v: split(v, "CAD")),
    ("CA-CUSMA-2020-07-01", dt.date(2024, 1, 1), "vat_relief", "40", "CAD", True, lambda v: split(v, "CAD")),
    # AU: low value goods 'A$1,000 or less' (ATO), per item at sale, per consignment at the border.
    ("AU-2018-07-01", dt.date(2024, 1, 1), "vat_at_sale", "1000", "AUD", True, lambda v: one(v, "AUD", collected_at_sale=True)),
    ("AU-2018-07-01", dt.date(2024, 1, 1), "duty_relief", "1000", "AUD", True, lambda v: split(v, "AUD")),
    ("AU-2018-07-01", dt.date(2024, 1, 1), "vat_relief", "1000", "AUD", True, lambda v: split(v, "AUD")),
    # NZ from 1 Dec 2019: 'valued NZ$1000 or less' (NZ Customs).
    ("NZ-2019-12-01", dt.date(2024, 1, 1), "duty_relief", "1000", "NZD", True, lambda v: split(v, "NZD")),
    ("NZ-2019-12-01", dt.date(2024, 1, 1), "vat_relief", "1000", "NZD", True, lambda v: split(v, "NZD")),
    ("NZ-2019-12-01", dt.date(2024, 1, 1), "vat_at_sale", "1000", "NZD", True, lambda v: one(v, "NZD", collected_at_sale=True)),
    # NO: VOEC 'value below NOK 3,000' per item (Skatteetaten); non-VOEC 'less than NOK 350' incl. freight (toll.no).
    ("NO-2024-01-01", dt.date(2024, 6, 1), "vat_at_sale", "3000", "NOK", False, lambda v: one(v, "NOK", collected_at_sale=True)),
    ("NO-2024-01-01", dt.date(2024, 6, 1), "duty_relief", "3000", "NOK", False, lambda v: one(v, "NOK", collected_at_sale=True)),
    ("NO-2020-04-01", dt.date(2022, 6, 1), "vat_relief", "350", "NOK", False, lambda v: split(v, "NOK")),
    ("NO-2020-04-01", dt.date(2022, 6, 1), "duty_relief", "350", "NOK", False, lambda v: split(v, "NOK")),
    # JP: 'total customs value of 10,000 yen or less' (Customs Answer 1006).
    ("JP-2019-10-01", dt.date(2024, 1, 1), "duty_relief", "10000", "JPY", True, lambda v: split(v, "JPY")),
    ("JP-2019-10-01", dt.date(2024, 1, 1), "vat_relief", "10000", "JPY", True, lambda v: split(v, "JPY")),
    # CN: single transaction limit RMB 5,000 (Cai Guan Shui [2018] 49).
    ("CN-2019-04-01", dt.date(2024, 1, 1), "duty_relief", "5000", "CNY", True,
     lambda v: split(v, "CNY", consignee="p1", date="2024-01-01")),
    ("CN-2019-04-01", dt.date(2024, 1, 1), "vat_reduced", "5000", "CNY", True,
     lambda v: split(v, "CNY", consignee="p1", date="2024-01-01")),
    # BR: the RTS applies up to US$3,000 (Portaria MF 1.086/2024 as summarised); its bands (0% / 60% in
    # 2023, 20% / 60% - US$20 from Aug 2024) are checked at US$50 in test_regimes_examples.
    ("BR-2023-08-01", dt.date(2024, 1, 1), "simplified_duty", "3000", "USD", True,
     lambda v: split(v, "USD", collected_at_sale=True, destination="SP")),
    ("BR-2025-04-01", dt.date(2025, 6, 1), "simplified_duty", "3000", "USD", True,
     lambda v: split(v, "USD", collected_at_sale=True, destination="MG")),
    ("BR-2025-04-01", dt.date(2025, 6, 1), "duty_at_sale", "3000", "USD", True,
     lambda v: split(v, "USD", collected_at_sale=True, destination="MG")),
    ("BR-2025-04-01", dt.date(2025, 6, 1), "vat_at_sale", "3000", "USD", True,
     lambda v: split(v, "USD", collected_at_sale=True, destination="MG")),
    # SG: 'valued up to (and including) ... S$400' (IRAS), air or post.
    ("SG-2024-01-01", dt.date(2024, 6, 1), "vat_at_sale", "400", "SGD", True,
     lambda v: one(v, "SGD", collected_at_sale=True, transport="air")),
    ("SG-2024-01-01", dt.date(2024, 6, 1), "vat_relief", "400", "SGD", True, lambda v: split(v, "SGD", transport="post")),
    ("SG-2007-07-01", dt.date(2020, 6, 1), "vat_relief", "400", "SGD", True, lambda v: split(v, "SGD", transport="air")),
]


@pytest.mark.parametrize("case", CASES, ids=[f"{c[0]}:{c[2]}@{c[3]}" for c in CASES])
@pytest.mark.parametrize("k", [-1, 0, 1], ids=["below", "equal", "above"])
def test_threshold(case: tuple, k: int) -> None:
    regime, on, rule, threshold, ccy, inclusive, build = case
    exp = 0 if ccy == "JPY" else 2
    items = build(step(threshold, exp, k))
    res = both(items, regime, on)
    holds = k < 0 or (k == 0 and inclusive)
    bits = res["rule"]
    assert all(bool(b & BIT[rule]) == holds for b in bits), (bits, rule, holds)


# Thresholds on an aggregate other than one consignment.

def test_us_de_minimis_sums_one_person_one_day() -> None:
    """19 CFR 10.151: 'imported by one person on one day'. $500 + $300 = $800 on one day is relieved;
    $500 + $300.01 is not; the same $500 + $300.01 on two days is."""
    tariff = dm.Tariff.from_records([{"code": "6109", "duty": "16.5%"}])

    def batch(second: str, day2: str) -> dict[str, list[Any]]:
        return {"consignment": ["a", "b"], "hs_code": ["6109100010"] * 2, "value": ["500", second],
                "currency": ["USD"] * 2, "origin": ["VN"] * 2, "consignee": ["p1"] * 2,
                "date": ["2025-01-15", day2]}
    on = dt.date(2025, 1, 15)
    assert both(batch("300", "2025-01-15"), "US-2024-10-01", on, tariff)["duty"].tolist() == [0, 0]
    # 16.5% of 500 = 82.50; 300.01 is $300 in whole dollars (19 CFR 159.3(a)): 16.5% of 300 = 49.50
    assert both(batch("300.01", "2025-01-15"), "US-2024-10-01", on, tariff)["duty"].tolist() == [8250, 4950]
    assert both(batch("300.01", "2025-01-16"), "US-2024-10-01", on, tariff)["duty"].tolist() == [0, 0]


def test_cn_annual_limit_is_cumulative_per_person_and_year() -> None:
    """Cai Guan Shui [2018] 49: RMB 26,000 per person per year, counted cumulatively; the order that
    crosses it is taxed in full. Orders in 2024 of 4,000 x 5 + 1,000 + 5,000 = 26,000 are all within;
    a further 0.01 (26,000.01) is not; 999.99 then 5,000.01 reaches only 26,000.00 but 5,000.01 breaks
    the per-transaction limit; the count restarts on 1 January."""
    tariff = dm.Tariff.from_records([{"code": "3304", "duty": "5%"}])

    def batch(values: list[str]) -> dict[str, list[Any]]:
        n = len(values)
        return {"consignment": [f"o{i}" for i in range(n)], "hs_code": ["3304990000"] * n, "value": values,
                "currency": ["CNY"] * n, "consignee": ["p1"] * n,
                "date": [f"2024-{i + 1:02d}-01" for i in range(n)]}
    on = dt.date(2024, 12, 31)
    ok = both(batch(["4000"] * 5 + ["1000", "5000"]), "CN-2019-04-01", on, tariff)
    assert all(b & BIT["duty_relief"] for b in ok["rule"])
    edge = both(batch(["4000"] * 5 + ["999.99", "5000.01"]), "CN-2019-04-01", on, tariff)
    assert not edge["rule"][-1] & BIT["duty_relief"]  # 5,000.01 > 5,000 per transaction
    over = both(batch(["4000"] * 5 + ["1000", "5000", "0.01"]), "CN-2019-04-01", on, tariff)
    assert [bool(b & BIT["duty_relief"]) for b in over["rule"]] == [True] * 7 + [False]
    assert [bool(b & BIT["vat_reduced"]) for b in over["rule"]] == [True] * 7 + [False]  # full VAT above the year
    # next year starts again
    again = batch(["4000"] * 5 + ["1000", "5000", "0.01"])
    again["date"][-1] = "2025-01-02"
    res = both(again, "CN-2019-04-01", dt.date(2025, 1, 2), tariff)
    assert res["rule"][-1] & BIT["duty_relief"]


def test_nz_2010_waiver_is_below_sixty_dollars_of_revenue() -> None:
    """NZ Customs: 'not collected when the duty and/or GST total payable for a shipment is less than
    NZ$60'. Duty-free goods, GST 15%: 399.93 -> 59.99 (waived), 400.00 -> 60.00 and 400.07 -> 60.01
    (collected)."""
    tariff = dm.Tariff.from_records([{"code": "8471", "duty": "Free"}])
    got = [both(one(v, "NZD", code="8471300000"), "NZ-2010-10-01", dt.date(2015, 1, 1), tariff)["vat"].tolist()
           for v in ("399.93", "400", "400.07")]
    assert got == [[0], [6000], [6001]]


@pytest.mark.parametrize("rid,on,rate_code,bases,expected", [
    # BAZG: 'Tax amounts of up to 5 Swiss francs are not levied', VAT on the basis rounded to the franc
    # (ties up, assumed), then to 5 centimes.
    # 8.1%: 61.11 -> 61 -> 4.941 -> 4.95 (waived); 62.49 -> 62 -> 5.022 -> 5.00 (waived);
    # 62.50 -> 63 -> 5.103 -> 5.10 (levied).
    ("CH-2024-01-01", dt.date(2024, 6, 1), "8508110000", ["61.11", "62.49", "62.50"], [0, 0, 510]),
    # 2.6% (books): 190.50 -> 191 -> 4.966 -> 4.95; 193.49 -> 193 -> 5.018 -> 5.00; 193.50 -> 194 -> 5.044 -> 5.05.
    ("CH-2024-01-01", dt.date(2024, 6, 1), "4901990000", ["190.50", "193.49", "193.50"], [0, 0, 505]),
    # 7.7% (2018-2023): 64.29 -> 64 -> 4.928 -> 4.95; 65.49 -> 65 -> 5.005 -> 5.00; 65.50 -> 66 -> 5.082 -> 5.10.
    ("CH-2018-01-01", dt.date(2020, 6, 1), "8508110000", ["64.29", "65.49", "65.50"], [0, 0, 510]),
])
def test_ch_vat_of_five_francs_or_less_is_not_levied(rid: str, on: dt.date, rate_code: str,
                                                      bases: list[str], expected: list[int]) -> None:
    tariff = dm.Tariff.from_records([{"code": "8508", "duty": "Free"}, {"code": "4901", "duty": "Free"}])
    got = [both(one(b, "CHF", code=rate_code), rid, on, tariff)["vat"].tolist()[0] for b in bases]
    assert got == expected


def test_ch_duty_of_five_francs_or_less_is_not_levied() -> None:
    """ch.ch: duty not levied if it does not exceed CHF 5 per declaration, duty and VAT separately.
    A duty of CHF 10 per 100 kg gross: 49.5 kg -> 4.95, 50 kg -> 5.00 (waived); 50.5 kg -> 5.05."""
    tariff = dm.Tariff.from_records([{"code": "6109", "duty": "10 CHF/100 kg"}])
    got = [both(one("20", "CHF", net_mass_kg=m), "CH-2024-01-01", dt.date(2024, 6, 1), tariff)["duty"].tolist()[0]
           for m in ("49.5", "50", "50.5")]
    assert got == [0, 0, 505]


@pytest.mark.parametrize("rid,on,fy_min,fy_max,informal", [
    ("US-2023-10-01", dt.date(2024, 3, 1), 3167, 61435, 253),     # FY2024 (88 FR 48900)
    ("US-2025-08-29", dt.datetime(2025, 9, 15), 3271, 63462, 262),  # FY2025 (89 FR 59126)
    ("US-2025-10-01", dt.date(2025, 11, 28), 3358, 65150, 269),    # FY2026 (90 FR 34665)
])
def test_us_entry_fee_bands(rid: str, on: Any, fy_min: int, fy_max: int, informal: int) -> None:
    """Informal entries up to $2,500 (19 CFR 143.21) pay the flat MPF; formal entries 0.3464% within
    the fiscal year's minimum and maximum. $2,500.00 -> informal; $2,500.01 -> formal, 0.3464% =
    $8.66 -> the minimum; $9,000 -> $31.18 -> minimum; $200,000 -> $692.80 -> the maximum."""
    tariff = dm.Tariff.from_records([{"code": "8471", "duty": "Free"}])

    def fee(v: str) -> int:
        items = one(v, "USD", code="8471300000", origin="VN", consignee="p", date=on.date().isoformat()
                    if isinstance(on, dt.datetime) else on.isoformat())
        return int(both(items, rid, on, tariff)["fees"].sum())
    assert fee("2500") == informal
    assert fee("2500.01") == fy_min
    assert fee("9000") == fy_min
    assert fee("200000") == fy_max
    if rid == "US-2023-10-01":  # before the suspension a consignment <= $800 is released free: no entry
        assert fee("800") == 0 and fee("800.01") == informal


def test_jp_personal_use_threshold_on_sixty_percent_of_the_price() -> None:
    """Customs Answer 1006 (JPY 10,000 or less) on the personal-use value, 60% of the retail price
    (secondary sources: 'up to JPY 16,666'). The factored value is rounded half-up to the yen (the
    regime's conversion rounding, listed as unverified): 16,666 -> 9,999.6 -> 10,000 and 16,667 ->
    10,000.2 -> 10,000 are exempt; 16,668 -> 10,000.8 -> 10,001 is not."""
    got = [both(one(v, "JPY"), "JP-PERSONAL-2019-10-01", dt.date(2024, 1, 1)) for v in ("16666", "16667", "16668")]
    assert [r["customs_value"].tolist()[0] for r in got] == [10000, 10000, 10001]
    assert [bool(r["rule"][0] & BIT["duty_relief"]) for r in got] == [True, True, False]
    assert [bool(r["rule"][0] & BIT["vat_relief"]) for r in got] == [True, True, False]
