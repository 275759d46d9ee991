"""Loaders for the exchange-rate publications users have, each read exactly as published.

Every rate is read from the decimal text the publisher wrote (digits and one point, never
through a float); a cell that is not one, a date that is not a date, a row of the wrong
length is a RatesFileError naming the file, the line and the column.  Each loader returns a
DatedRates whose ``report`` (a RatesReport) says what it read: rows, rates, the cells marked
as not available per currency, and the columns it did not load and why.

- ``load_ecb``: the ECB's euro foreign exchange reference rates, history file
  ``eurofxref-hist.csv`` (in https://www.ecb.europa.eu/stats/eurofxref/eurofxref-hist.zip):
  ``Date,USD,JPY,...``, one row per TARGET business day, foreign units per 1 EUR, ``N/A``
  where the ECB published no rate for a currency that day.
- ``load_hmrc``: HMRC's monthly exchange rates for customs and VAT, the CSV files of
  https://www.trade-tariff.service.gov.uk/exchange_rates (``monthly_csv_YYYY-M.csv``):
  ``Country/Territories,Currency,Currency Code,Currency Units per £1,Start date,End date``,
  units per 1 GBP, valid for a calendar month; one file per month, so several paths.
- ``load_boc``: the Bank of Canada's daily exchange rates from its Valet API
  (https://www.bankofcanada.ca/valet/observations/FXUSDCAD/csv, ``.../json``, or the group
  ``FX_RATES_DAILY``): series ``FX<CUR>CAD``, Canadian dollars per 1 unit of the currency.
- ``load_csv``: a table of your own, ``currency,valid_from,valid_to,rate`` (ISO dates, both
  days included), in the quotation you name.
"""

from __future__ import annotations

import csv
import datetime as _dt
import json
import os
import re
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TextIO

from .errors import RatesFileError
from .money import CURRENCY_EXPONENTS
from .rates import MAX_GAP_DAYS, DatedRates

Path = str | os.PathLike[str]
_DECIMAL = re.compile(r"[0-9]+(?:\.[0-9]+)?")
_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_UK_DAY = re.compile(r"([0-9]{2})/([0-9]{2})/([0-9]{4})")
_BOC_SERIES = re.compile(r"FX([A-Z]{3})CAD")
NOT_ISO = "not an ISO 4217 currency deminimis knows (a withdrawn currency)"


@dataclass
class RatesReport:
    """What a loader read; nothing it left out goes unsaid."""

    source: str
    rows: int = 0                                   # data rows (days, or rate rows) read
    rates: int = 0                                  # rates loaded
    first: _dt.date | None = None                   # first and last day a loaded rate is valid
    last: _dt.date | None = None
    not_available: Counter[str] = field(default_factory=Counter)  # currency -> cells with no rate
    skipped: dict[str, str] = field(default_factory=dict)           # column or currency -> why not loaded
    skipped_values: Counter[str] = field(default_factory=Counter)   # column or currency -> rates not loaded
    duplicates: int = 0                             # rows repeating a rate already read (HMRC: per territory)

    def loaded(self, start: _dt.date, end: _dt.date) -> None:
        self.rates += 1
        self.first = start if self.first is None else min(self.first, start)
        self.last = end if self.last is None else max(self.last, end)

    def summary(self) -> str:
        out = [f"{self.source}: {self.rows} rows, {self.rates} rates from {self.first} to {self.last}"]
        if self.duplicates:
            out.append(f"  {self.duplicates} rows repeat a rate already read (same currency, period and rate)")
        for cur, n in sorted(self.not_available.items()):
            out.append(f"  {cur}: {n} days with no rate published")
        for name, why in self.skipped.items():
            out.append(f"  {name}: not loaded ({why}; {self.skipped_values[name]} rates)")
        return "\n".join(out)


def _open(path: Path) -> TextIO:
    return open(path, newline="", encoding="utf-8-sig")  # noqa: SIM115 (the caller closes it)


def _rate(text: str, source: str, line: int | None, column: str) -> Decimal:
    cell = text.strip()
    if not _DECIMAL.fullmatch(cell) or Decimal(cell) == 0:
        raise RatesFileError(f"not a positive decimal rate (digits and one '.'; got {text!r})", source=source,
                             line=line, column=column)
    return Decimal(cell)


def _iso_day(text: str, source: str, line: int | None, column: str) -> _dt.date:
    try:
        if _ISO_DAY.fullmatch(text.strip()):
            return _dt.date.fromisoformat(text.strip())
    except ValueError:
        pass
    raise RatesFileError(f"not a date YYYY-MM-DD (got {text!r})", source=source, line=line, column=column)


def _rows(reader: Any, width: int, source: str) -> Iterator[tuple[int, list[str]]]:
    """(line, cells) of each non-blank row, which must have `width` cells."""
    for row in reader:
        if not row:
            continue
        if len(row) != width:
            raise RatesFileError(f"has {len(row)} cells where the header has {width}", source=source,
                                 line=reader.line_num)
        yield reader.line_num, row


def load_ecb(path: Path, *, rule: str = "daily", max_gap: int = MAX_GAP_DAYS) -> DatedRates:
    """The ECB reference rate history (eurofxref-hist.csv): EUR base, foreign units per 1 EUR,
    each rate valid on its day.  ``N/A`` cells are counted in ``report.not_available``; columns
    of currencies that are no longer ISO 4217 (CYP, SIT, ...) in ``report.skipped``."""
    source = os.fspath(path)
    report = RatesReport(source)
    periods: list[tuple[str, _dt.date, _dt.date, Decimal]] = []
    with _open(path) as f:
        reader = csv.reader(f)
        header = [h.strip() for h in next(reader, [])]
        if not header or header[0] != "Date":
            raise RatesFileError("not the ECB reference rate history: the first column must be 'Date' "
                                 f"(got {header[:1]})", source=source, line=1)
        currency: dict[int, str] = {}
        blank: list[int] = []  # the empty column a trailing comma makes
        for k, name in enumerate(header[1:], 1):
            if name == "":
                blank.append(k)
            elif name in currency.values() or name == "EUR":
                raise RatesFileError("a second column of this currency" if name != "EUR" else "EUR is the base",
                                     source=source, line=1, column=name)
            elif name not in CURRENCY_EXPONENTS:
                report.skipped[name] = NOT_ISO
            else:
                currency[k] = name
        days: set[_dt.date] = set()
        for line, row in _rows(reader, len(header), source):
            day = _iso_day(row[0], source, line, "Date")
            if day in days:
                raise RatesFileError(f"a second row for {day}", source=source, line=line, column="Date")
            days.add(day)
            report.rows += 1
            for k, name in enumerate(header[1:], 1):
                cell = row[k].strip()
                if k in blank:
                    if cell:
                        raise RatesFileError(f"a value under no currency (got {cell!r})", source=source, line=line)
                elif cell == "N/A":
                    report.not_available[name] += 1
                elif k not in currency:
                    _rate(cell, source, line, name)  # read even where not loaded: a malformed file is an error
                    report.skipped_values[name] += 1
                else:
                    periods.append((name, day, day, _rate(cell, source, line, name)))
                    report.loaded(day, day)
    return DatedRates(periods, "EUR", quote="foreign_per_base", rule=rule, max_gap=max_gap,
                      source=f"ECB reference rates {os.path.basename(source)}", report=report)


_HMRC_HEADER = {"currency code": "currency", "currency units per £1": "rate", "start date": "start",
                "end date": "end"}


def _hmrc_day(text: str, source: str, line: int, column: str) -> _dt.date:
    """A day as the HMRC files write it: YYYY-MM-DD (trade-tariff service) or DD/MM/YYYY (gov.uk)."""
    m = _UK_DAY.fullmatch(text.strip())
    if m is None:
        return _iso_day(text, source, line, column)
    try:
        return _dt.date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
    except ValueError:
        raise RatesFileError(f"not a date DD/MM/YYYY (got {text!r})", source=source, line=line,
                             column=column) from None


def load_hmrc(paths: Path | Sequence[Path], *, rule: str = "uk-monthly", max_gap: int = MAX_GAP_DAYS) -> DatedRates:
    """HMRC's monthly exchange rates (one CSV per month; give each): GBP base, currency units per
    £1, each valid from its start date to its end date.  A currency listed for several territories
    with the same rate is one rate (``report.duplicates``); with different rates, an error."""
    files = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    report = RatesReport(", ".join(os.fspath(p) for p in files))
    seen: dict[tuple[str, _dt.date, _dt.date], tuple[Decimal, str, int]] = {}
    for path in files:
        source = os.fspath(path)
        with _open(path) as f:
            reader = csv.reader(f)
            header = next(reader, [])
            where = {_HMRC_HEADER[h.strip().lower()]: k for k, h in enumerate(header)
                     if h.strip().lower() in _HMRC_HEADER}
            if len(where) != len(_HMRC_HEADER):
                absent = [h for h, key in _HMRC_HEADER.items() if key not in where]
                raise RatesFileError(f"not an HMRC monthly rates file: no column {absent} (header {header})",
                                     source=source, line=1)
            names = {key: header[k].strip() for key, k in where.items()}
            for line, row in _rows(reader, len(header), source):
                report.rows += 1
                cur = row[where["currency"]].strip()
                start = _hmrc_day(row[where["start"]], source, line, names["start"])
                end = _hmrc_day(row[where["end"]], source, line, names["end"])
                rate = _rate(row[where["rate"]], source, line, names["rate"])
                if cur not in CURRENCY_EXPONENTS:
                    report.skipped[cur] = NOT_ISO
                    report.skipped_values[cur] += 1
                    continue
                key = (cur, start, end)
                if key in seen:
                    if seen[key][0] != rate:
                        raise RatesFileError(f"{cur} rate {rate} where {seen[key][1]} line {seen[key][2]} has "
                                             f"{seen[key][0]} for the same period", source=source, line=line,
                                             column=names["rate"])
                    report.duplicates += 1
                    continue
                seen[key] = (rate, source, line)
                report.loaded(start, end)
    periods = [(cur, start, end, rate) for (cur, start, end), (rate, _, _) in seen.items()]
    return DatedRates(periods, "GBP", quote="foreign_per_base", rule=rule, max_gap=max_gap,
                      source="HMRC monthly exchange rates", report=report)


def _boc_currency(series: str, source: str, line: int | None) -> str:
    m = _BOC_SERIES.fullmatch(series)
    if m is None or m.group(1) == "CAD":
        raise RatesFileError("not a Bank of Canada exchange-rate series FX<CUR>CAD", source=source, line=line,
                             column=series)
    return m.group(1)


def load_boc(path: Path, *, rule: str = "daily", max_gap: int = MAX_GAP_DAYS) -> DatedRates:
    """Bank of Canada daily exchange rates from the Valet API, CSV or JSON (by content): CAD base,
    Canadian dollars per 1 unit of each series' currency, each rate valid on its day; an empty
    cell (no observation that day) is counted in ``report.not_available``."""
    source = os.fspath(path)
    report = RatesReport(source)
    periods: list[tuple[str, _dt.date, _dt.date, Decimal]] = []

    def add(series: str, day: _dt.date, text: str | None, line: int | None, column: str) -> None:
        cur = _boc_currency(series, source, line)
        if text is None or text.strip() == "":
            report.not_available[cur] += 1
            return
        rate = _rate(text, source, line, column)
        if cur not in CURRENCY_EXPONENTS:
            report.skipped[cur] = NOT_ISO
            report.skipped_values[cur] += 1
            return
        periods.append((cur, day, day, rate))
        report.loaded(day, day)

    with _open(path) as f:
        text = f.read()
    if text.lstrip().startswith("{"):
        try:  # numbers kept as the text written: never a float
            data = json.loads(text, parse_float=str, parse_int=str)
        except json.JSONDecodeError as exc:
            raise RatesFileError(f"not JSON: {exc.msg}", source=source, line=exc.lineno) from None
        observations = data.get("observations") if isinstance(data, dict) else None
        if not isinstance(observations, list):
            raise RatesFileError("not a Valet observations document: no 'observations' list", source=source)
        for k, obs in enumerate(observations):
            where = f"observations[{k}]"
            if not isinstance(obs, dict) or not isinstance(obs.get("d"), str):
                raise RatesFileError(f"{where} has no date 'd'", source=source)
            day = _iso_day(obs["d"], source, None, f"{where}.d")
            report.rows += 1
            for series, cell in obs.items():
                if series == "d":
                    continue
                value = cell.get("v") if isinstance(cell, dict) else None
                if not isinstance(cell, dict) or not isinstance(value, (str, type(None))):
                    raise RatesFileError(f"{where}: not an observation {{'v': rate}} (got {cell!r})", source=source,
                                         column=series)
                add(series, day, value, None, f"{where}.{series}")
    else:
        lines = text.splitlines()
        starts = [k for k, ln in enumerate(lines) if ln.strip().strip('"') == "OBSERVATIONS"]
        if len(starts) != 1:
            raise RatesFileError("not a Valet observations CSV: no \"OBSERVATIONS\" section", source=source)
        offset = starts[0] + 1  # lines before the section
        reader = csv.reader(lines[offset:])
        header = [h.strip() for h in next(reader, [])]
        if not header or header[0] != "date":
            raise RatesFileError(f"the observations must start with a 'date' column (got {header[:1]})",
                                 source=source, line=offset + 1)
        for series in header[1:]:
            _boc_currency(series, source, offset + 1)
        for line, row in _rows(reader, len(header), source):
            day = _iso_day(row[0], source, offset + line, "date")
            report.rows += 1
            for series, cell in zip(header[1:], row[1:]):
                add(series, day, cell, offset + line, series)
    return DatedRates(periods, "CAD", quote="base_per_foreign", rule=rule, max_gap=max_gap,
                      source=f"Bank of Canada {os.path.basename(source)}", report=report)


CSV_COLUMNS = ("currency", "valid_from", "valid_to", "rate")


def load_csv(path: Path, *, base: str, quote: str = "foreign_per_base", rule: str = "daily",
             max_gap: int = MAX_GAP_DAYS) -> DatedRates:
    """A rates table of your own: columns ``currency,valid_from,valid_to,rate`` (in that order), ISO
    dates with both days included, rates in the quotation named (``quote``) into ``base``."""
    source = os.fspath(path)
    report = RatesReport(source)
    periods: list[tuple[str, _dt.date, _dt.date, Decimal]] = []
    with _open(path) as f:
        reader = csv.reader(f)
        header = tuple(h.strip() for h in next(reader, []))
        if header != CSV_COLUMNS:
            raise RatesFileError(f"the header must be {','.join(CSV_COLUMNS)} (got {','.join(header)})",
                                 source=source, line=1)
        for line, (cur, start, end, rate) in _rows(reader, len(header), source):
            report.rows += 1
            if cur.strip() not in CURRENCY_EXPONENTS:
                raise RatesFileError(f"not an ISO 4217 currency code (got {cur!r})", source=source, line=line,
                                     column="currency")
            row = (cur.strip(), _iso_day(start, source, line, "valid_from"), _iso_day(end, source, line, "valid_to"),
                   _rate(rate, source, line, "rate"))
            periods.append(row)
            report.loaded(row[1], row[2])
    return DatedRates(periods, base, quote=quote, rule=rule, max_gap=max_gap,
                      source=f"rates table {os.path.basename(source)}", report=report)


#: the loaders by the name the command line gives (--rates-format)
LOADERS: dict[str, Callable[..., DatedRates]] = {"ecb": load_ecb, "hmrc": load_hmrc, "boc": load_boc,
                                                 "csv": load_csv}
