"""Exceptions shared by the native engine and the pure-Python reference.

Both sides raise the same types for the same bad input, so a caller (and the
differential tests) can rely on the type.  Every input error names the column,
the first offending row (0-based position in the input) and the value.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

_ROW = re.compile(r"\brow (\d+)\b")


def move_rows(text: str, where: Callable[[int], int]) -> str:
    """Every "row N" of a message moved by `where`."""
    return _ROW.sub(lambda m: f"row {where(int(m.group(1)))}", text)


class DeminimisError(Exception):
    """Base class of every error this library raises on purpose."""


class NativeUnavailableError(DeminimisError):
    """The native core cannot be used here: no compiled extension for this machine, or
    DEMINIMIS_PUREPYTHON is set.  ``reason`` says which; the message names the pure-Python path."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"the native core is not available ({reason}): deminimis.reference.assess takes the "
                         "same arguments as deminimis.assess (less n_threads and out) and computes the same "
                         "result in pure Python, item by item")
        self.reason = reason


class InputError(DeminimisError, ValueError):
    """Bad input: names the column, the first offending row and its value."""

    def __init__(self, message: str, *, column: str | None = None,
                 row: int | None = None, value: Any = None) -> None:
        parts = []
        if column is not None:
            parts.append(f"column {column!r}")
        if row is not None:
            parts.append(f"row {row}")
        where = ", ".join(parts)
        text = f"{where}: {message}" if where else message
        if value is not None:
            text += f" (got {value!r})"
        super().__init__(text)
        self.column = column
        self.row = row
        self.value = value
        self.message = message  # without the column and row: see RowError

    def moved(self, where: Callable[[int], int]) -> InputError:
        """The same error (same class and fields) with its row, and every "row N" of its message
        (not of the value shown), moved by `where`: a part's or a batch's row becomes the input's."""
        if self.row is None:
            return self
        text = str(self)
        shown = f" (got {self.value!r})" if self.value is not None else ""
        head = text[:len(text) - len(shown)] if shown and text.endswith(shown) else text
        moved = type(self).__new__(type(self))
        moved.__dict__.update(self.__dict__)
        moved.row = where(self.row)
        moved.message = move_rows(self.message, where)
        moved.args = (move_rows(head, where) + text[len(head):],)
        return moved


class MissingColumnError(InputError):
    """A required column is absent."""


class UnknownColumnError(InputError):
    """A column the library does not know and the caller did not name in ``keep``.

    A misspelt optional column (``Origin``, ``frieght``) would otherwise be ignored and
    change the amounts in silence. ``suggestions`` holds the closest known names.
    """

    def __init__(self, message: str, *, column: str, suggestions: tuple[str, ...] = ()) -> None:
        if suggestions:
            message += f"; did you mean {', '.join(map(repr, suggestions))}?"
        super().__init__(message, column=column)
        self.suggestions = suggestions


class LengthMismatchError(InputError):
    """Columns of different lengths."""


class InvalidValueError(InputError):
    """A value that cannot be read, is negative, non-finite or too precise."""


class UnknownValueError(InvalidValueError):
    """A value outside the vocabulary the regime knows for an enumerated column (``nature``,
    ``transport``, ``shipped_from``, ``destination``); ``allowed`` lists the values it knows."""

    def __init__(self, message: str, *, column: str, row: int | None, value: Any,
                 allowed: tuple[str, ...]) -> None:
        super().__init__(f"{message}; allowed: {', '.join(map(repr, allowed))}", column=column, row=row,
                         value=value)
        self.allowed = allowed


class UnknownCurrencyError(InputError):
    """A currency that is not ISO 4217 or has no exchange rate."""


class MissingRateError(UnknownCurrencyError):
    """Dated rates (``deminimis.DatedRates``) hold no rate for a currency on a day: the message names
    both and why (none published, or the last one older than the table's ``max_gap``)."""


class RatesFileError(DeminimisError, ValueError):
    """An exchange-rate publication that cannot be read exactly: names the file, the line (1-based)
    and the column."""

    def __init__(self, message: str, *, source: str, line: int | None = None, column: str | None = None) -> None:
        where = ", ".join([source] + ([f"line {line}"] if line is not None else [])
                          + ([f"column {column!r}"] if column is not None else []))
        super().__init__(f"{where}: {message}")
        self.source, self.line, self.column = source, line, column


class UnknownCodeError(InputError):
    """An hs_code that the tariff does not cover (no prefix matches)."""


class AmbiguousCodeError(UnknownCodeError):
    """An hs_code that covers tariff lines with different duties, under ambiguous="refuse"."""


class InconsistentConsignmentError(InputError):
    """Items of one consignment disagree on a consignment-level field."""


class AmountOverflowError(InputError, OverflowError):
    """An amount does not fit in a signed 64-bit count of minor units."""


class RegimeError(DeminimisError, ValueError):
    """A regime definition that is incomplete or contradictory."""


class TariffError(DeminimisError, ValueError):
    """A tariff that cannot be built or compiled."""


class TariffSyntaxError(TariffError):
    """A duty expression that does not parse; names the position."""

    def __init__(self, message: str, text: str, position: int) -> None:
        super().__init__(f"{message} at position {position} in {text!r}")
        self.text = text
        self.position = position
