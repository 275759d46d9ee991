"""Dated VAT rates: a built-in regime names a table of rates by destination, each with its date of
effect, and the loader cuts the regime into one version per date on which a rate changes.

Why versions rather than rates with dates inside a version: the engine, the reference and the C
core take one rate per destination and category, and ``regimes.get(code, on=...)`` and the per-row
``date`` column (partition.version_parts) already pick the version in force.  A version per change
gives each of them the rate in force that day with no change to them.  The table lives in
``data/vat/<name>.toml``; a regime file points at it with ``vat.dated_rates = "<name>"``.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import RegimeError
from .model import read_toml

_ENTRY_KEYS = {"destination", "from", "source", "verified"}


@dataclass(frozen=True)
class Entry:
    """Rates of one destination from a date on; a category it does not name keeps its earlier rate."""

    destination: str
    start: _dt.datetime
    rates: dict[str, str]
    source: str
    verified: bool


def _day(x: Any, what: str) -> _dt.datetime:
    if isinstance(x, _dt.date) and not isinstance(x, _dt.datetime):
        return _dt.datetime(x.year, x.month, x.day)
    raise RegimeError(f"{what}: 'from' must be a TOML date (YYYY-MM-DD), got {x!r}")


def read_table(path: Any, name: str) -> tuple[Entry, ...]:
    """The entries of a dated-rates table, checked: known categories, a source each, complete first entries."""
    d = read_toml(path)
    categories = tuple(d.get("categories", ()))
    if not categories or "standard" not in categories:
        raise RegimeError(f"VAT rate table {name}: 'categories' must list 'standard' and the others")
    entries = []
    for i, e in enumerate(d.get("rates", ())):
        what = f"VAT rate table {name} entry {i + 1}"
        unknown = set(e) - _ENTRY_KEYS - set(categories)
        if unknown:
            raise RegimeError(f"{what}: unknown keys {sorted(unknown)}")
        rates = {c: str(e[c]) for c in categories if c in e}
        if not rates or not str(e.get("source", "")).strip():
            raise RegimeError(f"{what}: needs at least one rate and a source")
        entries.append(Entry(str(e.get("destination", "")), _day(e.get("from"), what), rates,
                             str(e["source"]), bool(e.get("verified", False))))
    seen: set[str] = set()
    for e in sorted(entries, key=lambda e: e.start):
        if e.destination not in seen and set(e.rates) != set(categories):
            raise RegimeError(f"VAT rate table {name}: the first entry of {e.destination} must give every "
                              f"category {list(categories)}")
        seen.add(e.destination)
    return tuple(entries)


def _in_force(entries: tuple[Entry, ...], at: _dt.datetime) -> dict[str, dict[str, Entry]]:
    """For each destination and category, the entry whose rate is in force at `at`."""
    out: dict[str, dict[str, Entry]] = {}
    for e in sorted(entries, key=lambda e: e.start):
        if e.start <= at:
            out.setdefault(e.destination, {}).update({c: e for c in e.rates})
    return out


def expand(d: Mapping[str, Any], entries: tuple[Entry, ...]) -> list[dict[str, Any]]:
    """The regime dict `d` cut at every change of a rate inside its interval, with the rates in force.

    The first part keeps d's id; a later part's id is d's with the date of its start.  Each part
    cites the sources of the rates it uses and lists every rate not read in an official text.
    """
    start, end = _day(d.get("valid_from"), f"{d.get('id')} valid_from"), d.get("valid_to")
    end_at = _day(end, f"{d.get('id')} valid_to") if end is not None else None
    prefix = str(d["id"])[: -len("YYYY-MM-DD")]
    if not str(d["id"]).endswith(start.date().isoformat()):
        raise RegimeError(f"regime {d['id']}: with dated rates the id must end with valid_from")
    cuts = sorted({e.start for e in entries if start < e.start and (end_at is None or e.start < end_at)})
    bounds = [start, *cuts]
    parts = []
    for i, at in enumerate(bounds):
        used = _in_force(entries, at)
        missing = sorted({e.destination for e in entries} - set(used))
        if missing:
            raise RegimeError(f"regime {d['id']}: no VAT rates in force on {at.date()} for {missing}")
        part = dict(d)
        part["vat"] = {k: v for k, v in d["vat"].items() if k != "dated_rates"}
        part["vat"]["rates"] = {dest: {c: e.rates[c] for c, e in cats.items()} for dest, cats in used.items()}
        part["id"] = d["id"] if i == 0 else f"{prefix}{at.date().isoformat()}"
        part["valid_from"] = at
        part["valid_to"] = bounds[i + 1] if i + 1 < len(bounds) else end
        part["name"] = f"{d.get('name', '')}; VAT rates in force from {at.date()}"
        rate_entries = [e for cats in used.values() for e in cats.values()]
        part["sources"] = [*d.get("sources", ()), *dict.fromkeys(e.source for e in rate_entries)]
        part["unverified"] = [*d.get("unverified", ()), *(
            f"vat.rates {dest}: " + ", ".join(f"{c} {e.rates[c]}% since {e.start.date()}" for c, e in cats.items())
            + " from secondary sources only, not read in an official text"
            for dest, cats in used.items() if not all(e.verified for e in cats.values()))]
        parts.append(part)
    return parts
