"""Errors as data: the problems of a batch, one per bad (row, column), for ``errors="flag"``.

With ``errors="raise"`` (the default) the first problem found, in the validation order of
docs/semantics.md, is raised. With ``errors="flag"`` the checks go on over every row and
put each problem in a :class:`Problems` sink; the consignments of the bad rows are then left
out of the assessment and reported, and the rest is assessed as if they were not there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from .errors import InputError, move_rows

ERRORS_MODES = ("raise", "flag")

#: ``Assessment.status`` per item
ASSESSED, INVALID, WITH_INVALID = 0, 1, 2
STATUS_NAMES = {ASSESSED: "assessed", INVALID: "invalid",
                WITH_INVALID: "not assessed: its consignment has an invalid item"}


@dataclass(frozen=True)
class RowError:
    """One bad value: the input row (0-based), the column, the value, the error class and message."""

    row: int | None
    column: str | None
    value: Any
    error: str
    message: str

    @classmethod
    def of(cls, exc: InputError) -> RowError:
        return cls(exc.row, exc.column, exc.value, type(exc).__name__, exc.message)

    def moved(self, where: Callable[[int], int]) -> RowError:
        """The same problem with its row, and the rows its message names, moved by `where`."""
        return replace(self, row=None if self.row is None else where(self.row),
                       message=move_rows(self.message, where))

    def to_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "value": self.value, "error": self.error,
                "message": self.message}


class Problems:
    """Collects every bad row of a batch of n items (the sink of the checks)."""

    def __init__(self, n: int) -> None:
        self.exceptions: list[InputError] = []
        self.bad = np.zeros(n, dtype=bool)

    def add(self, exc: InputError) -> None:
        self.exceptions.append(exc)
        if exc.row is not None:
            self.bad[exc.row] = True

    @property
    def errors(self) -> list[RowError]:
        """The problems as rows of the error table, by row (then in the order found)."""
        found = [RowError.of(e) for e in self.exceptions]
        return sorted(found, key=lambda e: -1 if e.row is None else e.row)

    def __bool__(self) -> bool:
        return bool(self.exceptions)


def report(sink: Problems | None, rows: Iterable[int], make: Callable[[int], InputError]) -> None:
    """Raise the problem of the first row (no sink), or put every row's problem in the sink."""
    for row in rows:
        exc = make(int(row))
        if sink is None:
            raise exc
        sink.add(exc)


def check_errors_mode(errors: Any) -> None:
    if errors not in ERRORS_MODES:
        raise ValueError(f"errors must be one of {ERRORS_MODES}, got {errors!r}")
