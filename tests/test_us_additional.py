"""US additional duties by origin (src/deminimis/tariff/data/us_additional.toml): hand-computed duties
on the built-in US sample with the chapter 99 measures attached, engine and reference equal; the data
file's citations, dates and quotes; the expansion of "every code except" and "every origin except".

The rates used below, each from the data file:
- HTSUS 6109.10.00 (cotton T-shirts), column 1 General 16.5% (USITC HTS 2026 Rev. 3); Free under
  USMCA (S) for CA and MX;
- CN/HK synthetic opioid duty (EO 14195, 90 FR 9121; EO 14228, 90 FR 11463; EO 14357): 20% from
  4 Mar 2025, 10% from 10 Nov 2025;
- reciprocal duty: 10% (HTSUS 9903.01.25, EO 14257, 90 FR 15041); CN 125% from 10 Apr to 14 May 2025
  (EO 14266, 90 FR 15625; EO 14298, 90 FR 21831); Viet Nam 20% from 7 Aug 2025 (HTSUS 9903.02.69,
  EO 14326, 90 FR 37963);
- Canada 35% on goods not qualifying for USMCA from 1 Aug 2025 (HTSUS 9903.01.10, EO 14325, 90 FR 37957);
- Section 301 List 4A, 7.5% (HTSUS 9903.88.15, 85 FR 3741) on 6109.10.00 of China;
- every IEEPA duty ends for goods entered from 24 Feb 2026 (CBP CSMS #67834313).
"""

from __future__ import annotations

import csv
import datetime as dt
import random
import re
from pathlib import Path
from typing import Any

import pytest

import deminimis as dm
from deminimis import RULES, regimes
from deminimis.errors import TariffError
from deminimis.tariff import AdValorem, CannotAssess, Tariff, attach_us_additional, sample, us_additional_duties
from deminimis.tariff.additional import CHAPTERS, complement, us_additional_data

pytestmark = pytest.mark.pure

BIT = {name: bit for bit, name in RULES.items()}
US_ADD = sample("US", additional=True)
TSHIRT = "6109100012"
#: the chapter 99 rows the data quotes, copied unchanged from the USITC HTS 2026 Rev. 3 CSV
#: (hts.usitc.gov, "Export: CSV"): header and the rows of every heading the data names
HTS_CSV = (Path(__file__).resolve().parent / "data" / "official" / "us_hts_chapter99"
           / "hts_2026_r3_chapter99_extract.csv")  # not under us_hts/: the loader tests read every file there


def both(items: dict[str, list[Any]], on: Any, tariff: Tariff = US_ADD) -> dm.Assessment:
    r = regimes.get("US", on=on)
    b = dm.reference.assess(items, regime=r, tariff=tariff, on=on)
    if dm.NATIVE:
        a = dm.assess(items, regime=r, tariff=tariff, on=on)
        assert a.equals(b), a.differences(b)
    return b


def items(origins: list[str], day: str, code: str = TSHIRT, value: str = "40") -> dict[str, list[Any]]:
    n = len(origins)
    return {"consignment": [f"c{i}" for i in range(n)], "hs_code": [code] * n, "value": [value] * n,
            "currency": ["USD"] * n, "origin": origins, "consignee": [f"p{i}" for i in range(n)], "date": [day] * n}


def rate(code: str, origin: str, day: str, tariff: Tariff = US_ADD) -> Any:
    found = tariff.lookup(code, origin, on=dt.date.fromisoformat(day))
    assert found is not None
    return found[0]


class TestHandComputedDuties:
    """A USD 40 cotton T-shirt, no de minimis (US-2025-08-29 and later): value 40 in whole dollars."""

    def test_china_on_15_september_2025(self) -> None:
        # 16.5 (column 1) + 20 (fentanyl) + 10 (9903.01.25) + 7.5 (9903.88.15) = 54%; 54% x 40 = 21.60
        assert both(items(["CN"], "2025-09-15"), dt.date(2025, 9, 15))["duty"].tolist() == [2160]

    def test_china_after_the_fentanyl_cut_of_10_november_2025(self) -> None:
        # 16.5 + 10 + 10 + 7.5 = 44%; x 40 = 17.60; the day before: 54%
        assert both(items(["CN"], "2025-11-10"), dt.date(2025, 11, 10))["duty"].tolist() == [1760]
        assert rate(TSHIRT, "CN", "2025-11-09") == AdValorem(54)

    def test_china_in_the_125_percent_weeks_after_the_2_may_suspension(self) -> None:
        # US-2025-05-02 (CN not relieved): 16.5 + 20 + 125 (9903.01.63) + 7.5 = 169%; x 40 = 67.60;
        # from 14 May 2025 the reciprocal duty is 10%: 54%
        assert both(items(["CN"], "2025-05-05"), dt.datetime(2025, 5, 5, 12))["duty"].tolist() == [6760]
        assert rate(TSHIRT, "CN", "2025-05-13") == AdValorem(169)
        assert rate(TSHIRT, "CN", "2025-05-14") == AdValorem(54)

    def test_china_after_the_ieepa_duties_ended_on_24_february_2026(self) -> None:
        # Section 301 remains: 16.5 + 7.5 = 24%; x 40 = 9.60; on 23 February: 44%
        assert both(items(["CN"], "2026-02-24"), dt.date(2026, 2, 24))["duty"].tolist() == [960]
        assert rate(TSHIRT, "CN", "2026-02-23") == AdValorem(44)

    def test_hong_kong_pays_ieepa_but_not_section_301(self) -> None:
        # 16.5 + 20 + 10 = 46.5%; x 40 = 18.60 (Section 301 covers products of China only)
        assert both(items(["HK"], "2025-09-15"), dt.date(2025, 9, 15))["duty"].tolist() == [1860]

    def test_viet_nam_before_and_after_the_country_rate_of_7_august_2025(self) -> None:
        # 16.5 + 20 (9903.02.69) = 36.5%; x 40 = 14.60; on 6 August: 16.5 + 10 = 26.5%
        assert both(items(["VN"], "2025-09-15"), dt.date(2025, 9, 15))["duty"].tolist() == [1460]
        assert rate(TSHIRT, "VN", "2025-08-06") == AdValorem(26.5)
        assert rate(TSHIRT, "VN", "2025-08-07") == AdValorem(36.5)

    def test_canada_under_usmca_and_not(self) -> None:
        # USMCA (S): Free, no border duty, no reciprocal duty (9903.01.26): 0.00
        assert both(items(["CA", "MX"], "2025-09-15"), dt.date(2025, 9, 15))["duty"].tolist() == [0, 0]
        # not qualifying: Free (the preference the sample maps to CA) + 35% (9903.01.10) = 14.00;
        # before 1 August 2025: 25% = 10.00
        non = attach_us_additional(Tariff.from_records(sample("US").to_records()), usmca=False)
        assert both(items(["CA"], "2025-09-15"), dt.date(2025, 9, 15), non)["duty"].tolist() == [1400]
        assert rate(TSHIRT, "CA", "2025-07-31", non) == AdValorem(25)
        assert rate(TSHIRT, "MX", "2025-09-15", non) == AdValorem(25)

    def test_one_batch_of_several_origins(self) -> None:
        res = both(items(["CN", "VN", "HK", "GB"], "2025-09-15"), dt.date(2025, 9, 15))
        # GB: 16.5 + 10 (9903.02.66) = 26.5%; x 40 = 10.60
        assert res["duty"].tolist() == [2160, 1460, 1860, 1060]

    def test_books_are_informational_materials_but_not_outside_section_301(self) -> None:
        # 4901.99.00 Free; IEEPA exempts informational materials (50 U.S.C. 1702(b)(3));
        # Section 301 List 4A 7.5% (unverified membership) x 40 = 3.00
        assert both(items(["CN"], "2025-09-15", "4901990000"), dt.date(2025, 9, 15))["duty"].tolist() == [300]

    def test_laptops_are_outside_the_reciprocal_duty_not_the_fentanyl_duty(self) -> None:
        # 8471.30.01 Free; reciprocal excepted (Memorandum of 11 April 2025); fentanyl 20% x 40 = 8.00
        assert both(items(["CN"], "2025-09-15", "8471300100"), dt.date(2025, 9, 15))["duty"].tolist() == [800]

    def test_what_is_not_encoded_is_reported_never_zero(self) -> None:
        res = both(items(["DE", "VN"], "2025-09-15", "7323930000"), dt.date(2025, 9, 15))
        assert [bool(b & BIT["cannot_assess"]) for b in res["rule"]] == [True, True]
        assert isinstance(rate(TSHIRT, "DE", "2025-09-15"), CannotAssess)  # EU: 15% inclusive
        assert rate(TSHIRT, "DE", "2025-08-06") == AdValorem(26.5)         # before: the 10% baseline

    def test_no_origin_means_no_additional_duty(self) -> None:
        assert rate(TSHIRT, "", "2025-09-15") == AdValorem(16.5)

    def test_only_the_us_sample_has_additional_duties(self) -> None:
        with pytest.raises(KeyError):
            sample("EU", additional=True)


class TestTheData:
    CITES = re.compile(r"https?://|HTSUS 99\d\d\.\d\d\.\d\d|\bEO \d{5}\b|\b\d+ FR \d+\b|CSMS #\d+|U\.S\.C\. \d+")

    def test_every_measure_and_every_record_cites_a_url_or_a_legal_reference(self) -> None:
        weak = [m["heading"] for m in us_additional_data()["measure"] if not self.CITES.search(m["source"])]
        assert not weak
        records = us_additional_duties(usmca=False)
        assert records and all(self.CITES.search(r["source"]) for r in records)

    def test_the_records_are_additional_measures_of_the_tariff_schema(self) -> None:
        records = us_additional_duties()
        t = Tariff.from_records(records)
        assert {m.kind for m in t.measures()} == {"additional"}
        assert len(list(t.measures())) == len(records)
        assert not t.report.syntax_errors

    def test_dates_are_ordered_and_a_heading_never_overlaps_itself_for_an_origin(self) -> None:
        seen: dict[tuple[str, str, str], list[tuple[dt.date, dt.date]]] = {}
        for m in us_additional_data()["measure"]:
            end = m.get("valid_to", dt.date.max)
            assert m["valid_from"] < end, m["heading"]
            for o in (m["origins"] if isinstance(m["origins"], list) else [m["origins"]]):
                key = (m["heading"], o, m.get("usmca", ""))
                for a, b in seen.get(key, []):
                    assert end <= a or b <= m["valid_from"], (m["heading"], o)
                seen.setdefault(key, []).append((m["valid_from"], end))

    def test_origin_groups_are_iso_codes_and_exclude_the_customs_territory(self) -> None:
        groups = us_additional_data()["origins"]
        every = set(groups["every"])
        assert len(every) == 247 and not {"US", "PR"} & every
        for name, codes in groups.items():
            assert set(codes) <= every, name
        assert set(groups["eu"]) <= set(groups["annex_i"]) and len(groups["eu"]) == 27

    def test_every_country_rate_of_august_2025_is_in_annex_i(self) -> None:
        annex = set(us_additional_data()["origins"]["annex_i"])
        for m in us_additional_data()["measure"]:
            if m["heading"].startswith("9903.02.") and isinstance(m["origins"], list):
                assert set(m["origins"]) <= annex, m["heading"]

    def test_each_quoted_duty_is_the_hts_line(self) -> None:
        with open(HTS_CSV, encoding="utf-8-sig", newline="") as f:
            general = {r["HTS Number"]: r["General Rate of Duty"] for r in csv.DictReader(f)}
        checked = 0
        for m in us_additional_data()["measure"]:
            if m["duty"].startswith("CANNOT_ASSESS[") or not m.get("quoted", True):
                continue  # not encoded, or a rate the 2026 line no longer prints (cited from its EO)
            assert general[m["heading"]] == m["duty"], m["heading"]
            checked += 1
        assert checked >= 70


class TestExpansion:
    def test_complement_covers_exactly_the_codes_not_removed(self) -> None:
        removed = frozenset({"8471", "847330", "85176200", "4901"})
        cover = [c for ch in CHAPTERS for c in complement(ch, removed)]
        rng = random.Random(7)
        for _ in range(3000):
            code = rng.choice(["8471", "8473", "8517", "4901", "4902", "6109", "85176200", "847330"]) + \
                "".join(rng.choice("0123456789") for _ in range(6))
            code = code[:10]  # a full ten-digit code: a shorter one can be partly removed
            under_removed = any(code.startswith(r) for r in removed)
            covered = [c for c in cover if code.startswith(c)]
            assert len(covered) == (0 if under_removed else 1), code
        assert complement("61", removed) == ["61"]

    def test_a_named_scope_leaves_out_chapters_98_and_99(self) -> None:
        t = Tariff.from_records(us_additional_duties())
        assert not [m.code for m in t.measures() if m.code[:2] in ("77", "98", "99")]

    def test_bad_data_is_an_error_naming_the_measure(self) -> None:
        from deminimis.tariff import additional
        with pytest.raises(TariffError, match="unknown origin"):
            additional._origins("every-one", us_additional_data()["origins"])
        with pytest.raises(TariffError, match="unknown scope"):
            additional._scope("all", us_additional_data()["scopes"])
