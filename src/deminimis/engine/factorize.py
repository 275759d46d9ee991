"""Factorizing columns: codes in first-appearance order, the first row of each code and the distinct
values (the C hashing pass of csrc/encode.h where the type allows, else Python)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .. import _arrow, _encode
from ..assessment import to_list
from ..columns import UNHASHABLE_ID, id_key, is_missing, objects
from ..errors import InvalidValueError
from ..problems import Problems, report
from .checks import check_distinct


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
        check_distinct(column, codes, to_list(distinct), lambda x: missing if is_missing(x) else None, sink=sink)
    return codes, first, distinct


def factorize_list(a: Any) -> tuple[np.ndarray, list[Any]]:
    """int32 codes in first-appearance order and the distinct values as a list."""
    codes, _, distinct = factorize_first(a)
    return codes, to_list(distinct)
