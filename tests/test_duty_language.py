"""The duty language's subtracted term, pure alcohol, per-1,000 items and foreign-currency amounts,
on hand-computed figures: each case is parsed, compiled and assessed by the engine and by the
reference, and both must give the figure worked out in the comment.

Real lines come from tests/data/official/uk_global_tariff/duty_language_rows.csv (rows copied from
the UK Global Tariff file of 1 Jan 2021: the EU CET 2020 rate and the UK rate of each code).
Rounding is half up to the penny / cent, per item.
"""

from __future__ import annotations

import csv
import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import deminimis as dm
from deminimis.errors import AmountOverflowError, InvalidValueError, MissingColumnError, TariffSyntaxError
from deminimis.tariff import AdValorem, Bounded, Specific, parse
from deminimis.tariff.compile import compile_measure

ON = dt.date(2026, 3, 2)
ROWS = {r["commodity"]: r for r in csv.DictReader(
    (Path(__file__).parent / "data/official/uk_global_tariff/duty_language_rows.csv").open(encoding="utf-8"))}


def regime(currency: str) -> dm.Regime:
    return dm.Regime.from_dict({"id": "T", "currency": currency, "valuation": "FOB",
                                "vat": {"rates": {"XX": {"standard": "0"}}}})


def duties(rate: str, currency: str, items: dict[str, list[Any]], rates: dm.ExchangeRates | None = None) -> list[int]:
    """The duty per item from the engine, checked equal to the reference's."""
    n = len(items["value"])
    cols = {"consignment": list(range(n)), "hs_code": ["2204219000"] * n, "currency": [currency] * n, **items}
    kw: dict[str, Any] = {"regime": regime(currency), "tariff": dm.Tariff.from_records([{"code": "22", "duty": rate}]),
                          "on": ON, "rates": rates}
    engine = dm.assess(cols, **kw)["duty"].tolist()
    assert engine == dm.reference.assess(cols, **kw)["duty"].tolist()
    return engine


# ------------------------------------------------------------------ a subtracted term

def test_subtracted_term_parses_last_and_prints_back() -> None:
    tree = parse("13.8% MIN 13 GBP / 100 kg MAX 15 GBP / 100 kg - 7 GBP / 100 kg")
    per100 = {"unit": "kg", "per": Decimal(100)}
    assert tree == Bounded(AdValorem(Decimal("13.8")), Specific(Decimal(13), "GBP", **per100),
                           Specific(Decimal(15), "GBP", **per100), Specific(Decimal(7), "GBP", **per100))
    assert parse(str(tree)) == tree
    assert parse("35.10 GBP / 100 kg - 7 GBP / 100 kg") == Bounded(
        Specific(Decimal("35.10"), "GBP", **per100), less=Specific(Decimal(7), "GBP", **per100))


@pytest.mark.parametrize("text, at", [
    ("35.10 GBP / 100 kg -", 20),             # nothing to subtract
    ("35.10 GBP / 100 kg - kg", 21),          # not a rate
    ("5% - 1 GBP/kg MIN 2%", 14),             # a bound after the subtraction: which does it bound?
    ("5% - 1 GBP/kg + 2%", 14),               # subtract 1 GBP/kg + 2%, or add 2%?
])
def test_a_dash_is_parsed_or_a_syntax_error(text: str, at: int) -> None:
    with pytest.raises(TariffSyntaxError) as exc:
        parse(text)
    assert exc.value.position == at


def test_subtracted_term_on_hand_computed_items() -> None:
    rate = "13.8% MIN 13 GBP / 100 kg MAX 15 GBP / 100 kg - 7 GBP / 100 kg"
    got = duties(rate, "GBP", {"value": ["100.00", "10.00", "10.00"], "net_mass_kg": ["50", "200", "0"]})
    # 100.00, 50 kg: min(max(13.80, 6.50), 7.50) = 7.50 - 3.50 = 4.00
    # 10.00, 200 kg: min(max(1.38, 26.00), 30.00) = 26.00 - 14.00 = 12.00
    # 10.00, 0 kg: min(max(1.38, 0), 0) = 0 - 0 = 0
    assert got == [400, 1200, 0]
    # 35.10 x 0.1 - 7 x 0.1 = 3.51 - 0.70 = 2.81
    assert duties("35.10 GBP / 100 kg - 7 GBP / 100 kg", "GBP", {"value": ["1"], "net_mass_kg": ["10"]}) == [281]


def test_subtracted_term_never_makes_a_refund() -> None:
    # 5% of 10.00 = 0.50, less 2.00 x 1 kg: no duty, not -1.50
    assert duties("5% - 2 GBP/kg", "GBP", {"value": ["10.00"], "net_mass_kg": ["1"]}) == [0]


def test_an_addition_on_a_subtracted_duty_cannot_be_assessed() -> None:
    tariff = dm.Tariff.from_records([{"code": "22", "duty": "10% - 1 GBP/kg"},
                                     {"code": "22", "measure": "additional", "duty": "5%"}])
    found = tariff.lookup("2204219000", "", on=ON)
    assert found is not None and "subtracted term" in getattr(found[0], "reason", "")


# ------------------------------------------------------------------ pure alcohol

def test_per_percent_vol_per_hectolitre_is_per_litre_of_pure_alcohol() -> None:
    uk = ROWS["2204218595"]["ukgt_duty_rate"]  # Madeira > 22% vol: "1.40 GBP / % vol / hl"
    assert parse(uk) == Specific(Decimal("1.40"), "GBP", "% vol/hl")
    got = duties(uk, "GBP", {"value": ["20", "20"], "volume_l": ["0.75", "4.5"], "alcohol_pct": ["13.5", "13.5"]})
    # 0.75 l x 13.5% = 0.10125 l of pure alcohol x 1.40 = 0.14175 -> 0.14; 4.5 l: 0.6075 x 1.40 = 0.8505 -> 0.85
    assert got == [14, 85]


def test_pure_alcohol_with_a_volume_term_and_a_minimum() -> None:
    rum = ROWS["22084011"]["ukgt_duty_rate"]  # "0.50 GBP/%vol/hl + 2.60 GBP/hl"
    # 1 l at 40%: 0.4 l x 0.50 = 0.20 + 2.60 x 0.01 hl = 0.026 -> 0.226 -> 0.23
    assert duties(rum, "GBP", {"value": ["30"], "volume_l": ["1"], "alcohol_pct": ["40"]}) == [23]
    piquette = ROWS["22060010"]["cet_duty_rate"]  # "1.30 EUR / % vol / hl MIN 7.20 EUR / hl"
    # 2 l at 5%: 0.1 l x 1.30 = 0.13; at least 7.20 x 0.02 hl = 0.144 -> 0.14: 0.14
    # 2 l at 12%: 0.24 l x 1.30 = 0.312 -> 0.31; at least 0.14: 0.31
    items = {"value": ["5", "5"], "volume_l": ["2", "2"], "alcohol_pct": ["5", "12"]}
    assert duties(piquette, "EUR", items) == [14, 31]


def test_pure_alcohol_record_holds_the_coefficient_per_1e8_litre() -> None:
    rec = compile_measure(parse("1.40 GBP / % vol / hl"), "GBP", 2)
    # 140 pence per litre of pure alcohol = 140 / 10^8 per (ml x thousandth of a % vol) = 7 / 5,000,000
    assert rec[4] == 7 and rec[5] == 5_000_000


def test_strength_missing_where_a_line_needs_it_names_row_and_column() -> None:
    rate = "1.40 GBP / % vol / hl"
    with pytest.raises(MissingColumnError) as missing:
        duties(rate, "GBP", {"value": ["20"], "volume_l": ["0.75"]})
    assert missing.value.column == "alcohol_pct"
    with pytest.raises(InvalidValueError) as gap:
        duties(rate, "GBP", {"value": ["20", "20"], "volume_l": ["0.75", "0.75"], "alcohol_pct": ["12", None]})
    assert (gap.value.column, gap.value.row) == ("alcohol_pct", 1)
    with pytest.raises(MissingColumnError) as no_volume:  # pure alcohol is volume x strength
        duties(rate, "GBP", {"value": ["20"], "alcohol_pct": ["12"]})
    assert no_volume.value.column == "volume_l"


@pytest.mark.parametrize("strength, error", [("100.001", InvalidValueError), ("-1", InvalidValueError),
                                             ("12.0001", InvalidValueError), ("abc", InvalidValueError)])
def test_strength_is_a_non_negative_exact_decimal_at_most_100(strength: str, error: type) -> None:
    cols = {"consignment": [0, 1], "hs_code": ["2204219000"] * 2, "currency": ["GBP"] * 2,
            "value": ["20", "20"], "volume_l": ["1", "1"], "alcohol_pct": ["12", strength]}
    for assess in (dm.assess, dm.reference.assess):  # each raises, even on a line that needs no strength
        with pytest.raises(error) as exc:
            assess(cols, regime=regime("GBP"), tariff=dm.Tariff.from_records([{"code": "22", "duty": "10%"}]), on=ON)
        assert (exc.value.column, exc.value.row) == ("alcohol_pct", 1)


def test_pure_alcohol_beyond_64_bits_is_an_overflow_error() -> None:
    cols = {"consignment": [0], "hs_code": ["2204219000"], "currency": ["GBP"], "value": ["1"],
            "volume_l": ["10000000000000"], "alcohol_pct": ["100"]}  # 1e16 ml x 100,000 > 2^63
    kw: dict[str, Any] = {"regime": regime("GBP"), "on": ON,
                          "tariff": dm.Tariff.from_records([{"code": "22", "duty": "10%"}])}
    for assess in (dm.assess, dm.reference.assess):
        with pytest.raises(AmountOverflowError) as exc:
            assess(cols, **kw)
        assert (exc.value.column, exc.value.row) == ("alcohol_pct", 0)


# ------------------------------------------------------------------ per 1,000 items

def test_per_thousand_items() -> None:
    chicks = ROWS["01051111"]
    assert parse(chicks["cet_duty_rate"]) == Specific(Decimal("52.00"), "EUR", "item", Decimal(1000))
    # 250 items x 43.00 / 1000 = 10.75; 1 item: 0.043 -> 0.04
    assert duties(chicks["ukgt_duty_rate"], "GBP", {"value": ["1", "1"], "quantity": ["250", "1"]}) == [1075, 4]
    # TARIC's "1000 p/st": 12,500 cigarettes x 10.00 EUR / 1000 = 125.00
    assert duties("10.00 EUR / 1000 p/st", "EUR", {"value": ["1"], "quantity": ["12500"]}) == [12500]


# ------------------------------------------------------------------ amounts in another currency

GBP_EUR = dm.ExchangeRates({"EUR": "1.25"}, base="GBP")  # 1 GBP = 1.25 EUR (ECB quotation)


def test_eur_specific_duty_in_a_gbp_assessment() -> None:
    provolone = ROWS["04069073"]["cet_duty_rate"]  # "151.00 EUR / 100 kg"
    # 151 EUR / 1.25 = 120.80 GBP per 100 kg: 2.5 kg -> 3.02
    assert duties(provolone, "GBP", {"value": ["10"], "net_mass_kg": ["2.5"]}, GBP_EUR) == [302]
    # exact, not a rate rounded first: at 1 GBP = 1.1765 EUR, 37 kg pay 55.87 EUR = 47.4883... GBP -> 47.49
    odd = dm.ExchangeRates({"EUR": "1.1765"}, base="GBP")
    assert duties(provolone, "GBP", {"value": ["10"], "net_mass_kg": ["37"]}, odd) == [4749]


def test_eur_min_and_max_in_a_gbp_assessment() -> None:
    tobacco = ROWS["24011035"]["cet_duty_rate"]  # "18.40% MIN 22.00 EUR / 100 kg MAX 24.00 EUR / 100 kg"
    # value 100.00, 10 kg: 18.40 bounded by 22/1.25 x 0.1 = 1.76 and 24/1.25 x 0.1 = 1.92: 1.92
    # value 5.00, 10 kg: 0.92, at least 1.76: 1.76
    got = duties(tobacco, "GBP", {"value": ["100", "5"], "net_mass_kg": ["10", "10"]}, GBP_EUR)
    assert got == [192, 176]


def test_eur_amount_without_a_eur_rate_is_refused() -> None:
    with pytest.raises(dm.errors.TariffError, match="no EUR exchange rate"):
        duties("151.00 EUR / 100 kg", "GBP", {"value": ["10"], "net_mass_kg": ["2.5"]},
               dm.ExchangeRates({"USD": "1.3"}, base="GBP"))
