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
from typing import Any, Callable, NoReturn, Sequence

import numpy as np

from . import _arrow, _core, _encode
from .assessment import Assessment, ConsignmentIds, Inputs, make_provenance, to_list
from .columns import (UNHASHABLE_ID, RULE_COLUMN_DEFAULTS, VOCABULARIES, as_items, date_problem, id_key, is_missing,
                      objects, read_columns, to_date)
from .errors import (AmountOverflowError, InconsistentConsignmentError, InputError, InvalidValueError, MissingColumnError,
                     RegimeError, UnknownCodeError, UnknownCurrencyError, UnknownValueError)
from .partition import day_in_force, fixed_regime, run, version_parts
from .problems import Problems, check_errors_mode, report
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


def factorize(a: Any, key: Callable[[Any], Any] | None = None,
              column: str | None = None) -> tuple[np.ndarray, list[Any]]:
    """Codes (int64, first-appearance order) and the distinct values of a column.

    Values are the same when they are equal, or with `key` (the id columns: columns.id_key) when their
    keys are; a value the key refuses (unhashable) is an InvalidValueError naming `column` and the row.
    """
    if _encode.supports(a):  # Arrow strings, integers, dates; numpy integers and fixed-width strings
        codes, first = _encode.factorize(a, wide=True)
        return codes, to_list(a[first] if isinstance(a, np.ndarray) else a.take(first))
    if _arrow.is_arrow(a) and key is None:
        try:
            return _arrow.factorize(a)
        except NotImplementedError:  # a type Arrow cannot hash: take the general path
            pass
    values = a.to_pylist() if _arrow.is_arrow(a) else a if a.dtype == object else a.tolist()
    index: dict[Any, int] = {}
    distinct: list[Any] = []
    codes = np.empty(len(values), dtype=np.int64)
    for i, x in enumerate(values):
        try:
            c = index.setdefault(x if key is None else key(x), len(distinct))
        except TypeError:
            if column is None:
                raise
            raise InvalidValueError(UNHASHABLE_ID, column=column, row=i, value=x) from None
        if c == len(distinct):
            distinct.append(x)
        codes[i] = c
    return codes, distinct


def factorize_first(a: Any, wide: bool = False, key: Callable[[Any], Any] | None = None,
                    column: str | None = None) -> tuple[np.ndarray, np.ndarray, Any]:
    """Codes in first-appearance order, the first row of each code and the distinct values.

    Codes are int64 when `wide`, else int32.  The distinct values come as the
    array they were taken from (pyarrow or numpy: ``assessment.to_list`` makes them a
    list) or as a list.  Arrow strings, integers and dates and numpy integers and
    fixed-width strings take the C hashing pass (csrc/encode.h); other types the
    general path of ``factorize`` (with `key` and `column`), with the same codes.
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
    codes64, uniq = factorize(a, key, column)
    n = len(codes64)
    first = np.full(len(uniq), n, dtype=np.int64)
    np.minimum.at(first, codes64, np.arange(n, dtype=np.int64))
    return codes64.astype(np.int64 if wide else np.int32, copy=False), first, uniq


def factorize_ids(a: Any, column: str, missing: str, wide: bool = False,
                  sink: Problems | None = None) -> tuple[np.ndarray, np.ndarray, Any]:
    """factorize_first for an id column (consignment, consignee): ids are the same when their kind and
    value are (columns.id_key), whatever the encoding; a missing id is an InvalidValueError (`missing`)
    naming its first row.

    Typed columns hold one type, so their values are their ids: Arrow strings, binaries, integers,
    dates and timestamps and numpy integers, booleans, strings and datetimes take the C pass (NaT and
    nulls are found first).  Everything else is read as Python objects: Arrow floats among them, whose
    NaN is not a null and whose -0.0 Arrow's hash would tell from 0.0.
    """
    if _arrow.is_arrow(a):
        if a.null_count:
            import pyarrow.compute as pc
            report(sink, np.flatnonzero(pc.is_null(a).to_numpy(zero_copy_only=False)),
                   lambda row: InvalidValueError(missing, column=column, row=row, value=None))
            a = objects(a.to_pylist())  # errors="flag": the nulls stay, as one more (flagged) id
        elif not _encode.supports(a):
            a = objects(a.to_pylist())
    if isinstance(a, np.ndarray) and a.dtype.kind in "mM":
        nat = np.flatnonzero(np.isnat(a))
        report(sink, nat, lambda row: InvalidValueError(missing, column=column, row=row, value=a[row]))
    key = None
    if isinstance(a, np.ndarray) and a.dtype.kind not in "iubUSmM":  # objects and floats, as Python values
        if a.dtype != object:
            a = objects(a.tolist())
        types = set(map(type, a))
        # one plain type: the value is the key (the common case, kept fast); otherwise kind and value
        key = None if len(types) == 1 and types <= {str, int, bytes, float, bool} else id_key
    codes, first, distinct = factorize_first(a, wide, key, column)
    if isinstance(a, np.ndarray) and a.dtype == object:
        _check_distinct(column, codes, to_list(distinct), lambda x: missing if is_missing(x) else None, sink=sink)
    return codes, first, distinct


def _factorize_list(a: Any) -> tuple[np.ndarray, list[Any]]:
    """int32 codes in first-appearance order and the distinct values as a list."""
    codes, _, distinct = factorize_first(a)
    return codes, to_list(distinct)


def _rows_of(codes: np.ndarray, bad: Sequence[bool] | np.ndarray, skip: np.ndarray | None = None) -> np.ndarray:
    """Rows whose distinct value is bad (all of them: the sink wants every one; raising, the first),
    leaving out rows already bad in an earlier check (`skip`)."""
    mask = np.asarray(bad, dtype=bool)
    if not mask.any():
        return np.empty(0, dtype=np.int64)
    hits = mask[codes]
    if skip is not None:
        hits &= ~skip
    return np.flatnonzero(hits)


def _check_distinct(col: str, codes: np.ndarray, uniq: list[Any], check: Callable[[Any], str | None],
                    error: type = InvalidValueError, sink: Problems | None = None,
                    make: Callable[[str, int, Any], InputError] | None = None) -> np.ndarray:
    """Check each distinct value once; report the bad rows; the mask of bad distinct values."""
    problems = [check(u) for u in uniq]
    bad = np.array([p is not None for p in problems] or [False], dtype=bool)[:len(uniq)]
    build = make or (lambda msg, row, value: error(msg, column=col, row=row, value=value))
    report(sink, _rows_of(codes, bad, sink.bad if sink else None),
           lambda row: build(problems[codes[row]], row, uniq[codes[row]]))
    return bad


def _hs_problem(x: Any) -> str | None:
    if not isinstance(x, str) or not (4 <= len(x) <= 10) or not x.isdigit() or not x.isascii():
        return "an hs_code must be a string of 4 to 10 digits"
    return None


def _country_problem(x: Any) -> str | None:
    if is_missing(x) or x == "":
        return None
    if not isinstance(x, str) or len(x) != 2 or not x.isascii() or not x.isalpha() or not x.isupper():
        return "must be an ISO 3166 alpha-2 code (two capital letters)"
    return None


def _one_amount(x: Any, exp: int, col: str, row: int, minor: bool, what: str, optional: bool) -> int | None:
    """One amount in minor units, or None when missing and optional (InputError when bad)."""
    if is_missing(x) or (optional and isinstance(x, str) and x == ""):
        if not optional:
            raise InvalidValueError("is missing", column=col, row=row, value=x)
        return None
    if minor:
        if isinstance(x, (bool, np.bool_)) or not isinstance(x, (int, np.integer)):
            raise InvalidValueError("amounts='minor' needs integers", column=col, row=row, value=x)
        if x < 0:
            raise InvalidValueError("must not be negative", column=col, row=row, value=x)
        return to_minor(int(x), 0, column=col, row=row, what=what)
    return to_minor(x, exp, column=col, row=row, what=what)


def _amounts(arr: Any, exps_of: Callable[[], np.ndarray], col: str, minor: bool, what: str,
             optional: bool = False, sink: Problems | None = None,
             skip: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Exact int64 minor units of a column and a missing mask.

    exps_of() gives the exponent per row; it is called only when needed (not
    for integers already in minor units).  An int64 column in minor units is
    returned as it is (possibly a read-only view of the caller's Arrow buffer).
    With a sink, every bad row is reported (rows in `skip` are not read: an earlier
    check found them bad) and bad amounts read as 0.
    """
    if sink is not None:
        try:
            return _amounts(arr, exps_of, col, minor, what, optional)
        except InputError:
            return _amounts_each(arr, exps_of, col, minor, what, optional, sink, skip)
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
    exps_l = exps_of().tolist() if not minor else [0] * n
    for i, x in enumerate(arr.tolist() if arr.dtype != object else arr):
        v = _one_amount(x, exps_l[i], col, i, minor, what, optional)
        missing[i] = v is None
        out[i] = v or 0
    return out, missing


def _amounts_each(arr: Any, exps_of: Callable[[], np.ndarray], col: str, minor: bool, what: str,
                  optional: bool, sink: Problems, skip: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """_amounts row by row, reporting every bad row to the sink (the slow path of errors='flag')."""
    values = to_list(arr) if _arrow.is_arrow(arr) else arr.tolist()
    n = len(values)
    out = np.zeros(n, dtype=np.int64)
    missing = np.zeros(n, dtype=bool)
    exps_l = exps_of().tolist() if not minor else [0] * n
    for i, x in enumerate(values):
        if skip is not None and skip[i]:
            continue
        if minor and isinstance(x, float):
            sink.add(InvalidValueError("amounts='minor' needs integers, not floats", column=col, row=i, value=x))
            continue
        try:
            v = _one_amount(x, exps_l[i], col, i, minor, what, optional)
        except InputError as exc:
            sink.add(exc)
            continue
        missing[i] = v is None
        out[i] = v or 0
    return out, missing


def _per_consignment(col: str, codes: np.ndarray, cons: np.ndarray, first: np.ndarray,
                     sink: Problems | None = None) -> np.ndarray:
    """Check a consignment-level column agrees within each consignment; its value per consignment.

    codes: the column's codes (or its values: any fixed-width array), one C pass. With a
    sink, every row that disagrees with its consignment's first row is reported.
    """
    def make(row: int) -> InputError:
        return InconsistentConsignmentError(
            f"items of one consignment disagree (row {int(first[cons[row]])} has another value)",
            column=col, row=row)

    row = _encode.first_inconsistent(codes, cons, first)
    if row >= 0:
        # with a sink: rows that disagree with their consignment's first row, neither of them already bad
        rows = [row] if sink is None else np.flatnonzero(
            (codes != codes[first][cons]) & ~sink.bad & ~sink.bad[first][cons])
        report(sink, rows, make)
    return codes[first]


def _bool_problem(x: Any) -> str | None:
    if isinstance(x, (bool, np.bool_)) or x in (0, 1):
        return None
    return "collected_at_sale must be true or false (or 0/1)"


def _vocabulary_problem(col: str, allowed: Sequence[str]) -> Callable[[Any], str | None]:
    def check(x: Any) -> str | None:
        if is_missing(x):
            return "is missing"
        return None if isinstance(x, str) and x in allowed else f"is not a {col} this regime knows"
    return check


def _unknown_value(col: str, allowed: Sequence[str]) -> Callable[[str, int, Any], InputError]:
    def make(msg: str, row: int, value: Any) -> InputError:
        if msg == "is missing":
            return InvalidValueError(msg, column=col, row=row, value=value)
        return UnknownValueError(msg, column=col, row=row, value=value, allowed=tuple(allowed))
    return make


def _date_problem_under(regime: Regime | None) -> Callable[[Any], str | None]:
    """A date column's value: a date, and (when the regime is fixed by `on`) within its validity."""
    def check(x: Any) -> str | None:
        problem = date_problem(x)
        if problem is None and regime is not None and not day_in_force(regime, to_date(x)):
            return (f"regime {regime.id} is not in force on this date "
                    f"(valid {regime.valid_from or '-inf'} to {regime.valid_to or '+inf'})")
        return problem
    return check



def prepare(cols: dict[str, Any], n: int, *, regime: Regime, tariff: Tariff, rates: ExchangeRates,
            currency: str | None, minor: bool, on: _dt.date | None,
            sink: Problems | None = None) -> dict[str, Any] | None:
    """Validate and encode a batch for the core (see module docstring).

    `on` None: each item's tariff line is the one in force on its consignment's date.
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
    code_idx, codes = _factorize_list(cols["hs_code"])
    code_bad = _check_distinct("hs_code", code_idx, codes, _hs_problem, sink=sink)

    # currency per item
    if "currency" in cols:
        cur_idx, curs = _factorize_list(cols["currency"])
    elif currency is not None:
        cur_idx, curs = np.zeros(n, dtype=np.int32), [currency]
    else:
        raise MissingColumnError("give a 'currency' column or currency= for the batch", column="currency")
    cur_bad = _check_distinct(
        "currency", cur_idx, curs,
        lambda c: None if isinstance(c, str) and c in CURRENCY_EXPONENTS else "not an ISO 4217 currency code",
        UnknownCurrencyError, sink)
    cur_bad |= _check_distinct("currency", cur_idx, curs,
                               lambda c: None if rates.has(c) else f"no exchange rate into {rates.base}",
                               UnknownCurrencyError, sink) & ~cur_bad
    cur_exp = np.array([0 if bad else CURRENCY_EXPONENTS[c] for c, bad in zip(curs, cur_bad)], dtype=np.int64)

    # values
    value, _ = _amounts(cols["value"], lambda: cur_exp[cur_idx], "value", minor, "its currency", sink=sink,
                        skip=skip)

    # origins
    if "origin" in cols:
        org_idx, origins = _factorize_list(cols["origin"])
        origin_bad = _check_distinct("origin", org_idx, origins, _country_problem, sink=sink)
        origins = ["" if (bad or is_missing(o) or o == "") else o for o, bad in zip(origins, origin_bad)]
    else:
        org_idx, origins = np.zeros(n, dtype=np.int32), [""]

    # quantities in milli-units; an absent column is (None, None): zeros to the core, missing on every item
    qty_cols: dict[str, tuple[np.ndarray | None, np.ndarray | None]] = {}
    for kind, col in QUANTITY_COLUMNS.items():
        if col in cols:
            qty_cols[kind] = _amounts(cols[col], lambda: np.full(n, 3, dtype=np.int64), col, False,
                                      "a quantity in thousandths", optional=True, sink=sink, skip=skip)
        else:
            qty_cols[kind] = (None, None)

    # consignment-level fields, each checked for agreement within its consignment
    # consignment-level columns: (code per consignment, distinct values)
    percons: dict[str, tuple[np.ndarray, list[Any]]] = {}
    if "freight_currency" in cols:
        fc_idx, fcs = _factorize_list(cols["freight_currency"])
        fc_bad = _check_distinct("freight_currency", fc_idx, fcs,
                                 lambda c: None if isinstance(c, str) and c in CURRENCY_EXPONENTS and rates.has(c)
                                 else "not an ISO 4217 currency with an exchange rate", UnknownCurrencyError, sink)
        fcur_cons = _per_consignment("freight_currency", fc_idx, cons, first, sink)
        fcur_item = fc_idx
        fcur_names = [regime.currency if bad else c for c, bad in zip(fcs, fc_bad)]
    elif "freight" in cols or "insurance" in cols:
        fcur_cons = _per_consignment("currency", cur_idx, cons, first, sink)
        fcur_item, fcur_names = cur_idx, [regime.currency if bad else c for c, bad in zip(curs, cur_bad)]
    else:
        fcur_cons = cur_idx[first]
        fcur_item, fcur_names = cur_idx, [regime.currency if bad else c for c, bad in zip(curs, cur_bad)]
    fexp = np.array([CURRENCY_EXPONENTS[c] for c in fcur_names], dtype=np.int64)
    freight_ins = {}
    for col in ("freight", "insurance"):
        if col in cols:
            amt, _ = _amounts(cols[col], lambda: fexp[fcur_item], col, minor, "its currency", optional=True,
                              sink=sink, skip=skip)
            freight_ins[col] = _per_consignment(col, amt, cons, first, sink)  # equal amounts, equal codes
        else:
            freight_ins[col] = None if col == "insurance" else np.zeros(n_cons, dtype=np.int64)  # None: zeros

    if "collected_at_sale" in cols:
        cas_idx, cas_u = _factorize_list(cols["collected_at_sale"])
        cas_bad = _check_distinct("collected_at_sale", cas_idx, cas_u, _bool_problem, sink=sink)
        truth = np.array([not bad and bool(u) for u, bad in zip(cas_u, cas_bad)] or [False], dtype=np.uint8)
        cas_cons = truth[_per_consignment("collected_at_sale", cas_idx, cons, first, sink)]
    else:
        cas_cons = np.zeros(n_cons, dtype=np.uint8)

    vat = regime.vat
    if "destination" in cols:
        dst_idx, dsts = _factorize_list(cols["destination"])
        dst_allowed = sorted(vat.rates)
        dst_bad = _check_distinct("destination", dst_idx, dsts, _vocabulary_problem("destination", dst_allowed),
                                  sink=sink, make=_unknown_value("destination", dst_allowed))
        dst_cons = _per_consignment("destination", dst_idx, cons, first, sink)
    elif vat.default_destination is not None:
        dst_idx, dsts = np.zeros(n, dtype=np.int32), [vat.default_destination]
        dst_bad = np.zeros(1, dtype=bool)
        dst_cons = np.zeros(n_cons, dtype=np.int32)
    else:
        raise MissingColumnError(f"regime {regime.id} has VAT rates for several destinations "
                                 "and no default_destination", column="destination")

    for col in ("transport", "nature", "shipped_from", "consignee", "date"):
        if col in cols:
            if col == "consignee":  # an id, like the consignment's
                idx, _, distinct = factorize_ids(cols[col], col, "is missing", sink=sink)
                uniq = to_list(distinct)
            else:
                idx, uniq = _factorize_list(cols[col])
            if col == "date":
                _check_distinct("date", idx, uniq, _date_problem_under(regime), sink=sink)
            elif col in VOCABULARIES:
                _check_distinct(col, idx, uniq, _vocabulary_problem(col, VOCABULARIES[col]), sink=sink,
                                make=_unknown_value(col, VOCABULARIES[col]))
            elif col == "shipped_from":
                _check_distinct(col, idx, uniq, lambda x: "is missing" if is_missing(x) else _country_problem(x),
                                sink=sink)
            elif col != "consignee" and not (isinstance(cols[col], np.ndarray) and cols[col].dtype.kind in "iubUS"):  # those hold no gaps
                _check_distinct(col, idx, uniq, lambda x: "is missing" if is_missing(x) else None, sink=sink)
            percons[col] = (_per_consignment(col, idx, cons, first, sink), uniq)
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
    slots = regime.rule_slots()
    unknown = np.zeros(len(pairs), dtype=bool)
    for p, key in enumerate(pairs):
        code, (origin, day) = codes[key // n_place], place_of[key % n_place]
        found = None if code_bad[key // n_place] or (on is None and day is None) else tariff.lookup(code, origin, on=day)
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
    report(sink, _rows_of(pair_idx, unknown, skip),
           lambda row: UnknownCodeError("no tariff line covers this code", column="hs_code", row=row,
                                        value=codes[int(code_idx[row])]))

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
        report(sink, np.flatnonzero(bad), lambda row: (MissingColumnError if col not in cols else InvalidValueError)(
            f"the tariff line for code {codes[int(code_idx[row])]} charges per unit of {kind}; "
            f"give {col}", column=col, row=row))
    if sink is not None:
        return None

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


def encode(items: Any, *, regime: Regime | dict | str, tariff: Tariff, on: _dt.date | None,
           rates: ExchangeRates | None = None, currency: str | None = None, amounts: str = "decimal") -> dict[str, Any]:
    """The core's input for a batch under the regime in force `on` (for profiling and direct
    ``_core.assess`` calls): read, validated, encoded; the first problem raises."""
    cols, n = read_columns(items, keep_arrow=True)
    reg = resolve_regime(regime, on)
    rates_, minor = check_arguments(reg, rates, amounts)
    enc = prepare(cols, n, regime=reg, tariff=tariff, rates=rates_, currency=currency, minor=minor, on=on)
    assert enc is not None
    return enc


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


def check_argument_types(*, regime: Any, tariff: Any, rates: Any, on: Any, currency: Any, amounts: Any,
                         n_threads: Any = None, out: Any = None) -> None:
    """A TypeError naming the argument, what it takes and what it got, before any work.

    deminimis.assess and deminimis.reference.assess both call it first (the reference has no
    n_threads and no out: their defaults pass).
    """
    def refuse(name: str, takes: str, got: Any) -> NoReturn:
        raise TypeError(f"{name} must be {takes}; got {type(got).__name__} {got!r}"[:300])

    if not isinstance(regime, (Regime, dict, str)):
        refuse("regime", "a Regime, a dict or a built-in regime code (str)", regime)
    if not isinstance(tariff, Tariff):
        refuse("tariff", "a deminimis.Tariff", tariff)
    if rates is not None and not isinstance(rates, ExchangeRates):
        refuse("rates", "a deminimis.ExchangeRates or None", rates)
    if on is not None and not isinstance(on, _dt.date):
        refuse("on", "a datetime.date (or datetime) or None", on)
    if currency is not None and not isinstance(currency, str):
        refuse("currency", "an ISO 4217 code (str) or None", currency)
    if not isinstance(amounts, str) or amounts not in ("decimal", "minor"):
        refuse("amounts", "'decimal' or 'minor'", amounts)
    if n_threads is not None and (isinstance(n_threads, bool) or not isinstance(n_threads, (int, np.integer))
                                  or n_threads < 1):
        refuse("n_threads", "a positive int or None (all cores)", n_threads)
    if out is not None and not isinstance(out, Buffers):
        refuse("out", "a deminimis.engine.Buffers or None", out)


def check_arguments(regime: Regime, rates: ExchangeRates | None, amounts: str) -> tuple[ExchangeRates, bool]:
    """The rates table to use (empty for a one-currency batch) and whether amounts are minor units."""
    if amounts not in ("decimal", "minor"):  # (assess has refused it already: prepare may be called alone)
        raise ValueError("amounts must be 'decimal' or 'minor'")
    if rates is None:
        rates = ExchangeRates({}, base=regime.currency)
    if rates.base != regime.currency:
        raise RegimeError(f"exchange rates are into {rates.base}, the regime's currency is {regime.currency}")
    return rates, amounts == "minor"


def builtin_regime(code: str) -> Regime | None:
    """The built-in regime with this id, or None (a jurisdiction code, or unknown)."""
    from .regimes import by_id
    return by_id(code)


def resolve_regime(regime: Regime | dict | str, on: _dt.date | _dt.datetime | None) -> Regime:
    """The regime in force `on`: the one named (an object, a dict or a regime id), which must be in
    force then, or the version of a jurisdiction in force then (`on` None: only a named regime)."""
    r = fixed_regime(regime, builtin_regime)
    if r is None:
        if on is None:
            raise RegimeError(f"{regime!r} is a jurisdiction: give the date (on=) that picks its version")
        from .regimes import get
        return get(str(regime), on=on)
    if on is not None and not r.in_force(on):
        raise RegimeError(f"regime {r.id} is not in force on {on} "
                          f"(valid {r.valid_from or '-inf'} to {r.valid_to or '+inf'})")
    return r


def candidate_regimes(regime: Regime | dict | str, on: _dt.date | None) -> list[Regime]:
    """The regimes a call may apply: the one in force `on`, or (per-row dates) the one named or
    every version of the jurisdiction named."""
    if on is not None:
        return [resolve_regime(regime, on)]
    fixed = fixed_regime(regime, builtin_regime)
    if fixed is not None:
        return [fixed]
    from .regimes import _builtin
    versions = [r for r in _builtin() if r.jurisdiction == str(regime).upper()]
    if not versions:
        raise RegimeError(f"no built-in regime {regime!r}")
    return versions


def regime_parts(regime: Regime | dict | str, on: _dt.date | None, cols: dict[str, Any], n: int,
                 sink: Problems | None) -> list[tuple[Regime, np.ndarray | None]]:
    """The regime of the whole batch on `on`, or (on=None) the rows of each version by their date."""
    if on is not None:
        return [(resolve_regime(regime, on), None)]
    from .regimes import get
    return list(version_parts(regime, cols, n, sink, builtin_regime, lambda code, day: get(code, on=day)))


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
           keep: Sequence[str] = (), errors: str = "raise", n_threads: int | None = 1,
           out: Buffers | None = None) -> Assessment:
    """Assess a batch of items under a regime and tariff, exactly, with the native core.

    Parameters
    ----------
    items : mapping of column -> array, pandas/polars DataFrame or pyarrow Table
        Columns as in docs/semantics.md: ``consignment``, ``hs_code``, ``value`` and
        the optional item and consignment-level columns. Any other column is an
        UnknownColumnError unless named in ``keep``.
    regime : Regime, dict, built-in regime id (``"EU-2026-07-01"``) or jurisdiction code
        (``"EU"``: the version in force on the date)
    tariff : Tariff
    rates : ExchangeRates into the regime's currency (not needed for a one-currency batch)
    on : the assessment date; the regime must be in force on it. Without it, the items
        need a ``date`` column and each consignment is assessed under the regime version
        and tariff lines in force on its date.
    currency : the currency of every amount, when there is no ``currency`` column
    amounts : "decimal" (amounts in major units, read exactly) or "minor"
        (integers already in minor units)
    keep : columns to pass through to the result (``result.kept``), unread
    errors : "raise" (the first bad value raises an InputError) or "flag" (every bad row is
        reported in ``result.errors``; consignments with a bad item are not assessed and
        carry a status in ``result.status``; the rest are assessed)
    n_threads : threads for the core (None: all cores); the result never depends on it
    out : Buffers to write the result into instead of fresh arrays

    Returns an Assessment; ``result.timings`` holds the seconds spent encoding the
    input and in the native core.
    """
    t0 = time.perf_counter()
    check_argument_types(regime=regime, tariff=tariff, rates=rates, on=on, currency=currency, amounts=amounts,
                         n_threads=n_threads, out=out)
    items = as_items(items)  # read once: a RecordBatchReader is read whole here
    check_errors_mode(errors)
    if out is not None and errors == "flag":
        raise ValueError("out= buffers hold one assessment of every row; use errors='raise' with them")
    cols, n = read_columns(items, keep_arrow=True, keep=keep)
    sink = Problems(n) if errors == "flag" else None
    parts = regime_parts(regime, on, cols, n, sink)
    timings = {"encode": 0.0, "core": 0.0}

    def checked(reg: Regime) -> tuple[ExchangeRates, bool]:
        return check_arguments(reg, rates, amounts)

    def validate(part: dict[str, Any], m: int, reg: Regime, on_: Any, part_sink: Problems) -> None:
        rates_, minor = checked(reg)
        prepare(part, m, regime=reg, tariff=tariff, rates=rates_, currency=currency, minor=minor, on=on_,
                sink=part_sink)

    def assess_part(part: dict[str, Any], m: int, reg: Regime, on_: Any) -> Assessment:
        t1 = time.perf_counter()
        rates_, minor = checked(reg)
        enc = prepare(part, m, regime=reg, tariff=tariff, rates=rates_, currency=currency, minor=minor, on=on_)
        assert enc is not None
        nn, nc = enc["n"], enc["n_cons"]
        if out is not None:
            out_items, out_cons = out.views(nn, nc)
        else:
            out_items = {k: np.empty(nn, dtype=np.int64) for k in _core.ITEM_OUTPUTS}
            out_items["rule"] = np.empty(nn, dtype=np.int32)
            out_cons = {k: np.empty(nc, dtype=np.int64) for k in _core.CONS_OUTPUTS}
        threads = (os.cpu_count() or 1) if n_threads is None else int(n_threads)
        t2 = time.perf_counter()
        _core.assess(enc["items"], enc["cons"], enc["tables"], enc["params"], out_items, out_cons, threads)
        timings["encode"] += t2 - t1
        timings["core"] += time.perf_counter() - t2
        return Assessment(items=out_items, consignment_ids=enc["cons_ids"], consignments=out_cons,
                          currency=reg.currency, provenance=make_provenance(reg, tariff, rates, on_, engine="native"),
                          inputs=Inputs(part, enc["items"]["cons"], reg, tariff, rates, on_, currency, amounts))

    result = run(cols, n, parts=parts, on=on, sink=sink, validate=validate, assess=assess_part, engine="native",
                 tariff=tariff, rates=rates)
    result.kept = {k: cols[k] for k in keep}
    result.timings = timings
    timings["encode"] = time.perf_counter() - t0 - timings["core"]
    return result
