"""Cutting a stream of record batches into chunks of whole consignments.

A consignment's items must be adjacent to be assessed chunk by chunk: a chunk ends at a
consignment boundary, and a consignment that reappears after its items ended, however many
chunks later, is an error naming the row.  Used by deminimis.stream (batch by batch) and
deminimis.buckets (partitioning a file by consignee).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np

from .errors import InconsistentConsignmentError


class SeenIds:
    """The consignment ids of earlier chunks as 64-bit fingerprints (Python's hash) in an
    open-addressing table, 8 bytes a slot at most half full.  A fingerprint seen before is only
    a candidate; ``confirm`` decides exactly."""

    def __init__(self) -> None:
        self.slots = np.zeros(1 << 16, dtype=np.uint64)  # 0: an empty slot
        self.count = 0

    @staticmethod
    def fingerprints(ids: list[Any]) -> np.ndarray:
        fp = np.fromiter((hash(x) for x in ids), dtype=np.int64, count=len(ids)).view(np.uint64)
        fp[fp == 0] = 1
        return fp

    def add(self, fp: np.ndarray) -> np.ndarray:
        """Insert distinct fingerprints; True where one was there already."""
        if 2 * (self.count + len(fp)) > len(self.slots):
            old = self.slots[self.slots != 0]
            size = len(self.slots)
            while 2 * (self.count + len(fp)) > size:
                size *= 2
            self.slots, self.count = np.zeros(size, dtype=np.uint64), 0
            self.add(old)
        mask = np.uint64(len(self.slots) - 1)
        pos = fp & mask
        present = np.zeros(len(fp), dtype=bool)
        todo = np.arange(len(fp))
        while len(todo):  # linear probing, all pending keys one step per round
            slot = self.slots[pos[todo]]
            present[todo[slot == fp[todo]]] = True
            empty = todo[slot == 0]
            self.slots[pos[empty]] = fp[empty]  # several claimants of a slot: one write wins, the others retry
            claimed = np.zeros(len(fp), dtype=bool)
            claimed[empty[self.slots[pos[empty]] == fp[empty]]] = True
            moving = todo[(slot != 0) & (slot != fp[todo])]
            pos[moving] = (pos[moving] + np.uint64(1)) & mask
            todo = todo[~present[todo] & ~claimed[todo]]
        self.count += len(fp) - int(present.sum())
        return present


def _ids_before(source: Iterable[Any], end: int) -> Iterator[Any]:
    """The consignment columns of the input's first `end` rows, from batches of the input."""
    done = 0
    for batch in source:
        if done >= end:
            return
        ids = batch.column("consignment")
        yield ids.slice(0, end - done)
        done += len(ids)


def whole_consignments(batches: Iterable[Any], reread: Callable[[], Iterable[Any]] | None = None,
                       ) -> Iterator[tuple[int, Any]]:
    """(row0, chunk) per chunk of whole consignments: pyarrow Tables holding, together, every row
    of `batches` (Tables or RecordBatches) once, in order; row0 is a chunk's first row in the input.

    The rows of a consignment's last run in a batch may continue in the next, so they are held
    back and joined to it.  A consignment that reappears after its items ended, in the same chunk
    or any number of chunks later, is an InconsistentConsignmentError naming the row.  A missing
    id continues nothing and reappears nowhere (assess names it, or flags it).  A chunk without a
    consignment column is passed on as it is (assess names what is missing).

    Memory: the ids of earlier chunks are kept as 64-bit fingerprints (8 to 16 bytes per
    consignment).  A fingerprint seen before is confirmed exactly by reading the earlier ids again:
    from ``reread()`` (the same batches from the start), or from ``batches`` itself when it is a
    re-iterable collection (a list); for a one-shot iterator without ``reread`` the ids are kept
    for that.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if reread is None and iter(batches) is not batches:
        reread = lambda: batches  # noqa: E731
    kept: list[Any] | None = [] if reread is None else None  # earlier ids, only to confirm a hit
    seen = SeenIds()
    row0 = 0

    def reappears(cid: Any) -> bool:
        source = kept if kept is not None else _ids_before(reread(), row0)  # type: ignore[misc]
        return any(pc.any(pc.equal(ids, pa.scalar(cid, ids.type))).as_py() for ids in source)

    def checked(chunk: Any, starts: np.ndarray | None) -> tuple[int, Any]:
        nonlocal row0
        if starts is not None:
            firsts = chunk.column("consignment").take(pa.array(starts))  # one id per run of equal ids
            values = firsts.to_pylist()
            present = [j for j, cid in enumerate(values) if cid is not None]
            fp = SeenIds.fingerprints([values[j] for j in present])
            again = []  # runs whose id was seen before: in this chunk, or (confirmed) in an earlier one
            ordered = np.sort(fp)
            if np.any(ordered[1:] == ordered[:-1]):  # a candidate repeat inside the chunk: decide exactly
                here: set[Any] = set()
                again = [j for j in present if values[j] in here or here.add(values[j])]  # type: ignore[func-returns-value]
            hits = np.flatnonzero(seen.add(fp))
            again += [present[j] for j in hits if reappears(values[present[j]])]
            if again:
                j = min(again)  # the first in input order
                raise _reappears(values[j], row0 + int(starts[j]))
            if kept is not None:
                kept.append(firsts)
        first, row0 = row0, row0 + chunk.num_rows
        return first, chunk

    carry: Any = None
    for batch in batches:
        table = pa.Table.from_batches([batch]) if isinstance(batch, pa.RecordBatch) else batch
        if carry is not None:
            table = pa.concat_tables([carry, table]).combine_chunks()
        if table.num_rows == 0:
            continue
        if "consignment" not in table.column_names:
            yield checked(table, None)
            continue
        ids = table.column("consignment")
        starts = run_starts(ids)
        # the last consignment's run may continue in the next batch (a missing id continues nothing)
        head = int(starts[-1]) if ids[table.num_rows - 1].is_valid else table.num_rows
        carry = table.slice(head)
        if head:
            yield checked(table.slice(0, head), starts[starts < head])
    if carry is not None and carry.num_rows:
        yield checked(carry, run_starts(carry.column("consignment")))


def run_starts(ids: Any) -> np.ndarray:
    """The positions where a run of equal ids starts (a missing id starts a run of its own)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    if len(ids) == 0:
        return np.zeros(0, dtype=np.int64)
    differs = pc.fill_null(pc.not_equal(ids.slice(1), ids.slice(0, len(ids) - 1)), True)
    after = pc.indices_nonzero(differs)  # positions before a change (a bitmap to numpy is slow)
    after = after.combine_chunks() if isinstance(after, pa.ChunkedArray) else after
    return np.r_[0, after.to_numpy().astype(np.int64) + 1]


def _reappears(cid: Any, row: int) -> InconsistentConsignmentError:
    return InconsistentConsignmentError(
        f"consignment {cid!r} reappears after its items ended: the items of a consignment must be "
        "adjacent to be assessed batch by batch", column="consignment", row=row)
