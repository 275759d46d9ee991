"""explain(): one item's derivation, recomputed by the reference from what an assessment read."""

from __future__ import annotations

import numpy as np

from ..assessment import CANNOT_ASSESS, ITEM_AMOUNTS, Assessment, Inputs
from ..columns import is_missing, to_date
from .lookup import NaiveTariff
from .rules import sums_per
from .steps import Trace, assess


def _reason(inputs: Inputs, i: int) -> str:
    """Why item i's duty could not be assessed: its tariff line's reason, on the day it was assessed."""
    origin = inputs.value("origin", i) if "origin" in inputs.columns else ""
    day = inputs.on if inputs.on is not None else to_date(inputs.value("date", i))
    found = NaiveTariff(inputs.tariff, inputs.ambiguous).duty(inputs.value("hs_code", i),
                                                              "" if is_missing(origin) else origin, day)
    return str(getattr(found, "reason", found))


def explain(inputs: Inputs, i: int, stored: Assessment | None = None) -> str:
    """Recompute item i with the reference, from what the assessment read, and return its derivation.

    Only the rows that can influence item i are recomputed: its consignment, or,
    where the regime aggregates per consignee, every consignment of its consignee.
    With `stored` (the assessment explained), a stored amount that differs from the
    derivation is named.
    """
    reg, n = inputs.regime, len(inputs)
    if not 0 <= i < n:
        raise IndexError(f"row {i} is outside 0..{n - 1}")
    per_consignee = bool({"consignee_day", "consignee_year"} & sums_per(reg)) and "consignee" in inputs.columns
    rows = inputs.rows(i, per_consignee)
    at = int(np.searchsorted(rows, i))  # item i among the rows recomputed
    trace = Trace(at)
    result = assess(inputs.take(rows), regime=reg, tariff=inputs.tariff, rates=inputs.rates, on=inputs.on,
                    currency=inputs.currency, amounts=inputs.amounts, ambiguous=inputs.ambiguous, _trace=trace)
    cons = inputs.value("consignment", i)
    lines = [f"item {i} (consignment {cons!r}, code {inputs.value('hs_code', i)}) under {reg.id}, "
             f"amounts in minor units of {reg.currency}:"]
    lines += [f"  {k + 1}. {t}" for k, t in enumerate(trace.lines)]
    if stored is not None:
        for k in (*ITEM_AMOUNTS, "rule"):
            if int(stored.items[k][i]) != int(result.items[k][at]):
                lines.append(f"  WARNING: the assessment holds {k} {int(stored.items[k][i])} where this derivation "
                             f"gives {int(result.items[k][at])} (its arrays were overwritten, or the engines differ)")
    if result.rule[at] & CANNOT_ASSESS:
        lines.append(f"  duty NOT assessed: {_reason(inputs, i)}; the total below lacks it")
    mine = inputs.consignment_index[rows] == inputs.consignment_index[i]
    others = [int(r) for r in rows[mine & ((result.rule & CANNOT_ASSESS) != 0)] if r != i]
    if others:
        lines.append(f"  consignment {cons!r} is incomplete: the duty of item(s) {', '.join(map(str, others))} "
                     "could not be assessed; the consignment's totals lack it")
    lines.append(f"  total due at the border: {result.as_decimal('total', at)} {reg.currency}")
    return "\n".join(lines)
