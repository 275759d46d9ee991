"""The value thresholds of a regime's rules: in minor units, which items and consignments are above
them, and the same regime with a threshold replaced (for simulation).

Only conditions aggregated per item or per consignment can be evaluated from one consignment;
conditions per consignee (day or year) depend on other consignments and are left out of
``above`` (documented where it is used).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import numpy as np

from .regimes.model import Condition, Regime, Rule

#: the regime keys whose rules have value conditions (Regime.to_dict's keys)
RULE_KEYS = ("duty_relief", "vat_relief", "collection_at_sale", "flat_duty", "vat_reduction")
#: the amount column holding each condition basis
BASIS_COLUMN = {"intrinsic": "intrinsic", "customs": "customs_value"}


def rules_of(regime: Regime, key: str) -> list[Rule]:
    """The rules under one key of the regime (a relief may have several)."""
    if key not in RULE_KEYS:
        raise ValueError(f"no rule {key!r}: give one of {RULE_KEYS}")
    found = getattr(regime, key)
    if isinstance(found, tuple):
        return list(found)
    if found is None:
        return []
    return [found if isinstance(found, Rule) else found.rule]


def limit(regime: Regime, condition: Condition) -> int:
    """A condition's threshold in minor units of the regime's currency."""
    return regime.amount_minor(condition.threshold, "threshold")


def beyond(values: np.ndarray, threshold: int, inclusive: bool) -> np.ndarray:
    """Where a value fails a condition `value <= threshold` (or `<` when not inclusive)."""
    return values > threshold if inclusive else values >= threshold


def above(rule: Rule | None, regime: Regime, items: dict[str, np.ndarray], consignments: dict[str, np.ndarray],
          cons_index: np.ndarray) -> np.ndarray:
    """Per item: some condition of the rule (per item or per consignment) fails, so the rule cannot
    apply.  False everywhere for no rule; conditions per consignee are not evaluated."""
    out = np.zeros(len(cons_index), dtype=bool)
    for c in rule.conditions if rule is not None else ():
        column = BASIS_COLUMN[c.basis]
        if c.per == "item":
            out |= beyond(items[column], limit(regime, c), c.inclusive)
        elif c.per == "consignment":
            out |= beyond(consignments[column], limit(regime, c), c.inclusive)[cons_index]
    return out


def consignment_limits(regime: Regime, keys: Sequence[str] = RULE_KEYS) -> dict[tuple[str, int], str]:
    """The distinct per-consignment thresholds of these rules, as (basis, minor units), and the rules that
    use each: the values a consignment may be kept under."""
    found: dict[tuple[str, int], list[str]] = {}
    for key in keys:
        for c in replaced_conditions(regime, [key]):
            names = found.setdefault((c.basis, limit(regime, c)), [])
            if key not in names:
                names.append(key)
    return {t: ", ".join(names) for t, names in sorted(found.items())}


def with_threshold(regime: Regime, keys: Sequence[str], threshold: Decimal | str | int,
                   inclusive: bool | None = None) -> Regime:
    """The regime with every per-consignment condition of these rules at `threshold` (and `inclusive`,
    when given); everything else as it is.  Built through the regime's dict form, so the result is
    checked like any regime."""
    d = regime.to_dict()
    for key in keys:
        rules_of(regime, key)  # an unknown key is an error
        spec = d.get(key)
        for rule in spec if isinstance(spec, list) else [spec] if spec else []:
            for c in rule["conditions"]:
                if c["per"] == "consignment":
                    c["threshold"] = str(threshold)
                    c.pop("thresholds_by_destination", None)  # the one threshold for every destination
                    if inclusive is not None:
                        c["inclusive"] = inclusive
    return Regime.from_dict(d)


def replaced_conditions(regime: Regime, keys: Sequence[str]) -> list[Condition]:
    """The conditions with_threshold replaces: those per consignment."""
    return [c for key in keys for rule in rules_of(regime, key) for c in rule.conditions if c.per == "consignment"]
