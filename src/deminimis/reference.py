"""The pure-Python reference: the executable specification of the engine.

It computes the same assessment item by item with decimal.Decimal (inputs are
read with ``Decimal(str(x))``) and exact rationals, in the order of
docs/semantics.md.  It shares only the data models with the engine (Regime,
the duty-expression trees, ExchangeRates' rate table, Assessment) and the
column reader: it validates the raw values itself, evaluates duty expressions
from their trees rather than compiled records, and groups with plain dicts, so
that a bug in the fast path's encoding or compiling shows up as a difference.

Every division is a single Decimal division at 200 digits followed at once by
the rounding (rounding.round_ratio), which is exact for these operand sizes.
"""

from __future__ import annotations

import datetime as _dt
import decimal
from decimal import Decimal
from fractions import Fraction
from typing import Any, Callable, Sequence

import numpy as np

from . import regimes
from .assessment import CANNOT_ASSESS, ITEM_AMOUNTS, RULES, Assessment, Inputs, make_provenance, rule_names
from .columns import (UNHASHABLE_ID, RULE_COLUMN_DEFAULTS, VOCABULARIES, as_items, date_problem, id_key, is_missing,
                      read_columns, to_date)
from .errors import (AmountOverflowError, InconsistentConsignmentError, InputError, InvalidValueError,
                     MissingColumnError, RegimeError, TariffError, UnknownCodeError, UnknownCurrencyError,
                     UnknownValueError)
from .partition import day_in_force, fixed_regime, run, version_parts
from .problems import Problems, check_errors_mode, report
from .money import CURRENCY_EXPONENTS
from .rates import ExchangeRates
from .regimes.model import Condition, Regime, Rule
from .rounding import Rounding, round_ratio
from .tariff.expr import QUANTITY_COLUMNS, AdValorem, Bounded, CannotAssess, Compound, Expr, Specific
from .tariff.table import Tariff

INT64_MAX = 2**63 - 1
BIT = {name: bit for bit, name in RULES.items()}


def _fits(x: int, what: str, row: int) -> int:
    if x > INT64_MAX:
        raise AmountOverflowError(f"{what} does not fit in 64-bit minor units", row=row)
    return x


def _rnd(num: Fraction, rounding: Rounding, exp: int) -> int:
    return round_ratio(num.numerator, num.denominator, rounding.quantum_minor(exp), rounding.mode)


# ---------------------------------------------------------------- reading


def _read_amount(x: Any, exp: int, col: str, row: int, minor: bool, what: str = "its currency") -> Decimal:
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


def _as_list(a: np.ndarray) -> list[Any]:
    return list(a) if a.dtype == object else a.tolist()


def _numbered(col: str, values: list[Any]) -> tuple[list[int], list[Any]]:
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


# ---------------------------------------------------------------- duty expressions


def linear_amount(expr: Expr, value: int, qty: dict[str, int], currency: str, exp: int) -> Fraction:
    """The exact amount (minor units) of a sum of ad valorem and specific terms."""
    if isinstance(expr, AdValorem):
        return value * expr.percent / 100
    if isinstance(expr, Specific):
        if expr.currency != currency:
            raise TariffError(f"specific duty {expr} is in {expr.currency}, the customs currency is {currency}")
        # quantities are in thousandths of the unit's base (g, ml, 1/1000 piece)
        return Fraction(qty[expr.quantity]) * Fraction(expr.amount) * 10**exp / (Fraction(expr.base_units) * 1000)
    if isinstance(expr, Compound):
        return sum((linear_amount(t, value, qty, currency, exp) for t in expr.terms), Fraction(0))
    raise TariffError(f"cannot evaluate {expr} as a sum")


def duty_amount(expr: Expr, value: int, qty: dict[str, int], currency: str, exp: int, rounding: Rounding) -> int:
    """Evaluate a tree: main, at least the minimum, at most the maximum, each rounded."""
    if isinstance(expr, Bounded):
        d = _rnd(linear_amount(expr.main, value, qty, currency, exp), rounding, exp)
        if expr.minimum is not None:
            d = max(d, _rnd(linear_amount(expr.minimum, value, qty, currency, exp), rounding, exp))
        if expr.maximum is not None:
            d = min(d, _rnd(linear_amount(expr.maximum, value, qty, currency, exp), rounding, exp))
        return d
    return _rnd(linear_amount(expr, value, qty, currency, exp), rounding, exp)


def _check_compilable(expr: Expr, currency: str, exp: int) -> None:
    """Refuse what the engine refuses: a line in another currency, a form that is not a bounded sum,
    or coefficients beyond the 64 bits of the engine's compiled record (the reference itself evaluates
    the tree, never the record)."""
    if isinstance(expr, CannotAssess):
        return
    zero = {"mass": 0, "volume": 0, "count": 0}
    parts = [expr.main, expr.minimum, expr.maximum] if isinstance(expr, Bounded) else [expr]
    for p in parts:
        if p is not None:
            linear_amount(p, 0, zero, currency, exp)
    from .tariff.compile import compile_measure
    compile_measure(expr, currency, exp)


# ---------------------------------------------------------------- allocation


def allocate(total: int, weights: list[int]) -> list[int]:
    """Largest remainder: floor shares, then +1 for the largest remainders (earlier first)."""
    k = len(weights)
    if k == 1:
        return [total]
    w = weights if sum(weights) > 0 else [1] * k
    W = sum(w)
    shares = [total * x // W for x in w]
    rems = [total * x % W for x in w]
    left = total - sum(shares)
    for j in sorted(range(k), key=lambda j: (-rems[j], j))[:left]:
        shares[j] += 1
    return shares


# ---------------------------------------------------------------- the assessment


class _Trace:
    def __init__(self, target: int | None) -> None:
        self.target = target
        self.lines: list[str] = []

    def __call__(self, row: int, text: str) -> None:
        if row == self.target:
            self.lines.append(text)


def _compare(x: int, c: Condition | Any, thr: int) -> bool:
    return x <= thr if c.inclusive else x < thr


def assess(items: Any, *, regime: Regime | dict | str, tariff: Tariff, rates: ExchangeRates | None = None,
           on: _dt.date | None = None, currency: str | None = None, amounts: str = "decimal",
           keep: Sequence[str] = (), errors: str = "raise", _trace: _Trace | None = None) -> Assessment:
    """Same signature and result as deminimis.assess, computed item by item."""
    from .arguments import check_argument_types, check_arguments  # arguments: no arithmetic

    check_argument_types(regime=regime, tariff=tariff, rates=rates, on=on, currency=currency, amounts=amounts)
    check_errors_mode(errors)
    items = as_items(items)  # read once: a RecordBatchReader is read whole here
    cols, n = read_columns(items, keep=keep)
    sink = Problems(n) if errors == "flag" else None
    if on is not None:
        parts: list[tuple[Regime, Any]] = [(_regime_on(regime, on), None)]
    else:
        parts = list(version_parts(regime, cols, n, sink, regimes.by_id, lambda code, day: regimes.get(code, on=day)))

    def validate(part: dict[str, Any], m: int, reg: Regime, on_: Any, part_sink: Problems) -> None:
        _assess(part, m, reg, tariff, *check_arguments(reg, rates, amounts), rates, on_, currency, amounts,
                _Trace(None), part_sink)

    def assess_part(part: dict[str, Any], m: int, reg: Regime, on_: Any) -> Assessment:
        result = _assess(part, m, reg, tariff, *check_arguments(reg, rates, amounts), rates, on_, currency, amounts,
                         _trace or _Trace(None), None)
        assert result is not None
        return result

    result = run(cols, n, parts=parts, on=on, sink=sink, validate=validate, assess=assess_part, engine="reference",
                 tariff=tariff, rates=rates)
    result.kept = {k: cols[k] for k in keep}
    return result


def _regime_on(regime: Regime | dict | str, on: _dt.date | _dt.datetime) -> Regime:
    """The regime named, in force on `on` (or a jurisdiction's version in force then)."""
    fixed = fixed_regime(regime, regimes.by_id)
    if fixed is None:
        return regimes.get(str(regime), on=on)
    if not fixed.in_force(on):
        raise RegimeError(f"regime {fixed.id} is not in force on {on} "
                          f"(valid {fixed.valid_from or '-inf'} to {fixed.valid_to or '+inf'})")
    return fixed


def _assess(cols: dict[str, Any], n: int, reg: Regime, tariff: Tariff, rates: ExchangeRates, minor: bool,
            rates_given: ExchangeRates | None, on: _dt.date | None, currency: str | None, amounts: str,
            trace: _Trace, sink: Problems | None) -> Assessment | None:
    """One part of a batch, under one regime: validated in the order of docs/semantics.md (with a
    sink, every problem reported and nothing computed: returns None), then computed."""
    bad = sink.bad if sink is not None else [False] * n
    exp = reg.exponent
    ccy = reg.currency

    # --- validate and read, column by column, in the specified order; with a sink every row's first
    # problem is reported, and a row already bad is not checked again
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
                    out.append(_read_amount(x, exp_of(i), col, i, in_minor, what))
            except InputError as exc:
                bad_amount = exc
                report(sink, [i], lambda _: bad_amount)
                out.append(Decimal(0))
        return out

    def consistent(col: str, values: list[Any]) -> dict[Any, Any]:
        """The value per consignment (its first item's); items that disagree with it are bad."""
        first: dict[Any, tuple[int, Any]] = {}
        for i, (c, x) in enumerate(zip(cons, values)):
            if c not in first:
                first[c] = (i, x)
            elif first[c][1] != x and not bad[i] and not bad[first[c][0]]:
                report(sink, [i], lambda row: InconsistentConsignmentError(
                    f"items of one consignment disagree (row {first[c][0]} has another value)", column=col, row=row))
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

    def country(x: Any) -> str | None:
        if is_missing(x) or x == "" or (isinstance(x, str) and len(x) == 2 and x.isascii() and x.isalpha()
                                        and x.isupper()):
            return None
        return "must be an ISO 3166 alpha-2 code (two capital letters)"

    cons_raw = _as_list(cols["consignment"])
    cons, cons_ids = _numbered("consignment", cons_raw)  # from here on a consignment is its number
    scan("consignment", cons_raw, lambda x: "a consignment id is missing" if is_missing(x) else None)
    codes = _as_list(cols["hs_code"])
    scan("hs_code", codes, lambda x: None if isinstance(x, str) and 4 <= len(x) <= 10 and x.isdigit()
         and x.isascii() else "an hs_code must be a string of 4 to 10 digits")
    code_ok = [isinstance(x, str) and 4 <= len(x) <= 10 and x.isdigit() and x.isascii() for x in codes]
    if "currency" in cols:
        curs = _as_list(cols["currency"])
    elif currency is not None:
        curs = [currency] * n
    else:
        raise MissingColumnError("give a 'currency' column or currency= for the batch", column="currency")
    scan("currency", curs, lambda c: None if isinstance(c, str) and c in CURRENCY_EXPONENTS
         else "not an ISO 4217 currency code", UnknownCurrencyError)
    scan("currency", curs, lambda c: None if rates.has(c) else f"no exchange rate into {rates.base}",
         UnknownCurrencyError)
    values = read("value", _as_list(cols["value"]), lambda i: CURRENCY_EXPONENTS[curs[i]], False)
    origins = _as_list(cols["origin"]) if "origin" in cols else [""] * n
    scan("origin", origins, country)
    origins = ["" if (is_missing(o) or country(o) is not None) else o for o in origins]
    qty: dict[str, list[int | None]] = {}
    for kind, col in QUANTITY_COLUMNS.items():
        if col in cols:
            qty[kind] = [None if q is None else int(q.scaleb(3))
                         for q in read(col, _as_list(cols[col]), lambda i: 3, True, "a quantity in thousandths",
                                       in_minor=False)]
        else:
            qty[kind] = [None] * n

    # consignment-level fields
    percons: dict[str, dict[Any, Any]] = {}
    if "freight_currency" in cols:
        fcur = _as_list(cols["freight_currency"])
        scan("freight_currency", fcur, lambda c: None if isinstance(c, str) and c in CURRENCY_EXPONENTS
             and rates.has(c) else "not an ISO 4217 currency with an exchange rate", UnknownCurrencyError)
        percons["freight_currency"] = consistent("freight_currency", fcur)
    elif "freight" in cols or "insurance" in cols:
        percons["freight_currency"] = consistent("currency", curs)
    else:
        percons["freight_currency"] = {}
        for c, cur in zip(cons, curs):
            percons["freight_currency"].setdefault(c, cur)
    # each row's amounts are read in its own row's currency (in a valid batch, its consignment's)
    item_fcur = _as_list(cols["freight_currency"]) if "freight_currency" in cols else curs
    for col in ("freight", "insurance"):
        if col in cols:
            amts = read(col, _as_list(cols[col]), lambda i: CURRENCY_EXPONENTS.get(item_fcur[i], 0), True)
            percons[col] = consistent(col, [Decimal(0) if a is None else a for a in amts])
    if "collected_at_sale" in cols:
        flags = _as_list(cols["collected_at_sale"])
        scan("collected_at_sale", flags, lambda x: None if isinstance(x, (bool, np.bool_)) or x in (0, 1)
             else "collected_at_sale must be true or false (or 0/1)")
        percons["collected_at_sale"] = consistent("collected_at_sale",
                                                  [x in (True, 1) and not isinstance(x, str) for x in flags])
    vat = reg.vat
    if "destination" in cols:
        dst = _as_list(cols["destination"])
        check, make = vocabulary("destination", sorted(vat.rates))
        scan("destination", dst, check, make=make)
        percons["destination"] = consistent("destination", dst)
    elif vat.default_destination is None:
        raise MissingColumnError(f"regime {reg.id} has VAT rates for several destinations "
                                 "and no default_destination", column="destination")
    for col in ("transport", "nature", "shipped_from", "consignee", "date"):
        if col in cols:
            vals = _as_list(cols[col])
            if col == "date":
                scan(col, vals, lambda x: date_problem(x) or (None if day_in_force(reg, to_date(x)) else (
                    f"regime {reg.id} is not in force on this date "
                    f"(valid {reg.valid_from or '-inf'} to {reg.valid_to or '+inf'})")))
            elif col in VOCABULARIES:
                check, make = vocabulary(col, VOCABULARIES[col])
                scan(col, vals, check, make=make)
            elif col == "shipped_from":
                scan(col, vals, lambda x: "is missing" if is_missing(x) else country(x))
            else:
                scan(col, vals, lambda x: "is missing" if is_missing(x) else None)
            numbers = _numbered(col, vals)[0] if col == "consignee" else vals  # an id, like the consignment's
            percons[col] = consistent(col, numbers)
    if on is None and "date" not in percons:
        raise MissingColumnError("no assessment date: give on= or a 'date' column", column="date")

    # tariff lines: in force on `on`, or on the consignment's date
    exprs: list[Expr | None] = []
    for i in range(n):
        day = on if on is not None else percons["date"][cons[i]]
        if not code_ok[i] or (on is None and date_problem(day) is not None):
            exprs.append(None)
            continue
        found = tariff.lookup(codes[i], origins[i], on=on if on is not None else to_date(day))
        if found is None:
            exprs.append(None)
            if not bad[i]:
                report(sink, [i], lambda row: UnknownCodeError("no tariff line covers this code", column="hs_code",
                                                               row=row, value=codes[row]))
            continue
        exprs.append(found[0])
    for kind, col in QUANTITY_COLUMNS.items():
        for i in range(n):
            e = exprs[i]
            if e is not None and not bad[i] and qty[kind][i] is None and _uses(e, kind):
                report(sink, [i], lambda row: (MissingColumnError if col not in cols else InvalidValueError)(
                    f"the tariff line for code {codes[row]} charges per unit of {kind}; give {col}",
                    column=col, row=row))
    if sink is not None:
        return None
    for e in dict.fromkeys(exprs):
        _check_compilable(e, ccy, exp)

    def dest_of(c: Any) -> str:
        return str(percons["destination"][c] if "destination" in percons else vat.default_destination)

    rate_of_item: list[Fraction] = []
    for i in range(n):
        dest, cat = dest_of(cons[i]), vat.category_of(codes[i])
        if cat not in vat.rates[dest]:
            raise RegimeError(f"regime {reg.id}: destination {dest} has no {cat!r} VAT rate")
        pct = Fraction(vat.rates[dest][cat]) / 100
        rate_of_item.append((pct if vat.method == "exclusive" else pct / (1 - pct)) * Fraction(vat.factor))

    cons_order = list(dict.fromkeys(cons))
    members: dict[Any, list[int]] = {c: [] for c in cons_order}
    for i, c in enumerate(cons):
        members[c].append(i)
    aggs = reg.aggregations()
    for per in ("consignee_day", "consignee_year"):
        if per in aggs:
            for col in ("consignee", "date"):
                if col not in percons:
                    raise MissingColumnError(f"regime {reg.id} aggregates {per}; give {col}", column=col)
    # the consignment-level columns that rules and fees restrict must be there (nature defaults to
    # "sale"; an unknown place of shipment matches no rule that names one)
    restricted = [(col, vals) for r in reg.rule_slots() if r is not None for col, vals in r.allowed().items()]
    restricted += [("transport", fee.transports) for fee in reg.fees if fee.transports is not None]
    for col, _ in restricted:
        if col not in percons and col not in RULE_COLUMN_DEFAULTS and col != "shipped_from":
            raise MissingColumnError(f"regime {reg.id} has {col} conditions; give {col}", column=col)

    def consignment_value(col: str, c: Any) -> Any:
        if col in percons:
            return percons[col][c]
        return RULE_COLUMN_DEFAULTS.get(col)

    # --- 1. conversion into the customs currency
    def convert(amount: Decimal, cur: str, row: int, what: str, factor: Decimal = Decimal(1)) -> int:
        r = reg.rounding["conversion"]
        with decimal.localcontext() as ctx:
            ctx.prec = 200  # every product below is exact at this precision
            scale = Decimal(10) ** exp * factor
            if cur == ccy:
                num, den = amount * scale, Decimal(1)
            elif rates.quote == "foreign_per_base":
                num, den = amount * scale, rates.rates[cur]
            else:
                num, den = amount * rates.rates[cur] * scale, Decimal(1)
            source_minor = amount * Decimal(10) ** CURRENCY_EXPONENTS[cur]
            if num == den * source_minor:  # a factor of exactly 1 converts nothing and rounds nothing
                out = int(source_minor)
            else:
                out = round_ratio(num, den, r.quantum_minor(exp), r.mode)
        return _fits(out, what, row)

    # item values carry the regime's valuation factor (JP: personal-use goods at 60% of retail)
    intrinsic = [convert(values[i], curs[i], i, "converted value", reg.valuation_factor) for i in range(n)]
    for i in range(n):
        trace(i, f"value {values[i]} {curs[i]} -> {intrinsic[i]} minor units of {ccy} "
                 f"(conversion rounding {reg.rounding['conversion'].mode})")

    c_intr: dict[Any, int] = {}
    c_transport: dict[Any, int] = {}
    c_cust: dict[Any, int] = {}
    cif = reg.valuation == "CIF"
    for c in cons_order:
        first = members[c][0]
        c_intr[c] = _fits(sum(intrinsic[i] for i in members[c]), "consignment value", first)
        fc = percons["freight_currency"][c]
        f = convert(percons.get("freight", {}).get(c, Decimal(0)), fc, first, "freight")
        ins = convert(percons.get("insurance", {}).get(c, Decimal(0)), fc, first, "insurance")
        c_transport[c] = _fits(f + ins, "freight and insurance", first)
        c_cust[c] = _fits(c_intr[c] + (c_transport[c] if cif else 0), "consignment value", first)

    # --- 2. aggregates of consignment-level conditions
    def aggregate(cond: Condition) -> dict[Any, int]:
        base = c_intr if cond.basis == "intrinsic" else c_cust
        if cond.per == "consignment":
            return dict(base)
        dates = {c: to_date(percons["date"][c]) for c in cons_order}
        key = {c: (percons["consignee"][c], dates[c] if cond.per == "consignee_day" else dates[c].year)
               for c in cons_order}
        out: dict[Any, int] = {}
        if cond.per == "consignee_day":
            sums: dict[Any, int] = {}
            for c in cons_order:
                sums[key[c]] = _fits(sums.get(key[c], 0) + base[c], "consignee aggregate value", members[c][0])
            return {c: sums[key[c]] for c in cons_order}
        running: dict[Any, int] = {}
        ordered = sorted(range(len(cons_order)), key=lambda j: (dates[cons_order[j]].toordinal(), j))
        for j in ordered:
            c = cons_order[j]
            running[key[c]] = _fits(running.get(key[c], 0) + base[c], "consignee aggregate value", members[c][0])
            out[c] = running[key[c]]
        return out

    rules: dict[str, list[Rule]] = {
        "duty_relief": list(reg.duty_relief), "vat_relief": list(reg.vat_relief),
        "collection_at_sale": [reg.collection_at_sale] if reg.collection_at_sale else [],
        "flat_duty": [reg.flat_duty.rule] if reg.flat_duty else [],
        "vat_reduction": [reg.vat_reduction.rule] if reg.vat_reduction else [],
        "simplified_duty": [reg.simplified_duty.rule] if reg.simplified_duty else [],
    }
    rule_aggs = {id(r): [aggregate(cd) if cd.per != "item" else None for cd in r.conditions]
                 for rs in rules.values() for r in rs}

    def rule_cons(r: Rule, c: Any) -> bool:
        for col, vals in r.allowed().items():
            if consignment_value(col, c) not in vals:
                return False
        if r.requires_collected_at_sale and not percons.get("collected_at_sale", {}).get(c, False):
            return False
        for cd, agg in zip(r.conditions, rule_aggs[id(r)]):
            if agg is not None and not _compare(agg[c], cd, reg.amount_minor(cd.threshold, "threshold")):
                return False
        return True

    def rule_item(r: Rule, i: int, customs: int) -> bool:
        if r.excludes(codes[i], origins[i]):
            return False
        for cd in r.conditions:
            if cd.per == "item":
                x = intrinsic[i] if cd.basis == "intrinsic" else customs
                if not _compare(x, cd, reg.amount_minor(cd.threshold, "threshold")):
                    return False
        return True

    def applies(name: str, c: Any, i: int, customs: int) -> bool:
        """Some rule of that name applies to item i of consignment c."""
        return any(rule_cons(r, c) and rule_item(r, i, customs) for r in rules[name])

    def base_rounded(kind: str, v: int) -> int:
        """The value a duty or VAT is computed on, rounded first where the regime says so."""
        if kind not in reg.rounding:
            return v
        r = reg.rounding[kind]
        return round_ratio(v, 1, r.quantum_minor(exp), r.mode)

    def waive(target: str, idx: list[int], duty: dict[int, int], vat_b: dict[int, int], rule: dict[int, int]) -> None:
        """Amounts > 0 at or below a waiver's threshold (per item, or in total) are not collected."""
        def amount(i: int) -> int:
            return (duty[i] if target != "vat" else 0) + (vat_b[i] if target != "duty" else 0)

        def covered(w: Any, i: int) -> bool:  # excluded goods are neither counted nor waived
            return not (w.excluded_codes and codes[i].startswith(w.excluded_codes))

        def clear(i: int) -> None:
            if target != "vat" and duty[i] > 0:
                duty[i] = 0
                rule[i] |= BIT["duty_waived"]
            if target != "duty" and vat_b[i] > 0:
                vat_b[i] = 0
                rule[i] |= BIT["vat_waived"]

        for w in reg.waivers:
            if w.target != target:
                continue
            thr = reg.amount_minor(w.threshold, "waiver threshold")
            if w.per == "item":
                for i in idx:
                    if covered(w, i) and amount(i) > 0 and _compare(_fits(amount(i), "total", i), w, thr):
                        clear(i)
                        trace(i, f"{target} waived: {amount(i)} is within {w.threshold}")
            else:
                total = _fits(sum(amount(i) for i in idx if covered(w, i)), "total", idx[0])
                if total > 0 and _compare(total, w, thr):
                    for i in idx:
                        if not covered(w, i):
                            continue
                        clear(i)
                        trace(i, f"{target} waived: the consignment's {total} is within {w.threshold}")

    reduction = Fraction(reg.vat_reduction.factor) if reg.vat_reduction else Fraction(1)

    # --- 3. per consignment
    out = {k: [0] * n for k in ("intrinsic", "customs_value", "duty", "duty_at_sale", "vat", "vat_at_sale", "fees",
                                "total", "rule")}
    out["intrinsic"] = list(intrinsic)
    cons_out: dict[str, list[int]] = {k: [] for k in ("intrinsic", "customs_value", "duty", "duty_at_sale", "vat",
                                                     "vat_at_sale", "fees", "total", "items")}
    rd, rv, rf = reg.rounding["duty"], reg.rounding["vat"], reg.rounding["fee"]
    sd = reg.simplified_duty
    for c in cons_order:
        idx = members[c]
        rule = {i: 0 for i in idx}
        transport = dict(zip(idx, allocate(c_transport[c], [intrinsic[i] for i in idx])))
        customs = {i: intrinsic[i] + (transport[i] if cif else 0) for i in idx}
        sale = {i: applies("collection_at_sale", c, i, customs[i]) for i in idx}
        for i in idx:
            trace(i, f"consignment {cons_ids[c]!r}: intrinsic {c_intr[c]}, freight+insurance {c_transport[c]} "
                     f"({reg.valuation}); item's share {transport[i]}; customs value {customs[i]}")
        band = None
        if sd is not None:
            basis_value = c_intr[c] if sd.basis == "intrinsic" else c_cust[c]
            band = next((b for b in sd.bands if basis_value <= reg.amount_minor(b.up_to, "band")), None)

        # duty: flat per distinct key, simplified by value band, relief, or the tariff
        duty = {i: 0 for i in idx}
        duty_sale = {i: 0 for i in idx}
        flat_groups: dict[str, list[int]] = {}
        simple: list[int] = []
        tariff_groups: dict[Expr, list[int]] = {}
        for i in idx:
            if applies("flat_duty", c, i, customs[i]):
                rule[i] |= BIT["flat_duty"]
                assert reg.flat_duty is not None
                flat_groups.setdefault(codes[i][:reg.flat_duty.key_digits], []).append(i)
            elif band is not None and applies("simplified_duty", c, i, customs[i]):
                rule[i] |= BIT["simplified_duty"]
                simple.append(i)
            elif applies("duty_relief", c, i, customs[i]):
                rule[i] |= BIT["duty_relief"]
                trace(i, "duty relief applies: no duty")
            elif isinstance(exprs[i], CannotAssess):
                rule[i] |= BIT["cannot_assess"]
                trace(i, f"duty cannot be assessed: {exprs[i]}")
            elif rd.level == "item":
                q = {k: qty[k][i] or 0 for k in qty}
                value = base_rounded("duty_base", customs[i])
                duty[i] = _fits(duty_amount(exprs[i], value, q, ccy, exp, rd), "duty", i)
                trace(i, f"duty {exprs[i]} on value {value}, quantities {q} -> {duty[i]}")
            else:
                tariff_groups.setdefault(exprs[i], []).append(i)
        if simple:
            assert band is not None and sd is not None
            v = c_intr[c] if sd.basis == "intrinsic" else c_cust[c]
            gross = _fits(_rnd(v * Fraction(band.percent) / 100, rd, exp), "duty", simple[0])
            amount = max(0, gross - reg.amount_minor(band.deduction, "band deduction"))
            for i, p in zip(simple, allocate(amount, [customs[i] for i in simple])):
                duty[i] = p
                trace(i, f"simplified duty {band.percent}% of {v} less {band.deduction} -> {amount}; item's share {p}")
        for key, g in flat_groups.items():
            assert reg.flat_duty is not None
            parts = allocate(reg.amount_minor(reg.flat_duty.amount, "flat_duty amount"), [intrinsic[i] for i in g])
            for i, p in zip(g, parts):
                duty[i] = p
                trace(i, f"flat duty {reg.flat_duty.amount} {ccy} for key {key} shared by {len(g)} item(s) -> {p}")
        for e, g in tariff_groups.items():
            sv = _fits(sum(customs[i] for i in g), "consignment quantity", g[0])
            sq = {}
            for k in qty:
                sq[k] = _fits(sum(qty[k][i] or 0 for i in g), "consignment quantity", g[0])
            value = base_rounded("duty_base", sv)
            amount = _fits(duty_amount(e, value, sq, ccy, exp, rd), "duty", g[0])
            for i, p in zip(g, allocate(amount, [customs[i] for i in g])):
                duty[i] = p
                trace(i, f"duty {e} on the consignment's summed value {value} -> {amount}; item's share {p}")
        if reg.collection_at_sale_includes_duty:
            for i in idx:
                if sale[i] and duty[i] > 0:
                    duty_sale[i], duty[i] = duty[i], 0
                    rule[i] |= BIT["duty_at_sale"]
                    trace(i, f"duty {duty_sale[i]} collected at sale")
        vat_b = {i: 0 for i in idx}
        waive("duty", idx, duty, vat_b, rule)

        # VAT
        vat_sale = {i: 0 for i in idx}
        vat_groups: dict[tuple[Fraction, bool], list[int]] = {}
        base = {}
        for i in idx:
            base[i] = _fits(customs[i] + duty[i] + duty_sale[i]
                            + (transport[i] if (not cif and vat.adds_transport) else 0), "VAT", i)
            if not sale[i] and applies("vat_relief", c, i, customs[i]):
                rule[i] |= BIT["vat_relief"]
                trace(i, "VAT relief applies: no VAT")
                continue
            if sale[i]:
                rule[i] |= BIT["vat_at_sale"]
            rate = rate_of_item[i]
            if applies("vat_reduction", c, i, customs[i]):
                rate = rate * reduction
                rule[i] |= BIT["vat_reduced"]
            if rv.level == "item":
                b_r = base_rounded("vat_base", base[i])
                v = _fits(_rnd(b_r * rate, rv, exp), "VAT", i)
                (vat_sale if sale[i] else vat_b)[i] = v
                trace(i, f"VAT base {b_r} x {rate} -> {v}" + (" collected at sale" if sale[i] else ""))
            else:
                vat_groups.setdefault((rate, sale[i]), []).append(i)
        for (rate, s), g in vat_groups.items():
            sb = base_rounded("vat_base", _fits(sum(base[i] for i in g), "VAT", g[0]))
            amount = _fits(_rnd(sb * rate, rv, exp), "VAT", g[0])
            for i, p in zip(g, allocate(amount, [base[i] for i in g])):
                (vat_sale if s else vat_b)[i] = p
                trace(i, f"VAT on the consignment's summed base {sb} x {rate} -> {amount}; item's share {p}")
        waive("vat", idx, duty, vat_b, rule)
        waive("duty_and_vat", idx, duty, vat_b, rule)

        # fees
        due = any(duty[i] > 0 or vat_b[i] > 0 for i in idx)
        fee_total = 0
        for fee in reg.fees:
            cv = c_cust[c]
            if fee.transports is not None and percons["transport"][c] not in fee.transports:
                continue
            if fee.when == "not_relieved" and all(rule[i] & BIT["duty_relief"] for i in idx):
                continue
            if fee.when == "due" and not due:
                continue
            if fee.value_above is not None and not cv > reg.amount_minor(fee.value_above, "fee"):
                continue
            if fee.value_up_to is not None and not cv <= reg.amount_minor(fee.value_up_to, "fee"):
                continue
            amount = _rnd(cv * Fraction(fee.percent) / 100, rf, exp) if fee.percent else 0
            amount = _fits(amount + reg.amount_minor(fee.amount, "fee"), "fee", idx[0])
            if fee.minimum is not None:
                amount = max(amount, reg.amount_minor(fee.minimum, "fee"))
            if fee.maximum is not None:
                amount = min(amount, reg.amount_minor(fee.maximum, "fee"))
            if fee.per == "item":
                amount = _fits(amount * len(idx), "fee", idx[0])
            fee_total = _fits(fee_total + amount, "fee", idx[0])
            trace(idx[0], f"fee {fee.name}: {amount}")
        fees = dict(zip(idx, allocate(fee_total, [customs[i] for i in idx])))

        # totals
        for i in idx:
            if fees[i] > 0:
                rule[i] |= BIT["fee"]
            out["customs_value"][i] = customs[i]
            out["duty"][i], out["duty_at_sale"][i] = duty[i], duty_sale[i]
            out["vat"][i], out["vat_at_sale"][i], out["fees"][i] = vat_b[i], vat_sale[i], fees[i]
            out["total"][i] = _fits(duty[i] + vat_b[i] + fees[i], "total", i)
            out["rule"][i] = rule[i]
            trace(i, f"duty {duty[i]} + VAT {vat_b[i]} + fees {fees[i]} = {out['total'][i]} due at the border; "
                     f"at sale: duty {duty_sale[i]}, VAT {vat_sale[i]}; rules: {', '.join(rule_names(rule[i])) or 'none'}")
        cons_out["intrinsic"].append(c_intr[c])
        cons_out["customs_value"].append(c_cust[c])
        cons_out["items"].append(len(idx))
        for k in ("duty", "duty_at_sale", "vat", "vat_at_sale", "fees", "total"):
            cons_out[k].append(_fits(sum(out[k][i] for i in idx), "total", idx[0]))

    position = {c: k for k, c in enumerate(cons_order)}
    return Assessment(
        items={k: np.array(v, dtype=np.int32 if k == "rule" else np.int64) for k, v in out.items()},
        consignment_ids=cons_ids,
        consignments={k: np.array(v, dtype=np.int64) for k, v in cons_out.items()},
        currency=ccy, provenance=make_provenance(reg, tariff, rates_given, on, engine="reference"),
        inputs=Inputs(cols, [position[c] for c in cons], reg, tariff, rates_given, on, currency, amounts))


def _uses(expr: Expr, kind: str) -> bool:
    from .tariff.expr import quantities_used
    return kind in quantities_used(expr)


def explain(inputs: Inputs, i: int, stored: Assessment | None = None) -> str:
    """Recompute item i with the reference, from what the assessment read, and return its derivation.

    Only the rows that can influence item i are recomputed: its consignment, or,
    where the regime aggregates per consignee, every consignment of its consignee.
    With `stored` (the assessment explained), a stored amount that differs from the
    derivation is named.
    """
    reg, n = inputs.regime, len(inputs)
    if not 0 <= i < n:
        raise IndexError(f"row {i} is outside 0..{n - 1}")
    per_consignee = bool({"consignee_day", "consignee_year"} & reg.aggregations()) and "consignee" in inputs.columns
    rows = inputs.rows(i, per_consignee)
    at = int(np.searchsorted(rows, i))  # item i among the rows recomputed
    trace = _Trace(at)
    result = assess(inputs.take(rows), regime=reg, tariff=inputs.tariff, rates=inputs.rates, on=inputs.on,
                    currency=inputs.currency, amounts=inputs.amounts, _trace=trace)
    cons = inputs.value("consignment", i)
    lines = [f"item {i} (consignment {cons!r}, code {inputs.value('hs_code', i)}) under {reg.id}, "
             f"amounts in minor units of {reg.currency}:"]
    lines += [f"  {k + 1}. {t}" for k, t in enumerate(trace.lines)]
    if stored is not None:
        for k in (*ITEM_AMOUNTS, "rule"):
            if int(stored.items[k][i]) != int(result.items[k][at]):
                lines.append(f"  WARNING: the assessment holds {k} {int(stored.items[k][i])} where this derivation "
                             f"gives {int(result.items[k][at])} (its arrays were overwritten, or the engines differ)")
    if result.rule[at] & CANNOT_ASSESS:
        [reason] = inputs.not_assessed_reasons(np.array([i]))
        lines.append(f"  duty NOT assessed: {reason}; the total below lacks it")
    mine = inputs.consignment_index[rows] == inputs.consignment_index[i]
    others = [int(r) for r in rows[mine & ((result.rule & CANNOT_ASSESS) != 0)] if r != i]
    if others:
        lines.append(f"  consignment {cons!r} is incomplete: the duty of item(s) {', '.join(map(str, others))} "
                     "could not be assessed; the consignment's totals lack it")
    lines.append(f"  total due at the border: {result.as_decimal('total', at)} {reg.currency}")
    return "\n".join(lines)
