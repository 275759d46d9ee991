"""deminimis.audit.reconcile: every planted error found, with no false positive; exact totals."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

import deminimis as dm
from deminimis import audit, grouping, synthetic
from deminimis.errors import InvalidValueError, MissingColumnError

DECLARED = {"duty": "declared_duty", "vat": "declared_vat", "relief": "relief_claimed"}


@pytest.fixture(scope="module")
def month() -> tuple:
    items, planted, (regime, tariff, rates) = synthetic.declarations(20_000, seed=3)
    rec = audit.reconcile(items, declared=DECLARED, regime=regime, tariff=tariff, rates=rates, on=synthetic.ON,
                          amounts="minor", group_by=["chapter", "carrier", "month", "origin*destination"])
    return items, planted, rec


def test_every_planted_error_is_found_and_nothing_else(month: tuple) -> None:
    _, planted, rec = month
    names = rec.class_names("consignment")
    expected = np.full(len(names), "match", dtype=object)
    for kind, consignments in planted.items():
        assert consignments, kind  # every kind was planted
        expected[consignments] = kind
    assert (names == expected).all(), {k: int(np.count_nonzero((names == k) != (expected == k))) for k in audit.CLASSES}


def test_item_classes_and_totals_are_exact(month: tuple) -> None:
    items, planted, rec = month
    assert rec.counts["match"] == len(items["consignment"]) - sum(v for k, v in rec.counts.items() if k != "match")
    # under-declared: 1.50 EUR less duty on one item of each planted consignment
    assert rec.totals["under_declared"] == 150 * len(planted["under_declared"])
    assert rec.totals["over_declared"] == -250 * len(planted["over_declared"])
    assert rec.totals["within_tolerance"] == -1 * len(planted["within_tolerance"])
    assert rec.totals["match"] == 0
    assert sum(rec.totals.values()) == int(rec.difference.sum())
    for name, table in rec.by_group.items():
        for c in audit.CLASSES:
            assert sum(per[c] for per in table.values()) == rec.totals[c], (name, c)
    assert rec.at_risk() == 150 * len(planted["under_declared"]) + sum(
        int(d) for d in rec.difference[rec.classes != audit.CLASSES.index("under_declared")] if d > 0)


def test_grouping_keys() -> None:
    cols = {"hs_code": np.array(["6109100010", "6110209900", "9102110000"]),
            "date": np.array(["2026-06-01", "2026-07-03", "2026-06-30"], dtype="datetime64[D]")}
    assert grouping.keys_of(cols, "chapter")[1] == ["61", "91"]
    codes, keys = grouping.keys_of(cols, "month")
    assert [keys[c] for c in codes] == ["2026-06", "2026-07", "2026-06"]
    assert grouping.sums(np.array([0, 1, 0]), 2, np.array([2**62, 5, 2**62])) == [2**63, 5]  # no wrap


def _small(**over: object) -> dict:
    items = {"consignment": ["A", "B"], "hs_code": ["6109100010", "6109100010"], "value": ["200", "20"],
             "currency": ["EUR", "EUR"], "destination": ["DE", "DE"], "declared_duty": ["24", "0"],
             "declared_vat": ["42.56", "3.80"]}
    items.update(over)
    return items


def _rec(items: dict, **kw: object) -> audit.Reconciliation:
    return audit.reconcile(items, declared={"duty": "declared_duty", "vat": "declared_vat"}, regime="EU",
                           tariff=dm.tariff.sample("EU"), on=dt.date(2026, 5, 4), **kw)


def test_bad_declared_amount_names_row_and_column() -> None:
    with pytest.raises(InvalidValueError) as err:
        _rec(_small(declared_vat=["42.56", "3.801"]))
    assert err.value.column == "declared_vat" and err.value.row == 1


def test_unknown_grouping_is_an_error() -> None:
    with pytest.raises(MissingColumnError):
        _rec(_small(), group_by=["month"])  # no date column


def test_tolerance_in_major_units() -> None:
    rec = _rec(_small(declared_vat=["42.50", "3.80"]))
    assert rec.class_names().tolist() == ["under_declared", "match"]  # VAT due 42.56 (19% of 200 + 24 duty)
    assert _rec(_small(declared_vat=["42.50", "3.80"]), tolerance="0.10").class_names()[0] == "within_tolerance"
