"""Reconciliation: recompute a batch of declarations and classify every difference with what was declared.

>>> rec = deminimis.audit.reconcile(items, declared={"duty": "declared_duty", "vat": "declared_vat",
...                                                 "relief": "relief_claimed"},
...                                 regime="EU", tariff=tariff, rates=rates, on=day, group_by=["chapter"])
>>> rec.totals["under_declared"]      # revenue at risk, exact minor units of rec.currency

The items are assessed once with ``deminimis.assess`` (the declared columns pass through its
strict schema as ``keep=`` columns).  Declared amounts are read exactly as ``value`` is (the
engine's own reading: decimals in major units of the customs currency, or minor units with
``amounts="minor"``); a bad declared amount is an error naming its row and column.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np

from . import grouping
from .arguments import regime_parts
from .assessment import BIT, CANNOT_ASSESS, Assessment
from .columns import KNOWN_COLUMNS, read_columns
from .engine import assess
from .engine.checks import read_amounts
from .engine.factorize import factorize_ids
from .errors import AmountOverflowError
from .money import INT64_MAX, exponent, to_minor
from .rates import DatedRates, ExchangeRates
from .regimes.model import Regime
from .risk import collection_at_sale_above, read_flags
from .tariff.table import Tariff

#: the classes, most serious first: a row gets the first that applies
CLASSES = (
    "not_assessable",                       # its duty could not be assessed (or its input was invalid)
    "collection_at_sale_above_threshold",   # collected_at_sale claimed where the consignment is above its limit
    "relief_claimed_not_due",               # relief claimed, but the recomputation relieves nothing
    "relief_due_not_claimed",               # the recomputation relieves, but no relief was claimed
    "under_declared",                       # some declared amount below the recomputed one, beyond tolerance
    "over_declared",                        # some declared amount above the recomputed one, beyond tolerance
    "within_tolerance",                     # differences, none beyond the tolerance
    "match",                                # every declared amount equals the recomputed one
)
#: the amounts that can be declared (item amounts of the assessment); "total" is their sum at the border
DECLARABLE = ("duty", "duty_at_sale", "vat", "vat_at_sale", "fees", "total")
RELIEF_BITS = BIT["duty_relief"] | BIT["vat_relief"]


@dataclass(frozen=True)
class Reconciliation:
    """What was declared against what is due, per item and per consignment, in minor units of ``currency``.

    ``classes[i]`` indexes CLASSES (``class_names()`` gives the names); ``difference[i]`` is recomputed
    minus declared, summed over the declared amounts (``total`` only when no component is declared):
    positive is revenue missing, negative is overpaid.  ``totals[c]`` is the exact sum of the
    differences of the items of class c; ``by_group[g][key][c]`` the same per key of grouping g.
    """

    currency: str
    declared_columns: dict[str, str]
    tolerance: int
    classes: np.ndarray
    recomputed: dict[str, np.ndarray]
    declared: dict[str, np.ndarray]
    difference: np.ndarray
    consignment_ids: Sequence[Any]
    consignment_classes: np.ndarray
    consignment_difference: np.ndarray
    totals: dict[str, int]
    counts: dict[str, int]
    by_group: dict[str, dict[Any, dict[str, int]]]
    assessment: Assessment = field(repr=False)
    provenance: dict[str, Any] = field(repr=False)

    def class_names(self, per: str = "item") -> np.ndarray:
        codes = self.classes if per == "item" else self.consignment_classes
        return np.array(CLASSES, dtype=object)[codes]

    def at_risk(self) -> int:
        """Revenue missing: the exact sum of the positive item differences."""
        return grouping.sums(np.zeros(len(self.difference), dtype=np.int64), 1,
                             np.maximum(self.difference, 0))[0]

    def group_table(self, name: str) -> list[dict[str, Any]]:
        """One row per key of a grouping, with the difference per class (for CSV or a DataFrame)."""
        return [{name: key if not isinstance(key, tuple) else " / ".join(map(str, key)), **per_class}
                for key, per_class in self.by_group[name].items()]


def reconcile(items: Any, *, declared: Mapping[str, str], regime: Regime | dict[str, Any] | str, tariff: Tariff,
              rates: ExchangeRates | DatedRates | None = None, on: _dt.date | None = None,
              tolerance: Decimal | str | int | None = None,
              group_by: Sequence[str] = (), currency: str | None = None, amounts: str = "decimal",
              keep: Sequence[str] = (), errors: str = "raise", ambiguous: str = "flag",
              n_threads: int | None = 1) -> Reconciliation:
    """Recompute `items` and classify each item and consignment against what was declared.

    declared : which column holds each declared amount: keys among DECLARABLE (amounts per item, in
        the customs currency), and optionally ``"relief"`` (a column of true/false: the declaration
        claimed a de minimis relief for the item).  Without ``relief``, the relief classes are not used.
        A claim of collection at sale is the items' own ``collected_at_sale`` column.
    tolerance : the largest difference per item and amount taken as rounding (a decimal in major
        units of the customs currency, or minor units with amounts="minor"); default one minor unit.
        A consignment's tolerance is that times its number of items.
    group_by : groupings for ``by_group``: item columns, kept columns, or chapter, heading,
        subheading, month (see deminimis.grouping).
    Other arguments are deminimis.assess's.  Conditions of collection at sale per consignee are
    not evaluated for the collection_at_sale_above_threshold class.
    """
    unknown = set(declared) - {*DECLARABLE, "relief"}
    if unknown or not declared:
        raise ValueError(f"declared: give a mapping of {DECLARABLE} or 'relief' to column names; "
                         f"unknown keys {sorted(unknown)}")
    grouped = [part for name in group_by for part in name.split("*")]
    extra = [name for name in (*declared.values(), *grouped) if name not in KNOWN_COLUMNS
             and name not in grouping.DERIVED]
    keep_all = list(dict.fromkeys([*keep, *extra]))
    result = assess(items, regime=regime, tariff=tariff, rates=rates, on=on, currency=currency, amounts=amounts,
                    keep=keep_all, errors=errors, ambiguous=ambiguous, n_threads=n_threads)
    cols, n = read_columns(items, keep_arrow=True, keep=keep_all)
    cons, _, _ = factorize_ids(cols["consignment"], "consignment", "a consignment id is missing", wide=True)
    cur = result.currency
    minor = amounts == "minor"
    tol = 1 if tolerance is None else (int(tolerance) if minor else to_minor(tolerance, exponent(cur), what=cur))

    kinds = [k for k in DECLARABLE if k in declared]
    decl = {k: read_amounts(cols[declared[k]], lambda: np.full(n, exponent(cur), dtype=np.int64), declared[k],
                            minor, cur)[0] for k in kinds}
    recomputed = {k: result.items[k] for k in kinds}
    diffs = {k: recomputed[k] - decl[k] for k in kinds}  # both in [0, INT64_MAX]: no wrap
    counted = [k for k in kinds if k != "total"] or kinds
    difference = _summed([diffs[k] for k in counted], "difference")

    # the reasons that are not amounts, per item
    not_assessable = (result.items["rule"] & CANNOT_ASSESS) != 0
    if result.status is not None:
        not_assessable |= result.status != 0
    cas_above = np.zeros(n, dtype=bool)
    for reg, rows in regime_parts(regime, on, cols, n, None):
        part = slice(None) if rows is None else rows
        cas_above[part] = collection_at_sale_above(cols, result, reg, cons)[part]
    relieved = (result.items["rule"] & RELIEF_BITS) != 0
    claims = read_flags(cols[declared["relief"]], declared["relief"]) if "relief" in declared else relieved
    claimed_not_due, unclaimed_due = claims & ~relieved, relieved & ~claims  # without claims: never
    item_classes = _classify(not_assessable, cas_above, claimed_not_due, unclaimed_due, diffs, tol)

    n_cons = len(result.consignment_ids)

    def anyof(mask: np.ndarray) -> np.ndarray:
        return np.bincount(cons, weights=mask, minlength=n_cons) > 0

    cons_diffs = {k: _summed_by(cons, n_cons, diffs[k], k) for k in kinds}
    cons_classes = _classify(anyof(not_assessable), anyof(cas_above), anyof(claimed_not_due), anyof(unclaimed_due),
                             cons_diffs, tol * np.bincount(cons, minlength=n_cons))
    codes = item_classes.astype(np.int64)
    totals = dict(zip(CLASSES, grouping.sums(codes, len(CLASSES), difference)))
    counts = dict(zip(CLASSES, grouping.counts(codes, len(CLASSES))))
    by_group = {}
    for name in group_by:
        g_codes, keys = grouping.combine([grouping.keys_of(cols, part) for part in name.split("*")])
        cell = g_codes * len(CLASSES) + codes
        sums = grouping.sums(cell, len(keys) * len(CLASSES), difference)
        by_group[name] = {key: dict(zip(CLASSES, sums[g * len(CLASSES):(g + 1) * len(CLASSES)]))
                          for g, key in enumerate(keys)}
    for arr in (item_classes, difference, cons_classes):
        arr.flags.writeable = False
    provenance = {**result.provenance, "declared": dict(declared), "tolerance_minor": tol}
    return Reconciliation(
        currency=cur, declared_columns=dict(declared), tolerance=tol, classes=item_classes, recomputed=recomputed,
        declared=decl, difference=difference, consignment_ids=result.consignment_ids,
        consignment_classes=cons_classes,
        consignment_difference=_summed([cons_diffs[k] for k in counted], "consignment difference"),
        totals=totals, counts=counts, by_group=by_group, assessment=result, provenance=provenance)


def _classify(not_assessable: np.ndarray, cas_above: np.ndarray, claimed_not_due: np.ndarray,
              unclaimed_due: np.ndarray, diffs: dict[str, np.ndarray], tol: Any) -> np.ndarray:
    """The class of each row (item or consignment): the first of CLASSES whose test holds."""
    n = len(not_assessable)
    under = np.zeros(n, dtype=bool)
    over = np.zeros(n, dtype=bool)
    differs = np.zeros(n, dtype=bool)
    for d in diffs.values():
        under |= d > tol
        over |= d < -tol
        differs |= d != 0
    tests = (not_assessable, cas_above, claimed_not_due, unclaimed_due, under, over, differs, np.ones(n, dtype=bool))
    return np.argmax(np.stack(tests), axis=0).astype(np.int8)


def _summed(columns: list[np.ndarray], what: str) -> np.ndarray:
    """Element-wise sum of signed int64 columns, checked: a sum beyond int64 is an error."""
    total = np.zeros(len(columns[0]), dtype=np.int64)
    for c in columns:
        new = total + c
        wrapped = ((c > 0) & (new < total)) | ((c < 0) & (new > total))
        if wrapped.any():
            row = int(np.flatnonzero(wrapped)[0])
            raise AmountOverflowError(f"the {what} does not fit in 64 bits", row=row)
        total = new
    return total


def _summed_by(cons: np.ndarray, n_cons: int, values: np.ndarray, what: str) -> np.ndarray:
    exact = grouping.sums(cons, n_cons, values)
    over = [i for i, s in enumerate(exact) if not -INT64_MAX <= s <= INT64_MAX]
    if over:
        raise AmountOverflowError(f"the {what} difference of consignment number {over[0]} does not fit in 64 bits")
    return np.array(exact, dtype=np.int64)
