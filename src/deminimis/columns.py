"""Reading the caller's items into named columns (no computation here).

Accepts a mapping of name -> array-like, a pandas or polars DataFrame, or a
pyarrow Table.  Both the engine and the reference start from these columns;
each then reads the values itself.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

import numpy as np

from .errors import LengthMismatchError, MissingColumnError

ITEM_COLUMNS = ("consignment", "hs_code", "value", "currency", "origin", "quantity", "net_mass_kg", "volume_l")
CONSIGNMENT_COLUMNS = ("freight", "insurance", "freight_currency", "collected_at_sale", "destination",
                       "transport", "nature", "shipped_from", "consignee", "date")
#: the value of a consignment-level column a rule restricts when the column is not given
RULE_COLUMN_DEFAULTS = {"nature": "sale"}
REQUIRED = ("consignment", "hs_code", "value")


def _to_array(v: Any, keep_arrow: bool = False) -> Any:
    if isinstance(v, np.ndarray):
        return v
    mod = type(v).__module__
    if mod.startswith("pyarrow"):
        if keep_arrow:
            if hasattr(v, "num_chunks") and v.num_chunks == 1:
                return v.chunk(0)  # a Table's column is usually one chunk: no copy
            return v.combine_chunks() if hasattr(v, "combine_chunks") else v
        return v.to_numpy(zero_copy_only=False)
    if mod.startswith("polars") or mod.startswith("pandas"):
        return v.to_numpy()
    if isinstance(v, (list, tuple)):
        arr = np.asarray(v) if v else np.asarray(v, dtype=object)
        if arr.ndim != 1:  # e.g. a list of tuples: keep the objects as they are
            arr = np.empty(len(v), dtype=object)
            arr[:] = list(v)
        return arr
    return np.asarray(v)


def read_columns(items: Any, *, keep_arrow: bool = False) -> tuple[dict[str, Any], int]:
    """The known columns present in `items`, as 1-d arrays of one length.

    With keep_arrow, Arrow columns (from a pyarrow Table, or a polars DataFrame,
    which is Arrow underneath) stay pyarrow Arrays so the engine can use Arrow's
    own hashing and buffers; otherwise everything is a numpy array.
    """
    mod = type(items).__module__
    if keep_arrow and mod.startswith("polars"):
        items = items.to_arrow()
        mod = "pyarrow"
    if mod.startswith("pyarrow"):
        names = list(items.column_names)
        get = items.column
    elif mod.startswith("pandas") or mod.startswith("polars"):
        names = [str(c) for c in items.columns]
        get = items.__getitem__
    elif hasattr(items, "keys") and hasattr(items, "__getitem__"):
        names = list(items.keys())
        get = items.__getitem__
    else:
        raise TypeError("items must be a mapping of column name -> array, a pandas or polars "
                        f"DataFrame, or a pyarrow Table; got {type(items).__name__}")
    for name in REQUIRED:
        if name not in names:
            raise MissingColumnError(f"required column is missing (have {sorted(map(str, names))})",
                                     column=name)
    cols: dict[str, np.ndarray] = {}
    n = None
    for name in ITEM_COLUMNS + CONSIGNMENT_COLUMNS:
        if name not in names:
            continue
        arr = _to_array(get(name), keep_arrow)
        if isinstance(arr, np.ndarray) and arr.dtype.kind == "M":
            arr = arr.astype("datetime64[D]")  # dates are days; [ns] would read as integers
        if getattr(arr, "ndim", 1) != 1:
            raise LengthMismatchError("a column must be one-dimensional", column=name)
        if n is None:
            n = len(arr)
        elif len(arr) != n:
            raise LengthMismatchError(f"has {len(arr)} values where 'consignment' has {n}", column=name)
        cols[name] = arr
    return cols, int(n or 0)


def is_missing(x: Any) -> bool:
    """None, NaN, pandas NA/NaT: a value that is absent."""
    if x is None:
        return True
    try:
        return bool(x != x)  # NaN, NaT
    except (TypeError, ValueError):
        return False


def date_problem(x: Any) -> str | None:
    """Why x is not a date (None when it is one): date, datetime, numpy.datetime64 or ISO string."""
    if isinstance(x, (_dt.date, np.datetime64)):
        return "is missing" if isinstance(x, np.datetime64) and np.isnat(x) else None
    if isinstance(x, str):
        try:
            _dt.date.fromisoformat(x[:10])
            return None
        except ValueError:
            return "not an ISO date (YYYY-MM-DD)"
    return "not a date"


def to_date(x: Any) -> _dt.date:
    """The day of a value that date_problem accepted."""
    if isinstance(x, _dt.datetime):
        return x.date()
    if isinstance(x, _dt.date):
        return x
    if isinstance(x, np.datetime64):
        return _dt.date.fromisoformat(str(x.astype("datetime64[D]")))
    return _dt.date.fromisoformat(str(x)[:10])
