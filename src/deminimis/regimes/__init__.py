"""Regimes: the model, and the built-in dated regime files.

``get("EU", on=date)`` picks the built-in regime of a jurisdiction in force on
a date; ``available()`` lists them; ``load(path)`` reads a user's own file.
"""

from __future__ import annotations

import datetime as _dt
from functools import lru_cache
from importlib import resources
from pathlib import Path

from ..errors import RegimeError
from .model import Condition, Fee, FlatDuty, Regime, Rule, VatSpec, Waiver

__all__ = ["Condition", "Fee", "FlatDuty", "Regime", "Rule", "VatSpec", "Waiver", "available", "get", "load"]


def load(path: str | Path) -> Regime:
    """A regime from a TOML file with the schema of docs/semantics.md."""
    return Regime.from_toml(path)


@lru_cache(maxsize=None)
def _builtin() -> tuple[Regime, ...]:
    out = []
    for entry in sorted(resources.files(__package__).joinpath("data").iterdir(), key=lambda p: p.name):
        if entry.name.endswith(".toml"):
            with resources.as_file(entry) as p:
                out.append(Regime.from_toml(p))
    return tuple(out)


def available() -> list[dict[str, str]]:
    """Every built-in regime: id, jurisdiction and validity interval."""
    return [{"id": r.id, "jurisdiction": r.jurisdiction, "name": r.name,
             "valid_from": r.valid_from.isoformat() if r.valid_from else "",
             "valid_to": r.valid_to.isoformat() if r.valid_to else ""} for r in _builtin()]


def get(code: str, on: _dt.date | _dt.datetime | None = None) -> Regime:
    """The built-in regime with this id, or of this jurisdiction in force `on` (default: today)."""
    regimes = _builtin()
    for r in regimes:
        if r.id == code:
            return r
    at = on if on is not None else _dt.date.today()
    matches = [r for r in regimes if r.jurisdiction == code and r.in_force(at)]
    if not matches:
        known = sorted({r.jurisdiction for r in regimes})
        raise RegimeError(f"no built-in regime for {code!r} in force on {at} (jurisdictions: {known})")
    return matches[0]
