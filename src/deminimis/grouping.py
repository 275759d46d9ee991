"""Grouping the items of a batch for the audit and analysis tables: group keys per item, and exact
integer sums per group.

A grouping is a column of the items (``origin``, ``destination``, a carrier column passed through
``keep=``) or a key derived from one: ``chapter`` (the first 2 digits of ``hs_code``), ``heading``
(4), ``subheading`` (6) and ``month`` (``YYYY-MM`` of ``date``).  Each column is factorized once
(the engine's own pass over distinct values), so a key costs O(distinct values) in Python.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .columns import is_missing, to_date
from .engine.factorize import factorize_list
from .errors import MissingColumnError

#: derived keys: name -> (the column they are read from, the key of one distinct value)
DERIVED = {
    "chapter": ("hs_code", lambda code: str(code)[:2]),
    "heading": ("hs_code", lambda code: str(code)[:4]),
    "subheading": ("hs_code", lambda code: str(code)[:6]),
    "month": ("date", lambda day: to_date(day).isoformat()[:7]),
}


def keys_of(cols: dict[str, Any], name: str) -> tuple[np.ndarray, list[Any]]:
    """Each item's group number (int64, 0..k-1) and each group's key, for a grouping name.

    A missing value is its own group, keyed None.
    """
    source, derive = DERIVED.get(name, (name, None))
    if source not in cols:
        raise MissingColumnError(f"grouping {name!r} needs the column {source!r} (pass it through keep= "
                                 "if deminimis does not read it)", column=source)
    codes, distinct = factorize_list(cols[source])
    keys = [None if is_missing(v) else (derive(v) if derive is not None else v) for v in distinct]
    merged: dict[Any, int] = {}
    remap = np.fromiter((merged.setdefault(k, len(merged)) for k in keys), dtype=np.int64, count=len(keys))
    return remap[codes], list(merged)


def combine(parts: Sequence[tuple[np.ndarray, list[Any]]]) -> tuple[np.ndarray, list[Any]]:
    """The groups of several groupings at once (chapter x origin): keys are tuples."""
    if len(parts) == 1:
        return parts[0]
    codes = np.zeros(len(parts[0][0]), dtype=np.int64)
    for part_codes, part_keys in parts:
        codes = codes * len(part_keys) + part_codes
    used, codes = np.unique(codes, return_inverse=True)
    keys = []
    for c in used.tolist():
        key = []
        for _, part_keys in reversed(parts):
            c, k = divmod(c, len(part_keys))
            key.append(part_keys[k])
        keys.append(tuple(reversed(key)))
    return codes.astype(np.int64), keys


def sums(codes: np.ndarray, k: int, values: np.ndarray) -> list[int]:
    """Exact sum of int64 `values` per group 0..k-1, as Python ints (an int64 sum could wrap).

    Summed as high and low 32-bit halves, as assessment.exact_sum does: each partial sum fits int64
    for fewer than 2^31 rows.
    """
    a = values.astype(np.int64, copy=False)
    high = np.zeros(k, dtype=np.int64)
    low = np.zeros(k, dtype=np.int64)
    np.add.at(high, codes, a >> 32)
    np.add.at(low, codes, a & 0xFFFFFFFF)
    return [(h << 32) + lo for h, lo in zip(high.tolist(), low.tolist())]


def counts(codes: np.ndarray, k: int) -> list[int]:
    return np.bincount(codes, minlength=k).tolist()
