"""deminimis.analysis: every point of a threshold curve equals a full assessment with that threshold;
compare() gives per-group revenue under two regimes."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import numpy as np
import pytest
from hypothesis import assume, given, note
from hypothesis import strategies as st

import deminimis as dm
from deminimis import analysis
from deminimis.errors import DeminimisError
from deminimis.thresholds import RULE_KEYS, replaced_conditions, with_threshold
from test_differential import ON, built, case, columns


def full_point(items: Any, regime: dm.Regime, keys: tuple[str, ...], threshold: Decimal, **kw: Any) -> dict[str, int]:
    """What the curve must give at one threshold: a full assessment with the threshold replaced."""
    r = dm.assess(items, regime=with_threshold(regime, keys, threshold), **kw)
    relieved = (r.items["rule"] & 9) != 0
    cons = r.inputs.consignment_index if r.inputs is not None else None
    assert cons is not None
    per = np.bincount(cons, weights=relieved, minlength=len(r.consignment_ids))
    s = r.summary()
    return {**{k: s[k] for k in analysis.AMOUNTS}, "items_relieved": int(relieved.sum()),
            "consignments_relieved": int(np.count_nonzero(per))}


@given(case(), st.data())
def test_every_point_equals_a_full_assessment(c: dict[str, Any], data: st.DataObject) -> None:
    kw = dict(**built(c), on=ON)
    regime = kw.pop("regime")
    keys = tuple(k for k in RULE_KEYS if replaced_conditions(regime, [k]))
    assume(keys)
    chosen = tuple(data.draw(st.lists(st.sampled_from(keys), min_size=1, max_size=len(keys), unique=True)))
    items = columns(c["rows"])
    try:
        dm.assess(items, regime=regime, **kw)
    except DeminimisError:
        assume(False)  # a random batch the regime refuses (not in force, a missing column...): nothing to curve
    exp = regime.exponent
    points = data.draw(st.lists(st.integers(0, 60_000 * 10**exp // 100), min_size=1, max_size=5))
    thresholds = [Decimal(p).scaleb(-exp) for p in points]
    curve = analysis.threshold_curve(items, regime=regime, relief=chosen, thresholds=thresholds, **kw)
    note(f"{curve.method} {chosen}")
    for i, t in enumerate(thresholds):
        expected = full_point(items, regime, chosen, t, **kw)
        assert {k: curve.points[k][i] for k in expected} == expected, t


def _eu_items() -> dict[str, list[Any]]:
    return {"consignment": ["A", "A", "B", "C", "D"], "hs_code": ["6109100010", "6110209900", "6109100010",
                                                                  "6110209900", "6109100010"],
            "value": ["60", "60", "149.99", "150", "400"], "currency": ["EUR"] * 5,
            "destination": ["DE", "DE", "FR", "FR", "DE"], "origin": ["CN", "CN", "US", "CN", "TR"]}


def test_curve_by_hand_eu_duty_relief() -> None:
    """EU 2021: duty relief up to EUR 150 per consignment; at 0 nothing is relieved, at 150 A, B and C are."""
    regime = dm.regimes.get("EU", on=dt.date(2026, 5, 1))
    curve = analysis.threshold_curve(_eu_items(), regime=regime, tariff=dm.tariff.sample("EU"), on=dt.date(2026, 5, 1),
                                     thresholds=["0", "120", "149.99", "150", "1000"])
    assert curve.method == "fast"
    assert curve.points["consignments_within"] == [0, 1, 2, 3, 4]
    assert curve.points["consignments_relieved"] == [0, 1, 2, 3, 4]
    assert curve.points["items_relieved"] == [0, 2, 3, 4, 5]
    duty = curve.points["duty"]
    assert duty[0] > duty[1] > duty[2] > duty[3] > duty[4] == 0


def test_mixed_bases_use_full_assessments_or_refuse() -> None:
    d = dm.regimes.get("EU", on=dt.date(2026, 5, 1)).to_dict()
    d["collection_at_sale"]["conditions"][0]["basis"] = "customs"
    regime = dm.Regime.from_dict(d)
    kw = dict(regime=regime, tariff=dm.tariff.sample("EU"), on=dt.date(2026, 5, 1), thresholds=["100", "150"],
              relief=["duty_relief", "collection_at_sale"])
    with pytest.raises(ValueError, match="method='full'"):
        analysis.threshold_curve(_eu_items(), method="fast", **kw)
    curve = analysis.threshold_curve(_eu_items(), **kw)
    assert curve.method == "full"
    assert curve.points["consignments_within"] == [0, 3]  # A: EUR 120 > 100


def test_no_condition_to_vary_is_an_error() -> None:
    regime = dm.regimes.get("SG", on=dt.date(2026, 8, 1))  # a GST relief, no duty relief
    with pytest.raises(ValueError, match="no condition per consignment"):
        analysis.threshold_curve(_eu_items(), regime=regime, tariff=dm.tariff.sample("EU"), on=dt.date(2026, 8, 1),
                                 thresholds=["150"])


def test_compare_eu_before_and_after_july_2026() -> None:
    before = dm.regimes.get("EU", on=dt.date(2026, 6, 30))
    after = dm.regimes.get("EU", on=dt.date(2026, 7, 1))
    items = {**_eu_items(), "collected_at_sale": [True, True, True, True, False]}
    cmp = analysis.compare(items, regimes=[before, after], tariff=dm.tariff.sample("EU"),
                           on=[dt.date(2026, 6, 30), dt.date(2026, 7, 1)], group_by="origin")
    by = {row["group"]: row for row in cmp.rows}
    assert set(by) == {"CN", "US", "TR"}
    # TR: consignment D above EUR 150, no IOSS: the same duty and VAT under both
    assert by["TR"]["total_difference"] == 0
    # CN: A (two subheadings, EUR 120) and C pay the EUR 3 duty per subheading after 1 July 2026
    assert by["CN"]["total_difference"] > 0
    assert sum(row["total_difference"] for row in cmp.rows) == (
        cmp.rows[0]["total_difference"] + cmp.rows[1]["total_difference"] + cmp.rows[2]["total_difference"])
