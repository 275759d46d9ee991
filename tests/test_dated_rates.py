"""Dated exchange rates: the loaders of the official publications, the rules that pick a day's rate,
and batches converted at the rates of each consignment's date (engine and reference alike)."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

import deminimis as dm
from deminimis.errors import DeminimisError, InconsistentConsignmentError, MissingRateError, RatesFileError
from deminimis.rates import DatedRates, penultimate_wednesday
from deminimis.rates_loaders import load_boc, load_csv, load_ecb, load_hmrc

DATA = Path(__file__).parent / "data" / "rates"
ECB = DATA / "eurofxref-hist.csv"
HMRC = [DATA / "monthly_csv_2026-2.csv", DATA / "monthly_csv_2026-3.csv"]
D = dt.date


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


class TestLoaders:
    """Each loader reads its fixture exactly and says what it read; a malformed cell names line and column."""

    def test_ecb_history(self) -> None:
        rates = load_ecb(ECB)
        assert (rates.base, rates.quote, rates.rule) == ("EUR", "foreign_per_base", "daily")
        assert rates.currencies == ["GBP", "JPY", "USD"]  # RUB all N/A; CYP withdrawn
        usd = rates.rates_on(D(2026, 2, 18)).rates["USD"]
        assert usd == Decimal("1.0812") and str(usd) == "1.0812"  # the text written, not a float's digits
        assert str(rates.rates_on(D(2026, 3, 20)).rates["JPY"]) == "162.10"  # trailing zero kept
        r = rates.report
        assert (r.rows, r.rates, r.first, r.last) == (10, 29, D(2026, 2, 16), D(2026, 3, 20))
        assert r.not_available == {"CYP": 10, "RUB": 10, "GBP": 1}
        assert "CYP" in r.skipped and "RUB" not in r.skipped
        assert "GBP: 1 days with no rate published" in r.summary()

    def test_ecb_na_is_no_rate_that_day(self) -> None:
        rates = load_ecb(ECB)
        no_fallback = rates.with_rule("daily", max_gap=0)
        assert "GBP" not in no_fallback.rates_on(D(2026, 3, 18)).rates  # N/A: no rate that day
        # the daily rule falls back to the day before (a gap of 1 day), never to a later day
        assert rates.rates_on(D(2026, 3, 18)).rates["GBP"] == Decimal("0.8409")
        with pytest.raises(MissingRateError, match=r"no RUB rate on 2026-03-18: the table has no RUB rate"):
            rates.rates_on(D(2026, 3, 18), currencies=["RUB"])

    @pytest.mark.parametrize("cell, message", [('"1,0812"', "not a positive decimal rate"),
                                               ("1.08e0", "not a positive decimal rate"),
                                               ("-1.08", "not a positive decimal rate"),
                                               ("0", "not a positive decimal rate"),
                                               ("", "not a positive decimal rate")])
    def test_ecb_malformed_cell_names_line_and_column(self, tmp_path: Path, cell: str, message: str) -> None:
        path = write(tmp_path, "h.csv", f"Date,USD,JPY,\n2026-02-19,1.0803,160.71,\n2026-02-18,{cell},160.93,\n")
        with pytest.raises(RatesFileError, match=message) as info:
            load_ecb(path)
        assert (info.value.line, info.value.column) == (3, "USD")
        assert "line 3, column 'USD'" in str(info.value)

    @pytest.mark.parametrize("text, line, column, message", [
        ("Date,USD,\n2026-02-31,1.08,\n", 2, "Date", "not a date"),
        ("Date,USD,\n18/02/2026,1.08,\n", 2, "Date", "not a date"),
        ("Date,USD,\n2026-02-18,1.08\n", 2, None, "has 2 cells where the header has 3"),
        ("Date,USD,\n2026-02-18,1.08,\n2026-02-18,1.09,\n", 3, "Date", "a second row for 2026-02-18"),
        ("Datum,USD,\n", 1, None, "first column must be 'Date'"),
    ])
    def test_ecb_malformed_rows(self, tmp_path: Path, text: str, line: int, column: str | None,
                                message: str) -> None:
        with pytest.raises(RatesFileError, match=message) as info:
            load_ecb(write(tmp_path, "h.csv", text))
        assert (info.value.line, info.value.column) == (line, column)

    def test_hmrc_monthly_files(self) -> None:
        rates = load_hmrc(HMRC)
        assert (rates.base, rates.quote, rates.rule) == ("GBP", "foreign_per_base", "uk-monthly")
        assert rates.rates_on(D(2026, 2, 28)).rates == {"AED": Decimal("4.9321"), "EUR": Decimal("1.1904"),
                                                        "JPY": Decimal("198.6624"), "USD": Decimal("1.3427"),
                                                        "XOF": Decimal("780.8502")}
        assert str(rates.rates_on(D(2026, 3, 1)).rates["JPY"]) == "197.4410"
        assert (rates.report.rows, rates.report.rates) == (10, 10)
        with pytest.raises(MissingRateError, match=r"no USD rate on 2026-04-01: the last USD rate before it is "
                                                   r"valid to 2026-03-31"):
            rates.rates_on(D(2026, 4, 1), currencies=["USD"])  # no April file: no fallback to March

    def test_hmrc_govuk_layout_and_territory_rows(self, tmp_path: Path) -> None:
        """The gov.uk files write days DD/MM/YYYY and may list a currency once per territory."""
        path = write(tmp_path, "exrates-monthly-0326.csv",
                     "Country/Territories,Currency,Currency Code,Currency Units per £1,Start Date,End Date\n"
                     "Benin,CFA Franc,XOF,778.7506,01/03/2026,31/03/2026\n"
                     "Senegal,CFA Franc,XOF,778.7506,01/03/2026,31/03/2026\n"
                     "USA,Dollar,USD,1.3345,01/03/2026,31/03/2026\n")
        rates = load_hmrc(path)
        assert rates.rates_on(D(2026, 3, 15)).rates == {"XOF": Decimal("778.7506"), "USD": Decimal("1.3345")}
        assert rates.report.duplicates == 1

    def test_hmrc_conflicting_rows_and_bad_dates(self, tmp_path: Path) -> None:
        head = "Country/Territories,Currency,Currency Code,Currency Units per £1,Start date,End date\n"
        conflict = write(tmp_path, "a.csv", head + "BJ,CFA Franc,XOF,778.7506,2026-03-01,2026-03-31\n"
                                                  "SN,CFA Franc,XOF,778.7507,2026-03-01,2026-03-31\n")
        with pytest.raises(RatesFileError, match="XOF rate 778.7507 where") as info:
            load_hmrc(conflict)
        assert (info.value.line, info.value.column) == (3, "Currency Units per £1")
        bad_day = write(tmp_path, "b.csv", head + "US,Dollar,USD,1.3345,31/02/2026,31/03/2026\n")
        with pytest.raises(RatesFileError, match="not a date DD/MM/YYYY") as info:
            load_hmrc(bad_day)
        assert (info.value.line, info.value.column) == (2, "Start date")
        with pytest.raises(RatesFileError, match="no column"):
            load_hmrc(write(tmp_path, "c.csv", "Currency,Rate\nUSD,1.3\n"))

    def test_boc_valet_csv_and_json(self) -> None:
        group = load_boc(DATA / "FX_RATES_DAILY.csv")
        assert (group.base, group.quote) == ("CAD", "base_per_foreign")
        assert group.rates_on(D(2026, 2, 17)).rates == {"EUR": Decimal("1.4746"), "JPY": Decimal("0.008912"),
                                                        "USD": Decimal("1.3621")}
        assert group.report.not_available == {"JPY": 1}  # the empty cell of 2026-02-16
        with pytest.raises(MissingRateError, match="no JPY rate on 2026-02-16: its first JPY rate is valid "
                                                   "from 2026-02-17"):
            group.rates_on(D(2026, 2, 16), currencies=["JPY"])
        usd = load_boc(DATA / "FXUSDCAD.json")
        assert usd.rates_on(D(2026, 2, 18)).rates == {"USD": Decimal("1.3598")}
        assert usd.report.rows == 3

    def test_boc_json_numbers_are_read_as_written(self, tmp_path: Path) -> None:
        doc = {"observations": [{"d": "2026-02-18", "FXUSDCAD": {"v": "x"}}]}
        path = write(tmp_path, "a.json", '{"observations":[{"d":"2026-02-18","FXUSDCAD":{"v":1.10}}]}')
        assert str(load_boc(path).rates_on(D(2026, 2, 18)).rates["USD"]) == "1.10"  # not float 1.1
        with pytest.raises(RatesFileError, match="not a positive decimal rate") as info:
            load_boc(write(tmp_path, "b.json", json.dumps(doc)))
        assert info.value.column == "observations[0].FXUSDCAD"

    def test_boc_malformed(self, tmp_path: Path) -> None:
        head = '"OBSERVATIONS"\n"date","FXUSDCAD"\n'
        with pytest.raises(RatesFileError, match="not a positive decimal rate") as info:
            load_boc(write(tmp_path, "a.csv", head + '"2026-02-17","1.36"\n"2026-02-18","1.3x"\n'))
        assert (info.value.line, info.value.column) == (4, "FXUSDCAD")
        with pytest.raises(RatesFileError, match="not a Bank of Canada exchange-rate series") as info:
            load_boc(write(tmp_path, "b.csv", '"OBSERVATIONS"\n"date","V39079"\n"2026-02-17","2.25"\n'))
        assert info.value.column == "V39079"

    def test_generic_csv(self, tmp_path: Path) -> None:
        rates = load_csv(DATA / "rates.csv", base="EUR")
        assert rates.rates_on(D(2026, 3, 1)).rates == {"CNY": Decimal("7.8012"), "USD": Decimal("1.0861")}
        assert rates.rates_on(D(2026, 2, 28)).rates["USD"] == Decimal("1.0812")
        cad = load_csv(DATA / "rates.csv", base="CAD", quote="base_per_foreign")
        assert cad.quote == "base_per_foreign"
        with pytest.raises(RatesFileError, match="not an ISO 4217") as info:
            load_csv(write(tmp_path, "a.csv", "currency,valid_from,valid_to,rate\nXYZ,2026-01-01,2026-01-31,1\n"),
                     base="EUR")
        assert (info.value.line, info.value.column) == (2, "currency")
        with pytest.raises(RatesFileError, match="the header must be"):
            load_csv(write(tmp_path, "b.csv", "currency,from,to,rate\n"), base="EUR")
        overlapping = ("currency,valid_from,valid_to,rate\n"
                       "USD,2026-01-01,2026-01-31,1.1\nUSD,2026-01-31,2026-02-28,1.2\n")
        with pytest.raises(DeminimisError, match="two USD rates on 2026-01-31"):
            load_csv(write(tmp_path, "c.csv", overlapping), base="EUR")


class TestRules:
    @pytest.mark.parametrize("year, month, day", [
        (2026, 2, 18),   # 28 Feb 2026 a Saturday: last Wednesday the 25th
        (2026, 3, 18),   # 31 Mar 2026 a Tuesday: last Wednesday the 25th
        (2025, 12, 24),  # 31 Dec 2025 a Wednesday: it is the last, the 24th the penultimate
        (2026, 4, 22),   # 30 Apr 2026 a Thursday: last Wednesday the 29th
        (2024, 2, 21),   # leap year: 29 Feb 2024 a Thursday, last Wednesday the 28th
    ])
    def test_penultimate_wednesday(self, year: int, month: int, day: int) -> None:
        assert penultimate_wednesday(year, month) == D(year, month, day)
        assert D(year, month, day).weekday() == 2

    def test_eu_customs_rule_takes_the_penultimate_wednesday_of_the_month_before(self) -> None:
        eu = load_ecb(ECB, rule="eu-customs")
        for day in (D(2026, 3, 1), D(2026, 3, 17), D(2026, 3, 31)):  # all of March: 18 February's rates
            assert eu.rates_on(day).rates == {"GBP": Decimal("0.8388"), "JPY": Decimal("160.93"),
                                              "USD": Decimal("1.0812")}
        assert eu.publication_day(D(2026, 3, 5)) == D(2026, 2, 18)
        april = eu.rates_on(D(2026, 4, 30))
        assert april.rates["USD"] == Decimal("1.0861")  # 18 March
        # no GBP rate published on 18 March (N/A): Art. 146(2), the last published rate, of 17 March
        assert april.rates["GBP"] == Decimal("0.8409")
        with pytest.raises(MissingRateError, match=r"no USD rate on 2026-02-10: EU customs rule .* no USD rate "
                                                   r"published on 2026-01-21"):
            eu.rates_on(D(2026, 2, 10), currencies=["USD"])

    def test_eu_customs_rule_when_no_rate_was_published_that_wednesday(self) -> None:
        """TARGET closing days (1 Jan, Good Friday, Easter Monday, 1 May, 25-26 Dec) never fall on a
        penultimate Wednesday (the 15th to the 24th), so with ECB rates this happens only when no rate
        is published that day: the rule takes the last rate published before it (Art. 146(2)), here
        Tuesday's, and refuses one older than max_gap days (Art. 146(4): the member state sets it)."""
        published = [("USD", D(2026, 3, 17), D(2026, 3, 17), "1.0872"), ("USD", D(2026, 3, 12), D(2026, 3, 12), "1.09")]
        eu = DatedRates(published, "EUR", rule="eu-customs")
        assert eu.rates_on(D(2026, 4, 10)).rates == {"USD": Decimal("1.0872")}
        stale = DatedRates(published[1:], "EUR", rule="eu-customs")  # 6 days before the Wednesday
        with pytest.raises(MissingRateError, match=r"no USD rate on 2026-04-10: .*2026-03-18.*max_gap=4"):
            stale.rates_on(D(2026, 4, 10), currencies=["USD"])
        assert stale.with_rule("eu-customs", max_gap=6).rates_on(D(2026, 4, 10)).rates["USD"] == Decimal("1.09")

    def test_daily_rule_and_its_maximum_gap(self) -> None:
        daily = load_ecb(ECB)
        # Saturday to Tuesday after Friday 20 February: 1 to 4 days, Friday's rate
        for day in (D(2026, 2, 21), D(2026, 2, 22), D(2026, 2, 24)):
            assert daily.rates_on(day).rates["USD"] == Decimal("1.0795")
        with pytest.raises(MissingRateError, match=r"no USD rate on 2026-02-25: the last USD rate before it is "
                                                   r"valid to 2026-02-20, more than max_gap=4 days before"):
            daily.rates_on(D(2026, 2, 25), currencies=["USD"])
        with pytest.raises(MissingRateError, match="no rate of the table applies on 2026-02-25"):
            daily.rates_on(D(2026, 2, 25))
        with pytest.raises(MissingRateError, match="its first USD rate is valid from 2026-02-16"):
            daily.rates_on(D(2026, 2, 15), currencies=["USD"])
        strict = daily.with_rule("daily", max_gap=0)
        with pytest.raises(MissingRateError, match="max_gap=0"):
            strict.rates_on(D(2026, 2, 21), currencies=["USD"])

    def test_uk_monthly_rule(self) -> None:
        uk = load_hmrc(HMRC)
        assert uk.rates_on(D(2026, 2, 1)).rates["USD"] == Decimal("1.3427")
        assert uk.rates_on(D(2026, 3, 31)).rates["USD"] == Decimal("1.3345")
        with pytest.raises(DeminimisError, match="calendar month"):
            DatedRates([("USD", D(2026, 3, 2), D(2026, 3, 31), "1.3")], "GBP", rule="uk-monthly")

    def test_construction_checks(self) -> None:
        with pytest.raises(DeminimisError, match="rule must be one of"):
            DatedRates([], "EUR", rule="weekly")
        with pytest.raises(DeminimisError, match="valid_to 2026-03-01 is before valid_from 2026-03-02"):
            DatedRates([("USD", "2026-03-02", "2026-03-01", "1.1")], "EUR")
        with pytest.raises(DeminimisError, match="base currency EUR itself"):
            DatedRates([("EUR", "2026-03-01", "2026-03-01", "1")], "EUR")
        with pytest.raises(DeminimisError, match="must be positive"):
            DatedRates([("USD", "2026-03-01", "2026-03-01", "0")], "EUR")
        a = DatedRates([("USD", "2026-03-01", "2026-03-01", "1.1")], "EUR")
        assert a.content_hash != a.with_rule("eu-customs").content_hash != a.with_rule("daily", 3).content_hash


# --- batches converted at the rates of each consignment's date -------------------------------------

TARIFF = dm.tariff.sample("EU")
EU = "EU-2026-01-01"


def batch() -> dict[str, list[object]]:
    """Consignments of March and April 2026 in USD, GBP and EUR (items of one consignment not adjacent)."""
    return {"consignment": ["M1", "A1", "M1", "M2", "A2", "A1"],
            "hs_code": ["6109100010", "6110209900", "6110209900", "6109100010", "6109100010", "6109100010"],
            "value": ["120.00", "180", "35.50", "99.99", "20", "300"],
            "currency": ["USD", "GBP", "USD", "GBP", "EUR", "GBP"],
            "destination": ["DE", "FR", "DE", "FR", "FR", "FR"],
            "date": ["2026-03-10", "2026-04-02", "2026-03-10", "2026-03-31", "2026-04-03", "2026-04-02"]}


def rows(cols: dict[str, list[object]], idx: list[int]) -> dict[str, list[object]]:
    return {k: [v[i] for i in idx] for k, v in cols.items()}


ASSESSORS = pytest.mark.parametrize("assess", [dm.assess, dm.reference.assess], ids=["engine", "reference"])


class TestBatches:
    def test_two_months_at_each_months_rates(self) -> None:
        eu = load_ecb(ECB, rule="eu-customs")
        cols = batch()
        fast = dm.assess(cols, regime="EU", tariff=TARIFF, rates=eu)
        slow = dm.reference.assess(cols, regime="EU", tariff=TARIFF, rates=eu)
        assert fast.differences(slow) == []
        # each month alone, with that month's one-day table, gives the same amounts
        for month, idx in ((3, [0, 2, 3]), (4, [1, 4, 5])):
            table = eu.rates_on(D(2026, month, 1))
            alone = dm.assess(rows(cols, idx), regime=EU, tariff=TARIFF, rates=table, on=D(2026, month, 15))
            for k in ("intrinsic", "duty", "vat", "total"):
                assert fast.items[k][idx].tolist() == alone.items[k].tolist(), k
        # hand-checked: 120 USD / 1.0812 (18 Feb) = 110.99 EUR; 180 GBP / 0.8409 (17 Mar: none on the 18th)
        assert fast.items["intrinsic"][[0, 1]].tolist() == [11099, 21406]
        assert fast.items["intrinsic"][3] == 11921  # 99.99 GBP / 0.8388 = 119.206 EUR

    def test_provenance_names_the_tables_used(self) -> None:
        eu = load_ecb(ECB, rule="eu-customs")
        result = dm.assess(batch(), regime="EU", tariff=TARIFF, rates=eu)
        p = result.provenance
        assert (p["rates_hash"], p["rates_rule"], p["rates_max_gap"]) == (eu.content_hash, "eu-customs", 4)
        assert p["rates_tables"] == [
            {"from": "2026-03-10", "to": "2026-03-31", "hash": eu.rates_on(D(2026, 3, 1)).content_hash},
            {"from": "2026-04-02", "to": "2026-04-03", "hash": eu.rates_on(D(2026, 4, 1)).content_hash}]

    @ASSESSORS
    def test_on_uses_the_rates_of_that_day(self, assess) -> None:
        eu = load_ecb(ECB, rule="eu-customs")
        cols = rows(batch(), [0, 2, 3])
        cols.pop("date")
        result = assess(cols, regime=EU, tariff=TARIFF, rates=eu, on=D(2026, 4, 15))
        same = assess(cols, regime=EU, tariff=TARIFF, rates=eu.rates_on(D(2026, 4, 15)), on=D(2026, 4, 15))
        assert result.differences(same) == []
        assert result.items["intrinsic"][0] == 11049  # 120 / 1.0861 (18 March), not February's 11099
        assert result.provenance["rates_tables"] == [{"from": "2026-04-15", "to": "2026-04-15",
                                                      "hash": eu.rates_on(D(2026, 4, 15)).content_hash}]

    @ASSESSORS
    def test_a_missing_rate_names_currency_and_day(self, assess) -> None:
        daily = load_ecb(ECB)  # no rate at all from 2026-03-21: 2 April is too far after 20 March
        cols = batch()
        cols["date"] = ["2026-03-19", "2026-04-02", "2026-03-19", "2026-03-20", "2026-04-03", "2026-04-02"]
        with pytest.raises(MissingRateError, match=r"no GBP rate on 2026-04-02: the last GBP rate before it is "
                                                   r"valid to 2026-03-20") as info:
            assess(cols, regime="EU", tariff=TARIFF, rates=daily)
        assert (info.value.column, info.value.row, info.value.value) == ("currency", 1, "GBP")

    @ASSESSORS
    def test_a_missing_freight_rate_names_its_column(self, assess) -> None:
        eu = load_ecb(ECB, rule="eu-customs")
        cols = rows(batch(), [0, 2])
        cols["freight"], cols["freight_currency"] = ["5", "5"], ["CNY", "CNY"]
        with pytest.raises(MissingRateError, match="no CNY rate on 2026-03-10") as info:
            assess(cols, regime="EU", tariff=TARIFF, rates=eu)
        assert (info.value.column, info.value.row) == ("freight_currency", 0)

    def test_missing_rates_as_data(self) -> None:
        """errors="flag": the rows with no rate on their day are reported and their consignments left
        out; the rest is assessed as if they were not there, the same by engine and reference."""
        daily = load_ecb(ECB)
        cols = batch()
        cols["date"] = ["2026-03-19", "2026-04-02", "2026-03-19", "2026-03-20", "2026-04-03", "2026-04-02"]
        fast = dm.assess(cols, regime="EU", tariff=TARIFF, rates=daily, errors="flag")
        slow = dm.reference.assess(cols, regime="EU", tariff=TARIFF, rates=daily, errors="flag")
        assert fast.differences(slow) == [] and fast.errors == slow.errors
        assert [(e.row, e.column, e.error) for e in fast.errors] == [(1, "currency", "MissingRateError"),
                                                                     (5, "currency", "MissingRateError")]
        assert "no GBP rate on 2026-04-02" in fast.errors[0].message
        assert fast.status.tolist() == [0, 1, 0, 0, 0, 1]  # A2 is in EUR: it needs no rate
        alone = dm.assess(rows(cols, [0, 2, 3, 4]), regime="EU", tariff=TARIFF, rates=daily)
        assert fast.items["total"][[0, 2, 3, 4]].tolist() == alone.items["total"].tolist()
        assert fast.items["total"][[1, 5]].tolist() == [0, 0]

    @ASSESSORS
    def test_a_consignment_in_two_rate_periods_is_an_error(self, assess) -> None:
        eu = load_ecb(ECB, rule="eu-customs")
        cols = batch()
        cols["date"][2] = "2026-04-01"  # M1's second item in April: April's rates
        with pytest.raises(InconsistentConsignmentError, match=r"row 0 has another value") as info:
            assess(cols, regime="EU", tariff=TARIFF, rates=eu)
        assert (info.value.column, info.value.row) == ("date", 2)

    def test_rates_of_another_currency_are_refused(self) -> None:
        with pytest.raises(dm.RegimeError, match="exchange rates are into GBP"):
            dm.assess(batch(), regime="EU", tariff=TARIFF, rates=load_hmrc(HMRC))

    def test_explain_converts_at_the_rates_of_the_items_day(self) -> None:
        eu = load_ecb(ECB, rule="eu-customs")
        result = dm.assess(batch(), regime="EU", tariff=TARIFF, rates=eu)
        assert "-> 21406 minor units of EUR" in result.explain(1)
        assert np.array_equal(result.items["intrinsic"], dm.reference.assess(batch(), regime="EU", tariff=TARIFF,
                                                                             rates=eu).items["intrinsic"])


class TestCommandLine:
    def test_assess_with_dated_rates(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        from deminimis.cli import main
        src = tmp_path / "items.csv"
        cols = rows(batch(), [0, 2, 1, 5, 3, 4])  # batch by batch: a consignment's items adjacent
        src.write_text("\n".join([",".join(cols)] + [",".join(str(cols[k][i]) for k in cols) for i in range(6)]) + "\n")
        dst = tmp_path / "out.csv"
        assert main(["assess", str(src), str(dst), "--regime", "EU", "--tariff", "sample:EU", "--rates", str(ECB),
                     "--rates-format", "ecb", "--rates-rule", "eu-customs", "--quiet"]) == 0
        lines = dst.read_text().splitlines()
        assert [line.split(",")[2] for line in lines[1:4]] == ["11099", "3283", "21406"]
        provenance = json.loads((tmp_path / "out.csv.provenance.json").read_text())
        assert provenance["rates_rule"] == "eu-customs" and len(provenance["rates_tables"]) == 2
        assert main(["assess", str(src), str(dst), "--regime", "EU", "--tariff", "sample:EU", "--rates", str(ECB),
                     "--rates-format", "ecb"]) == 2  # daily: no rate on 2 April
        assert "row 1: no USD rate on 2026-03-10" in capsys.readouterr().err  # 1-based data row
        assert main(["assess", str(src), str(dst), "--regime", "EU", "--tariff", "sample:EU", "--rates", str(ECB),
                     "--rate", "USD=1.1", "--rates-format", "ecb"]) == 2
        assert "not both" in capsys.readouterr().err
