"""The rounding vocabulary shared by the native core and the reference.

A rounding is a mode, a quantum and a level.  The quantum is an amount of the
currency ("0.01", "1", "0.05", "100"); the mode decides how an exact value
between two multiples of the quantum goes; the level says whether the amount is
rounded per item, or summed per consignment first and rounded once (the item
amounts then being allocated back by largest remainder).

The native core names the same modes with its own codes (deminimis._core.ROUNDING_MODES).
"""

from __future__ import annotations

import decimal
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .errors import RegimeError

#: mode name -> decimal module rounding constant
MODES: dict[str, str] = {
    "half_up": decimal.ROUND_HALF_UP,      # ties away from zero
    "half_even": decimal.ROUND_HALF_EVEN,  # ties to the even multiple
    "down": decimal.ROUND_DOWN,            # toward zero
    "up": decimal.ROUND_UP,                # away from zero
    "floor": decimal.ROUND_FLOOR,          # toward minus infinity
    "ceiling": decimal.ROUND_CEILING,      # toward plus infinity
}
LEVELS = ("item", "consignment")


@dataclass(frozen=True)
class Rounding:
    """How one kind of amount is rounded."""

    mode: str = "half_up"
    quantum: Decimal = Decimal("0.01")
    level: str = "item"

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise RegimeError(f"rounding mode {self.mode!r} is not one of {sorted(MODES)}")
        if self.level not in LEVELS:
            raise RegimeError(f"rounding level {self.level!r} is not one of {LEVELS}")
        q = Decimal(str(self.quantum))
        if not q.is_finite() or q <= 0:
            raise RegimeError(f"rounding quantum must be a positive amount, got {self.quantum!r}")
        object.__setattr__(self, "quantum", q)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None, default: Rounding | None = None) -> Rounding:
        base = default or cls()
        if not d:
            return base
        unknown = set(d) - {"mode", "quantum", "level"}
        if unknown:
            raise RegimeError(f"unknown rounding keys {sorted(unknown)}")
        return cls(mode=d.get("mode", base.mode),
                   quantum=Decimal(str(d.get("quantum", base.quantum))),
                   level=d.get("level", base.level))

    def to_dict(self) -> dict[str, str]:
        return {"mode": self.mode, "quantum": str(self.quantum), "level": self.level}

    @property
    def decimal_mode(self) -> str:
        return MODES[self.mode]

    def quantum_minor(self, currency_exponent: int) -> int:
        """The quantum as a whole number of minor units of the currency."""
        scaled = self.quantum.scaleb(currency_exponent)
        if scaled != scaled.to_integral_value() or scaled < 1:
            raise RegimeError(
                f"rounding quantum {self.quantum} is not a whole number of minor units "
                f"of a currency with {currency_exponent} decimal places")
        return int(scaled)


def round_ratio(numerator: Decimal | int, denominator: Decimal | int, quantum_minor: int, mode: str) -> int:
    """Round numerator / denominator (minor units) to a multiple of the quantum.

    This is the reference's rounding; the core's is dm_round_div in csrc/checked.h.
    The quotient is formed by ONE Decimal division at 200 significant digits and
    rounded straight away.  That is exact: the operands have at most ~60 digits,
    so a quotient that does not terminate lies at least 1e-80 (relative) away
    from every tie and every multiple of the quantum, far beyond the 1e-200 error
    of the division; a quotient that terminates is computed exactly.  Callers
    must therefore multiply first and divide once, never divide twice.
    """
    if Decimal(denominator) <= 0:
        raise ValueError("denominator must be positive")
    with decimal.localcontext() as ctx:
        ctx.prec = 200
        ctx.traps[decimal.Inexact] = False
        steps = (Decimal(numerator) / (Decimal(denominator) * quantum_minor)).to_integral_value(
            rounding=MODES[mode])
    return int(steps) * quantum_minor
