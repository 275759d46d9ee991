"""Assessment on Spark (PySpark 4): the partitioning contract of ``deminimis.distributed`` on a cluster.

    items = deminimis.spark.assess(df, regime="CN", tariff=tariff, rates=rates, on=day)
    items.write.parquet("assessed/")                       # one row per item, its sequence and amounts
    deminimis.spark.totals(items)                          # exact revenue totals, Python ints

The rows are moved by the partition key (``repartition(n, key)``: whole consignees, or whole
consignments where nothing aggregates per consignee), and each Spark partition is assessed in one
Python call (``mapInArrow``: Arrow batches in, Arrow batches out, no pandas) on one thread, so a
call holds as many rows as a partition (choose ``partitions`` for about 1M rows each). The regime,
tariff and rates are broadcast once; each worker reads them from its copy. docs/scaling.md says
how to run it and what it costs.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Any

from .assessment import ITEM_AMOUNTS
from .distributed import (
    SEQUENCE,
    PartitionAssessor,
    PartitioningError,
    add_totals,
    checked_key,
    consignee_conflict,
    partial_totals,
)
from .rates import ExchangeRates
from .regimes.model import Regime
from .tariff.table import Tariff

__all__ = ["assess", "consignments", "totals"]


def assess(df: Any, *, regime: Regime | dict[str, Any] | str, tariff: Tariff,
           rates: ExchangeRates | None = None, on: _dt.date | None = None, currency: str | None = None,
           amounts: str = "decimal", keep: Sequence[str] = (), key: str | None = None,
           order: str | None = None, partitions: int | None = None) -> Any:
    """The item amounts of a Spark DataFrame of items, as a Spark DataFrame (lazy).

    Columns: the sequence (``order``, or ``sequence`` added from the DataFrame's row order),
    ``consignment``, the ``keep`` columns, the amounts of ``ITEM_AMOUNTS`` in minor units, ``rule``,
    ``status`` and the error columns (``deminimis.distributed.ERROR_COLUMNS``: a bad row is data,
    named by its sequence). Sorted by the sequence it equals ``deminimis.assess(...,
    errors="flag")`` of the same rows, item for item.

    key : the partition key; None (the default) is ``distributed.partition_key(regime, on)``, and a
        key that would split a consignee the regime aggregates is refused (PartitioningError)
    order : a column of unique integers giving the input order; None: the DataFrame's own order
        (``monotonically_increasing_id``: the order of its partitions and of the rows in each)
    partitions : the number of partitions to assess (None: as many as the DataFrame has)

    Raises before any work for unknown or missing columns and a wrong key; with the consignee as
    key, runs one job first that checks each consignment has one consignee (InconsistentConsignmentError
    naming it).
    """
    return _assessed(df, 0, regime=regime, tariff=tariff, rates=rates, on=on, currency=currency,
                     amounts=amounts, keep=keep, key=key, order=order, partitions=partitions)


def consignments(df: Any, *, regime: Regime | dict[str, Any] | str, tariff: Tariff,
                 rates: ExchangeRates | None = None, on: _dt.date | None = None, currency: str | None = None,
                 amounts: str = "decimal", key: str | None = None, order: str | None = None,
                 partitions: int | None = None) -> Any:
    """The consignment table of the same assessment as ``assess`` (it assesses again: cache the input
    to read it once): ``consignment``, the sequence of its first item, ``items``, the amounts,
    ``complete`` and ``status``; sorted by the sequence, the in-memory ``result.consignments``."""
    return _assessed(df, 1, regime=regime, tariff=tariff, rates=rates, on=on, currency=currency,
                     amounts=amounts, keep=(), key=key, order=order, partitions=partitions)


def totals(items: Any) -> dict[str, int]:
    """The exact totals of ``assess``'s item amounts (and the item count), as Python ints: each partition
    sums its own exactly, the driver adds the partial sums (never a float, never a wrapped int64)."""
    from pyspark.sql.types import DecimalType, StructField, StructType

    names = ("items", *ITEM_AMOUNTS)

    def partial(batches: Iterator[Any]) -> Iterator[Any]:
        import pyarrow as pa
        table = _whole(batches)
        if table is not None:
            sums = partial_totals(table)
            yield pa.RecordBatch.from_pydict({k: pa.array([Decimal(sums[k])], pa.decimal128(38, 0))
                                              for k in names})

    schema = StructType([StructField(k, DecimalType(38, 0)) for k in names])  # sums of < 2^31 int64 fit
    rows = items.select(*ITEM_AMOUNTS).mapInArrow(partial, schema).collect()
    return add_totals({k: int(row[k]) for k in names} for row in rows)


def _assessed(df: Any, which: int, *, key: str | None, order: str | None, partitions: int | None,
              **arguments: Any) -> Any:
    from pyspark.sql.pandas.types import from_arrow_schema, to_arrow_schema

    key = checked_key(key, arguments["regime"], arguments["on"])
    df, sequence = _sequenced(df, order)
    keep = tuple(arguments.pop("keep"))
    assessor = PartitionAssessor(**arguments, keep=keep, sequence=sequence)
    schema = from_arrow_schema(assessor.schemas(to_arrow_schema(df.schema))[which])
    if key == "consignee":
        _check_one_consignee(df, sequence)
    shared = df.sparkSession.sparkContext.broadcast(assessor)  # sent to each executor once

    def run(batches: Iterator[Any]) -> Iterator[Any]:
        table = _whole(batches)  # the whole partition: whole groups of the key
        if table is not None:
            yield from shared.value(table)[which].to_batches()

    return df.repartition(partitions or df.rdd.getNumPartitions(), key).mapInArrow(run, schema)


def _whole(batches: Iterator[Any]) -> Any:
    """A partition's Arrow batches as one Table (None for an empty partition, which has no schema)."""
    import pyarrow as pa
    read = list(batches)
    return pa.Table.from_batches(read) if read else None


def _sequenced(df: Any, order: str | None) -> tuple[Any, str]:
    """The DataFrame with its sequence column, and that column's name."""
    from pyspark.sql import functions as F
    if order is not None:
        if order not in df.columns:
            raise PartitioningError(f"no column {order!r} to order by (have {df.columns})")
        return df, order
    if SEQUENCE in df.columns:
        raise PartitioningError(f"the input already has a column {SEQUENCE!r}: pass order={SEQUENCE!r} if it "
                                "gives the input order")
    return df.withColumn(SEQUENCE, F.monotonically_increasing_id()), SEQUENCE


def _check_one_consignee(df: Any, sequence: str) -> None:
    """One job: a consignment with two consignees (or a consignee and a missing one) is an error."""
    from pyspark.sql import functions as F
    pairs = df.groupBy("consignment", "consignee").agg(F.min(sequence).alias("first"))
    bad = pairs.groupBy("consignment").count().filter(F.col("count") > 1).limit(1).collect()
    if bad:
        c = bad[0]["consignment"]
        mine = pairs.filter(F.col("consignment").eqNullSafe(F.lit(c))).collect()
        raise consignee_conflict(c, [(r["consignee"], r["first"]) for r in mine])
