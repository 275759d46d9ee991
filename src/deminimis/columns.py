"""Reading the caller's items into named columns (no computation here).

Accepts a mapping of name -> array-like, a pandas or polars DataFrame or LazyFrame,
a pyarrow Table, RecordBatch or RecordBatchReader, or any Arrow stream
(``__arrow_c_stream__``).  Both the engine and the reference start from these
columns; each then reads the values itself.  ``id_key`` says when two ids are one.
"""

from __future__ import annotations

import datetime as _dt
import difflib
import operator
import sys
from collections.abc import Mapping, Sequence
from itertools import repeat
from typing import Any

import numpy as np

from .errors import InvalidValueError, LengthMismatchError, MissingColumnError, UnknownColumnError

ITEM_COLUMNS = ("consignment", "hs_code", "value", "currency", "origin", "quantity", "net_mass_kg", "volume_l",
                "alcohol_pct")
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


def as_items(items: Any) -> Any:
    """`items` as an object whose columns can be read (and read again, by explain): a mapping, a pandas or
    polars DataFrame or a pyarrow Table.

    A polars LazyFrame is collected (a polars frame with pl.Object columns becomes a dict of its Series);
    a pyarrow RecordBatch becomes a Table, and a RecordBatchReader or any object with the Arrow PyCapsule
    stream interface (``__arrow_c_stream__``) is read whole.  Anything else is a TypeError naming what
    was received.
    """
    mod = type(items).__module__
    name = type(items).__name__
    if mod.startswith("polars") and name == "LazyFrame":
        return as_items(items.collect())
    if mod.startswith("polars") and name == "DataFrame" and any(_is_polars_object(t) for t in items.dtypes):
        return {c: items[c] for c in items.columns}  # to_arrow would export the objects' addresses
    if mod.startswith("pyarrow") and name == "RecordBatch":
        import pyarrow as pa
        return pa.Table.from_batches([items])
    if mod.startswith("pyarrow") and name == "RecordBatchReader":
        return items.read_all()
    if name == "DataFrame" and mod.startswith(("pandas", "polars")) or name == "Table" and mod.startswith("pyarrow"):
        return items
    if mod.startswith(("pandas", "polars", "pyarrow")):  # a Series, an Array...: not a batch of columns
        raise TypeError(_ACCEPTED + f"; got {_type_name(items)}")
    if isinstance(items, Mapping) or (hasattr(items, "keys") and hasattr(items, "__getitem__")):
        return items
    if hasattr(items, "__arrow_c_stream__"):
        try:
            import pyarrow as pa
        except ImportError:
            raise TypeError(f"reading {_type_name(items)} through __arrow_c_stream__ needs pyarrow") from None
        return pa.RecordBatchReader.from_stream(items).read_all()
    raise TypeError(_ACCEPTED + f"; got {_type_name(items)}")


_ACCEPTED = ("items must be a mapping of column name -> array, a pandas or polars DataFrame, a polars LazyFrame, "
             "a pyarrow Table, RecordBatch or RecordBatchReader, or an object with the Arrow stream interface "
             "(__arrow_c_stream__)")


def _type_name(x: Any) -> str:
    """The type's name and its package: "pandas.Series", "list"."""
    t = type(x)
    package = t.__module__.split(".")[0]
    return t.__qualname__ if package == "builtins" else f"{package}.{t.__qualname__}"


def _to_array(v: Any, keep_arrow: bool = False) -> Any:
    """One column as a 1-d numpy array or, with keep_arrow, a pyarrow Array where it is one.

    Every value keeps its type: a list becomes a typed array only when numpy holds all of its elements
    exactly, and Arrow columns read without keep_arrow become their Python objects (``to_pylist``).
    Dictionary-encoded columns (pandas Categorical, polars Categorical and Enum, Arrow dictionaries) are
    decoded, so that values are met in row order, never in the dictionary's.  pandas' NA is None.
    """
    mod = type(v).__module__
    if mod.startswith("polars"):
        v = _from_polars(v)
    elif mod.startswith("pandas"):
        v = _from_pandas(v)
    if _is_arrow(v):
        return _from_arrow(v, keep_arrow)
    if isinstance(v, (list, tuple)):
        return _without_pandas_na(_from_list(v))
    return _without_pandas_na(np.asarray(v))


def _is_arrow(v: Any) -> bool:
    return type(v).__module__.startswith("pyarrow")


def _from_list(v: list[Any] | tuple[Any, ...]) -> np.ndarray:
    """A typed array when every element has exactly one type numpy holds losslessly, else the objects.

    np.asarray would turn ``["1", 1]`` into two equal strings and strip the trailing NULs of
    ``"P1\\x00"``, merging ids that differ.
    """
    types = set(map(type, v))
    if len(types) == 1:
        t = next(iter(types))
        if t is str and "\x00" not in "".join(v):  # (a NUL anywhere: the objects, to be sure none is lost)
            return np.array(v, dtype=str)
        if t is int:
            try:
                return np.array(v, dtype=np.int64)
            except OverflowError:  # beyond int64: the objects, checked where they are read
                pass
        if t is bool or t is float:
            return np.array(v, dtype=t)
    return objects(v)


def objects(values: Any) -> np.ndarray:
    """A 1-d object array of these values as they are (tuples stay tuples, not rows of a 2-d array)."""
    return np.fromiter(values, dtype=object, count=len(values))


def _from_polars(v: Any) -> Any:
    """A polars Series as Arrow (polars is Arrow underneath); a pl.Object column as its Python objects."""
    return objects(v.to_list()) if _is_polars_object(v.dtype) else v.to_arrow()


def _is_polars_object(dtype: Any) -> bool:
    return str(dtype) == "Object"


def _from_pandas(v: Any) -> Any:
    """A pandas Series or Index: numpy dtypes as numpy; extension dtypes (nullable Int64, boolean, string,
    ArrowDtype, Categorical, datetimes with a time zone) as Arrow, where missing values are nulls."""
    if isinstance(v.dtype, np.dtype):
        return v.to_numpy()
    try:
        import pyarrow as pa
        arr = pa.array(v)
    except Exception:  # noqa: BLE001 - no pyarrow, or a dtype Arrow has no type for
        return v.to_numpy(dtype=object, na_value=None)
    if isinstance(arr.type, pa.ExtensionType):  # e.g. a Period is stored as an integer: keep the objects
        return v.to_numpy(dtype=object, na_value=None)
    return arr


def _from_arrow(v: Any, keep_arrow: bool) -> Any:
    """A pyarrow Array or ChunkedArray as one contiguous Array (keep_arrow) or its Python objects.

    Dictionaries are decoded and string/binary views become large strings/binaries: one layout per kind.
    """
    import pyarrow as pa
    if not keep_arrow:  # the reference reads every value: corrupt buffers must be refused first, by Arrow's
        v.validate(full=True)  # own bounds-checked validation (the engine checks in C before it reads)
    t = v.type
    if pa.types.is_dictionary(t):
        v = v.cast(t.value_type)
        t = v.type
    view = {"string_view": pa.large_string(), "binary_view": pa.large_binary()}.get(str(t))
    if view is not None:
        v = v.cast(view)
    if not keep_arrow:
        return objects(v.to_pylist())
    if isinstance(v, pa.ChunkedArray):
        return v.chunk(0) if v.num_chunks == 1 else v.combine_chunks()  # a Table's column: usually one chunk
    return v


def _without_pandas_na(arr: np.ndarray) -> np.ndarray:
    """An object array with pandas' NA replaced by None: NA has no truth value (``NA in (0, 1)`` raises)."""
    pd = sys.modules.get("pandas")
    if pd is None or arr.dtype != object or arr.ndim != 1:
        return arr
    if not any(map(operator.is_, arr, repeat(pd.NA))):  # one pass in C, no copy
        return arr
    arr = arr.copy()
    arr[np.fromiter(map(operator.is_, arr, repeat(pd.NA)), dtype=bool, count=len(arr))] = None
    return arr


def read_columns(items: Any, *, keep_arrow: bool = False, keep: Sequence[str] = ()) -> tuple[dict[str, Any], int]:
    """The known columns present in `items`, and the `keep` columns, as 1-d arrays of one length.

    Any other column is an UnknownColumnError (see check_names).

    With keep_arrow, Arrow columns (from a pyarrow Table, or a polars DataFrame,
    which is Arrow underneath) stay pyarrow Arrays so the engine can use Arrow's
    own hashing and buffers; otherwise everything is a numpy array.
    """
    items = as_items(items)
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
        try:
            arr = _to_array(get(name), keep_arrow)
        except Exception as exc:
            if type(exc).__name__ != "ArrowInvalid":  # pyarrow.ArrowInvalid: pyarrow may be absent
                raise
            raise InvalidValueError(f"corrupt Arrow data: {exc}", column=name) from None
        if name == "date" and isinstance(arr, np.ndarray) and arr.dtype.kind == "M":
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
    except (TypeError, ValueError, ArithmeticError):  # arrays; pandas' NA; Decimal('sNaN')
        return x is sys.modules["pandas"].NA if "pandas" in sys.modules else False


#: why an id column refuses a value id_key cannot hash
UNHASHABLE_ID = "an id must be hashable (a string, a number, bytes, a date or a tuple of those)"


def id_codes(values: Sequence[Any]) -> tuple[np.ndarray, list[Any]]:
    """Each id's code in order of first appearance (ids compared by id_key; every missing id is one
    more code), and each code's id as first given (None for the missing ones)."""
    index: dict[Any, int] = {}
    ids: list[Any] = []
    codes = np.empty(len(values), dtype=np.int64)
    for i, x in enumerate(values):
        k = None if is_missing(x) else id_key(x)
        if k not in index:
            index[k] = len(ids)
            ids.append(None if k is None else x)
        codes[i] = index[k]
    return codes, ids


def id_key(x: Any) -> Any:
    """What makes two ids (consignment, consignee) the same id: the same kind of value, equal values.

    1, 1.0, True and "1" are four ids; 0.0 and -0.0 are one.  A numpy scalar is the Python value it
    holds (np.int64(1) is 1) and a subclass is its kind (a pandas Timestamp is a datetime).  Tuples
    compare element by element this way, datetimes also by UTC offset (one instant written in two time
    zones is two ids), numpy datetimes also by unit.  Raises TypeError for a value that cannot be
    hashed (a list).
    """
    if isinstance(x, np.generic) and not isinstance(x, (np.datetime64, np.timedelta64)):
        x = x.item()
    if isinstance(x, tuple):
        return tuple, tuple(id_key(e) for e in x)
    if isinstance(x, (np.datetime64, np.timedelta64)):
        return type(x), np.datetime_data(x.dtype), int(x.view(np.int64))
    kind = next((k for k in _ID_KINDS if isinstance(x, k)), type(x))
    if kind is _dt.datetime and x == x:  # (pandas' NaT is a datetime, and missing)
        return kind, x, x.utcoffset()
    if kind is _dt.time:
        return kind, x, x.tzinfo
    hash(x)
    return kind, x


#: the kinds of id values, a subclass before its base (bool is an int, datetime a date)
_ID_KINDS = (bool, int, float, complex, str, bytes, _dt.datetime, _dt.date, _dt.time, _dt.timedelta)


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
