"""The memory floor: stream the same input bytes once, write the same output bytes once.

No assessment can beat the time it takes to read its inputs and write its
outputs.  The floor does exactly that, with numpy's simplest kernels (which
release the GIL):

- read: every input buffer, viewed as uint64 words, is summed (one streaming
  read of every byte; the sum is returned so nothing can be optimised away);
- write: every output column is filled, either into fresh arrays (``np.empty``
  then a write: the kernel zeroes each new page on first touch, as it does for
  an engine that allocates its outputs) or into preallocated arrays (the best
  case, what caller-provided buffers allow).

``threads=k`` splits every buffer into k parts handled by k threads, the floor
of a k-thread engine.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

try:  # the engine's own output columns, so the floor writes exactly what the engine writes
    from deminimis._core import CONS_OUTPUTS, ITEM_OUTPUTS
except ImportError:  # pragma: no cover
    ITEM_OUTPUTS = ("intrinsic", "customs_value", "duty", "vat", "vat_at_sale", "fees", "total")
    CONS_OUTPUTS = ("intrinsic", "customs_value", "duty", "vat", "vat_at_sale", "fees", "total", "items")


def as_words(buffers: Iterable[Any]) -> list[np.ndarray]:
    """Input buffers (numpy arrays, pyarrow buffers) as uint64 views, with their tail bytes as uint8."""
    out = []
    for b in buffers:
        if b is None:
            continue
        raw = np.frombuffer(b, dtype=np.uint8) if not isinstance(b, np.ndarray) else \
            np.ascontiguousarray(b).reshape(-1).view(np.uint8)
        whole = len(raw) // 8 * 8
        if whole:
            out.append(raw[:whole].view(np.uint64))
        if whole < len(raw):
            out.append(raw[whole:])
    return out


def arrow_buffers(table: Any) -> list[Any]:
    """Every buffer of a pyarrow Table (validity, offsets, string data, values)."""
    bufs = []
    for col in table.columns:
        for chunk in col.chunks:
            bufs.extend(b for b in chunk.buffers() if b is not None)
    return bufs


def output_specs(n_items: int, n_cons: int) -> list[tuple[int, np.dtype]]:
    """The engine's outputs: its int64 item columns and the int32 rule bits per item, its int64
    columns per consignment (today 8 + 1 per item, 9 per consignment: 68 bytes per item and
    72 per consignment)."""
    specs = [(n_items, np.dtype(np.int64)) for _ in ITEM_OUTPUTS] + [(n_items, np.dtype(np.int32))]
    return specs + [(n_cons, np.dtype(np.int64)) for _ in CONS_OUTPUTS]


def preallocate(specs: Sequence[tuple[int, np.dtype]]) -> list[np.ndarray]:
    outs = [np.empty(n, dtype=dt) for n, dt in specs]
    for o in outs:  # touch every page now, so later writes find them mapped
        o.fill(0)
    return outs


def _parts(n: int, k: int) -> list[slice]:
    step = -(-n // k) if n else 0
    return [slice(i * step, min(n, (i + 1) * step)) for i in range(k) if i * step < n]


def run(inputs: Sequence[np.ndarray], specs: Sequence[tuple[int, np.dtype]], *,
        outputs: Sequence[np.ndarray] | None = None, threads: int = 1) -> int:
    """Read every input word once and write every output once; returns a checksum.

    inputs: from ``as_words``; specs: from ``output_specs``; outputs: preallocated
    arrays (else fresh ones are allocated and written, like an engine's results).
    """
    outs = list(outputs) if outputs is not None else [np.empty(n, dtype=dt) for n, dt in specs]
    one = [np.ones(1, dtype=o.dtype) for o in outs]
    work: list[tuple[str, np.ndarray, Any]] = []
    for a in inputs:
        for s in _parts(len(a), threads):
            work.append(("read", a[s], None))
    for o, v in zip(outs, one):
        for s in _parts(len(o), threads):
            work.append(("write", o[s], v))

    def do(job: tuple[str, np.ndarray, Any]) -> int:
        kind, a, v = job
        if kind == "read":
            return int(np.add.reduce(a, dtype=a.dtype)) & 0xFFFF
        np.add(v, 0, out=a, casting="unsafe")  # a broadcast write: every byte once, GIL released
        return 0

    if threads == 1:
        return sum(do(j) for j in work)
    # k threads, each taking its share of every buffer
    shares = [[j for idx, j in enumerate(work) if idx % threads == t] for t in range(threads)]
    with ThreadPoolExecutor(threads) as pool:
        return sum(pool.map(lambda js: sum(do(j) for j in js), shares))


def bytes_moved(inputs: Sequence[np.ndarray], specs: Sequence[tuple[int, np.dtype]]) -> tuple[int, int]:
    return sum(a.nbytes for a in inputs), sum(n * dt.itemsize for n, dt in specs)
