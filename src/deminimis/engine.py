"""assess(): encode the batch, run the native core, assemble the Assessment.

Data flows one way: columns -> per-distinct-value encoding (Python, O(distinct
values) where it can) -> integer columns and compiled tables -> csrc/assess.h
(no GIL, O(items)) -> Assessment.  Inputs are validated in the order
docs/semantics.md gives, so the reference raises the same error first.
"""

from __future__ import annotations

import datetime as _dt
import os
import time
from decimal import Decimal
from fractions import Fraction
from typing import Any, Callable, Sequence

import numpy as np

from . import _arrow, _core, _encode
from .assessment import Assessment, ConsignmentIds, make_provenance, to_list
from .columns import RULE_COLUMN_DEFAULTS, date_problem, is_missing, read_columns, to_date
from .errors import (AmountOverflowError, InconsistentConsignmentError, InvalidValueError, MissingColumnError, RegimeError,
                     UnknownCodeError, UnknownCurrencyError)
from .money import INT64_MAX, CURRENCY_EXPONENTS, to_minor
from .rates import ExchangeRates
from .regimes.model import Regime, Rule
from .tariff.compile import compile_measures
from .tariff.expr import FREE, QUANTITY_COLUMNS, Expr, quantities_used
from .tariff.table import Tariff

_PER_CODE = {"item": 0, "consignment": 1, "consignee_day": 2, "consignee_year": 3}
_BASIS_CODE = {"intrinsic": 0, "customs": 1}
_WAIVER_TARGET = {"duty": 0, "vat": 1, "duty_and_vat": 2}
_LEVEL_CODE = {"item": 0, "consignment": 1}


def factorize(a: Any) -> tuple[np.ndarray, list[Any]]:
    """Codes (int64, first-appearance order) and the distinct values of a column."""
    if _encode.supports(a):  # Arrow strings, integers, dates; numpy integers and fixed-width strings
        codes, first = _encode.factorize(a, wide=True)
        return codes, to_list(a[first] if isinstance(a, np.ndarray) else a.take(first))
    if _arrow.is_arrow(a):
        try:
            return _arrow.factorize(a)
        except NotImplementedError:  # a type Arrow cannot hash: take the general path
            a = a.to_numpy(zero_copy_only=False)
    n = len(a)
    index: dict[Any, int] = {}
    codes = np.empty(n, dtype=np.int64)
    for i, x in enumerate(a.tolist() if a.dtype != object else a):
        codes[i] = index.setdefault(x, len(index))
    return codes, list(index)


def factorize_first(a: Any, wide: bool = False) -> tuple[np.ndarray, np.ndarray, Any]:
    """Codes in first-appearance order, the first row of each code and the distinct values.

    Codes are int64 when `wide`, else int32.  The distinct values come as the
    array they were taken from (pyarrow or numpy: ``assessment.to_list`` makes them a
    list) or as a list.  Arrow strings, integers and dates and numpy integers and
    fixed-width strings take the C hashing pass (csrc/encode.h); other types the
    general path of ``factorize``, with the same codes.
    """
    if _arrow.is_arrow(a) and hasattr(a, "num_chunks"):  # ChunkedArray
        a = a.chunk(0) if a.num_chunks == 1 else a.combine_chunks()
    if _arrow.is_bool_without_nulls(a):  # bit-packed: unpack to numpy bools (same values, same order)
        a = a.to_numpy(zero_copy_only=False)
    if isinstance(a, np.ndarray) and a.dtype == np.bool_ and a.ndim == 1 and len(a):
        # two values at most: code 0 for the first row's, code 1 for the other one
        other = a != a[0]
        codes = other.astype(np.int64 if wide else np.int32)
        first = np.array([0] + ([int(np.argmax(other))] if other.any() else []), dtype=np.int64)
        return codes, first, a[first]
    if isinstance(a, np.ndarray) and a.dtype.kind in "mM" and a.ndim == 1:
        # numpy dates and durations: hash their int64 words (NaT is one more value)
        codes, first = _encode.factorize(np.ascontiguousarray(a).view(np.int64), wide)
        return codes, first, a[first]
    if _encode.supports(a):
        codes, first = _encode.factorize(a, wide)
        return codes, first, a[first] if isinstance(a, np.ndarray) else a.take(first)
    codes64, uniq = factorize(a)
    n = len(codes64)
    first = np.full(len(uniq), n, dtype=np.int64)
    np.minimum.at(first, codes64, np.arange(n, dtype=np.int64))
    return codes64.astype(np.int64 if wide else np.int32, copy=False), first, uniq


def _factorize_list(a: Any) -> tuple[np.ndarray, list[Any]]:
    """int32 codes in first-appearance order and the distinct values as a list."""
    codes, _, distinct = factorize_first(a)
    return codes, to_list(distinct)


def _first_bad(codes: np.ndarray, bad: Sequence[bool] | np.ndarray) -> int | None:
    """First row whose distinct value is bad."""
    mask = np.asarray(bad, dtype=bool)
    if not mask.any():
        return None
    hits = np.flatnonzero(mask[codes])
    return int(hits[0])


def _check_distinct(col: str, codes: np.ndarray, uniq: list[Any], check: Callable[[Any], str | None],
                    error: type = InvalidValueError) -> None:
    problems = [check(u) for u in uniq]
    row = _first_bad(codes, [p is not None for p in problems])
    if row is not None:
        raise error(problems[codes[row]], column=col, row=row, value=uniq[codes[row]])


def _hs_problem(x: Any) -> str | None:
    if not isinstance(x, str) or not (4 <= len(x) <= 10) or not x.isdigit() or not x.isascii():
        return "an hs_code must be a string of 4 to 10 digits"
    return None


def _origin_problem(x: Any) -> str | None:
    if is_missing(x) or x == "":
        return None
    if not isinstance(x, str) or len(x) != 2 or not x.isalpha() or not x.isupper():
        return "an origin must be an ISO 3166 alpha-2 code (two capital letters)"
    return None


def _amounts(arr: Any, exps_of: Callable[[], np.ndarray], col: str, minor: bool, what: str,
             optional: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Exact int64 minor units of a column and a missing mask.

    exps_of() gives the exponent per row; it is called only when needed (not
    for integers already in minor units).  An int64 column in minor units is
    returned as it is (possibly a read-only view of the caller's Arrow buffer).
    """
    if _arrow.is_arrow(arr):
        fast = None if minor else _arrow.minor_units(arr, exps_of(), col)
        if fast is not None:
            return fast, np.zeros(len(fast), dtype=bool)
        arr = _arrow.to_numpy(arr)
    n = len(arr)
    missing = np.zeros(n, dtype=bool)
    if arr.dtype.kind in "iu":
        if minor and (n == 0 or (arr.min() >= 0 if arr.dtype.kind == "i" else arr.max() <= INT64_MAX)):
            return np.ascontiguousarray(arr, dtype=np.int64), missing
        scale = (10 ** exps_of().astype(np.int64)) if (n and not minor) else np.ones(n, dtype=np.int64)
        negative = arr < 0
        over = (arr.astype(np.uint64) > (INT64_MAX // scale).astype(np.uint64)) & ~negative
        if negative.any() or over.any():
            row = int(np.flatnonzero(negative | over)[0])
            if negative[row]:
                raise InvalidValueError("must not be negative", column=col, row=row, value=arr[row])
            raise AmountOverflowError("does not fit in 64-bit minor units", column=col, row=row, value=arr[row])
        return arr.astype(np.int64) * scale, missing
    if minor and arr.dtype.kind == "f":
        raise InvalidValueError("amounts='minor' needs integers, not floats", column=col, row=0, value=arr[0] if n else None)
    out = np.empty(n, dtype=np.int64)
    exps_l = exps_of().tolist() if not minor else []
    for i, x in enumerate(arr.tolist() if arr.dtype != object else arr):
        if is_missing(x) or (optional and isinstance(x, str) and x == ""):
            if not optional:
                raise InvalidValueError("is missing", column=col, row=i, value=x)
            missing[i] = True
            out[i] = 0
            continue
        if minor:
            if isinstance(x, bool) or not isinstance(x, (int, np.integer)):
                raise InvalidValueError("amounts='minor' needs integers", column=col, row=i, value=x)
            if x < 0:
                raise InvalidValueError("must not be negative", column=col, row=i, value=x)
            out[i] = to_minor(int(x), 0, column=col, row=i, what=what)
        else:
            out[i] = to_minor(x, exps_l[i], column=col, row=i, what=what)
    return out, missing


def _per_consignment(col: str, codes: np.ndarray, cons: np.ndarray, first: np.ndarray) -> np.ndarray:
    """Check a consignment-level column agrees within each consignment; its value per consignment.

    codes: the column's codes (or its values: any fixed-width array), one C pass.
    """
    row = _encode.first_inconsistent(codes, cons, first)
    if row >= 0:
        raise InconsistentConsignmentError(
            f"items of one consignment disagree (row {int(first[cons[row]])} has another value)",
            column=col, row=row)
    return codes[first]


def _bool_problem(x: Any) -> str | None:
    if isinstance(x, (bool, np.bool_)) or x in (0, 1):
        return None
    return "collected_at_sale must be true or false (or 0/1)"


def prepare(items: Any, *, regime: Regime, tariff: Tariff, rates: ExchangeRates | None,
            currency: str | None, amounts: str, on: _dt.date | None = None) -> dict[str, Any]:
    """Validate and encode a batch for the core (see module docstring)."""
    rates, minor = check_arguments(regime, rates, amounts)
    _arrow.check_items(items)  # corrupt Arrow buffers are refused before any Arrow kernel reads them
    cols, n = read_columns(items, keep_arrow=True)

    # consignment ids, in first-appearance order
    cons_col = cols["consignment"]
    if _arrow.is_arrow(cons_col):
        if cons_col.null_count:
            import pyarrow.compute as pc
            row = int(np.flatnonzero(pc.is_null(cons_col).to_numpy(zero_copy_only=False))[0])
            raise InvalidValueError("a consignment id is missing", column="consignment", row=row, value=None)
    elif cons_col.dtype == object or cons_col.dtype.kind == "f":
        for i, x in enumerate(cons_col):
            if is_missing(x):
                raise InvalidValueError("a consignment id is missing", column="consignment", row=i, value=x)
    cons, first, cons_distinct = factorize_first(cons_col, wide=True)  # first: each consignment's first row
    n_cons = len(first)
    cons_ids = ConsignmentIds(cons_distinct)

    # hs codes
    code_idx, codes = _factorize_list(cols["hs_code"])
    _check_distinct("hs_code", code_idx, codes, _hs_problem)

    # currency per item
    if "currency" in cols:
        cur_idx, curs = _factorize_list(cols["currency"])
    elif currency is not None:
        cur_idx, curs = np.zeros(n, dtype=np.int32), [currency]
    else:
        raise MissingColumnError("give a 'currency' column or currency= for the batch", column="currency")
    _check_distinct("currency", cur_idx, curs,
                    lambda c: None if isinstance(c, str) and c in CURRENCY_EXPONENTS else "not an ISO 4217 currency code",
                    UnknownCurrencyError)
    _check_distinct("currency", cur_idx, curs,
                    lambda c: None if rates.has(c) else f"no exchange rate into {rates.base}", UnknownCurrencyError)
    cur_exp = np.array([CURRENCY_EXPONENTS[c] for c in curs], dtype=np.int64)

    # values
    value, _ = _amounts(cols["value"], lambda: cur_exp[cur_idx], "value", minor, "its currency")

    # origins
    if "origin" in cols:
        org_idx, origins = _factorize_list(cols["origin"])
        _check_distinct("origin", org_idx, origins, _origin_problem)
        origins = ["" if (is_missing(o) or o == "") else o for o in origins]
    else:
        org_idx, origins = np.zeros(n, dtype=np.int32), [""]

    # quantities in milli-units; an absent column is (None, None): zeros to the core, missing on every item
    qty_cols: dict[str, tuple[np.ndarray | None, np.ndarray | None]] = {}
    for kind, col in QUANTITY_COLUMNS.items():
        if col in cols:
            qty_cols[kind] = _amounts(cols[col], lambda: np.full(n, 3, dtype=np.int64), col, False,
                                      "a quantity in thousandths", optional=True)
        else:
            qty_cols[kind] = (None, None)

    # consignment-level fields, each checked for agreement within its consignment
    # consignment-level columns: (code per consignment, distinct values)
    percons: dict[str, tuple[np.ndarray, list[Any]]] = {}
    if "freight_currency" in cols:
        fc_idx, fcs = _factorize_list(cols["freight_currency"])
        _check_distinct("freight_currency", fc_idx, fcs,
                        lambda c: None if isinstance(c, str) and c in CURRENCY_EXPONENTS and rates.has(c)
                        else "not an ISO 4217 currency with an exchange rate", UnknownCurrencyError)
        fcur_cons = _per_consignment("freight_currency", fc_idx, cons, first)
        fcur_item = fc_idx
        fcur_names = fcs
    elif "freight" in cols or "insurance" in cols:
        fcur_cons = _per_consignment("currency", cur_idx, cons, first)
        fcur_item, fcur_names = cur_idx, curs
    else:
        fcur_cons = cur_idx[first]
        fcur_item, fcur_names = cur_idx, curs
    fexp = np.array([CURRENCY_EXPONENTS[c] for c in fcur_names], dtype=np.int64)
    freight_ins = {}
    for col in ("freight", "insurance"):
        if col in cols:
            amt, _ = _amounts(cols[col], lambda: fexp[fcur_item], col, minor, "its currency", optional=True)
            freight_ins[col] = _per_consignment(col, amt, cons, first)  # equal amounts, equal codes
        else:
            freight_ins[col] = None if col == "insurance" else np.zeros(n_cons, dtype=np.int64)  # None: zeros

    if "collected_at_sale" in cols:
        cas_idx, cas_u = _factorize_list(cols["collected_at_sale"])
        _check_distinct("collected_at_sale", cas_idx, cas_u, _bool_problem)
        truth = np.array([bool(u) for u in cas_u] or [False], dtype=np.uint8)
        cas_cons = truth[_per_consignment("collected_at_sale", cas_idx, cons, first)]
    else:
        cas_cons = np.zeros(n_cons, dtype=np.uint8)

    vat = regime.vat
    if "destination" in cols:
        dst_idx, dsts = _factorize_list(cols["destination"])
        _check_distinct("destination", dst_idx, dsts,
                        lambda d: None if d in vat.rates else f"no VAT rates for this destination in regime {regime.id}")
        dst_cons = _per_consignment("destination", dst_idx, cons, first)
    elif vat.default_destination is not None:
        dst_idx, dsts = np.zeros(n, dtype=np.int32), [vat.default_destination]
        dst_cons = np.zeros(n_cons, dtype=np.int32)
    else:
        raise MissingColumnError(f"regime {regime.id} has VAT rates for several destinations "
                                 "and no default_destination", column="destination")

    for col in ("transport", "nature", "shipped_from", "consignee", "date"):
        if col in cols:
            idx, uniq = _factorize_list(cols[col])
            if col == "date":
                _check_distinct("date", idx, uniq, date_problem)
            elif not (isinstance(cols[col], np.ndarray) and cols[col].dtype.kind in "iubUS"):  # those hold no gaps
                _check_distinct(col, idx, uniq, lambda x: "is missing" if is_missing(x) else None)
            percons[col] = (_per_consignment(col, idx, cons, first), uniq)

    # tariff measures, resolved once per distinct (code, origin)
    if n and len(codes) * len(origins) <= _encode.MAX_PAIR_TABLE:
        pair_idx, pair_keys = _encode.factorize_pair(code_idx, org_idx, len(codes), len(origins))
        pairs = pair_keys.tolist()
    else:
        pair_idx, pairs = factorize(code_idx.astype(np.int64) * len(origins) + org_idx)
    exprs: list[Expr] = []
    expr_row: dict[Expr, int] = {}
    measure_of_pair = np.empty(len(pairs), dtype=np.int32)
    item_flags_pair = np.zeros(len(pairs), dtype=np.uint16)  # bit r: excluded from rule slot r
    slots = regime.rule_slots()
    unknown = np.zeros(len(pairs), dtype=bool)
    for p, key in enumerate(pairs):
        code, origin = codes[key // len(origins)], origins[key % len(origins)]
        found = tariff.lookup(code, origin, on=on)
        if found is None:
            unknown[p] = True
            measure_of_pair[p] = 0
            continue
        expr = found[0]
        measure_of_pair[p] = expr_row.setdefault(expr, len(exprs))
        if measure_of_pair[p] == len(exprs):
            exprs.append(expr)
        for slot, rule in enumerate(slots):
            if rule is not None and rule.excludes(code, origin):
                item_flags_pair[p] |= 1 << slot
        for q, waiver in enumerate(regime.waivers):
            if code.startswith(waiver.excluded_codes) and waiver.excluded_codes:
                item_flags_pair[p] |= 1 << (_core.N_RULES + q)
    row = _first_bad(pair_idx, unknown)
    if row is not None:
        raise UnknownCodeError("no tariff line covers this code", column="hs_code", row=row,
                               value=codes[int(code_idx[row])])

    # quantities the measures need must be present on those items
    for kind, col in QUANTITY_COLUMNS.items():
        needs = np.array([kind in quantities_used(e) for e in exprs] or [False], dtype=bool)
        if not n or not needs.any():
            continue
        missing = qty_cols[kind][1]
        needs_item = needs[measure_of_pair][pair_idx]
        bad = needs_item if missing is None else needs_item & missing
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise (MissingColumnError if col not in cols else InvalidValueError)(
                f"the tariff line for code {codes[int(code_idx[row])]} charges per unit of {kind}; "
                f"give {col}", column=col, row=row)

    exp = regime.exponent
    measures = compile_measures(exprs or [FREE], regime.currency, exp)

    # VAT rates per distinct (destination, category), as exact effective rationals
    cats = [vat.category_of(c) for c in codes]
    cat_idx_of_code: dict[str, int] = {}
    cat_names: list[str] = []
    for c in cats:
        cat_idx_of_code.setdefault(c, len(cat_names))
        if len(cat_names) < len(cat_idx_of_code):
            cat_names.append(c)
    code_cat = np.array([cat_idx_of_code[c] for c in cats], dtype=np.int32)
    # the item's destination is its consignment's (checked above): dst_idx[i] == dst_cons[cons[i]]
    if n and len(dsts) * len(cat_names) <= _encode.MAX_PAIR_TABLE:
        pair_vat, vat_key_arr = _encode.factorize_pair(dst_idx, code_idx, len(dsts), len(cat_names), bmap=code_cat)
        vat_keys = vat_key_arr.tolist()
    else:
        pair_vat, vat_keys = factorize(dst_idx.astype(np.int64) * len(cat_names)
                                       + (code_cat[code_idx] if n else code_cat[:0]))
    rate_index: dict[tuple[int, int], int] = {}
    rate_of_key = np.empty(len(vat_keys), dtype=np.int32)
    reduced_of_key = np.empty(len(vat_keys), dtype=np.int32)
    reduction = regime.vat_reduction.factor if regime.vat_reduction else Decimal(1)
    for k, key in enumerate(vat_keys):
        dest, cat = dsts[key // len(cat_names)], cat_names[key % len(cat_names)]
        if cat not in vat.rates[dest]:
            raise RegimeError(f"regime {regime.id}: destination {dest} has no {cat!r} VAT rate")
        rate_of_key[k] = rate_index.setdefault(effective_vat_rate(vat.rates[dest][cat], vat.method, vat.factor),
                                               len(rate_index))
        reduced_of_key[k] = rate_index.setdefault(
            effective_vat_rate(vat.rates[dest][cat], vat.method, vat.factor * reduction), len(rate_index))
    vat_num = [num for num, _ in rate_index]
    vat_den = [den for _, den in rate_index]

    # flat-duty key per distinct code, and so per (code, origin) pair
    if regime.flat_duty is not None:
        kd = regime.flat_duty.key_digits
        key_index: dict[str, int] = {}
        code_key = np.array([key_index.setdefault(c[:kd], len(key_index)) for c in codes], dtype=np.int32)
        flat_of_pair = code_key[np.asarray(pairs, dtype=np.int64) // len(origins)] if pairs else code_key[:0]
    else:
        flat_of_pair = np.zeros(len(pairs), dtype=np.int32)

    # the per-item columns, gathered from the per-pair and per-VAT-key tables in one pass
    measure, flags, flat_key, vat_idx, vat_reduced_idx = _encode.gather_items(
        pair_idx, measure_of_pair, item_flags_pair, flat_of_pair, pair_vat, rate_of_key, reduced_of_key)

    # conversion table: item values also carry the regime's valuation factor (JP: 60% of retail)
    conv = [conversion_factor(rates, c, regime.valuation_factor) for c in curs]
    fconv = [conversion_factor(rates, c, Decimal(1)) for c in fcur_names]
    all_conv = conv + fconv

    params = _params(regime, percons, cas_cons, n_cons)
    return {
        "n": n, "n_cons": n_cons, "cons_ids": cons_ids,
        "items": {
            "cons": cons.astype(np.int64, copy=False), "value": value,
            "qty": qty_cols["count"][0], "mass": qty_cols["mass"][0], "vol": qty_cols["volume"][0],
            "cur": cur_idx.astype(np.int32, copy=False), "measure": measure.astype(np.int32, copy=False),
            "vat_rate": vat_idx.astype(np.int32, copy=False),
            "vat_rate_reduced": vat_reduced_idx.astype(np.int32, copy=False),
            "flat_key": flat_key.astype(np.int32, copy=False),
            "flags": flags,
        },
        "cons": {
            "freight": freight_ins["freight"], "insurance": freight_ins["insurance"],
            "freight_cur": (fcur_cons + len(conv)).astype(np.int32, copy=False), "at_sale": cas_cons,
        },
        "tables": {
            "conv_mul": np.array([m for m, _ in all_conv] or [1], dtype=np.int64),
            "conv_div": np.array([d for _, d in all_conv] or [1], dtype=np.int64),
            "measures": measures,
            "vat_num": np.array(vat_num or [0], dtype=np.int64),
            "vat_den": np.array(vat_den or [1], dtype=np.int64),
        },
        "params": params,
    }


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


def _params(regime: Regime, percons: dict[str, tuple[np.ndarray, list[Any]]], cas_cons: np.ndarray,
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
        masks = [column_ok(col, vals) for col, vals in r.allowed().items()]
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


def check_arguments(regime: Regime, rates: ExchangeRates | None, amounts: str) -> tuple[ExchangeRates, bool]:
    """The rates table to use (empty for a one-currency batch) and whether amounts are minor units."""
    if amounts not in ("decimal", "minor"):
        raise ValueError("amounts must be 'decimal' or 'minor'")
    if rates is None:
        rates = ExchangeRates({}, base=regime.currency)
    if rates.base != regime.currency:
        raise RegimeError(f"exchange rates are into {rates.base}, the regime's currency is {regime.currency}")
    return rates, amounts == "minor"


def resolve_regime(regime: Regime | dict | str, on: _dt.date | None) -> Regime:
    if isinstance(regime, Regime):
        r = regime
    elif isinstance(regime, dict):
        r = Regime.from_dict(regime)
    elif isinstance(regime, str):
        from .regimes import get
        return get(regime, on=on)
    else:
        raise TypeError("regime must be a Regime, a dict or a built-in regime code")
    if on is not None and not r.in_force(on):
        raise RegimeError(f"regime {r.id} is not in force on {on} "
                          f"(valid {r.valid_from or '-inf'} to {r.valid_to or '+inf'})")
    return r


class Buffers:
    """Output arrays reused across batches (fresh pages cost as much as the work).

    ``Buffers(items, consignments)`` holds room for that many; ``assess(..., out=buf)``
    writes into views of it, so the previous result's arrays are overwritten.
    """

    def __init__(self, items: int, consignments: int | None = None) -> None:
        nc = items if consignments is None else consignments
        self.items = {k: np.empty(items, dtype=np.int64) for k in _core.ITEM_OUTPUTS}
        self.items["rule"] = np.empty(items, dtype=np.int32)
        self.consignments = {k: np.empty(nc, dtype=np.int64) for k in _core.CONS_OUTPUTS}

    def views(self, n: int, nc: int) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        if n > len(self.items["total"]) or nc > len(self.consignments["total"]):
            raise ValueError(f"buffers hold {len(self.items['total'])} items and "
                             f"{len(self.consignments['total'])} consignments; this batch needs {n} and {nc}")
        return ({k: v[:n] for k, v in self.items.items()}, {k: v[:nc] for k, v in self.consignments.items()})


def assess(items: Any, *, regime: Regime | dict | str, tariff: Tariff, rates: ExchangeRates | None = None,
           on: _dt.date | None = None, currency: str | None = None, amounts: str = "decimal",
           n_threads: int | None = 1, out: Buffers | None = None) -> Assessment:
    """Assess a batch of items under a regime and tariff, exactly, with the native core.

    Parameters
    ----------
    items : mapping of column -> array, pandas/polars DataFrame or pyarrow Table
        Columns as in docs/semantics.md: ``consignment``, ``hs_code``, ``value`` and
        the optional item and consignment-level columns.
    regime : Regime, dict, or built-in regime code (then ``on`` picks the version)
    tariff : Tariff
    rates : ExchangeRates into the regime's currency (not needed for a one-currency batch)
    on : the assessment date; the regime must be in force on it
    currency : the currency of every amount, when there is no ``currency`` column
    amounts : "decimal" (amounts in major units, read exactly) or "minor"
        (integers already in minor units)
    n_threads : threads for the core (None: all cores); the result never depends on it
    out : Buffers to write the result into instead of fresh arrays

    Returns an Assessment; ``result.timings`` holds the seconds spent encoding the
    input and in the native core.
    """
    t0 = time.perf_counter()
    reg = resolve_regime(regime, on)
    enc = prepare(items, regime=reg, tariff=tariff, rates=rates, currency=currency, amounts=amounts, on=on)
    n, nc = enc["n"], enc["n_cons"]
    if out is not None:
        out_items, out_cons = out.views(n, nc)
    else:
        out_items = {k: np.empty(n, dtype=np.int64) for k in _core.ITEM_OUTPUTS}
        out_items["rule"] = np.empty(n, dtype=np.int32)
        out_cons = {k: np.empty(nc, dtype=np.int64) for k in _core.CONS_OUTPUTS}
    threads = (os.cpu_count() or 1) if n_threads is None else int(n_threads)
    t1 = time.perf_counter()
    _core.assess(enc["items"], enc["cons"], enc["tables"], enc["params"], out_items, out_cons, threads)
    t2 = time.perf_counter()
    result = Assessment(items=out_items, consignment_ids=enc["cons_ids"], consignments=out_cons,
                        currency=reg.currency,
                        provenance=make_provenance(reg, tariff, rates, on, engine="native"),
                        inputs=(items, reg, tariff, rates, on, currency, amounts))
    result.timings = {"encode": t1 - t0, "core": t2 - t1}
    return result
