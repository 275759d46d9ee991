"""Assessment on Dask: the partitioning contract of ``deminimis.distributed`` on a Dask DataFrame.

    items = deminimis.dask.assess(ddf, regime="US", tariff=tariff, rates=rates, on=day)
    items.to_parquet("assessed/")                          # one row per item, its sequence and amounts
    deminimis.dask.totals(items)                           # exact revenue totals, Python ints

The rows are shuffled on the partition key (``ddf.shuffle(on=key)``: whole consignees, or whole
consignments where nothing aggregates per consignee) and each partition is assessed in one call on
one thread (``map_partitions``; pandas to Arrow and back). The regime, tariff and rates are one
task of the graph, sent once to each worker that needs them. docs/scaling.md says how to run it.
``assess`` and ``consignments`` take the arguments of ``deminimis.distributed.Cluster.assess``.
"""

from __future__ import annotations

from typing import Any

from .distributed import Cluster, PartitionAssessor, add_totals, consignee_conflict, partial_totals

__all__ = ["assess", "consignments", "totals"]


def _sequenced(ddf: Any, name: str) -> Any:
    """The row's place in the DataFrame (partitions in order, rows in order within each): a cumulative
    count."""
    ddf = ddf.assign(**{name: 1})  # a new frame: the caller's is unchanged
    ddf[name] = ddf[name].astype("int64").cumsum() - 1
    return ddf


def _run(ddf: Any, key: str, assessor: PartitionAssessor, which: int, partitions: int | None) -> Any:
    import dask
    meta = _assessed(ddf._meta, assessor, which)  # an assessment of no rows: the columns are checked here
    if key == "consignee":
        _check_one_consignee(ddf, assessor.sequence)
    shared = dask.delayed(assessor, pure=True)  # one task: each worker fetches it once
    shuffled = ddf.shuffle(on=key, npartitions=partitions or ddf.npartitions)
    return shuffled.map_partitions(_assessed, shared, which, meta=meta, align_dataframes=False)


def _assessed(frame: Any, assessor: PartitionAssessor, which: int) -> Any:
    import pyarrow as pa
    return assessor(pa.Table.from_pandas(frame, preserve_index=False))[which].to_pandas()


_cluster = Cluster(_sequenced, _run)
assess = _cluster.assess
consignments = _cluster.consignments


def totals(items: Any) -> dict[str, int]:
    """The exact totals of ``assess``'s item amounts (and the item count), as Python ints: each partition
    sums its own exactly, the client adds the partial sums."""
    import dask
    parts = [dask.delayed(_partial_totals)(p) for p in items.to_delayed()]
    return add_totals(dask.compute(*parts))


def _partial_totals(frame: Any) -> dict[str, int]:
    import pyarrow as pa
    return partial_totals(pa.Table.from_pandas(frame, preserve_index=False))


def _check_one_consignee(ddf: Any, sequence: str) -> None:
    """A consignment with two consignees (or a consignee and a missing one) is an error."""
    pairs = (ddf[["consignment", "consignee", sequence]]
             .groupby(["consignment", "consignee"], dropna=False)[sequence].min().reset_index())
    conflicts = pairs.shuffle(on="consignment").map_partitions(_shared_consignments).compute()
    if len(conflicts):
        c = conflicts.sort_values(sequence)["consignment"].iloc[0]
        mine = conflicts[conflicts["consignment"] == c]
        raise consignee_conflict(c, list(zip(mine["consignee"].tolist(), mine[sequence].tolist())))


def _shared_consignments(pairs: Any) -> Any:
    """The (consignment, consignee) pairs of the consignments that have more than one."""
    return pairs[pairs.duplicated("consignment", keep=False)]
