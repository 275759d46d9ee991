"""Tariffs: the duty-expression language, the Tariff model, official-format loaders.

- ``parse("3.8% + 4.40 EUR / 100 kg")`` -> an expression tree (expr.py);
- ``Tariff``: code -> base, origin and additional measures; ``lookup(code, origin, on=date)``
  resolves them into the core nodes the engine compiles (table.py);
- ``Tariff.from_usitc_csv``, ``Tariff.from_uk_global_tariff_csv``, ``Tariff.from_csv`` / ``from_parquet``
  (our schema, docs/tariffs.md) and ``Tariff.to_records``;
- ``sample("EU" | "UK" | "US")``: built-in sample tariffs of common e-commerce lines, rates as published;
- ``us_additional_duties()`` / ``attach_us_additional(tariff)``: the US chapter 99 duties by origin
  (IEEPA, Section 301) as dated ``additional`` records (additional.py).
"""

from .additional import attach_us_additional, us_additional_duties
from .expr import (
    FREE,
    AdValorem,
    Applicable,
    Bounded,
    CannotAssess,
    Compound,
    DayRange,
    Expr,
    HeadingRef,
    NoChange,
    Seasonal,
    Specific,
)
from .parse import parse, split_special
from .report import LoadReport
from .table import Measure, Resolution, Tariff

_SAMPLES = {"EU": "eu_cet_2020_sample.csv", "UK": "uk_global_tariff_2021_sample.csv",
            "US": "us_hts_2026r3_sample.csv"}
#: the HS edition of each sample's source (the CN 2020 and UK tariff of 2021: HS 2017; the HTS 2026: HS 2022)
_EDITIONS = {"EU": "2017", "UK": "2017", "US": "2022"}


def clear_caches() -> None:
    """Forget the memoised parses (one tree per distinct rate string) and loader caches.

    Parsing is memoised so that a tariff's thousands of identical cells share one tree; the
    benchmarks clear it to time a load as a fresh process would.
    """
    from . import loaders, table
    from .parse import _parse, _split_special
    _parse.cache_clear()
    _split_special.cache_clear()
    loaders._REASONS.clear()
    loaders._units.cache_clear()
    table._origins_of.cache_clear()


def sample(jurisdiction: str = "EU", *, additional: bool = False) -> Tariff:
    """A built-in sample tariff of common e-commerce lines, rates as published (see its source column).

    ``additional=True`` (US only) attaches the US additional duties by origin (``us_additional_duties``).
    """
    from importlib import resources
    if jurisdiction not in _SAMPLES:
        raise KeyError(f"no sample tariff for {jurisdiction!r}; have {sorted(_SAMPLES)}")
    path = resources.files(__package__) / "data" / _SAMPLES[jurisdiction]
    if additional and jurisdiction != "US":
        raise KeyError(f"additional duties are built in for the US sample only, not {jurisdiction!r}")
    with resources.as_file(path) as p:
        t = Tariff.from_csv(str(p), name=f"sample:{jurisdiction}:{_SAMPLES[jurisdiction]}")
    t.hs_edition = _EDITIONS[jurisdiction]
    if additional:
        t.name += "+us_additional.toml"
        attach_us_additional(t)
    return t


__all__ = ["FREE", "AdValorem", "Applicable", "Bounded", "CannotAssess", "Compound", "DayRange", "Expr",
           "HeadingRef", "LoadReport", "Measure", "NoChange", "Resolution", "Seasonal", "Specific", "Tariff",
           "attach_us_additional", "clear_caches", "parse", "sample", "split_special", "us_additional_duties"]
