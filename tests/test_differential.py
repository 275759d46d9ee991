"""Differential tests: the native engine against the pure-Python reference.

Random regimes (every mechanism, every rounding mode, quantum and level), random
tariffs (ad valorem, specific per mass/volume/piece/pure alcohol with scales, compound,
MIN/MAX, a subtracted term, cannot-assess; an HS edition or none; codes shorter than the lines,
under each `ambiguous` mode), random exchange rates (both quotations),
specific amounts in a foreign currency, and random
batches (many consignments, mixed currencies, boundary values at thresholds and
near the int64 limit, occasional bad input) go through `deminimis.assess` and
`deminimis.reference.assess`.  They must agree bit for bit, or raise the same
error (same type; same column and row for input errors).

The default profile runs a few hundred examples; HYPOTHESIS_PROFILE=thorough
runs 20,000.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import numpy as np
import pytest
from hypothesis import assume, example, given, note
from hypothesis import strategies as st

import deminimis as dm
from deminimis.errors import AmountOverflowError, DeminimisError, InputError
from deminimis.money import CURRENCY_EXPONENTS

MODES = ["half_up", "half_even", "down", "up", "floor", "ceiling"]
CODES = ["6109100010", "6110209900", "9102110000", "2204210900", "4901990000", "8517120000", "3303001000"]
TRANSPORTS = ["post", "courier", "air"]
INT64_MAX = 2**63 - 1

ON = dt.date(2026, 11, 28)  # the assessment date; drawn validity bounds fall on it or a day beside it
DAYS = [(ON + dt.timedelta(days=d)).isoformat() for d in (-1, 0, 1)]


def decimal_amount(exp: int, hi: int) -> st.SearchStrategy[str]:
    """A non-negative decimal string with at most `exp` places and at most `hi` minor units."""
    return st.integers(0, hi).map(lambda m: str(Decimal(m).scaleb(-exp)))


@st.composite
def duty_expr(draw: Any, ccy: str, foreign: list[str]) -> str:
    exp = CURRENCY_EXPONENTS[ccy]

    def pct() -> str:
        return draw(st.sampled_from(["0", "2.7", "12", "4.5", "16.9", "33 1/3", "57.6", "0.125"])) + "%"

    def spec() -> str:
        amount = draw(st.integers(0, 5000).map(lambda m: str(Decimal(m).scaleb(-max(exp, 1)))))
        unit = draw(st.sampled_from(["kg", "100 kg", "l", "hl", "p/st", "doz.", "1000", "pair", "item",
                                     "% vol/hl", "hl alc. 100%", "1000 p/st"]))
        return f"{amount} {draw(st.sampled_from([ccy, ccy, *foreign]))}/{unit}"

    def linear() -> str:
        k = draw(st.integers(1, 3))
        return " + ".join(pct() if draw(st.booleans()) else spec() for _ in range(k))

    main = linear()
    if draw(st.booleans()):
        main += f" MIN {linear()}"
    if draw(st.booleans()):
        main += f" MAX {linear()}"
    for _ in range(draw(st.integers(0, 2)) if draw(st.booleans()) else 0):  # subtracted terms come last
        main += f" - {pct() if draw(st.booleans()) else spec()}"
    return main


def condition(exp: int, pers: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({
        "threshold": decimal_amount(exp, 40_000 * 10**exp // 100),
        "basis": st.sampled_from(["intrinsic", "customs"]),
        "per": st.sampled_from(pers),
        "inclusive": st.booleans(),
    })


@st.composite
def rule(draw: Any, exp: int, *, with_flag: bool = False) -> dict[str, Any]:
    pers = ["item", "consignment", "consignee_day", "consignee_year"]
    r: dict[str, Any] = {"conditions": draw(st.lists(condition(exp, pers), min_size=0, max_size=3))}
    if draw(st.booleans()):
        r["excluded_codes"] = draw(st.lists(st.sampled_from(["22", "2204", "24", "3303", "61"]), max_size=2))
    if draw(st.booleans()):
        r["excluded_origins"] = draw(st.lists(st.sampled_from(["CN", "US", "TR"]), max_size=2))
    if draw(st.booleans()):
        r["transports"] = draw(st.lists(st.sampled_from(TRANSPORTS), min_size=1, max_size=2))
    if draw(st.integers(0, 3)) == 0:
        r["natures"] = draw(st.lists(st.sampled_from(["sale", "gift"]), min_size=1, max_size=2))
    if draw(st.integers(0, 3)) == 0:
        r["shipped_from"] = draw(st.lists(st.sampled_from(["US", "MX", "CN"]), min_size=1, max_size=2))
    r["requires_collected_at_sale"] = draw(st.booleans()) if not with_flag else True
    return r


def rounding_of(exp: int, with_level: bool) -> st.SearchStrategy[dict[str, Any]]:
    quanta = [str(Decimal(q).scaleb(-exp)) for q in (1, 5, 100)]
    d = {"mode": st.sampled_from(MODES), "quantum": st.sampled_from(quanta)}
    if with_level:
        d["level"] = st.sampled_from(["item", "consignment"])
    return st.fixed_dictionaries(d)


@st.composite
def regime(draw: Any, ccy: str) -> dict[str, Any]:
    exp = CURRENCY_EXPONENTS[ccy]
    dests = draw(st.lists(st.sampled_from(["DE", "FR", "IT"]), min_size=1, max_size=3, unique=True))
    rates = {}
    for d in dests:
        rates[d] = {"standard": draw(st.sampled_from(["19", "20", "8.1", "17", "25", "0"]))}
        if draw(st.booleans()):
            rates[d]["reduced"] = draw(st.sampled_from(["7", "5.5", "2.6", "19"]))
    cats = {"reduced": ["4901", "61"]} if all("reduced" in r for r in rates.values()) else {}
    if cats and draw(st.booleans()):  # a longer prefix inside a category's: the longest decides
        cats["standard"] = ["6109"]
    reg: dict[str, Any] = {
        "id": "random", "currency": ccy, "valuation": draw(st.sampled_from(["CIF", "FOB"])),
        "vat": {"rates": rates, "categories": cats, "default_destination": dests[0],
                "method": draw(st.sampled_from(["exclusive", "gross_up"])),
                "factor": draw(st.sampled_from(["1", "0.7", "0.5"])),
                "adds_transport": draw(st.booleans())},
        "rounding": {"conversion": draw(rounding_of(exp, False)), "duty": draw(rounding_of(exp, True)),
                     "vat": draw(rounding_of(exp, True)), "fee": draw(rounding_of(exp, False))},
        "valuation_factor": draw(st.sampled_from(["1", "1", "0.6", "1.25"])),
    }
    if draw(st.integers(0, 3)) == 0:  # in force from (inclusive) or to (exclusive) the day before, of or after ON
        reg[draw(st.sampled_from(["valid_from", "valid_to"]))] = draw(st.sampled_from(DAYS))
    for kind in ("duty_base", "vat_base"):
        if draw(st.booleans()):
            reg["rounding"][kind] = draw(rounding_of(exp, False))
    for key in ("duty_relief", "vat_relief"):
        k = draw(st.integers(0, 3))
        if k:
            reg[key] = [draw(rule(exp)) for _ in range(k)] if k > 1 else draw(rule(exp))
    if draw(st.booleans()):
        reg["collection_at_sale"] = draw(rule(exp, with_flag=True))
        reg["collection_at_sale"]["includes_duty"] = draw(st.booleans())
    if draw(st.booleans()):
        reg["vat_reduction"] = draw(rule(exp))
        reg["vat_reduction"]["factor"] = draw(st.sampled_from(["0.7", "0.5", "0"]))
    if draw(st.booleans()):
        sd = draw(rule(exp))
        ups = sorted(draw(st.lists(st.integers(1, 50_000), min_size=1, max_size=4, unique=True)))
        sd["bands"] = [{"up_to": str(Decimal(u * 10**exp // 100).scaleb(-exp)),
                        "percent": draw(st.sampled_from(["20", "60", "2.5", "33"])),
                        "deduction": draw(decimal_amount(exp, 3000 * 10**exp // 100))} for u in ups]
        sd["basis"] = draw(st.sampled_from(["intrinsic", "customs"]))
        reg["simplified_duty"] = sd
    if draw(st.booleans()):
        flat = draw(rule(exp))
        flat.update(amount=draw(decimal_amount(exp, 500 * 10**exp // 100)), key_digits=draw(st.sampled_from([4, 6, 8])))
        reg["flat_duty"] = flat
    reg["waivers"] = draw(st.lists(st.fixed_dictionaries({
        "target": st.sampled_from(["duty", "vat", "duty_and_vat"]), "per": st.sampled_from(["item", "consignment"]),
        "threshold": decimal_amount(exp, 1000 * 10**exp // 100), "inclusive": st.booleans(),
        "excluded_codes": st.lists(st.sampled_from(["22", "2204", "61"]), max_size=1)}), max_size=2))
    fees = []
    for _ in range(draw(st.integers(0, 2))):
        per = draw(st.sampled_from(["consignment", "item"]))
        fee: dict[str, Any] = {"name": "f", "per": per, "amount": draw(decimal_amount(exp, 300 * 10**exp // 100)),
                               "when": draw(st.sampled_from(["always", "due", "not_relieved"]))}
        if per == "consignment" and draw(st.booleans()):
            fee["percent"] = draw(st.sampled_from(["0.3464", "1", "2.5"]))
        if draw(st.booleans()):
            fee["minimum"] = draw(decimal_amount(exp, 50 * 10**exp // 100))
        if draw(st.booleans()):
            fee["maximum"] = draw(decimal_amount(exp, 5000 * 10**exp // 100))
        if draw(st.booleans()):
            fee["value_above"] = draw(decimal_amount(exp, 200 * 10**exp // 100))
        if draw(st.booleans()):
            fee["transports"] = draw(st.lists(st.sampled_from(TRANSPORTS), min_size=1, max_size=2))
        fees.append(fee)
    reg["fees"] = fees
    for key in ("duty_relief", "vat_relief", "collection_at_sale", "vat_reduction", "flat_duty", "simplified_duty"):
        rules = reg.get(key, [])
        for r in rules if isinstance(rules, list) else [rules]:  # thresholds by destination (M14)
            for cond in r["conditions"]:
                if draw(st.integers(0, 2)) == 0:
                    chosen = draw(st.lists(st.sampled_from(dests), min_size=1, unique=True))
                    cond["thresholds_by_destination"] = {
                        d: draw(decimal_amount(exp, 40_000 * 10**exp // 100)) for d in chosen}
    reg["vat"]["surtaxes"] = draw(st.lists(st.fixed_dictionaries({  # taxes on the VAT (M11)
        "fraction": st.sampled_from(["22/78", "0.5", "1/3"]), "rounding": rounding_of(exp, False)}), max_size=2))
    return reg


@st.composite
def case(draw: Any) -> dict[str, Any]:
    ccy = draw(st.sampled_from(["EUR", "JPY", "BHD", "USD"]))
    foreign = draw(st.lists(st.sampled_from([c for c in ["EUR", "USD", "JPY", "BHD", "GBP"] if c != ccy]),
                            max_size=3, unique=True))
    rate_values = {c: str(Decimal(draw(st.integers(1, 10**7))).scaleb(-draw(st.integers(0, 6)))) for c in foreign}
    quote = draw(st.sampled_from(["foreign_per_base", "base_per_foreign"]))
    codes = draw(st.lists(st.sampled_from(CODES), min_size=1, max_size=4, unique=True))
    records = []
    for c in codes:  # one or two lines on a code's prefixes: the longest in force decides
        for n in draw(st.lists(st.sampled_from([4, 6, 10]), min_size=1, max_size=2, unique=True)):
            records.append({"code": c[:n], "duty": draw(duty_expr(ccy, foreign))})
    if draw(st.booleans()):  # lines of one subheading with different duties, declared with 6, 4 or 8 digits
        simple = st.sampled_from(["0%", "2.7%", "12%", f"1.5 {ccy}/kg + 3%", f"0.4 {ccy}/p/st"])
        for suffix in draw(st.lists(st.sampled_from(["10", "20", "90"]), min_size=2, max_size=3, unique=True)):
            duty = draw(st.one_of(simple, simple, duty_expr(ccy, foreign)))
            records.append({"code": "95030000" + suffix, "duty": duty})
        codes.append(draw(st.sampled_from(["950300", "9503", "95030000"])))
    seen, unique_records = set(), []
    for r in records:
        if r["code"] not in seen:
            seen.add(r["code"])
            unique_records.append(r)
    if draw(st.booleans()):  # an origin-specific line
        unique_records.append({"code": codes[0][:4], "origin": "CN", "duty": draw(duty_expr(ccy, foreign))})
    if draw(st.booleans()):  # an additional duty, for some origins or all, in force from or to ON
        unique_records.append({"code": codes[-1][:6], "measure": "additional", "duty": draw(duty_expr(ccy, foreign)),
                               "origin": draw(st.sampled_from(["", "CN", "US TR"])),
                               draw(st.sampled_from(["valid_from", "valid_to"])): draw(st.sampled_from(DAYS))})

    reg = draw(regime(ccy))
    dests = sorted(reg["vat"]["rates"])
    if draw(st.booleans()):  # a line that cannot be assessed (never zero duty)
        unique_records.append({"code": "0101", "duty": dm.tariff.CannotAssess("agricultural component", "EA")})
        codes.append("0101210000")
    if draw(st.booleans()):  # a code as e-commerce data gives it: 6 or 4 digits
        codes.append(codes[0][:draw(st.sampled_from([4, 6]))])
    n_cons = draw(st.integers(1, 8))
    all_cur = [ccy] + foreign
    cons_rows = []
    for _ in range(n_cons):
        cons_rows.append({
            "cur": draw(st.sampled_from(all_cur)),
            "freight": draw(st.integers(0, 3000)), "insurance": draw(st.integers(0, 500)),
            "cas": draw(st.booleans()), "transport": draw(st.sampled_from(TRANSPORTS)),
            "consignee": draw(st.sampled_from(["ann", "bob", "cy"])),
            "date": dt.date(2025, 12, 30) + dt.timedelta(days=draw(st.integers(0, 4))),
            "dest": draw(st.sampled_from(dests)),
            "nature": draw(st.sampled_from(["sale", "gift"])),
            "shipped_from": draw(st.sampled_from(["US", "MX", "CN", "DE"])),
            "k": draw(st.integers(1, 5)),
        })
    rows: list[dict[str, Any]] = []
    for c, cr in enumerate(cons_rows):
        for _ in range(cr["k"]):
            exp = CURRENCY_EXPONENTS[cr["cur"]]
            rows.append({
                "consignment": f"c{c}", "hs_code": draw(st.sampled_from(codes)),
                "value": draw(st.one_of(decimal_amount(exp, 30_000 * 10**exp // 100),
                                        decimal_amount(exp, 10**exp))),
                "currency": cr["cur"], "origin": draw(st.sampled_from(["CN", "US", "TR", ""])),
                "quantity": draw(st.integers(0, 20)),
                "net_mass_kg": str(Decimal(draw(st.integers(0, 50_000))).scaleb(-3)),
                "volume_l": str(Decimal(draw(st.integers(0, 5000))).scaleb(-3)),
                "alcohol_pct": str(Decimal(draw(st.integers(0, 1000))).scaleb(-1)),
                "freight": str(Decimal(cr["freight"]).scaleb(-min(exp, 2))),
                "insurance": str(Decimal(cr["insurance"]).scaleb(-min(exp, 2))),
                "collected_at_sale": cr["cas"], "transport": cr["transport"], "consignee": cr["consignee"],
                "date": cr["date"].isoformat(), "destination": cr["dest"],
                "nature": cr["nature"], "shipped_from": cr["shipped_from"],
            })
    rows = draw(st.permutations(rows)) if rows else rows  # items of a consignment need not be adjacent
    return {"ccy": ccy, "rates": rate_values, "quote": quote, "records": unique_records,
            "regime": reg, "rows": rows, "ambiguous": draw(st.sampled_from(["flag", "refuse", "highest"])),
            "hs_edition": draw(st.sampled_from([None, "2017", "2022"]))}


def columns(rows: list[dict[str, Any]]) -> dict[str, list[Any]]:
    keys = ["consignment", "hs_code", "value", "currency", "origin", "quantity", "net_mass_kg", "volume_l",
            "alcohol_pct", "freight", "insurance", "collected_at_sale", "transport", "consignee", "date", "destination",
            "nature", "shipped_from"]
    return {k: [r[k] for r in rows] for k in keys}


def _arrow_table(cols: dict[str, list[Any]], dictionaries: bool) -> Any:
    """Amounts as decimal128 (read from Arrow's buffers by the engine); with `dictionaries`, the id columns
    dictionary-encoded in reverse sorted order, so that the dictionary's order is not the rows'."""
    import pyarrow as pa
    t = pa.table({k: pa.array([Decimal(x) for x in v], pa.decimal128(38, 3)) if k in ("value", "freight", "insurance")
                  else v for k, v in cols.items()})
    if dictionaries:
        for col in ("consignment", "consignee"):
            values = sorted(set(cols[col]), reverse=True)
            indices = pa.array([values.index(x) for x in cols[col]], pa.int32())
            t = t.set_column(t.column_names.index(col), col,
                             pa.DictionaryArray.from_arrays(indices, pa.array(values, pa.string())))
    return t


def _polars(cols: dict[str, list[Any]], categorical: bool) -> Any:
    import polars as pl
    df = pl.DataFrame(cols)
    if categorical:
        df = df.with_columns(pl.col("consignment").cast(pl.Enum(sorted(set(cols["consignment"]), reverse=True))),
                             pl.col("consignee").cast(pl.Categorical))
    return df


def _pandas(cols: dict[str, list[Any]], nullable: bool) -> Any:
    import pandas as pd
    df = pd.DataFrame(cols)
    return df.convert_dtypes() if nullable else df


#: the same batch in each kind of input object the library reads (test_input_kinds.py has them all)
INPUT_KINDS = {
    "lists": lambda cols: cols,
    "numpy": lambda cols: {k: np.array(v) for k, v in cols.items()},
    "pyarrow decimal amounts": lambda cols: _arrow_table(cols, dictionaries=False),
    "pyarrow dictionary ids": lambda cols: _arrow_table(cols, dictionaries=True),
    "pandas": lambda cols: _pandas(cols, nullable=False),
    "pandas nullable dtypes": lambda cols: _pandas(cols, nullable=True),
    "polars": lambda cols: _polars(cols, categorical=False),
    "polars Enum and Categorical ids": lambda cols: _polars(cols, categorical=True),
}


def run_both(items: Any, **kw: Any) -> None:
    """Both engines agree exactly, or raise the same error."""
    kw.setdefault("on", ON)
    fast = slow = None
    fast_err = slow_err = None
    try:
        fast = dm.assess(items, **kw)
    except DeminimisError as e:
        fast_err = e
    try:
        slow = dm.reference.assess(items, **kw)
    except DeminimisError as e:
        slow_err = e
    note(f"engine: {fast_err!r}; reference: {slow_err!r}")
    if fast_err or slow_err:
        assert type(fast_err) is type(slow_err), (fast_err, slow_err)
        if isinstance(fast_err, InputError) and not isinstance(fast_err, AmountOverflowError):
            assert (fast_err.column, fast_err.row) == (slow_err.column, slow_err.row), (fast_err, slow_err)
        return
    assert fast is not None and slow is not None
    diffs = fast.differences(slow)
    assert not diffs, diffs
    threaded = dm.assess(items, n_threads=2, **kw)  # the thread count never changes a result
    assert threaded.differences(fast) == []
    # item columns sum exactly to the consignment columns
    for k in ("duty", "duty_at_sale", "vat", "vat_at_sale", "fees", "total"):
        assert int(fast.items[k].sum()) == int(fast.consignments[k].sum())


def built(c: dict[str, Any]) -> dict[str, Any]:
    """The regime, tariff, rates and ambiguous mode of a drawn case (an invalid random regime is rejected,
    not passed)."""
    try:
        tariff = dm.Tariff.from_records(c["records"])
        tariff.hs_edition = c["hs_edition"]
        return dict(regime=dm.Regime.from_dict(c["regime"]), tariff=tariff,
                    rates=dm.ExchangeRates(c["rates"], base=c["ccy"], quote=c["quote"]), ambiguous=c["ambiguous"])
    except DeminimisError:
        assume(False)
        raise


@given(case(), st.sampled_from(sorted(INPUT_KINDS)))
def test_engine_equals_reference(c: dict[str, Any], kind: str) -> None:
    run_both(INPUT_KINDS[kind](columns(c["rows"])), **built(c))


BAD_VALUES = ["-1", "abc", None, "1.23456", float("nan"), "99", "XX", "1e400", 2**64, "Gift", "9999999999",
              "100.5"]


@st.composite
def corrupted(draw: Any, most: int = 1) -> tuple[dict[str, Any], dict[str, list[Any]]]:
    """A case's batch with up to `most` bad cells anywhere (one: the error both sides raise; several:
    errors="flag" must find every bad row)."""
    c = draw(case())
    cols = columns(c["rows"])
    n = len(c["rows"])
    for _ in range(draw(st.integers(1 if most == 1 else 0, most)) if n else 0):
        col = draw(st.sampled_from(list(cols)))
        row = draw(st.integers(0, n - 1))
        cols[col][row] = draw(st.sampled_from(BAD_VALUES))
    return c, cols


@given(corrupted())
def test_bad_input_same_error(arg: tuple[dict[str, Any], dict[str, list[Any]]]) -> None:
    c, cols = arg
    run_both(cols, **built(c))


@given(corrupted(most=4))
def test_flagged_errors_are_the_same(arg: tuple[dict[str, Any], dict[str, list[Any]]]) -> None:
    """errors="flag": the same problems (row, column, class), statuses and amounts on both sides; the
    assessed consignments equal an assessment of them alone; every bad row is reported."""
    c, cols = arg
    kw = dict(**built(c), on=ON, errors="flag")
    try:
        fast = dm.assess(cols, **kw)
    except DeminimisError as e:  # not a row's problem (the regime or tariff): both raise it
        with pytest.raises(type(e)):
            dm.reference.assess(cols, **kw)
        return
    slow = dm.reference.assess(cols, **kw)
    assert [(e.row, e.column, e.error) for e in fast.errors] == [(e.row, e.column, e.error) for e in slow.errors]
    assert fast.differences(slow) == []
    assert np.array_equal(fast.status, slow.status) and np.array_equal(fast.cons_status, slow.cons_status)
    ok = np.flatnonzero(fast.status == 0)
    bad_rows = {e.row for e in fast.errors}
    assert set(np.flatnonzero(fast.status == 1).tolist()) == bad_rows
    if len(ok):  # the assessed rows alone give the same amounts
        alone = dm.assess({k: [v[i] for i in ok] for k, v in cols.items()}, **{**kw, "errors": "raise"})
        for k in ("duty", "vat", "fees", "total", "rule"):
            assert np.array_equal(fast.items[k][ok], alone.items[k]), k
    else:
        assert int(fast.items["total"].sum()) == 0


BIG_REGIME = {"id": "big", "currency": "EUR", "valuation": "CIF",
              "vat": {"rates": {"DE": {"standard": "19"}}},
              "duty_relief": {"conditions": [{"threshold": "150"}]}}


@given(st.lists(st.integers(INT64_MAX - 10**6, INT64_MAX), min_size=1, max_size=3),
       st.sampled_from(["12%", "0%", "57.6%", "1 EUR/kg"]), st.sampled_from(["EUR", "USD"]))
@example([INT64_MAX], "0%", "EUR")
@example([INT64_MAX // 2, INT64_MAX // 2 + 1], "0%", "EUR")
@example([INT64_MAX // 2, INT64_MAX // 2 + 2], "0%", "EUR")
@example([2**62], "100%", "EUR")
@example([(INT64_MAX // 119) * 100], "0%", "EUR")
def test_int64_boundaries(values: list[int], duty: str, cur: str) -> None:
    items = {"consignment": ["a"] * len(values), "hs_code": ["6109100010"] * len(values), "value": values,
             "currency": [cur] * len(values), "net_mass_kg": [1] * len(values)}
    rates = dm.ExchangeRates({"USD": "0.5"}, base="EUR")
    run_both(items, regime=dm.Regime.from_dict(BIG_REGIME),
             tariff=dm.Tariff.from_records([{"code": "6109", "duty": duty}]), rates=rates, amounts="minor", on=ON)


def test_empty_batch() -> None:
    items: dict[str, list[Any]] = {"consignment": [], "hs_code": [], "value": [], "currency": []}
    regime = dm.Regime.from_dict(BIG_REGIME)
    tariff = dm.Tariff.from_records([{"code": "6109", "duty": "12%"}])
    fast = dm.assess(items, regime=regime, tariff=tariff, on=ON)
    assert len(fast) == 0 and fast.consignment_ids == [] and fast.summary()["total"] == 0
    assert fast.equals(dm.reference.assess(items, regime=regime, tariff=tariff, on=ON))


@pytest.mark.parametrize("value", ["149.99", "150.00", "150.01"])
def test_threshold_boundary_both_sides(value: str) -> None:
    items = {"consignment": ["a"], "hs_code": ["6109100010"], "value": [value], "currency": ["EUR"]}
    regime = dm.Regime.from_dict(BIG_REGIME)
    tariff = dm.Tariff.from_records([{"code": "6109", "duty": "12%"}])
    fast = dm.assess(items, regime=regime, tariff=tariff, on=ON)
    assert fast.equals(dm.reference.assess(items, regime=regime, tariff=tariff, on=ON))
    relieved = Decimal(value) <= 150
    assert int(fast["duty"][0]) == (0 if relieved else round(Decimal(value) * 12))
    assert bool(fast.rule[0] & 1) == relieved


def test_large_random_batch_agrees() -> None:
    """A seeded batch of a few thousand items through the demo generator."""
    from deminimis.cli import DEMO_RATES, synthetic_batch
    on = dt.date(2026, 11, 28)
    regime = dm.regimes.get("EU", on=on)
    tariff = dm.tariff.sample("EU")
    batch = synthetic_batch(3000, tariff, sorted(regime.vat.rates), seed=7)
    rates = dm.ExchangeRates(DEMO_RATES, base="EUR")
    fast = dm.assess(batch, regime=regime, tariff=tariff, rates=rates, on=on, amounts="minor")
    slow = dm.reference.assess(batch, regime=regime, tariff=tariff, rates=rates, on=on, amounts="minor")
    assert fast.differences(slow) == []
    assert fast.summary()["items_flat_duty"] > 0 and fast.summary()["vat"] > 0


#: the days a dated table may have rates on: around the penultimate Wednesdays of November (19th) and
#: December 2025 (24th), and the days of the drawn batches (30 December 2025 to 3 January 2026)
RATE_DAYS = [dt.date(2025, 11, 17) + dt.timedelta(days=d) for d in range(5)] + \
    [dt.date(2025, 12, 22) + dt.timedelta(days=d) for d in range(13)]


@st.composite
def dated_case(draw: Any) -> dict[str, Any]:
    """A drawn case whose rates are dated: per currency, rates on some days (or months), under a rule."""
    c = draw(case())
    for bound in ("valid_from", "valid_to"):  # the regime in force on every day of the batch
        c["regime"].pop(bound, None)
    rule = draw(st.sampled_from(sorted(dm.rates.RULES)))
    periods = []
    for cur in c["rates"]:
        if rule == "uk-monthly":
            spans = [(dt.date(2025, 12, 1), dt.date(2025, 12, 31)), (dt.date(2026, 1, 1), dt.date(2026, 1, 31))]
        else:
            spans = [(d, d) for d in RATE_DAYS]
        for start, end in draw(st.lists(st.sampled_from(spans), unique=True, max_size=6)):
            rate = Decimal(draw(st.integers(1, 10**7))).scaleb(-draw(st.integers(0, 6)))
            periods.append((cur, start, end, str(rate)))
    c["dated"] = {"periods": periods, "rule": rule, "max_gap": draw(st.integers(0, 4))}
    return c


@given(dated_case())
def test_dated_rates_engine_equals_reference(c: dict[str, Any]) -> None:
    """Each consignment converted at the rates of its date: both engines agree, or raise the same error
    (a currency with no rate on a day names the same row)."""
    kw = built(c)
    kw["rates"] = dm.DatedRates(c["dated"]["periods"], c["ccy"], quote=c["quote"], rule=c["dated"]["rule"],
                                max_gap=c["dated"]["max_gap"])
    run_both(columns(c["rows"]), on=None, **kw)
