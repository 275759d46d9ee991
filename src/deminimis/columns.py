"""Reading the caller's items into named columns (no computation here).

Accepts a mapping of name -> array-like, a pandas or polars DataFrame, or a
pyarrow Table.  Both the engine and the reference start from these columns;
each then reads the values itself.
"""

from __future__ import annotations

import datetime as _dt
import difflib
from typing import Any, Sequence

import numpy as np

from .errors import LengthMismatchError, MissingColumnError, UnknownColumnError

ITEM_COLUMNS = ("consignment", "hs_code", "value", "currency", "origin", "quantity", "net_mass_kg", "volume_l")
CONSIGNMENT_COLUMNS = ("freight", "insurance", "freight_currency", "collected_at_sale", "destination",
                       "transport", "nature", "shipped_from", "consignee", "date")
#: the value of a consignment-level column a rule restricts when the column is not given
RULE_COLUMN_DEFAULTS = {"nature": "sale"}
#: the vocabularies of the enumerated columns (docs/semantics.md, "Vocabularies"): the same in every
#: regime, so that a value means one thing everywhere; a regime's rules and fees name values from them
#: (checked when the regime is built). ``destination``'s vocabulary is the regime's VAT destinations;
#: ``origin`` and ``shipped_from`` take ISO 3166 alpha-2 codes.
NATURES = ("sale", "gift")
TRANSPORTS = ("post", "courier", "air", "sea", "road", "rail")
VOCABULARIES = {"nature": NATURES, "transport": TRANSPORTS}
REQUIRED = ("consignment", "hs_code", "value")
KNOWN_COLUMNS = ITEM_COLUMNS + CONSIGNMENT_COLUMNS


def check_names(names: Sequence[str], keep: Sequence[str]) -> None:
    """Every column is known or named in `keep`; every kept column is there.

    A misspelt or mis-cased optional column would otherwise be ignored and change the
    amounts in silence (``Origin``: no origin, so no additional duty by origin).
    """
    if isinstance(keep, str) or not all(isinstance(k, str) for k in keep):
        raise TypeError(f"keep must be a list of column names, got {keep!r}")
    for name in keep:
        if name not in names:
            raise MissingColumnError(f"named in keep= but not in the input (have {sorted(names)})", column=name)
    for name in names:
        if name in KNOWN_COLUMNS or name in keep:
            continue
        folded = {k.lower().replace("-", "_").replace(" ", "_"): k for k in KNOWN_COLUMNS}
        near = difflib.get_close_matches(name.lower().replace("-", "_").replace(" ", "_"), list(folded), n=3)
        raise UnknownColumnError("is not a column deminimis knows; name it in keep=[...] to pass it through "
                                 "to the result, or rename it", column=name,
                                 suggestions=tuple(folded[m] for m in near))


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


def read_columns(items: Any, *, keep_arrow: bool = False, keep: Sequence[str] = ()) -> tuple[dict[str, Any], int]:
    """The known columns present in `items`, and the `keep` columns, as 1-d arrays of one length.

    Any other column is an UnknownColumnError (see check_names).

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
    names = [str(c) for c in names]
    check_names(names, keep)
    for name in REQUIRED:
        if name not in names:
            raise MissingColumnError(f"required column is missing (have {sorted(map(str, names))})",
                                     column=name)
    cols: dict[str, np.ndarray] = {}
    n = None
    for name in (*KNOWN_COLUMNS, *(k for k in keep if k not in KNOWN_COLUMNS)):
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
