"""Regimes: the model, and the built-in dated regime files.

``get("EU", on=date)`` picks the built-in regime of a jurisdiction in force on
a date (or at an instant); ``available()`` lists them; ``load(path)`` reads a
user's own file with the same schema (docs/semantics.md section 12).

Time convention
---------------
Every ``valid_from``/``valid_to`` is a *naive* local date or date-time of the
jurisdiction (US Eastern time for the US, Brasilia time for Brazil, ...);
``valid_from`` is inclusive, ``valid_to`` exclusive.  A plain date means 00:00
local time of that day, both in a regime file and as ``on``.  Where a rule
changed at a given hour (the US suspensions took effect at 12:01 a.m. EDT) the
file says so (``2025-08-29T00:01:00``), and asking for that day by date alone
gets the regime in force at 00:00, with an :class:`IntraDayChangeWarning`;
pass a ``datetime`` (local, naive) to choose.
"""

from __future__ import annotations

import datetime as _dt
import warnings
from collections.abc import Mapping
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from ..errors import RegimeError
from .dated import expand, read_table
from .model import Condition, Fee, FlatDuty, Regime, Rule, VatSpec, Waiver, read_toml

__all__ = ["Condition", "Fee", "FlatDuty", "IntraDayChangeWarning", "Regime", "Rule", "VatSpec", "Waiver",
           "available", "by_id", "get", "jurisdictions", "load"]


class IntraDayChangeWarning(UserWarning):
    """``get`` was given a plain date on which the jurisdiction's regime changes after 00:00."""


def load(source: str | Path | Mapping[str, Any]) -> Regime:
    """A regime of one's own: a TOML file path, or a dict, with the schema of docs/semantics.md."""
    if isinstance(source, Mapping):
        return Regime.from_dict(source)
    return Regime.from_toml(source)


@cache
def _builtin() -> tuple[Regime, ...]:
    out = []
    data = resources.files(__package__).joinpath("data")
    for entry in sorted(data.iterdir(), key=lambda p: p.name):
        if entry.name.endswith(".toml"):
            with resources.as_file(entry) as p:
                try:
                    versions = [Regime.from_dict(d) for d in _versions(read_toml(p), data)]
                except RegimeError as exc:
                    raise RegimeError(f"built-in regime file {entry.name}: {exc}") from None
                if f"{versions[0].id}.toml" != entry.name:
                    raise RegimeError(f"built-in regime file {entry.name} has id {versions[0].id!r}")
                out.extend(versions)
    _check_intervals(out)
    return tuple(out)


def _versions(d: dict[str, Any], data: Any) -> list[dict[str, Any]]:
    """A regime file's versions: itself, or one per change of its dated VAT rates (regimes/dated.py)."""
    table = d.get("vat", {}).get("dated_rates")
    if table is None:
        return [d]
    with resources.as_file(data.joinpath("vat", f"{table}.toml")) as p:
        return expand(d, read_table(p, str(table)))


def _check_intervals(regimes: list[Regime]) -> None:
    """Versions of one jurisdiction must not overlap (at most one is in force at any instant)."""
    by_jur: dict[str, list[Regime]] = {}
    for r in regimes:
        by_jur.setdefault(r.jurisdiction, []).append(r)
    lo, hi = _dt.datetime.min, _dt.datetime.max
    for jur, rs in by_jur.items():
        rs = sorted(rs, key=lambda r: r.valid_from or lo)
        for a, b in zip(rs, rs[1:]):
            if (a.valid_to or hi) > (b.valid_from or lo):
                raise RegimeError(f"built-in regimes {a.id} and {b.id} of {jur} overlap")


def _instant(on: _dt.date | _dt.datetime | str | None) -> tuple[_dt.datetime, bool]:
    """The instant asked for (naive local time) and whether it was given as a plain date."""
    if on is None:
        return _dt.datetime.combine(_dt.date.today(), _dt.time()), True
    if isinstance(on, str):
        try:
            on = _dt.datetime.fromisoformat(on) if "T" in on or " " in on.strip() else _dt.date.fromisoformat(on)
        except ValueError:
            raise RegimeError(f"on: not an ISO date or date-time: {on!r}") from None
    if isinstance(on, _dt.datetime):
        if on.tzinfo is not None:
            raise RegimeError("on: give the jurisdiction's local time as a naive datetime "
                              f"(regime intervals are naive local times), got {on.isoformat()}")
        return on, False
    if isinstance(on, _dt.date):
        return _dt.datetime(on.year, on.month, on.day), True
    raise RegimeError(f"on: expected a date, datetime or ISO string, got {type(on).__name__}")


def available(jurisdiction: str | None = None) -> list[dict[str, Any]]:
    """Every built-in regime (or those of one jurisdiction), in file order.

    Each entry gives id, jurisdiction, name, valid_from and valid_to (ISO, '' when open),
    currency, valuation and the number of sources and unverified parameters.
    """
    return [{"id": r.id, "jurisdiction": r.jurisdiction, "name": r.name,
             "valid_from": r.valid_from.isoformat() if r.valid_from else "",
             "valid_to": r.valid_to.isoformat() if r.valid_to else "",
             "currency": r.currency, "valuation": r.valuation,
             "sources": len(r.sources), "unverified": len(r.unverified)}
            for r in _builtin() if jurisdiction is None or r.jurisdiction == jurisdiction.upper()]


def jurisdictions() -> list[str]:
    """The jurisdiction codes that have built-in regimes."""
    return sorted({r.jurisdiction for r in _builtin()})


def by_id(regime_id: str) -> Regime | None:
    """The built-in regime with this id (``"EU-2026-07-01"``), or None."""
    return next((r for r in _builtin() if r.id == regime_id), None)


def get(code: str, on: _dt.date | _dt.datetime | str | None = None) -> Regime:
    """The built-in regime with this id, or of this jurisdiction in force `on` (default: today).

    `on` is a date (00:00 local time) or a naive local datetime or an ISO string.
    Raises RegimeError when no version of the jurisdiction is in force then.
    """
    regimes = _builtin()
    for r in regimes:
        if r.id == code:
            return r
    jur = code.upper()
    at, date_only = _instant(on)
    versions = [r for r in regimes if r.jurisdiction == jur]
    if not versions:
        raise RegimeError(f"no built-in regime {code!r} (jurisdictions: {jurisdictions()})")
    matches = [r for r in versions if r.in_force(at)]
    if not matches:
        spans = ", ".join(f"{r.id} [{r.valid_from or '-inf'}, {r.valid_to or '+inf'})" for r in versions)
        raise RegimeError(f"no built-in regime of {jur} is in force at {at.isoformat()} (versions: {spans})")
    if date_only:
        day_end = at + _dt.timedelta(days=1)
        later = [(r.valid_from, r.id) for r in versions if r.valid_from is not None and at < r.valid_from < day_end]
        if later:
            warnings.warn(f"{jur}: {later[0][1]} takes effect at {later[0][0].isoformat()}, during "
                          f"{at.date().isoformat()}; the date means 00:00 and gives {matches[0].id}. "
                          "Pass a datetime to choose.", IntraDayChangeWarning, stacklevel=2)
    return matches[0]
