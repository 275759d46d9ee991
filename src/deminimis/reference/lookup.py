"""The reference's own tariff lookup: which duty applies to an item code and origin on a day.

It reads the tariff's measures as data (``Tariff.measures()``, the fields of each
``Measure``) and finds the duty by scanning all of them, item after item, with the
rules of src/deminimis/tariff/table.py's docstring, restated here:

- A measure counts on a day when ``valid_from <= day < valid_to`` (either end may be
  open); without a day, every measure counts.
- The rate: among the ``origin`` measures naming the item's origin whose code is a
  prefix of the item's code, those of the longest such code; if there are none, the
  ``base`` measures of the longest prefix.  One measure gives its duty.  Several
  origin measures (several programs) give the lower duty when one is lower on every
  item, the lesser of two as MIN/MAX, or else cannot be assessed.  Several base
  measures giving different duties cannot be assessed.
- No rate on any prefix: if lines with a rate lie under the code (a code shorter than
  the tariff's lines), their duty when they all give the same one, else the code is
  ambiguous: "declare more digits" (ambiguous "flag" and "refuse": the reading refuses
  it), or with ambiguous "highest" the highest of the duties of those lines that give
  one: the duty never below any other on any item, or the greater of two as MIN/MAX;
  else it cannot be assessed (also when one of those lines cannot be).
- Every ``additional`` measure on a prefix of the code that applies to the origin is
  added to the rate, longest prefix first: into each clause of a MIN/MAX rate; with
  the ad valorem parts summed into one.  Only additional measures and no rate: cannot
  be assessed.  No measure at all: no line covers the code (None).
- Tariff-level forms become duties: a seasonal rate by the day (the first alternative
  whose day ranges hold it, else the one without ranges); US chapter 99 "the duty of
  the applicable subheading + X" adds X as an additional duty ("No change" adds
  nothing) and cannot be assessed as a rate; "See 9903.88.03" as an additional duty is
  the additional measures of that heading (or its base measures when they are
  themselves such references), at most four references deep.

What cannot be assessed carries its reason, in these words (the engine's are the same).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

from ..tariff.expr import (
    AdValorem,
    Applicable,
    Bounded,
    CannotAssess,
    Compound,
    Expr,
    HeadingRef,
    NoChange,
    Seasonal,
    Specific,
)
from ..tariff.table import Measure, Tariff
from .measures import flat_terms, per_unit, quantity_of

SEASON_NEEDS_DATE = "seasonal rate: needs the assessment date (lookup(..., on=date))"
NO_SEASON = "seasonal rate: no season covers the assessment date"
APPLICABLE_ALONE = ("refers to the duty of the applicable subheading (US chapter 99): declare the goods' own "
                    "code, with this measure as an additional duty")
HEADING = "given by another heading of the tariff, subject to its conditions (quota, note)"
AMBIGUOUS = "the code covers tariff lines with different duties: declare more digits"
HIGHEST_UNKNOWN = "ambiguous='highest': a line the code covers cannot be assessed, so neither can the highest"
HIGHEST_INCOMPARABLE = ("ambiguous='highest': no duty of the lines the code covers is the highest on every item, "
                        "nor is the highest the greater of two of them: declare more digits")
SEVERAL_RATES = "several rates of the same kind are in force and none is lower on every item"
SEVERAL_DATED = "several dated rates: pass the assessment date (lookup(..., on=date))"
STACK_BOUNDS = "two duties with MIN/MAX bounds cannot be stacked exactly"
STACK_LESS = "an additional duty on a duty with a subtracted term cannot be stacked exactly"
NO_BASE = "no base rate for this code (only additional duties)"

#: how many "See heading" references are followed, one inside another
MAX_REFERENCES = 4


def counts_on(m: Measure, day: _dt.date | None) -> bool:
    """The measure is in force on the day (from inclusive, to exclusive); without a day, always."""
    if day is None:
        return True
    if m.valid_from is not None and day < m.valid_from:
        return False
    return m.valid_to is None or day < m.valid_to


def names_origin(m: Measure, origin: str) -> bool:
    """An origin or additional measure applies to goods of this origin (None: of every origin)."""
    return m.origins is None or origin in m.origins


class NaiveTariff:
    """A tariff read as a plain list of measures; each (code, origin, day) found once per assessment.

    `ambiguous` ("flag", "refuse" or "highest") is what a code covering lines with different duties
    gets; ``chosen`` holds, per (code, origin, day) that took the highest, the sentence saying so."""

    def __init__(self, tariff: Tariff, ambiguous: str = "flag") -> None:
        self.ambiguous = ambiguous
        self.chosen: dict[tuple[str, str, _dt.date | None], str] = {}
        # every code of a line or an item has at least two digits: a line can only cover an item code
        # (or lie under it) when they begin with the same two, so each scan reads that chapter's measures
        self.chapters: dict[str, list[Measure]] = {}
        for m in tariff.measures():
            self.chapters.setdefault(m.code[:2], []).append(m)
        self.found: dict[tuple[str, str, _dt.date | None], Expr | None] = {}

    def duty(self, code: str, origin: str, day: _dt.date | _dt.datetime | None) -> Expr | None:
        """The duty of goods of this code and origin on the day, or None when no line covers the code."""
        if isinstance(day, _dt.datetime):
            day = day.date()
        key = (code, origin, day)
        if key not in self.found:
            self.found[key] = self._find(code, origin, day)
        return self.found[key]

    def _find(self, code: str, origin: str, day: _dt.date | None) -> Expr | None:
        rate = self._rate(code, origin, day)
        if rate is None:
            under = self._under(code)
            if under:
                duties = [self.duty(c, origin, day) for c in under]
                if None not in duties and len(set(duties)) == 1:
                    return duties[0]
                lines = [(c, d) for c, d in zip(under, duties) if d is not None]
                if self.ambiguous != "highest" or not lines:
                    return CannotAssess(AMBIGUOUS, code)
                listed = ", ".join(f"{c} ({d})" for c, d in lines)
                chosen = highest([d for _, d in lines], listed)
                self.chosen[(code, origin, day)] = (f"ambiguous='highest': code {code} covers {listed}; "
                                                    f"the highest: {chosen}")
                return chosen
        additions = []
        covered = rate is not None
        for m in sorted(self._on_prefixes(code, "additional", day), key=lambda m: -len(m.code)):
            if not names_origin(m, origin):
                continue
            covered = True
            extra = self._tariff_level(m.expr, day, as_addition=True, depth=0)
            if extra is not None:
                additions.append(extra)
        if not covered:
            return None
        if rate is None:
            return CannotAssess(NO_BASE, code)
        return add_up(rate, additions)

    def _under(self, code: str) -> list[str]:
        """The codes of the lines with a rate that lie under the code, in order."""
        return sorted({m.code for m in self.chapters.get(code[:2], ()) if m.kind in ("base", "origin")
                       and m.code.startswith(code) and m.code != code})

    def covered(self, code: str, origin: str, day: _dt.date | None) -> list[tuple[str, Expr]]:
        """The lines under a code no line covers, with their duties (for ambiguous="refuse"'s message)."""
        if self._rate(code, origin, day) is not None:
            return []
        return [(c, d) for c in self._under(code) if (d := self.duty(c, origin, day)) is not None]

    def _on_prefixes(self, code: str, kind: str, day: _dt.date | None) -> list[Measure]:
        """Measures of a kind in force on the day whose code begins the item's code, in tariff order."""
        return [m for m in self.chapters.get(code[:2], ())
                if m.kind == kind and code.startswith(m.code) and counts_on(m, day)]

    def _rate(self, code: str, origin: str, day: _dt.date | None) -> Expr | None:
        """The rate of the longest prefix with an origin measure for the origin, else with a base measure."""
        preferential = [m for m in self._on_prefixes(code, "origin", day) if origin in (m.origins or ())]
        if preferential:
            longest = max(len(m.code) for m in preferential)
            at = [m for m in preferential if len(m.code) == longest]
            duties = [d for m in at if (d := self._tariff_level(m.expr, day, as_addition=False, depth=0)) is not None]
            if len(duties) == 1:
                return duties[0]
            return lowest(duties, " | ".join(m.text for m in at))
        general = self._on_prefixes(code, "base", day)
        if not general:
            return None
        longest = max(len(m.code) for m in general)
        at = [m for m in general if len(m.code) == longest]
        distinct = _distinct([self._tariff_level(m.expr, day, as_addition=False, depth=0) for m in at])
        if len(distinct) == 1:
            return distinct[0]
        return CannotAssess(SEVERAL_DATED if day is None else SEVERAL_RATES, " | ".join(m.text for m in at))

    def _tariff_level(self, e: Any, day: _dt.date | None, *, as_addition: bool, depth: int) -> Expr | None:
        """A measure's expression as a duty on the day (None: an addition of nothing)."""
        if type(e) in (AdValorem, Specific, Compound, Bounded, CannotAssess):
            return e
        if isinstance(e, Seasonal):
            if day is None:
                return CannotAssess(SEASON_NEEDS_DATE, str(e))
            chosen = season_of(e, day)
            if chosen is None:
                return CannotAssess(NO_SEASON, str(e))
            return self._tariff_level(chosen, day, as_addition=as_addition, depth=depth)
        if isinstance(e, (Applicable, NoChange)):
            if not as_addition:
                return CannotAssess(APPLICABLE_ALONE, str(e))
            if isinstance(e, Applicable) and e.plus is not None:
                return self._tariff_level(e.plus, day, as_addition=True, depth=depth)
            return None
        if isinstance(e, HeadingRef):
            if as_addition and depth < MAX_REFERENCES:
                there = [m for m in self.chapters.get(e.code[:2], ())
                         if m.code == e.code and m.kind != "origin" and counts_on(m, day)]
                extra = [m for m in there if m.kind == "additional"]
                general = [m for m in there if m.kind == "base"]
                refers_on = all(isinstance(m.expr, (Applicable, NoChange, HeadingRef)) for m in general)
                followed = extra or (general if general and refers_on else [])
                if followed:
                    parts = [self._tariff_level(m.expr, day, as_addition=True, depth=depth + 1) for m in followed]
                    present = [p for p in parts if p is not None]
                    return add_up(present[0], present[1:]) if present else None
            return CannotAssess(HEADING, str(e))
        return e


def season_of(e: Seasonal, day: _dt.date) -> Any:
    """The alternative of a seasonal rate for the day: the first whose day ranges hold it, else the first
    without ranges, else None."""
    today = (day.month, day.day)
    for expr, ranges in e.alternatives:
        for r in ranges:
            start, end = (r.start_month, r.start_day), (r.end_month, r.end_day)
            within = start <= today <= end if start <= end else (today >= start or today <= end)
            if within:
                return expr
    for expr, ranges in e.alternatives:
        if len(ranges) == 0:
            return expr
    return None


# ------------------------------------------------------------------ sums and minima of duties


def total_of(parts: Sequence[Expr]) -> Expr:
    """One sum: the ad valorem percentages added into a first term (left out when 0 and specific terms
    remain), then every specific term in order."""
    terms = [t for p in parts for t in flat_terms(p)]
    percent = sum((t.percent for t in terms if isinstance(t, AdValorem)), Fraction(0))
    specific = [t for t in terms if isinstance(t, Specific)]
    out: list[Expr] = list(specific)
    if percent != 0 or not specific:
        out.insert(0, AdValorem(percent))
    return out[0] if len(out) == 1 else Compound(tuple(out))


def _distinct(duties: list[Any]) -> list[Any]:
    """Each duty once, in order of first appearance."""
    return list(dict.fromkeys(duties))


def _reasons(unassessable: list[CannotAssess]) -> str:
    """The reasons of duties that cannot be assessed, each once, in order."""
    return "; ".join(_distinct([d.reason for d in unassessable]))


def add_up(rate: Expr, additions: list[Expr]) -> Expr:
    """The rate plus each additional duty, exactly (an addition goes into each clause of a MIN/MAX rate)."""
    if not additions:
        return rate
    parts = [rate, *additions]
    unassessable = [p for p in parts if isinstance(p, CannotAssess)]
    if unassessable:
        shown = [p.text if isinstance(p, CannotAssess) else str(p) for p in parts]
        return CannotAssess(_reasons(unassessable), " + ".join(shown))
    bounded = [p for p in parts if isinstance(p, Bounded)]
    sums = [p for p in parts if not isinstance(p, Bounded)]
    if len(bounded) == 0:
        return total_of(sums)
    if len(bounded) > 1:
        return CannotAssess(STACK_BOUNDS, " + ".join(str(p) for p in parts))
    [b] = bounded
    if b.less is not None:  # what is left after the reduction, plus the addition: not one MIN/MAX duty
        return CannotAssess(STACK_LESS, " + ".join(str(p) for p in parts))
    return Bounded(total_of([b.main, *sums]),
                   None if b.minimum is None else total_of([b.minimum, *sums]),
                   None if b.maximum is None else total_of([b.maximum, *sums]))


def _per_unit_rates(e: Expr) -> dict[str, Fraction]:
    """What a sum charges per unit: percent of value, and per kg, litre or piece in each currency."""
    out: dict[str, Fraction] = {}
    for t in flat_terms(e):
        if isinstance(t, AdValorem):
            key, amount = "percent", t.percent
        else:
            key, amount = f"{quantity_of(t)} {t.currency}", Fraction(t.amount) / Fraction(per_unit(t))
        out[key] = out.get(key, Fraction(0)) + amount
    return out


def _never_more(a: dict[str, Fraction], b: dict[str, Fraction]) -> bool:
    """Duty a is at most duty b on every item: each of a's per-unit rates is at most b's."""
    return all(rate == 0 or rate <= b.get(key, Fraction(0)) for key, rate in a.items())


def _unbeaten(distinct: list[Expr], wins: Any) -> list[Expr] | None:
    """The duties no other one beats on every item (`wins(a, b)`: a's per-unit rates are each at least as
    good as b's); None when one has MIN/MAX bounds (no exact comparison)."""
    try:
        rates = [_per_unit_rates(d) for d in distinct]
    except TypeError:  # a MIN/MAX duty
        return None
    candidates = []
    for i, mine in enumerate(rates):
        beaten = False
        for j, other in enumerate(rates):
            if j == i or not wins(other, mine):
                continue
            # the other is as good everywhere; it beats this one unless they are the same duty and this comes first
            if not wins(mine, other) or j < i:
                beaten = True
        if not beaten:
            candidates.append(distinct[i])
    return candidates


def lowest(duties: Sequence[Expr], text: str) -> Expr:
    """The lower of several duties on every item, exactly: the one never above the others, the lesser of
    two as MIN/MAX (main, no minimum, the other as maximum), or else cannot be assessed."""
    distinct = _distinct(list(duties))
    if len(distinct) == 1:
        return distinct[0]
    unassessable = [d for d in distinct if isinstance(d, CannotAssess)]
    if unassessable:
        return CannotAssess(_reasons(unassessable), text)
    candidates = _unbeaten(distinct, _never_more)
    if candidates is not None and len(candidates) == 1:
        return candidates[0]
    if candidates is not None and len(candidates) == 2:
        return Bounded(candidates[0], None, candidates[1])
    return CannotAssess(SEVERAL_RATES, text)


def highest(duties: Sequence[Expr], text: str) -> Expr:
    """The higher of several duties on every item, exactly (ambiguous="highest"): the one never below the
    others, the greater of two as MIN/MAX (main, the other as minimum, no maximum), or else cannot be
    assessed, as when one of them cannot."""
    distinct = _distinct(list(duties))
    if len(distinct) == 1:
        return distinct[0]
    if any(isinstance(d, CannotAssess) for d in distinct):
        return CannotAssess(HIGHEST_UNKNOWN, text)
    candidates = _unbeaten(distinct, lambda a, b: _never_more(b, a))
    if candidates is not None and len(candidates) == 1:
        return candidates[0]
    if candidates is not None and len(candidates) == 2:
        return Bounded(candidates[0], candidates[1], None)
    return CannotAssess(HIGHEST_INCOMPARABLE, text)
