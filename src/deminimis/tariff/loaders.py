"""Loaders for official tariff exports: the USITC HTS CSV and the UK Global Tariff CSV.

Each builds a tariff with the constructor it is given (``Tariff.from_usitc_csv`` passes
``Tariff``: this module does not import the model, so that the model can offer its loaders)
and sets its ``report`` (a LoadReport), which says how many rows and rates were read, how
many are evaluable, and, by reason, which could not be evaluated and
their codes.  No row is dropped silently: a rate that does not parse is kept as
CannotAssess (and listed under ``syntax_errors``), a row without a code is counted.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol, TypeVar

from ..errors import TariffError, TariffSyntaxError
from .expr import CannotAssess, ParsedExpr, Specific, linear_terms
from .parse import parse, split_special
from .report import R_UNPARSED, LoadReport, unevaluable_reason


class TariffBuilder(Protocol):
    """What a loader needs of the tariff it fills (deminimis.tariff.Tariff is one)."""

    report: LoadReport | None

    def add(self, code: str, duty: Any, *, kind: str = ..., origins: Any = ..., program: str = ...,
            valid_from: Any = ..., valid_to: Any = ..., source: str = ..., text: str | None = ...) -> Any: ...

    def set_line(self, code: str, *, units: Sequence[str] | None = ..., description: str | None = ...) -> None: ...


T = TypeVar("T", bound=TariffBuilder)


@dataclass(frozen=True)
class Program:
    """A US special tariff program (HTSUS General Note 3(c)(i)) and the origins it covers by default."""

    symbol: str
    name: str
    origins: tuple[str, ...]  # (): not mapped to origins by default (see note)
    note: str = ""


_CAFTA_DR = ("CR", "DO", "GT", "HN", "NI", "SV")
_USMCA = ("CA", "MX")

#: Program symbols of the HTS "Special" column.  Only programs that are in force and tied to
#: named origins are mapped by default; the others are kept in the report, and a caller who
#: knows better passes ``programs=`` (e.g. a GSP renewal, or a verified CBERA list).
US_PROGRAMS: dict[str, Program] = {p.symbol: p for p in [
    Program("AU", "United States-Australia FTA", ("AU",)),
    Program("BH", "United States-Bahrain FTA", ("BH",)),
    Program("CL", "United States-Chile FTA", ("CL",)),
    Program("CO", "United States-Colombia TPA", ("CO",)),
    Program("IL", "United States-Israel FTA", ("IL",)),
    Program("JO", "United States-Jordan FTA", ("JO",)),
    Program("JP", "United States-Japan Trade Agreement", ("JP",)),
    Program("KR", "United States-Korea FTA", ("KR",)),
    Program("MA", "United States-Morocco FTA", ("MA",)),
    Program("OM", "United States-Oman FTA", ("OM",)),
    Program("PA", "United States-Panama TPA", ("PA",)),
    Program("PE", "United States-Peru TPA", ("PE",)),
    Program("SG", "United States-Singapore FTA", ("SG",)),
    Program("P", "CAFTA-DR", _CAFTA_DR),
    Program("P+", "CAFTA-DR (goods under specific rules)", _CAFTA_DR),
    Program("S", "USMCA", _USMCA),
    Program("S+", "USMCA (goods under specific rules)", _USMCA),
    Program("CA", "NAFTA symbol for Canada (still printed on some chapter 99 lines)", ("CA",)),
    Program("MX", "NAFTA symbol for Mexico (still printed on some chapter 99 lines)", ("MX",)),
    Program("A", "Generalized System of Preferences", (), "GSP authorization lapsed on 31 Dec 2020"),
    Program("A+", "GSP, least-developed beneficiaries only", (), "GSP lapsed on 31 Dec 2020"),
    Program("A*", "GSP, certain beneficiaries excluded", (), "GSP lapsed on 31 Dec 2020"),
    Program("D", "African Growth and Opportunity Act", (), "authorization lapsed on 30 Sep 2025; not verified"),
    Program("E", "Caribbean Basin Economic Recovery Act", (), "beneficiary list (General Note 7) not encoded"),
    Program("E*", "CBERA, certain beneficiaries excluded", (), "beneficiary list not encoded"),
    Program("R", "Caribbean Basin Trade Partnership Act", (), "beneficiary list and expiry not verified"),
    Program("J", "Andean Trade Preference Act", (), "expired in 2013"),
    Program("J*", "Andean Trade Preference Act (certain goods)", (), "expired in 2013"),
    Program("NP", "Nepal Preference Program", (), "authorized through 31 Dec 2025"),
    Program("B", "Automotive Products Trade Act", (), "end-use program, not origin-based"),
    Program("C", "Agreement on Trade in Civil Aircraft", (), "end-use program, not origin-based"),
    Program("K", "Agreement on Trade in Pharmaceutical Products", (), "product-based, any origin; needs a claim"),
    Program("L", "Uruguay Round concessions on intermediate chemicals for dyes", (), "product-based, any origin"),
]}

#: origins that pay the HTS column 2 rates: Cuba, North Korea (General Note 3(b)) and, since the
#: Suspending Normal Trade Relations with Russia and Belarus Act (Pub. L. 117-110, 2022), RU and BY.
US_COLUMN2_ORIGINS = ("BY", "CU", "KP", "RU")


def us_programs() -> dict[str, tuple[str, ...]]:
    """The default program -> origins mapping (a copy to edit and pass as ``programs=``)."""
    return {s: p.origins for s, p in US_PROGRAMS.items() if p.origins}


def _reason(expr: ParsedExpr, currency: str) -> str | None:
    r = unevaluable_reason(expr)
    if r is None:
        for term in _terms(expr):
            if isinstance(term, Specific) and term.currency != currency:
                return f"a specific amount in {term.currency}, not the tariff's currency {currency}"
    return r


def _terms(expr: Any) -> Iterable[Any]:
    from .expr import Applicable, Bounded, Seasonal
    if isinstance(expr, Seasonal):
        for e, _ in expr.alternatives:
            yield from _terms(e)
    elif isinstance(expr, Applicable):
        if expr.plus is not None:
            yield from _terms(expr.plus)
    elif isinstance(expr, Bounded):
        for p in (expr.main, expr.minimum, expr.maximum, expr.less):
            if p is not None:
                yield from linear_terms(p)
    else:
        try:
            yield from linear_terms(expr)
        except TypeError:
            return


_REASONS: dict[tuple[int, str], tuple[ParsedExpr, str | None]] = {}


def _parse_cell(text: str, code: str, column: str, report: LoadReport, currency: str) -> ParsedExpr:
    try:
        expr = parse(text)
    except TariffSyntaxError as exc:
        report.syntax_errors.append((code, column, text, str(exc)))
        expr = CannotAssess(f"{R_UNPARSED}: {exc.args[0]}".replace("]", ")"), text.strip())
    key = (id(expr), currency)
    hit = _REASONS.get(key)
    if hit is None or hit[0] is not expr:  # parse() returns one object per distinct string: cache by identity
        if len(_REASONS) > 1 << 16:
            _REASONS.clear()
        hit = _REASONS[key] = (expr, _reason(expr, currency))
    report.add(code, hit[1], column)
    return expr


def _add(t: TariffBuilder, report: LoadReport, code: str, expr: ParsedExpr, text: str, **kw: Any) -> None:
    try:
        t.add(code, expr, text=text.strip(), **kw)
    except TariffError as exc:  # e.g. a program listed twice on one line: keep the first, say so
        report.notes[f"measure not added: {exc}"] += 1


def load_usitc_csv(path: str, make: Callable[..., T], *, programs: Mapping[str, Iterable[str]] | None = None,
                   column2_origins: Iterable[str] = US_COLUMN2_ORIGINS, valid_from: Any = None,
                   valid_to: Any = None, name: str | None = None, cite: str | None = None) -> T:
    """Load the USITC HTS CSV export (columns ``HTS Number``, ``Unit of Quantity``,
    ``General Rate of Duty``, ``Special Rate of Duty``, ``Column 2 Rate of Duty``,
    ``Additional Duties``...).

    - General -> ``base`` measures; ten-digit lines without a rate inherit their parent's by lookup.
    - Special -> ``origin`` measures: each ``rate (SYMBOLS)`` segment applies to the origins of its
      programs (``programs``: symbol -> origins; default ``us_programs()``, the FTA programs in
      force); segments of unmapped programs are counted in ``report.notes``.  A segment without a
      program list (chapter 99 lines) applies to every mapped origin.
    - Column 2 -> ``origin`` measures for ``column2_origins`` (CU, KP, RU, BY).
    - Additional Duties (chapter 99 lines) -> ``additional`` measures for every origin.
    - Unit of Quantity -> the line's units; Description -> the line's description, prefixed by
      its parents' (``Of cotton`` under ``T-shirts, singlets...``).  Rates are in US dollars.
    - ``cite``: when given, every measure's source is ``"{cite}, {column}"`` (the built-in samples).
    """
    mapping = {k: tuple(v) for k, v in (us_programs() if programs is None else programs).items()}
    every_mapped = sorted({o for v in mapping.values() for o in v})
    col2 = tuple(sorted(column2_origins))
    t = make(name=name or f"USITC HTS CSV {os.path.basename(path)}")
    report = LoadReport(source=os.path.basename(path))
    dates = {"valid_from": valid_from, "valid_to": valid_to}
    parents: list[str] = []  # descriptions of the open indent levels
    src = (lambda col: f"{cite}, {col}") if cite else (lambda col: "")
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        need = {"HTS Number", "General Rate of Duty", "Special Rate of Duty", "Column 2 Rate of Duty"}
        missing = need - set(reader.fieldnames or ())
        if missing:
            raise TariffError(f"{path}: not a USITC HTS CSV export (missing columns {sorted(missing)})")
        for row in reader:
            report.rows += 1
            code = "".join(ch for ch in (row.get("HTS Number") or "") if ch.isdigit())
            desc = " ".join((row.get("Description") or "").split())
            try:
                indent = int(row.get("Indent") or 0)
            except ValueError:
                indent = len(parents)
            del parents[indent:]
            full = " ".join(p for p in parents + [desc] if p)
            parents.extend([""] * (indent - len(parents)))
            parents.append(desc)
            cells = {k: (row.get(k) or "").strip() for k in ("General Rate of Duty", "Special Rate of Duty",
                                                              "Column 2 Rate of Duty", "Additional Duties")}
            if not code:
                if any(cells.values()):
                    report.notes["rates on a row without an HTS number (not attached)"] += 1
                else:
                    report.notes["heading rows without an HTS number (descriptions only)"] += 1
                continue
            report.lines += 1
            units = _units(row.get("Unit of Quantity") or "")
            t.set_line(code, units=units, description=full or None)
            general = cells["General Rate of Duty"]
            if general:
                _add(t, report, code, _parse_cell(general, code, "general", report, "USD"), general,
                     source=src("General Rate of Duty"), **dates)
            special = cells["Special Rate of Duty"]
            if special:
                try:
                    segments = split_special(special)
                except TariffSyntaxError as exc:
                    report.syntax_errors.append((code, "special", special, str(exc)))
                    report.add(code, R_UNPARSED, "special")
                    segments = []
                for seg, syms in segments:
                    expr = _parse_cell(seg, code, "special", report, "USD")
                    origins: set[str] = set()
                    for s in syms or ("*",):
                        if s == "*":
                            origins.update(every_mapped)
                        elif s in mapping:
                            origins.update(mapping[s])
                        else:
                            report.notes[f"special rate of program {s} not applied (not mapped to origins)"] += 1
                    if origins:
                        _add(t, report, code, expr, seg, kind="origin", origins=tuple(sorted(origins)),
                             program=",".join(syms) if syms else "special", source=src("Special Rate of Duty"), **dates)
            column2 = cells["Column 2 Rate of Duty"]
            if column2:
                expr = _parse_cell(column2, code, "column 2", report, "USD")
                if col2:
                    _add(t, report, code, expr, column2, kind="origin", origins=col2, program="column 2",
                         source=src("Column 2 Rate of Duty"), **dates)
            additional = cells["Additional Duties"]
            if additional:
                expr = _parse_cell(additional, code, "additional", report, "USD")
                _add(t, report, code, expr, additional, kind="additional", source=src("Additional Duties"), **dates)
    t.report = report
    return t


@lru_cache(maxsize=4096)
def _units(cell: str) -> tuple[str, ...]:
    return tuple(_units_uncached(cell))


def _units_uncached(cell: str) -> list[str]:
    cell = cell.strip()
    if not cell:
        return []
    try:
        vals = json.loads(cell)
    except ValueError:
        vals = [cell]
    return [str(v).strip() for v in (vals if isinstance(vals, list) else [vals]) if str(v).strip()]


UK_COLUMNS = {"ukgt": ("ukgt_duty_rate", "GBP"), "cet": ("cet_duty_rate", "EUR")}


def load_uk_global_tariff_csv(path: str, make: Callable[..., T], *, column: str = "ukgt", valid_from: Any = None,
                              valid_to: Any = None, name: str | None = None, cite: str | None = None) -> T:
    """Load the UK Global Tariff CSV (uktrade/global-uk-tariff: ``commodity``, ``description``,
    ``cet_duty_rate``, ``ukgt_duty_rate``, ...).

    ``column="ukgt"``: the UK Global Tariff in GBP; ``column="cet"``: the EU Common External
    Tariff 2020 printed beside it, in EUR.  8- and 10-digit codes; every rate is a ``base``
    measure.  The flags ``trade_remedy_applies``, ``suspension_applies`` and ``atq_applies`` are
    not modelled: their counts are in ``report.notes``.  ``cite``: every measure's source.
    """
    key = column.lower().replace("_duty_rate", "")
    if key not in UK_COLUMNS:
        raise TariffError(f"column must be one of {sorted(UK_COLUMNS)}, got {column!r}")
    col, currency = UK_COLUMNS[key]
    t = make(name=name or f"UK Global Tariff CSV {os.path.basename(path)} ({col})")
    report = LoadReport(source=f"{os.path.basename(path)} ({col})")
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        if not {"commodity", col} <= set(reader.fieldnames or ()):
            raise TariffError(f"{path}: not a UK Global Tariff CSV (needs columns commodity and {col})")
        for row in reader:
            report.rows += 1
            code = (row.get("commodity") or "").strip()
            rate = (row.get(col) or "").strip()
            if not code.isdigit():
                report.notes["rows without a commodity code (not attached)"] += 1
                continue
            report.lines += 1
            t.set_line(code, description=(row.get("description") or "").strip() or None)
            for flag in ("trade_remedy_applies", "suspension_applies", "atq_applies"):
                if (row.get(flag) or "").strip().lower() == "true":
                    report.notes[f"{flag} (not modelled)"] += 1
            if not rate:
                report.notes["lines without a rate (inherit by lookup)"] += 1
                continue
            _add(t, report, code, _parse_cell(rate, code, col, report, currency), rate,
                 valid_from=valid_from, valid_to=valid_to, source=cite or "")
    t.report = report
    return t


__all__ = ["Program", "TariffBuilder", "UK_COLUMNS", "US_COLUMN2_ORIGINS", "US_PROGRAMS", "load_uk_global_tariff_csv",
           "load_usitc_csv", "us_programs"]
