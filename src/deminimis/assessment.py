"""The result of an assessment: item columns, a consignment table, a summary,
provenance, and explain(i) from a snapshot of what was assessed (Inputs).

All amounts are int64 counts of minor units of the customs currency.  Item
columns always sum exactly to the consignment columns.  An item whose tariff
line cannot be evaluated carries the ``cannot_assess`` rule bit and duty 0,
which is not an assessed zero: its consignment is not ``complete``.
"""

from __future__ import annotations

import datetime as _dt
import operator
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, cast, overload

import numpy as np

#: rule bits of the ``rule`` column, as set by csrc/assess.h (DM_RULE_*; tests/test_native_contract.py
#: checks that the two agree)
RULES = {
    1: "duty_relief",      # value within the duty relief; no duty
    2: "flat_duty",        # flat duty per distinct key instead of the tariff
    4: "duty_waived",      # assessed duty at or below the waiver level
    8: "vat_relief",       # value within the VAT relief; no VAT
    16: "vat_at_sale",     # VAT collected at sale (IOSS, VOEC...), not at the border
    32: "vat_waived",      # assessed VAT at or below the waiver level
    64: "cannot_assess",   # the tariff line cannot be evaluated: duty NOT assessed (not zero)
    128: "fee",            # a fee is allocated to the item
    256: "simplified_duty",  # duty by value band of the consignment instead of the tariff
    512: "duty_at_sale",   # duty collected at sale, not at the border
    1024: "vat_reduced",   # the VAT rate is reduced by the regime's vat_reduction factor
}
#: a rule's bit by its name
BIT = {name: bit for bit, name in RULES.items()}
CANNOT_ASSESS = BIT["cannot_assess"]
ITEM_AMOUNTS = ("intrinsic", "customs_value", "duty", "duty_at_sale", "vat", "vat_at_sale", "fees", "total")
CONSIGNMENT_AMOUNTS = ITEM_AMOUNTS
#: the consignment table's columns after the id, as exported
CONSIGNMENT_COLUMNS = ("items", *CONSIGNMENT_AMOUNTS, "complete")


def exact_sum(column: np.ndarray) -> int:
    """The exact sum of an int64 column as a Python int (an int64 sum could wrap silently).

    Summed as high and low 32-bit halves: each partial sum fits int64 for < 2^31 rows.
    """
    if len(column) == 0:
        return 0
    a = column.astype(np.int64, copy=False)
    return (int((a >> 32).sum(dtype=np.int64)) << 32) + int((a & 0xFFFFFFFF).sum(dtype=np.int64))


def to_list(values: Any) -> list[Any]:
    """Python objects of a pyarrow or numpy array (or a list, as it is)."""
    if isinstance(values, list):
        return values
    if isinstance(values, np.ndarray):
        return cast(list[Any], values.tolist())
    return cast(list[Any], values.to_pylist())


def _frozen(column: Any) -> Any:
    """A copy of a column that nobody can change: numpy arrays are copied and made read-only.

    Arrow string and binary arrays are kept as they are (immutable; Arrow builds them
    from the values, never as a view of a numpy array); other Arrow arrays are copied,
    because ``pa.array(ndarray)`` wraps the caller's numpy buffer without copying it.
    """
    if isinstance(column, np.ndarray):
        copy = column.copy()
        copy.flags.writeable = False
        return copy
    import pyarrow as pa
    t = column.type
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_binary(t) \
            or pa.types.is_large_binary(t):
        return column
    return pa.concat_arrays([column])


class _Decoded:
    """A column kept as the encoder's codes and distinct values: what was read, without a copy of the
    caller's array (a million fixed-width strings cost more to copy than to keep as codes)."""

    def __init__(self, codes: np.ndarray, distinct: list[Any]) -> None:
        self.codes = codes
        self.codes.flags.writeable = False  # the encoder's own array, no longer written
        self.distinct = np.empty(len(distinct), dtype=object)
        self.distinct[:] = distinct
        self.distinct.flags.writeable = False

    def __setitem__(self, rows: Any, value: Any) -> None:
        raise ValueError("the snapshot of an assessment's inputs is read-only")

    def __len__(self) -> int:
        return len(self.codes)

    def __getitem__(self, rows: Any) -> np.ndarray:
        values: np.ndarray = self.distinct[self.codes[rows]]
        return values

    def take(self, rows: np.ndarray) -> np.ndarray:
        return self[rows]


def _take(column: Any, rows: np.ndarray) -> Any:
    return column[rows] if isinstance(column, np.ndarray) else column.take(rows)


class _Groups:
    """The rows of each group, from a column of group numbers (0..k-1); ascending within a group."""

    def __init__(self, codes: np.ndarray) -> None:
        self.codes = codes
        self.order = np.argsort(codes, kind="stable")
        self.start = np.concatenate(([0], np.cumsum(np.bincount(codes))))

    def rows_with(self, i: int) -> np.ndarray:
        """The rows in row i's group."""
        g = int(self.codes[i])
        return self.order[self.start[g]:self.start[g + 1]]


class Inputs:
    """What an assessment read, kept so that explain(i) describes the values assessed.

    ``columns`` are the columns as read (``columns.read_columns``), frozen: later
    changes to the caller's DataFrame, arrays or lists do not reach them (a numpy column
    the encoder factorized is kept as its codes and distinct values, which it owns).
    ``consignment_index[i]`` is item i's position in the assessment's consignment ids.
    The rows of each consignment (and consignee) are indexed on the first explain
    call and kept: that call costs O(items) once (a stable sort), later calls
    O(the rows explained).
    """

    def __init__(self, columns: dict[str, Any], consignment_index: np.ndarray, regime: Any, tariff: Any,
                 rates: Any, on: Any, currency: str | None, amounts: str,
                 factorized: dict[str, tuple[np.ndarray, list[Any]]] | None = None, ambiguous: str = "flag") -> None:
        # a numpy column the encoder factorized is kept as its (private) codes and distinct values
        factorized = factorized or {}
        self.columns = {name: _Decoded(*factorized[name]) if isinstance(col, np.ndarray) and name in factorized
                        else _frozen(col) for name, col in columns.items()}
        self.consignment_index = np.asarray(consignment_index, dtype=np.int64)  # the assessment's own codes
        self.consignment_index.flags.writeable = False
        self.regime, self.tariff, self.rates, self.on = regime, tariff, rates, on
        self.currency, self.amounts, self.ambiguous = currency, amounts, ambiguous
        self._groups: dict[str, _Groups] = {}

    @classmethod
    def read(cls, items: Any, consignment_index: np.ndarray, *args: Any) -> Inputs:
        """Read `items` as the engine does (Arrow columns kept as Arrow) and freeze them.

        The engine calls this as it returns, right after its own read: the same values.
        """
        from .columns import read_columns
        return cls(read_columns(items, keep_arrow=True)[0], consignment_index, *args)

    def __len__(self) -> int:
        return len(self.consignment_index)

    def value(self, column: str, i: int) -> Any:
        """Item i's value of a column, as a Python object."""
        return to_list(self.columns[column][i:i + 1])[0]

    def rows(self, i: int, per_consignee: bool) -> np.ndarray:
        """The rows of item i's consignment (or of every consignment of its consignee), ascending."""
        key = "consignee" if per_consignee else "consignment"
        if key not in self._groups:
            if per_consignee:
                from .columns import id_codes  # ids as both engines compare them
                codes = id_codes(to_list(self.columns["consignee"]))[0]
            else:
                codes = self.consignment_index
            self._groups[key] = _Groups(codes)
        return self._groups[key].rows_with(i)

    def take(self, rows: np.ndarray) -> dict[str, Any]:
        """Those rows of every column."""
        return {name: _take(col, rows) for name, col in self.columns.items()}

    def not_assessed_reasons(self, rows: np.ndarray) -> dict[str, int]:
        """Why the duty of these rows could not be assessed: their tariff line's reason -> rows,
        most frequent first (one tariff lookup per distinct code and origin, as the assessment made it)."""
        from .columns import is_missing
        codes = to_list(_take(self.columns["hs_code"], rows))
        origins = to_list(_take(self.columns["origin"], rows)) if "origin" in self.columns else [""] * len(rows)
        per_line = Counter(zip(codes, ("" if is_missing(o) else o for o in origins)))
        reasons: Counter[str] = Counter()
        for (code, origin), count in per_line.items():
            found = self.tariff.lookup(code, origin, on=self.on, ambiguous=self.ambiguous)
            expr = found[0] if found is not None else None
            reasons[str(getattr(expr, "reason", expr))] += count  # a CannotAssess line's reason
        return dict(sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0])))


class ConsignmentIds(Sequence[Any]):
    """The distinct consignment ids of an assessment, in order of first appearance; read-only.

    Holds the array the encoder took them from (pyarrow or numpy) and makes Python
    objects only when they are asked for: millions of ids as a list cost a third
    of a second and hundreds of MB.  Behaves as a list of the ids: ``len``,
    indexing, slicing (a list), iteration, and equality with a list (or another
    ConsignmentIds) holding the same ids in the same order.
    """

    __slots__ = ("_values", "_list")

    def __init__(self, values: Any) -> None:
        self._values = values
        self._list: list[Any] | None = values if isinstance(values, list) else None

    def __len__(self) -> int:
        return len(self._values)

    @overload
    def __getitem__(self, i: int) -> Any: ...

    @overload
    def __getitem__(self, i: slice) -> list[Any]: ...

    def __getitem__(self, i: int | slice) -> Any:
        if self._list is not None:
            return self._list[i]
        if isinstance(i, slice):
            return to_list(self._values[i])
        k = operator.index(i)
        n = len(self)
        if k < 0:
            k += n
        if not 0 <= k < n:
            raise IndexError("consignment id index out of range")
        return to_list(self._values[k:k + 1])[0]

    def __iter__(self) -> Iterator[Any]:
        return iter(self.tolist())

    def tolist(self) -> list[Any]:
        """The ids as a list of Python objects (made once, then kept)."""
        if self._list is None:
            self._list = to_list(self._values)
        return self._list

    def to_arrow(self) -> Any:
        """The ids as a pyarrow array, as ``pa.array(self.tolist())`` would give it."""
        import pyarrow as pa
        v = self._values
        if isinstance(v, pa.Array) and v.type == pa.string():
            return v
        return pa.array(self.tolist())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ConsignmentIds):
            return self.tolist() == other.tolist()
        if isinstance(other, list):
            return self.tolist() == other
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable-looking sequence, like list

    def __repr__(self) -> str:
        head = self[:5]
        more = f", ... ({len(self)} ids)" if len(self) > 5 else ""
        return f"ConsignmentIds({head!r}{more})"


def rule_names(bits: int) -> list[str]:
    return [name for bit, name in RULES.items() if bits & bit]


def make_provenance(regime: Any, tariff: Any, rates: Any, on: Any, *, engine: str,
                    ambiguous: str = "flag") -> dict[str, Any]:
    from ._version import __version__
    return {
        "library": "deminimis", "version": __version__, "engine": engine,
        "regime": regime.id, "regime_hash": regime.content_hash,
        "tariff_hash": tariff.content_hash, "hs_edition": tariff.hs_edition, "ambiguous": ambiguous,
        "rates_hash": rates.content_hash if rates is not None else None,
        "assessment_date": on.isoformat() if isinstance(on, (_dt.date, _dt.datetime)) else on,
        "currency": regime.currency,
    }


@dataclass(eq=False)
class Assessment:
    """Amounts per item and per consignment, in minor units of ``currency``.

    ``consignments["complete"]`` (bool) is False for a consignment with an item whose
    duty could not be assessed (rule bit ``cannot_assess``): its totals lack that duty.
    It is derived from the rule bits when the Assessment is made.
    """

    items: dict[str, np.ndarray]
    consignment_ids: Sequence[Any]  # a list, or ConsignmentIds from the native engine
    consignments: dict[str, np.ndarray]
    currency: str
    provenance: dict[str, Any]
    inputs: Inputs | None = field(default=None, repr=False)
    timings: dict[str, float] = field(default_factory=dict, repr=False)
    #: per item: 0 assessed, 1 invalid input, 2 not assessed because its consignment (or consignee) has
    #: an invalid item (deminimis.problems); None: every item was assessed (errors="raise")
    status: np.ndarray | None = field(default=None, repr=False)
    #: per consignment: 1 when it has an invalid item, 2 when left out for another consignment of its
    #: consignee, else 0
    cons_status: np.ndarray | None = field(default=None, repr=False)
    #: errors="flag": every problem found, one RowError per bad (row, column)
    errors: list[Any] = field(default_factory=list, repr=False)
    #: the columns named in keep=, as read (copied to the outputs)
    kept: dict[str, Any] = field(default_factory=dict, repr=False)
    #: a batch assessed in parts (per-row dates, errors="flag"): each part's rows and Assessment,
    #: which explain and the not-assessed reasons are delegated to
    parts: list[tuple[np.ndarray, Assessment]] = field(default_factory=list, repr=False)
    #: explain(inputs, i, stored=...) -> str: the reference's derivation, given by whoever made the result
    #: (the result model imports neither the engine nor the reference)
    explainer: Callable[..., str] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if "complete" not in self.consignments:
            complete = np.ones(len(self.consignment_ids), dtype=bool)
            not_assessed = np.flatnonzero(self.items["rule"] & CANNOT_ASSESS)
            if len(not_assessed):
                if self.inputs is None:
                    raise ValueError("give consignments['complete'] or the inputs: some duty was not assessed")
                complete[self.inputs.consignment_index[not_assessed]] = False
            self.consignments["complete"] = complete

    def __len__(self) -> int:
        return len(self.items["total"])

    def __getitem__(self, column: str) -> np.ndarray:
        return self.items[column]

    @property
    def rule(self) -> np.ndarray:
        return self.items["rule"]

    def summary(self) -> dict[str, Any]:
        """Revenue totals (minor units) and counts over the batch."""
        s: dict[str, Any] = {"items": len(self), "consignments": len(self.consignment_ids),
                             "currency": self.currency}
        for k in ITEM_AMOUNTS:
            s[k] = exact_sum(self.consignments[k])
        for bit, name in RULES.items():
            s[f"items_{name}"] = int(np.count_nonzero(self.items["rule"] & bit))
        s["consignments_with_charges"] = int(np.count_nonzero(self.consignments["total"] > 0))
        # errors="flag": items with bad input, and items left out because another of their consignment is bad
        status = self.status if self.status is not None else np.zeros(0, dtype=np.int8)
        s["items_invalid"] = int(np.count_nonzero(status == 1))
        s["items_left_out"] = int(np.count_nonzero(status == 2))
        # duty 0 under cannot_assess is not an assessed zero: say how much the totals lack
        not_assessed = np.flatnonzero(self.items["rule"] & CANNOT_ASSESS)
        s["items_not_assessed"] = len(not_assessed)
        s["value_not_assessed"] = exact_sum(self.items["customs_value"][not_assessed])
        s["consignments_incomplete"] = int(np.count_nonzero(~self.consignments["complete"]))
        if not len(not_assessed):
            s["not_assessed_reasons"] = {}
        elif self.parts:
            merged: Counter[str] = Counter()
            for _, part in self.parts:
                merged.update(part.summary()["not_assessed_reasons"])
            s["not_assessed_reasons"] = dict(merged.most_common())
        elif self.inputs is None:
            s["not_assessed_reasons"] = {"unknown: the assessment keeps no inputs": len(not_assessed)}
        else:
            s["not_assessed_reasons"] = self.inputs.not_assessed_reasons(not_assessed)
        return s

    def equals(self, other: Assessment) -> bool:
        """Same amounts, rules and consignments (provenance may differ in engine)."""
        return not self.differences(other)

    def differences(self, other: Assessment) -> list[str]:
        out = []
        if self.currency != other.currency:
            out.append(f"currency {self.currency} != {other.currency}")
        if list(self.consignment_ids) != list(other.consignment_ids):
            out.append("consignment ids differ")
        for k in (*ITEM_AMOUNTS, "rule"):
            a, b = self.items[k], other.items[k]
            if a.shape != b.shape or not np.array_equal(a, b):
                bad = np.flatnonzero(a != b) if a.shape == b.shape else [0]
                i = int(bad[0])
                out.append(f"item column {k} differs first at row {i}: "
                           f"{a[i] if i < len(a) else None} != {b[i] if i < len(b) else None}")
        for k in (*CONSIGNMENT_AMOUNTS, "items", "complete"):
            if not np.array_equal(self.consignments[k], other.consignments[k]):
                out.append(f"consignment column {k} differs")
        return out

    def to_pandas(self) -> Any:
        """(items DataFrame, consignments DataFrame); needs pandas."""
        import pandas as pd
        items = pd.DataFrame({k: self.items[k] for k in (*ITEM_AMOUNTS, "rule")})
        items["rules"] = [",".join(rule_names(int(b))) for b in self.items["rule"]]
        ids = self.consignment_ids
        cons = pd.DataFrame({"consignment": ids.tolist() if isinstance(ids, ConsignmentIds) else ids,
                             **{k: self.consignments[k] for k in CONSIGNMENT_COLUMNS}})
        return items, cons

    def to_arrow(self) -> Any:
        """(items Table, consignments Table); needs pyarrow."""
        import pyarrow as pa
        items = pa.table({k: self.items[k] for k in (*ITEM_AMOUNTS, "rule")})
        ids = self.consignment_ids
        cons = pa.table({"consignment": ids.to_arrow() if isinstance(ids, ConsignmentIds) else pa.array(ids),
                         **{k: self.consignments[k] for k in CONSIGNMENT_COLUMNS}})
        return items, cons

    def __arrow_c_stream__(self, requested_schema: object | None = None) -> object:
        """The item table of ``to_arrow()`` through the Arrow PyCapsule interface: ``pyarrow.table(result)``,
        ``polars.DataFrame(result)`` and any other Arrow consumer read it (the int64 columns uncopied)."""
        return self.to_arrow()[0].__arrow_c_stream__(requested_schema)

    def to_polars(self) -> Any:
        """(items DataFrame, consignments DataFrame) of ``to_arrow()``; needs polars and pyarrow."""
        import polars as pl
        items, cons = self.to_arrow()
        return pl.from_arrow(items), pl.from_arrow(cons)

    def as_decimal(self, column: str, i: int) -> Decimal:
        """An item amount in major units, exactly."""
        from .money import exponent
        return Decimal(int(self.items[column][i])).scaleb(-exponent(self.currency))

    def explain(self, i: int) -> str:
        """The step-by-step derivation of item i's amounts, by the reference, from the inputs as assessed.

        The first call indexes the rows of each consignment (O(items), once); each call then
        recomputes only item i's consignment, or every consignment of its consignee where the
        regime aggregates per consignee.
        """
        for rows, part in self.parts:
            at = int(np.searchsorted(rows, i))
            if at < len(rows) and rows[at] == i:
                return part.explain(at).replace(f"item {at} ", f"item {i} ", 1)
        if self.status is not None and self.status[i]:
            problems = [e.message for e in self.errors if e.row == i]
            why = "; ".join(problems) if problems else "another item of its consignment (or consignee) is invalid"
            return f"item {i} was not assessed (errors='flag'): {why}"
        if self.inputs is None or self.explainer is None:
            raise ValueError("this assessment does not keep its inputs; cannot explain")
        return self.explainer(self.inputs, i, stored=self)

    def explained_by(self, explainer: Callable[..., str]) -> Assessment:
        """This result (and its parts) explained by `explainer` (reference.explain); returns self."""
        self.explainer = explainer
        for _, part in self.parts:
            part.explained_by(explainer)
        return self
