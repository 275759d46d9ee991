"""The loaders and the language on extracts of the real tariff files, in tests/data/official.

The extracts keep the official files' format and rows unchanged: every row of the headings the
built-in samples and these tests use, heading 9904 (additional duties), and every 12th heading
besides (the UK file: chapters 07 and 08 whole, for the seasonal and entry-price lines). They
were cut from ../shared/data (USITC HTS 2026 revision 3; the UK Global Tariff with the EU CET
column), so the suite needs nothing outside the project. Counts below are of the extracts.
"""

from __future__ import annotations

import datetime as dt
from fractions import Fraction
from pathlib import Path

import pytest

import deminimis as dm
from deminimis.tariff import AdValorem, CannotAssess, Tariff
from deminimis.tariff.coverage import coverage
from deminimis.tariff.expr import is_core
from deminimis.tariff.parse import R_COMPONENT, R_ENTRY_PRICE
from deminimis.tariff.samples import SAMPLES, load_official

DATA = Path(__file__).resolve().parent / "data" / "official"
US_R3 = DATA / "us_hts" / "hts_2026_revision_3_csv.csv"
UK = DATA / "uk_global_tariff" / "global-uk-tariff.csv"


#: evaluable shares of rate cells measured on the extracts (python -m deminimis.tariff.coverage
#: tests/data/official; on the whole files: general 97.98, special 97.57, column 2 97.31, additional
#: 99.02, UK 99.09, CET 98.06); a drop means a form that used to evaluate no longer does
EVALUABLE_FLOOR = {"general": 95.7, "special": 96.7, "column 2": 95.7, "additional": 99.0,
                   "ukgt_duty_rate (UK)": 99.7, "cet_duty_rate (EU CET)": 97.9}

_ON = dt.date(2026, 11, 28)  # any date the test regime is in force


def AV(p: str) -> AdValorem:
    return AdValorem(Fraction(p))


@pytest.fixture(scope="module")
def us() -> Tariff:
    return Tariff.from_usitc_csv(str(US_R3))


@pytest.fixture(scope="module")
def uk() -> Tariff:
    return Tariff.from_uk_global_tariff_csv(str(UK), column="ukgt")


@pytest.fixture(scope="module")
def cet() -> Tariff:
    return Tariff.from_uk_global_tariff_csv(str(UK), column="cet")


def test_every_rate_string_parses() -> None:
    rows = coverage(str(DATA))
    assert {r.column for r in rows} >= set(EVALUABLE_FLOOR)
    for r in rows:
        assert r.cells > 0 and not r.errors, (r.file, r.column, r.errors[:5])
        assert r.parsed == r.cells and r.distinct_parsed == r.distinct
        assert 100 * r.evaluable / r.cells >= EVALUABLE_FLOOR[r.column], r.row()


def test_us_loader_accounts_for_every_row(us: Tariff) -> None:
    rep = us.report
    assert rep is not None
    assert rep.rows == 6_688 and not rep.syntax_errors  # the extract's data rows
    assert rep.lines + rep.notes["heading rows without an HTS number (descriptions only)"] == rep.rows
    assert rep.columns["general"]["rates"] == 1_771
    assert rep.evaluable + sum(rep.cannot_assess.values()) == rep.rates
    assert rep.codes[R_COMPONENT][:1] and all(c.isdigit() for c in rep.codes[R_COMPONENT])
    assert any("program A " in n for n in rep.notes)  # GSP is reported, not silently applied


def test_us_lookups(us: Tariff) -> None:
    assert us.lookup("6109100012", "CN") == (AV("16.5"), "61091000")   # inherits its parent's rate
    assert us.lookup("6109100012", "KR")[0] == AV("0")                  # KORUS
    assert us.lookup("6109100012", "MX")[0] == AV("0")                  # USMCA
    assert us.lookup("6109100012", "CU")[0] == AV("90")                 # column 2
    assert us.lookup("6109100012", "RU")[0] == AV("90")
    assert us.lookup("610910", "CN")[0] == AV("16.5")                   # a six-digit code: its only line
    watch = us.lookup("9102111000", "CN")[0]
    assert isinstance(watch, CannotAssess) and watch.reason == R_COMPONENT
    assert us.lookup("9102111000", "KR")[0] == AV("0")
    assert us.units("6109100012") == ("doz.", "kg")
    assert "T-shirts" in us.description("6109100012")
    assert us.lookup("9999999999", "CN") is None


def test_uk_and_cet_lookups(uk: Tariff, cet: Tariff) -> None:
    assert uk.lookup("6109100010") == (AV("12"), "61091000")
    assert cet.lookup("9102110000")[0] == dm.tariff.parse("4.50% MIN 0.30 EUR / item MAX 0.80 EUR / item")
    seasonal = next(m for m in cet.measures() if isinstance(m.expr, dm.tariff.Seasonal))
    for day in (dt.date(2026, 1, 15), dt.date(2026, 5, 20), dt.date(2026, 9, 1)):
        e = cet.lookup(seasonal.code, on=day)[0]
        assert is_core(e)
    ep = cet.lookup("0702000000")[0]
    assert isinstance(ep, CannotAssess) and ep.reason == R_ENTRY_PRICE


@pytest.mark.parametrize("jurisdiction", sorted(SAMPLES))
def test_builtin_samples_match_the_official_tables(jurisdiction: str) -> None:
    official = load_official(jurisdiction, str(DATA))
    published = {(m.code, m.text, m.kind, m.origins, m.program, m.source) for m in official.measures()}
    sample = dm.tariff.sample(jurisdiction)
    assert len(sample.measures()) > 150
    for m in sample.measures():
        assert (m.code, m.text, m.kind, m.origins, m.program, m.source) in published, m
        assert sample.description(m.code) == official.description(m.code)
    # and every rated line of the sampled headings is there
    from deminimis.tariff.samples import all_headings
    heads = tuple(all_headings())
    assert {m.code for m in official.measures() if m.code.startswith(heads)} == set(sample.lines) | {
        m.code for m in sample.measures()}


def test_parcels_with_real_us_codes_engine_equals_reference(us: Tariff) -> None:
    from deminimis.cli import synthetic_batch
    regime = dm.Regime.from_dict({"id": "us-test", "currency": "USD", "valuation": "FOB",
                                  "vat": {"rates": {"US": {"standard": "0"}}}})
    rates = dm.ExchangeRates({"EUR": "0.9194", "GBP": "0.7843", "CNY": "7.1734", "JPY": "149.08"}, base="USD")
    batch = synthetic_batch(3000, us, ["US"], seed=11)
    batch.pop("destination")
    fast = dm.assess(batch, regime=regime, tariff=us, rates=rates, amounts="minor", on=_ON)
    slow = dm.reference.assess(batch, regime=regime, tariff=us, rates=rates, amounts="minor", on=_ON)
    assert fast.equals(slow)
    assert int(fast["duty"].sum()) > 0
    flagged = (fast["rule"] & 64) != 0
    assert not (fast["duty"][flagged] != 0).any()
