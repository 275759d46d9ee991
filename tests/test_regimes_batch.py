"""The same synthetic batch through every built-in regime: engine and reference agree bit for bit,
amounts add up, and every mechanism a regime declares is exercised somewhere in the batch.

The batch carries every column any built-in regime needs (consignee and date for per-person
aggregation, transport, nature, place of shipment, destination, collected_at_sale, quantities). Its tariff is
illustrative: one ad valorem, one specific, one compound and one free line (test inputs, not any country's rates).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

import deminimis as dm
from deminimis import RULES, regimes
from deminimis.money import exponent

BIT = {name: bit for bit, name in RULES.items()}
CODES = np.array(["6109100010", "6204620000", "4901990000", "8471300000", "3303001000", "2204210900",
                  "0402290000", "8518300000"])
TARIFF_LINES = [("6109", "12%"), ("6204", "10% MIN 1.2 {c}/item"), ("4901", "Free"), ("8471", "Free"),
                ("3303", "6.5%"), ("2204", "3 {c}/l"), ("0402", "15%"), ("8518", "2%")]
TRANSPORTS = np.array(["post", "courier", "air", "sea"])
NATURES = np.array(["sale", "gift"])
PLACES = np.array(["US", "MX", "CN", "GB"])


def rules_of(spec: object) -> list:
    """A regime slot as a list of rules (one rule, a tuple of alternatives, or nothing)."""
    if spec is None:
        return []
    return list(spec) if isinstance(spec, (tuple, list)) else [spec]


def tariff_for(currency: str) -> dm.Tariff:
    return dm.Tariff.from_records([{"code": c, "duty": d.format(c=currency)} for c, d in TARIFF_LINES])


def batch(regime: dm.Regime, n: int = 400, seed: int = 7) -> dict[str, np.ndarray]:
    """n items, 1-4 per consignment, values in minor units of the regime's currency (amounts='minor'):
    lognormal around the regime's thresholds so that every threshold is crossed."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 5, size=n)
    cons = np.repeat(np.arange(n), sizes)[:n]
    nc = int(cons[-1]) + 1
    scale = 10 ** exponent(regime.currency)
    slots = [regime.duty_relief, regime.vat_relief, regime.collection_at_sale,
             regime.flat_duty.rule if regime.flat_duty else None,
             regime.vat_reduction.rule if regime.vat_reduction else None]
    thresholds = [c.threshold for slot in slots for r in rules_of(slot) for c in r.conditions]
    if regime.simplified_duty is not None:
        thresholds += [b.up_to for b in regime.simplified_duty.bands]
    levels = np.array(sorted({float(t) for t in thresholds} or {100.0}))
    # each consignment is built around one of the regime's thresholds, so that every one is crossed
    around = levels[rng.integers(0, len(levels), size=nc)][cons] / np.bincount(cons)[cons]
    value = np.maximum(1, np.round(around * rng.lognormal(0.0, 0.8, size=n) * scale)).astype(np.int64)
    typical = float(np.median(levels))
    freight = (rng.integers(0, 4, size=nc) * max(1, int(typical // 20)) * scale)[cons]
    start = regime.valid_from or dt.datetime(2020, 1, 1)
    days = rng.integers(0, 3, size=nc)
    dates = np.array([(start + dt.timedelta(days=int(d))).date().isoformat() for d in days])[cons]
    dests = np.array(sorted(regime.vat.rates))
    return {
        "consignment": cons, "hs_code": CODES[rng.integers(0, len(CODES), size=n)], "value": value,
        "currency": np.array([regime.currency] * n),
        "origin": np.array(["CN", "VN", "US", "GB"])[rng.integers(0, 4, n)],
        "quantity": rng.integers(1, 4, size=n).astype(np.int64),
        "volume_l": rng.integers(1, 3, size=n).astype(np.int64),
        "net_mass_kg": rng.integers(1, 3, size=n).astype(np.int64),
        "freight": freight, "collected_at_sale": (rng.random(nc) < 0.6)[cons],
        "destination": dests[rng.integers(0, len(dests), size=nc)][cons],
        "transport": TRANSPORTS[rng.integers(0, len(TRANSPORTS), size=nc)][cons],
        "nature": NATURES[rng.integers(0, len(NATURES), size=nc)][cons],
        "shipped_from": PLACES[rng.integers(0, len(PLACES), size=nc)][cons],
        "consignee": np.array([f"p{k}" for k in rng.integers(0, nc // 3 + 1, size=nc)])[cons], "date": dates,
    }


@pytest.mark.parametrize("rid", [e["id"] for e in regimes.available()])
def test_same_batch_through_every_regime(rid: str) -> None:
    regime = regimes.get(rid)
    on = regime.valid_from
    items = batch(regime)
    tariff = tariff_for(regime.currency)
    fast = dm.assess(items, regime=regime, tariff=tariff, on=on, amounts="minor")
    ref = dm.reference.assess(items, regime=regime, tariff=tariff, on=on, amounts="minor")
    assert fast.equals(ref), fast.differences(ref)
    assert (fast["total"] == fast["duty"] + fast["vat"] + fast["fees"]).all()
    if not regime.collection_at_sale_includes_duty:
        assert not fast["duty_at_sale"].any()
    s = fast.summary()
    assert s["items"] == len(items["value"])
    bits = np.bitwise_or.reduce(fast["rule"])
    declared = {"duty_relief": regime.duty_relief, "vat_relief": regime.vat_relief,
                "vat_at_sale": regime.collection_at_sale, "flat_duty": regime.flat_duty,
                "simplified_duty": regime.simplified_duty, "vat_reduced": regime.vat_reduction,
                "duty_at_sale": regime.collection_at_sale if regime.collection_at_sale_includes_duty else None}
    for name, spec in declared.items():
        if rules_of(spec):
            assert bits & BIT[name], f"{rid}: the batch never triggers {name}"
    if regime.fees:
        assert bits & BIT["fee"], f"{rid}: no fee charged in the batch"
