"""The 27 EU member states' VAT rates with their dates of effect (regimes/data/vat/EU.toml).

Figures are hand-computed: a consignment above the regime's VAT relief (before July 2021) or
without IOSS (from July 2021) pays import VAT = rate x (value + freight) at the border; duty is
relieved up to EUR 150 (before July 2026). Each pair is the last day before a change and its first
day, through the engine and the reference, by `on` and by the per-row `date` column.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

import deminimis as dm
from deminimis import regimes
from deminimis.errors import RegimeError
from deminimis.regimes.dated import Entry, expand

EU27 = {"AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "EL", "ES", "FI", "FR", "HR", "HU", "IE", "IT", "LT",
        "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK"}
TARIFF = dm.Tariff.from_records([{"code": "6109", "duty": "12%"}, {"code": "4901", "duty": "Free"}])


def vat(dest: str, on: dt.date, value: str = "100", code: str = "6109100010") -> int:
    """Import VAT in cents on one item to `dest`, engine and reference agreeing."""
    items = {"consignment": ["c"], "hs_code": [code], "value": [value], "currency": ["EUR"], "destination": [dest]}
    ref = dm.reference.assess(items, regime="EU", tariff=TARIFF, on=on)
    if dm.NATIVE:
        res = dm.assess(items, regime="EU", tariff=TARIFF, on=on)
        assert res.equals(ref), res.differences(ref)
    assert ref["duty"].tolist() == [0]  # EUR 100 <= 150: duty relieved
    return int(ref["vat"].tolist()[0])


# (destination, last day of the old rate, code, value, VAT before, VAT after), in cents.
CHANGES = [
    ("EE", dt.date(2023, 12, 31), "6109100010", "100", 2000, 2200),  # 20% -> 22%
    ("EE", dt.date(2025, 6, 30), "6109100010", "100", 2200, 2400),   # 22% -> 24%
    ("FI", dt.date(2024, 8, 31), "6109100010", "100", 2400, 2550),   # 24% -> 25.5%
    ("FI", dt.date(2024, 12, 31), "4901990000", "40", 400, 560),     # books 10% -> 14%
    ("FI", dt.date(2025, 12, 31), "4901990000", "40", 560, 540),     # books 14% -> 13.5%
    ("SK", dt.date(2024, 12, 31), "6109100010", "100", 2000, 2300),  # 20% -> 23%
    ("SK", dt.date(2024, 12, 31), "4901990000", "40", 400, 200),     # books 10% -> 5%
    ("RO", dt.date(2025, 7, 31), "6109100010", "100", 1900, 2100),   # 19% -> 21%
    ("RO", dt.date(2025, 7, 31), "4901990000", "40", 200, 440),      # books 5% -> 11%
    ("CZ", dt.date(2023, 12, 31), "4901990000", "40", 400, 0),       # books 10% -> 0%
    ("LU", dt.date(2022, 12, 31), "6109100010", "100", 1700, 1600),  # 17% -> 16% for 2023
    ("LU", dt.date(2023, 12, 31), "6109100010", "100", 1600, 1700),  # and back
    ("IE", dt.date(2020, 8, 31), "6109100010", "100", 2300, 2100),   # 23% -> 21% (VAT Consolidation Act s 46)
    ("IE", dt.date(2021, 2, 28), "6109100010", "100", 2100, 2300),   # and back on 1 Mar 2021
    ("AT", dt.date(2020, 6, 30), "4901990000", "40", 400, 200),      # books 10% -> 5%
    ("AT", dt.date(2021, 12, 31), "4901990000", "40", 200, 400),     # and back on 1 Jan 2022
    ("BG", dt.date(2020, 6, 30), "4901990000", "40", 800, 360),      # books 20% -> 9%
    ("LV", dt.date(2021, 12, 31), "4901990000", "40", 480, 200),     # books 12% -> 5%
    ("LT", dt.date(2025, 12, 31), "4901990000", "40", 360, 200),     # books 9% -> 5%
    ("DE", dt.date(2020, 6, 30), "6109100010", "100", 1900, 1600),   # 19% -> 16%
    ("DE", dt.date(2020, 12, 31), "4901990000", "40", 200, 280),     # books 5% -> 7%
]


@pytest.mark.parametrize("dest,last_day,code,value,before,after", CHANGES,
                         ids=[f"{c[0]}@{c[1] + dt.timedelta(days=1)}-{c[2][:4]}" for c in CHANGES])
def test_the_rate_in_force_on_each_side_of_a_change(dest: str, last_day: dt.date, code: str, value: str,
                                                     before: int, after: int) -> None:
    assert vat(dest, last_day, value, code) == before
    assert vat(dest, last_day + dt.timedelta(days=1), value, code) == after


def test_a_state_the_regimes_did_not_know_is_assessed() -> None:
    """Austria was missing ('no VAT rates for this destination'): EUR 50 at 20% = 10.00."""
    assert vat("AT", dt.date(2026, 3, 1), "50") == 1000


def test_per_row_dates_pick_each_rows_rate() -> None:
    """One batch, no `on`: the row dated 30 June 2025 pays EE 22%, the one of 1 July 2025 24%."""
    items: dict[str, Any] = {"consignment": ["a", "b"], "hs_code": ["6109100010"] * 2, "value": ["100", "100"],
                             "currency": ["EUR"] * 2, "destination": ["EE", "EE"],
                             "date": ["2025-06-30", "2025-07-01"]}
    ref = dm.reference.assess(items, regime="EU", tariff=TARIFF)
    assert ref["vat"].tolist() == [2200, 2400]
    assert ref.provenance["regime"] == "EU-2025-01-01,EU-2025-07-01"
    if dm.NATIVE:
        assert dm.assess(items, regime="EU", tariff=TARIFF).equals(ref)


@pytest.mark.parametrize("entry", regimes.available("EU"), ids=lambda e: e["id"])
def test_every_eu_version_has_all_27_states_and_cites_each_rate(entry: dict) -> None:
    r = regimes.get(entry["id"])
    assert set(r.vat.rates) == EU27
    assert all(set(cats) == {"standard", "reduced"} for cats in r.vat.rates.values())
    unverified = [u for u in r.unverified if u.startswith("vat.rates ")]
    assert {u.split()[1].rstrip(":") for u in unverified} == EU27 - {"IE"}  # IE read in Revenue's texts


def test_the_versions_are_the_dates_of_change() -> None:
    """Written from the sources, not read from the table: every date a rate changed in 2019-2026."""
    assert [e["id"] for e in regimes.available("EU")] == [f"EU-{d}" for d in (
        "2019-01-01", "2020-07-01", "2020-09-01", "2021-01-01", "2021-03-01", "2021-07-01", "2022-01-01",
        "2023-01-01", "2024-01-01", "2024-09-01", "2025-01-01", "2025-07-01", "2025-08-01", "2026-01-01",
        "2026-07-01")]


def test_expand_cuts_at_changes_inside_the_interval_and_refuses_a_gap() -> None:
    day = dt.datetime
    entries = (Entry("AA", day(2020, 1, 1), {"standard": "10"}, "src a", False),
               Entry("AA", day(2021, 1, 1), {"standard": "12"}, "src b", True),
               Entry("AA", day(2030, 1, 1), {"standard": "15"}, "src c", True))
    d = {"id": "X-2020-06-01", "valid_from": dt.date(2020, 6, 1), "valid_to": dt.date(2025, 1, 1),
         "vat": {"dated_rates": "T"}, "sources": ["base"], "unverified": []}
    parts = expand(d, entries)
    assert [(p["id"], p["vat"]["rates"]["AA"]["standard"]) for p in parts] == [("X-2020-06-01", "10"),
                                                                               ("X-2021-01-01", "12")]
    assert parts[0]["valid_to"] == day(2021, 1, 1) and parts[1]["valid_to"] == dt.date(2025, 1, 1)
    assert parts[1]["sources"] == ["base", "src b"] and parts[1]["unverified"] == []
    assert parts[0]["unverified"] and "dated_rates" not in parts[0]["vat"]
    with pytest.raises(RegimeError, match="no VAT rates in force on 2019-06-01"):
        expand({**d, "id": "X-2019-06-01", "valid_from": dt.date(2019, 6, 1)}, entries)
