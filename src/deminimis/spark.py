"""Assessment on Spark (PySpark 4): the partitioning contract of ``deminimis.distributed`` on a cluster.

    items = deminimis.spark.assess(df, regime="CN", tariff=tariff, rates=rates, on=day)
    items.write.parquet("assessed/")                       # one row per item, its sequence and amounts
    deminimis.spark.totals(items)                          # exact revenue totals, Python ints

The rows are moved by the partition key (``repartition(n, key)``: whole consignees, or whole
consignments where nothing aggregates per consignee), and each Spark partition is assessed in one
Python call (``mapInArrow``: Arrow batches in, Arrow batches out, no pandas) on one thread, so a
call holds as many rows as a partition (choose ``partitions`` for about 1M rows each). The regime,
tariff and rates are broadcast once; each worker reads them from its copy. docs/scaling.md says
how to run it and what it costs. ``assess`` and ``consignments`` take the arguments of
``deminimis.distributed.Cluster.assess``.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from .assessment import ITEM_AMOUNTS
from .distributed import Cluster, PartitionAssessor, add_totals, consignee_conflict, partial_totals

__all__ = ["assess", "consignments", "totals"]


def _sequenced(df: Any, name: str) -> Any:
    """The DataFrame's own order: ``monotonically_increasing_id`` (partitions in order, rows in order
    within each; not consecutive)."""
    from pyspark.sql import functions as F
    return df.withColumn(name, F.monotonically_increasing_id())


def _run(df: Any, key: str, assessor: PartitionAssessor, which: int, partitions: int | None) -> Any:
    from pyspark.sql.pandas.types import from_arrow_schema, to_arrow_schema

    schema = from_arrow_schema(assessor.schemas(to_arrow_schema(df.schema))[which])
    if key == "consignee":
        _check_one_consignee(df, assessor.sequence)
    shared = df.sparkSession.sparkContext.broadcast(assessor)  # sent to each executor once

    def run(batches: Iterator[Any]) -> Iterator[Any]:
        table = _whole(batches)  # the whole partition: whole groups of the key
        if table is not None:
            yield from shared.value(table)[which].to_batches()

    return df.repartition(partitions or df.rdd.getNumPartitions(), key).mapInArrow(run, schema)


_cluster = Cluster(_sequenced, _run)
assess = _cluster.assess
consignments = _cluster.consignments


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


def _whole(batches: Iterator[Any]) -> Any:
    """A partition's Arrow batches as one Table (None for an empty partition, which has no schema)."""
    import pyarrow as pa
    read = list(batches)
    return pa.Table.from_batches(read) if read else None


def _check_one_consignee(df: Any, sequence: str) -> None:
    """One job: a consignment with two consignees (or a consignee and a missing one) is an error."""
    from pyspark.sql import functions as F
    pairs = df.groupBy("consignment", "consignee").agg(F.min(sequence).alias("first"))
    bad = pairs.groupBy("consignment").count().filter(F.col("count") > 1).limit(1).collect()
    if bad:
        c = bad[0]["consignment"]
        mine = pairs.filter(F.col("consignment").eqNullSafe(F.lit(c))).collect()
        raise consignee_conflict(c, [(r["consignee"], r["first"]) for r in mine])
