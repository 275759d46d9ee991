"""The checks of the encoding: each distinct value once, the bad rows reported (raised, or put in the
errors="flag" sink), in the validation order of docs/semantics.md."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .. import _arrow, _encode
from ..assessment import to_list
from ..columns import date_problem, is_missing, to_date
from ..errors import AmountOverflowError, InconsistentConsignmentError, InputError, InvalidValueError, UnknownValueError
from ..money import INT64_MAX, to_minor
from ..partition import day_in_force
from ..problems import Problems, report
from ..regimes.model import Regime


def rows_of(codes: np.ndarray, bad: Sequence[bool] | np.ndarray, skip: np.ndarray | None = None) -> np.ndarray:
    """Rows whose distinct value is bad (all of them: the sink wants every one; raising, the first),
    leaving out rows already bad in an earlier check (`skip`)."""
    mask = np.asarray(bad, dtype=bool)
    if not mask.any():
        return np.empty(0, dtype=np.int64)
    hits = mask[codes]
    if skip is not None:
        hits &= ~skip
    return np.flatnonzero(hits)


def check_distinct(col: str, codes: np.ndarray, uniq: list[Any], check: Callable[[Any], str | None],
                    error: type = InvalidValueError, sink: Problems | None = None,
                    make: Callable[[str, int, Any], InputError] | None = None) -> np.ndarray:
    """Check each distinct value once; report the bad rows; the mask of bad distinct values."""
    problems = [check(u) for u in uniq]
    bad = np.array([p is not None for p in problems] or [False], dtype=bool)[:len(uniq)]
    build = make or (lambda msg, row, value: error(msg, column=col, row=row, value=value))
    report(sink, rows_of(codes, bad, sink.bad if sink else None),
           lambda row: build(problems[codes[row]], row, uniq[codes[row]]))
    return bad


def hs_problem(x: Any) -> str | None:
    if not isinstance(x, str) or not (4 <= len(x) <= 10) or not x.isdigit() or not x.isascii():
        return "an hs_code must be a string of 4 to 10 digits"
    return None


def country_problem(x: Any) -> str | None:
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


def read_amounts(arr: Any, exps_of: Callable[[], np.ndarray], col: str, minor: bool, what: str,
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
            return read_amounts(arr, exps_of, col, minor, what, optional)
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
        raise InvalidValueError("amounts='minor' needs integers, not floats", column=col, row=0,
                                value=arr[0] if n else None)
    out = np.empty(n, dtype=np.int64)
    exps_l = exps_of().tolist() if not minor else [0] * n
    for i, x in enumerate(arr.tolist() if arr.dtype != object else arr):
        v = _one_amount(x, exps_l[i], col, i, minor, what, optional)
        missing[i] = v is None
        out[i] = v or 0
    return out, missing


def _amounts_each(arr: Any, exps_of: Callable[[], np.ndarray], col: str, minor: bool, what: str,
                  optional: bool, sink: Problems, skip: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """read_amounts row by row, reporting every bad row to the sink (the slow path of errors='flag')."""
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


def per_consignment(col: str, codes: np.ndarray, cons: np.ndarray, first: np.ndarray,
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


def bool_problem(x: Any) -> str | None:
    if isinstance(x, (bool, np.bool_)) or x in (0, 1):
        return None
    return "collected_at_sale must be true or false (or 0/1)"


def vocabulary_problem(col: str, allowed: Sequence[str]) -> Callable[[Any], str | None]:
    def check(x: Any) -> str | None:
        if is_missing(x):
            return "is missing"
        return None if isinstance(x, str) and x in allowed else f"is not a {col} this regime knows"
    return check


def unknown_value(col: str, allowed: Sequence[str]) -> Callable[[str, int, Any], InputError]:
    def make(msg: str, row: int, value: Any) -> InputError:
        if msg == "is missing":
            return InvalidValueError(msg, column=col, row=row, value=value)
        return UnknownValueError(msg, column=col, row=row, value=value, allowed=tuple(allowed))
    return make


def date_problem_under(regime: Regime | None) -> Callable[[Any], str | None]:
    """A date column's value: a date, and (when the regime is fixed by `on`) within its validity."""
    def check(x: Any) -> str | None:
        problem = date_problem(x)
        if problem is None and regime is not None and not day_in_force(regime, to_date(x)):
            return (f"regime {regime.id} is not in force on this date "
                    f"(valid {regime.valid_from or '-inf'} to {regime.valid_to or '+inf'})")
        return problem
    return check
