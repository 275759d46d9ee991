"""Tariffs: the duty-expression language, compiled measures and lookup."""

from .expr import FREE, AdValorem, Bounded, CannotAssess, Compound, Expr, Specific
from .parse import parse
from .table import Tariff


_SAMPLES = {"EU": "eu_cet_2020_sample.csv"}


def sample(jurisdiction: str = "EU") -> Tariff:
    """A built-in sample tariff of common e-commerce lines, rates as published (see its source column)."""
    from importlib import resources
    if jurisdiction not in _SAMPLES:
        raise KeyError(f"no sample tariff for {jurisdiction!r}; have {sorted(_SAMPLES)}")
    path = resources.files(__package__).joinpath("data", _SAMPLES[jurisdiction])
    with resources.as_file(path) as p:
        return Tariff.from_csv(str(p), name=f"sample:{jurisdiction}:{_SAMPLES[jurisdiction]}")


__all__ = ["FREE", "AdValorem", "Bounded", "CannotAssess", "Compound", "Expr", "Specific", "Tariff", "parse", "sample"]
