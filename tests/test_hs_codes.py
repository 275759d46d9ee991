"""Codes as e-commerce data gives them: item codes checked against the HS nomenclature of the tariff's
edition, and the `ambiguous` strategy for a code that covers tariff lines with different duties
(docs/semantics.md sections 1 and 5, docs/tariffs.md "HS editions and ambiguous codes").

Every figure below is computed by hand from the sample tariffs' published rates."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

import deminimis as dm
from deminimis.cli import main
from deminimis.errors import AmbiguousCodeError, InvalidValueError, TariffError, UnknownCodeError
from deminimis.reference.lookup import HIGHEST_INCOMPARABLE, HIGHEST_UNKNOWN, NaiveTariff
from deminimis.tariff import nomenclature
from deminimis.tariff.report import R_AMBIGUOUS
from deminimis.tariff.report import R_HIGHEST_INCOMPARABLE as ENGINE_INCOMPARABLE

ON = dt.date(2026, 11, 28)
ENGINES = {"engine": dm.assess, "reference": dm.reference.assess}
PLAIN_EUR = {"id": "plain-eur", "currency": "EUR", "valuation": "CIF", "vat": {"rates": {"DE": {"standard": "19"}}}}
PLAIN_USD = {"id": "plain-usd", "currency": "USD", "valuation": "FOB", "vat": {"rates": {"US": {"standard": "0"}}}}
PLAIN = {"EU": PLAIN_EUR, "US": PLAIN_USD,
         "UK": {"id": "plain-gbp", "currency": "GBP", "valuation": "CIF", "vat": {"rates": {"GB": {"standard": "20"}}}}}


def batch(codes: list[str], values: list[str], currency: str, **more: list[Any]) -> dict[str, list[Any]]:
    """One consignment per item."""
    return {"consignment": [f"c{i}" for i in range(len(codes))], "hs_code": codes, "value": values,
            "currency": [currency] * len(codes), **more}


# ------------------------------------------------------------------ the nomenclature


class TestNomenclature:
    def test_each_edition_ships_whole(self) -> None:
        assert len(nomenclature.subheadings("2017")) == 5387
        assert len(nomenclature.subheadings("2022")) == 5612
        assert all(len(c) == 6 and c.isdigit() for e in nomenclature.EDITIONS for c in nomenclature.subheadings(e))

    @pytest.mark.parametrize("code", ["610910", "6109100010", "6109", "61091", "490199", "9503000000"])
    @pytest.mark.parametrize("edition", ["2017", "2022"])
    def test_subheadings_of_both_editions(self, code: str, edition: str) -> None:
        assert nomenclature.code_problem(code, edition) is None

    def test_a_subheading_split_in_2022(self) -> None:
        # HS 2022 split 8517.12 (telephones for cellular networks) into 8517.13 and 8517.14
        assert nomenclature.code_problem("8517130000", "2022") is None
        assert nomenclature.code_problem("8517120000", "2017") is None
        assert nomenclature.code_problem("8517120000", "2022") == \
            "851712 is not a subheading of HS 2022 (an HS 2017 code; the tariff is HS 2022)"
        assert nomenclature.code_problem("851713", "2017") == \
            "851713 is not a subheading of HS 2017 (an HS 2022 code; the tariff is HS 2017)"

    @pytest.mark.parametrize("code", ["6109990000", "7701000000", "7700", "010110"])
    def test_codes_of_no_edition_have_no_hint(self, code: str) -> None:
        for edition in nomenclature.EDITIONS:
            assert nomenclature.code_problem(code, edition) == \
                f"{code[:6]} is not a subheading of HS {edition}, the tariff's edition"

    @pytest.mark.parametrize("code", ["9801001000", "9903880300", "9999999999"])
    def test_the_national_chapters_are_not_checked(self, code: str) -> None:
        assert nomenclature.code_problem(code, "2022") is None

    def test_the_lists_are_derived_from_the_level_6_rows(self, tmp_path: Any) -> None:
        (tmp_path / "harmonized-system.csv").write_text(
            "\ufeffsection,hscode,description,parent,level\nI,01,Animals,TOTAL,2\nI,0101,Horses,01,4\n"
            "I,010121,Horses; breeding,0101,6\nTOTAL,999999,Commodities not specified,9999,6\n"
            "TOTAL,TOTAL,Total,TOTAL,5\n", encoding="utf-8")
        assert nomenclature.derive(str(tmp_path), "2022") == ["010121"]


class TestTariffEdition:
    def test_a_tariff_records_its_edition(self) -> None:
        t = dm.Tariff.from_records([{"code": "6109", "duty": "12%"}])
        plain = t.content_hash
        assert t.hs_edition is None
        t.hs_edition = "2022"
        assert t.hs_edition == "2022" and t.content_hash != plain
        t.hs_edition = "2017"
        assert t.content_hash not in (plain, dm.Tariff({"6109": "12%"}, hs_edition="2022").content_hash)
        t.hs_edition = None
        assert t.content_hash == plain  # a tariff without an edition keeps the hash it always had

    @pytest.mark.parametrize("edition", ["2012", 2022, ""])
    def test_an_unknown_edition_is_refused(self, edition: Any) -> None:
        with pytest.raises(TariffError, match="hs_edition must be one of"):
            dm.Tariff(hs_edition=edition)

    def test_the_samples_know_their_edition(self) -> None:
        assert [dm.tariff.sample(j).hs_edition for j in ("EU", "UK", "US")] == ["2017", "2017", "2022"]

    @pytest.mark.parametrize("name", sorted(ENGINES))
    def test_the_provenance_names_the_edition(self, name: str) -> None:
        items = batch(["6109100010"], ["10"], "EUR")
        for edition in (None, "2017"):
            t = dm.Tariff({"6109": "12%"}, hs_edition=edition)
            result = ENGINES[name](items, regime=dm.Regime.from_dict(PLAIN_EUR), tariff=t, on=ON)
            assert result.provenance["hs_edition"] == edition
            assert result.provenance["tariff_hash"] == t.content_hash


# ------------------------------------------------------------------ item codes against the edition


class TestItemCodes:
    @pytest.mark.parametrize("name", sorted(ENGINES))
    def test_an_older_edition_code_is_refused_with_a_hint(self, name: str) -> None:
        items = batch(["6109100010", "8517120000"], ["10", "20"], "USD")
        with pytest.raises(InvalidValueError) as info:
            ENGINES[name](items, regime=dm.Regime.from_dict(PLAIN_USD), tariff=dm.tariff.sample("US"), on=ON)
        e = info.value
        assert (type(e), e.row, e.column, e.value) == (InvalidValueError, 1, "hs_code", "8517120000")
        assert "(an HS 2017 code; the tariff is HS 2022)" in str(e)

    @pytest.mark.parametrize("name", sorted(ENGINES))
    def test_flagged_as_a_row_error(self, name: str) -> None:
        items = batch(["6109100010", "7701000000", "8517120000"], ["10", "20", "30"], "USD")
        result = ENGINES[name](items, regime=dm.Regime.from_dict(PLAIN_USD), tariff=dm.tariff.sample("US"), on=ON,
                               errors="flag")
        assert [(e.row, e.column, e.error) for e in result.errors] == \
            [(1, "hs_code", "InvalidValueError"), (2, "hs_code", "InvalidValueError")]
        assert list(result.status) == [0, 1, 1]
        assert int(result.items["duty"][0]) == 165  # 6109.10.00.10: 16.5% of 10.00 USD

    @pytest.mark.parametrize("name", sorted(ENGINES))
    def test_without_an_edition_nothing_is_checked(self, name: str) -> None:
        t = dm.Tariff({"8517": "0%", "77": "5%"})
        items = batch(["8517120000", "7701000000"], ["10", "20"], "EUR")
        result = ENGINES[name](items, regime=dm.Regime.from_dict(PLAIN_EUR), tariff=t, on=ON)
        assert list(result.items["duty"]) == [0, 100]

    @pytest.mark.parametrize("name", sorted(ENGINES))
    def test_a_valid_code_without_a_line_is_still_unknown(self, name: str) -> None:
        items = batch(["0101210000"], ["10"], "USD")
        with pytest.raises(UnknownCodeError) as info:
            ENGINES[name](items, regime=dm.Regime.from_dict(PLAIN_USD), tariff=dm.tariff.sample("US"), on=ON)
        assert type(info.value) is UnknownCodeError


# ------------------------------------------------------------------ ambiguous codes


def eu(mode: str, name: str, codes: list[str], values: list[str], **kw: Any) -> dm.Assessment:
    return ENGINES[name](batch(codes, values, "EUR"), regime=dm.Regime.from_dict(PLAIN_EUR),
                         tariff=dm.tariff.sample("EU"), on=ON, ambiguous=mode, **kw)


def us(mode: str, name: str, codes: list[str], values: list[str], pairs: list[int], **kw: Any) -> dm.Assessment:
    return ENGINES[name](batch(codes, values, "USD", quantity=pairs, net_mass_kg=["1"] * len(codes)),
                         regime=dm.Regime.from_dict(PLAIN_USD), tariff=dm.tariff.sample("US"), on=ON,
                         ambiguous=mode, **kw)




def cannot_assess(result: dm.Assessment, i: int) -> bool:
    from deminimis.assessment import CANNOT_ASSESS
    return bool(result.items["rule"][i] & CANNOT_ASSESS)


class TestAmbiguous:
    """EU 4202.22 (handbags, outer surface of plastic sheeting or textiles): 4202.22.10 9.7%, 4202.22.90 3.7%.
    US 6402.99 (other footwear, rubber or plastics) covers 6402.99.16 and 6402.99.79 "0.90 USD/pair + 37.5%"
    and 6402.99.69 48%, among lower ad valorem lines."""

    @pytest.mark.parametrize("name", sorted(ENGINES))
    def test_flag_is_todays_behaviour(self, name: str) -> None:
        result = eu("flag", name, ["420222", "4202221000"], ["200.00", "200.00"])
        assert list(result.items["duty"]) == [0, 1940]
        assert cannot_assess(result, 0) and not cannot_assess(result, 1)
        assert result.summary()["not_assessed_reasons"] == {R_AMBIGUOUS: 1}
        assert result.provenance["ambiguous"] == "flag"

    @pytest.mark.parametrize("name", sorted(ENGINES))
    def test_refuse_names_the_row_the_code_and_the_lines(self, name: str) -> None:
        with pytest.raises(AmbiguousCodeError) as info:
            eu("refuse", name, ["4202221000", "420222"], ["200.00", "200.00"])
        e = info.value
        assert (e.row, e.column, e.value) == (1, "hs_code", "420222")
        assert "42022210 (9.7%), 42022290 (3.7%)" in str(e) and "ambiguous='refuse'" in str(e)

    @pytest.mark.parametrize("name", sorted(ENGINES))
    def test_refuse_flagged(self, name: str) -> None:
        result = eu("refuse", name, ["4202221000", "420222", "4202"], ["200.00", "200.00", "50.00"], errors="flag")
        assert [(e.row, e.column, e.error) for e in result.errors] == \
            [(1, "hs_code", "AmbiguousCodeError"), (2, "hs_code", "AmbiguousCodeError")]
        assert list(result.items["duty"]) == [1940, 0, 0] and result.provenance["ambiguous"] == "refuse"

    @pytest.mark.parametrize("name", sorted(ENGINES))
    def test_highest_ad_valorem(self, name: str) -> None:
        result = eu("highest", name, ["420222", "4202", "4202229000"], ["200.00", "33.33", "200.00"])
        # 9.7% of 200.00 = 19.40; 4202 covers 4202 21/22/31/32/92 lines, the highest 9.7%: 3.233 -> 3.23
        assert list(result.items["duty"]) == [1940, 323, 740]
        assert not any(cannot_assess(result, i) for i in range(3))
        assert result.provenance["ambiguous"] == "highest"

    @pytest.mark.parametrize("name", sorted(ENGINES))
    def test_highest_of_two_lines_that_depend_on_the_item(self, name: str) -> None:
        # 6402.99: max(0.90 USD/pair + 37.5%, 48%) on the item: 2 pairs at 20.00 USD: max(1.80 + 7.50, 9.60)
        # = 9.60; 2 pairs at 2.00 USD: max(1.80 + 0.75, 0.96) = 2.55
        result = us("highest", name, ["640299", "640299"], ["20.00", "2.00"], [2, 2])
        assert list(result.items["duty"]) == [960, 255]

    @pytest.mark.parametrize("name", sorted(ENGINES))
    def test_highest_not_known_without_the_item_is_flagged(self, name: str) -> None:
        # 6505.00: 13 lines, ad valorem, per kg and per article: no one or two of them is the highest
        # 9102.11: every line rates named components (case, strap, battery): none can be assessed
        result = us("highest", name, ["650500", "910211", "611020"], ["10.00", "10.00", "10.00"], [1, 1, 1])
        assert [cannot_assess(result, i) for i in range(3)] == [True, True, False]
        assert int(result.items["duty"][2]) == 165  # 6110.20: 5% or 16.5%: 16.5% of 10.00
        assert result.summary()["not_assessed_reasons"] == {HIGHEST_INCOMPARABLE: 1, HIGHEST_UNKNOWN: 1}

    def test_the_reasons_are_the_same_words_on_both_sides(self) -> None:
        assert HIGHEST_INCOMPARABLE == ENGINE_INCOMPARABLE

    @pytest.mark.parametrize("mode", ["flag", "refuse", "highest"])
    @pytest.mark.parametrize("jurisdiction", ["EU", "US", "UK"])
    def test_engine_equals_reference_on_every_six_digit_code_of_the_samples(self, mode: str,
                                                                            jurisdiction: str) -> None:
        t = dm.tariff.sample(jurisdiction)
        codes = sorted({c[:n] for c in t.codes() for n in (4, 6) if len(c) >= n})
        regime = dm.Regime.from_dict(PLAIN[jurisdiction])
        kw = dict(regime=regime, tariff=t, on=ON, ambiguous=mode, errors="flag")
        items = batch(codes, ["123.45"] * len(codes), regime.currency, quantity=[3] * len(codes),
                      net_mass_kg=["0.75"] * len(codes))
        fast, slow = dm.assess(items, **kw), dm.reference.assess(items, **kw)
        assert fast.differences(slow) == []
        assert [(e.row, e.error) for e in fast.errors] == [(e.row, e.error) for e in slow.errors]
        refused = {e.row for e in fast.errors if e.error == "AmbiguousCodeError"}
        flagged = {i for i in range(len(codes)) if cannot_assess(fast, i)}
        if mode == "refuse":
            assert refused and not flagged & refused
        else:
            assert not refused
        naive = NaiveTariff(t, mode)
        for code in codes:
            found = t.lookup(code, "", on=ON, ambiguous=mode)
            assert naive.duty(code, "", ON) == (None if found is None else found[0]), code

    def test_highest_assesses_what_flag_could_not(self) -> None:
        t = dm.tariff.sample("US")
        codes = sorted({c[:6] for c in t.codes() if len(c) >= 6})
        items = batch(codes, ["50.00"] * len(codes), "USD", quantity=[1] * len(codes), net_mass_kg=["1"] * len(codes))
        kw = dict(regime=dm.Regime.from_dict(PLAIN_USD), tariff=t, on=ON)
        flag, high = dm.assess(items, **kw), dm.assess(items, ambiguous="highest", **kw)
        n_flag = sum(cannot_assess(flag, i) for i in range(len(codes)))
        n_high = sum(cannot_assess(high, i) for i in range(len(codes)))
        assert n_high < n_flag
        assert all(int(high.items["duty"][i]) >= int(flag.items["duty"][i]) for i in range(len(codes)))

    @pytest.mark.parametrize("name", sorted(ENGINES))
    def test_explain_says_what_was_chosen(self, name: str) -> None:
        result = eu("highest", name, ["420222"], ["200.00"])
        text = result.explain(0)
        assert "ambiguous='highest': code 420222 covers 42022210 (9.7%), 42022290 (3.7%); the highest: 9.7%" in text
        assert "-> 1940" in text

    def test_explain_of_a_flagged_highest_gives_its_reason(self) -> None:
        result = us("highest", "engine", ["650500"], ["10.00"], [1])
        assert f"duty NOT assessed: {HIGHEST_INCOMPARABLE}" in result.explain(0)

    @pytest.mark.parametrize("name", sorted(ENGINES))
    def test_the_mode_is_in_the_provenance_of_a_batch_in_parts(self, name: str) -> None:
        items = batch(["420222", "9999999999"], ["200.00", "1"], "EUR")
        result = ENGINES[name](items, regime=dm.Regime.from_dict(PLAIN_EUR), tariff=dm.tariff.sample("EU"), on=ON,
                               ambiguous="highest", errors="flag")
        assert result.provenance["ambiguous"] == "highest" and int(result.items["duty"][0]) == 1940

    @pytest.mark.parametrize("name", sorted(ENGINES))
    @pytest.mark.parametrize("bad", ["Highest", "max", None, 1])
    def test_an_unknown_mode_is_a_type_error(self, name: str, bad: Any) -> None:
        with pytest.raises(TypeError, match="ambiguous must be 'flag' or 'refuse' or 'highest'"):
            eu(bad, name, ["420222"], ["1"])

    def test_lookup_refuses_an_unknown_mode(self) -> None:
        with pytest.raises(ValueError, match="ambiguous must be one of"):
            dm.tariff.sample("EU").lookup("420222", ambiguous="max")


# ------------------------------------------------------------------ the command line


def test_the_command_line_takes_the_mode_and_the_edition(tmp_path: Any, capsys: Any) -> None:
    src, dst = tmp_path / "in.csv", tmp_path / "out.csv"
    src.write_text("consignment,hs_code,value,currency,destination\nc1,420222,200.00,EUR,DE\n", encoding="utf-8")
    base = [str(src), str(dst), "--regime", "EU", "--tariff", "sample:EU", "--on", ON.isoformat(), "--quiet"]
    assert main(["assess", *base, "--ambiguous", "highest"]) == 0
    provenance = json.loads((tmp_path / "out.csv.provenance.json").read_text())
    assert (provenance["ambiguous"], provenance["hs_edition"]) == ("highest", "2017")
    assert main(["assess", *base, "--ambiguous", "refuse"]) != 0
    assert "42022210 (9.7%), 42022290 (3.7%)" in capsys.readouterr().err
    src.write_text("consignment,hs_code,value,currency,destination\nc1,851713,200.00,EUR,DE\n", encoding="utf-8")
    assert main(["assess", *base]) != 0
    assert "(an HS 2022 code; the tariff is HS 2017)" in capsys.readouterr().err
    assert main(["assess", *base, "--hs-edition", "none"]) != 0  # no edition: the code is unknown instead
    assert "no tariff line covers this code" in capsys.readouterr().err
