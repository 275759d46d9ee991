"""Assessing inputs larger than memory, batch by batch.

A consignment must not be split between two assessments, so the items of the
last consignment of each batch (which may continue in the next) are held back
and assessed with the next batch.  The result is identical to one pass over all
the items, provided the items of a consignment are adjacent in the input (an
export of declarations is; a shuffled file is not, and is refused as soon as a
consignment reappears).

Regimes whose conditions aggregate per consignee (per day or per year) need
every consignment of a consignee at once and cannot be streamed this way; they
are refused with a clear error.

    from deminimis.stream import assess_parquet
    summary = assess_parquet("declarations.parquet", "assessed.parquet",
                             regime=regime, tariff=tariff, rates=rates, on=date)
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from typing import Any, Iterable, Iterator

import numpy as np

from .assessment import ITEM_AMOUNTS, Assessment
from .engine import assess, resolve_regime
from .errors import InconsistentConsignmentError, RegimeError


class Progress:
    """A one-line progress report on stderr: items done, of how many, items per second."""

    def __init__(self, total: int | None, enabled: bool = True, stream: Any = None) -> None:
        self.total, self.enabled = total, enabled
        self.stream = stream or sys.stderr
        self.start = time.perf_counter()
        self.done = 0

    def update(self, n: int) -> None:
        self.done += n
        if not self.enabled:
            return
        elapsed = max(time.perf_counter() - self.start, 1e-9)
        rate = self.done / elapsed
        if self.total:
            pct = 100.0 * self.done / self.total
            eta = (self.total - self.done) / rate if rate else 0.0
            text = f"\rassessed {self.done:,}/{self.total:,} items ({pct:5.1f}%), {rate / 1e6:.2f} M/s, ETA {eta:.0f} s"
        else:
            text = f"\rassessed {self.done:,} items, {rate / 1e6:.2f} M/s"
        self.stream.write(text)
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()


def _concat(tables: list[Any]) -> Any:
    import pyarrow as pa
    return tables[0] if len(tables) == 1 else pa.concat_tables(tables).combine_chunks()


def iter_assess(batches: Iterable[Any], *, regime: Any, tariff: Any, rates: Any = None, on: Any = None,
                currency: str | None = None, amounts: str = "decimal", n_threads: int | None = 1,
                progress: Progress | None = None) -> Iterator[tuple[Any, Assessment]]:
    """Assess pyarrow Tables (or RecordBatches) in order; yield (items, assessment) per chunk.

    Each yielded chunk holds whole consignments only; together the chunks hold
    every input item exactly once, in input order.  The items of a consignment
    must be adjacent: a consignment that reappears within a chunk or in the next
    one is refused (checking further back would need memory in proportion to the
    whole input).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    reg = resolve_regime(regime, on)
    if {"consignee_day", "consignee_year"} & reg.aggregations():
        raise RegimeError(f"regime {reg.id} aggregates per consignee; it needs every consignment of a "
                          "consignee at once and cannot be assessed batch by batch")
    carry: Any = None
    previous: Any = None  # the previous chunk's distinct consignment ids (a pyarrow Array)
    row0 = 0

    def run(chunk: Any) -> tuple[Any, Assessment]:
        nonlocal previous, row0
        result = assess(chunk, regime=reg, tariff=tariff, rates=rates, on=on, currency=currency,
                        amounts=amounts, n_threads=n_threads)
        ids = chunk.column("consignment")
        runs = 1 + int(pc.sum(pc.not_equal(ids.slice(1), ids.slice(0, len(ids) - 1))).as_py() or 0)
        # any id of the previous chunk anywhere in this one (not only at its start)
        again = previous is not None and bool(pc.any(pc.is_in(ids, value_set=previous)).as_py())
        if runs != len(result.consignment_ids) or again:
            values = ids.to_pylist()
            seen: set[Any] = set(previous.to_pylist()) if previous is not None else set()
            for j, cid in enumerate(values):
                if cid in seen and (j == 0 or values[j - 1] != cid):
                    raise InconsistentConsignmentError(
                        f"consignment {cid!r} reappears after its items ended: the items of a consignment "
                        "must be adjacent to be assessed batch by batch", column="consignment", row=row0 + j)
                seen.add(cid)
        previous = pc.unique(ids)
        row0 += chunk.num_rows
        if progress:
            progress.update(chunk.num_rows)
        return chunk, result

    for batch in batches:
        table = pa.Table.from_batches([batch]) if isinstance(batch, pa.RecordBatch) else batch
        if carry is not None:
            table = _concat([carry, table])
        if table.num_rows == 0:
            continue
        ids = table.column("consignment")
        # the trailing run of the last consignment may continue in the next batch
        is_last = pc.equal(ids, ids[table.num_rows - 1]).to_numpy(zero_copy_only=False)
        head = table.num_rows - int(np.argmin(is_last[::-1])) if not is_last.all() else 0
        carry = table.slice(head)
        if head:
            yield run(table.slice(0, head))
    if carry is not None and carry.num_rows:
        yield run(carry)


def _row_group_batches(src: Any, batch_rows: int, columns: list[str] | None) -> Iterator[Any]:
    """The file's rows in batches of at most batch_rows, read one row group at a time.

    (ParquetFile.iter_batches over the whole file retains ~13 MiB per million rows in
    pyarrow 26; reading row group by row group keeps the peak per batch.)
    """
    for g in range(src.metadata.num_row_groups):
        group = src.read_row_group(g, columns=columns)
        for start in range(0, group.num_rows, batch_rows):
            yield group.slice(start, batch_rows)


def assess_parquet(source: str, destination: str | None = None, *, regime: Any, tariff: Any, rates: Any = None,
                   on: Any = None, currency: str | None = None, amounts: str = "decimal",
                   batch_rows: int = 1_000_000, n_threads: int | None = 1, progress: bool = True,
                   columns: list[str] | None = None) -> dict[str, Any]:
    """Assess a Parquet file of items in batches; write the item amounts to `destination`.

    The output file has one row per input item, in input order, with the amount
    columns and the rule bits (and the consignment id).  Returns the summary
    over all items: counts and revenue totals in minor units.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    src = pq.ParquetFile(source)
    bar = Progress(src.metadata.num_rows, enabled=progress)
    writer = None
    summary: dict[str, Any] = {"items": 0, "consignments": 0, "currency": resolve_regime(regime, on).currency}
    try:
        batches = _row_group_batches(src, batch_rows, columns)
        for chunk, result in iter_assess(batches, regime=regime, tariff=tariff, rates=rates, on=on,
                                         currency=currency, amounts=amounts, n_threads=n_threads, progress=bar):
            for k, v in result.summary().items():  # counts and exact totals add up across chunks
                if isinstance(v, dict):  # not_assessed_reasons: reason -> items, most frequent first
                    v = dict((Counter(summary.get(k, {})) + Counter(v)).most_common())
                summary[k] = v if isinstance(v, (str, dict)) else summary.get(k, 0) + v
            if destination is not None:
                out = pa.table({"consignment": chunk.column("consignment"),
                                **{k: result.items[k] for k in (*ITEM_AMOUNTS, "rule")}})
                if writer is None:
                    writer = pq.ParquetWriter(destination, out.schema)
                writer.write_table(out)
    finally:
        if writer is not None:
            writer.close()
        bar.close()
    return summary
