"""The core's parameters from a regime: rounding, rules and their conditions, fees, exact rates."""

from __future__ import annotations

import datetime as _dt
from decimal import Decimal
from fractions import Fraction
from typing import Any, cast

import numpy as np

from .. import _core
from ..columns import RULE_COLUMN_DEFAULTS, to_date
from ..errors import MissingColumnError, RegimeError
from ..money import INT64_MAX
from ..rates import ExchangeRates
from ..regimes.model import Band, Condition, Fee, Regime, Rule, Surtax
from .factorize import factorize


def rule_slots(regime: Regime) -> list[Rule | None]:
    """The regime's rules in the kernel's slot order (dm_params.rules; _core's *_SLOT constants)."""
    slots: list[Rule | None] = [None] * _core.N_RULES
    for first, rules in ((_core.DUTY_RELIEF_SLOT, regime.duty_relief), (_core.VAT_RELIEF_SLOT, regime.vat_relief)):
        if len(rules) > _core.MAX_RELIEFS:
            raise RegimeError(f"regime {regime.id}: at most {_core.MAX_RELIEFS} alternative reliefs of a kind")
        slots[first:first + len(rules)] = rules
    slots[_core.AT_SALE_SLOT] = regime.collection_at_sale
    slots[_core.FLAT_SLOT] = regime.flat_duty.rule if regime.flat_duty else None
    slots[_core.VAT_REDUCTION_SLOT] = regime.vat_reduction.rule if regime.vat_reduction else None
    slots[_core.SIMPLIFIED_SLOT] = regime.simplified_duty.rule if regime.simplified_duty else None
    return slots


def conversion_factor(rates: ExchangeRates, currency: str, valuation_factor: Decimal) -> tuple[int, int]:
    """Exact (multiplier, divisor) from minor units of `currency` to customs minor units."""
    f = rates.factor(currency) * Fraction(valuation_factor)
    if f.numerator > INT64_MAX or f.denominator > INT64_MAX:
        raise RegimeError(f"the {currency} rate x valuation factor has too many digits for 64-bit arithmetic")
    return f.numerator, f.denominator


def effective_vat_rate(percent: Decimal, method: str, factor: Decimal) -> tuple[int, int]:
    """The VAT due per unit of base, as an exact (numerator, denominator)."""
    r = Fraction(percent) / 100
    eff = (r if method == "exclusive" else r / (1 - r)) * Fraction(factor)
    if eff.numerator > INT64_MAX or eff.denominator > INT64_MAX:
        raise RegimeError(f"VAT rate {percent}% x {factor} has too many digits for 64-bit arithmetic")
    return eff.numerator, eff.denominator


def consignee_groups(per: str, consignee: np.ndarray, date_code: np.ndarray,
                     dates: list[_dt.date]) -> tuple[np.ndarray, np.ndarray, int]:
    """Group id per consignment and the cumulative order (by group, date, first appearance).

    consignee and date_code are per-consignment codes; dates the distinct dates.
    """
    ordinals = np.array([d.toordinal() for d in dates] or [0], dtype=np.int64)
    period = ordinals if per == "consignee_day" else np.array([d.year for d in dates] or [0], dtype=np.int64)
    key = consignee.astype(np.int64) * (int(period.max()) + 1) + period[date_code]
    group, distinct = factorize(key)
    ordinal = ordinals[date_code]
    order = np.lexsort((np.arange(len(group)), ordinal, group)).astype(np.int64)
    return group, order, len(distinct)


def core_params(regime: Regime, percons: dict[str, tuple[np.ndarray, list[Any]]], cas_cons: np.ndarray,
                n_cons: int) -> _core.Params:
    """The kernel's parameters for this batch: the regime's, with its per-consignment eligibility."""
    exp = regime.exponent
    sd = regime.simplified_duty

    def rounding(kind: str) -> _core.Rounding:
        r = regime.rounding[kind]
        return _core.Rounding(r.mode, r.level, r.quantum_minor(exp))

    groups: dict[str, tuple[np.ndarray, np.ndarray, int]] = {}
    for per in ("consignee_day", "consignee_year"):
        if per in regime.aggregations():
            for col in ("consignee", "date"):
                if col not in percons:
                    raise MissingColumnError(f"regime {regime.id} aggregates {per}; give {col}", column=col)
            date_code, date_values = percons["date"]
            groups[per] = consignee_groups(per, percons["consignee"][0], date_code,
                                           [to_date(d) for d in date_values])

    def column_ok(col: str, allowed: tuple[str, ...] | None) -> np.ndarray | None:
        """Per consignment: its value of a consignment-level column is one of `allowed`."""
        if allowed is None:
            return None
        if col not in percons:
            if col in RULE_COLUMN_DEFAULTS:
                return np.full(n_cons, RULE_COLUMN_DEFAULTS[col] in allowed, dtype=np.uint8)
            if col == "shipped_from":  # unknown place of shipment: no rule that names one applies
                return np.zeros(n_cons, dtype=np.uint8)
            raise MissingColumnError(f"regime {regime.id} has {col} conditions; give {col}", column=col)
        code, values = percons[col]
        return np.array([t in allowed for t in values] or [False], dtype=np.uint8)[code]

    def rule_ok(r: Rule) -> np.ndarray | None:
        # allowed() holds no None, so neither does masks
        masks = [cast(np.ndarray, column_ok(col, vals)) for col, vals in r.allowed().items()]
        if not masks:
            return None
        ok = masks[0]
        for m in masks[1:]:
            ok = ok & m
        return np.ascontiguousarray(ok, dtype=np.uint8)

    def thresholds(c: Condition) -> np.ndarray | None:
        """Each consignment's threshold, by its destination, where the condition gives them per destination."""
        if not c.thresholds_by_destination:
            return None
        by_dest = {d: regime.amount_minor(t, "threshold") for d, t in c.thresholds_by_destination}
        code, dests = percons["destination"]
        default = regime.amount_minor(c.threshold, "threshold")
        table = np.array([by_dest.get(d, default) for d in dests] or [0], dtype=np.int64)
        return np.ascontiguousarray(table[code])

    def condition(c: Condition) -> _core.Condition:
        threshold = regime.amount_minor(c.threshold, "threshold")
        if c.per not in groups:
            return _core.Condition(c.basis, c.per, c.inclusive, threshold, thresholds=thresholds(c))
        group, order, n_groups = groups[c.per]
        return _core.Condition(c.basis, c.per, c.inclusive, threshold, group=group,
                               order=order if c.per == "consignee_year" else None, n_groups=n_groups,
                               thresholds=thresholds(c))

    def rule(r: Rule | None, bit: int) -> _core.Rule | None:
        if r is None:
            return None
        return _core.Rule([condition(c) for c in r.conditions], excl_bit=bit,
                          requires_flag=r.requires_collected_at_sale, cons_ok=rule_ok(r))

    def amount(value: Decimal | None, what: str, absent: int | None) -> int | None:
        return absent if value is None else regime.amount_minor(value, what)

    def fee(f: Fee) -> _core.Fee:
        pct = Fraction(f.percent) / 100
        return _core.Fee(f.per, f.when, cast(int, amount(f.amount, f"fee {f.name} amount", 0)),
                         pct.numerator, pct.denominator,
                         amount(f.minimum, "fee minimum", None), amount(f.maximum, "fee maximum", None),
                         cast(int, amount(f.value_above, "fee value_above", -1)),
                         cast(int, amount(f.value_up_to, "fee value_up_to", -1)),
                         cons_ok=column_ok("transport", f.transports))

    def surtax(t: Surtax) -> _core.Surtax:
        if t.fraction.numerator > INT64_MAX or t.fraction.denominator > INT64_MAX:
            raise RegimeError(f"VAT surtax {t.name}: {t.fraction} has too many digits for 64-bit arithmetic")
        return _core.Surtax(t.fraction.numerator, t.fraction.denominator,
                            _core.Rounding(t.rounding.mode, "item", t.rounding.quantum_minor(exp)))

    def band(b: Band) -> _core.Band:
        pct = Fraction(b.percent) / 100
        return _core.Band(regime.amount_minor(b.up_to, "band up_to"), pct.numerator, pct.denominator,
                          regime.amount_minor(b.deduction, "band deduction"))

    return _core.Params(
        cif=regime.valuation == "CIF", vat_adds_transport=regime.vat.adds_transport,
        at_sale_includes_duty=regime.collection_at_sale_includes_duty,
        simplified_basis=sd.basis if sd else "intrinsic",
        conv=rounding("conversion"), duty=rounding("duty"), vat=rounding("vat"), fee=rounding("fee"),
        duty_base=rounding("duty_base") if "duty_base" in regime.rounding else None,
        vat_base=rounding("vat_base") if "vat_base" in regime.rounding else None,
        rules=[rule(r, 1 << slot) for slot, r in enumerate(rule_slots(regime))],
        flat_amount=regime.amount_minor(regime.flat_duty.amount, "flat_duty amount") if regime.flat_duty else 0,
        bands=[band(b) for b in (sd.bands if sd else ())],
        waivers=[_core.Waiver(w.target, w.per, w.inclusive, regime.amount_minor(w.threshold, "waiver threshold"))
                 for w in regime.waivers],
        fees=[fee(f) for f in regime.fees],
        surtaxes=[surtax(t) for t in regime.vat.surtaxes],
    )
