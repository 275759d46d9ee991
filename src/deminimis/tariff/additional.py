"""US additional duties (HTSUS chapter 99) by country of origin, as dated ``additional`` records.

``data/us_additional.toml`` holds the measures as the law states them: a heading, its duty as
printed in the HTS, the origins, the goods (a named scope or a list of code prefixes), the dates
and the source.  This module turns each measure into records of the Tariff schema
(``measure="additional"``), one per code prefix it covers, so that ``Tariff.from_records`` or
``attach_us_additional`` stacks them on the column 1 (or preference) rate of a US tariff.

A named scope is every HTS chapter 01 to 97 minus its ``exempt`` prefixes (no record: the measure
adds nothing there) and its ``unresolved`` prefixes (a CannotAssess record: the duty depends on
exclusions that are not encoded, so those items are reported, never assessed as zero).  The Tariff
model has no "every code except" and no "every origin except", so both are expanded here: the
complement of the removed prefixes as the fewest prefixes that cover it, and the origins as
explicit ISO codes.
"""

from __future__ import annotations

import datetime as _dt
import sys
from functools import lru_cache
from importlib import resources
from typing import Any

from ..errors import TariffError
from .table import Tariff

DATA_FILE = "us_additional.toml"
CHAPTERS = tuple(f"{c:02d}" for c in range(1, 98) if c != 77)  # 77 is reserved; 98 and 99 are not goods
MEASURE_KEYS = {"heading", "origins", "except_origins", "duty", "scope", "usmca", "valid_from", "valid_to",
                "source", "unverified", "quoted"}
REQUIRED = ("heading", "origins", "duty", "scope", "valid_from", "source")


@lru_cache(maxsize=1)
def us_additional_data() -> dict[str, Any]:
    """The parsed data file: ``origins`` (named groups), ``scopes`` and ``measure`` (a list)."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    with (resources.files(__package__) / "data" / DATA_FILE).open("rb") as f:
        data = tomllib.load(f)
    for n, m in enumerate(data["measure"]):
        unknown = set(m) - MEASURE_KEYS
        missing = [k for k in REQUIRED if k not in m]
        if unknown or missing:
            raise TariffError(f"{DATA_FILE} measure {n} ({m.get('heading')}): unknown keys {sorted(unknown)}, "
                              f"missing {missing}")
    return data


def us_additional_duties(*, usmca: bool = True) -> list[dict[str, str]]:
    """The US additional duties as ``additional`` records of the Tariff schema (docs/tariffs.md).

    ``usmca=True`` (default) reads goods of Canada and Mexico as qualifying for USMCA, as the USITC
    loader's mapping of the S/S+ preferences to CA and MX already does: the border duties then apply
    only before the USMCA exception (4 to 7 March 2025).  ``usmca=False`` charges them on every good
    of CA and MX (goods that do not qualify).
    """
    data = us_additional_data()
    groups = data["origins"]
    records: list[dict[str, str]] = []
    for m in data["measure"]:
        if usmca and m.get("usmca") == "non_qualifying":
            continue
        origins = _origins(m["origins"], groups) - {o for g in m.get("except_origins", ())
                                                    for o in _origins(g, groups)}
        common = {"measure": "additional", "origin": " ".join(sorted(origins)), "program": m["heading"],
                  "valid_from": _iso(m["valid_from"])}
        if m.get("valid_to"):
            common["valid_to"] = _iso(m["valid_to"])
        cited = m["source"] + (f"; unverified: {m['unverified']}" if m.get("unverified") else "")
        charged, unresolved = _scope(m["scope"], data["scopes"])
        for code in charged:
            records.append({"code": code, "duty": m["duty"], **common, "source": cited})
        for code, why in unresolved:
            records.append({"code": code, **common, "source": f"{cited}; not encoded: {why}",
                            "duty": m["duty"] if m["duty"].startswith("CANNOT_ASSESS[")
                            else f"CANNOT_ASSESS[US {m['heading']}: {why}]({m['heading']})"})
    return records


def attach_us_additional(tariff: Tariff, *, usmca: bool = True) -> Tariff:
    """Add the US additional duties to a US tariff (e.g. ``Tariff.from_usitc_csv``), in place; returns it."""
    for r in us_additional_duties(usmca=usmca):
        tariff.add(r["code"], r["duty"], kind="additional", origins=r["origin"], program=r["program"],
                   valid_from=r["valid_from"], valid_to=r.get("valid_to"), source=r["source"])
    return tariff


def _origins(spec: Any, groups: dict[str, list[str]]) -> set[str]:
    """A group name ("every", "eu", ...), a code, or a list of either -> ISO codes."""
    if isinstance(spec, list):
        return {o for s in spec for o in _origins(s, groups)}
    if spec in groups:
        return set(groups[spec])
    if isinstance(spec, str) and len(spec) == 2 and spec.isupper():
        return {spec}
    raise TariffError(f"{DATA_FILE}: unknown origin or origin group {spec!r}")


def _iso(value: Any) -> str:
    if not isinstance(value, _dt.date):
        raise TariffError(f"{DATA_FILE}: a date must be a TOML date, got {value!r}")
    return value.isoformat()


def _scope(spec: Any, scopes: dict[str, Any]) -> tuple[list[str], list[tuple[str, str]]]:
    """(prefixes charged, [(prefix, why) not encoded]) of a named scope or of a list of prefixes."""
    if isinstance(spec, list):
        return list(spec), []
    if spec not in scopes:
        raise TariffError(f"{DATA_FILE}: unknown scope {spec!r}")
    exempt = [p for e in scopes[spec]["exempt"] for p in e["prefixes"]]
    unresolved = [(p, e["why"]) for e in scopes[spec]["unresolved"] for p in e["prefixes"]]
    removed = frozenset(exempt) | {p for p, _ in unresolved}
    return [c for ch in CHAPTERS for c in complement(ch, removed)], unresolved


def complement(prefix: str, removed: frozenset[str]) -> list[str]:
    """The fewest code prefixes that cover every code under ``prefix`` and none under ``removed``."""
    if prefix in removed or any(prefix.startswith(r) for r in removed):
        return []
    if not any(r.startswith(prefix) for r in removed):
        return [prefix]
    return [c for d in "0123456789" for c in complement(prefix + d, removed)]


__all__ = ["attach_us_additional", "complement", "us_additional_data", "us_additional_duties"]
