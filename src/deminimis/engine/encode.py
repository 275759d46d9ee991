"""prepare(): validate a batch and encode it for the core: integer columns and compiled tables, each
lookup once per distinct value."""

from __future__ import annotations

import datetime as _dt
from decimal import Decimal
from typing import Any

import numpy as np

from .. import _core, _encode
from ..arguments import check_arguments, resolve_regime
from ..assessment import ConsignmentIds, to_list
from ..columns import VOCABULARIES, date_problem, is_missing, read_columns, to_date
from ..errors import (
    AmbiguousCodeError,
    AmountOverflowError,
    InputError,
    InvalidValueError,
    MissingColumnError,
    RegimeError,
    UnknownCodeError,
    UnknownCurrencyError,
)
from ..money import CURRENCY_EXPONENTS, INT64_MAX
from ..problems import Problems, report
from ..rates import ExchangeRates
from ..regimes.model import Regime
from ..tariff.compile import compile_measures
from ..tariff.expr import FREE, QUANTITY_COLUMNS, Expr, quantities_used
from ..tariff.nomenclature import code_problem
from ..tariff.table import Tariff, is_ambiguous
from .checks import (
    bool_problem,
    check_distinct,
    country_problem,
    date_problem_under,
    hs_problem,
    per_consignment,
    read_amounts,
    rows_of,
    unknown_value,
    vocabulary_problem,
)
from .factorize import factorize, factorize_ids, factorize_list
from .params import conversion_factor, core_params, effective_vat_rate, rule_slots


def prepare(cols: dict[str, Any], n: int, *, regime: Regime, tariff: Tariff, rates: ExchangeRates,
            currency: str | None, minor: bool, on: _dt.date | None,
            sink: Problems | None = None, ambiguous: str = "flag") -> dict[str, Any] | None:
    """Validate and encode a batch for the core (see module docstring).

    `on` None: each item's tariff line is the one in force on its consignment's date.
    `ambiguous`: what a code that covers lines with different duties gets (docs/semantics.md, 5).
    With a sink (errors="flag"), every bad row is reported to it and nothing is encoded
    (returns None): the caller then assesses the good consignments alone.
    """
    skip = sink.bad if sink is not None else None

    # consignment ids, in first-appearance order; first: each consignment's first row
    cons, first, cons_distinct = factorize_ids(cols["consignment"], "consignment", "a consignment id is missing",
                                               wide=True, sink=sink)
    n_cons = len(first)
    cons_ids = ConsignmentIds(cons_distinct)

    # hs codes
    code_idx, codes = factorize_list(cols["hs_code"])
    factorized = {"hs_code": (code_idx, codes)}  # kept by the result for explain, instead of a copy
    edition = tariff.hs_edition
    code_bad = check_distinct("hs_code", code_idx, codes, hs_problem if edition is None else (
        lambda c: hs_problem(c) or code_problem(c, edition)), sink=sink)

    # currency per item
    if "currency" in cols:
        cur_idx, curs = factorize_list(cols["currency"])
        factorized["currency"] = (cur_idx, curs)
    elif currency is not None:
        cur_idx, curs = np.zeros(n, dtype=np.int32), [currency]
    else:
        raise MissingColumnError("give a 'currency' column or currency= for the batch", column="currency")
    cur_bad = check_distinct(
        "currency", cur_idx, curs,
        lambda c: None if isinstance(c, str) and c in CURRENCY_EXPONENTS else "not an ISO 4217 currency code",
        UnknownCurrencyError, sink)
    cur_bad |= check_distinct("currency", cur_idx, curs,
                               lambda c: None if rates.has(c) else f"no exchange rate into {rates.base}",
                               UnknownCurrencyError, sink) & ~cur_bad
    cur_exp = np.array([0 if bad else CURRENCY_EXPONENTS[c] for c, bad in zip(curs, cur_bad)], dtype=np.int64)

    # values
    value, _ = read_amounts(cols["value"], lambda: cur_exp[cur_idx], "value", minor, "its currency", sink=sink,
                        skip=skip)

    # origins
    if "origin" in cols:
        org_idx, origins = factorize_list(cols["origin"])
        factorized["origin"] = (org_idx, origins)
        origin_bad = check_distinct("origin", org_idx, origins, country_problem, sink=sink)
        origins = ["" if (bad or is_missing(o) or o == "") else o for o, bad in zip(origins, origin_bad)]
    else:
        org_idx, origins = np.zeros(n, dtype=np.int32), [""]

    # quantities in milli-units; an absent column is (None, None): zeros to the core, missing on every item
    qty_cols: dict[str, tuple[np.ndarray | None, np.ndarray | None]] = {}
    for kind, col in QUANTITY_COLUMNS.items():
        if col in cols:
            qty_cols[kind] = read_amounts(cols[col], lambda: np.full(n, 3, dtype=np.int64), col, False,
                                      "a quantity in thousandths", optional=True, sink=sink, skip=skip)
        else:
            qty_cols[kind] = (None, None)
    alc = pure_alcohol(qty_cols["alcohol"], qty_cols["volume"], sink, skip)

    # consignment-level fields, each checked for agreement within its consignment
    # consignment-level columns: (code per consignment, distinct values)
    percons: dict[str, tuple[np.ndarray, list[Any]]] = {}
    if "freight_currency" in cols:
        fc_idx, fcs = factorize_list(cols["freight_currency"])
        fc_bad = check_distinct("freight_currency", fc_idx, fcs,
                                 lambda c: None if isinstance(c, str) and c in CURRENCY_EXPONENTS and rates.has(c)
                                 else "not an ISO 4217 currency with an exchange rate", UnknownCurrencyError, sink)
        fcur_cons = per_consignment("freight_currency", fc_idx, cons, first, sink)
        fcur_item = fc_idx
        fcur_names = [regime.currency if bad else c for c, bad in zip(fcs, fc_bad)]
    elif "freight" in cols or "insurance" in cols:
        fcur_cons = per_consignment("currency", cur_idx, cons, first, sink)
        fcur_item, fcur_names = cur_idx, [regime.currency if bad else c for c, bad in zip(curs, cur_bad)]
    else:
        fcur_cons = cur_idx[first]
        fcur_item, fcur_names = cur_idx, [regime.currency if bad else c for c, bad in zip(curs, cur_bad)]
    fexp = np.array([CURRENCY_EXPONENTS[c] for c in fcur_names], dtype=np.int64)
    freight_ins: dict[str, np.ndarray | None] = {}
    for col in ("freight", "insurance"):
        if col in cols:
            amt, _ = read_amounts(cols[col], lambda: fexp[fcur_item], col, minor, "its currency", optional=True,
                              sink=sink, skip=skip)
            freight_ins[col] = per_consignment(col, amt, cons, first, sink)  # equal amounts, equal codes
        else:
            freight_ins[col] = None if col == "insurance" else np.zeros(n_cons, dtype=np.int64)  # None: zeros

    if "collected_at_sale" in cols:
        cas_idx, cas_u = factorize_list(cols["collected_at_sale"])
        cas_bad = check_distinct("collected_at_sale", cas_idx, cas_u, bool_problem, sink=sink)
        truth = np.array([not bad and bool(u) for u, bad in zip(cas_u, cas_bad)] or [False], dtype=np.uint8)
        cas_cons = truth[per_consignment("collected_at_sale", cas_idx, cons, first, sink)]
    else:
        cas_cons = np.zeros(n_cons, dtype=np.uint8)

    vat = regime.vat
    if "destination" in cols:
        dst_idx, dsts = factorize_list(cols["destination"])
        factorized["destination"] = (dst_idx, dsts)
        dst_allowed = sorted(vat.rates)
        check_distinct("destination", dst_idx, dsts, vocabulary_problem("destination", dst_allowed),
                       sink=sink, make=unknown_value("destination", dst_allowed))
        dst_cons = per_consignment("destination", dst_idx, cons, first, sink)  # the VAT key below is per item
    elif vat.default_destination is not None:
        dst_idx, dsts = np.zeros(n, dtype=np.int32), [vat.default_destination]
        dst_cons = np.zeros(n_cons, dtype=np.int32)
    else:
        raise MissingColumnError(f"regime {regime.id} has VAT rates for several destinations "
                                 "and no default_destination", column="destination")

    percons["destination"] = (dst_cons, dsts)  # thresholds by destination (engine/params.py)
    for col in ("transport", "nature", "shipped_from", "consignee", "date"):
        if col in cols:
            if col == "consignee":  # an id, like the consignment's
                idx, _, distinct = factorize_ids(cols[col], col, "is missing", sink=sink)
                uniq = to_list(distinct)
            else:
                idx, uniq = factorize_list(cols[col])
                factorized[col] = (idx, uniq)
            if col == "date":
                check_distinct("date", idx, uniq, date_problem_under(regime), sink=sink)
            elif col in VOCABULARIES:
                check_distinct(col, idx, uniq, vocabulary_problem(col, VOCABULARIES[col]), sink=sink,
                                make=unknown_value(col, VOCABULARIES[col]))
            elif col == "shipped_from":
                check_distinct(col, idx, uniq, lambda x: "is missing" if is_missing(x) else country_problem(x),
                                sink=sink)
            elif col != "consignee" and not (isinstance(cols[col], np.ndarray)
                                             and cols[col].dtype.kind in "iubUS"):  # those hold no gaps
                check_distinct(col, idx, uniq, lambda x: "is missing" if is_missing(x) else None, sink=sink)
            percons[col] = (per_consignment(col, idx, cons, first, sink), uniq)
    if on is None and "date" not in percons:
        raise MissingColumnError("no assessment date: give on= or a 'date' column", column="date")

    # tariff measures, resolved once per distinct (code, origin), or (code, origin, date) when each
    # consignment is assessed on its own date
    if on is None:
        date_code, date_values = percons["date"]
        row_date = date_code[cons]
        day_of = [None if date_problem(d) else to_date(d) for d in date_values]
        n_dates = len(date_values)
        place_idx = org_idx.astype(np.int64) * n_dates + row_date
        place_of = [(origins[k // n_dates], day_of[k % n_dates]) for k in range(len(origins) * n_dates)]
    else:
        place_idx, place_of = org_idx, [(o, on) for o in origins]
    n_place = len(place_of)
    if n and len(codes) * n_place <= _encode.MAX_PAIR_TABLE:
        pair_idx, pair_keys = _encode.factorize_pair(code_idx, place_idx.astype(np.int32, copy=False), len(codes),
                                                     n_place)
        pairs = pair_keys.tolist()
    else:
        pair_idx, pairs = factorize(code_idx.astype(np.int64) * n_place + place_idx)
    exprs: list[Expr] = []
    expr_row: dict[Expr, int] = {}
    measure_of_pair = np.empty(len(pairs), dtype=np.int32)
    item_flags_pair = np.zeros(len(pairs), dtype=np.uint16)  # bit r: excluded from rule slot r
    slots = rule_slots(regime)
    unknown = np.zeros(len(pairs), dtype=bool)
    refused: dict[int, str] = {}  # pair -> the lines its ambiguous code covers (ambiguous="refuse")
    for p, key in enumerate(pairs):
        code, (origin, day) = codes[key // n_place], place_of[key % n_place]
        found = (None if code_bad[key // n_place] or (on is None and day is None)
                 else tariff.lookup(code, origin, on=day, ambiguous=ambiguous))
        if found is not None and ambiguous == "refuse" and is_ambiguous(found[0]):
            refused[p] = ", ".join(f"{line} ({e})" for line, e in tariff.covered(code, origin, on=day))
            found = None
        if found is None:
            unknown[p] = not code_bad[key // n_place] and not (on is None and day is None)
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
    def no_line(row: int) -> InputError:
        code, lines = codes[int(code_idx[row])], refused.get(int(pair_idx[row]))
        if lines is None:
            return UnknownCodeError("no tariff line covers this code", column="hs_code", row=row, value=code)
        return AmbiguousCodeError(f"the code covers tariff lines with different duties: {lines}; declare more "
                                  "digits (ambiguous='refuse')", column="hs_code", row=row, value=code)
    report(sink, rows_of(pair_idx, unknown, skip), no_line)

    # quantities the measures need must be present on those items
    for kind, col in QUANTITY_COLUMNS.items():
        needs = np.array([kind in quantities_used(e) for e in exprs] or [False], dtype=bool)
        if not n or not needs.any():
            continue
        missing = qty_cols[kind][1]
        needs_item = needs[measure_of_pair][pair_idx] & ~unknown[pair_idx]
        bad = needs_item if missing is None else needs_item & missing
        if skip is not None:
            bad &= ~skip

        def problem(row: int, col: str = col, kind: str = kind) -> InputError:  # this iteration's col and kind
            error = MissingColumnError if col not in cols else InvalidValueError
            return error(f"the tariff line for code {codes[int(code_idx[row])]} charges per unit of {kind}; "
                         f"give {col}", column=col, row=row)
        report(sink, np.flatnonzero(bad), problem)
    if sink is not None:
        return None

    exp = regime.exponent
    measures = compile_measures(exprs or [FREE], regime.currency, exp, rates)

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
        flat_of_pair = code_key[np.asarray(pairs, dtype=np.int64) // n_place] if pairs else code_key[:0]
    else:
        flat_of_pair = np.zeros(len(pairs), dtype=np.int32)

    # the per-item columns, gathered from the per-pair and per-VAT-key tables in one pass
    measure, flags, flat_key, vat_idx, vat_reduced_idx = _encode.gather_items(
        pair_idx, measure_of_pair, item_flags_pair, flat_of_pair, pair_vat, rate_of_key, reduced_of_key)

    # conversion table: item values also carry the regime's valuation factor (JP: 60% of retail)
    conv = [conversion_factor(rates, c, regime.valuation_factor) for c in curs]
    fconv = [conversion_factor(rates, c, Decimal(1)) for c in fcur_names]
    all_conv = conv + fconv

    params = core_params(regime, percons, cas_cons, n_cons)
    return {
        "n": n, "n_cons": n_cons, "cons_ids": cons_ids, "factorized": factorized,
        "items": {
            "cons": cons.astype(np.int64, copy=False), "value": value,
            "qty": qty_cols["count"][0], "mass": qty_cols["mass"][0], "vol": qty_cols["volume"][0], "alc": alc,
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


#: the strongest alcoholic strength, in thousandths of a % vol
MAX_STRENGTH = 100_000


def pure_alcohol(strength: tuple[np.ndarray | None, np.ndarray | None],
                 volume: tuple[np.ndarray | None, np.ndarray | None],
                 sink: Problems | None, skip: np.ndarray | None) -> np.ndarray | None:
    """Each item's pure alcohol as volume_ml x strength in thousandths of a % vol (None: no strengths).

    A strength above 100% vol is an InvalidValueError, a product beyond int64 an AmountOverflowError,
    both at alcohol_pct; an item without a volume or a strength carries no alcohol (a line that
    charges per pure alcohol then reports the missing column)."""
    pct, pct_missing = strength
    if pct is None or pct_missing is None:
        return None
    vol = volume[0] if volume[0] is not None else np.zeros(len(pct), dtype=np.int64)
    ok = ~pct_missing if skip is None else ~pct_missing & ~skip
    above = ok & (pct > MAX_STRENGTH)
    report(sink, np.flatnonzero(above), lambda row: InvalidValueError(
        "an alcoholic strength is at most 100 (% vol)", column="alcohol_pct", row=row,
        value=Decimal(int(pct[row])).scaleb(-3)))
    safe = np.where(ok & ~above, pct, 0)
    over = safe > 0
    over[over] = vol[over] > INT64_MAX // safe[over]
    report(sink, np.flatnonzero(over), lambda row: AmountOverflowError(
        "volume_l x alcohol_pct (the pure alcohol, in 1e-8 litre) does not fit in 64 bits",
        column="alcohol_pct", row=row, value=Decimal(int(pct[row])).scaleb(-3)))
    return np.where(over, 0, vol * safe)


def encode(items: Any, *, regime: Regime | dict | str, tariff: Tariff, on: _dt.date | None,
           rates: ExchangeRates | None = None, currency: str | None = None, amounts: str = "decimal",
           ambiguous: str = "flag") -> dict[str, Any]:
    """The core's input for a batch under the regime in force `on` (for profiling and direct
    ``_core.assess`` calls): read, validated, encoded; the first problem raises."""
    cols, n = read_columns(items, keep_arrow=True)
    reg = resolve_regime(regime, on)
    rates_, minor = check_arguments(reg, rates, amounts)
    enc = prepare(cols, n, regime=reg, tariff=tariff, rates=rates_, currency=currency, minor=minor, on=on,
                  ambiguous=ambiguous)
    assert enc is not None
    return enc
