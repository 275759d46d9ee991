"""Coverage of the duty-expression language on the official tariff files.

    python -m deminimis.tariff.coverage [../shared/data]

For every rate column of the USITC HTS CSV exports (General, Special, Column 2,
Additional Duties) and of the UK Global Tariff CSV (UK and EU CET columns) it prints the
share of rate cells (and of distinct rate strings) that parse, and the share that are
evaluable: they resolve into core expressions that compile for the tariff's currency
(a seasonal rate: every season; a chapter 99 "applicable subheading + X": X).  The rest
parse into CannotAssess, counted by reason.  A syntax error would be listed; the target
is none.
"""

from __future__ import annotations

import csv
import os
import sys
from collections import Counter
from dataclasses import dataclass, field

from ..errors import TariffSyntaxError
from .loaders import _reason
from .parse import parse, split_special
from .table import Tariff

US_COLUMNS = {"general": "General Rate of Duty", "special": "Special Rate of Duty",
              "column 2": "Column 2 Rate of Duty", "additional": "Additional Duties"}
UK_COLUMNS = {"ukgt_duty_rate": "ukgt_duty_rate", "cet_duty_rate": "cet_duty_rate"}


@dataclass
class ColumnCoverage:
    file: str
    column: str
    cells: int = 0
    parsed: int = 0
    evaluable: int = 0
    distinct: int = 0
    distinct_parsed: int = 0
    distinct_evaluable: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)

    def row(self) -> str:
        def pct(a: int, b: int) -> str:
            return f"{100 * a / b:.2f}%" if b else "-"
        return (f"| {self.file} | {self.column} | {self.cells} | {pct(self.parsed, self.cells)} | "
                f"{pct(self.evaluable, self.cells)} | {self.distinct} | {pct(self.distinct_parsed, self.distinct)} | "
                f"{pct(self.distinct_evaluable, self.distinct)} | {len(self.errors)} |")


def _segments(text: str, special: bool) -> list[str]:
    return [seg for seg, _ in split_special(text)] if special else [text]


def column_coverage(path: str, column: str, header: str, currency: str) -> ColumnCoverage:
    """Coverage of one column, counting special-rate segments as rates."""
    cov = ColumnCoverage(os.path.basename(path), column)
    strings: Counter[str] = Counter()
    with open(path, newline="", encoding="utf-8-sig") as f:
        for row in csv.DictReader(f):
            cell = (row.get(header) or "").strip()
            if cell:
                strings[cell] += 1
    special = column == "special"
    for text, n in strings.items():
        segs: list[str] = []
        try:
            segs = _segments(text, special)
        except TariffSyntaxError as exc:
            cov.errors.append(f"{text!r}: {exc}")
        ok_parse = ok_eval = bool(segs)
        for seg in segs:
            try:
                reason = _reason(parse(seg), currency)
            except TariffSyntaxError as exc:
                cov.errors.append(f"{seg!r}: {exc}")
                ok_parse = ok_eval = False
                continue
            if reason is not None:
                ok_eval = False
                cov.reasons[reason] += n
        cov.cells += n
        cov.distinct += 1
        cov.parsed += n * ok_parse
        cov.evaluable += n * ok_eval
        cov.distinct_parsed += ok_parse
        cov.distinct_evaluable += ok_eval
    return cov


def coverage(data_dir: str) -> list[ColumnCoverage]:
    out = []
    us_dir = os.path.join(data_dir, "us_hts")
    for fname in sorted(os.listdir(us_dir)) if os.path.isdir(us_dir) else []:
        if fname.endswith(".csv"):
            for col, header in US_COLUMNS.items():
                out.append(column_coverage(os.path.join(us_dir, fname), col, header, "USD"))
    uk = os.path.join(data_dir, "uk_global_tariff", "global-uk-tariff.csv")
    if os.path.exists(uk):
        out.append(column_coverage(uk, "ukgt_duty_rate (UK)", "ukgt_duty_rate", "GBP"))
        out.append(column_coverage(uk, "cet_duty_rate (EU CET)", "cet_duty_rate", "EUR"))
    return out


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    data_dir = argv[0] if argv else os.path.join("..", "shared", "data")
    rows = coverage(data_dir)
    print("| file | column | rate cells | parsed | evaluable | distinct strings | parsed | evaluable | syntax errors |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(r.row())
    print()
    print("Cannot assess, by reason (rate cells; special: segments):")
    for r in rows:
        for reason, n in r.reasons.most_common():
            print(f"  {r.file} {r.column}: {n:6d}  {reason}")
    errors = [e for r in rows for e in r.errors]
    for e in errors:
        print("  syntax error:", e)
    # the loaders' view: every measure, by reason, with codes
    us = sorted(f for f in os.listdir(os.path.join(data_dir, "us_hts")) if f.endswith(".csv")) \
        if os.path.isdir(os.path.join(data_dir, "us_hts")) else []
    print()
    for fname in us:
        print(Tariff.from_usitc_csv(os.path.join(data_dir, "us_hts", fname)).report.summary())  # type: ignore[union-attr]
    uk = os.path.join(data_dir, "uk_global_tariff", "global-uk-tariff.csv")
    if os.path.exists(uk):
        for col in ("ukgt", "cet"):
            print(Tariff.from_uk_global_tariff_csv(uk, column=col).report.summary())  # type: ignore[union-attr]
    return 1 if errors else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
