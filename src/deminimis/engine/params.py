"""The core's parameters from a regime: rounding, rules and their conditions, fees, exact rates."""

from __future__ import annotations

import datetime as _dt
from decimal import Decimal
from fractions import Fraction
from typing import Any, cast

import numpy as np

from ..columns import RULE_COLUMN_DEFAULTS, to_date
from ..errors import MissingColumnError, RegimeError
from ..money import INT64_MAX
from ..rates import ExchangeRates
from ..regimes.model import Regime, Rule
from .factorize import factorize

_PER_CODE = {"item": 0, "consignment": 1, "consignee_day": 2, "consignee_year": 3}
_BASIS_CODE = {"intrinsic": 0, "customs": 1}
_WAIVER_TARGET = {"duty": 0, "vat": 1, "duty_and_vat": 2}
_LEVEL_CODE = {"item": 0, "consignment": 1}


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
            n_cons: int) -> dict[str, Any]:
    exp = regime.exponent
    sd = regime.simplified_duty

    def rnd(kind: str) -> tuple[int, int, int]:
        r = regime.rounding[kind]
        return (r.code, r.quantum_minor(exp), _LEVEL_CODE[r.level])

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

    def rule(r: Rule | None, bit: int) -> dict[str, Any] | None:
        if r is None:
            return None
        conds = []
        for c in r.conditions:
            cd: dict[str, Any] = {"basis": _BASIS_CODE[c.basis], "per": _PER_CODE[c.per],
                                  "inclusive": int(c.inclusive),
                                  "threshold": regime.amount_minor(c.threshold, "threshold")}
            if c.per in groups:
                g, order, ng = groups[c.per]
                cd.update(group=g, order=order, n_groups=ng)
            conds.append(cd)
        return {"conds": conds, "excl_bit": bit, "requires_flag": int(r.requires_collected_at_sale),
                "cons_ok": rule_ok(r)}

    fees = []
    for f in regime.fees:
        pct = Fraction(f.percent) / 100
        fees.append({
            "per": 0 if f.per == "consignment" else 1, "when_due": {"always": 0, "due": 1, "not_relieved": 2}[f.when],
            "fixed": regime.amount_minor(f.amount, f"fee {f.name} amount"),
            "adv_num": pct.numerator, "adv_den": pct.denominator,
            "min": regime.amount_minor(f.minimum, "fee minimum") if f.minimum is not None else None,
            "max": regime.amount_minor(f.maximum, "fee maximum") if f.maximum is not None else None,
            "value_above": regime.amount_minor(f.value_above, "fee value_above") if f.value_above is not None else -1,
            "value_up_to": regime.amount_minor(f.value_up_to, "fee value_up_to") if f.value_up_to is not None else -1,
            "cons_ok": column_ok("transport", f.transports),
        })
    return {
        "cif": int(regime.valuation == "CIF"), "vat_adds_transport": int(regime.vat.adds_transport),
        "conv": rnd("conversion"), "duty": rnd("duty"), "vat": rnd("vat"), "fee": rnd("fee"),
        "duty_base": rnd("duty_base") if "duty_base" in regime.rounding else None,
        "vat_base": rnd("vat_base") if "vat_base" in regime.rounding else None,
        "rules": [rule(r, 1 << slot) for slot, r in enumerate(regime.rule_slots())],
        "at_sale_includes_duty": int(regime.collection_at_sale_includes_duty),
        "simplified_basis": _BASIS_CODE[sd.basis] if sd else 0,
        "bands": [(regime.amount_minor(b.up_to, "band up_to"), (Fraction(b.percent) / 100).numerator,
                   (Fraction(b.percent) / 100).denominator, regime.amount_minor(b.deduction, "band deduction"))
                  for b in (sd.bands if sd else ())],
        "flat_amount": regime.amount_minor(regime.flat_duty.amount, "flat_duty amount") if regime.flat_duty else 0,
        "waivers": [(_WAIVER_TARGET[w.target], _PER_CODE[w.per], int(w.inclusive),
                     regime.amount_minor(w.threshold, "waiver threshold")) for w in regime.waivers],
        "fees": fees,
    }
