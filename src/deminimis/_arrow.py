"""Reading Arrow columns without leaving Arrow: validation, hashing and exact decimals.

pyarrow is optional: these functions are only reached with pyarrow arrays in hand.
A caller's Arrow array is only as sound as its buffers: ``check_items`` refuses
corrupt ones before any Arrow kernel (cast, hash, concatenation) reads them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _encode
from .columns import CONSIGNMENT_COLUMNS, ITEM_COLUMNS
from .errors import AmountOverflowError, InvalidValueError
from .money import INT64_MAX


def is_arrow(a: Any) -> bool:
    return type(a).__module__.startswith("pyarrow")


def _arrow_of(v: Any) -> Any:
    """The Arrow data behind a column, or None: a pyarrow (Chunked)Array, or a pandas Series backed by one."""
    if is_arrow(v):
        return v if hasattr(v, "buffers") or hasattr(v, "chunks") else None
    arr: Any = getattr(v, "array", None)
    if type(arr).__name__ == "ArrowExtensionArray":
        return arr.__arrow_array__()
    return None


def check_items(items: Any) -> None:
    """Refuse any corrupt Arrow column among the known columns of `items`, once per call.

    items: what ``assess`` takes (a pyarrow Table or RecordBatch, a mapping, a
    pandas DataFrame); columns that are not Arrow data are left alone.
    """
    names = items.column_names if is_arrow(items) and hasattr(items, "column_names") else None
    for col in ITEM_COLUMNS + CONSIGNMENT_COLUMNS:
        if names is not None:
            a = items.column(col) if col in names else None
        else:
            try:
                a = _arrow_of(items[col]) if col in items else None
            except (TypeError, KeyError):
                return  # not a mapping: read_columns says what it is
        if a is not None:
            check_valid(a, col)


def check_valid(a: Any, col: str) -> None:
    """Raise InvalidValueError naming the column (and the first bad row where known) if a is corrupt.

    String and binary arrays: Arrow's buffer-size checks, then our own pass over
    every offset (dm_first_bad_row: it names the row, and is several times faster
    than Arrow's full validation), then Arrow's UTF-8 check unless every byte is
    ASCII.  Fixed-width arrays: the buffer sizes.  Everything else (dictionary,
    nested, views): Arrow's full validation.
    """
    import pyarrow as pa
    start = 0
    for chunk in (a.chunks if hasattr(a, "chunks") else [a]):
        t = chunk.type
        try:
            chunk.validate()  # buffers large enough for the length and the offsets' ends
            if _encode.supports(chunk) and (pa.types.is_string(t) or pa.types.is_large_string(t)
                                            or pa.types.is_binary(t) or pa.types.is_large_binary(t)):
                row, ascii = _encode.first_bad_row(chunk)
                if row >= 0:
                    raise InvalidValueError("is not a valid Arrow array: the row's offsets run backwards or "
                                            "past the data", column=col, row=start + row)
                if not ascii and (pa.types.is_string(t) or pa.types.is_large_string(t)):
                    chunk.validate(full=True)  # the UTF-8 of every row
            elif not (pa.types.is_primitive(t) or pa.types.is_decimal(t) or pa.types.is_fixed_size_binary(t)):
                chunk.validate(full=True)
        except pa.ArrowException as e:
            raise InvalidValueError(f"is not a valid Arrow array ({e})", column=col) from None
        start += len(chunk)


def is_bool_without_nulls(a: Any) -> bool:
    """A pyarrow boolean Array with no nulls (which numpy holds as one byte per value)."""
    if not is_arrow(a) or not hasattr(a, "buffers"):
        return False
    import pyarrow as pa
    return bool(pa.types.is_boolean(a.type) and a.null_count == 0)


def factorize(a: Any) -> tuple[np.ndarray, list[Any]]:
    """Codes in first-appearance order and the distinct values, by Arrow's hash kernel."""
    import pyarrow.compute as pc
    enc = pc.dictionary_encode(a, null_encoding="encode")
    codes = enc.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    return codes, enc.dictionary.to_pylist()


def minor_units(a: Any, exps: np.ndarray, col: str) -> np.ndarray | None:
    """Exact int64 minor units of an Arrow decimal column, or None to take the general path.

    A decimal128(p, s) holds unscaled integers u (value = u / 10^s); the minor
    units of a currency with exponent e are u * 10^(e - s), which must be whole.
    """
    import pyarrow as pa
    if (pa.types.is_string(a.type) or pa.types.is_large_string(a.type)) and len(a) and not a.null_count:
        try:  # exact: a cast that would lose digits raises, and the general path names the row
            a = a.cast(pa.decimal128(38, int(exps.max())))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return None
    if not pa.types.is_decimal128(a.type) or a.null_count:
        return None
    s = a.type.scale
    words = np.frombuffer(a.buffers()[1], dtype=np.int64)[2 * a.offset: 2 * (a.offset + len(a))]
    low, high = words[0::2], words[1::2]
    if not np.array_equal(high, low >> 63):  # needs more than 64 bits
        return None
    u = low
    bad_neg = u < 0
    shift = exps.astype(np.int64) - s
    out = np.empty(len(u), dtype=np.int64)
    up = shift >= 0
    # scale up: u * 10^shift must fit
    mul = np.where(up, 10 ** np.clip(shift, 0, 18), 1)
    over = up & (u > INT64_MAX // mul)
    # scale down: u must be divisible by 10^-shift
    div = np.where(up, 1, 10 ** np.clip(-shift, 0, 18))
    inexact = ~up & (u % div != 0)
    bad = bad_neg | over | inexact
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        value = a[row].as_py()
        if bad_neg[row]:
            raise InvalidValueError("must not be negative", column=col, row=row, value=value)
        if over[row]:
            raise AmountOverflowError("does not fit in 64-bit minor units", column=col, row=row, value=value)
        raise InvalidValueError(f"has more than {int(exps[row])} decimal places for its currency",
                                column=col, row=row, value=value)
    np.multiply(u, mul, out=out, where=up)
    np.floor_divide(u, div, out=out, where=~up)
    return out


def to_numpy(a: Any) -> np.ndarray:
    import pyarrow as pa
    if pa.types.is_integer(a.type) and a.null_count == 0:
        return a.to_numpy()
    return a.to_numpy(zero_copy_only=False)
