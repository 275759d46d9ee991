"""The Tariff model: code -> measures (base, by origin, additional), resolved at lookup.

A tariff line is a code (2 to 10 digits) with measures:

- ``base``: the duty for goods of any origin (the third-country / MFN / "General" rate);
- ``origin``: a duty for goods of listed origins that replaces the base (a preference under a
  program such as an FTA, or a column 2 / retaliatory rate);
- ``additional``: a duty that stacks on top of the resolved rate for goods of listed origins
  (or of every origin): trade remedies, US chapter 99 measures.

Each measure may carry validity dates (``valid_from`` inclusive, ``valid_to`` exclusive),
a program name and a source.  A line may also carry its units of quantity and a description.

``lookup(code, origin, on=date)`` returns a tree of the five core node types only (see
expr.py): seasonal rates are picked by the date, "the duty provided in the applicable
subheading + X" contributes X, additional measures are summed onto the rate (into each of
MIN/MAX's clauses, which is exact), and anything that cannot be resolved becomes
CannotAssess with the reason, never zero.  The engine calls it once per distinct
(code, origin); ``resolve`` does the same for whole columns.

Lookup order for an item code (e.g. ``6109100010``):

1. the longest prefix (10, 9, ... 2 digits) that has an ``origin`` measure in force for the
   item's origin; else the longest prefix with a ``base`` measure in force.  Several origin
   measures at that line (several programs) give the lower duty when one is lower on every
   item (or the lesser of two, exactly, as MIN/MAX); otherwise CannotAssess;
2. if no prefix has a rate (an item code shorter than the tariff's lines, e.g. a 6-digit
   code against 8-digit lines), the lines under the code: when they all give the same duty,
   that duty; otherwise CannotAssess ("declare more digits");
3. every ``additional`` measure in force for the origin on any prefix of the code stacks.

A code of step 2 whose lines differ is *ambiguous*; ``lookup(..., ambiguous="highest")`` gives the
highest of their duties instead when one exists without the item (``algebra.greater_of``), and
``covered`` lists those lines.  ``hs_edition`` ("2017", "2022" or None) names the HS edition of the
tariff's codes: the item codes assessed against it are checked against that nomenclature
(nomenclature.py).
"""

from __future__ import annotations

import bisect
import datetime as _dt
import hashlib
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from ..errors import TariffError, TariffSyntaxError
from .algebra import greater_of, lesser_of, stack
from .expr import (
    FREE,
    AdValorem,
    Applicable,
    Bounded,
    CannotAssess,
    Compound,
    Expr,
    HeadingRef,
    NoChange,
    ParsedExpr,
    Seasonal,
    Specific,
)
from .loaders import load_uk_global_tariff_csv, load_usitc_csv
from .loaders_uk_api import load_uk_trade_tariff_json
from .nomenclature import check_edition
from .parse import parse
from .report import (
    R_AMBIGUOUS,
    R_APPLICABLE_ALONE,
    R_HEADING,
    R_NO_BASE,
    R_NO_SEASON,
    R_SEASON_NEEDS_DATE,
    R_SEVERAL_DATED,
    R_SEVERAL_RATES,
    R_UNPARSED,
    LoadReport,
    unevaluable_reason,
)

MEASURE_KINDS = ("base", "origin", "additional")
#: what an assessment does with an ambiguous code (docs/semantics.md, section 5)
AMBIGUOUS_MODES = ("flag", "refuse", "highest")
RECORD_KEYS = ("code", "duty", "measure", "origin", "origins", "program", "valid_from", "valid_to", "units",
               "description", "source")



def _check_code(code: Any) -> str:
    if isinstance(code, str) and 2 <= len(code) <= 10 and code.isascii() and code.isdigit():
        return code
    if isinstance(code, str):
        code = code.replace(".", "").strip()
    if not isinstance(code, str) or not code.isdigit() or not 2 <= len(code) <= 10 or not code.isascii():
        raise TariffError(f"a tariff code must be a string of 2 to 10 digits, got {code!r}")
    return code


_ORIGIN = re.compile(r"[A-Z]{2}")


def _origins(value: Any) -> frozenset[str] | None:
    if isinstance(value, (str, tuple)):
        return _origins_of(value)
    return _origins_uncached(value)


@lru_cache(maxsize=4096)
def _origins_of(value: str | tuple[str, ...]) -> frozenset[str] | None:
    return _origins_uncached(value)


def _origins_uncached(value: Any) -> frozenset[str] | None:
    if value is None or value == "" or (isinstance(value, (list, tuple, set, frozenset)) and not value):
        return None
    items = re.split(r"[\s,;|]+", value.strip()) if isinstance(value, str) else list(value)
    out = frozenset(o for o in items if o)
    bad = [o for o in out if not isinstance(o, str) or not _ORIGIN.fullmatch(o)]
    if bad:
        raise TariffError(f"an origin must be an ISO 3166 alpha-2 code, got {sorted(map(str, bad))}")
    return out or None


def _date(value: Any, what: str) -> _dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, _dt.datetime):
        return value.date()
    if isinstance(value, _dt.date):
        return value
    try:
        return _dt.date.fromisoformat(str(value).strip()[:10])
    except ValueError:
        raise TariffError(f"{what} must be an ISO date (YYYY-MM-DD), got {value!r}") from None


@dataclass(frozen=True)
class Measure:
    """One duty measure of a tariff line."""

    code: str
    expr: ParsedExpr
    text: str
    kind: str = "base"
    origins: frozenset[str] | None = None   # None: every origin
    program: str = ""
    valid_from: _dt.date | None = None
    valid_to: _dt.date | None = None        # exclusive
    source: str = ""

    def in_force(self, on: _dt.date | None) -> bool:
        if on is None:
            return True
        return (self.valid_from is None or self.valid_from <= on) and (self.valid_to is None or on < self.valid_to)

    def applies_to(self, origin: str) -> bool:
        return self.origins is None or origin in self.origins

    def record(self) -> dict[str, str]:
        r = {"code": self.code, "duty": self.text}
        default = "origin" if self.origins is not None else "base"
        if self.kind != default:
            r["measure"] = self.kind
        if self.origins is not None:
            r["origin"] = " ".join(sorted(self.origins))
        if self.program:
            r["program"] = self.program
        if self.valid_from:
            r["valid_from"] = self.valid_from.isoformat()
        if self.valid_to:
            r["valid_to"] = self.valid_to.isoformat()
        if self.source:
            r["source"] = self.source
        return r


class _Index:
    """Measures by kind for lookup; rebuilt after any change to the tariff."""

    def __init__(self) -> None:
        self.base: dict[str, list[Measure]] = {}
        self.by_origin: dict[str, dict[str, list[Measure]]] = {}
        self.additional: dict[str, list[Measure]] = {}
        self.rated: list[str] = []
        self.origins: set[str] = set()
        self.origin_lengths: set[int] = set()
        self.add_lengths: set[int] = set()
        self.add_origins: set[str] = set()
        self.origin_lengths_desc: list[int] = []
        self.add_lengths_desc: list[int] = []


class Resolution:
    """Codes (and origins) of a batch resolved once per distinct pair: ``exprs[index[i]]`` is item i's."""

    def __init__(self, exprs: list[Expr], index: Any, lines: list[str | None], missing: Any) -> None:
        self.exprs = exprs          # distinct expressions
        self.index = index          # int32 per item, into exprs (-1: no tariff line)
        self.lines = lines          # matched line per distinct expression's first pair (for display)
        self.missing = missing      # bool per item: no tariff line covers the code

    def __len__(self) -> int:
        return len(self.index)


class Tariff:
    """Duty measures by tariff code; see the module docstring for the lookup rules.

    Build with ``from_records``, ``from_csv``, ``from_parquet``, ``from_usitc_csv``,
    ``from_uk_global_tariff_csv`` or ``add``; ``to_records`` round-trips.
    """

    def __init__(self, lines: Mapping[str, Any] | None = None,
                 by_origin: Mapping[tuple[str, str], Any] | None = None,
                 texts: Mapping[tuple[str, str], str] | None = None, name: str = "",
                 hs_edition: str | None = None) -> None:
        self.name = name
        self.report: LoadReport | None = None
        self._hs_edition = _edition(hs_edition)
        self._measures: dict[str, list[Measure]] = {}
        self._units: dict[str, tuple[str, ...]] = {}
        self._descriptions: dict[str, str] = {}
        self._clear()
        texts = texts or {}
        for code, e in (lines or {}).items():
            self.add(code, e, text=texts.get((code, "")))
        for (code, o), e in (by_origin or {}).items():
            self.add(code, e, kind="origin", origins=[o], text=texts.get((code, o)))

    # ---------------------------------------------------------- building

    def _clear(self) -> None:
        if getattr(self, "_pristine", False):
            return  # nothing cached since the last change
        self._pristine = True
        self._cache: dict[tuple[str, str, _dt.date | None], tuple[Expr, str] | None] = {}
        self._highest: dict[tuple[str, str, _dt.date | None], tuple[Expr, str]] = {}
        self._base_memo: dict[tuple[str, _dt.date | None], tuple[Expr, str] | None] = {}
        self._index: _Index | None = None
        self._hash: str | None = None
        self._lines_view: dict[str, ParsedExpr] | None = None

    def add(self, code: str, duty: Any, *, kind: str = "", origins: Any = None, program: str = "",
            valid_from: Any = None, valid_to: Any = None, source: str = "", text: str | None = None) -> Measure:
        """Add one measure; ``duty`` is a rate string (parsed) or an expression tree."""
        code = _check_code(code)
        orig = _origins(origins)
        kind = kind or ("origin" if orig is not None else "base")
        if kind == "preference":
            kind = "origin"
        if kind not in MEASURE_KINDS:
            raise TariffError(f"measure must be one of {MEASURE_KINDS}, got {kind!r}")
        if kind == "origin" and orig is None:
            raise TariffError(f"an 'origin' measure of code {code} needs origins")
        if kind == "base" and orig is not None:
            raise TariffError(f"a 'base' measure of code {code} applies to every origin; use measure 'origin'")
        expr = parse(duty) if isinstance(duty, str) else duty
        if not isinstance(expr, (AdValorem, Specific, Compound, Bounded, CannotAssess, Seasonal, Applicable,
                                 NoChange, HeadingRef)):
            raise TariffError(f"code {code}: duty must be a rate string or an expression tree, got {duty!r}")
        m = Measure(code, expr, text if text is not None else (duty if isinstance(duty, str) else str(expr)),
                    kind, orig, program or "", _date(valid_from, "valid_from"), _date(valid_to, "valid_to"),
                    source or "")
        if m.valid_from and m.valid_to and m.valid_to <= m.valid_from:
            raise TariffError(f"code {code}: valid_to must be after valid_from")
        for other in self._measures.get(code, ()) if kind != "additional" else ():  # additional duties stack
            if (other.kind, other.origins, other.program) == (m.kind, m.origins, m.program) and _overlap(other, m):
                who = "" if m.origins is None else f" for origins {' '.join(sorted(m.origins))}"
                raise TariffError(f"code {code} has two {m.kind} measures{who} in force at the same time")
        self._measures.setdefault(code, []).append(m)
        self._clear()
        return m

    def set_line(self, code: str, *, units: Sequence[str] | None = None, description: str | None = None) -> None:
        """Record a line's units of quantity and description (a line may have no rate of its own)."""
        code = _check_code(code)
        if units:
            self._units[code] = tuple(units)
        if description:
            self._descriptions[code] = description
        self._clear()

    @classmethod
    def from_records(cls, records: Iterable[Mapping[str, Any]], *, name: str = "",
                     errors: str = "raise") -> Tariff:
        """Build from records of our schema (see docs/tariffs.md).

        ``{"code": "6109", "duty": "12%"}``; optional keys: ``origin``/``origins`` (one code, a list,
        or codes separated by spaces or commas), ``measure`` (base, origin, additional),
        ``program``, ``valid_from``, ``valid_to``, ``units`` (a list or ``;``-separated), ``description``,
        ``source``.  ``duty`` may be empty on a record that only gives units or a description.
        ``errors="raise"`` raises TariffSyntaxError naming the record on a rate that does not parse;
        ``errors="cannot_assess"`` keeps it as CannotAssess and counts it in ``tariff.report``.
        """
        if errors not in ("raise", "cannot_assess"):
            raise TariffError("errors must be 'raise' or 'cannot_assess'")
        t = cls(name=name)
        report = LoadReport(source=name)
        for n, rec in enumerate(records):
            report.rows += 1
            unknown = set(rec) - set(RECORD_KEYS)
            if unknown:
                raise TariffError(f"record {n}: unknown keys {sorted(unknown)}")
            if "code" not in rec:
                raise TariffError(f"record {n}: needs 'code'")
            code = _check_code(rec["code"])
            units = rec.get("units")
            if isinstance(units, str):
                units = [u.strip() for u in units.split(";") if u.strip()]
            if units or rec.get("description"):
                t.set_line(code, units=units, description=rec.get("description") or None)
            duty = rec.get("duty")
            if duty is None or (isinstance(duty, str) and not duty.strip()):
                if not (units or rec.get("description")):
                    raise TariffError(f"record {n} (code {code}): needs 'duty'")
                continue
            report.lines += 1
            try:
                expr = parse(duty) if isinstance(duty, str) else duty
            except TariffSyntaxError as exc:
                if errors == "raise":
                    raise TariffSyntaxError(f"record {n} (code {code}): {exc.args[0]}", exc.text,
                                            exc.position) from None
                report.syntax_errors.append((code, "duty", duty, str(exc)))
                expr = CannotAssess(f"{R_UNPARSED}: {exc}".replace("]", ")"), duty)
            report.add(code, unevaluable_reason(expr), "duty")
            origins = rec.get("origins", rec.get("origin"))
            try:
                t.add(code, expr, kind=rec.get("measure") or "", origins=origins, program=rec.get("program") or "",
                      valid_from=rec.get("valid_from"), valid_to=rec.get("valid_to"), source=rec.get("source") or "",
                      text=duty if isinstance(duty, str) else str(expr))
            except TariffError as exc:
                raise TariffError(f"record {n}: {exc}") from None
        t.report = report
        return t

    @classmethod
    def from_csv(cls, path: str, *, name: str = "", errors: str = "raise") -> Tariff:
        """Our own CSV schema (docs/tariffs.md): a header row with ``code``, ``duty`` and optional columns."""
        import csv
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            rows = [{k: v for k, v in r.items() if k in RECORD_KEYS and v not in (None, "")} for r in reader]
        return cls.from_records(rows, name=name or str(path), errors=errors)

    def to_csv(self, path: str) -> None:
        """Write our CSV schema; ``Tariff.from_csv`` reads it back into an equal tariff."""
        import csv
        cols = [k for k in RECORD_KEYS if k != "origins"]
        with open(path, "w", newline="", encoding="utf-8") as f:
            w = csv.DictWriter(f, fieldnames=cols)
            w.writeheader()
            for r in self.to_records():
                w.writerow(r)

    @classmethod
    def from_parquet(cls, path: str, *, name: str = "", errors: str = "raise") -> Tariff:
        """Our schema as a Parquet file (string columns; needs pyarrow)."""
        try:
            import pyarrow.parquet as pq
        except ImportError:  # pragma: no cover
            raise TariffError("reading Parquet needs pyarrow (pip install 'deminimis[frames]')") from None
        table = pq.read_table(path)
        cols = [c for c in table.column_names if c in RECORD_KEYS]
        data = {c: table.column(c).to_pylist() for c in cols}
        rows = [{c: data[c][i] for c in cols if data[c][i] not in (None, "")} for i in range(table.num_rows)]
        return cls.from_records(rows, name=name or str(path), errors=errors)

    def to_parquet(self, path: str) -> None:
        """Write our schema as Parquet (needs pyarrow)."""
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError:  # pragma: no cover
            raise TariffError("writing Parquet needs pyarrow (pip install 'deminimis[frames]')") from None
        recs = self.to_records()
        cols = [k for k in RECORD_KEYS if k != "origins"]
        pq.write_table(pa.table({c: pa.array([r.get(c) for r in recs], type=pa.string()) for c in cols}), path)

    @classmethod
    def from_usitc_csv(cls, path: str, **kwargs: Any) -> Tariff:
        """The USITC HTS CSV export; see ``deminimis.tariff.loaders.load_usitc_csv``."""
        return load_usitc_csv(path, cls, **kwargs)

    @classmethod
    def from_uk_global_tariff_csv(cls, path: str, column: str = "ukgt", **kwargs: Any) -> Tariff:
        """The UK Global Tariff CSV (``column="ukgt"`` GBP, or ``"cet"``: the EU CET 2020 in EUR)."""
        return load_uk_global_tariff_csv(path, cls, column=column, **kwargs)

    @classmethod
    def from_uk_trade_tariff_json(cls, path_or_paths: Any, **kwargs: Any) -> Tariff:
        """Saved UK Trade Tariff API commodity responses; see ``loaders_uk_api.load_uk_trade_tariff_json``."""
        return load_uk_trade_tariff_json(path_or_paths, cls, **kwargs)

    # ---------------------------------------------------------- views

    def measures(self, code: str | None = None) -> list[Measure]:
        """The measures of one line (exact code), or of every line."""
        if code is not None:
            return list(self._measures.get(_check_code(code), ()))
        return [m for c in sorted(self._measures) for m in self._measures[c]]

    @property
    def lines(self) -> dict[str, ParsedExpr]:
        """Code -> base expression as parsed (the first base measure of each line that has one)."""
        if self._lines_view is None:
            view: dict[str, ParsedExpr] = {}
            for c in sorted(self._measures):
                for m in self._measures[c]:
                    if m.kind == "base":
                        view[c] = m.expr
                        break
            self._lines_view = view
            self._pristine = False
        return self._lines_view

    @property
    def by_origin(self) -> dict[tuple[str, str], ParsedExpr]:
        """(code, origin) -> expression of the origin measures, one entry per listed origin."""
        return {(c, o): m.expr for c in sorted(self._measures) for m in self._measures[c]
                if m.kind == "origin" for o in sorted(m.origins or ())}

    @property
    def texts(self) -> dict[tuple[str, str], str]:
        return {(m.code, ""): m.text for m in self.measures() if m.kind == "base"}

    def units(self, code: str) -> tuple[str, ...]:
        """Units of quantity of the line covering the code (longest prefix; else the lines under it, if all agree)."""
        code = _check_code(code)
        for n in range(len(code), 1, -1):
            u = self._units.get(code[:n])
            if u:
                return u
        under = {u for c, u in self._units.items() if c.startswith(code)}
        return under.pop() if len(under) == 1 else ()

    def codes(self) -> list[str]:
        """Every line's code: lines with measures, and lines that only give units or a description."""
        return sorted(set(self._measures) | set(self._units) | set(self._descriptions))

    def description(self, code: str) -> str:
        return self._descriptions.get(_check_code(code), "")

    def __len__(self) -> int:
        return len(self._measures)

    def __iter__(self) -> Iterator[Measure]:
        return iter(self.measures())

    def __repr__(self) -> str:
        return f"Tariff({self.name!r}, {len(self)} lines, {sum(map(len, self._measures.values()))} measures)"

    @property
    def hs_edition(self) -> str | None:
        """The HS edition of the codes ("2017", "2022"), or None: item codes are not checked against it."""
        return self._hs_edition

    @hs_edition.setter
    def hs_edition(self, edition: str | None) -> None:
        self._hs_edition = _edition(edition)
        self._pristine = False
        self._clear()

    # ---------------------------------------------------------- records and hash

    def to_records(self) -> list[dict[str, str]]:
        """Our schema's records, one per measure (plus lines with only units or a description)."""
        out: list[dict[str, str]] = []
        for code in sorted(set(self._measures) | set(self._units) | set(self._descriptions)):
            recs = [m.record() for m in self._measures.get(code, ())] or [{"code": code}]
            if code in self._units:
                recs[0]["units"] = ";".join(self._units[code])
            if code in self._descriptions:
                recs[0]["description"] = self._descriptions[code]
            out.extend(recs)
        return out

    @property
    def content_hash(self) -> str:
        if self._hash is None:
            records: Any = self.to_records()
            if self._hs_edition is not None:  # (a tariff without one keeps the hash it always had)
                records = {"hs_edition": self._hs_edition, "records": records}
            blob = json.dumps(records, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
            self._hash = hashlib.sha256(blob.encode()).hexdigest()
            self._pristine = False
        return self._hash

    # ---------------------------------------------------------- lookup

    def _build_index(self) -> _Index:
        if self._index is None:
            ix = _Index()
            for code, ms in self._measures.items():
                for m in ms:
                    if m.kind == "base":
                        ix.base.setdefault(code, []).append(m)
                    elif m.kind == "origin":
                        for o in m.origins or ():
                            ix.by_origin.setdefault(code, {}).setdefault(o, []).append(m)
                            ix.origins.add(o)
                        ix.origin_lengths.add(len(code))
                    else:
                        ix.additional.setdefault(code, []).append(m)
                        ix.add_lengths.add(len(code))
                        ix.add_origins.update(m.origins or ())
            ix.rated = sorted(set(ix.base) | set(ix.by_origin))
            ix.origin_lengths_desc = sorted(ix.origin_lengths, reverse=True)
            ix.add_lengths_desc = sorted(ix.add_lengths, reverse=True)
            self._index = ix
            self._pristine = False
        return self._index

    def lookup(self, code: str, origin: str | None = None, *, on: _dt.date | None = None,
               ambiguous: str = "flag") -> tuple[Expr, str] | None:
        """The duty expression (core nodes only) for an item code and origin, and the line it came from.

        ``on`` (the assessment date) selects measures in force and seasonal rates; without it,
        validity dates are ignored and a seasonal rate cannot be assessed.  None when no line covers
        the code.  An ambiguous code is CannotAssess ("declare more digits"), or with
        ``ambiguous="highest"`` the highest duty of the lines it covers (``covered``), line: the code.
        """
        if isinstance(on, _dt.datetime):
            on = on.date()
        key = (code, origin or "", on)
        if ambiguous != "flag":
            return self._lookup_ambiguous(key, ambiguous)
        try:
            return self._cache[key]
        except KeyError:
            pass
        ok = isinstance(code, str) and 2 <= len(code) <= 10 and code.isascii() and code.isdigit()
        ix = self._index or self._build_index()
        if origin and origin not in ix.origins and origin not in ix.add_origins:
            found = self.lookup(code, "", on=on)  # no measure names this origin: the same as any origin
        else:
            found = self._lookup(code if ok else _check_code(code), origin or "", on)
        self._cache[key] = found
        self._pristine = False
        return found

    def _lookup_ambiguous(self, key: tuple[str, str, _dt.date | None], ambiguous: str) -> tuple[Expr, str] | None:
        """lookup with ambiguous "refuse" (as "flag": the caller refuses) or "highest"."""
        if ambiguous not in AMBIGUOUS_MODES:
            raise ValueError(f"ambiguous must be one of {AMBIGUOUS_MODES}, got {ambiguous!r}")
        code, origin, on = key
        found = self.lookup(code, origin, on=on)
        if ambiguous == "refuse" or found is None or not is_ambiguous(found[0]):
            return found
        if key not in self._highest:
            lines = self.covered(code, origin, on=on)
            text = ", ".join(f"{line} ({e})" for line, e in lines)
            self._highest[key] = (greater_of([e for _, e in lines], text) if lines else found[0]), code
            self._pristine = False
        return self._highest[key]

    def covered(self, code: str, origin: str | None = None, *,
                on: _dt.date | None = None) -> list[tuple[str, Expr]]:
        """The lines under a code that no line covers (a code shorter than the tariff's), each with its
        duty for the origin on the day, in code order; [] when a line covers the code."""
        code = _check_code(code)
        ix = self._index or self._build_index()
        if self._rate(code, origin or "", on, ix) is not None:
            return []
        out = []
        for c in self._under(code, ix.rated):
            found = self.lookup(c, origin, on=on)
            if found is not None:
                out.append((c, found[0]))
        return out

    def _lookup(self, code: str, origin: str, on: _dt.date | None) -> tuple[Expr, str] | None:
        ix = self._index or self._build_index()
        rate = self._rate(code, origin, on, ix)
        line = rate[1] if rate else None
        if rate is None:
            under = self._under(code, ix.rated)
            if under:
                results = [self.lookup(c, origin, on=on) for c in under]
                exprs = {r[0] for r in results if r is not None}
                if len(exprs) == 1 and all(r is not None for r in results):
                    return results[0]
                return CannotAssess(R_AMBIGUOUS, code), code
        adds: list[Expr] = []
        additional = ix.additional
        for n in ix.add_lengths_desc:
            for m in additional.get(code[:n], ()) if n <= len(code) else ():
                if m.in_force(on) and m.applies_to(origin):
                    e = self._resolve(m.expr, on, additional=True)
                    if e is not None:
                        adds.append(e)
                    line = line or code[:n]
        if rate is None:
            if line is None:
                return None
            return CannotAssess(R_NO_BASE, code), line
        return stack(rate[0], adds), rate[1]

    @staticmethod
    def _under(code: str, rated: list[str]) -> list[str]:
        i = bisect.bisect_left(rated, code)
        out = []
        while i < len(rated) and rated[i].startswith(code):
            if rated[i] != code:
                out.append(rated[i])
            i += 1
        return out

    def _rate(self, code: str, origin: str, on: _dt.date | None, ix: _Index) -> tuple[Expr, str] | None:
        if origin in ix.origins:
            by_origin = ix.by_origin
            for n in ix.origin_lengths_desc:
                d = by_origin.get(code[:n]) if n <= len(code) else None
                if d is None:
                    continue
                ms = d.get(origin)
                if ms and on is not None:
                    ms = [m for m in ms if m.in_force(on)]
                if ms:
                    if len(ms) == 1:
                        return self._resolve(ms[0].expr, on), code[:n]  # type: ignore[return-value]
                    exprs = [self._resolve(m.expr, on) for m in ms]
                    return lesser_of(exprs, " | ".join(m.text for m in ms)), code[:n]  # type: ignore[arg-type]
        key = (code, on)  # the base rate is shared by every origin without a measure of its own
        try:
            return self._base_memo[key]
        except KeyError:
            pass
        found: tuple[Expr, str] | None = None
        base = ix.base
        for n in range(len(code), 1, -1):
            ms = base.get(code[:n])
            if ms and on is not None:
                ms = [m for m in ms if m.in_force(on)]
            if ms:
                if len(ms) == 1:
                    found = self._resolve(ms[0].expr, on), code[:n]  # type: ignore[assignment]
                    break
                exprs = list(dict.fromkeys(self._resolve(m.expr, on) for m in ms))
                if len(exprs) == 1:
                    found = exprs[0], code[:n]  # type: ignore[assignment]
                else:
                    found = CannotAssess(R_SEVERAL_DATED if on is None else R_SEVERAL_RATES,
                                         " | ".join(m.text for m in ms)), code[:n]
                break
        self._base_memo[key] = found
        return found

    def _resolve(self, e: ParsedExpr, on: _dt.date | None, *, additional: bool = False,
                 depth: int = 0) -> Expr | None:
        """A parsed tree -> core nodes (None: an addition of nothing)."""
        if type(e) in _CORE:
            return e  # type: ignore[return-value]
        if isinstance(e, Seasonal):
            if on is None:
                return CannotAssess(R_SEASON_NEEDS_DATE, str(e))
            picked = e.pick(on)
            if picked is None:
                return CannotAssess(R_NO_SEASON, str(e))
            return self._resolve(picked, on, additional=additional, depth=depth)
        if isinstance(e, (Applicable, NoChange)):
            if not additional:
                return CannotAssess(R_APPLICABLE_ALONE, str(e))
            if isinstance(e, Applicable) and e.plus is not None:
                return self._resolve(e.plus, on, additional=True, depth=depth)
            return None
        if isinstance(e, HeadingRef):
            if additional and depth < 4:
                ms = [m for m in self._measures.get(e.code, ()) if m.in_force(on) and m.kind != "origin"]
                adds = [m for m in ms if m.kind == "additional"]
                refs = adds or [m for m in ms if m.kind == "base"]
                if refs and (adds or all(isinstance(m.expr, (Applicable, NoChange, HeadingRef)) for m in refs)):
                    parts = [self._resolve(m.expr, on, additional=True, depth=depth + 1) for m in refs]
                    found = [p for p in parts if p is not None]
                    return stack(found[0], found[1:]) if found else None
            return CannotAssess(R_HEADING, str(e))
        return e

    def resolve(self, codes: Sequence[str] | Any, origins: Sequence[str] | Any = None, *,
                on: _dt.date | None = None) -> Resolution:
        """Resolve a column of codes (and origins) once per distinct pair, vectorised.

        Returns ``Resolution(exprs, index, lines, missing)``: ``exprs[index[i]]`` is item i's
        expression; ``index`` is -1 and ``missing[i]`` True where no line covers the code.
        """
        import numpy as np
        codes_arr = np.asarray(codes)
        n = len(codes_arr)
        if codes_arr.dtype.kind != "U":
            codes_arr = codes_arr.astype(str)
        org_arr = np.full(n, "", dtype="U2") if origins is None else np.asarray(origins)
        if org_arr.dtype.kind != "U":
            org_arr = org_arr.astype(str)
        ckeys, okeys = _code_keys(codes_arr), _origin_keys(org_arr)
        if ckeys is not None and okeys is not None:  # one int64 key per item: factorize once
            pairs, pair_idx = _factorize(ckeys * 1024 + okeys)
            letters = [""] + [chr(64 + i) for i in range(1, 27)]
            names: dict[int, str] = {}
            decoded = []
            for ck, ok in zip((pairs >> 10).tolist(), (pairs & 1023).tolist()):
                code = names.get(ck)
                if code is None:
                    code = names[ck] = str(ck >> 4).zfill(ck & 15)
                decoded.append((code, letters[ok // 27] + letters[ok % 27]))
        else:
            code_names, code_idx = np.unique(codes_arr, return_inverse=True)
            org_names, org_idx = np.unique(org_arr, return_inverse=True)
            k = len(org_names)
            pairs, pair_idx = np.unique(code_idx.reshape(-1).astype(np.int64) * k + org_idx.reshape(-1),
                                        return_inverse=True)
            decoded = [(str(code_names[p // k]), str(org_names[p % k])) for p in pairs.tolist()]
        exprs: list[Expr] = []
        lines: list[str | None] = []
        row_of: dict[Expr, int] = {}
        row_of_id: dict[int, int] = {}
        measure_of_pair = np.empty(len(pairs), dtype=np.int32)
        for p, (code, origin) in enumerate(decoded):
            found = self.lookup(code, origin, on=on)
            if found is None:
                measure_of_pair[p] = -1
                continue
            e = found[0]
            r = row_of_id.get(id(e))
            if r is None:
                r = row_of.setdefault(e, len(exprs))
                if r == len(exprs):
                    exprs.append(e)
                    lines.append(found[1])
                row_of_id[id(e)] = r
            measure_of_pair[p] = r
        index = measure_of_pair[pair_idx.reshape(-1)] if n else np.zeros(0, dtype=np.int32)
        return Resolution(exprs, index, lines, index < 0)


_CORE = frozenset({AdValorem, Specific, Compound, Bounded, CannotAssess})


def is_ambiguous(expr: Expr) -> bool:
    """The duty of a code that covers lines with different duties (lookup's "declare more digits")."""
    return isinstance(expr, CannotAssess) and expr.reason == R_AMBIGUOUS


def _edition(edition: Any) -> str | None:
    try:
        return check_edition(edition)
    except ValueError as exc:
        raise TariffError(str(exc)) from None


def _code_keys(codes: Any) -> Any:
    """Digit strings -> int64 keys (value * 16 + length), without sorting strings; None if not all digits."""
    import numpy as np
    width = codes.dtype.itemsize // 4 if codes.dtype.kind == "U" else 0
    if not width or width > 10 or not len(codes) or not hasattr(np, "strings"):
        return None
    codes = np.ascontiguousarray(codes)
    if not np.strings.isdigit(codes).all():  # also false for ""
        return None
    v = codes.view(np.int32).reshape(len(codes), width)
    if v.max() > 57:  # a non-ASCII digit
        return None
    length = np.strings.str_len(codes).astype(np.int64)
    full = np.zeros(len(codes), dtype=np.int64)
    for j in range(width):  # left-aligned digits, NUL-padded: padding adds zeros, divided out below
        full *= 10
        full += np.maximum(v[:, j] - 48, 0)
    return (full // 10 ** (width - length)) * 16 + length


def _origin_keys(origins: Any) -> Any:
    """'' or two capital letters -> 0..728; None for anything else."""
    import numpy as np
    if origins.dtype.kind != "U" or origins.dtype.itemsize > 8 or not len(origins):
        return None
    v = np.ascontiguousarray(origins).view(np.int32).reshape(len(origins), -1)
    c = np.zeros((len(origins), 2), dtype=np.int64)
    c[:, :v.shape[1]] = v
    ok = ((c == 0) | ((c >= 65) & (c <= 90))).all() and not ((c[:, 0] == 0) & (c[:, 1] != 0)).any()
    if not ok:
        return None
    c = np.where(c == 0, 0, c - 64)
    return c[:, 0] * 27 + c[:, 1]


def _factorize(keys: Any) -> tuple[Any, Any]:
    """(uniques, inverse) of an int64 array: hashed with pandas when it is installed, else sorted."""
    import numpy as np
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover
        u, inv = np.unique(keys, return_inverse=True)
        return u, inv.reshape(-1)
    inv, u = pd.factorize(keys)
    return np.asarray(u), inv


def _overlap(a: Measure, b: Measure) -> bool:
    lo = max(a.valid_from or _dt.date.min, b.valid_from or _dt.date.min)
    hi = min(a.valid_to or _dt.date.max, b.valid_to or _dt.date.max)
    return lo < hi


__all__ = ["AMBIGUOUS_MODES", "FREE", "LoadReport", "Measure", "Resolution", "Tariff", "greater_of", "is_ambiguous",
           "lesser_of", "stack", "unevaluable_reason"]
