"""The arguments of an assessment: their types, and the regime (or regime versions) they name.

Shared by the engine and the reference: nothing here computes an amount."""

from __future__ import annotations

import datetime as _dt
from typing import Any, NoReturn

import numpy as np

from .errors import RegimeError
from .partition import fixed_regime, version_parts
from .problems import Problems
from .rates import DatedRates, ExchangeRates
from .regimes.model import Regime
from .tariff.table import AMBIGUOUS_MODES, Tariff


def check_argument_types(*, regime: Any, tariff: Any, rates: Any, on: Any, currency: Any, amounts: Any,
                         n_threads: Any = None, out: Any = None, ambiguous: Any = "flag") -> None:
    """A TypeError naming the argument, what it takes and what it got, before any work.

    deminimis.assess and deminimis.reference.assess both call it first (the reference has no
    n_threads and no out: their defaults pass).
    """
    def refuse(name: str, takes: str, got: Any) -> NoReturn:
        raise TypeError(f"{name} must be {takes}; got {type(got).__name__} {got!r}"[:300])

    if not isinstance(regime, (Regime, dict, str)):
        refuse("regime", "a Regime, a dict or a built-in regime code (str)", regime)
    if not isinstance(tariff, Tariff):
        refuse("tariff", "a deminimis.Tariff", tariff)
    if rates is not None and not isinstance(rates, (ExchangeRates, DatedRates)):
        refuse("rates", "a deminimis.DatedRates, a deminimis.ExchangeRates or None", rates)
    if on is not None and not isinstance(on, _dt.date):
        refuse("on", "a datetime.date (or datetime) or None", on)
    if currency is not None and not isinstance(currency, str):
        refuse("currency", "an ISO 4217 code (str) or None", currency)
    if not isinstance(amounts, str) or amounts not in ("decimal", "minor"):
        refuse("amounts", "'decimal' or 'minor'", amounts)
    if n_threads is not None and (isinstance(n_threads, bool) or not isinstance(n_threads, (int, np.integer))
                                  or n_threads < 1):
        refuse("n_threads", "a positive int or None (all cores)", n_threads)
    if not isinstance(ambiguous, str) or ambiguous not in AMBIGUOUS_MODES:
        refuse("ambiguous", " or ".join(map(repr, AMBIGUOUS_MODES)), ambiguous)
    if out is not None and type(out).__name__ != "Buffers":  # deminimis.engine.Buffers (native: not imported here)
        refuse("out", "a deminimis.engine.Buffers or None", out)


def check_arguments(regime: Regime, rates: ExchangeRates | None, amounts: str) -> tuple[ExchangeRates, bool]:
    """The rates table to use (empty for a one-currency batch) and whether amounts are minor units."""
    if amounts not in ("decimal", "minor"):  # (assess has refused it already: prepare may be called alone)
        raise ValueError("amounts must be 'decimal' or 'minor'")
    if rates is None:
        rates = ExchangeRates({}, base=regime.currency)
    if rates.base != regime.currency:
        raise RegimeError(f"exchange rates are into {rates.base}, the regime's currency is {regime.currency}")
    return rates, amounts == "minor"


def builtin_regime(code: str) -> Regime | None:
    """The built-in regime with this id, or None (a jurisdiction code, or unknown)."""
    from .regimes import by_id
    return by_id(code)


def resolve_regime(regime: Regime | dict[str, Any] | str, on: _dt.date | _dt.datetime | None) -> Regime:
    """The regime in force `on`: the one named (an object, a dict or a regime id), which must be in
    force then, or the version of a jurisdiction in force then (`on` None: only a named regime)."""
    r = fixed_regime(regime, builtin_regime)
    if r is None:
        if on is None:
            raise RegimeError(f"{regime!r} is a jurisdiction: give the date (on=) that picks its version")
        from .regimes import get
        return get(str(regime), on=on)
    if on is not None and not r.in_force(on):
        raise RegimeError(f"regime {r.id} is not in force on {on} "
                          f"(valid {r.valid_from or '-inf'} to {r.valid_to or '+inf'})")
    return r


def candidate_regimes(regime: Regime | dict[str, Any] | str, on: _dt.date | None) -> list[Regime]:
    """The regimes a call may apply: the one in force `on`, or (per-row dates) the one named or
    every version of the jurisdiction named."""
    if on is not None:
        return [resolve_regime(regime, on)]
    fixed = fixed_regime(regime, builtin_regime)
    if fixed is not None:
        return [fixed]
    from .regimes import _builtin
    versions = [r for r in _builtin() if r.jurisdiction == str(regime).upper()]
    if not versions:
        raise RegimeError(f"no built-in regime {regime!r}")
    return versions


def regime_parts(regime: Regime | dict[str, Any] | str, on: _dt.date | None, cols: dict[str, Any], n: int,
                 sink: Problems | None) -> list[tuple[Regime, np.ndarray | None]]:
    """The regime of the whole batch on `on`, or (on=None) the rows of each version by their date."""
    if on is not None:
        return [(resolve_regime(regime, on), None)]
    from .regimes import get
    return list(version_parts(regime, cols, n, sink, builtin_regime, lambda code, day: get(code, on=day)))
