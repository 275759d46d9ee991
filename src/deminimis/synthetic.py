"""A month of synthetic EU declarations with planted errors, for the audit tests, benchmark and walkthrough.

The items are ``cli.synthetic_batch``'s (amounts in minor units: assess with ``amounts="minor"``),
dated over June 2026 under the EU regime then in force, with a consignee and a carrier.  The
declared amounts are first the recomputed ones (a clean declaration), then errors are planted on
disjoint consignments; ``planted`` says which consignment has which, as reconcile must classify it.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

import numpy as np

from .engine import assess
from .rates import ExchangeRates
from .regimes import get
from .tariff import sample

ON = _dt.date(2026, 6, 30)
DAYS = [_dt.date(2026, 6, d) for d in range(1, 31)]
#: the planted errors, as reconcile classifies them, and how many consignments get each per 1,000
PLANTS = {"under_declared": 4, "over_declared": 3, "within_tolerance": 3, "relief_claimed_not_due": 2,
          "relief_due_not_claimed": 2, "collection_at_sale_above_threshold": 2}


def declarations(n_items: int, *, seed: int = 0) -> tuple[dict[str, np.ndarray], dict[str, list[int]], Any]:
    """(items with declared_duty, declared_vat, relief_claimed and carrier columns; planted class ->
    consignment numbers; (regime, tariff, rates) to reconcile them with)."""
    from .cli import demo_rates, synthetic_batch
    regime = get("EU", on=ON)
    tariff = sample("EU")
    rates: ExchangeRates = demo_rates("EUR")
    items = synthetic_batch(n_items, tariff, sorted(regime.vat.rates), seed=seed, dates=DAYS, consignees=True)
    rng = np.random.default_rng(seed + 1)
    n_cons = int(items["consignment"][-1]) + 1
    items["carrier"] = np.array(["PostNL", "DHL", "UPS", "La Poste"])[rng.integers(0, 4, size=n_cons)][
        items["consignment"]]
    def run() -> Any:
        return assess(items, regime=regime, tariff=tariff, rates=rates, on=ON, amounts="minor", keep=["carrier"])

    # a clean declaration claims collection at sale (IOSS) only up to the EUR 150 it is allowed for
    above_150 = run().consignments["intrinsic"] > 15_000
    items["collected_at_sale"] = items["collected_at_sale"] & ~above_150[items["consignment"]]
    clean = run()
    duty, vat = clean.items["duty"].copy(), clean.items["vat"].copy()
    relief = (clean.items["rule"] & 9) != 0
    cons = items["consignment"]
    first = np.searchsorted(cons, np.arange(n_cons))
    value = clean.consignments["intrinsic"]
    relieved_c = np.bincount(cons, weights=relief, minlength=n_cons) > 0
    candidates = {
        "under_declared": np.flatnonzero(clean.consignments["duty"] >= 200),
        "over_declared": np.flatnonzero(clean.consignments["vat"] > 0),
        "within_tolerance": np.flatnonzero(clean.consignments["vat"] > 0),
        "relief_claimed_not_due": np.flatnonzero(~relieved_c & (clean.consignments["duty"] == 0)
                                                 & (value > 15_000)),
        "relief_due_not_claimed": np.flatnonzero(relieved_c),
        "collection_at_sale_above_threshold": np.flatnonzero((value > 15_000) & ~items["collected_at_sale"][first]),
    }
    taken = np.zeros(n_cons, dtype=bool)
    planted: dict[str, list[int]] = {}
    for kind, per_thousand in PLANTS.items():
        pool = candidates[kind][~taken[candidates[kind]]]
        chosen = np.sort(rng.choice(pool, size=min(len(pool), max(1, n_cons * per_thousand // 1000)), replace=False))
        taken[chosen] = True
        planted[kind] = chosen.tolist()
        row = first[chosen]  # the consignment's first item carries the error
        if kind == "under_declared":
            row = np.array([first[c] + int(np.argmax(clean.items["duty"][first[c]:first[c] + _size(cons, c)]))
                            for c in chosen], dtype=np.int64)
            duty[row] -= np.minimum(duty[row], 150)
        elif kind in ("over_declared", "within_tolerance"):
            row = np.array([first[c] + int(np.argmax(clean.items["vat"][first[c]:first[c] + _size(cons, c)]))
                            for c in chosen], dtype=np.int64)
            vat[row] += 250 if kind == "over_declared" else 1
        elif kind == "relief_claimed_not_due":
            relief[row] = True
        elif kind == "relief_due_not_claimed":
            rows = np.flatnonzero(np.isin(cons, chosen) & relief)
            relief[rows] = False
        else:
            items["collected_at_sale"] = items["collected_at_sale"].copy()
            items["collected_at_sale"][np.isin(cons, chosen)] = True
    items.update(declared_duty=duty, declared_vat=vat, relief_claimed=relief)
    return items, planted, (regime, tariff, rates)


def _size(cons: np.ndarray, c: int) -> int:
    return int(np.searchsorted(cons, c, side="right") - np.searchsorted(cons, c))
