"""deminimis.risk.flags: planted splits, undervaluation, bunching and IOSS claims above EUR 150 are found."""

from __future__ import annotations

import datetime as dt

import numpy as np

import deminimis as dm
from deminimis import risk

ON = dt.date(2026, 5, 20)


def batch() -> tuple[dict, set, set]:
    """60 consignments of single T-shirts; planted: consignee 'split' receives three of EUR 90 in two days
    (EUR 270 > 150), and one T-shirt from CN declared at EUR 0.50 among others at about EUR 20."""
    rng = np.random.default_rng(1)
    n = 60
    value = [f"{v:.2f}" for v in rng.uniform(15, 25, size=n)]
    consignee = [f"c{i}" for i in range(n)]
    day = [(ON - dt.timedelta(days=int(d))).isoformat() for d in rng.integers(0, 10, size=n)]
    for i, d in zip((10, 11, 12), (18, 19, 19)):
        value[i], consignee[i], day[i] = "90", "split", f"2026-05-{d}"
    consignee[13], day[13], value[13] = "split", "2026-05-01", "90"  # the same consignee, weeks earlier: not a split
    value[20] = "0.50"
    items = {"consignment": [f"P{i}" for i in range(n)], "hs_code": ["6109100010"] * n, "value": value,
             "currency": ["EUR"] * n, "origin": ["CN"] * n, "destination": ["DE"] * n, "consignee": consignee,
             "date": day, "quantity": [1] * n, "collected_at_sale": [i == 30 for i in range(n)]}
    items["value"][30] = "400"  # IOSS claimed on EUR 400
    return items, {10, 11, 12}, {20}


def test_planted_risks_are_flagged_with_evidence() -> None:
    items, split, low = batch()
    f = risk.flags(items, regime="EU", tariff=dm.tariff.sample("EU"), on=ON, window_days=3)
    assert set(np.flatnonzero(f.items["split_consignment"]).tolist()) == split
    ev = f.evidence["split_consignment"]
    assert set(ev["consignee"]) == {"split"} and max(ev["value"]) == 27_000 and set(ev["threshold"]) == {15_000}
    assert set(np.flatnonzero(f.items["undervaluation"]).tolist()) == low
    assert f.evidence["undervaluation"]["subheading"] == ["610910"]
    assert np.flatnonzero(f.items["collection_at_sale_above_threshold"]).tolist() == [30]
    assert not f.items["bunching"].any()


def test_bunching_per_seller() -> None:
    n = 60
    seller = ["bunch"] * 30 + ["plain"] * 30
    value = ["149"] * 25 + ["160"] * 5 + [str(100 + 3 * i) for i in range(30)]
    items = {"consignment": list(range(n)), "hs_code": ["6109100010"] * n, "value": value, "currency": ["EUR"] * n,
             "destination": ["DE"] * n, "seller": seller}
    f = risk.flags(items, regime="EU", tariff=dm.tariff.sample("EU"), on=ON, seller="seller", min_bunched=10)
    assert np.flatnonzero(f.items["bunching"]).tolist() == list(range(25))
    assert f.evidence["bunching"]["seller"] == ["bunch"]
    assert f.evidence["bunching"]["just_under"] == [25] and f.evidence["bunching"]["just_over"] == [5]
