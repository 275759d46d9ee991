"""The algebra of duty expressions: the lesser (or greater) of several, and additional duties stacked on
a rate.

Exact: each result evaluates, on every item, to what the law gives (or is CannotAssess with the reason)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from fractions import Fraction

from .expr import AdValorem, Bounded, CannotAssess, Compound, Expr, Specific, is_linear, linear_terms
from .report import R_HIGHEST_INCOMPARABLE, R_HIGHEST_UNKNOWN, R_SEVERAL_RATES, R_STACK_BOUNDS, R_STACK_LESS

Coefficients = dict[tuple[str, ...], Fraction]


def _coefficients(expr: Expr) -> Coefficients | None:
    """Per-unit coefficients of a linear expression, for comparing duties; None if not linear."""
    if not is_linear(expr):
        return None
    out: dict[tuple[str, ...], Fraction] = {}
    for t in linear_terms(expr):
        if isinstance(t, AdValorem):
            key: tuple[str, ...] = ("adv",)
            c = t.percent
        else:
            key = (t.quantity, t.currency)
            c = Fraction(t.amount) / Fraction(t.base_units)
        out[key] = out.get(key, Fraction(0)) + c
    return out


def _leq(a: Coefficients, b: Coefficients) -> bool:
    return all(v <= b.get(k, Fraction(0)) for k, v in a.items() if v)


def lesser_of(exprs: Sequence[Expr], text: str = "") -> Expr:
    """The lower of several duties for every item, exactly, or CannotAssess.

    A duty that is at most another on every item (coefficient by coefficient) wins; two
    linear duties neither of which dominates give ``Bounded(a, maximum=b)`` = min(a, b).
    """
    uniq = list(dict.fromkeys(exprs))
    if len(uniq) == 1:
        return uniq[0]
    bad = [e for e in uniq if isinstance(e, CannotAssess)]
    if bad:
        return CannotAssess("; ".join(dict.fromkeys(e.reason for e in bad)), text or " | ".join(map(str, uniq)))
    keep = _undominated(uniq, _leq)
    if keep is not None and len(keep) == 1:
        return keep[0]
    if keep is not None and len(keep) == 2:
        return Bounded(keep[0], None, keep[1])
    return CannotAssess(R_SEVERAL_RATES, text or " | ".join(map(str, uniq)))


def greater_of(exprs: Sequence[Expr], text: str = "") -> Expr:
    """The higher of several duties for every item, exactly, or CannotAssess (ambiguous='highest').

    A duty that is at least every other on every item wins; two linear duties neither of which
    dominates give ``Bounded(a, minimum=b)`` = max(a, b); a duty that cannot be assessed, a MIN/MAX
    duty or three such duties cannot be compared without the item.
    """
    uniq = list(dict.fromkeys(exprs))
    if len(uniq) == 1:
        return uniq[0]
    text = text or " | ".join(map(str, uniq))
    if any(isinstance(e, CannotAssess) for e in uniq):
        return CannotAssess(R_HIGHEST_UNKNOWN, text)
    keep = _undominated(uniq, lambda a, b: _leq(b, a))
    if keep is not None and len(keep) == 1:
        return keep[0]
    if keep is not None and len(keep) == 2:
        return Bounded(keep[0], keep[1], None)
    return CannotAssess(R_HIGHEST_INCOMPARABLE, text)


def _undominated(uniq: Sequence[Expr],
                 better: Callable[[Coefficients, Coefficients], bool]) -> list[Expr] | None:
    """The duties no other one is better than on every item (`better(a, b)`: a is at least as good as b
    coefficient by coefficient; of two equally good, the first); None if one is not linear."""
    coefs = [_coefficients(e) for e in uniq]
    if any(c is None for c in coefs):
        return None
    keep = []
    for i, ci in enumerate(coefs):
        dominated = any(j != i and better(cj, ci) and (not better(ci, cj) or j < i)  # type: ignore[arg-type]
                        for j, cj in enumerate(coefs))
        if not dominated:
            keep.append(uniq[i])
    return keep


def _sum(parts: Sequence[Expr]) -> Expr:
    """A flat sum of linear expressions; ad valorem parts merged, zero ad valorem dropped."""
    adv = Fraction(0)
    specific: list[Specific] = []
    for p in parts:
        for t in linear_terms(p):
            if isinstance(t, AdValorem):
                adv += t.percent
            else:
                specific.append(t)
    terms: list[Expr] = [AdValorem(adv)] if adv or not specific else []
    terms += specific
    return terms[0] if len(terms) == 1 else Compound(tuple(terms))


def stack(base: Expr, additions: Sequence[Expr]) -> Expr:
    """base + each addition, exactly: an addition goes into every clause of a MIN/MAX base."""
    if not additions:
        return base
    parts = [base, *additions]
    bad = [p for p in parts if isinstance(p, CannotAssess)]
    if bad:
        return CannotAssess("; ".join(dict.fromkeys(p.reason for p in bad)), " + ".join(
            p.text if isinstance(p, CannotAssess) else str(p) for p in parts))
    bounded = [p for p in parts if isinstance(p, Bounded)]
    if len(bounded) > 1:
        return CannotAssess(R_STACK_BOUNDS, " + ".join(map(str, parts)))
    if bounded and bounded[0].less is not None:  # max(0, A - D) + X is no one record
        return CannotAssess(R_STACK_LESS, " + ".join(map(str, parts)))
    linear = [p for p in parts if not isinstance(p, Bounded)]
    if not bounded:
        return _sum(linear)
    b = bounded[0]
    return Bounded(_sum([b.main, *linear]),
                   _sum([b.minimum, *linear]) if b.minimum is not None else None,
                   _sum([b.maximum, *linear]) if b.maximum is not None else None)


# ------------------------------------------------------------------ the tariff
