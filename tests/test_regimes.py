"""The built-in regime registry: every file loads, cites its sources, lists what is unverified,
and `regimes.get(code, on=...)` picks the version in force on each side of every date boundary.

The expected ids below are written from the sources (the date a rule changed), not read from the
files, so that a wrong `valid_from`/`valid_to` in a file fails here.
"""

from __future__ import annotations

import datetime as dt
import warnings

import pytest

import deminimis as dm
from deminimis import regimes
from deminimis.errors import RegimeError

EXPECTED_JURISDICTIONS = {"EU", "UK", "UK-GIFTS", "US", "CA", "CA-CUSMA", "AU", "NZ", "CH", "NO", "JP", "JP-PERSONAL",
                          "CN", "BR", "SG"}


def test_every_listed_jurisdiction_is_available() -> None:
    assert set(regimes.jurisdictions()) == EXPECTED_JURISDICTIONS


@pytest.mark.parametrize("entry", regimes.available(), ids=lambda e: e["id"])
def test_every_builtin_regime_is_dated_cited_and_lists_unverified(entry: dict) -> None:
    r = regimes.get(entry["id"])
    assert r.id == entry["id"]
    assert r.valid_from is not None, "every built-in regime says when it starts"
    assert r.id == f"{r.jurisdiction}-{r.valid_from.date().isoformat()}"
    assert len(r.sources) >= 2 and all(len(s) > 20 for s in r.sources)
    assert len(r.unverified) >= 1, "every regime says which parameters are not checked against an official text"
    assert r.name and r.notes
    assert entry["currency"] == r.currency and entry["valuation"] == r.valuation


@pytest.mark.parametrize("jur", sorted(EXPECTED_JURISDICTIONS))
def test_versions_of_a_jurisdiction_are_contiguous(jur: str) -> None:
    versions = sorted((regimes.get(e["id"]) for e in regimes.available(jur)), key=lambda r: r.valid_from)
    for a, b in zip(versions, versions[1:]):
        assert a.valid_to == b.valid_from, f"gap or overlap between {a.id} and {b.id}"


# (jurisdiction, instant asked for, expected regime id); "none" = nothing in force.
# Each boundary is tested on both sides: the last day/minute before and the first day/minute of.
BOUNDARIES = [
    # EU: NL 9% from 2019; DE 16/5% 1 Jul - 31 Dec 2020; e-commerce package 1 Jul 2021 (Reg 2026/382
    # recital 2); EUR 3 duty from 1 Jul 2026 until 1 Jul 2028 (Council press release).
    ("EU", "2018-12-31", "none"),
    ("EU", "2019-01-01", "EU-2019-01-01"),
    ("EU", "2020-06-30", "EU-2019-01-01"),
    ("EU", "2020-07-01", "EU-2020-07-01"),
    # Member-state VAT rates (regimes/data/vat/EU.toml): IE 21% 1 Sep 2020 - 28 Feb 2021 (VAT
    # Consolidation Act s 46), AT/LV books 2022, LU 16% in 2023, EE 22% and CZ books 0% 2024, FI 25.5%
    # 1 Sep 2024, SK 23% 2025, EE 24% 1 Jul 2025, RO 21% 1 Aug 2025, FI/LT books 1 Jan 2026.
    ("EU", "2020-08-31", "EU-2020-07-01"),
    ("EU", "2020-09-01", "EU-2020-09-01"),
    ("EU", "2020-12-31", "EU-2020-09-01"),
    ("EU", "2021-01-01", "EU-2021-01-01"),
    ("EU", "2021-02-28", "EU-2021-01-01"),
    ("EU", "2021-03-01", "EU-2021-03-01"),
    ("EU", "2021-06-30", "EU-2021-03-01"),
    ("EU", "2021-07-01", "EU-2021-07-01"),
    ("EU", "2021-12-31", "EU-2021-07-01"),
    ("EU", "2022-01-01", "EU-2022-01-01"),
    ("EU", "2022-12-31", "EU-2022-01-01"),
    ("EU", "2023-01-01", "EU-2023-01-01"),
    ("EU", "2023-12-31", "EU-2023-01-01"),
    ("EU", "2024-01-01", "EU-2024-01-01"),
    ("EU", "2024-08-31", "EU-2024-01-01"),
    ("EU", "2024-09-01", "EU-2024-09-01"),
    ("EU", "2024-12-31", "EU-2024-09-01"),
    ("EU", "2025-01-01", "EU-2025-01-01"),
    ("EU", "2025-06-30", "EU-2025-01-01"),
    ("EU", "2025-07-01", "EU-2025-07-01"),
    ("EU", "2025-07-31", "EU-2025-07-01"),
    ("EU", "2025-08-01", "EU-2025-08-01"),
    ("EU", "2025-12-31", "EU-2025-08-01"),
    ("EU", "2026-01-01", "EU-2026-01-01"),
    ("EU", "2026-06-30", "EU-2026-01-01"),
    ("EU", "2026-07-01", "EU-2026-07-01"),
    ("EU", "2026-11-28", "EU-2026-07-01"),
    ("EU", "2028-06-30", "EU-2026-07-01"),
    ("EU", "2028-07-01", "none"),
    # UK: from 1 Jan 2021 (end of the transition period).
    ("UK", "2020-12-31", "none"),
    ("UK", "2021-01-01", "UK-2021-01-01"),
    ("UK-GIFTS", "2021-01-01", "UK-GIFTS-2021-01-01"),
    # US: fiscal years from 1 Oct (MPF); CN/HK from 12:01 a.m. EDT 2 May 2025 (EO 14256); all
    # countries from 12:01 a.m. EDT 29 Aug 2025 (EO 14324).
    ("US", "2023-09-30", "none"),
    ("US", "2023-10-01", "US-2023-10-01"),
    ("US", "2024-09-30", "US-2023-10-01"),
    ("US", "2024-10-01", "US-2024-10-01"),
    ("US", "2025-05-02T00:00:59", "US-2024-10-01"),
    ("US", "2025-05-02T00:01:00", "US-2025-05-02"),
    ("US", "2025-08-29T00:00:00", "US-2025-05-02"),
    ("US", "2025-08-29T00:01:00", "US-2025-08-29"),
    ("US", "2025-09-30T23:59:59", "US-2025-08-29"),
    ("US", "2025-10-01", "US-2025-10-01"),
    ("US", "2026-09-30", "US-2025-10-01"),
    ("US", "2026-11-28", "US-2025-10-01"),  # FY2027 notice not found: FY2026 fees carried on (unverified)
    # CA: CUSMA thresholds from 1 Jul 2020 (CBSA CN 20-18).
    ("CA", "2020-06-30", "none"),
    ("CA", "2020-07-01", "CA-2020-07-01"),
    ("CA-CUSMA", "2020-07-01", "CA-CUSMA-2020-07-01"),
    # CA: Nova Scotia HST 15% -> 14% on 1 Apr 2025.
    ("CA", "2025-03-31", "CA-2020-07-01"),
    ("CA", "2025-04-01", "CA-2025-04-01"),
    ("CA-CUSMA", "2025-03-31", "CA-CUSMA-2020-07-01"),
    ("CA-CUSMA", "2025-04-01", "CA-CUSMA-2025-04-01"),
    # AU: LVG from 1 Jul 2018 (LCR 2018/1).
    ("AU", "2018-06-30", "none"),
    ("AU", "2018-07-01", "AU-2018-07-01"),
    # NZ: NZ$60 waiver from 1 Oct 2010; LVG from 1 Dec 2019.
    ("NZ", "2010-09-30", "none"),
    ("NZ", "2010-10-01", "NZ-2010-10-01"),
    ("NZ", "2019-11-30", "NZ-2010-10-01"),
    ("NZ", "2019-12-01", "NZ-2019-12-01"),
    # CH: 7.7/2.5% from 1 Jan 2018, 8.1/2.6% from 1 Jan 2024.
    ("CH", "2017-12-31", "none"),
    ("CH", "2018-01-01", "CH-2018-01-01"),
    ("CH", "2023-12-31", "CH-2018-01-01"),
    ("CH", "2024-01-01", "CH-2024-01-01"),
    # NO: VOEC from 1 Apr 2020; NOK 350 transitional exemption ended 1 Jan 2024.
    ("NO", "2020-03-31", "none"),
    ("NO", "2020-04-01", "NO-2020-04-01"),
    ("NO", "2023-12-31", "NO-2020-04-01"),
    ("NO", "2024-01-01", "NO-2024-01-01"),
    # JP: consumption tax 10% from 1 Oct 2019; reform 1 Apr 2028.
    ("JP", "2019-09-30", "none"),
    ("JP", "2019-10-01", "JP-2019-10-01"),
    ("JP", "2028-03-31", "JP-2019-10-01"),
    ("JP", "2028-04-01", "none"),
    ("JP-PERSONAL", "2019-09-30", "none"),
    ("JP-PERSONAL", "2019-10-01", "JP-PERSONAL-2019-10-01"),
    ("JP-PERSONAL", "2028-03-31", "JP-PERSONAL-2019-10-01"),
    ("JP-PERSONAL", "2028-04-01", "none"),
    # CN: RMB 5,000 / 26,000 from 1 Jan 2019; VAT 13% from 1 Apr 2019.
    ("CN", "2018-12-31", "none"),
    ("CN", "2019-01-01", "CN-2019-01-01"),
    ("CN", "2019-03-31", "CN-2019-01-01"),
    ("CN", "2019-04-01", "CN-2019-04-01"),
    # BR: Remessa Conforme 1 Aug 2023; Law 14.902/2024 from 1 Aug 2024; ICMS 20% from 1 Apr 2025.
    ("BR", "2023-07-31", "none"),
    ("BR", "2023-08-01", "BR-2023-08-01"),
    ("BR", "2024-07-31", "BR-2023-08-01"),
    ("BR", "2024-08-01", "BR-2024-08-01"),
    ("BR", "2025-03-31", "BR-2024-08-01"),
    ("BR", "2025-04-01", "BR-2025-04-01"),
    # SG: GST 7% from 1 Jul 2007; LVG at 8% from 1 Jan 2023; 9% from 1 Jan 2024.
    ("SG", "2007-06-30", "none"),
    ("SG", "2007-07-01", "SG-2007-07-01"),
    ("SG", "2022-12-31", "SG-2007-07-01"),
    ("SG", "2023-01-01", "SG-2023-01-01"),
    ("SG", "2023-12-31", "SG-2023-01-01"),
    ("SG", "2024-01-01", "SG-2024-01-01"),
]


def _on(s: str) -> dt.date | dt.datetime:
    return dt.datetime.fromisoformat(s) if "T" in s else dt.date.fromisoformat(s)


@pytest.mark.parametrize("jur,at,expected", BOUNDARIES, ids=[f"{j}@{a}" for j, a, _ in BOUNDARIES])
def test_get_picks_the_version_in_force(jur: str, at: str, expected: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", regimes.IntraDayChangeWarning)
        if expected == "none":
            with pytest.raises(RegimeError, match="in force"):
                regimes.get(jur, on=_on(at))
        else:
            assert regimes.get(jur, on=_on(at)).id == expected
            assert regimes.get(jur, on=at).id == expected  # ISO strings too


def test_every_version_is_reached_by_the_boundary_table() -> None:
    reached = {e for _, _, e in BOUNDARIES}
    assert {e["id"] for e in regimes.available()} <= reached


def test_a_plain_date_on_a_day_with_an_intra_day_change_warns() -> None:
    """12:01 a.m. EDT on 29 Aug 2025 (EO 14324): the date alone means 00:00, still the old regime."""
    with pytest.warns(regimes.IntraDayChangeWarning, match="US-2025-08-29"):
        assert regimes.get("US", on=dt.date(2025, 8, 29)).id == "US-2025-05-02"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert regimes.get("US", on=dt.datetime(2025, 8, 29, 12, 0)).id == "US-2025-08-29"
        assert regimes.get("EU", on=dt.date(2021, 7, 1)).id == "EU-2021-07-01"  # midnight change: no warning


def test_get_by_id_lowercase_and_errors() -> None:
    assert regimes.get("US-2025-05-02").valid_from == dt.datetime(2025, 5, 2, 0, 1)
    assert regimes.get("eu", on=dt.date(2026, 11, 28)).id == "EU-2026-07-01"
    with pytest.raises(RegimeError, match="no built-in regime 'XX'"):
        regimes.get("XX", on=dt.date(2025, 1, 1))
    with pytest.raises(RegimeError, match="naive"):
        regimes.get("US", on=dt.datetime(2025, 8, 29, 4, 1, tzinfo=dt.timezone.utc))
    with pytest.raises(RegimeError, match="ISO"):
        regimes.get("US", on="29/08/2025")


def test_available_filters_by_jurisdiction() -> None:
    us = regimes.available("us")
    assert [e["id"] for e in us] == ["US-2023-10-01", "US-2024-10-01", "US-2025-05-02", "US-2025-08-29",
                                     "US-2025-10-01"]
    assert all(e["currency"] == "USD" and e["valuation"] == "FOB" for e in us)


def test_a_user_loads_their_own_file_with_the_same_schema(tmp_path) -> None:
    """A copy of a built-in file with a changed threshold loads from a path and from a dict."""
    from importlib import resources
    text = resources.files("deminimis.regimes").joinpath("data", "UK-2021-01-01.toml").read_text()
    mine = text.replace('id = "UK-2021-01-01"', 'id = "MY-UK-200"').replace('threshold = "135"', 'threshold = "200"')
    path = tmp_path / "my.toml"
    path.write_text(mine)
    r = regimes.load(path)
    relief = r.duty_relief[0] if isinstance(r.duty_relief, tuple) else r.duty_relief
    assert r.id == "MY-UK-200" and str(relief.conditions[0].threshold) == "200"
    assert regimes.load(r.to_dict()).content_hash == r.content_hash
    items = {"consignment": ["c"], "hs_code": ["6109100010"], "value": ["180"], "currency": ["GBP"]}
    tariff = dm.Tariff.from_records([{"code": "6109", "duty": "12%"}])
    res = dm.assess(items, regime=r, tariff=tariff, on=dt.date(2026, 1, 1))
    assert res.equals(dm.reference.assess(items, regime=r, tariff=tariff, on=dt.date(2026, 1, 1)))
    assert res["duty"].tolist() == [0]  # GBP 180 <= 200 in the user's variant
    with pytest.raises(RegimeError):
        regimes.load({"id": "bad", "currency": "GBP"})


def test_engine_resolves_a_code_with_an_instant() -> None:
    """assess(regime="US", on=datetime) goes through regimes.get and records the instant."""
    items = {"consignment": ["c"], "hs_code": ["6109100010"], "value": ["100"], "currency": ["USD"],
             "origin": ["CN"], "consignee": ["p"], "date": ["2025-05-02"]}
    tariff = dm.Tariff.from_records([{"code": "6109", "duty": "16.5%"}])
    before = dm.assess(items, regime="US", tariff=tariff, on=dt.datetime(2025, 5, 2, 0, 0))
    after = dm.assess(items, regime="US", tariff=tariff, on=dt.datetime(2025, 5, 2, 0, 1))
    assert before.provenance["regime"] == "US-2024-10-01" and before["duty"].tolist() == [0]
    assert after.provenance["regime"] == "US-2025-05-02" and after["duty"].tolist() == [1650]
    assert after.provenance["assessment_date"] == "2025-05-02T00:01:00"


def test_docs_list_every_builtin_regime() -> None:
    """docs/regimes.md has a row for every built-in regime, with its file's source and unverified counts."""
    from pathlib import Path
    doc = Path(__file__).resolve().parents[1] / "docs" / "regimes.md"
    if not doc.exists():
        pytest.skip("docs not present (installed package)")
    text = doc.read_text(encoding="utf-8")
    import re
    for e in regimes.available():
        row = re.search(r"^\| " + re.escape(e["id"]) + r" \|.*\| (\d+) \| (\d+) \|$", text, re.M)
        assert row, f"docs/regimes.md lacks a row for {e['id']}"
        assert (int(row[1]), int(row[2])) == (e["sources"], e["unverified"]), \
            f"{e['id']}: docs count {row[1]} sources / {row[2]} unverified, " \
            f"the file has {e['sources']} / {e['unverified']}"
