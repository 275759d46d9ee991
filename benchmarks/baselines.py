"""The same semantics without deminimis: vectorised numpy and polars, exact in int64.

These are what a careful data engineer would write to assess the benchmark
workload without the library, and they are what the engine's speed is measured
against.  A baseline that computes something else proves nothing, so
``test_baselines.py`` checks that both produce exactly the engine's item and
consignment columns on the benchmark data.

Scope: the mechanisms of the EU regime in force from 2026-07-01 (and any regime
restricted to them), per docs/semantics.md sections 2-8:

- conversion into the customs currency, ``R(a * mul / div)`` per item (2);
- CIF: consignment transport = converted freight (+ insurance), allocated to
  items by intrinsic value by largest remainder, ties to the earlier item (3, 10);
- rules whose conditions are per consignment (intrinsic or customs basis,
  ``<=`` or ``<``), with ``requires_collected_at_sale`` and excluded code
  prefixes (4);
- duty: a flat amount per distinct ``key_digits`` key of the consignment's
  flat-duty items, allocated by intrinsic value; else the ad valorem tariff
  rate on the customs value (5);
- VAT exclusive (with a factor) by destination and category on customs value +
  duty; collection at sale reports it in ``vat_at_sale`` (6);
- no reliefs, waivers or fees; every rounding at item level, half up (any
  quantum).  ``check_supported`` refuses any other regime rather than compute
  something else.

Exactness: every amount is int64; rounding is integer ``divmod`` (never float,
never ``np.bincount(weights=)``, which sums in float64); every product is
guarded by a check on the operands' maxima (numpy and polars wrap silently on
int64 overflow); inputs are checked non-negative, which the unsigned half-up
division relies on (``div_half_up`` is the signed form, see PERFORMANCE.md's
traps).

Each baseline has an *encoder* (string ids, codes, currencies and destinations
to integers; tariff resolution once per distinct code) and a *core* (integer
columns to amounts), timed separately like the engine's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

import numpy as np

INT64_MAX = 2**63 - 1
#: the engine's output columns (duty_at_sale: duty collected at sale, 0 unless a regime's
#: collection at sale includes duty, which check_supported refuses)
ITEM_OUT = ("intrinsic", "customs_value", "duty", "duty_at_sale", "vat", "vat_at_sale", "fees", "total", "rule")
CONS_OUT = ("intrinsic", "customs_value", "duty", "duty_at_sale", "vat", "vat_at_sale", "fees", "total", "items")
RULE_FLAT_DUTY, RULE_VAT_AT_SALE = 2, 16


# --------------------------------------------------------------------------- tables

@dataclass(frozen=True)
class RuleSpec:
    """A rule reduced to what the baselines evaluate: consignment-level conditions."""

    enabled: bool
    requires_flag: bool = False
    conds: tuple[tuple[str, int, bool], ...] = ()  # (basis, threshold minor, inclusive)


@dataclass
class Tables:
    """Per-distinct-value tables (O(distinct), built once) and regime parameters."""

    codes: list[str]              # code strings, index = code id
    currencies: list[str]
    destinations: list[str]
    conv_mul: np.ndarray          # per currency: customs minor = R(a * mul / div)
    conv_div: np.ndarray
    adv_num: np.ndarray           # per code: duty = R(customs_value * num / den)
    adv_den: np.ndarray
    flat_key: np.ndarray          # per code: id of its first key_digits digits
    excl_flat: np.ndarray         # per code: excluded from the flat duty
    excl_sale: np.ndarray         # per code: excluded from collection at sale
    vat_cat: np.ndarray           # per code: VAT category id
    vat_num: np.ndarray           # [destination, category]: effective rate
    vat_den: np.ndarray
    cif: bool
    q_conv: int                   # rounding quanta in minor units
    q_duty: int
    q_vat: int
    flat_amount: int
    flat: RuleSpec
    at_sale: RuleSpec


#: Regime fields the baselines implement, or that do not change amounts; every other
#: field must be empty/neutral (a new mechanism is refused until a baseline implements it).
_HANDLED = {"id", "currency", "vat", "jurisdiction", "name", "valuation", "valid_from", "valid_to",
            "collection_at_sale", "flat_duty", "rounding", "sources", "unverified", "notes"}
_NEUTRAL = {"valuation_factor": 1}


def check_supported(regime: Any) -> None:
    """Refuse a regime with a mechanism the baselines do not implement."""
    import dataclasses
    problems = []
    for f in dataclasses.fields(regime):
        v = getattr(regime, f.name)
        if f.name in ("duty_relief", "vat_relief"):  # reliefs the workload's sales can meet
            v = tuple(r for r in v if _meets_sales(r))
        if f.name in _HANDLED:
            continue
        if f.name in _NEUTRAL:
            if v != _NEUTRAL[f.name]:
                problems.append(f"{f.name}={v}")
        elif v:
            problems.append(f.name)
    if regime.vat.method != "exclusive" or regime.vat.adds_transport:
        problems.append("VAT other than exclusive")
    for kind, r in regime.rounding.items():
        if kind not in ("conversion", "duty", "vat", "fee") or r.mode != "half_up" or r.level != "item":
            problems.append(f"{kind} rounding {r.mode}/{r.level}")
    for r in (_one(regime.collection_at_sale), _one(regime.flat_duty.rule if regime.flat_duty else None)):
        if r is None:
            continue
        if r.transports is not None or r.excluded_origins:
            problems.append("transport or origin conditions")
        if any(c.per != "consignment" for c in r.conditions):
            problems.append("conditions not per consignment")
    if problems:
        raise NotImplementedError(f"baselines do not implement {sorted(set(problems))} (regime {regime.id})")


def _meets_sales(rule: Any) -> bool:
    """The workload has no nature column, so every consignment is a sale: a rule for gifts only
    (the EU's EUR 45 gift relief) never applies to it and needs no baseline."""
    return rule.natures is None or "sale" in rule.natures


def _one(rule: Any) -> Any:
    """A rule slot: None, one rule, or a tuple of alternatives (only one is implemented)."""
    if isinstance(rule, tuple):
        if len(rule) > 1:
            raise NotImplementedError("baselines implement one rule per slot, not alternatives")
        return rule[0] if rule else None
    return rule


def _rule_spec(rule: Any, regime: Any) -> RuleSpec:
    if rule is None:
        return RuleSpec(enabled=False)
    return RuleSpec(enabled=True, requires_flag=bool(rule.requires_collected_at_sale),
                    conds=tuple((c.basis, regime.amount_minor(c.threshold, "threshold"), bool(c.inclusive))
                                for c in rule.conditions))


def build_tables(regime: Any, codes: Sequence[str], duties: Sequence[str], currencies: Sequence[str],
                 rates: dict[str, str], destinations: Sequence[str]) -> Tables:
    """Tables from the regime and the plain data (code -> "x%", currency -> rate string).

    Deliberately reads no compiled engine structure: rates are parsed here from
    their decimal strings, percentages from the tariff's text.
    """
    check_supported(regime)
    e = regime.exponent
    from deminimis.money import CURRENCY_EXPONENTS  # ISO 4217 data, not engine logic
    mul, div = [], []
    for c in currencies:
        if c == regime.currency:
            f = Fraction(1)
        else:
            f = Fraction(10) ** (e - CURRENCY_EXPONENTS[c]) / Fraction(Decimal(rates[c]))
        mul.append(f.numerator)
        div.append(f.denominator)
    adv = [Fraction(Decimal(d.strip().rstrip("%"))) / 100 for d in duties]
    kd = regime.flat_duty.key_digits if regime.flat_duty else 6
    key_ids: dict[str, int] = {}
    flat_key = [key_ids.setdefault(c[:kd], len(key_ids)) for c in codes]
    cats = list(dict.fromkeys(["standard", *regime.vat.categories]))
    vat_cat = [cats.index(regime.vat.category_of(c)) for c in codes]
    vnum = np.zeros((len(destinations), len(cats)), dtype=np.int64)
    vden = np.ones((len(destinations), len(cats)), dtype=np.int64)
    for i, d in enumerate(destinations):
        for j, cat in enumerate(cats):
            if cat in regime.vat.rates[d]:
                r = Fraction(regime.vat.rates[d][cat]) / 100 * Fraction(regime.vat.factor)
                vnum[i, j], vden[i, j] = r.numerator, r.denominator
    fr = _one(regime.flat_duty.rule if regime.flat_duty else None)
    sr = _one(regime.collection_at_sale)
    return Tables(
        codes=list(codes), currencies=list(currencies), destinations=list(destinations),
        conv_mul=np.array(mul, dtype=np.int64), conv_div=np.array(div, dtype=np.int64),
        adv_num=np.array([a.numerator for a in adv], dtype=np.int64),
        adv_den=np.array([a.denominator for a in adv], dtype=np.int64),
        flat_key=np.array(flat_key, dtype=np.int64),
        excl_flat=np.array([bool(fr and fr.excludes(c, "")) for c in codes], dtype=bool),
        excl_sale=np.array([bool(sr and sr.excludes(c, "")) for c in codes], dtype=bool),
        vat_cat=np.array(vat_cat, dtype=np.int64), vat_num=vnum, vat_den=vden,
        cif=regime.valuation == "CIF",
        q_conv=regime.rounding["conversion"].quantum_minor(e), q_duty=regime.rounding["duty"].quantum_minor(e),
        q_vat=regime.rounding["vat"].quantum_minor(e),
        flat_amount=regime.amount_minor(regime.flat_duty.amount, "flat") if regime.flat_duty else 0,
        flat=_rule_spec(fr, regime), at_sale=_rule_spec(sr, regime))


def tables_for(workload: Any) -> Tables:
    from workload import CURRENCIES, DESTINATIONS, RATES
    return build_tables(workload.regime, workload.codes.codes, workload.codes.duties, CURRENCIES, RATES,
                        DESTINATIONS)


# --------------------------------------------------------------------------- exact integer helpers

def check_product(a_max: int, b_max: int, what: str) -> None:
    """Raise instead of letting int64 wrap: numpy and polars never say a word."""
    if int(a_max) * int(b_max) > INT64_MAX:
        raise OverflowError(f"{what}: {int(a_max)} x {int(b_max)} does not fit in int64")


def div_half_up(n: np.ndarray, d: np.ndarray | int) -> np.ndarray:
    """round(n / d) with ties away from zero, for any sign of n (d > 0), exact.

    ``floor((n + d/2) / d)`` is wrong for negative n (-2.5 -> -2); this is not.
    """
    a = np.abs(n)
    q, r = np.divmod(a, d)
    q += (2 * r >= d)
    return np.where(n < 0, -q, q)


def div_half_up_nonneg(n: np.ndarray, d: np.ndarray | int) -> np.ndarray:
    """div_half_up for n >= 0 (the caller has checked): one divmod, no sign handling."""
    q, r = np.divmod(n, d)
    q += (r >= d - r)  # 2r >= d without forming 2r
    return q


def round_to(n: np.ndarray, d: np.ndarray | int, quantum: int) -> np.ndarray:
    """quantum * R(n / (d * quantum)), half up, n >= 0."""
    if quantum == 1:
        return div_half_up_nonneg(n, d)
    return div_half_up_nonneg(n, d * quantum) * quantum


# --------------------------------------------------------------------------- numpy

class Groups:
    """Dense group ids with exact int64 sums, from any integer keys.

    Sorted keys (the usual case: a file's items of one consignment adjacent) are
    detected with one pass and need no sort; otherwise one stable argsort.  Group
    ids follow key order, so keys that are first-appearance ids keep that order.
    Sums use ``np.add.reduceat`` (exact int64), never ``np.bincount(weights=)``.
    """

    def __init__(self, keys: np.ndarray, *, dense: bool = False) -> None:
        n = len(keys)
        if n and np.all(keys[1:] >= keys[:-1]):
            self.order = None
            s = keys
        else:
            self.order = np.argsort(keys, kind="stable")
            s = keys[self.order]
        boundary = np.r_[True, s[1:] != s[:-1]] if n else np.zeros(0, dtype=bool)
        self.starts = np.flatnonzero(boundary)
        self.n = len(self.starts)
        self.count = np.diff(np.r_[self.starts, n])
        if dense:  # keys are already 0..G-1
            self.ids = keys
        else:
            ids = np.cumsum(boundary) - 1
            if self.order is not None:
                ids[self.order] = ids.copy()
            self.ids = ids

    def sum(self, x: np.ndarray) -> np.ndarray:
        if not len(x):
            return np.zeros(self.n, dtype=np.int64)
        return np.add.reduceat(x if self.order is None else x[self.order], self.starts)

    def first(self, x: np.ndarray) -> np.ndarray:
        pos = self.starts if self.order is None else self.order[self.starts]
        return x[pos]


def factorize_np(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(ids in first-appearance order, distinct values in that order): np.unique sorts."""
    uniq, first, inv = np.unique(a, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order), dtype=np.int64)
    return rank[inv.reshape(-1)], uniq[order]


def allocate_np(total: np.ndarray, w: np.ndarray, g: Groups) -> np.ndarray:
    """Largest remainder of total[group] over its items by weight w (section 10), vectorised.

    Only groups with units left over need the ranking sort, and only their items enter it.
    """
    gid = g.ids
    W = g.sum(w)
    zero = W == 0
    if zero.any():
        w = np.where(zero[gid], 1, w)
        W = np.where(zero, g.count, W)
    p = total[gid] * w
    q, r = np.divmod(p, W[gid])
    left = total - g.sum(q)
    need = np.flatnonzero((left > 0)[gid])
    if len(need):
        # rank the remainders within each group: largest first, earlier item first on ties
        order = np.lexsort((need, -r[need], gid[need]))
        srt = need[order]
        sg = gid[srt]
        start = np.flatnonzero(np.r_[True, sg[1:] != sg[:-1]])
        rank = np.arange(len(srt)) - np.repeat(start, np.diff(np.r_[start, len(srt)]))
        q[srt[rank < left[sg]]] += 1
    return q


def _cond_np(spec: RuleSpec, c_intr: np.ndarray, c_cust: np.ndarray, flag: np.ndarray) -> np.ndarray:
    ok = np.ones(len(c_intr), dtype=bool) if spec.enabled else np.zeros(len(c_intr), dtype=bool)
    if not spec.enabled:
        return ok
    if spec.requires_flag:
        ok &= flag
    for basis, thr, inclusive in spec.conds:
        x = c_intr if basis == "intrinsic" else c_cust
        ok &= (x <= thr) if inclusive else (x < thr)
    return ok


def guard(n: int, vmin: int, vmax: int, fmin: int, fmax: int, t: Tables) -> None:
    """Prove from the inputs' extremes that no product or sum below leaves int64.

    Every per-item amount is bounded by per-item quantities: intrinsic <= I,
    transport share <= T (the consignment's transport), customs value <= I + T,
    duty <= D, VAT base <= I + T + D; consignment sums <= n times those.
    Refusing here is the honest alternative to a silent wrap.
    """
    if n == 0:
        return
    if vmin < 0 or fmin < 0:
        raise ValueError("amounts must not be negative")
    check_product(vmax, t.conv_mul.max(), "conversion")
    check_product(fmax, t.conv_mul.max(), "freight conversion")
    ratio = max(Fraction(int(m), int(d)) for m, d in zip(t.conv_mul, t.conv_div))
    i_max = int(vmax * ratio) + 1
    t_max = int(fmax * ratio) + 1 if t.cif else 0
    check_product(max(t_max, t.flat_amount), i_max, "allocation")
    check_product(i_max + t_max, t.adv_num.max(), "duty")
    d_max = max(int((i_max + t_max) * max(Fraction(int(a), int(b)) for a, b in zip(t.adv_num, t.adv_den))) + 1,
                t.flat_amount)
    check_product(i_max + t_max + d_max, t.vat_num.max(), "VAT")
    check_product(n, 2 * (i_max + t_max + d_max), "consignment sums")


def assess_numpy(ints: dict[str, np.ndarray], t: Tables) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The core on integer columns: cons (first-appearance ids), code, cur, dest, at_sale, value, freight."""
    cons, code, cur = ints["cons"], ints["code"], ints["cur"]
    value, freight = ints["value"], ints["freight"]
    if len(value):
        guard(len(value), value.min(), value.max(), freight.min(), freight.max(), t)
    g = Groups(cons, dense=True)

    # 2. conversion, consignment values
    mul, div = t.conv_mul[cur], t.conv_div[cur]
    intrinsic = round_to(value * mul, div, t.q_conv)
    c_intr = g.sum(intrinsic)
    c_cur = g.first(cur)
    c_freight = g.first(freight)
    transport = round_to(c_freight * t.conv_mul[c_cur], t.conv_div[c_cur], t.q_conv) if t.cif else \
        np.zeros(g.n, dtype=np.int64)
    c_cust = c_intr + transport

    # 3. transport allocated by intrinsic value
    customs = intrinsic + allocate_np(transport, intrinsic, g)

    # 4-5. flat duty per distinct key, else ad valorem
    c_flag = g.first(ints["at_sale"])
    flat_c = _cond_np(t.flat, c_intr, c_cust, c_flag)
    flat = flat_c[cons] & ~t.excl_flat[code]
    adv_num, adv_den = t.adv_num[code], t.adv_den[code]
    duty = round_to(customs * adv_num, adv_den, t.q_duty)
    fi = np.flatnonzero(flat)
    if len(fi):
        key = cons[fi] * (int(t.flat_key.max()) + 1) + t.flat_key[code[fi]]
        kg = Groups(key)
        duty[fi] = allocate_np(np.full(kg.n, t.flat_amount, dtype=np.int64), intrinsic[fi], kg)

    # 6. VAT, at the border or collected at sale
    base = customs + duty
    vc = t.vat_cat[code]
    dest = ints["dest"]
    vnum, vden = t.vat_num[dest, vc], t.vat_den[dest, vc]
    vat_all = round_to(base * vnum, vden, t.q_vat)
    sale = _cond_np(t.at_sale, c_intr, c_cust, c_flag)[cons] & ~t.excl_sale[code]
    vat = np.where(sale, 0, vat_all)
    vat_at_sale = np.where(sale, vat_all, 0)

    # 7-8. no fees; totals
    fees = np.zeros(len(value), dtype=np.int64)
    total = duty + vat
    rule = (flat.astype(np.int32) * RULE_FLAT_DUTY) | (sale.astype(np.int32) * RULE_VAT_AT_SALE)
    items = {"intrinsic": intrinsic, "customs_value": customs, "duty": duty,
             "duty_at_sale": np.zeros(len(value), dtype=np.int64), "vat": vat,
             "vat_at_sale": vat_at_sale, "fees": fees, "total": total, "rule": rule}
    consignments = {"intrinsic": c_intr, "customs_value": c_cust, "duty": g.sum(duty),
                    "duty_at_sale": np.zeros(g.n, dtype=np.int64), "vat": g.sum(vat),
                    "vat_at_sale": g.sum(vat_at_sale), "fees": np.zeros(g.n, dtype=np.int64),
                    "total": g.sum(total), "items": g.count.astype(np.int64)}
    return items, consignments


def encode_numpy(cols: dict[str, np.ndarray], t: Tables) -> dict[str, np.ndarray]:
    """Strings to integer columns, the numpy way (np.unique sorts), resolving codes once per distinct code."""
    cons, _ = factorize_np(cols["consignment"])
    out = {"cons": cons, "value": np.asarray(cols["value"], dtype=np.int64),
           "freight": np.asarray(cols["freight"], dtype=np.int64),
           "at_sale": np.asarray(cols["collected_at_sale"], dtype=bool)}
    for col, key, names in (("hs_code", "code", t.codes), ("currency", "cur", t.currencies),
                            ("destination", "dest", t.destinations)):
        ids, uniq = factorize_np(cols[col])
        index = {v: k for k, v in enumerate(names)}
        try:
            table_row = np.array([index[str(u)] for u in uniq], dtype=np.int64)
        except KeyError as exc:
            raise KeyError(f"{col}: no table entry for {exc.args[0]!r}") from None
        out[key] = table_row[ids]
    return out


def assess_numpy_e2e(cols: dict[str, np.ndarray], t: Tables):
    return assess_numpy(encode_numpy(cols, t), t)


# --------------------------------------------------------------------------- polars

def _pl():
    import polars as pl
    return pl


def _round_pl(num, den, quantum: int):
    """quantum * R(num / (den * quantum)), half up, num >= 0: integer // and %."""
    d = den * quantum if quantum != 1 else den
    q = num // d
    r = num % d
    out = q + (r >= d - r).cast(_pl().Int64)
    return out * quantum if quantum != 1 else out


def _allocate_pl(x, key: str, total, w):
    """Largest remainder of `total` over the rows of each `key` group by weight `w` (section 10).

    Windows over a sorted integer key are cheap in polars; ``rank().over()`` over
    hundreds of thousands of small groups is not (~0.6 s per million rows), so
    the remainders are ranked with one global sort of the groups that have units
    left over, and the rank read off with a shift (earlier row first on ties).
    Returns the allocation aligned with x's rows.
    """
    pl = _pl()
    W = pl.col("w").sum().over(key)
    y = (x.lazy().select("pos", key, T=total, w=w)
         .with_columns(W=W, k=pl.len().over(key).cast(pl.Int64))
         .with_columns(w=pl.when(pl.col("W") == 0).then(1).otherwise(pl.col("w")),
                       W=pl.when(pl.col("W") == 0).then(pl.col("k")).otherwise(pl.col("W")))
         .with_columns(p=pl.col("T") * pl.col("w"))
         .with_columns(q=pl.col("p") // pl.col("W"), r=pl.col("p") % pl.col("W"))
         .with_columns(left=pl.col("T") - pl.col("q").sum().over(key))
         .collect())
    cand = (y.lazy().filter(pl.col("left") > 0).select("pos", key, "r", "left")
            .sort([key, "r", "pos"], descending=[False, True, False])
            .with_columns(i=pl.int_range(pl.len(), dtype=pl.Int64))
            .with_columns(start=pl.when((pl.col(key) != pl.col(key).shift(1)).fill_null(True))
                          .then(pl.col("i")).forward_fill())
            .filter(pl.col("i") - pl.col("start") < pl.col("left"))
            .select("pos").collect())
    return (y["q"] + y["pos"].is_in(cand["pos"].implode()).cast(pl.Int64)).alias("alloc")


def _cond_pl(spec: RuleSpec):
    pl = _pl()
    if not spec.enabled:
        return pl.lit(False)
    e = pl.col("at_sale") if spec.requires_flag else pl.lit(True)
    for basis, thr, inclusive in spec.conds:
        x = pl.col("c_intr") if basis == "intrinsic" else pl.col("c_cust")
        e = e & ((x <= thr) if inclusive else (x < thr))
    return e


def _guard_pl(df, t: Tables) -> None:
    """Operand extremes, checked before any product (polars wraps int64 silently)."""
    pl = _pl()
    m = df.select(pl.len(), pl.col("value").min().alias("a"), pl.col("value").max().alias("b"),
                  pl.col("freight").min().alias("c"), pl.col("freight").max().alias("d")).row(0)
    guard(*[int(x or 0) for x in m], t)


def _consignment_ids_pl(df):
    """Integer consignment ids in first-appearance order from string ids.

    Items of a consignment are adjacent in most files: then run ids (``rle_id``) are the
    ids, sorted, at the cost of one comparison per row, verified by counting the
    distinct ids.  Otherwise a join with the distinct ids in first-appearance order.
    """
    pl = _pl()
    runs = df.select(r=pl.col("consignment").rle_id().cast(pl.Int64))["r"]
    n_distinct = df.select(pl.col("consignment").n_unique()).item()
    if len(runs) == 0 or runs[-1] + 1 == n_distinct:
        return runs.set_sorted()
    ids = df.select(pl.col("consignment").unique(maintain_order=True)).with_row_index("cons_id")
    return df.join(ids, on="consignment", how="left", maintain_order="left")["cons_id"].cast(pl.Int64)


def assess_polars(df, t: Tables, *, by: str = "id"):
    """Polars, integer expressions: joins to the per-distinct tables, windows over consignments.

    ``df``: a polars DataFrame with columns cons, code, cur, dest, at_sale, value, freight
    (by='id': integer ids, consignment ids in first-appearance order), or the file's columns
    consignment, hs_code, currency, destination, collected_at_sale, value, freight
    (by='name': strings; codes, currencies and destinations are joined on their strings).
    Returns (items, consignments) DataFrames with the engine's column names.
    """
    pl = _pl()
    if by == "name":
        df = encode_polars(df, t)
    if df["cons"].is_sorted():  # adjacent consignments: let polars use its sorted-key paths
        df = df.with_columns(pl.col("cons").set_sorted())
    _guard_pl(df, t)
    c = "cons"

    def lookup(table: np.ndarray, idx):  # a per-distinct table gathered by integer id
        return pl.lit(pl.Series(table)).gather(idx)

    nk = t.vat_num.shape[1]
    vidx = pl.col("dest").cast(pl.Int64) * nk + pl.col("vat_cat")
    x = (df.lazy().with_row_index("pos")
         .with_columns(adv_num=lookup(t.adv_num, pl.col("code")), adv_den=lookup(t.adv_den, pl.col("code")),
                       fkey=lookup(t.flat_key, pl.col("code")), excl_flat=lookup(t.excl_flat, pl.col("code")),
                       excl_sale=lookup(t.excl_sale, pl.col("code")), vat_cat=lookup(t.vat_cat, pl.col("code")),
                       mul=lookup(t.conv_mul, pl.col("cur")), div=lookup(t.conv_div, pl.col("cur")))
         .with_columns(vnum=lookup(t.vat_num.reshape(-1), vidx), vden=lookup(t.vat_den.reshape(-1), vidx))
         .with_columns(intrinsic=_round_pl(pl.col("value") * pl.col("mul"), pl.col("div"), t.q_conv))
         .with_columns(
             c_intr=pl.col("intrinsic").sum().over(c),
             # freight is a consignment-level column, equal on the consignment's items
             transport=(_round_pl(pl.col("freight") * pl.col("mul"), pl.col("div"), t.q_conv)
                        if t.cif else pl.lit(0, dtype=pl.Int64)))
         .with_columns(c_cust=pl.col("c_intr") + pl.col("transport"))
         .with_columns(flat=_cond_pl(t.flat) & ~pl.col("excl_flat"),
                       sale=_cond_pl(t.at_sale) & ~pl.col("excl_sale"))
         .collect())
    x = x.with_columns(customs_value=pl.col("intrinsic") + _allocate_pl(x, c, pl.col("transport"), pl.col("intrinsic")))
    duty = x.select(_round_pl(pl.col("customs_value") * pl.col("adv_num"), pl.col("adv_den"), t.q_duty))
    duty = duty.to_series().alias("duty")
    fx = (x.lazy().filter(pl.col("flat"))
          .select("pos", "intrinsic", fk=pl.col(c).cast(pl.Int64) * (int(t.flat_key.max()) + 1) + pl.col("fkey"))
          .sort(["fk", "pos"]).collect().with_columns(pl.col("fk").set_sorted()))
    if len(fx):
        duty = duty.scatter(fx["pos"], _allocate_pl(fx, "fk", pl.lit(t.flat_amount, dtype=pl.Int64),
                                                    pl.col("intrinsic")))
    items = (x.lazy().with_columns(duty=duty)
             .with_columns(vat_all=_round_pl((pl.col("customs_value") + pl.col("duty")) * pl.col("vnum"),
                                             pl.col("vden"), t.q_vat))
             .select(
                 "cons", "intrinsic", "customs_value", "duty",
                 duty_at_sale=pl.lit(0, dtype=pl.Int64),
                 vat=pl.when(pl.col("sale")).then(0).otherwise(pl.col("vat_all")),
                 vat_at_sale=pl.when(pl.col("sale")).then(pl.col("vat_all")).otherwise(0),
                 fees=pl.lit(0, dtype=pl.Int64),
                 rule=(pl.col("flat").cast(pl.Int32) * RULE_FLAT_DUTY)
                 | (pl.col("sale").cast(pl.Int32) * RULE_VAT_AT_SALE))
             .with_columns(total=pl.col("duty") + pl.col("vat") + pl.col("fees"))
             .collect())
    consignments = (items.lazy()
                    .group_by("cons", maintain_order=True)
                    .agg(pl.col("intrinsic").sum(), pl.col("customs_value").sum(),
                         pl.col("duty").sum(), pl.col("duty_at_sale").sum(), pl.col("vat").sum(),
                         pl.col("vat_at_sale").sum(), pl.col("fees").sum(), pl.col("total").sum(),
                         pl.len().cast(pl.Int64).alias("items"))
                    .collect())
    return items.select(ITEM_OUT), consignments


def encode_polars(df, t: Tables):
    """The file's string columns to integer ids: consignments by run (verified) or first
    appearance, codes, currencies and destinations joined once against their tables."""
    pl = _pl()

    def ids(col: str, names: list[str]):
        table = pl.DataFrame({col: names}).with_row_index("id").with_columns(pl.col("id").cast(pl.Int32))
        out = df.select(col).join(table, on=col, how="left", maintain_order="left")["id"]
        if out.null_count():
            raise KeyError(f"{col}: a value has no table entry")
        return out

    return pl.DataFrame({"cons": _consignment_ids_pl(df), "code": ids("hs_code", t.codes),
                         "cur": ids("currency", t.currencies), "dest": ids("destination", t.destinations),
                         "at_sale": df["collected_at_sale"], "value": df["value"], "freight": df["freight"]})


def polars_frame(ints: dict[str, np.ndarray]):
    """The integer columns as a polars DataFrame (outside the timing)."""
    pl = _pl()
    return pl.DataFrame({k: ints[k] for k in ("cons", "code", "cur", "dest", "at_sale", "value", "freight")})


def assess_polars_core(ints: dict[str, np.ndarray], t: Tables):
    return assess_polars(polars_frame(ints), t)


def assess_polars_e2e(table: Any, t: Tables):
    """From a pyarrow Table with string ids and codes: joins on strings, windows over string ids."""
    pl = _pl()
    return assess_polars(pl.from_arrow(table), t, by="name")


def to_numpy_result(result) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Item and consignment columns of any baseline (or the engine) as numpy int arrays.

    A column the engine does not have (an older engine without duty_at_sale) is left out."""
    items, cons = result if isinstance(result, tuple) else (result.items, result.consignments)
    if not isinstance(items, dict):
        items = {k: items[k].to_numpy() for k in ITEM_OUT if k in items.columns}
    if not isinstance(cons, dict):
        cons = {k: cons[k].to_numpy() for k in CONS_OUT if k in cons.columns}
    cons = {k: v for k, v in cons.items() if k in CONS_OUT}  # the core's columns ('complete' is derived)
    return items, cons
