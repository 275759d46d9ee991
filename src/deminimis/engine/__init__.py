"""assess(): encode the batch, run the native core, assemble the Assessment.

Data flows one way: columns -> per-distinct-value encoding (encode.py, checks.py, factorize.py:
Python, O(distinct values) where it can) -> integer columns and compiled tables (params.py) ->
csrc/assess.h (no GIL, O(items)) -> Assessment.  Inputs are validated in the order
docs/semantics.md gives, so the reference raises the same error first.

The compiled modules (_core, _encode) are imported here and by the submodules, and only when
NATIVE: on a machine without them, or with DEMINIMIS_PUREPYTHON set (to anything but empty,
as msgpack's MSGPACK_PUREPYTHON), this package imports, assess() raises NativeUnavailableError
saying why, and deminimis.reference computes the same results in pure Python.
"""

from __future__ import annotations

import datetime as _dt
import os
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..arguments import candidate_regimes, check_argument_types, check_arguments, regime_parts, resolve_regime
from ..assessment import Assessment, Inputs, make_provenance
from ..columns import as_items, read_columns
from ..errors import NativeUnavailableError
from ..partition import run
from ..problems import Problems, check_errors_mode
from ..rates import DatedRates, ExchangeRates
from ..reference import explain
from ..regimes.model import Regime
from ..tariff.table import Tariff


def _native_unavailable() -> str | None:
    """Why the compiled modules cannot be used here, or None when they can."""
    flag = os.environ.get("DEMINIMIS_PUREPYTHON", "")
    if flag:
        return f"DEMINIMIS_PUREPYTHON={flag} is set in the environment"
    try:
        from .. import _core, _encode  # noqa: F401
    except ImportError as exc:  # one line: the CLI prints it as its error line
        return "the compiled extension cannot be imported: " + " ".join(str(exc).split())
    return None


#: None when the native core can be used, else why not (NATIVE is False)
NATIVE_REASON = _native_unavailable()
NATIVE = NATIVE_REASON is None

__all__ = ["NATIVE", "NATIVE_REASON", "assess", "candidate_regimes", "check_arguments", "require_native",
           "resolve_regime"]

if NATIVE:  # these import _core or _encode
    from .. import _arrow, _core
    from .buffers import Buffers
    from .encode import encode, prepare
    from .factorize import factorize, factorize_first
    from .params import conversion_factor, effective_vat_rate

    __all__ += ["Buffers", "conversion_factor", "effective_vat_rate", "encode", "factorize", "factorize_first",
                "prepare"]


def require_native() -> None:
    """Raise NativeUnavailableError, saying why, unless the native core can be used."""
    if NATIVE_REASON is not None:
        raise NativeUnavailableError(NATIVE_REASON)


def assess(items: Any, *, regime: Regime | dict | str, tariff: Tariff,
           rates: ExchangeRates | DatedRates | None = None,
           on: _dt.date | None = None, currency: str | None = None, amounts: str = "decimal",
           keep: Sequence[str] = (), errors: str = "raise", n_threads: int | None = 1,
           out: Buffers | None = None, ambiguous: str = "flag") -> Assessment:
    """Assess a batch of items under a regime and tariff, exactly, with the native core.

    Parameters
    ----------
    items : mapping of column -> array, pandas/polars DataFrame or pyarrow Table
        Columns as in docs/semantics.md: ``consignment``, ``hs_code``, ``value`` and
        the optional item and consignment-level columns. Any other column is an
        UnknownColumnError unless named in ``keep``.
    regime : Regime, dict, built-in regime id (``"EU-2026-07-01"``) or jurisdiction code
        (``"EU"``: the version in force on the date)
    tariff : Tariff
    rates : ExchangeRates into the regime's currency (not needed for a one-currency batch), or
        DatedRates: each consignment converted at the rates in force on its ``date`` (or on ``on``)
    on : the assessment date; the regime must be in force on it. Without it, the items
        need a ``date`` column and each consignment is assessed under the regime version
        and tariff lines in force on its date.
    currency : the currency of every amount, when there is no ``currency`` column
    amounts : "decimal" (amounts in major units, read exactly) or "minor"
        (integers already in minor units)
    keep : columns to pass through to the result (``result.kept``), unread
    errors : "raise" (the first bad value raises an InputError) or "flag" (every bad row is
        reported in ``result.errors``; consignments with a bad item are not assessed and
        carry a status in ``result.status``; the rest are assessed)
    n_threads : threads for the core (None: all cores); the result never depends on it
    out : Buffers to write the result into instead of fresh arrays
    ambiguous : what an item gets whose code covers tariff lines with different duties (a 6-digit
        code against 8- or 10-digit lines): "flag" (not assessed: rule bit ``cannot_assess``),
        "refuse" (an AmbiguousCodeError naming the row, the code and the lines) or "highest" (the
        highest of those lines' duties, where one is highest on every item; docs/semantics.md, 5)

    Returns an Assessment; ``result.timings`` holds the seconds spent encoding the
    input and in the native core.  Raises NativeUnavailableError when the native core
    cannot be used here (see NATIVE_REASON); deminimis.reference.assess needs no compiled code.
    """
    require_native()
    t0 = time.perf_counter()
    check_argument_types(regime=regime, tariff=tariff, rates=rates, on=on, currency=currency, amounts=amounts,
                         n_threads=n_threads, out=out, ambiguous=ambiguous)
    items = as_items(items)  # read once: a RecordBatchReader is read whole here
    _arrow.check_items(items)  # corrupt Arrow buffers are refused before any Arrow kernel reads them
    check_errors_mode(errors)
    if out is not None and errors == "flag":
        raise ValueError("out= buffers hold one assessment of every row; use errors='raise' with them")
    cols, n = read_columns(items, keep_arrow=True, keep=keep)
    sink = Problems(n) if errors == "flag" else None
    parts = regime_parts(regime, on, cols, n, sink)
    timings = {"encode": 0.0, "core": 0.0}

    def checked(reg: Regime, rates_: ExchangeRates | None) -> tuple[ExchangeRates, bool]:
        return check_arguments(reg, rates_, amounts)

    def validate(part: dict[str, Any], m: int, reg: Regime, rates_: Any, on_: Any, part_sink: Problems) -> None:
        table, minor = checked(reg, rates_)
        prepare(part, m, regime=reg, tariff=tariff, rates=table, currency=currency, minor=minor, on=on_,
                sink=part_sink, ambiguous=ambiguous)

    def assess_part(part: dict[str, Any], m: int, reg: Regime, rates_: Any, on_: Any) -> Assessment:
        t1 = time.perf_counter()
        table, minor = checked(reg, rates_)
        enc = prepare(part, m, regime=reg, tariff=tariff, rates=table, currency=currency, minor=minor, on=on_,
                      ambiguous=ambiguous)
        assert enc is not None
        nn, nc = enc["n"], enc["n_cons"]
        if out is not None:
            out_items, out_cons = out.views(nn, nc)
        else:
            out_items = {k: np.empty(nn, dtype=np.int64) for k in _core.ITEM_OUTPUTS}
            out_items["rule"] = np.empty(nn, dtype=np.int32)
            out_cons = {k: np.empty(nc, dtype=np.int64) for k in _core.CONS_OUTPUTS}
        threads = (os.cpu_count() or 1) if n_threads is None else int(n_threads)
        t2 = time.perf_counter()
        _core.assess(enc["items"], enc["cons"], enc["tables"], enc["params"], out_items, out_cons, threads)
        timings["encode"] += t2 - t1
        timings["core"] += time.perf_counter() - t2
        return Assessment(items=out_items, consignment_ids=enc["cons_ids"], consignments=out_cons,
                          currency=reg.currency,
                          provenance=make_provenance(reg, tariff, rates_, on_, engine="native", ambiguous=ambiguous),
                          inputs=Inputs(part, enc["items"]["cons"], reg, tariff, rates_, on_, currency, amounts,
                                        factorized=enc["factorized"], ambiguous=ambiguous))

    result = run(cols, n, parts=parts, on=on, sink=sink, validate=validate, assess=assess_part, engine="native",
                 tariff=tariff, rates=rates, currency=currency)
    result.kept = {k: cols[k] for k in keep}
    result.provenance["ambiguous"] = ambiguous  # also where the parts were stitched into one result
    result.explained_by(explain)  # the reference derives each amount, from the snapshot
    result.timings = timings
    timings["encode"] = time.perf_counter() - t0 - timings["core"]
    return result
