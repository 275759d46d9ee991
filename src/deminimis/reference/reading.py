"""1. Inputs: the columns read and validated value by value, in the validation order of
docs/semantics.md section 1 (with a sink, every row's first problem is reported and a row
already bad is not checked again).  The reference validates the raw values itself, groups with
plain dicts, and finds each item's tariff line with its own lookup."""

from __future__ import annotations

import datetime as _dt
import decimal
from collections.abc import Callable, Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Any

import numpy as np

from ..columns import RULE_COLUMN_DEFAULTS, UNHASHABLE_ID, VOCABULARIES, date_problem, id_key, is_missing, to_date
from ..errors import (
    AmbiguousCodeError,
    AmountOverflowError,
    InconsistentConsignmentError,
    InputError,
    InvalidValueError,
    MissingColumnError,
    RegimeError,
    UnknownCodeError,
    UnknownCurrencyError,
    UnknownValueError,
)
from ..money import CURRENCY_EXPONENTS
from ..problems import Problems, report
from ..rates import ExchangeRates
from ..regimes.model import Regime
from ..tariff.expr import QUANTITY_COLUMNS, CannotAssess, Expr
from ..tariff.nomenclature import EDITIONS, NATIONAL_CHAPTERS, subheadings
from ..tariff.table import Tariff
from .amounts import INT64_MAX
from .lookup import AMBIGUOUS, NaiveTariff
from .measures import check_compilable, quantities_needed
from .rules import every_rule, restricted_columns, sums_per, vat_category
from .versions import in_force_some_time_of


def read_amount(x: Any, exp: int, col: str, row: int, minor: bool, what: str = "its currency") -> Decimal:
    """The amount in major units, validated: finite, non-negative, at most `exp` places."""
    if minor:
        if isinstance(x, (bool, np.bool_)) or not isinstance(x, (int, np.integer)):
            raise InvalidValueError("amounts='minor' needs integers", column=col, row=row, value=x)
        d = Decimal(int(x))
        if d < 0:
            raise InvalidValueError("must not be negative", column=col, row=row, value=x)
        if d > INT64_MAX:
            raise AmountOverflowError("does not fit in 64-bit minor units", column=col, row=row, value=x)
        return d.scaleb(-exp)
    if isinstance(x, (bool, np.bool_)):
        raise InvalidValueError("an amount cannot be a boolean", column=col, row=row, value=x)
    try:
        d = Decimal(str(x).strip())
    except decimal.InvalidOperation:
        raise InvalidValueError("cannot read as a decimal amount", column=col, row=row, value=x) from None
    if not d.is_finite():
        raise InvalidValueError("amount is not finite", column=col, row=row, value=x)
    if d < 0:
        raise InvalidValueError("must not be negative", column=col, row=row, value=x)
    scaled = d.scaleb(exp)
    if scaled != scaled.to_integral_value():
        if isinstance(x, (float, np.floating)):  # a float: nearest minor unit of its shortest repr
            scaled = scaled.to_integral_value(rounding=decimal.ROUND_HALF_EVEN)
            d = scaled.scaleb(-exp)
        else:
            raise InvalidValueError(f"has more than {exp} decimal places for {what}", column=col, row=row, value=x)
    if scaled > INT64_MAX:
        raise AmountOverflowError("does not fit in 64-bit minor units", column=col, row=row, value=x)
    return d


def as_list(a: np.ndarray) -> list[Any]:
    return list(a) if a.dtype == object else a.tolist()


def numbered(col: str, values: list[Any]) -> tuple[list[int], list[Any]]:
    """Each item's number among the distinct ids of an id column (consignment, consignee), numbered in
    order of first appearance, and those ids.  Ids are the same when their type and value are
    (columns.id_key): "1" and 1 are two consignments."""
    number: dict[Any, int] = {}
    ids: list[Any] = []
    out = []
    for i, x in enumerate(values):
        try:
            k = id_key(x)
        except TypeError:
            raise InvalidValueError(UNHASHABLE_ID, column=col, row=i, value=x) from None
        if k not in number:
            number[k] = len(ids)
            ids.append(x)
        out.append(number[k])
    return out, ids


def _is_code(x: Any) -> bool:
    return isinstance(x, str) and 4 <= len(x) <= 10 and x.isdigit() and x.isascii()


def _edition_problem(code: str, edition: str) -> str | None:
    """An item code of 4 to 10 digits against the HS edition of the tariff: outside the chapters left to
    national use, its first six digits (all of a shorter code) must begin one of the edition's
    subheadings; the message names the other edition where they do."""
    def begins_one(e: str) -> bool:
        return any(s.startswith(code[:6]) for s in subheadings(e))

    if code[:2] in NATIONAL_CHAPTERS or begins_one(edition):
        return None
    problem = f"{code[:6]} is not a subheading of HS {edition}"
    others = [e for e in EDITIONS if e != edition and begins_one(e)]
    if others:
        return problem + f" (an HS {others[-1]} code; the tariff is HS {edition})"
    return problem + ", the tariff's edition"


def _country_problem(x: Any) -> str | None:
    if is_missing(x) or x == "" or (isinstance(x, str) and len(x) == 2 and x.isascii() and x.isalpha()
                                    and x.isupper()):
        return None
    return "must be an ISO 3166 alpha-2 code (two capital letters)"


class Batch:
    """A part of a batch as read: item values (decimal, in their currency), consignment numbers,
    codes, origins, quantities (thousandths), the consignment-level values per consignment, each
    item's duty expression and exact VAT rate."""

    cons: list[int]
    cons_ids: list[Any]
    codes: list[str]
    curs: list[str]
    values: list[Decimal]
    origins: list[str]
    qty: dict[str, list[int | None]]
    percons: dict[str, dict[Any, Any]]
    exprs: list[Expr]
    chosen: list[str | None]
    vat_rate: list[Fraction]
    destination: dict[int, str]   # per consignment

    def consignment_value(self, col: str, c: int) -> Any:
        """A consignment's value of a consignment-level column (its default when the column is absent)."""
        if col in self.percons:
            return self.percons[col][c]
        return RULE_COLUMN_DEFAULTS.get(col)


def read_batch(cols: dict[str, Any], n: int, reg: Regime, tariff: Tariff, rates: ExchangeRates, minor: bool,
               on: _dt.date | None, currency: str | None, sink: Problems | None,
               ambiguous: str = "flag") -> Batch | None:
    """The part's columns read and validated in the specified order; with a sink, None once every
    problem is reported.  `ambiguous`: what a code covering lines with different duties gets."""
    bad = sink.bad if sink is not None else [False] * n
    exp = CURRENCY_EXPONENTS[reg.currency]

    def scan(col: str, values: list[Any], check: Callable[[Any], str | None], error: type = InvalidValueError,
             make: Callable[[str, int, Any], InputError] | None = None) -> None:
        build = make or (lambda msg, row, value: error(msg, column=col, row=row, value=value))
        rows = [i for i, x in enumerate(values) if not bad[i] and check(x) is not None]
        report(sink, rows, lambda i: build(str(check(values[i])), i, values[i]))

    def read(col: str, values: list[Any], exp_of: Callable[[int], int], optional: bool,
             what: str = "its currency", in_minor: bool = minor) -> list[Decimal | None]:
        out: list[Decimal | None] = []
        for i, x in enumerate(values):
            if bad[i]:
                out.append(Decimal(0))
                continue
            try:
                if is_missing(x) or (optional and isinstance(x, str) and x == ""):
                    if not optional:
                        raise InvalidValueError("is missing", column=col, row=i, value=x)
                    out.append(None)
                else:
                    out.append(read_amount(x, exp_of(i), col, i, in_minor, what))
            except InputError as exc:
                report(sink, [i], lambda _, err=exc: err)  # type: ignore[misc]
                out.append(Decimal(0))
        return out

    def consistent(col: str, values: list[Any]) -> dict[Any, Any]:
        """The value per consignment (its first item's); items that disagree with it are bad."""
        first: dict[Any, tuple[int, Any]] = {}
        for i, (c, x) in enumerate(zip(cons, values)):
            if c not in first:
                first[c] = (i, x)
            elif first[c][1] != x and not bad[i] and not bad[first[c][0]]:
                report(sink, [i], lambda row, first_row=first[c][0]: InconsistentConsignmentError(  # type: ignore[misc]
                    f"items of one consignment disagree (row {first_row} has another value)", column=col, row=row))
        return {c: x for c, (_, x) in first.items()}

    def vocabulary(col: str, allowed: Sequence[str]) -> tuple[Callable[[Any], str | None], Callable[..., InputError]]:
        def check(x: Any) -> str | None:
            if is_missing(x):
                return "is missing"
            return None if isinstance(x, str) and x in allowed else f"is not a {col} this regime knows"

        def make(msg: str, row: int, value: Any) -> InputError:
            if msg == "is missing":
                return InvalidValueError(msg, column=col, row=row, value=value)
            return UnknownValueError(msg, column=col, row=row, value=value, allowed=tuple(allowed))
        return check, make

    def has_rate(c: Any) -> bool:
        return c == rates.base or c in rates.rates

    b = Batch()
    # (validation order 1, columns present and of one length, is read_columns', before this)
    # 1. Inputs, validation order 2: consignment ids, codes
    cons_raw = as_list(cols["consignment"])
    cons, b.cons_ids = numbered("consignment", cons_raw)  # from here on a consignment is its number
    scan("consignment", cons_raw, lambda x: "a consignment id is missing" if is_missing(x) else None)
    codes = as_list(cols["hs_code"])
    edition = tariff.hs_edition
    code_problems: dict[str, str | None] = {}  # each distinct code checked once

    def code_problem(x: Any) -> str | None:
        if not _is_code(x):
            return "an hs_code must be a string of 4 to 10 digits"
        if edition is not None and x not in code_problems:
            code_problems[x] = _edition_problem(x, edition)
        return code_problems.get(x)
    scan("hs_code", codes, code_problem)
    code_ok = [code_problem(x) is None for x in codes]
    # 1. Inputs, validation order 3: currencies
    if "currency" in cols:
        curs = as_list(cols["currency"])
    elif currency is not None:
        curs = [currency] * n
    else:
        raise MissingColumnError("give a 'currency' column or currency= for the batch", column="currency")
    scan("currency", curs, lambda c: None if isinstance(c, str) and c in CURRENCY_EXPONENTS
         else "not an ISO 4217 currency code", UnknownCurrencyError)
    scan("currency", curs, lambda c: None if has_rate(c) else f"no exchange rate into {rates.base}",
         UnknownCurrencyError)
    # 1. Inputs, validation order 4: values
    values = read("value", as_list(cols["value"]), lambda i: CURRENCY_EXPONENTS[curs[i]], False)
    # 1. Inputs, validation order 5: origin, quantities
    origins = as_list(cols["origin"]) if "origin" in cols else [""] * n
    scan("origin", origins, _country_problem)
    origins = ["" if (is_missing(o) or _country_problem(o) is not None) else o for o in origins]
    qty: dict[str, list[int | None]] = {}
    for kind, col in QUANTITY_COLUMNS.items():
        if col in cols:
            qty[kind] = [None if q is None else int(q.scaleb(3))
                         for q in read(col, as_list(cols[col]), lambda i: 3, True, "a quantity in thousandths",
                                       in_minor=False)]
        else:
            qty[kind] = [None] * n
    # the alcoholic strength is at most 100% vol; the pure alcohol (volume_ml x strength in thousandths
    # of a % vol) fits in 64 bits
    strength = qty["alcohol"]
    report(sink, [i for i in range(n) if not bad[i] and (strength[i] or 0) > 100_000],
           lambda row: InvalidValueError("an alcoholic strength is at most 100 (% vol)", column="alcohol_pct",
                                         row=row, value=Decimal(strength[row] or 0).scaleb(-3)))
    qty["alcohol"] = [None if s is None else (qty["volume"][i] or 0) * s for i, s in enumerate(strength)]
    report(sink, [i for i in range(n) if not bad[i] and (qty["alcohol"][i] or 0) > INT64_MAX],
           lambda row: AmountOverflowError(
               "volume_l x alcohol_pct (the pure alcohol, in 1e-8 litre) does not fit in 64 bits",
               column="alcohol_pct", row=row, value=Decimal(strength[row] or 0).scaleb(-3)))

    # 1. Inputs, validation order 6: consignment-level columns
    percons: dict[str, dict[Any, Any]] = {}
    if "freight_currency" in cols:
        fcur = as_list(cols["freight_currency"])
        scan("freight_currency", fcur, lambda c: None if isinstance(c, str) and c in CURRENCY_EXPONENTS
             and has_rate(c) else "not an ISO 4217 currency with an exchange rate", UnknownCurrencyError)
        percons["freight_currency"] = consistent("freight_currency", fcur)
    elif "freight" in cols or "insurance" in cols:
        percons["freight_currency"] = consistent("currency", curs)
    else:
        percons["freight_currency"] = {}
        for c, cur in zip(cons, curs):
            percons["freight_currency"].setdefault(c, cur)
    # each row's amounts are read in its own row's currency (in a valid batch, its consignment's)
    item_fcur = as_list(cols["freight_currency"]) if "freight_currency" in cols else curs
    for col in ("freight", "insurance"):
        if col in cols:
            amts = read(col, as_list(cols[col]), lambda i: CURRENCY_EXPONENTS.get(item_fcur[i], 0), True)
            percons[col] = consistent(col, [Decimal(0) if a is None else a for a in amts])
    if "collected_at_sale" in cols:
        flags = as_list(cols["collected_at_sale"])
        scan("collected_at_sale", flags, lambda x: None if isinstance(x, (bool, np.bool_)) or x in (0, 1)
             else "collected_at_sale must be true or false (or 0/1)")
        percons["collected_at_sale"] = consistent("collected_at_sale",
                                                  [x in (True, 1) and not isinstance(x, str) for x in flags])
    vat = reg.vat
    if "destination" in cols:
        dst = as_list(cols["destination"])
        check, make = vocabulary("destination", sorted(vat.rates))
        scan("destination", dst, check, make=make)
        percons["destination"] = consistent("destination", dst)
    elif vat.default_destination is None:
        raise MissingColumnError(f"regime {reg.id} has VAT rates for several destinations "
                                 "and no default_destination", column="destination")
    for col in ("transport", "nature", "shipped_from", "consignee", "date"):
        if col in cols:
            vals = as_list(cols[col])
            if col == "date":
                scan(col, vals, lambda x: date_problem(x) or (None if in_force_some_time_of(reg, to_date(x)) else (
                    f"regime {reg.id} is not in force on this date "
                    f"(valid {reg.valid_from or '-inf'} to {reg.valid_to or '+inf'})")))
            elif col in VOCABULARIES:
                check, make = vocabulary(col, VOCABULARIES[col])
                scan(col, vals, check, make=make)
            elif col == "shipped_from":
                scan(col, vals, lambda x: "is missing" if is_missing(x) else _country_problem(x))
            else:
                scan(col, vals, lambda x: "is missing" if is_missing(x) else None)
            ids = numbered(col, vals)[0] if col == "consignee" else vals  # an id, like the consignment's
            percons[col] = consistent(col, ids)
    if on is None and "date" not in percons:
        raise MissingColumnError("no assessment date: give on= or a 'date' column", column="date")

    # 1. Inputs, validation order 7: tariff lines in force on `on`, or on the consignment's date;
    # the quantities they need
    lines = NaiveTariff(tariff, ambiguous)
    exprs: list[Expr | None] = []
    chosen: list[str | None] = []
    for i in range(n):
        day = on if on is not None else percons["date"][cons[i]]
        if not code_ok[i] or (on is None and date_problem(day) is not None):
            exprs.append(None)
            chosen.append(None)
            continue
        day = on if on is not None else to_date(day)
        found = lines.duty(codes[i], origins[i], day)
        if ambiguous == "refuse" and isinstance(found, CannotAssess) and found.reason == AMBIGUOUS:
            if not bad[i]:
                listed = ", ".join(f"{c} ({d})" for c, d in lines.covered(codes[i], origins[i], day))
                report(sink, [i], lambda row, listed=listed: AmbiguousCodeError(  # type: ignore[misc]
                    f"the code covers tariff lines with different duties: {listed}; declare more digits "
                    "(ambiguous='refuse')", column="hs_code", row=row, value=codes[row]))
            found = None
        elif found is None and not bad[i]:
            report(sink, [i], lambda row: UnknownCodeError("no tariff line covers this code", column="hs_code",
                                                           row=row, value=codes[row]))
        exprs.append(found)
        chosen.append(lines.chosen.get((codes[i], origins[i], day)))
    for kind, col in QUANTITY_COLUMNS.items():
        for i in range(n):
            e = exprs[i]
            if e is not None and not bad[i] and qty[kind][i] is None and kind in quantities_needed(e):
                report(sink, [i], lambda row, kind=kind, col=col: (  # type: ignore[misc]
                    MissingColumnError if col not in cols else InvalidValueError)(
                    f"the tariff line for code {codes[row]} charges per unit of {kind}; give {col}",
                    column=col, row=row))
    if sink is not None:
        return None
    for e in dict.fromkeys(exprs):
        check_compilable(e, reg.currency, exp, rates)  # type: ignore[arg-type]

    def destination(c: int) -> str:
        return str(percons["destination"][c] if "destination" in percons else vat.default_destination)

    vat_rate: list[Fraction] = []
    for i in range(n):
        dest, cat = destination(cons[i]), vat_category(vat, codes[i])
        if cat not in vat.rates[dest]:
            raise RegimeError(f"regime {reg.id}: destination {dest} has no {cat!r} VAT rate")
        pct = Fraction(vat.rates[dest][cat]) / 100
        vat_rate.append((pct if vat.method == "exclusive" else pct / (1 - pct)) * Fraction(vat.factor))

    # 1. Inputs, validation order 8: the columns the regime's aggregations and consignment conditions
    # need (nature defaults to "sale"; an unknown place of shipment matches no rule that names one)
    aggs = sums_per(reg)
    for per in ("consignee_day", "consignee_year"):
        if per in aggs:
            for col in ("consignee", "date"):
                if col not in percons:
                    raise MissingColumnError(f"regime {reg.id} aggregates {per}; give {col}", column=col)
    restricted = [col for r in every_rule(reg) for col, _ in restricted_columns(r)]
    restricted += ["transport" for fee in reg.fees if fee.transports is not None]
    for col in restricted:
        if col not in percons and col not in RULE_COLUMN_DEFAULTS and col != "shipped_from":
            raise MissingColumnError(f"regime {reg.id} has {col} conditions; give {col}", column=col)

    b.cons, b.codes, b.curs, b.origins, b.qty, b.percons = cons, codes, curs, origins, qty, percons
    b.chosen = chosen
    b.values = [v if v is not None else Decimal(0) for v in values]  # value is required: never None here
    b.exprs = [e for e in exprs if e is not None]  # without a sink every item has its line (else raised)
    if len(b.exprs) != n:
        raise AssertionError("an item without a tariff line reached the computation")
    b.vat_rate = vat_rate
    b.destination = {c: destination(c) for c in cons}
    return b
