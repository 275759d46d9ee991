"""The UK Trade Tariff API loader on real responses (tests/data/official/uk_trade_tariff_api, README
there): codes, duties, origins and dates as the responses state them, the load report's counts,
malformed responses, and one end-to-end assessment per response (engine == reference).

Hand-checked in the JSON (``included`` objects by type and id):

uk_2207100090.json (UK service, GBP): commodity 2207100090 "Other" (undenatured ethyl alcohol of 80 %
vol or higher); 55 import measures, among them
- 20126375 and 20126376: type 103 on 1011 (ERGA OMNES), "16.00 GBP / hl" with additional code 2601
  "Other" and "0.00 %" with additional code 2600 "Goods that are COVID-19 critical", from 2021-01-01;
- 20146555: type 142 on SG, "8.00 GBP / hl", effective 2021-11-21 to 2022-11-20T23:59:59 (last day
  20 November 2022);
- 20125858: type 142 on 1013 (European Union: 27 member states and EU), "0.00 %";
- 20179778, 20179809: type 695 "Additional duties" (series J) on RU and BY, "35.00 %", from 2022-03-25;
- 20081689, 20108149, 20084848: type 143 preferential tariff quotas on UA, VN, ZA (order numbers);
- 2982607: type 109 supplementary unit "l"; 305 VAT "20.00 %"; 306 excise "28.74 GBP / l alc. 100%".
xi_1006101000.json (Northern Ireland service, EU measures, EUR): commodity 1006101000 "For sowing";
- 2057879: type 103 on 1011, "7.70 %", from 2000-07-01;
- 3860102: type 142 on SG, "1.90 %", 2021-11-21 to 2022-11-20T00:00:00 (last day 20 November 2022);
- 3165873: type 142 on 1033 (CARIFORUM) excluding HT, "0.00 %", from 2010-01-01;
- 2865973: type 106 "Customs Union Duty" on SM, "0.00 %".
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

import deminimis as dm
from deminimis import regimes
from deminimis.errors import TariffError
from deminimis.tariff import AdValorem, CannotAssess, Specific, Tariff
from deminimis.tariff.loaders_uk_api import R_ADDITIONAL_CODE, R_CONDITIONAL, R_REMEDY

pytestmark = pytest.mark.pure

DATA = Path(__file__).resolve().parent / "data" / "official" / "uk_trade_tariff_api"
UK_FILE = DATA / "uk_2207100090.json"
XI_FILE = DATA / "xi_1006101000.json"
UK = Tariff.from_uk_trade_tariff_json(str(UK_FILE))
XI = Tariff.from_uk_trade_tariff_json(XI_FILE, currency="EUR")
SPIRIT, RICE = "2207100090", "1006101000"
CANNOT_ASSESS = {name: bit for bit, name in dm.RULES.items()}["cannot_assess"]


def measure(t: Tariff, code: str, program: str) -> Any:
    found = [m for m in t.measures(code) if m.program == program]
    assert len(found) == 1, [m.program for m in t.measures(code)]
    return found[0]


def rate(t: Tariff, code: str, origin: str, day: str) -> Any:
    found = t.lookup(code, origin, on=dt.date.fromisoformat(day))
    assert found is not None and found[1] == code
    return found[0]


class TestUkServiceResponse:
    def test_line_description_and_units(self) -> None:
        assert UK.codes() == [SPIRIT]
        assert UK.description(SPIRIT) == "Other"
        assert UK.units(SPIRIT) == ("l",)  # measure 2982607, type 109

    def test_third_country_duty_depends_on_the_additional_code(self) -> None:
        base = sorted((m for m in UK.measures(SPIRIT) if m.kind == "base"), key=lambda m: m.program)
        assert [(m.program, m.text, m.valid_from, m.valid_to) for m in base] == [
            ("103 1011 additional code 2600", "0.00 %", dt.date(2021, 1, 1), None),
            ("103 1011 additional code 2601", "16.00 GBP / hl", dt.date(2021, 1, 1), None)]
        # an item carries no additional code: reported, never 0% or 16 GBP/hl by guess
        assert rate(UK, SPIRIT, "CN", "2022-06-01") == CannotAssess(R_ADDITIONAL_CODE, SPIRIT)

    def test_dated_preference_for_singapore(self) -> None:
        sg = measure(UK, SPIRIT, "142 SG")
        assert (sg.kind, sg.origins, sg.text) == ("origin", frozenset({"SG"}), "8.00 GBP / hl")
        # effective 2021-11-21 to 2022-11-20T23:59:59: the last day is in force, valid_to is the day after
        assert (sg.valid_from, sg.valid_to) == (dt.date(2021, 11, 21), dt.date(2022, 11, 21))
        assert rate(UK, SPIRIT, "SG", "2022-11-20") == Specific(Decimal("8.00"), "GBP", "hl", Decimal(1))
        assert rate(UK, SPIRIT, "SG", "2022-11-21") == CannotAssess(R_ADDITIONAL_CODE, SPIRIT)
        assert rate(UK, SPIRIT, "SG", "2021-11-20") == CannotAssess(R_ADDITIONAL_CODE, SPIRIT)

    def test_group_preference_reaches_its_member_countries(self) -> None:
        eu = measure(UK, SPIRIT, "142 1013")
        assert len(eu.origins) == 28 and {"AT", "DE", "IE", "EU"} <= eu.origins and "GB" not in eu.origins
        assert rate(UK, SPIRIT, "DE", "2022-06-01") == AdValorem(0)

    def test_trade_remedy_flags_its_origins_from_its_start_date(self) -> None:
        ru = measure(UK, SPIRIT, "695 RU")
        assert (ru.kind, ru.origins, ru.text, ru.valid_from) == ("additional", frozenset({"RU"}), "35.00 %",
                                                                  dt.date(2022, 3, 25))
        got = rate(UK, SPIRIT, "RU", "2022-06-01")
        assert isinstance(got, CannotAssess) and R_REMEDY in got.reason
        assert rate(UK, SPIRIT, "RU", "2022-03-24") == CannotAssess(R_ADDITIONAL_CODE, SPIRIT)

    def test_quota_preference_is_not_applied(self) -> None:
        # UA has only the quota measure 20081689 (143): it pays the third country duty
        assert not [m for m in UK.measures(SPIRIT) if m.origins and "UA" in m.origins]
        assert rate(UK, SPIRIT, "UA", "2022-06-01") == CannotAssess(R_ADDITIONAL_CODE, SPIRIT)

    def test_load_report(self) -> None:
        r = UK.report
        assert r is not None
        assert (r.source, r.rows, r.lines, r.rates, r.evaluable) == ("uk_2207100090.json", 55, 1, 46, 42)
        assert dict(r.cannot_assess) == {R_ADDITIONAL_CODE: 2, R_REMEDY: 2}
        assert dict(r.notes) == {
            "supplementary unit (the line's units)": 1,
            "not applied: measure type 305 (Value added tax)": 1,
            "not applied: measure type 306 (Excises)": 1,
            "not applied: measure type 143 (Preferential tariff quota)": 3,
            "not applied: measure type 750 (Import control of organic products)": 1,
            "not applied: measure type 728 (Import control on luxury goods)": 1,
            "not applied: measure type 465 (Restriction on entry into free circulation)": 1,
            "flagged for its origins, not applied: measure type 695 (Additional duties)": 2,
            "export measures (not read)": 2}
        # every import measure is accounted for: a rate, a note, or the units
        assert r.rows == r.rates + sum(n for k, n in r.notes.items()
                                       if k.startswith("not applied") or k.startswith("supplementary"))
        assert r.syntax_errors == []


class TestXiServiceResponse:
    def test_third_country_duty_in_euro(self) -> None:
        base = [m for m in XI.measures(RICE) if m.kind == "base"]
        assert [(m.text, m.valid_from, m.valid_to) for m in base] == [("7.70 %", dt.date(2000, 7, 1), None)]
        assert rate(XI, RICE, "CN", "2022-06-01") == AdValorem(Fraction("7.7"))
        assert base[0].source == "UK Trade Tariff API xi_1006101000.json, measure 2057879"

    def test_singapore_preference_ends_after_its_last_day(self) -> None:
        sg = measure(XI, RICE, "142 SG")
        # effective_end_date 2022-11-20T00:00:00: the last day in force is 20 November 2022
        assert (sg.text, sg.valid_from, sg.valid_to) == ("1.90 %", dt.date(2021, 11, 21), dt.date(2022, 11, 21))
        assert rate(XI, RICE, "SG", "2022-11-20") == AdValorem(Fraction("1.9"))
        assert rate(XI, RICE, "SG", "2022-11-21") == AdValorem(Fraction("7.7"))

    def test_excluded_country_is_not_in_the_preference(self) -> None:
        cariforum = measure(XI, RICE, "142 1033")
        assert "JM" in cariforum.origins and "HT" not in cariforum.origins and len(cariforum.origins) == 14

    def test_customs_union_duty_is_an_origin_measure(self) -> None:
        sm = measure(XI, RICE, "106 SM")
        assert (sm.kind, sm.origins, sm.text) == ("origin", frozenset({"SM"}), "0.00 %")

    def test_load_report(self) -> None:
        r = XI.report
        assert r is not None
        assert (r.rows, r.lines, r.rates, r.evaluable, dict(r.cannot_assess)) == (46, 1, 41, 41, {})
        assert {k: dict(v) for k, v in r.columns.items()} == {
            "measure type 103 (Third country duty)": {"rates": 1, "evaluable": 1},
            "measure type 142 (Tariff preference)": {"rates": 39, "evaluable": 39},
            "measure type 106 (Customs Union Duty)": {"rates": 1, "evaluable": 1}}
        assert r.notes["not applied: measure type VTZ (VAT zero rate)"] == 1
        assert r.notes["duty measures with document conditions (read as met)"] == 1  # 3620563: proof of origin


class TestMalformedResponses:
    def write(self, tmp_path: Path, doc: Any, name: str = "bad.json") -> str:
        p = tmp_path / name
        p.write_text(doc if isinstance(doc, str) else json.dumps(doc))
        return str(p)

    def test_not_json(self, tmp_path: Path) -> None:
        with pytest.raises(TariffError, match=r"bad\.json: not JSON"):
            Tariff.from_uk_trade_tariff_json(self.write(tmp_path, "{\"data\": "))

    def test_no_data_or_included(self, tmp_path: Path) -> None:
        with pytest.raises(TariffError, match="needs 'data' and 'included'"):
            Tariff.from_uk_trade_tariff_json(self.write(tmp_path, {"data": {}}))

    def test_code_not_ten_digits(self, tmp_path: Path) -> None:
        doc = json.loads(XI_FILE.read_text())
        doc["data"]["attributes"]["goods_nomenclature_item_id"] = "1006.10"
        with pytest.raises(TariffError, match="goods_nomenclature_item_id must be 10 digits, got '1006.10'"):
            Tariff.from_uk_trade_tariff_json(self.write(tmp_path, doc))

    def test_no_import_measures(self, tmp_path: Path) -> None:
        doc = json.loads(XI_FILE.read_text())
        del doc["data"]["relationships"]["import_measures"]
        with pytest.raises(TariffError, match="commodity 1006101000 has no import_measures"):
            Tariff.from_uk_trade_tariff_json(self.write(tmp_path, doc))

    def test_missing_included_object_is_named(self, tmp_path: Path) -> None:
        doc = json.loads(XI_FILE.read_text())
        doc["included"] = [o for o in doc["included"] if o["id"] != "2057879-duty_expression"]
        with pytest.raises(TariffError, match="measure 2057879 of 1006101000 refers to duty_expression "
                                              "'2057879-duty_expression', which is not in 'included'"):
            Tariff.from_uk_trade_tariff_json(self.write(tmp_path, doc))

    def included(self, doc: dict[str, Any], kind: str, ident: str) -> dict[str, Any]:
        return next(o for o in doc["included"] if (o["type"], o["id"]) == (kind, ident))

    def test_group_without_members(self, tmp_path: Path) -> None:
        doc = json.loads(XI_FILE.read_text())
        del self.included(doc, "geographical_area", "1033")["relationships"]
        with pytest.raises(TariffError, match="measure 3165873 of 1006101000: geographical area 1033 has no "
                                              "member countries"):
            Tariff.from_uk_trade_tariff_json(self.write(tmp_path, doc))

    def test_bad_date(self, tmp_path: Path) -> None:
        doc = json.loads(XI_FILE.read_text())
        self.included(doc, "measure", "2057879")["attributes"]["effective_start_date"] = "1 July 2000"
        with pytest.raises(TariffError, match="measure 2057879 of 1006101000: effective_start_date must be an "
                                              "ISO date, got '1 July 2000'"):
            Tariff.from_uk_trade_tariff_json(self.write(tmp_path, doc))

    def test_same_commodity_twice(self) -> None:
        with pytest.raises(TariffError, match="commodity 1006101000 was already loaded from"):
            Tariff.from_uk_trade_tariff_json([XI_FILE, XI_FILE], currency="EUR")

    def test_duty_stated_in_a_condition_is_cannot_assess(self, tmp_path: Path) -> None:
        # a condition that carries its own duty (as entry prices do) makes the measure CannotAssess
        doc = json.loads(XI_FILE.read_text())
        for ref in self.included(doc, "measure", "3620563")["relationships"]["measure_conditions"]["data"]:
            self.included(doc, "measure_condition", ref["id"])["attributes"]["duty_expression"] = "0.00 %"
        t = Tariff.from_uk_trade_tariff_json(self.write(tmp_path, doc), currency="EUR")
        assert measure(t, RICE, "142 1006").expr == CannotAssess(R_CONDITIONAL, RICE)


def test_several_responses_make_one_tariff() -> None:
    both = Tariff.from_uk_trade_tariff_json([UK_FILE, XI_FILE])
    assert both.codes() == [RICE, SPIRIT]
    assert both.report is not None and (both.report.rows, both.report.lines) == (55 + 46, 2)


class TestEndToEnd:
    """One assessment per response on 1 June 2022, engine and reference equal."""

    def both(self, items: dict[str, list[Any]], regime: Any, tariff: Tariff) -> Any:
        on = dt.date(2022, 6, 1)
        b = dm.reference.assess(items, regime=regime, tariff=tariff, on=on)
        if dm.NATIVE:
            a = dm.assess(items, regime=regime, tariff=tariff, on=on)
            assert a.equals(b), a.differences(b)
        return b

    def items(self, code: str, origins: list[str], value: str, currency: str, **extra: str) -> dict[str, list[Any]]:
        n = len(origins)
        out = {"consignment": [f"c{i}" for i in range(n)], "hs_code": [code] * n, "value": [value] * n,
               "currency": [currency] * n, "origin": origins, "consignee": [f"p{i}" for i in range(n)],
               "date": ["2022-06-01"] * n}
        out.update({k: [v] * n for k, v in extra.items()})
        return out

    def test_uk_spirits_from_singapore_china_and_russia(self) -> None:
        # GBP 500 of spirit, 250 l, above the GBP 135 relief. SG: 8.00 GBP/hl x 2.5 hl = GBP 20.00,
        # VAT 20% x (500 + 20) = 104.00. CN: additional code unknown; RU: also the 695 duty: not assessable
        res = self.both(self.items(SPIRIT, ["SG", "CN", "RU"], "500", "GBP", volume_l="250"),
                        regimes.get("UK", on=dt.date(2022, 6, 1)), UK)
        assert res["duty"].tolist() == [2000, 0, 0]
        assert res["vat"].tolist()[0] == 10400
        assert [bool(r & CANNOT_ASSESS) for r in res["rule"].tolist()] == [False, True, True]

    def test_northern_ireland_rice_under_the_eu_regime(self) -> None:
        # EUR 1,000 to IE: SG 1.90% = 19.00, CN 7.70% = 77.00, JM (CARIFORUM) 0%; VAT 23% of value + duty
        res = self.both(self.items(RICE, ["SG", "CN", "JM"], "1000", "EUR", destination="IE"),
                        regimes.get("EU", on=dt.date(2022, 6, 1)), XI)
        assert res["duty"].tolist() == [1900, 7700, 0]
        assert res["vat"].tolist() == [23437, 24771, 23000]  # 234.37, 247.71, 230.00
