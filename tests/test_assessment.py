"""The Assessment object: exports, provenance, summary and explain()."""

import datetime as dt

import numpy as np
import pytest

import deminimis as dm

ON = dt.date(2026, 11, 28)
ITEMS = {
    "consignment": ["P1", "P1", "P2"],
    "hs_code": ["6109100010", "6110209900", "9102110000"],
    "value": ["20.00", "35.50", "180"],
    "currency": ["EUR", "EUR", "USD"],
    "quantity": [1, 1, 2],
    "destination": ["DE", "DE", "FR"],
    "collected_at_sale": [True, True, False],
    "freight": ["5", "5", "10"],
}


@pytest.fixture(scope="module")
def result():
    regime = dm.regimes.get("EU", on=ON)
    rates = dm.ExchangeRates({"USD": "1.0876"}, base="EUR")
    return dm.assess(ITEMS, regime=regime, tariff=dm.tariff.sample("EU"), rates=rates, on=ON)


def test_provenance_names_everything_the_result_depends_on(result):
    p = result.provenance
    assert p["library"] == "deminimis" and p["version"] == dm.__version__ and p["engine"] == "native"
    assert p["regime"] == "EU-2026-07-01" and p["assessment_date"] == "2026-11-28" and p["currency"] == "EUR"
    for key in ("regime_hash", "tariff_hash", "rates_hash"):
        assert len(p[key]) == 64 and int(p[key], 16) >= 0
    other = dm.ExchangeRates({"USD": "1.0877"}, base="EUR")
    assert other.content_hash != p["rates_hash"]


def test_summary_totals_are_the_column_sums(result):
    s = result.summary()
    assert s["items"] == 3 and s["consignments"] == 2
    for k in ("duty", "vat", "vat_at_sale", "fees", "total"):
        assert s[k] == int(result.items[k].sum()) == int(result.consignments[k].sum())
    # P1: EUR 3 per distinct subheading (610910, 611020) = 600; P2: the watch's tariff duty
    assert s["items_flat_duty"] == 2 and s["items_vat_at_sale"] == 2
    assert result.consignments["duty"].tolist() == [600, 160]


def test_to_pandas_and_to_arrow(result):
    pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    items, cons = result.to_pandas()
    assert items["duty"].tolist() == [300, 300, 160]
    assert items["rules"].tolist() == ["flat_duty,vat_at_sale", "flat_duty,vat_at_sale", ""]
    assert cons["consignment"].tolist() == ["P1", "P2"] and cons["items"].tolist() == [2, 1]
    t_items, t_cons = result.to_arrow()
    assert t_items.column("total").to_pylist() == result.items["total"].tolist()
    assert t_cons.column("consignment").to_pylist() == ["P1", "P2"]


def test_arrow_stream_and_polars_export_the_item_table(result):
    pa = pytest.importorskip("pyarrow")
    pl = pytest.importorskip("polars")
    t_items, t_cons = result.to_arrow()
    assert pa.table(result).equals(t_items)  # through __arrow_c_stream__, the PyCapsule interface
    assert pl.DataFrame(result).equals(pl.from_arrow(t_items))  # (pl.from_arrow of a stream gives a Series)
    items, cons = result.to_polars()
    assert items.to_arrow().equals(t_items) and items["duty"].to_list() == [300, 300, 160]
    assert cons["consignment"].to_list() == ["P1", "P2"] and cons.equals(pl.from_arrow(t_cons))


def test_explain_derives_the_item_step_by_step(result):
    text = result.explain(2)
    assert "value 180 USD -> 16550 minor units of EUR" in text
    assert "4.5% MIN" in text and "-> 160" in text
    assert text.rstrip().endswith("total due at the border: 36.86 EUR")
    with pytest.raises(IndexError):
        result.explain(3)


def test_amounts_as_exact_decimals(result):
    assert str(result.as_decimal("vat_at_sale", 1)) == "7.92"
    assert result.items["total"].dtype == np.int64


def test_exact_sum_does_not_wrap():
    from deminimis.assessment import exact_sum
    big = np.array([2**63 - 1, 2**63 - 1, 5], dtype=np.int64)
    assert exact_sum(big) == 2 * (2**63 - 1) + 5  # an int64 sum would wrap negative
    assert exact_sum(np.array([], dtype=np.int64)) == 0
