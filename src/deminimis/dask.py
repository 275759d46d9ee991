"""Assessment on Dask: the partitioning contract of ``deminimis.distributed`` on a Dask DataFrame.

    items = deminimis.dask.assess(ddf, regime="US", tariff=tariff, rates=rates, on=day)
    items.to_parquet("assessed/")                          # one row per item, its sequence and amounts
    deminimis.dask.totals(items)                           # exact revenue totals, Python ints

The rows are shuffled on the partition key (``ddf.shuffle(on=key)``: whole consignees, or whole
consignments where nothing aggregates per consignee) and each partition is assessed in one call on
one thread (``map_partitions``; pandas to Arrow and back). The regime, tariff and rates are one
task of the graph, sent once to each worker that needs them. docs/scaling.md says how to run it.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence
from typing import Any

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


def assess(ddf: Any, *, regime: Regime | dict[str, Any] | str, tariff: Tariff,
           rates: ExchangeRates | None = None, on: _dt.date | None = None, currency: str | None = None,
           amounts: str = "decimal", keep: Sequence[str] = (), key: str | None = None,
           order: str | None = None, partitions: int | None = None) -> Any:
    """The item amounts of a Dask DataFrame of items, as a Dask DataFrame (lazy).

    The columns, and the arguments ``key``, ``order`` and ``partitions``, are those of
    ``deminimis.spark.assess``; without ``order`` the sequence is the row's place in the DataFrame
    (partitions in order, rows in order within each). Sorted by the sequence it equals
    ``deminimis.assess(..., errors="flag")`` of the same rows, item for item.
    """
    return _assessed(ddf, 0, regime=regime, tariff=tariff, rates=rates, on=on, currency=currency,
                     amounts=amounts, keep=keep, key=key, order=order, partitions=partitions)


def consignments(ddf: Any, *, regime: Regime | dict[str, Any] | str, tariff: Tariff,
                 rates: ExchangeRates | None = None, on: _dt.date | None = None, currency: str | None = None,
                 amounts: str = "decimal", key: str | None = None, order: str | None = None,
                 partitions: int | None = None) -> Any:
    """The consignment table of the same assessment (it assesses again; persist the input to read it
    once), with the columns of ``deminimis.spark.consignments``."""
    return _assessed(ddf, 1, regime=regime, tariff=tariff, rates=rates, on=on, currency=currency,
                     amounts=amounts, keep=(), key=key, order=order, partitions=partitions)


def totals(items: Any) -> dict[str, int]:
    """The exact totals of ``assess``'s item amounts (and the item count), as Python ints: each partition
    sums its own exactly, the client adds the partial sums."""
    import dask
    parts = [dask.delayed(_partial_totals)(p) for p in items.to_delayed()]
    return add_totals(dask.compute(*parts))


def _partial_totals(frame: Any) -> dict[str, int]:
    import pyarrow as pa
    return partial_totals(pa.Table.from_pandas(frame, preserve_index=False))


def _assessed(ddf: Any, which: int, *, key: str | None, order: str | None, partitions: int | None,
              **arguments: Any) -> Any:
    import dask

    key = checked_key(key, arguments["regime"], arguments["on"])
    ddf, sequence = _sequenced(ddf, order)
    keep = tuple(arguments.pop("keep"))
    assessor = PartitionAssessor(**arguments, keep=keep, sequence=sequence)
    meta = _run(ddf._meta, assessor, which)  # an assessment of no rows: the columns are checked here
    if key == "consignee":
        _check_one_consignee(ddf, sequence)
    shared = dask.delayed(assessor, pure=True)  # one task: each worker fetches it once
    shuffled = ddf.shuffle(on=key, npartitions=partitions or ddf.npartitions)
    return shuffled.map_partitions(_run, shared, which, meta=meta, align_dataframes=False)


def _run(frame: Any, assessor: PartitionAssessor, which: int) -> Any:
    import pyarrow as pa
    return assessor(pa.Table.from_pandas(frame, preserve_index=False))[which].to_pandas()


def _sequenced(ddf: Any, order: str | None) -> tuple[Any, str]:
    """The DataFrame with its sequence column (each row's place: a cumulative count), and its name."""
    if order is not None:
        if order not in ddf.columns:
            raise PartitioningError(f"no column {order!r} to order by (have {list(ddf.columns)})")
        return ddf, order
    if SEQUENCE in ddf.columns:
        raise PartitioningError(f"the input already has a column {SEQUENCE!r}: pass order={SEQUENCE!r} if it "
                                "gives the input order")
    ddf = ddf.assign(**{SEQUENCE: 1})  # a new frame: the caller's is unchanged
    ddf[SEQUENCE] = ddf[SEQUENCE].astype("int64").cumsum() - 1
    return ddf, SEQUENCE


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
