"""Files larger than memory under regimes that aggregate per consignee: partitioning by consignee on disk.

A condition per consignee and day (the US before 2025-08-29) or per consignee and year (CN)
needs every consignment of a consignee at once.  So the input is split, in one pass, into K
bucket files by a hash of the consignee; each bucket is then read and assessed whole, its output
written to a second bucket file; and the K outputs are merged back into the input's row order.

Why the result is that of one assess of the whole input:

- every aggregate lies inside one bucket: all of a consignee's consignments hash to its bucket;
- a consignment goes whole to the bucket of the consignee of its first item, so a consignment
  with items of two consignees is seen by the engine in one piece and named (errors="raise") or
  flagged (errors="flag") as in one pass.  That needs the items of a consignment adjacent, which
  stream.whole_consignments checks (the same rule as batch streaming);
- a bucket keeps its rows in input order, so the order of first appearance of the consignments,
  which breaks date ties of the cumulative consignee-year order (engine.params.consignee_groups:
  by consignee, date, first appearance), and the order of the items of a consignment are those
  of the whole input;
- each row carries its input position (the global sequence), which names its row in errors and
  in the output, and orders the merge.

Memory: one input chunk while partitioning; one bucket while assessing (about `bucket_rows`
rows; a consignee with more items than that makes its bucket larger: a consignee's items are
never split); K pieces of about window/K rows while merging.  Disk: the input and the output
once each, as uncompressed Arrow IPC, in a temporary folder that is removed at the end, on error
and on Ctrl-C (not when the process is killed outright).
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from .chunking import SeenIds, run_starts

#: the most bucket files open at once (each an open file while partitioning and merging)
MAX_BUCKETS = 512
#: rows of a CSV or JSON Lines file have at least this many bytes (an id, a code, a value and their
#: separators): a file of n bytes has at most n / MIN_ROW_BYTES rows, a bound for the bucket count
MIN_ROW_BYTES = 16
#: the column that carries each row's 0-based input position through the input buckets
ROW = "deminimis:row"
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)  # Fibonacci hashing: spreads ids that differ in their low bits


def bucket_count(rows: int, bucket_rows: int) -> int:
    """How many buckets make buckets of about `bucket_rows` rows out of `rows` (at least one)."""
    return max(1, min(MAX_BUCKETS, math.ceil(rows / bucket_rows)))


def route(chunk: Any, k: int, starts: np.ndarray) -> np.ndarray:
    """The bucket of each row: that of the consignee of the first item of its consignment.

    `starts`: where each run of a consignment's items starts (stream.run_starts); a chunk holds
    whole consignments."""
    consignees = chunk.column("consignee").take(starts).to_pylist()
    mixed = SeenIds.fingerprints(consignees) * _GOLDEN
    bucket = ((mixed >> np.uint64(32)) % np.uint64(k)).astype(np.int64)
    return np.repeat(bucket, np.diff(np.r_[starts, chunk.num_rows]))


class ConsigneeBuckets:
    """K bucket files in a temporary folder (removed by ``close``): the input's rows partitioned
    by consignee with their input positions, then each bucket's output rows."""

    def __init__(self, k: int, folder: str | None = None) -> None:
        self.k = k
        self.folder = tempfile.mkdtemp(prefix="deminimis-buckets-", dir=folder)
        self.rows = 0

    def close(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> ConsigneeBuckets:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _path(self, kind: str, j: int) -> str:
        return os.path.join(self.folder, f"{kind}-{j:04d}.arrow")

    def fill(self, chunks: Iterable[tuple[int, Any]]) -> None:
        """Partition (row0, chunk) pairs of whole consignments (stream.whole_consignments) into
        the input buckets, each row with its input position."""
        import pyarrow as pa
        writers: list[Any] = []
        try:
            for row0, chunk in chunks:
                bucket = route(chunk, self.k, run_starts(chunk.column("consignment")))
                order = np.argsort(bucket, kind="stable")  # stable: a bucket keeps the input order
                split = np.cumsum(np.bincount(bucket, minlength=self.k))
                placed = chunk.take(pa.array(order)).append_column(ROW, pa.array(order + row0))
                if not writers:
                    writers = [pa.ipc.new_stream(self._path("in", j), placed.schema) for j in range(self.k)]
                for j in range(self.k):
                    lo = split[j - 1] if j else 0
                    if split[j] > lo:
                        writers[j].write_table(placed.slice(lo, split[j] - lo))
                self.rows = row0 + chunk.num_rows
        finally:
            for w in writers:
                w.close()

    def inputs(self) -> Iterator[tuple[int, Any, np.ndarray]]:
        """(bucket, its rows without the position column, their input positions) per non-empty
        bucket; each input bucket file is removed once read."""
        import pyarrow as pa
        for j in range(self.k):
            path = self._path("in", j)
            if not os.path.exists(path):  # no rows at all: no bucket was written
                continue
            with pa.OSFile(path) as f:
                table = pa.ipc.open_stream(f).read_all()
            os.remove(path)
            if table.num_rows:
                rows = table.column(ROW).to_numpy()
                yield j, table.drop_columns([ROW]), rows

    def write_output(self, j: int, table: Any, window: int) -> None:
        """Bucket j's output rows (in input order, ``row`` the 1-based input row), in pieces small
        enough that the merge holds about one window in all."""
        import pyarrow as pa
        with pa.ipc.new_stream(self._path("out", j), table.schema) as w:
            w.write_table(table, max_chunksize=max(1024, window // self.k))

    def merged(self, window: int) -> Iterator[Any]:
        """The output rows in input order, in tables of `window` rows (the last may be shorter):
        a k-way merge of the output buckets on ``row``."""
        import pyarrow as pa
        files = [pa.OSFile(self._path("out", j)) for j in range(self.k) if os.path.exists(self._path("out", j))]
        try:
            readers = [pa.ipc.open_stream(f) for f in files]
            pending: list[Any] = [None] * len(readers)
            for lo in range(0, self.rows, window):
                hi = min(lo + window, self.rows)
                pieces = []
                for j, reader in enumerate(readers):
                    while True:
                        if pending[j] is None or pending[j].num_rows == 0:
                            try:
                                pending[j] = reader.read_next_batch()
                            except StopIteration:
                                break
                        rows = pending[j].column("row").to_numpy()
                        cut = int(np.searchsorted(rows, hi, side="right"))  # row is 1-based: row <= hi
                        pieces.append(pending[j].slice(0, cut))
                        pending[j] = pending[j].slice(cut)
                        if pending[j].num_rows:
                            break
                table = pa.Table.from_batches(pieces, schema=readers[0].schema) if pieces else None
                position = table.column("row").to_numpy() - 1 - lo if table is not None else np.zeros(0)
                if table is None or len(position) != hi - lo:
                    raise RuntimeError(f"internal error: the output buckets hold {len(position)} of the rows "
                                       f"{lo + 1} to {hi}")
                order = np.empty(len(position), dtype=np.int64)
                order[position] = np.arange(len(position))
                yield table.take(pa.array(order))
        finally:
            for f in files:
                f.close()
