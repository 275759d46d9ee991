"""Risk flags over a batch, each with its evidence: split consignments, undervaluation, bunching of
values just under a threshold, and collection at sale claimed above its threshold.

Vectorised over consignments and items (sorts and cumulative sums); the values compared are the
assessment's exact amounts in minor units of the customs currency.  The statistics of
undervaluation (median, MAD, robust z) are floats: they rank items for a look, they compute no money.
The thresholds are the regime's conditions per consignment (deminimis.thresholds); a batch with
per-row dates must be of one regime version.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import grouping
from .arguments import candidate_regimes
from .assessment import BIT, Assessment
from .columns import KNOWN_COLUMNS, read_columns, to_date
from .engine import assess
from .engine.checks import check_distinct, read_amounts
from .engine.factorize import factorize_ids, factorize_list
from .rates import DatedRates, ExchangeRates
from .regimes.model import Regime
from .tariff.table import Tariff
from .thresholds import BASIS_COLUMN, above, beyond, consignment_limits

KINDS = ("split_consignment", "undervaluation", "bunching", "collection_at_sale_above_threshold")
#: per flag kind: a table, column -> values
Evidence = dict[str, list[Any]]


@dataclass(frozen=True)
class RiskFlags:
    """``items[kind]``: per item, flagged or not; ``evidence[kind]``: a table (column -> list), one row
    per flagged window (splits), item (undervaluation), group (bunching) or consignment (collection at
    sale), with the figures that raised it."""

    currency: str
    items: dict[str, np.ndarray]
    evidence: dict[str, Evidence]
    provenance: dict[str, Any]

    def counts(self) -> dict[str, int]:
        return {k: int(np.count_nonzero(v)) for k, v in self.items.items()}


def flags(items: Any, *, regime: Regime | dict[str, Any] | str, tariff: Tariff,
          rates: ExchangeRates | DatedRates | None = None, on: _dt.date | None = None, window_days: int = 7,
          robust_z: float = 3.5, min_group: int = 8,
          reference: Mapping[tuple[str, str], tuple[float, float]] | None = None, band: float = 0.1,
          bunching_ratio: float = 3.0, min_bunched: int = 20, seller: str | None = None,
          currency: str | None = None, amounts: str = "decimal", keep: Sequence[str] = (), ambiguous: str = "flag",
          result: Assessment | None = None) -> RiskFlags:
    """Flag the batch.

    window_days : consignments of one consignee within this many days are looked at together; a window
        of two or more, each at or under a threshold and together above it, is a split.  Needs the
        ``consignee`` column (and ``date``; without it every consignment is on `on`).
    robust_z, min_group, reference : an item is undervalued when its unit value (intrinsic value per
        ``quantity``, or per item) lies more than robust_z robust deviations (MAD / 0.6745) below the
        median of its 6-digit subheading and origin; from the batch for groups of min_group items or
        more, or from `reference` ((subheading, origin) -> (median, MAD), minor units per unit).
    band, bunching_ratio, min_bunched, seller : per `seller` column (or the whole batch), when at
        least min_bunched consignments lie in (T(1 - band), T] and more than bunching_ratio times as
        many as in (T, T(1 + band)], those under T are flagged.
    keep : other columns of the items, passed through (as deminimis.assess's keep=).
    result : the batch's assessment, when it is already made (else it is assessed here).
    """
    found = candidate_regimes(regime, on)
    if len(found) != 1:
        raise ValueError(f"give one regime version (a Regime, a regime id, or on=): {regime!r} has {len(found)}")
    reg = found[0]
    keep = list(dict.fromkeys([*keep, *([seller] if seller is not None and seller not in KNOWN_COLUMNS else [])]))
    if result is None:
        result = assess(items, regime=regime, tariff=tariff, rates=rates, on=on, currency=currency, amounts=amounts,
                        keep=keep, ambiguous=ambiguous)
    cols, n = read_columns(items, keep_arrow=True, keep=keep)
    cons, first, _ = factorize_ids(cols["consignment"], "consignment", "a consignment id is missing", wide=True)
    limits = consignment_limits(reg)
    out: dict[str, np.ndarray] = {}
    evidence: dict[str, dict[str, list[Any]]] = {}
    out["split_consignment"], evidence["split_consignment"] = _splits(cols, result, cons, first, limits,
                                                                       window_days, on)
    out["undervaluation"], evidence["undervaluation"] = _undervalued(cols, result, n, robust_z, min_group,
                                                                     reference)
    out["bunching"], evidence["bunching"] = _bunching(cols, result, cons, first, limits, band, bunching_ratio,
                                                      min_bunched, seller)
    out["collection_at_sale_above_threshold"] = collection_at_sale_above(cols, result, reg, cons)
    flagged = np.flatnonzero(np.bincount(cons, weights=out["collection_at_sale_above_threshold"],
                                         minlength=len(first)))
    ids = result.consignment_ids
    evidence["collection_at_sale_above_threshold"] = {
        "consignment": [ids[int(c)] for c in flagged],
        "intrinsic": result.consignments["intrinsic"][flagged].tolist(),
        "customs_value": result.consignments["customs_value"][flagged].tolist()}
    provenance = {**result.provenance, "window_days": window_days, "robust_z": robust_z, "min_group": min_group,
                  "band": band, "bunching_ratio": bunching_ratio, "min_bunched": min_bunched, "seller": seller,
                  "thresholds": {f"{b} {t}": names for (b, t), names in limits.items()},
                  "reference_table": reference is not None}
    return RiskFlags(currency=result.currency, items=out, evidence=evidence, provenance=provenance)


def collection_at_sale_above(cols: dict[str, Any], result: Assessment, reg: Regime, cons: np.ndarray) -> np.ndarray:
    """Per item: collection at sale is claimed (``collected_at_sale``) where a condition of the regime's
    collection at sale (per item or per consignment) fails, and the assessment did not grant it."""
    if "collected_at_sale" not in cols or reg.collection_at_sale is None:
        return np.zeros(len(cons), dtype=bool)
    claimed = read_flags(cols["collected_at_sale"], "collected_at_sale")
    over = above(reg.collection_at_sale, reg, result.items, result.consignments, cons)
    return claimed & over & ((result.items["rule"] & BIT["vat_at_sale"]) == 0)


def read_flags(column: Any, name: str) -> np.ndarray:
    """A column of true/false (or 1/0) as a bool array; anything else is an error naming the row."""
    codes, distinct = factorize_list(column)
    check_distinct(name, codes, distinct, lambda x: None if isinstance(x, (bool, np.bool_)) or x in (0, 1)
                   else "must be true or false (1 or 0)")
    truth = np.array([bool(x) for x in distinct] or [False], dtype=bool)
    return truth[codes]


def _days(cols: dict[str, Any], first: np.ndarray, on: _dt.date | None) -> np.ndarray:
    """Each consignment's day number (proleptic ordinal)."""
    if "date" not in cols:
        day = (on or _dt.date.today()).toordinal() if not isinstance(on, _dt.datetime) else on.date().toordinal()
        return np.full(len(first), day, dtype=np.int64)
    codes, distinct = factorize_list(cols["date"])
    ordinal = np.array([to_date(d).toordinal() for d in distinct] or [0], dtype=np.int64)
    return ordinal[codes[first]]


def _splits(cols: dict[str, Any], result: Assessment, cons: np.ndarray, first: np.ndarray,
            limits: dict[tuple[str, int], str], window: int, on: _dt.date | None) -> tuple[np.ndarray, Evidence]:
    n_cons = len(first)
    evidence: dict[str, list[Any]] = {k: [] for k in ("consignee", "from_day", "to_day", "consignments", "value",
                                                      "basis", "threshold", "rules")}
    flagged = np.zeros(n_cons, dtype=bool)
    if "consignee" not in cols or n_cons == 0:
        return flagged[cons], evidence
    who, _, who_ids = factorize_ids(cols["consignee"], "consignee", "a consignee is missing", wide=True)
    who_ids = list(who_ids) if not isinstance(who_ids, list) else who_ids
    who_c = who[first]
    days = _days(cols, first, on)
    span = int(days.max() - days.min()) + window + 1
    for (basis, t), names in limits.items():
        value = result.consignments[BASIS_COLUMN[basis]]
        under = np.flatnonzero(~beyond(value, t, True) & (value > 0))
        order = under[np.lexsort((days[under], who_c[under]))]
        key = who_c[order] * span + (days[order] - days.min())
        start = np.searchsorted(key, key - (window - 1), side="left")
        sums = np.concatenate(([0], np.cumsum(value[order])))
        end = np.arange(len(order))
        total = sums[end + 1] - sums[start]
        hit = np.flatnonzero((end - start >= 1) & (total > t))
        marks = np.zeros(len(order) + 1, dtype=np.int64)
        np.add.at(marks, start[hit], 1)
        np.add.at(marks, end[hit] + 1, -1)
        flagged[order[np.cumsum(marks[:-1]) > 0]] = True
        for i in hit.tolist():
            evidence["consignee"].append(who_ids[int(who_c[order[i]])])
            evidence["from_day"].append(_dt.date.fromordinal(int(days[order[start[i]]])).isoformat())
            evidence["to_day"].append(_dt.date.fromordinal(int(days[order[i]])).isoformat())
            evidence["consignments"].append(int(i - start[i] + 1))
            evidence["value"].append(int(total[i]))
            evidence["basis"].append(basis)
            evidence["threshold"].append(t)
            evidence["rules"].append(names)
    return flagged[cons], evidence


def _group_medians(group: np.ndarray, values: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The median of values per group 0..k-1 (NaN for an empty group) and each group's size."""
    order = np.lexsort((values, group))
    size = np.bincount(group, minlength=k)
    start = np.concatenate(([0], np.cumsum(size)[:-1]))
    lo = start + (size - 1) // 2
    hi = start + size // 2
    ranked = values[order]
    med = np.full(k, np.nan)
    has = size > 0
    med[has] = (ranked[lo[has]] + ranked[hi[has]]) / 2
    return med, size


def _undervalued(cols: dict[str, Any], result: Assessment, n: int, robust_z: float, min_group: int,
                 reference: Mapping[tuple[str, str], tuple[float, float]] | None) -> tuple[np.ndarray, Evidence]:
    if "quantity" in cols:
        qty = read_amounts(cols["quantity"], lambda: np.full(n, 3, dtype=np.int64), "quantity", False,
                           "a quantity in thousandths", optional=True)[0]
        qty = np.where(qty > 0, qty, 1000)
    else:
        qty = np.full(n, 1000, dtype=np.int64)
    unit = result.items["intrinsic"] * 1000.0 / qty
    parts = [grouping.keys_of(cols, "subheading")]
    if "origin" in cols:
        parts.append(grouping.keys_of(cols, "origin"))
    group, keys = grouping.combine(parts)
    keys = [key if isinstance(key, tuple) else (key, None) for key in keys]
    k = len(keys)
    med, size = _group_medians(group, unit, k)
    mad, _ = _group_medians(group, np.abs(unit - med[group]), k)
    usable = size >= min_group
    if reference is not None:
        for g, key in enumerate(keys):
            if key in reference:
                med[g], mad[g] = reference[key]
                usable[g] = True
    usable &= mad > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        z = 0.6745 * (unit - med[group]) / mad[group]
    flagged = usable[group] & (z < -robust_z)
    rows = np.flatnonzero(flagged)
    evidence = {"row": rows.tolist(), "subheading": [keys[g][0] for g in group[rows]],
                "origin": [keys[g][1] for g in group[rows]], "unit_value": unit[rows].tolist(),
                "median": med[group[rows]].tolist(), "mad": mad[group[rows]].tolist(), "robust_z": z[rows].tolist()}
    return flagged, evidence


def _bunching(cols: dict[str, Any], result: Assessment, cons: np.ndarray, first: np.ndarray,
              limits: dict[tuple[str, int], str], band: float, ratio: float, min_bunched: int,
              seller: str | None) -> tuple[np.ndarray, Evidence]:
    n_cons = len(first)
    if seller is not None:
        codes, keys = grouping.keys_of(cols, seller)
        who = codes[first]
    else:
        who, keys = np.zeros(n_cons, dtype=np.int64), [None]
    flagged = np.zeros(n_cons, dtype=bool)
    evidence: dict[str, list[Any]] = {k: [] for k in ("seller", "basis", "threshold", "just_under", "just_over")}
    for (basis, t), _names in limits.items():
        value = result.consignments[BASIS_COLUMN[basis]]
        under = (value > t * (1 - band)) & (value <= t)
        over = (value > t) & (value <= t * (1 + band))
        n_under = np.bincount(who, weights=under, minlength=len(keys))
        n_over = np.bincount(who, weights=over, minlength=len(keys))
        bunched = (n_under >= min_bunched) & (n_under > ratio * np.maximum(n_over, 1))
        flagged |= under & bunched[who]
        for g in np.flatnonzero(bunched).tolist():
            for name, v in (("seller", keys[g]), ("basis", basis), ("threshold", t),
                            ("just_under", int(n_under[g])), ("just_over", int(n_over[g]))):
                evidence[name].append(v)
    return flagged[cons], evidence
