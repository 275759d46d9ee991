"""Policy simulation: revenue as a function of a de minimis threshold, and between two regimes.

``threshold_curve`` assesses the batch twice, with the varied rules never applying and always
applying (as far as their per-consignment value condition goes), sorts the consignments once by
the value that condition compares, and reads every threshold off cumulative sums: a consignment at
or under the threshold has the amounts of the second assessment, the others those of the first.
That is exact because a per-consignment condition decides for each consignment alone; the
property test in tests/test_analysis.py checks every point against a full ``assess`` with the
threshold replaced.  Where the varied conditions differ in basis or inclusiveness, the curve is
one full assessment per threshold (``method="full"``), and says so in its provenance.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np

from . import grouping
from .arguments import candidate_regimes
from .assessment import BIT, Assessment, exact_sum
from .columns import read_columns
from .engine import assess
from .engine.factorize import factorize_ids
from .errors import AmountOverflowError
from .money import INT64_MAX
from .rates import DatedRates, ExchangeRates
from .regimes.model import Condition, Regime
from .tariff.table import Tariff
from .thresholds import BASIS_COLUMN, beyond, limit, replaced_conditions, with_threshold

#: the columns of a curve, per threshold
AMOUNTS = ("duty", "duty_at_sale", "vat", "vat_at_sale", "fees", "total")
COUNTS = ("consignments_within", "consignments_relieved", "items_relieved")
RELIEF_BITS = BIT["duty_relief"] | BIT["vat_relief"]


@dataclass(frozen=True)
class ThresholdCurve:
    """Per threshold (major units of ``currency``, as given): revenue in minor units and counts.

    ``points[k]`` is the list of values of column k, one per threshold; ``consignments_within``
    counts the consignments whose value meets the varied condition, ``consignments_relieved`` and
    ``items_relieved`` those with a duty or VAT relief applied.
    """

    currency: str
    relief: tuple[str, ...]
    thresholds: tuple[Decimal, ...]
    points: dict[str, list[int]]
    method: str
    provenance: dict[str, Any]

    def rows(self) -> list[dict[str, Any]]:
        return [{"threshold": t, **{k: v[i] for k, v in self.points.items()}} for i, t in enumerate(self.thresholds)]


def threshold_curve(items: Any, *, regime: Regime | dict[str, Any] | str, tariff: Tariff,
                    thresholds: Sequence[Decimal | str | int], rates: ExchangeRates | DatedRates | None = None,
                    on: _dt.date | None = None, relief: str | Sequence[str] = "duty_relief",
                    method: str = "auto", currency: str | None = None, amounts: str = "decimal",
                    keep: Sequence[str] = (), ambiguous: str = "flag", n_threads: int | None = 1) -> ThresholdCurve:
    """Revenue and reliefs for each threshold of the rules named in `relief` (keys of the regime:
    duty_relief, vat_relief, collection_at_sale, flat_duty, vat_reduction), whose conditions per
    consignment are set to the threshold; conditions per item or per consignee keep theirs.

    method : "auto" (the cumulative sums where they are exact, else "full"), "fast" (the cumulative
        sums, or a ValueError saying why not) or "full" (one assessment per threshold).
    """
    keys = (relief,) if isinstance(relief, str) else tuple(relief)
    reg = _one_regime(regime, on)
    varied = replaced_conditions(reg, keys)
    if not varied:
        raise ValueError(f"{reg.id} has no condition per consignment in {keys}: no threshold to vary")
    points = [Decimal(str(t)) for t in thresholds]
    limits = [reg.amount_minor(t, "threshold") for t in points]
    fast_ok = len({(c.basis, c.inclusive) for c in varied}) == 1
    if method not in ("auto", "fast", "full"):
        raise ValueError(f"method must be 'auto', 'fast' or 'full', got {method!r}")
    if method == "fast" and not fast_ok:
        raise ValueError(f"the conditions of {keys} differ in basis or inclusiveness: the curve needs one "
                         "assessment per threshold (method='full')")
    use_fast = fast_ok and method != "full"

    def run(r: Regime) -> Assessment:
        return assess(items, regime=r, tariff=tariff, rates=rates, on=on, currency=currency, amounts=amounts,
                      keep=keep, ambiguous=ambiguous, n_threads=n_threads)

    cols, _ = read_columns(items, keep_arrow=True, keep=keep)
    cons = factorize_ids(cols["consignment"], "consignment", "a consignment id is missing", wide=True)[0]
    basis, inclusive = varied[0].basis, varied[0].inclusive
    if use_fast:
        never = run(with_threshold(reg, keys, 0, inclusive=False))        # value < 0: never
        big = Decimal(INT64_MAX).scaleb(-reg.exponent)
        always = run(with_threshold(reg, keys, big, inclusive=True))    # value <= the largest amount: always
        out = _from_two(never, always, cons, BASIS_COLUMN[basis], inclusive, limits)
    else:
        out = {k: [] for k in (*AMOUNTS, *COUNTS)}
        for t in points:
            varied_regime = with_threshold(reg, keys, t)
            one = run(varied_regime)
            for k, v in _totals(one, cons).items():
                out[k].append(v)
            within = ~_beyond_each(one, replaced_conditions(varied_regime, keys), varied_regime)
            out["consignments_within"].append(int(np.count_nonzero(within)))
    provenance = {"regime": reg.id, "regime_hash": reg.content_hash, "tariff_hash": tariff.content_hash,
                  "rates_hash": rates.content_hash if rates is not None else None,
                  "assessment_date": on.isoformat() if on is not None else "per-row", "relief": list(keys),
                  "method": "two assessments, cumulative sums" if use_fast else "one assessment per threshold"}
    return ThresholdCurve(currency=reg.currency, relief=keys, thresholds=tuple(points), points=out,
                          method="fast" if use_fast else "full", provenance=provenance)


def _one_regime(regime: Regime | dict[str, Any] | str, on: _dt.date | None) -> Regime:
    found = candidate_regimes(regime, on)
    if len(found) != 1:
        raise ValueError(f"give one regime version (a Regime, a regime id, or on=): {regime!r} has {len(found)}")
    return found[0]


def _relieved(result: Assessment, cons: np.ndarray) -> np.ndarray:
    """Per consignment: how many of its items have a duty or VAT relief."""
    mask = (result.items["rule"] & RELIEF_BITS) != 0
    return np.bincount(cons, weights=mask, minlength=len(result.consignment_ids)).astype(np.int64)


def _totals(result: Assessment, cons: np.ndarray) -> dict[str, int]:
    per = _relieved(result, cons)
    return {**{k: exact_sum(result.consignments[k]) for k in AMOUNTS},
            "consignments_relieved": int(np.count_nonzero(per)), "items_relieved": int(per.sum())}


def _beyond_each(result: Assessment, varied: list[Condition], reg: Regime) -> np.ndarray:
    """Per consignment: some varied condition fails."""
    out = np.zeros(len(result.consignment_ids), dtype=bool)
    for c in varied:
        out |= beyond(result.consignments[BASIS_COLUMN[c.basis]], limit(reg, c), c.inclusive)
    return out


def _from_two(never: Assessment, always: Assessment, cons: np.ndarray, basis: str, inclusive: bool,
              limits: list[int]) -> dict[str, list[int]]:
    """Every point from the two assessments: sort once, cumulative sums, one search per threshold."""
    value = never.consignments[basis]
    order = np.argsort(value, kind="stable")
    ranked = value[order]
    at = np.searchsorted(ranked, np.array(limits, dtype=np.int64), side="right" if inclusive else "left")
    columns = {k: (never.consignments[k], always.consignments[k]) for k in AMOUNTS}
    relieved = (_relieved(never, cons), _relieved(always, cons))
    columns["items_relieved"] = relieved
    columns["consignments_relieved"] = ((relieved[0] > 0).astype(np.int64), (relieved[1] > 0).astype(np.int64))
    out: dict[str, list[int]] = {"consignments_within": at.tolist()}
    for k, (off, on_) in columns.items():
        if exact_sum(off) > INT64_MAX or exact_sum(on_) > INT64_MAX:  # the cumulative sums must not wrap
            raise AmountOverflowError(f"the batch's {k} does not fit in 64 bits")
        c_off = np.concatenate(([0], np.cumsum(off[order])))
        c_on = np.concatenate(([0], np.cumsum(on_[order])))
        out[k] = (c_on[at] + (c_off[-1] - c_off[at])).tolist()
    return {k: out[k] for k in (*AMOUNTS, *COUNTS)}


@dataclass(frozen=True)
class Comparison:
    """Revenue per group under each regime (minor units of ``currency``) and the difference last - first."""

    currency: str
    regimes: tuple[str, ...]
    group_by: str | None
    rows: list[dict[str, Any]]
    provenance: dict[str, Any]


def compare(items: Any, *, regimes: Sequence[Regime | dict[str, Any] | str], tariff: Tariff,
            rates: ExchangeRates | DatedRates | None = None, on: _dt.date | Sequence[_dt.date] | None = None,
            group_by: str | None = None, keep: Sequence[str] = (), currency: str | None = None,
            amounts: str = "decimal", ambiguous: str = "flag", n_threads: int | None = 1) -> Comparison:
    """The same items under several regimes: total revenue per group (``group_by``: a column or
    chapter/heading/subheading/month, joined with ``*`` for several) and the difference between
    the last regime and the first.  `on` is one date, or one per regime (a regime must be in force
    on its date: the EU before and after 1 July 2026 needs two)."""
    if len(regimes) < 2:
        raise ValueError("compare needs at least two regimes")
    dates: list[_dt.date | None] = list(on) if isinstance(on, (list, tuple)) else [on] * len(regimes)  # type: ignore[list-item]
    if len(dates) != len(regimes):
        raise ValueError(f"give one date per regime: {len(regimes)} regimes, {len(dates)} dates")
    results = [assess(items, regime=r, tariff=tariff, rates=rates, on=d, currency=currency, amounts=amounts,
                      keep=keep, ambiguous=ambiguous, n_threads=n_threads) for r, d in zip(regimes, dates)]
    if len({r.currency for r in results}) != 1:
        raise ValueError("the regimes compared must have one currency")
    cols, n = read_columns(items, keep_arrow=True, keep=keep)
    if group_by:
        codes, keys = grouping.combine([grouping.keys_of(cols, p) for p in group_by.split("*")])
    else:
        codes, keys = np.zeros(n, dtype=np.int64), [None]
    ids = [str(r.provenance["regime"]) for r in results]
    per = [{k: grouping.sums(codes, len(keys), r.items[k]) for k in AMOUNTS} for r in results]
    rows = []
    for g, key in enumerate(keys):
        row: dict[str, Any] = {"group": key}
        for rid, sums in zip(ids, per):
            row.update({f"{k}[{rid}]": sums[k][g] for k in AMOUNTS})
        row["total_difference"] = per[-1]["total"][g] - per[0]["total"][g]
        rows.append(row)
    return Comparison(currency=results[0].currency, regimes=tuple(ids), group_by=group_by, rows=rows,
                      provenance={"regimes": [r.provenance for r in results]})
