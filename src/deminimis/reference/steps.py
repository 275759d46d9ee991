"""The assessment, step by step, numbered as the sections of docs/semantics.md: item by item,
with exact rationals, each amount rounded once where the specification says."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Any

import numpy as np

from .. import regimes
from ..arguments import check_argument_types, check_arguments
from ..assessment import BIT, Assessment, Inputs, make_provenance, rule_names
from ..columns import as_items, read_columns
from ..money import CURRENCY_EXPONENTS
from ..partition import run, version_parts
from ..problems import Problems, check_errors_mode
from ..rates import DatedRates, ExchangeRates
from ..regimes.model import Regime
from ..tariff.expr import CannotAssess, Expr
from ..tariff.table import Tariff
from .amounts import allocate, fits, regime_minor, rounded
from .measures import duty_amount
from .reading import Batch, read_batch
from .rules import RuleTest, every_rule, holds
from .versions import regime_on, version_in_force


class Trace:
    """The derivation of one item (its row in the part assessed), line by line, for explain()."""

    def __init__(self, target: int | None) -> None:
        self.target = target
        self.lines: list[str] = []

    def __call__(self, row: int, text: str) -> None:
        if row == self.target:
            self.lines.append(text)


def assess(items: Any, *, regime: Regime | dict | str, tariff: Tariff,
           rates: ExchangeRates | DatedRates | None = None,
           on: _dt.date | None = None, currency: str | None = None, amounts: str = "decimal",
           keep: Sequence[str] = (), errors: str = "raise", ambiguous: str = "flag",
           _trace: Trace | None = None) -> Assessment:
    """Same signature and result as deminimis.assess, computed item by item."""
    check_argument_types(regime=regime, tariff=tariff, rates=rates, on=on, currency=currency, amounts=amounts,
                         ambiguous=ambiguous)
    check_errors_mode(errors)
    items = as_items(items)  # read once: a RecordBatchReader is read whole here
    cols, n = read_columns(items, keep=keep)
    sink = Problems(n) if errors == "flag" else None
    if on is not None:
        parts: list[tuple[Regime, Any]] = [(regime_on(regime, on), None)]
    else:
        parts = list(version_parts(regime, cols, n, sink, regimes.by_id, version_in_force))

    def validate(part: dict[str, Any], m: int, reg: Regime, rates_: Any, on_: Any, part_sink: Problems) -> None:
        read_batch(part, m, reg, tariff, *check_arguments(reg, rates_, amounts), on_, currency, part_sink, ambiguous)

    def assess_part(part: dict[str, Any], m: int, reg: Regime, rates_: Any, on_: Any) -> Assessment:
        table, minor = check_arguments(reg, rates_, amounts)
        batch = read_batch(part, m, reg, tariff, table, minor, on_, currency, None, ambiguous)
        assert batch is not None
        return _compute(batch, part, m, reg, tariff, table, rates_, on_, currency, amounts, _trace or Trace(None),
                        ambiguous)

    result = run(cols, n, parts=parts, on=on, sink=sink, validate=validate, assess=assess_part, engine="reference",
                 tariff=tariff, rates=rates, currency=currency)
    result.kept = {k: cols[k] for k in keep}
    result.provenance["ambiguous"] = ambiguous  # also where the parts were stitched into one result
    return result


def _regime_amounts(reg: Regime) -> None:
    """Every amount of the regime in minor units (RegimeError if one is not whole or too large), as the
    engine converts them all before it computes."""
    for r in every_rule(reg):
        for c in r.conditions:
            regime_minor(c.threshold, "threshold", reg)
            for _, t in c.thresholds_by_destination:
                regime_minor(t, "threshold", reg)
    for f in reg.fees:
        for amount in (f.amount, f.minimum, f.maximum, f.value_above, f.value_up_to):
            if amount is not None:
                regime_minor(amount, f"fee {f.name}", reg)
    for b in reg.simplified_duty.bands if reg.simplified_duty is not None else ():
        regime_minor(b.up_to, "band up_to", reg)
        regime_minor(b.deduction, "band deduction", reg)
    if reg.flat_duty is not None:
        regime_minor(reg.flat_duty.amount, "flat_duty amount", reg)
    for w in reg.waivers:
        regime_minor(w.threshold, "waiver threshold", reg)


def _compute(b: Batch, cols: dict[str, Any], n: int, reg: Regime, tariff: Tariff, rates: ExchangeRates,
             rates_given: ExchangeRates | None, on: _dt.date | None, currency: str | None, amounts: str,
             trace: Trace, ambiguous: str) -> Assessment:
    """Sections 2 to 8 on a part read and validated, and its Assessment (section 11)."""
    _regime_amounts(reg)
    exp, ccy = CURRENCY_EXPONENTS[reg.currency], reg.currency
    cons, codes, percons = b.cons, b.codes, b.percons
    cons_order = list(dict.fromkeys(cons))
    members: dict[int, list[int]] = {c: [] for c in cons_order}
    for i, c in enumerate(cons):
        members[c].append(i)

    # 2. Conversion into the customs currency
    def convert(amount: Decimal, cur: str, row: int, what: str, factor: Decimal = Decimal(1)) -> int:
        minor = int(amount.scaleb(CURRENCY_EXPONENTS[cur]))  # whole: read with at most that many places
        if cur == ccy and factor == 1:  # converts nothing and rounds nothing
            return fits(minor, what, row)
        major = Fraction(amount) * Fraction(factor) * 10**exp
        if cur == ccy:
            x = major
        elif rates.quote == "foreign_per_base":
            x = major / Fraction(rates.rates[cur])
        else:
            x = major * Fraction(rates.rates[cur])
        if x == minor:  # a factor of exactly 1 converts nothing and rounds nothing
            return fits(int(minor), what, row)
        return fits(rounded(x, reg.rounding["conversion"], exp), what, row)

    # item values carry the regime's valuation factor (JP: personal-use goods at 60% of retail)
    intrinsic = [convert(b.values[i], b.curs[i], i, "converted value", reg.valuation_factor) for i in range(n)]
    for i in range(n):
        trace(i, f"value {b.values[i]} {b.curs[i]} -> {intrinsic[i]} minor units of {ccy} "
                 f"(conversion rounding {reg.rounding['conversion'].mode})")
    c_intr: dict[int, int] = {}
    c_transport: dict[int, int] = {}
    c_cust: dict[int, int] = {}
    cif = reg.valuation == "CIF"
    for c in cons_order:
        first = members[c][0]
        c_intr[c] = fits(sum(intrinsic[i] for i in members[c]), "consignment value", first)
        fc = percons["freight_currency"][c]
        f = convert(percons.get("freight", {}).get(c, Decimal(0)), fc, first, "freight")
        ins = convert(percons.get("insurance", {}).get(c, Decimal(0)), fc, first, "insurance")
        c_transport[c] = fits(f + ins, "freight and insurance", first)
        c_cust[c] = fits(c_intr[c] + (c_transport[c] if cif else 0), "consignment value", first)

    # 4. Rules (their aggregates per consignment, computed for every consignment first)
    rule_test = RuleTest(reg, b, cons_order, members, intrinsic, c_intr, c_cust)
    applies = rule_test.applies

    def base_rounded(kind: str, v: int) -> int:
        """The value a duty or VAT is computed on, rounded first where the regime says so."""
        return rounded(Fraction(v), reg.rounding[kind], exp) if kind in reg.rounding else v

    def waive(target: str, idx: list[int], duty: dict[int, int], vat_b: dict[int, int], rule: dict[int, int]) -> None:
        """Amounts > 0 at or below a waiver's threshold (per item, or in total) are not collected."""
        def amount(i: int) -> int:
            return (duty[i] if target != "vat" else 0) + (vat_b[i] if target != "duty" else 0)

        def covered(w: Any, i: int) -> bool:  # excluded goods are neither counted nor waived
            return not any(codes[i].startswith(p) for p in w.excluded_codes)

        def clear(i: int) -> None:
            if target != "vat" and duty[i] > 0:
                duty[i] = 0
                rule[i] |= BIT["duty_waived"]
            if target != "duty" and vat_b[i] > 0:
                vat_b[i] = 0
                rule[i] |= BIT["vat_waived"]

        for w in reg.waivers:
            if w.target != target:
                continue
            thr = regime_minor(w.threshold, "waiver threshold", reg)
            if w.per == "item":
                for i in idx:
                    if covered(w, i) and amount(i) > 0 and holds(fits(amount(i), "total", i), w, thr):
                        clear(i)
                        trace(i, f"{target} waived: {amount(i)} is within {w.threshold}")
            else:
                total = fits(sum(amount(i) for i in idx if covered(w, i)), "total", idx[0])
                if total > 0 and holds(total, w, thr):
                    for i in idx:
                        if not covered(w, i):
                            continue
                        clear(i)
                        trace(i, f"{target} waived: the consignment's {total} is within {w.threshold}")

    reduction = Fraction(reg.vat_reduction.factor) if reg.vat_reduction else Fraction(1)
    out = {k: [0] * n for k in ("intrinsic", "customs_value", "duty", "duty_at_sale", "vat", "vat_at_sale", "fees",
                                "total", "rule")}
    out["intrinsic"] = list(intrinsic)
    cons_out: dict[str, list[int]] = {k: [] for k in ("intrinsic", "customs_value", "duty", "duty_at_sale", "vat",
                                                     "vat_at_sale", "fees", "total", "items")}
    rd, rv, rf = reg.rounding["duty"], reg.rounding["vat"], reg.rounding["fee"]

    def vat_amount(exact: Fraction, row: int) -> int:
        """The VAT, rounded, plus each surtax on it (a fraction of that VAT, rounded on its own)."""
        vat = fits(rounded(exact, rv, exp), "VAT", row)
        return fits(vat + sum(rounded(vat * t.fraction, t.rounding, exp) for t in reg.vat.surtaxes), "VAT", row)

    sd = reg.simplified_duty
    for c in cons_order:
        idx = members[c]
        rule = {i: 0 for i in idx}
        # 3. Allocation of transport to items
        transport = dict(zip(idx, allocate(c_transport[c], [intrinsic[i] for i in idx])))
        customs = {i: intrinsic[i] + (transport[i] if cif else 0) for i in idx}
        sale = {i: applies("collection_at_sale", c, i, customs[i]) for i in idx}
        for i in idx:
            trace(i, f"consignment {b.cons_ids[c]!r}: intrinsic {c_intr[c]}, freight+insurance {c_transport[c]} "
                     f"({reg.valuation}); item's share {transport[i]}; customs value {customs[i]}")
        band = None
        if sd is not None:
            basis_value = c_intr[c] if sd.basis == "intrinsic" else c_cust[c]
            band = next((bd for bd in sd.bands if basis_value <= regime_minor(bd.up_to, "band", reg)), None)

        # 5. Duty: flat per distinct key, simplified by value band, relief, or the tariff
        duty = {i: 0 for i in idx}
        duty_sale = {i: 0 for i in idx}
        flat_groups: dict[str, list[int]] = {}
        simple: list[int] = []
        tariff_groups: dict[Expr, list[int]] = {}
        for i in idx:
            if b.chosen[i] is not None:
                trace(i, str(b.chosen[i]))
            if applies("flat_duty", c, i, customs[i]):
                rule[i] |= BIT["flat_duty"]
                assert reg.flat_duty is not None
                flat_groups.setdefault(codes[i][:reg.flat_duty.key_digits], []).append(i)
            elif band is not None and applies("simplified_duty", c, i, customs[i]):
                rule[i] |= BIT["simplified_duty"]
                simple.append(i)
            elif applies("duty_relief", c, i, customs[i]):
                rule[i] |= BIT["duty_relief"]
                trace(i, "duty relief applies: no duty")
            elif isinstance(b.exprs[i], CannotAssess):
                rule[i] |= BIT["cannot_assess"]
                trace(i, f"duty cannot be assessed: {b.exprs[i]}")
            elif rd.level == "item":
                q = {k: b.qty[k][i] or 0 for k in b.qty}
                value = base_rounded("duty_base", customs[i])
                duty[i] = fits(duty_amount(b.exprs[i], value, q, ccy, exp, rd, rates), "duty", i)
                trace(i, f"duty {b.exprs[i]} on value {value}, quantities {q} -> {duty[i]}")
            else:
                tariff_groups.setdefault(b.exprs[i], []).append(i)
        if simple:
            assert band is not None and sd is not None
            v = c_intr[c] if sd.basis == "intrinsic" else c_cust[c]
            gross = fits(rounded(v * Fraction(band.percent) / 100, rd, exp), "duty", simple[0])
            amount = max(0, gross - regime_minor(band.deduction, "band deduction", reg))
            for i, p in zip(simple, allocate(amount, [customs[i] for i in simple])):
                duty[i] = p
                trace(i, f"simplified duty {band.percent}% of {v} less {band.deduction} -> {amount}; item's share {p}")
        for key, g in flat_groups.items():
            assert reg.flat_duty is not None
            parts = allocate(regime_minor(reg.flat_duty.amount, "flat_duty amount", reg), [intrinsic[i] for i in g])
            for i, p in zip(g, parts):
                duty[i] = p
                trace(i, f"flat duty {reg.flat_duty.amount} {ccy} for key {key} shared by {len(g)} item(s) -> {p}")
        for e, g in tariff_groups.items():
            sv = fits(sum(customs[i] for i in g), "consignment quantity", g[0])
            sq = {}
            for k in b.qty:
                sq[k] = fits(sum(b.qty[k][i] or 0 for i in g), "consignment quantity", g[0])
            value = base_rounded("duty_base", sv)
            amount = fits(duty_amount(e, value, sq, ccy, exp, rd, rates), "duty", g[0])
            for i, p in zip(g, allocate(amount, [customs[i] for i in g])):
                duty[i] = p
                trace(i, f"duty {e} on the consignment's summed value {value} -> {amount}; item's share {p}")
        if reg.collection_at_sale_includes_duty:
            for i in idx:
                if sale[i] and duty[i] > 0:
                    duty_sale[i], duty[i] = duty[i], 0
                    rule[i] |= BIT["duty_at_sale"]
                    trace(i, f"duty {duty_sale[i]} collected at sale")
        vat_b = {i: 0 for i in idx}
        waive("duty", idx, duty, vat_b, rule)

        # 6. VAT / GST
        vat_sale = {i: 0 for i in idx}
        vat_groups: dict[tuple[Fraction, bool], list[int]] = {}
        base = {}
        for i in idx:
            base[i] = fits(customs[i] + duty[i] + duty_sale[i]
                           + (transport[i] if (not cif and reg.vat.adds_transport) else 0), "VAT", i)
            if not sale[i] and applies("vat_relief", c, i, customs[i]):
                rule[i] |= BIT["vat_relief"]
                trace(i, "VAT relief applies: no VAT")
                continue
            if sale[i]:
                rule[i] |= BIT["vat_at_sale"]
            rate = b.vat_rate[i]
            if applies("vat_reduction", c, i, customs[i]):
                rate = rate * reduction
                rule[i] |= BIT["vat_reduced"]
            if rv.level == "item":
                b_r = base_rounded("vat_base", base[i])
                v = vat_amount(b_r * rate, i)
                (vat_sale if sale[i] else vat_b)[i] = v
                trace(i, f"VAT base {b_r} x {rate} -> {v}" + (" collected at sale" if sale[i] else ""))
            else:
                vat_groups.setdefault((rate, sale[i]), []).append(i)
        for (rate, s), g in vat_groups.items():
            sb = base_rounded("vat_base", fits(sum(base[i] for i in g), "VAT", g[0]))
            amount = vat_amount(sb * rate, g[0])
            for i, p in zip(g, allocate(amount, [base[i] for i in g])):
                (vat_sale if s else vat_b)[i] = p
                trace(i, f"VAT on the consignment's summed base {sb} x {rate} -> {amount}; item's share {p}")
        waive("vat", idx, duty, vat_b, rule)
        waive("duty_and_vat", idx, duty, vat_b, rule)

        # 7. Fees
        due = any(duty[i] > 0 or vat_b[i] > 0 for i in idx)
        fee_total = 0
        for fee in reg.fees:
            cv = c_cust[c]
            if fee.transports is not None and percons["transport"][c] not in fee.transports:
                continue
            if fee.when == "not_relieved" and all(rule[i] & BIT["duty_relief"] for i in idx):
                continue
            if fee.when == "due" and not due:
                continue
            if fee.value_above is not None and not cv > regime_minor(fee.value_above, "fee", reg):
                continue
            if fee.value_up_to is not None and not cv <= regime_minor(fee.value_up_to, "fee", reg):
                continue
            amount = rounded(cv * Fraction(fee.percent) / 100, rf, exp) if fee.percent else 0
            amount = fits(amount + regime_minor(fee.amount, "fee", reg), "fee", idx[0])
            if fee.minimum is not None:
                amount = max(amount, regime_minor(fee.minimum, "fee", reg))
            if fee.maximum is not None:
                amount = min(amount, regime_minor(fee.maximum, "fee", reg))
            if fee.per == "item":
                amount = fits(amount * len(idx), "fee", idx[0])
            fee_total = fits(fee_total + amount, "fee", idx[0])
            trace(idx[0], f"fee {fee.name}: {amount}")
        fees = dict(zip(idx, allocate(fee_total, [customs[i] for i in idx])))

        # 8. Totals
        for i in idx:
            if fees[i] > 0:
                rule[i] |= BIT["fee"]
            out["customs_value"][i] = customs[i]
            out["duty"][i], out["duty_at_sale"][i] = duty[i], duty_sale[i]
            out["vat"][i], out["vat_at_sale"][i], out["fees"][i] = vat_b[i], vat_sale[i], fees[i]
            out["total"][i] = fits(duty[i] + vat_b[i] + fees[i], "total", i)
            out["rule"][i] = rule[i]
            rules_applied = ", ".join(rule_names(rule[i])) or "none"
            trace(i, f"duty {duty[i]} + VAT {vat_b[i]} + fees {fees[i]} = {out['total'][i]} due at the border; "
                     f"at sale: duty {duty_sale[i]}, VAT {vat_sale[i]}; rules: {rules_applied}")
        cons_out["intrinsic"].append(c_intr[c])
        cons_out["customs_value"].append(c_cust[c])
        cons_out["items"].append(len(idx))
        for k in ("duty", "duty_at_sale", "vat", "vat_at_sale", "fees", "total"):
            cons_out[k].append(fits(sum(out[k][i] for i in idx), "total", idx[0]))

    # 11. Outputs
    position = {c: k for k, c in enumerate(cons_order)}
    return Assessment(
        items={k: np.array(v, dtype=np.int32 if k == "rule" else np.int64) for k, v in out.items()},
        consignment_ids=b.cons_ids,
        consignments={k: np.array(v, dtype=np.int64) for k, v in cons_out.items()},
        currency=ccy, provenance=make_provenance(reg, tariff, rates_given, on, engine="reference", ambiguous=ambiguous),
        inputs=Inputs(cols, np.array([position[c] for c in cons], dtype=np.int64), reg, tariff, rates_given, on,
                      currency, amounts, ambiguous=ambiguous))
