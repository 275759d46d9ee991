"""Which regime applies: a regime is in force from ``valid_from`` (inclusive) to ``valid_to``
(exclusive), naive local date-times, a plain date meaning 00:00 of that day (see
src/deminimis/regimes/__init__.py, "Time convention").  The reference's own checks: it takes the
built-in regime files from ``regimes`` and decides itself which version is in force."""

from __future__ import annotations

import datetime as _dt
import warnings
from typing import Any

from .. import regimes
from ..errors import RegimeError
from ..partition import fixed_regime
from ..regimes.model import Regime


def instant(on: _dt.date | _dt.datetime) -> _dt.datetime:
    """A date as 00:00 of that day; a date-time as it is."""
    if isinstance(on, _dt.datetime):
        return on
    return _dt.datetime(on.year, on.month, on.day)


def valid_at(reg: Regime, on: _dt.date | _dt.datetime) -> bool:
    """The regime is in force at that instant."""
    at = instant(on)
    if reg.valid_from is not None and at < reg.valid_from:
        return False
    return reg.valid_to is None or at < reg.valid_to


def in_force_some_time_of(reg: Regime, day: _dt.date) -> bool:
    """The regime is in force at some instant of the day (a change at 00:01 keeps the day in both)."""
    midnight = instant(day)
    next_midnight = midnight + _dt.timedelta(days=1)
    starts_in_time = reg.valid_from is None or reg.valid_from < next_midnight
    ends_in_time = reg.valid_to is None or reg.valid_to > midnight
    return starts_in_time and ends_in_time


def not_in_force(reg: Regime, on: Any) -> RegimeError:
    return RegimeError(f"regime {reg.id} is not in force on {on} "
                       f"(valid {reg.valid_from or '-inf'} to {reg.valid_to or '+inf'})")


def version_in_force(jurisdiction: str, on: _dt.date | _dt.datetime) -> Regime:
    """The built-in regime of a jurisdiction in force at `on` (a plain date: at 00:00, with an
    IntraDayChangeWarning when another version takes effect later that day)."""
    if isinstance(on, _dt.datetime) and on.tzinfo is not None:
        raise RegimeError("on: give the jurisdiction's local time as a naive datetime "
                          f"(regime intervals are naive local times), got {on.isoformat()}")
    jur = jurisdiction.upper()
    versions = [regimes.by_id(entry["id"]) for entry in regimes.available(jur)]
    if not versions:
        raise RegimeError(f"no built-in regime {jurisdiction!r} (jurisdictions: {regimes.jurisdictions()})")
    at = instant(on)
    chosen = [r for r in versions if r is not None and valid_at(r, at)]
    if not chosen:
        raise RegimeError(f"no built-in regime of {jur} is in force at {at.isoformat()}")
    if not isinstance(on, _dt.datetime):
        later = [r for r in versions if r is not None and r.valid_from is not None
                 and at < r.valid_from < at + _dt.timedelta(days=1)]
        if later:
            starts = later[0].valid_from
            assert starts is not None  # chosen above for its valid_from
            warnings.warn(f"{jur}: {later[0].id} takes effect at {starts.isoformat()}, during "
                          f"{at.date().isoformat()}; the date means 00:00 and gives {chosen[0].id}. "
                          "Pass a datetime to choose.", regimes.IntraDayChangeWarning, stacklevel=4)
    return chosen[0]


def regime_on(regime: Regime | dict | str, on: _dt.date | _dt.datetime) -> Regime:
    """The regime named, which must be in force on `on`, or a jurisdiction's version in force then."""
    fixed = fixed_regime(regime, regimes.by_id)
    if fixed is None:
        return version_in_force(str(regime), on)
    if not valid_at(fixed, on):
        raise not_in_force(fixed, on)
    return fixed
