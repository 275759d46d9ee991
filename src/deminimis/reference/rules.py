"""The regime's rules read as data (docs/semantics.md section 4), and the VAT category of a code
(section 6): the reference's own reading of the Regime's fields."""

from __future__ import annotations

from typing import Any

from ..columns import to_date
from ..regimes.model import Condition, Regime, Rule, VatSpec
from .amounts import fits, regime_minor

#: the kinds of rule, in the order the engine numbers them
RULE_KINDS = ("duty_relief", "vat_relief", "collection_at_sale", "flat_duty", "vat_reduction", "simplified_duty")


def rules_by_kind(reg: Regime) -> dict[str, list[Rule]]:
    """The regime's rules of each kind (a relief may have several: any of them applies)."""
    return {
        "duty_relief": list(reg.duty_relief),
        "vat_relief": list(reg.vat_relief),
        "collection_at_sale": [reg.collection_at_sale] if reg.collection_at_sale is not None else [],
        "flat_duty": [reg.flat_duty.rule] if reg.flat_duty is not None else [],
        "vat_reduction": [reg.vat_reduction.rule] if reg.vat_reduction is not None else [],
        "simplified_duty": [reg.simplified_duty.rule] if reg.simplified_duty is not None else [],
    }


def every_rule(reg: Regime) -> list[Rule]:
    """Every rule, in the order the engine numbers them: up to four duty reliefs, up to four VAT
    reliefs, collection at sale, flat duty, VAT reduction, simplified duty."""
    by_kind = rules_by_kind(reg)
    return [r for kind in RULE_KINDS for r in by_kind[kind]]


def sums_per(reg: Regime) -> set[str]:
    """How the regime's conditions sum values: per item, consignment, consignee and day or year."""
    return {c.per for r in every_rule(reg) for c in r.conditions}


def restricted_columns(r: Rule) -> list[tuple[str, tuple[str, ...]]]:
    """The consignment columns a rule restricts, and the values that qualify."""
    limits = [("transport", r.transports), ("nature", r.natures), ("shipped_from", r.shipped_from)]
    return [(col, values) for col, values in limits if values is not None]


def excluded(r: Rule, code: str, origin: str) -> bool:
    """The goods never qualify: their code begins with an excluded prefix, or their origin is excluded."""
    if any(code.startswith(p) for p in r.excluded_codes):
        return True
    return origin != "" and origin in r.excluded_origins


def holds(x: int, c: Condition | Any, threshold: int) -> bool:
    """x is within a condition's (or waiver's) threshold: at most it, or below it when not inclusive."""
    return x <= threshold if c.inclusive else x < threshold


# 6. VAT / GST: the category of a code


def vat_category(vat: VatSpec, code: str) -> str:
    """The category whose listed prefix is the longest that begins the code (on a tie, the first listed);
    'standard' when none does."""
    matches = [(len(p), -k, cat) for k, (cat, p) in enumerate((cat, p) for cat, ps in vat.categories.items()
                                                               for p in ps) if code.startswith(p)]
    return max(matches)[2] if matches else "standard"


# 4. Rules: reliefs, collection at sale, flat and simplified duty, VAT reduction


class RuleTest:
    """Whether a rule of a kind applies to an item: its consignment's columns and flag, every
    condition on the value aggregated as the condition says, the item's code and origin."""

    def __init__(self, reg: Regime, batch: Any, order: list[int], members: dict[int, list[int]],
                 intrinsic: list[int], c_intrinsic: dict[int, int], c_customs: dict[int, int]) -> None:
        self.reg, self.batch, self.intrinsic = reg, batch, intrinsic
        self.rules = rules_by_kind(reg)
        self.threshold = {id(c): regime_minor(c.threshold, "threshold", reg)
                          for rs in self.rules.values() for r in rs for c in r.conditions}
        self.threshold_at = {(id(c), dest): regime_minor(t, "threshold", reg)
                             for rs in self.rules.values() for r in rs for c in r.conditions
                             for dest, t in c.thresholds_by_destination}

        def aggregate(cond: Condition) -> dict[int, int]:
            """The condition's value per consignment: its own, or summed over its consignee's."""
            base = c_intrinsic if cond.basis == "intrinsic" else c_customs
            if cond.per == "consignment":
                return dict(base)
            dates = {c: to_date(batch.percons["date"][c]) for c in order}
            period = {c: dates[c] if cond.per == "consignee_day" else dates[c].year for c in order}
            key = {c: (batch.percons["consignee"][c], period[c]) for c in order}
            if cond.per == "consignee_day":
                sums: dict[Any, int] = {}
                for c in order:
                    sums[key[c]] = fits(sums.get(key[c], 0) + base[c], "consignee aggregate value", members[c][0])
                return {c: sums[key[c]] for c in order}
            # consignee_year: cumulative, in order of date, then of first appearance
            out: dict[int, int] = {}
            running: dict[Any, int] = {}
            for j in sorted(range(len(order)), key=lambda j: (dates[order[j]].toordinal(), j)):
                c = order[j]
                running[key[c]] = fits(running.get(key[c], 0) + base[c], "consignee aggregate value",
                                       members[c][0])
                out[c] = running[key[c]]
            return out

        self.aggregates = {id(r): [aggregate(cd) if cd.per != "item" else None for cd in r.conditions]
                           for rs in self.rules.values() for r in rs}

    def _threshold(self, cd: Condition, c: int) -> int:
        """The condition's threshold for consignment c: its destination's, if the condition names it."""
        return self.threshold_at.get((id(cd), self.batch.destination[c]), self.threshold[id(cd)])

    def _consignment_qualifies(self, r: Rule, c: int) -> bool:
        for col, values in restricted_columns(r):
            if self.batch.consignment_value(col, c) not in values:
                return False
        if r.requires_collected_at_sale and not self.batch.percons.get("collected_at_sale", {}).get(c, False):
            return False
        for cd, agg in zip(r.conditions, self.aggregates[id(r)]):
            if agg is not None and not holds(agg[c], cd, self._threshold(cd, c)):
                return False
        return True

    def _item_qualifies(self, r: Rule, c: int, i: int, customs: int) -> bool:
        if excluded(r, self.batch.codes[i], self.batch.origins[i]):
            return False
        for cd in r.conditions:
            if cd.per == "item":
                x = self.intrinsic[i] if cd.basis == "intrinsic" else customs
                if not holds(x, cd, self._threshold(cd, c)):
                    return False
        return True

    def applies(self, kind: str, c: int, i: int, customs: int) -> bool:
        """Some rule of that kind applies to item i (of consignment c, customs value `customs`)."""
        return any(self._consignment_qualifies(r, c) and self._item_qualifies(r, c, i, customs)
                   for r in self.rules[kind])
