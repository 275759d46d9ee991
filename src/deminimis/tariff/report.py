"""What loading a tariff found: the reasons a rate cannot be assessed, and the load report."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from .expr import Applicable, CannotAssess, HeadingRef, NoChange, ParsedExpr, Seasonal, is_core

R_SEASON_NEEDS_DATE = "seasonal rate: needs the assessment date (lookup(..., on=date))"

R_NO_SEASON = "seasonal rate: no season covers the assessment date"

R_APPLICABLE_ALONE = ("refers to the duty of the applicable subheading (US chapter 99): declare the goods' own "
                      "code, with this measure as an additional duty")

R_HEADING = "given by another heading of the tariff, subject to its conditions (quota, note)"

R_AMBIGUOUS = "the code covers tariff lines with different duties: declare more digits"

R_HIGHEST_UNKNOWN = "ambiguous='highest': a line the code covers cannot be assessed, so neither can the highest"
R_HIGHEST_INCOMPARABLE = ("ambiguous='highest': no duty of the lines the code covers is the highest on every item, "
                          "nor is the highest the greater of two of them: declare more digits")

R_SEVERAL_RATES = "several rates of the same kind are in force and none is lower on every item"

R_SEVERAL_DATED = "several dated rates: pass the assessment date (lookup(..., on=date))"

R_STACK_BOUNDS = "two duties with MIN/MAX bounds cannot be stacked exactly"
R_STACK_LESS = "an additional duty on a duty with a subtracted term cannot be stacked exactly"

R_NO_BASE = "no base rate for this code (only additional duties)"

R_UNPARSED = "the rate does not parse"


@dataclass
class LoadReport:
    """What a loader read and what it could not evaluate; nothing is dropped silently."""

    source: str = ""
    rows: int = 0                   # data rows read
    lines: int = 0                  # rows that carry a code
    rates: int = 0                  # rate strings read (non-empty cells / special-rate segments)
    evaluable: int = 0              # of which evaluable (possibly as an addition or by date)
    cannot_assess: Counter[str] = field(default_factory=Counter)        # reason -> count
    codes: dict[str, list[str]] = field(default_factory=dict)           # reason -> codes
    syntax_errors: list[tuple[str, str, str, str]] = field(default_factory=list)  # code, column, text, error
    notes: Counter[str] = field(default_factory=Counter)                # other facts, e.g. unmapped programs
    columns: dict[str, Counter[str]] = field(default_factory=dict)      # column -> rates, evaluable, errors

    def add(self, code: str, reason: str | None, column: str = "duty") -> None:
        self.rates += 1
        col = self.columns.setdefault(column, Counter())
        col["rates"] += 1
        if reason is None:
            self.evaluable += 1
            col["evaluable"] += 1
        else:
            self.cannot_assess[reason] += 1
            self.codes.setdefault(reason, []).append(code)
            if reason.startswith(R_UNPARSED):
                col["syntax_errors"] += 1

    @property
    def parsed(self) -> int:
        return self.rates - len(self.syntax_errors)

    def summary(self) -> str:
        pct = (lambda k: f"{100 * k / self.rates:.2f}%") if self.rates else (lambda k: "-")
        out = [f"{self.source}: {self.rows} rows, {self.lines} lines, {self.rates} rates: "
               f"{pct(self.parsed)} parsed, {pct(self.evaluable)} evaluable"]
        for reason, n in self.cannot_assess.most_common():
            codes = self.codes.get(reason, [])
            out.append(f"  cannot assess {n:6d}  {reason}  (e.g. {', '.join(codes[:3])})")
        for code, col, text, err in self.syntax_errors[:20]:
            out.append(f"  syntax error: {code} {col}: {text!r}: {err}")
        for note, n in self.notes.most_common():
            out.append(f"  note {n:6d}  {note}")
        return "\n".join(out)


def unevaluable_reason(expr: ParsedExpr) -> str | None:
    """None when the tree can be evaluated (possibly as a chapter 99 addition, or on a date); else why not."""
    if isinstance(expr, CannotAssess):
        return expr.reason
    if isinstance(expr, Seasonal):
        for e, _ in expr.alternatives:
            r = unevaluable_reason(e)
            if r is not None:
                return r
        return None
    if isinstance(expr, Applicable):
        return None if expr.plus is None else unevaluable_reason(expr.plus)
    if isinstance(expr, NoChange):
        return None
    if isinstance(expr, HeadingRef):
        return R_HEADING
    return None if is_core(expr) else "not a core expression"


# ------------------------------------------------------------------ combining expressions
