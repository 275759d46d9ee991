"""The partitioning contract: how a batch may be cut so that assessing the parts apart gives what
one in-memory ``deminimis.assess`` gives, item for item.

An amount depends on the other items of its consignment (sums, largest-remainder allocation, flat
duties per distinct subheading) and, where a condition aggregates per consignee per day or per year
(US before 29 August 2025, CN), on every consignment of its consignee. So:

- every part holds whole groups of the **key** (``partition_key``): the consignee where the regime
  aggregates per consignee, else the consignment; Spark's ``repartition(n, key)`` and Dask's
  ``shuffle(on=key)`` give that, cutting rows into chunks does not;
- with the consignee as key, each consignment has one consignee (else its items would land in two
  parts and no part would see the disagreement): checked over the whole input
  (``consignee_conflict`` names the consignment);
- a global **sequence** column holds the input order; each part is sorted by it before it is
  assessed, so that first appearance (the cumulative yearly aggregate's order, the consignment
  order) and largest-remainder ties are those of the whole input, whatever order the shuffle left;
- each part is assessed with ``errors="flag"`` semantics, the errors as columns of the item rows,
  their row numbers the sequence;
- totals are Python ints (``partial_totals`` per part, added exactly), never floats.

``shuffle`` and ``assess_partitions`` run the contract in one process on pyarrow Tables: the
specification of what ``deminimis.spark`` and ``deminimis.dask`` do on a cluster, and their test.
"""

from __future__ import annotations

import datetime as _dt
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from .arguments import candidate_regimes
from .assessment import ITEM_AMOUNTS, Assessment, exact_sum
from .errors import DeminimisError, InconsistentConsignmentError, InputError
from .problems import RowError
from .rates import DatedRates, ExchangeRates
from .regimes.model import Regime
from .tariff.table import Tariff

#: the column added to hold the input order (unless the caller names its own)
SEQUENCE = "sequence"
#: per item, the first problem of a bad row (errors="flag"), else null
ERROR_COLUMNS = ("error", "error_column", "error_value", "error_message")
KEYS = ("consignment", "consignee")


class PartitioningError(DeminimisError, ValueError):
    """A partitioning that would not give the in-memory result: the wrong key, a key split across
    parts, or a sequence that does not give one order."""


def partition_key(regime: Regime | dict[str, Any] | str, on: _dt.date | None = None) -> str:
    """The column whose groups must each stay in one part: "consignee" where a condition of the regime
    (or, with ``on=None``, of any version the rows may pick) aggregates per consignee, else
    "consignment"."""
    per_consignee = any({"consignee_day", "consignee_year"} & r.aggregations()
                        for r in candidate_regimes(regime, on))
    return "consignee" if per_consignee else "consignment"


def checked_key(key: str | None, regime: Regime | dict[str, Any] | str, on: _dt.date | None) -> str:
    """The key to partition by: the regime's (None), or the one given if it keeps the regime's groups
    whole. The consignee always does (each consignment has one, checked); the consignment does only
    where nothing aggregates per consignee."""
    needed = partition_key(regime, on)
    if key is None:
        return needed
    if key not in KEYS:
        raise PartitioningError(f"key must be one of {KEYS}, got {key!r}")
    if key == "consignment" and needed == "consignee":
        raise PartitioningError("this regime aggregates per consignee: partitioning by consignment would "
                                "split a consignee's consignments, changing their reliefs; "
                                "use key='consignee'")
    return key


def consignee_conflict(consignment: Any,
                       consignees: Sequence[tuple[Any, int]]) -> InconsistentConsignmentError:
    """The error for a consignment whose items name several consignees: `consignees` are its
    (consignee, first sequence) pairs. It names the consignment and the first disagreeing row."""
    consignment = consignment.item() if isinstance(consignment, np.generic) else consignment  # as Python
    pairs = sorted(((c.item() if isinstance(c, np.generic) else c, int(s)) for c, s in consignees),
                   key=lambda p: p[1])
    shown = ", ".join(f"{c!r} from row {s}" for c, s in pairs[:4])
    return InconsistentConsignmentError(
        f"consignment {consignment!r} has items of several consignees ({shown}): its items would be "
        "assessed in different partitions", column="consignee", row=pairs[1][1], value=pairs[1][0])


def in_order(table: Any, sequence: str) -> Any:
    """The part's rows in input order; the sequence must be non-null and unique within the part."""
    import pyarrow.compute as pc
    if sequence not in table.column_names:
        raise PartitioningError(f"no sequence column {sequence!r} (have {table.column_names})")
    seq = table[sequence]
    if seq.null_count:
        raise PartitioningError(f"the sequence column {sequence!r} has nulls")
    table = table.sort_by(sequence)  # a stable sort
    seq = table[sequence]
    if len(seq) > 1 and pc.any(pc.equal(seq[1:], seq[:-1])).as_py():
        first = pc.index(pc.equal(seq[1:], seq[:-1]), True).as_py()
        raise PartitioningError(f"the sequence column {sequence!r} repeats the value {seq[first].as_py()!r}: "
                                "it must give each row its own place in the input")
    return table


def assess_partition(table: Any, *, regime: Regime | dict[str, Any] | str, tariff: Tariff,
                     rates: ExchangeRates | DatedRates | None = None, on: _dt.date | None = None,
                     currency: str | None = None, amounts: str = "decimal", keep: Sequence[str] = (),
                     sequence: str = SEQUENCE) -> tuple[Any, Any]:
    """One part (a pyarrow Table of whole groups of the key, with the sequence column), assessed on one
    thread with errors as data. Returns (items, consignments) as pyarrow Tables:

    - items, in input order: the sequence, ``consignment``, the ``keep`` columns, ``ITEM_AMOUNTS``,
      ``rule``, ``status`` (0 assessed, 1 invalid, 2 left out for another item) and ``ERROR_COLUMNS``;
    - consignments, in order of first appearance: ``consignment``, the sequence of its first item,
      ``items``, the amounts, ``complete`` and ``status``.

    Clean input is assessed once (errors="raise", the faster path); input with a bad row again with
    errors="flag", whose row numbers the error columns give as sequence values.
    """
    from .engine import assess
    table = in_order(table, sequence)
    items = table.drop_columns([sequence])
    kwargs = dict(regime=regime, tariff=tariff, rates=rates, on=on, currency=currency, amounts=amounts,
                  keep=keep, n_threads=1)
    try:
        result = assess(items, **kwargs)  # type: ignore[arg-type]
    except InputError as exc:
        if exc.row is None:  # a problem of the whole part (a column missing): errors="flag" raises it too
            raise
        result = assess(items, errors="flag", **kwargs)  # type: ignore[arg-type]
    seq = table[sequence].combine_chunks()
    return _item_table(result, table, seq, sequence, keep), _consignment_table(result, table, seq, sequence)


def _item_table(result: Assessment, table: Any, seq: Any, sequence: str, keep: Sequence[str]) -> Any:
    import pyarrow as pa
    n = len(result)
    cols: dict[str, Any] = {sequence: seq, "consignment": table["consignment"], **{k: table[k] for k in keep}}
    cols.update({k: result.items[k] for k in (*ITEM_AMOUNTS, "rule")})
    cols["status"] = result.status if result.status is not None else np.zeros(n, dtype=np.int8)
    at: dict[int, RowError] = {}
    positions = seq.to_numpy()
    for e in result.errors:
        if e.row is not None:  # one error per row (its first problem), named by its sequence
            at.setdefault(e.row, e.moved(lambda row: int(positions[row])))
    fields = {"error": lambda e: e.error, "error_column": lambda e: e.column,
              "error_value": lambda e: repr(e.value), "error_message": lambda e: e.message}
    for name, get in fields.items():
        values: list[str | None] = [None] * n
        for row, e in at.items():
            values[row] = get(e)
        cols[name] = pa.array(values, type=pa.string())
    return pa.table(cols)


def _consignment_table(result: Assessment, table: Any, seq: Any, sequence: str) -> Any:
    import pyarrow as pa

    from .engine.factorize import factorize_ids
    from .problems import Problems
    _, cons = result.to_arrow()
    # the first row of each consignment, in the engine's order of first appearance (its id semantics);
    # the ids are taken from there, of the input's type (an empty part's would have none)
    _, first, _ = factorize_ids(table["consignment"].combine_chunks(), "consignment", "", wide=True,
                                sink=Problems(len(table)))
    if len(first) != cons.num_rows:
        raise AssertionError(f"{len(first)} consignments by id, {cons.num_rows} in the assessment")
    first = pa.array(first, type=pa.int64())
    cons = cons.set_column(0, "consignment", table["consignment"].take(first))
    cons = cons.add_column(1, sequence, seq.take(first))
    status = result.cons_status if result.cons_status is not None else np.zeros(cons.num_rows, dtype=np.int8)
    return cons.append_column("status", pa.array(status))


@dataclass(frozen=True)
class PartitionAssessor:
    """``assess_partition`` with its arguments bound: what a cluster sends to its workers once (it
    pickles: the regime, tariff and rates are plain data)."""

    regime: Regime | dict[str, Any] | str
    tariff: Tariff
    rates: ExchangeRates | DatedRates | None = None
    on: _dt.date | None = None
    currency: str | None = None
    amounts: str = "decimal"
    keep: tuple[str, ...] = ()
    sequence: str = SEQUENCE

    def __call__(self, table: Any) -> tuple[Any, Any]:
        return assess_partition(table, regime=self.regime, tariff=self.tariff, rates=self.rates, on=self.on,
                                currency=self.currency, amounts=self.amounts, keep=self.keep,
                                sequence=self.sequence)

    def schemas(self, schema: Any) -> tuple[Any, Any]:
        """The (items, consignments) schemas for input of this pyarrow schema, from an assessment of no
        rows: on the driver, before any work, it also refuses unknown or missing columns."""
        items, cons = self(schema.empty_table())
        return items.schema, cons.schema


class Cluster:
    """The public ``assess``, ``consignments`` of a cluster (deminimis.spark, deminimis.dask), from its
    two primitives:

    - ``sequenced(frame, name)``: the frame with the column ``name`` added, each row's place in it;
    - ``run(frame, key, assessor, which, partitions)``: the frame moved by the key into
      ``partitions`` parts (None: as many as it has), each assessed by ``assessor`` ((items,
      consignments)[which]), lazily; it checks what it can before any work (the output schema, then
      with the consignee as key ``consignee_conflict``).
    """

    def __init__(self, sequenced: Callable[[Any, str], Any],
                 run: Callable[[Any, str, PartitionAssessor, int, int | None], Any]) -> None:
        self.sequenced, self.run = sequenced, run

    def assess(self, frame: Any, *, regime: Regime | dict[str, Any] | str, tariff: Tariff,
               rates: ExchangeRates | DatedRates | None = None, on: _dt.date | None = None, currency: str | None = None,
               amounts: str = "decimal", keep: Sequence[str] = (), key: str | None = None,
               order: str | None = None, partitions: int | None = None) -> Any:
        """The item amounts of a frame of items, as a frame of the cluster (lazy).

        Columns: the sequence (``order``, or ``sequence`` added from the frame's own row order),
        ``consignment``, the ``keep`` columns, the amounts of ``ITEM_AMOUNTS`` in minor units,
        ``rule``, ``status`` and ``ERROR_COLUMNS`` (a bad row is data, named by its sequence). Sorted
        by the sequence it equals ``deminimis.assess(..., errors="flag")`` of the same rows.

        key : the partition key; None (the default) is ``partition_key(regime, on)``; a key that would
            split a consignee the regime aggregates is refused (PartitioningError)
        order : a column of unique integers giving the input order; None: the frame's own order
        partitions : how many parts to assess (None: as many as the frame has); each is one call

        Unknown or missing columns and a wrong key raise before any work; with the consignee as key,
        one pass first checks that each consignment has one consignee (InconsistentConsignmentError).
        """
        assessor = PartitionAssessor(regime=regime, tariff=tariff, rates=rates, on=on, currency=currency,
                                     amounts=amounts, keep=tuple(keep))
        return self._assessed(frame, 0, assessor, key, order, partitions)

    def consignments(self, frame: Any, *, regime: Regime | dict[str, Any] | str, tariff: Tariff,
                     rates: ExchangeRates | DatedRates | None = None, on: _dt.date | None = None,
                     currency: str | None = None, amounts: str = "decimal", key: str | None = None,
                     order: str | None = None, partitions: int | None = None) -> Any:
        """The consignment table of the same assessment (it assesses again: cache the input to read it
        once): ``consignment``, the sequence of its first item, ``items``, the amounts, ``complete``,
        ``status``; sorted by the sequence, the in-memory ``result.consignments``."""
        assessor = PartitionAssessor(regime=regime, tariff=tariff, rates=rates, on=on, currency=currency,
                                     amounts=amounts)
        return self._assessed(frame, 1, assessor, key, order, partitions)

    def _assessed(self, frame: Any, which: int, assessor: PartitionAssessor, key: str | None,
                  order: str | None, partitions: int | None) -> Any:
        key = checked_key(key, assessor.regime, assessor.on)
        columns = list(frame.columns)
        if order is not None:
            if order not in columns:
                raise PartitioningError(f"no column {order!r} to order by (have {columns})")
        elif SEQUENCE in columns:
            raise PartitioningError(f"the input already has a column {SEQUENCE!r}: pass order={SEQUENCE!r} "
                                    "if it gives the input order")
        else:
            frame = self.sequenced(frame, SEQUENCE)
        assessor = replace(assessor, sequence=order or SEQUENCE)
        return self.run(frame, key, assessor, which, partitions)


def partial_totals(items: Any) -> dict[str, int]:
    """The exact sums of a part's item amounts (and its item count) as Python ints: add the parts'
    with ``add_totals``; the whole equals ``Assessment.summary()``'s amounts."""
    out = {"items": items.num_rows}
    for k in ITEM_AMOUNTS:
        out[k] = exact_sum(items[k].to_numpy()) if items.num_rows else 0
    return out


def add_totals(parts: Iterable[Mapping[str, int]]) -> dict[str, int]:
    """The sum of partial totals, exactly (Python ints do not overflow)."""
    out: Counter[str] = Counter({k: 0 for k in ("items", *ITEM_AMOUNTS)})
    for p in parts:
        out.update({k: int(v) for k, v in p.items()})
    return dict(out)


# -- the contract in one process ------------------------------------------------------------------

def with_sequence(tables: Iterable[Any], sequence: str = SEQUENCE) -> list[Any]:
    """The tables with the sequence column added: each row's place in their concatenation."""
    out, start = [], 0
    for t in tables:
        if sequence in t.column_names:
            raise PartitioningError(f"the input already has a column {sequence!r}: name another sequence")
        out.append(t.append_column(sequence, _arange(start, t.num_rows)))
        start += t.num_rows
    return out


def _arange(start: int, n: int) -> Any:
    import pyarrow as pa
    return pa.array(np.arange(start, start + n, dtype=np.int64))


def shuffle(tables: Iterable[Any], key: str, n: int) -> list[Any]:
    """The rows moved into n parts by their key's hash, every row of one key value in one part (what
    Spark's ``repartition(n, key)`` and Dask's ``shuffle(on=key)`` do); rows keep their columns."""
    import pyarrow as pa
    import pyarrow.compute as pc
    pieces: list[list[Any]] = [[] for _ in range(n)]
    for t in tables:
        codes = pc.dictionary_encode(t[key].combine_chunks(), null_encoding="encode")  # null: one more value
        bucket_of = np.array([hash(v) % n for v in codes.dictionary.to_pylist()], dtype=np.int64)
        bucket = bucket_of[codes.indices.to_numpy()] if len(bucket_of) else np.zeros(t.num_rows, np.int64)
        for b in range(n):
            pieces[b].append(t.filter(pa.array(bucket == b)))
    return [pa.concat_tables(p) for p in pieces]


def check_parts(parts: Sequence[Any], key: str) -> None:
    """Each value of the key in one part only (else PartitioningError naming it)."""
    import pyarrow.compute as pc
    where: dict[Any, int] = {}
    for i, p in enumerate(parts):
        for v in pc.unique(p[key]).to_pylist():
            if where.setdefault(v, i) != i:
                raise PartitioningError(f"{key} {v!r} is in parts {where[v]} and {i}: each {key} must be in "
                                        "one part (partition by the key: deminimis.distributed.shuffle)")


def check_one_consignee(parts: Sequence[Any], sequence: str = SEQUENCE) -> None:
    """Each consignment has one consignee over all the parts (else consignee_conflict)."""
    import pyarrow as pa
    pairs = pa.concat_tables([p.select(["consignment", "consignee", sequence]) for p in parts])
    pairs = pairs.group_by(["consignment", "consignee"], use_threads=False).aggregate([(sequence, "min")])
    counts = pairs.group_by("consignment", use_threads=False).aggregate([([], "count_all")])
    bad = counts.filter(pa.compute.greater(counts["count_all"], 1))
    if bad.num_rows:
        c = bad["consignment"][0].as_py()
        mine = pairs.filter(pa.compute.equal(pairs["consignment"], bad["consignment"][0]))
        firsts = mine[f"{sequence}_min"].to_pylist()
        raise consignee_conflict(c, list(zip(mine["consignee"].to_pylist(), firsts)))


def assess_partitions(parts: Sequence[Any], *, regime: Regime | dict[str, Any] | str, tariff: Tariff,
                      key: str | None = None, sequence: str = SEQUENCE, on: _dt.date | None = None,
                      **kwargs: Any) -> tuple[Any, Any]:
    """Parts (pyarrow Tables with the sequence column) assessed apart and gathered in input order:
    (items, consignments), equal to one in-memory assessment of their rows. A partitioning that
    splits a group of the key, or a key the regime does not allow, is refused (PartitioningError)."""
    import pyarrow as pa
    key = checked_key(key, regime, on)
    check_parts(parts, key)
    if key == "consignee":
        check_one_consignee(parts, sequence)
    results = [assess_partition(p, regime=regime, tariff=tariff, on=on, sequence=sequence, **kwargs)
               for p in parts]
    items = pa.concat_tables([r[0] for r in results]).sort_by(sequence)
    cons = pa.concat_tables([r[1] for r in results]).sort_by(sequence)
    return items, cons
