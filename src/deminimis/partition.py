"""Parts of a batch, assessed apart and put back together in input order.

A batch is cut into parts in three cases, the same for the engine and the reference
(each brings its own checks and arithmetic as `validate` and `assess` callables):

- **per-row dates** (no ``on=``): each consignment is assessed under the regime version
  in force on its ``date``; a part per version (docs/semantics.md, "Dates");
- **dated rates** (``rates`` a DatedRates): each consignment is converted at the rates in
  force on its ``date`` (or on ``on``); a part per regime version and rates table;
- **errors as data** (``errors="flag"``): every check runs over every row; the
  consignments with a bad item (and, where the regime aggregates per consignee, every
  consignment of their consignees, whose reliefs depend on them) are left out and
  reported; the rest is assessed as if they were not there.

Nothing here computes an amount: it chooses rows and scatters results.
"""

from __future__ import annotations

import datetime as _dt
import functools
import hashlib
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .assessment import CANNOT_ASSESS, CONSIGNMENT_AMOUNTS, ITEM_AMOUNTS, Assessment, make_provenance, to_list
from .columns import date_problem, id_codes, to_date
from .errors import (
    InconsistentConsignmentError,
    InputError,
    InvalidValueError,
    MissingColumnError,
    MissingRateError,
    RegimeError,
)
from .money import CURRENCY_EXPONENTS
from .problems import ASSESSED, INVALID, WITH_INVALID, Problems, report
from .rates import DatedRates, ExchangeRates
from .regimes.model import Regime

#: validate(cols, n, regime, rates, on, sink): every problem of the part into the sink
Validate = Callable[[dict[str, Any], int, Regime, Any, Any, Problems], None]
#: assess(cols, n, regime, rates, on): the part's Assessment (raising its first problem)
AssessPart = Callable[[dict[str, Any], int, Regime, Any, Any], Assessment]


def take(cols: dict[str, Any], rows: np.ndarray) -> dict[str, Any]:
    """The columns at these rows (Arrow arrays stay Arrow; lists become object arrays)."""
    out = {}
    for name, a in cols.items():
        if type(a).__module__.startswith("pyarrow"):
            out[name] = a.take(rows)
        elif isinstance(a, np.ndarray):
            out[name] = a[rows]
        else:
            arr = np.empty(len(a), dtype=object)
            arr[:] = list(a)
            out[name] = arr[rows]
    return out


def fixed_regime(regime: Regime | dict | str, lookup: Callable[[str], Regime | None]) -> Regime | None:
    """The one regime a call names (an object, a dict, or a built-in regime id), or None for a
    jurisdiction code, whose version is chosen by date."""
    if isinstance(regime, Regime):
        return regime
    if isinstance(regime, dict):
        return Regime.from_dict(regime)
    if isinstance(regime, str):
        return lookup(regime)
    raise TypeError(f"regime must be a Regime, a dict or a built-in regime code, got {type(regime).__name__}")


def day_in_force(regime: Regime, day: _dt.date) -> bool:
    """The regime is in force at some instant of the day (a change at 00:01 keeps the day in both)."""
    start = _dt.datetime(day.year, day.month, day.day)
    end = start + _dt.timedelta(days=1)
    return ((regime.valid_from is None or regime.valid_from < end)
            and (regime.valid_to is None or start < regime.valid_to))


def version_parts(regime: Regime | dict | str, cols: dict[str, Any], n: int, sink: Problems | None,
                  lookup: Callable[[str], Regime | None],
                  version_on: Callable[[str, _dt.date], Regime]) -> list[tuple[Regime, np.ndarray]]:
    """Per-row dates: the rows of each regime version, in order of their first row.

    Each distinct date must be a date and have a version in force (else InvalidValueError on
    `date`); a consignment's items must agree on the date before they are parted.
    """
    if "date" not in cols:
        raise MissingColumnError("no assessment date: give on= or a 'date' column", column="date")
    fixed = fixed_regime(regime, lookup)
    dates = to_list(cols["date"])
    version: dict[Any, Regime | str] = {}
    for d in dict.fromkeys(dates):
        problem = date_problem(d)
        if problem is None:
            day = to_date(d)
            if fixed is not None:
                version[d] = fixed if day_in_force(fixed, day) else (
                    f"regime {fixed.id} is not in force on this date "
                    f"(valid {fixed.valid_from or '-inf'} to {fixed.valid_to or '+inf'})")
            else:
                try:
                    version[d] = version_on(str(regime), day)
                except RegimeError as exc:
                    version[d] = str(exc)
        else:
            version[d] = problem
    report(sink, (i for i, d in enumerate(dates) if isinstance(version[d], str)),
           lambda row: InvalidValueError(str(version[dates[row]]), column="date", row=row, value=dates[row]))
    ids = to_list(cols["consignment"])
    first_version: dict[Any, tuple[int, Any]] = {}
    bad = sink.bad if sink is not None else np.zeros(n, dtype=bool)
    for i, (c, d) in enumerate(zip(ids, dates)):
        if bad[i]:
            continue
        if c not in first_version:
            first_version[c] = (i, version[d])
        elif first_version[c][1] is not version[d]:
            report(sink, [i], lambda row: InconsistentConsignmentError(
                f"items of one consignment disagree (row {first_version[ids[row]][0]} has another value)",
                column="date", row=row))
    rows_of: dict[str, list[int]] = {}
    regime_of: dict[str, Regime] = {}
    for i, d in enumerate(dates):
        v = version[d]
        if isinstance(v, Regime) and not bad[i]:
            rows_of.setdefault(v.id, []).append(i)
            regime_of[v.id] = v
    parts = [(regime_of[k], np.array(r, dtype=np.int64)) for k, r in rows_of.items()]
    _check_consignee_years(parts, cols)
    return parts


def _check_consignee_years(parts: Sequence[tuple[Regime, np.ndarray]], cols: dict[str, Any],
                           names: Sequence[str] | None = None) -> None:
    """A consignee's yearly aggregate cannot span two parts (which version's threshold, or which rates?).
    `names` say what each part is (default: its regime version)."""
    if len(parts) < 2 or not any("consignee_year" in r.aggregations() for r, _ in parts) or "consignee" not in cols:
        return
    names = names or [f"regime versions {reg.id}" for reg, _ in parts]
    consignee, dates = to_list(cols["consignee"]), to_list(cols["date"])
    seen: dict[tuple[Any, int], int] = {}
    for k, (_, rows) in enumerate(parts):
        for i in rows.tolist():
            key = (consignee[i], to_date(dates[i]).year)
            if seen.setdefault(key, k) != k:
                raise InvalidValueError(
                    f"consignee {key[0]!r}'s {key[1]} aggregate spans {names[seen[key]]} and "
                    f"{names[k].removeprefix('regime versions ')}; assess the dates of each apart, or pass on= "
                    "to apply one", column="date", row=i, value=dates[i])


def rate_parts(parts: Sequence[tuple[Regime, np.ndarray | None]], rates: Any, cols: dict[str, Any], n: int,
               on: Any, currency: str | None, sink: Problems | None
               ) -> tuple[list[tuple[Regime, Any, np.ndarray | None]], list[dict[str, str]]]:
    """Each regime part cut by the rates table in force on its rows' days (a part = one regime
    version x one rates table), and the tables used, as provenance.

    Only dated rates (a DatedRates) cut: the table of `on`, else of each row's `date`.  A row whose
    `currency` (then `freight_currency`) has no rate on its day is a MissingRateError naming the
    currency and the day; the items of a consignment must fall in one table.  Other rates pass
    through, one table for every part.
    """
    if not isinstance(rates, DatedRates):
        return [(reg, rates, rows) for reg, rows in parts], []
    for reg, _ in parts:  # (as arguments.check_arguments, before any row is read)
        if rates.base != reg.currency:
            raise RegimeError(f"exchange rates are into {rates.base}, the regime's currency is {reg.currency}")
    dates = to_list(cols["date"]) if on is None else None
    fixed = to_date(on) if on is not None else None
    tables: dict[Any, ExchangeRates] = {}  # per distinct date value (or `on`)
    hashes: dict[Any, str] = {}

    def day(i: int) -> Any:
        return fixed if dates is None else dates[i]

    def table(value: Any) -> ExchangeRates:
        if value not in tables:
            tables[value] = rates.rates_on(to_date(value), currencies=())
            hashes[value] = tables[value].content_hash
        return tables[value]

    rows_of = [np.arange(n, dtype=np.int64) if rows is None else rows for _, rows in parts]
    good = np.sort(np.concatenate(rows_of)) if rows_of else np.zeros(0, dtype=np.int64)
    bad: set[int] = set()
    currencies = {"currency": to_list(cols["currency"]) if "currency" in cols else [currency] * n}
    if "freight_currency" in cols:
        currencies["freight_currency"] = to_list(cols["freight_currency"])

    def no_rate(name: str, values: list[Any], row: int) -> MissingRateError:
        cur, on_day = values[row], to_date(day(row))
        return MissingRateError(f"no {cur} rate on {on_day}: {rates.missing(cur, on_day)}", column=name, row=row,
                                value=cur)

    for name, values in currencies.items():  # ISO codes only: another value is an error of its own (step 3)
        missing = [i for i in good.tolist() if i not in bad and isinstance(values[i], str)
                   and values[i] in CURRENCY_EXPONENTS and values[i] != rates.base
                   and values[i] not in table(day(i)).rates]
        report(sink, missing, functools.partial(no_rate, name, values))
        bad.update(missing)
    cut: dict[tuple[str, str], tuple[Regime, ExchangeRates, list[int]]] = {}
    for (reg, _), rows in zip(parts, rows_of):
        for i in rows.tolist():
            if i not in bad:
                t = table(day(i))
                cut.setdefault((reg.id, hashes[day(i)]), (reg, t, []))[2].append(i)
    if dates is not None and len(cut) > 1:
        _check_one_part(cut, cols, sink, bad)
    pieces: list[tuple[Regime, Any, np.ndarray | None]] = [
        (reg, t, np.array([i for i in rows if i not in bad], dtype=np.int64)) for reg, t, rows in cut.values()]
    pieces = [p for p in pieces if p[2] is not None and len(p[2])]
    spans: dict[str, list[_dt.date]] = {}
    for value in dict.fromkeys(day(i) for i in good.tolist() if i not in bad):
        spans.setdefault(hashes[value], []).append(to_date(value))
    used = merge_rates_tables([{"from": min(days).isoformat(), "to": max(days).isoformat(), "hash": h}
                               for h, days in spans.items()])
    if dates is not None:
        _check_consignee_years([(reg, rows) for reg, _, rows in pieces if rows is not None], cols,
                               [f"{reg.id} at the rates {t.source}" for reg, t, _ in pieces])
    if not pieces:  # every row bad: empty parts keep the regimes for the result
        pieces = [(reg, None, np.zeros(0, dtype=np.int64)) for reg, _ in parts]
    return pieces, used


def _check_one_part(cut: dict[Any, tuple[Regime, ExchangeRates, list[int]]], cols: dict[str, Any],
                    sink: Problems | None, bad: set[int]) -> None:
    """The items of a consignment fall in one part (one regime version and rates table)."""
    ids = to_list(cols["consignment"])
    part_of = np.empty(len(ids), dtype=np.int64)
    for k, (_, _, rows) in enumerate(cut.values()):
        part_of[rows] = k
    first: dict[Any, int] = {}
    for i in sorted(i for _, _, rows in cut.values() for i in rows):
        c = ids[i]
        if c not in first:
            first[c] = i
        elif part_of[first[c]] != part_of[i]:
            report(sink, [i], lambda row: InconsistentConsignmentError(
                f"items of one consignment disagree (row {first[ids[row]]} has another value)", column="date", row=row))
            bad.add(i)


def _remap(exc: InputError, rows: np.ndarray) -> InputError:
    return exc.moved(lambda row: int(rows[row]))


def run(cols: dict[str, Any], n: int, *, parts: list[tuple[Regime, np.ndarray | None]], on: Any,
        sink: Problems | None, validate: Validate, assess: AssessPart, engine: str,
        tariff: Any, rates: Any, currency: str | None = None) -> Assessment:
    """Assess each part (raising the first problem, or with a sink leaving out what is bad); the
    parts of regime versions are cut again by rates table where `rates` is dated."""
    cut, used = rate_parts(parts, rates, cols, n, on, currency, sink)
    whole = [(reg, table, np.arange(n, dtype=np.int64) if rows is None else rows) for reg, table, rows in cut]
    if sink is None and len(whole) == 1 and len(whole[0][2]) == n:  # one part, every row in order
        reg, table, _ = whole[0]
        return _with_rates(_dated(assess(cols, n, reg, table, on), cols, on), rates, used)
    if sink is not None:
        for reg, table, rows in whole:
            part_sink = Problems(len(rows))
            validate(take(cols, rows), len(rows), reg, table, on, part_sink)
            for exc in part_sink.exceptions:
                sink.add(_remap(exc, rows))
    ids = to_list(cols["consignment"])
    cons_of, cons_ids = id_codes(ids)
    consignee = to_list(cols["consignee"]) if "consignee" in cols else None
    per_consignee = any({"consignee_day", "consignee_year"} & reg.aggregations() for reg, _, _ in whole)
    status = np.zeros(n, dtype=np.int8)
    results: list[tuple[np.ndarray, Assessment]] = []
    while True:
        excluded = _excluded(sink, cons_of, consignee if per_consignee else None) if sink is not None else None
        try:
            results = []
            for reg, table, rows in whole:
                keep = rows if excluded is None else rows[~excluded[rows]]
                if len(keep) == 0:
                    continue
                try:
                    results.append((keep, assess(take(cols, keep), len(keep), reg, table, on)))
                except InputError as exc:
                    raise _remap(exc, keep) from None
            break
        except InputError as exc:  # found only when computing (an overflow): leave it out too, and again
            if sink is None or exc.row is None:
                raise
            sink.add(exc)
    if sink is not None:
        status[excluded] = WITH_INVALID
        status[sink.bad] = INVALID
    result = _stitch(n, results, cons_of, cons_ids, status, sink, [reg for reg, _, _ in whole], on, engine, tariff,
                     rates)
    return _with_rates(_dated(result, cols, on), rates, used)


def merge_rates_tables(*lists: list[dict[str, str]]) -> list[dict[str, str]]:
    """The rates tables of several assessments' provenance as one list: each table once, from the first
    to the last day any of them used it."""
    merged: dict[str, dict[str, str]] = {}
    for entry in (e for entries in lists for e in entries):
        m = merged.setdefault(entry["hash"], dict(entry))
        m["from"], m["to"] = min(m["from"], entry["from"]), max(m["to"], entry["to"])
    return sorted(merged.values(), key=lambda e: (e["from"], e["to"]))


def _with_rates(result: Assessment, rates: Any, used: list[dict[str, str]]) -> Assessment:
    """Dated rates: the provenance has the dated table's hash and rule, and the hash of each day's
    table used with the first and last days it converted."""
    if isinstance(rates, DatedRates):
        result.provenance.update({"rates_hash": rates.content_hash, "rates_rule": rates.rule,
                                  "rates_max_gap": rates.max_gap, "rates_tables": used})
    return result


def _dated(result: Assessment, cols: dict[str, Any], on: Any) -> Assessment:
    """Provenance always has the date: `on`, or "per-row" with the first and last dates of the batch."""
    if on is None:
        distinct = dict.fromkeys(to_list(cols["date"]))  # each distinct value read once
        days = sorted({to_date(d) for d in distinct if date_problem(d) is None})
        result.provenance["assessment_date"] = "per-row"
        result.provenance["dates"] = [days[0].isoformat(), days[-1].isoformat()] if days else []
    return result




def _excluded(sink: Problems, cons_of: np.ndarray, consignee: list[Any] | None) -> np.ndarray:
    """Rows left out: every item of a consignment with a bad item, and where the regime aggregates per
    consignee, every item of those consignments' consignees."""
    bad_cons = np.zeros(int(cons_of.max()) + 1 if len(cons_of) else 0, dtype=bool)
    bad_cons[cons_of[sink.bad]] = True
    out = bad_cons[cons_of]
    if consignee is not None:
        bad_people = {consignee[i] for i in np.flatnonzero(out).tolist()}
        out |= np.fromiter((c in bad_people for c in consignee), dtype=bool, count=len(consignee))
    return out


def _stitch(n: int, results: list[tuple[np.ndarray, Assessment]], cons_of: np.ndarray, cons_ids: list[Any],
            status: np.ndarray, sink: Problems | None, parts: Sequence[Regime], on: Any,
            engine: str, tariff: Any, rates: Any) -> Assessment:
    """One Assessment of the whole batch in input order: the parts' rows scattered back, zeros (and
    a status) where nothing was assessed."""
    items: dict[str, np.ndarray] = {k: np.zeros(n, dtype=np.int32 if k == "rule" else np.int64)
                                    for k in (*ITEM_AMOUNTS, "rule")}
    nc = len(cons_ids)
    consignments = {k: np.zeros(nc, dtype=np.int64) for k in (*CONSIGNMENT_AMOUNTS, "items")}
    for rows, res in results:
        for k in items:
            items[k][rows] = res.items[k]
        part_cons = np.unique(cons_of[rows])  # codes are in first-appearance order, as in the part
        for k in consignments:
            consignments[k][part_cons] = res.consignments[k]
    consignments["items"] = np.bincount(cons_of, minlength=nc).astype(np.int64)
    # a consignment with an invalid item is invalid (1); one left out for its consignee's sake is 2
    has = [np.bincount(cons_of[status == k], minlength=nc) > 0 for k in (INVALID, WITH_INVALID)]
    cons_status = np.where(has[0], INVALID, np.where(has[1], WITH_INVALID, ASSESSED)).astype(np.int8)
    regimes = list({reg.id: reg for reg in parts}.values())
    currencies = {reg.currency for reg in regimes}
    if len(currencies) > 1:
        raise RegimeError(f"the regime versions of this batch have different currencies {sorted(currencies)}")
    provenance = make_provenance(regimes[0], tariff, rates, on, engine=engine) if regimes else {}
    if len(regimes) > 1:
        provenance["regime"] = ",".join(r.id for r in regimes)
        provenance["regime_hash"] = hashlib.sha256(",".join(r.content_hash for r in regimes).encode()).hexdigest()
    if results:
        provenance.update({k: v for k, v in results[0][1].provenance.items() if k.startswith("assessment_")})
    currency = regimes[0].currency if regimes else ""
    complete = cons_status == ASSESSED  # a consignment left out is not complete either
    complete[cons_of[(items["rule"] & CANNOT_ASSESS) != 0]] = False
    consignments["complete"] = complete
    return Assessment(items=items, consignment_ids=cons_ids, consignments=consignments, currency=currency,
                      provenance=provenance, status=status, cons_status=cons_status,
                      errors=sink.errors if sink is not None else [], parts=results)
