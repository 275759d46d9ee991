"""Hand-checked tests of the strict inputs: the schema and keep=, the vocabularies, dates (on= or per-row,
regime versions) and errors as data. Every case runs on both the engine and the reference."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import numpy as np
import pytest

import deminimis as dm
from deminimis.errors import InvalidValueError, MissingColumnError, RegimeError, UnknownColumnError, UnknownValueError

ON = dt.date(2026, 11, 28)
TARIFF = dm.tariff.sample("EU")
TSHIRT = "6109100010"  # 12% in the EU sample
BOTH = {"engine": dm.assess, "reference": dm.reference.assess}


def items(**cols: Any) -> dict[str, list[Any]]:
    """Three T-shirts in two consignments to DE (A: 20 + 30 EUR, B: 200 EUR)."""
    d: dict[str, list[Any]] = {"consignment": ["A", "A", "B"], "hs_code": [TSHIRT] * 3,
                               "value": ["20", "30", "200"], "currency": ["EUR"] * 3, "destination": ["DE"] * 3}
    d.update(cols)
    return d


def both(batch: dict[str, Any], **kw: Any) -> tuple[dm.Assessment, dm.Assessment]:
    kw.setdefault("regime", "EU")
    kw.setdefault("tariff", TARIFF)
    fast, slow = dm.assess(batch, **kw), dm.reference.assess(batch, **kw)
    assert fast.differences(slow) == []
    return fast, slow


# ------------------------------------------------------------------ schema and keep


@pytest.mark.parametrize("fn", BOTH.values(), ids=BOTH.keys())
@pytest.mark.parametrize("name,near", [("Origin", "origin"), ("frieght", "freight"), ("hs-code", "hs_code"),
                                       ("colected_at_sale", "collected_at_sale"), ("Value", "value")])
def test_unknown_column_names_the_closest(fn: Any, name: str, near: str) -> None:
    batch = items()
    batch[name] = batch.pop(near) if near in batch else ["x"] * 3
    with pytest.raises(UnknownColumnError) as info:
        fn(batch, regime="EU", tariff=TARIFF, on=ON)
    assert info.value.column == name and near in info.value.suggestions


@pytest.mark.parametrize("fn", BOTH.values(), ids=BOTH.keys())
def test_keep_passes_columns_through_unread(fn: Any) -> None:
    result = fn(items(sku=["s1", "s2", "s3"], parcel_weight=[1, 2, 3]), regime="EU", tariff=TARIFF, on=ON,
                keep=["sku", "parcel_weight"])
    assert list(result.kept["sku"]) == ["s1", "s2", "s3"] and list(result.kept["parcel_weight"]) == [1, 2, 3]
    plain = fn(items(), regime="EU", tariff=TARIFF, on=ON)
    assert result.differences(plain) == []  # kept columns change no amount


@pytest.mark.parametrize("fn", BOTH.values(), ids=BOTH.keys())
def test_keep_must_name_present_columns(fn: Any) -> None:
    with pytest.raises(MissingColumnError) as info:
        fn(items(), regime="EU", tariff=TARIFF, on=ON, keep=["sku"])
    assert info.value.column == "sku"
    with pytest.raises(TypeError):
        fn(items(), regime="EU", tariff=TARIFF, on=ON, keep="sku")


# ------------------------------------------------------------------ vocabularies


@pytest.mark.parametrize("fn", BOTH.values(), ids=BOTH.keys())
@pytest.mark.parametrize("col,bad,allowed", [("nature", "Gift", "gift"), ("nature", "present", "sale"),
                                             ("transport", "Air", "air"), ("destination", "GR", "DE")])
def test_a_value_outside_the_vocabulary_lists_what_is_allowed(fn: Any, col: str, bad: str, allowed: str) -> None:
    good = {"nature": "sale", "transport": "post", "destination": "DE"}[col]
    with pytest.raises(UnknownValueError) as info:
        fn(items(**{col: [good, good, bad]}), regime="EU", tariff=TARIFF, on=ON)
    assert (info.value.column, info.value.row, info.value.value) == (col, 2, bad)
    assert allowed in info.value.allowed and allowed in str(info.value)


def test_uk_gift_relief_needs_the_exact_word() -> None:
    """UK: 'gift' gets the GBP 39 gift relief; 'Gift' is refused (it silently lost the relief before)."""
    reg = dm.regimes.get("UK", on=ON)
    batch = {"consignment": ["G"], "hs_code": [TSHIRT], "value": ["30"], "currency": ["GBP"], "nature": ["gift"]}
    fast, _ = both(batch, regime=reg, tariff=dm.tariff.sample("UK"), on=ON)
    assert int(fast["vat"][0]) == 0 and fast.rule[0] & 8  # vat_relief
    with pytest.raises(UnknownValueError):
        dm.assess({**batch, "nature": ["Gift"]}, regime=reg, tariff=dm.tariff.sample("UK"), on=ON)


@pytest.mark.parametrize("key,value", [("transports", ["Air"]), ("natures", ["present"]), ("shipped_from", ["usa"])])
def test_a_regime_names_only_values_of_the_vocabulary(key: str, value: list[str]) -> None:
    with pytest.raises(RegimeError, match="vocabulary"):
        dm.Regime.from_dict({"id": "x", "currency": "EUR", "vat": {"rates": {"DE": {"standard": "19"}}},
                             "duty_relief": {"conditions": [{"threshold": "150"}], key: value}})


def test_a_regime_amount_beyond_64_bits_is_a_regime_error() -> None:
    reg = dm.Regime.from_dict({"id": "x", "currency": "EUR", "vat": {"rates": {"DE": {"standard": "19"}}},
                               "duty_relief": {"conditions": [{"threshold": "1e30"}]}})
    for fn in BOTH.values():
        with pytest.raises(RegimeError, match="64-bit"):
            fn(items(), regime=reg, tariff=TARIFF, on=ON)


# ------------------------------------------------------------------ dates


@pytest.mark.parametrize("fn", BOTH.values(), ids=BOTH.keys())
def test_on_or_a_date_column_is_required(fn: Any) -> None:
    with pytest.raises(MissingColumnError) as info:
        fn(items(), regime="EU", tariff=TARIFF)
    assert info.value.column == "date"


@pytest.mark.parametrize("fn", BOTH.values(), ids=BOTH.keys())
def test_a_regime_id_is_checked_against_on_like_an_object(fn: Any) -> None:
    for regime in ("EU-2019-01-01", dm.regimes.by_id("EU-2019-01-01")):
        with pytest.raises(RegimeError, match="not in force on 2026-11-28"):
            fn(items(), regime=regime, tariff=TARIFF, on=ON)
    assert fn(items(), regime="EU-2026-07-01", tariff=TARIFF, on=ON).provenance["regime"] == "EU-2026-07-01"


@pytest.mark.parametrize("fn", BOTH.values(), ids=BOTH.keys())
def test_per_row_dates_outside_the_regime_are_errors(fn: Any) -> None:
    batch = items(date=["2026-11-27", "2026-11-27", "2019-05-01"])
    with pytest.raises(InvalidValueError) as info:
        fn(batch, regime="EU", tariff=TARIFF, on=ON)
    assert (info.value.column, info.value.row) == ("date", 2)
    with pytest.raises(InvalidValueError) as info:  # the same with a Regime object and no on=
        fn(batch, regime=dm.regimes.by_id("EU-2026-07-01"), tariff=TARIFF)
    assert (info.value.column, info.value.row) == ("date", 2)


def test_each_consignment_is_assessed_under_the_version_in_force_on_its_date() -> None:
    """EU, one batch over 2021 and 2026: A (EUR 50, 1 March 2021) under EU-2021-03-01 (the EUR 150 duty
    relief and the EUR 22 VAT exemption of then), B (EUR 200, August 2026) under EU-2026-07-01; the
    same amounts as assessing each on its own date."""
    batch = items(date=["2021-03-01", "2021-03-01", "2026-08-01"])
    fast, _ = both(batch)
    a = dm.assess({k: v[:2] for k, v in batch.items()}, regime="EU", tariff=TARIFF, on=dt.date(2021, 3, 1))
    b = dm.assess({k: v[2:] for k, v in batch.items()}, regime="EU", tariff=TARIFF, on=dt.date(2026, 8, 1))
    for k in ("duty", "vat", "total", "rule"):
        assert fast[k].tolist() == a[k].tolist() + b[k].tolist(), k
    assert fast.provenance["regime"] == "EU-2021-03-01,EU-2026-07-01"
    assert fast.provenance["assessment_date"] == "per-row"
    assert fast.provenance["dates"] == ["2021-03-01", "2026-08-01"]
    assert int(fast["duty"][2]) == 2400  # 12% of EUR 200, above the EUR 150 relief
    assert fast.consignment_ids == ["A", "B"]
    assert "EU-2021-03-01" in fast.explain(0) and "EU-2026-07-01" in fast.explain(2)


def test_the_date_is_in_the_provenance_when_on_is_given() -> None:
    fast, slow = both(items(), on=ON)
    assert fast.provenance["assessment_date"] == slow.provenance["assessment_date"] == "2026-11-28"


@pytest.mark.parametrize("fn", BOTH.values(), ids=BOTH.keys())
def test_a_consignee_year_cannot_span_two_regime_versions(fn: Any) -> None:
    batch = {"consignment": ["X", "Y"], "hs_code": [TSHIRT] * 2, "value": ["100", "100"], "currency": ["CNY"] * 2,
             "consignee": ["ann", "ann"], "date": ["2019-03-01", "2019-05-01"]}
    with pytest.raises(InvalidValueError, match="spans regime versions") as info:
        fn(batch, regime="CN", tariff=dm.Tariff.from_records([{"code": "61", "duty": "10%"}]))
    assert (info.value.column, info.value.row) == ("date", 1)


# ------------------------------------------------------------------ errors as data


def test_every_bad_row_is_reported_not_only_the_first() -> None:
    """201 rows, two unknown codes: both named; the other 199 rows assessed as alone."""
    n = 201
    batch = {"consignment": [f"P{i}" for i in range(n)], "hs_code": [TSHIRT] * n, "value": ["10"] * n,
             "currency": ["EUR"] * n, "destination": ["DE"] * n}
    batch["hs_code"][17] = batch["hs_code"][150] = "0101210000"
    with pytest.raises(dm.UnknownCodeError):  # errors="raise": the first
        dm.assess(batch, regime="EU", tariff=TARIFF, on=ON)
    fast, _ = both(batch, on=ON, errors="flag")
    assert [(e.row, e.column, e.error) for e in fast.errors] == [(17, "hs_code", "UnknownCodeError"),
                                                                 (150, "hs_code", "UnknownCodeError")]
    assert fast.summary()["items_invalid"] == 2 and fast.summary()["items_left_out"] == 0
    assert int(fast["duty"].sum()) == 199 * 120


def test_a_consignment_with_one_bad_item_is_flagged_whole() -> None:
    fast, slow = both(items(value=["20", "x", "200"]), on=ON, errors="flag")
    assert fast.status.tolist() == [2, 1, 0] == slow.status.tolist()
    assert fast.cons_status.tolist() == [1, 0]
    assert fast["total"][:2].tolist() == [0, 0] and int(fast["duty"][2]) == 2400
    assert fast.consignments["complete"].tolist() == [False, True]
    assert "not assessed" in fast.explain(0) and "cannot read" in fast.explain(1)
    assert "2400" in fast.explain(2)


def test_where_a_regime_aggregates_per_consignee_the_consignee_is_left_out() -> None:
    """CN sums a consignee's year: one bad consignment of ann leaves all of ann's out (their relief
    depends on it); bob is assessed."""
    batch = {"consignment": ["X", "Y", "Z"], "hs_code": [TSHIRT] * 3, "value": ["100", "bad", "100"],
             "currency": ["CNY"] * 3, "consignee": ["ann", "ann", "bob"], "date": ["2024-03-01"] * 3}
    fast, _ = both(batch, regime="CN", tariff=dm.Tariff.from_records([{"code": "61", "duty": "10%"}]),
                   errors="flag")
    assert fast.status.tolist() == [2, 1, 0]


def test_an_overflow_found_while_computing_is_flagged_too() -> None:
    big = str(Decimal(2**62).scaleb(-2))  # two of these overflow the consignment's sum
    fast, _ = both(items(value=[big, big, "200"]), on=ON, errors="flag")
    assert fast.status.tolist() == [1, 2, 0] or fast.status.tolist() == [2, 1, 0]
    assert fast.errors[0].error == "AmountOverflowError" and int(fast["duty"][2]) == 2400


def test_errors_argument_is_checked() -> None:
    with pytest.raises(ValueError, match="errors"):
        dm.assess(items(), regime="EU", tariff=TARIFF, on=ON, errors="ignore")
    from deminimis.engine import Buffers
    with pytest.raises(ValueError, match="out="):
        dm.assess(items(), regime="EU", tariff=TARIFF, on=ON, errors="flag", out=Buffers(3))


def test_a_clean_batch_flagged_equals_raised() -> None:
    flagged, _ = both(items(), on=ON, errors="flag")
    raised = dm.assess(items(), regime="EU", tariff=TARIFF, on=ON)
    assert flagged.differences(raised) == [] and flagged.errors == [] and not flagged.status.any()


@pytest.mark.parametrize("fn", BOTH.values(), ids=BOTH.keys())
def test_corrupt_arrow_is_refused_on_both_sides(fn: Any) -> None:
    """Offsets that run backwards: an error naming the column, never a crash (the reference reads
    every value, so it validates with Arrow's bounds-checked validation first)."""
    pa = pytest.importorskip("pyarrow")
    good = pa.array(["10.00", "20.00", "30.00"])
    offsets = pa.py_buffer(np.array([0, 5, 3, 15], dtype=np.int32).tobytes())
    table = pa.table({"consignment": ["A", "A", "B"], "hs_code": [TSHIRT] * 3,
                      "value": pa.StringArray.from_buffers(3, offsets, good.buffers()[2]), "currency": ["EUR"] * 3,
                      "destination": ["DE"] * 3})
    with pytest.raises(InvalidValueError) as info:
        fn(table, regime="EU", tariff=TARIFF, on=ON)
    assert info.value.column == "value"
