"""Output arrays reused across batches."""

from __future__ import annotations

import numpy as np

from .. import _core


class Buffers:
    """Output arrays reused across batches (fresh pages cost as much as the work).

    ``Buffers(items, consignments)`` holds room for that many; ``assess(..., out=buf)``
    writes into views of it, so the previous result's arrays are overwritten.
    """

    def __init__(self, items: int, consignments: int | None = None) -> None:
        nc = items if consignments is None else consignments
        self.items = {k: np.empty(items, dtype=np.int64) for k in _core.ITEM_OUTPUTS}
        self.items["rule"] = np.empty(items, dtype=np.int32)
        self.consignments = {k: np.empty(nc, dtype=np.int64) for k in _core.CONS_OUTPUTS}

    def views(self, n: int, nc: int) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        if n > len(self.items["total"]) or nc > len(self.consignments["total"]):
            raise ValueError(f"buffers hold {len(self.items['total'])} items and "
                             f"{len(self.consignments['total'])} consignments; this batch needs {n} and {nc}")
        return ({k: v[:n] for k, v in self.items.items()}, {k: v[:nc] for k, v in self.consignments.items()})
