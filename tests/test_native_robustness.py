"""Adversarial input to the native parts: refused or handled, never a crash or a hang.

1. corrupt Arrow columns are an InvalidValueError naming the column (and the row
   where it is known) before any Arrow kernel reads them;
2. the largest-remainder allocation is O(k log k) with the same results as a
   pure-Python oracle, ties to the earlier item, on consignments of 200,000 items;
3. Ctrl-C stops a long core call: KeyboardInterrupt, the work unfinished, no thread left;
4. the kernel checks every table index a direct ``_core.assess`` caller passes.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import signal
import threading
import time
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import deminimis as dm
from deminimis import _core, engine
from deminimis.errors import InvalidValueError

pa = pytest.importorskip("pyarrow")

TSHIRT = "6109100010"
REG = dm.Regime.from_dict({"id": "T", "currency": "EUR", "valuation": "CIF",
                           "vat": {"rates": {"DE": {"standard": "19"}}}})
TAR = dm.Tariff.from_records([{"code": "61", "duty": "12%"}])


# ================================================================ 1. corrupt Arrow columns


#: a valid batch: three consignments (A: rows 0-1, B: row 2, C: rows 3-5), every string column the engine reads
STRINGS = {
    "consignment": ["A", "A", "B", "C", "C", "C"],
    "hs_code": [TSHIRT] * 6,
    "value": ["10.00", "20.00", "30.00", "1.00", "2.00", "3.00"],
    "currency": ["EUR"] * 6,
    "origin": ["CN", "CN", "US", "CN", "CN", "CN"],
    "freight": ["5.00", "5.00", "0.00", "1.00", "1.00", "1.00"],
    "destination": ["DE"] * 6,
    "date": ["2026-07-01"] * 6,
    "consignee": ["ann", "ann", "bob", "cy", "cy", "cy"],
}
N = len(STRINGS["consignment"])

ON = dt.date(2026, 11, 28)  # any date: the test regimes have no validity bounds


def with_column(col: str, arr: Any) -> Any:
    """The valid batch as a pyarrow Table, with one column replaced."""
    cols = {k: pa.array(v) for k, v in STRINGS.items()}
    cols[col] = arr
    return pa.table(cols)


def corrupt(values: list[str], row: int, how: str, typ: Any = None) -> Any:
    """values as an Arrow string array whose offsets go wrong at `row` (row < len - 1).

    "past": the row ends past the data; "backwards": it ends before it starts.
    Arrow's constructor checks only the first and last offsets: both arrays pass it.
    """
    typ = typ or pa.string()
    a = pa.array(values, type=typ)
    wide = typ in (pa.large_string(), pa.large_binary())
    offsets = np.frombuffer(a.buffers()[1], dtype=np.int64 if wide else np.int32)[:len(a) + 1].copy()
    offsets[row + 1] = 10**8 if how == "past" else offsets[row] - 1
    return pa.Array.from_buffers(typ, len(a), [None, pa.py_buffer(offsets.tobytes()), a.buffers()[2]])


def refused(items: Any, column: str, row: int | None) -> None:
    with pytest.raises(InvalidValueError) as info:
        dm.assess(items, regime=REG, tariff=TAR, on=ON)
    assert info.value.column == column
    assert info.value.row == row


def test_the_valid_batch_is_assessed():
    res = dm.assess(with_column("value", pa.array(STRINGS["value"])), regime=REG, tariff=TAR, on=ON)
    assert res["customs_value"].tolist() == [1167, 2333, 3000, 117, 233, 350]


@pytest.mark.parametrize("how", ["past", "backwards"])
@pytest.mark.parametrize("col", list(STRINGS))
def test_corrupt_string_offsets_name_column_and_row(col, how):
    for row in (0, 2, N - 2):
        refused(with_column(col, corrupt(STRINGS[col], row, how)), col, row)


@pytest.mark.parametrize("typ", ["large_string", "binary", "large_binary"])
def test_corrupt_offsets_of_every_variable_width_type(typ):
    t = getattr(pa, typ)()
    refused(with_column("hs_code", corrupt(STRINGS["hs_code"], 3, "past", t)), "hs_code", 3)


@pytest.mark.parametrize("col", ["value", "consignment", "currency"])
def test_one_bad_chunk_of_a_chunked_column(col):
    good, bad = pa.array(STRINGS[col][:2]), corrupt(STRINGS[col][2:], 1, "backwards")
    refused(with_column(col, pa.chunked_array([good, bad])), col, 2 + 1)  # rows count across chunks


def test_sliced_arrays_are_read_from_their_offset():
    # the corrupt rows lie before the slice: the slice itself is sound and is assessed as its values
    padded = corrupt(["x", "y"] + STRINGS["value"], 0, "past").slice(2)
    assert padded.offset == 2
    res = dm.assess(with_column("value", padded), regime=REG, tariff=TAR, on=ON)
    assert res["customs_value"].tolist() == [1167, 2333, 3000, 117, 233, 350]
    # a corrupt row inside the slice is named by its row in the slice
    inside = corrupt(["x", "y"] + STRINGS["value"], 2 + 3, "backwards").slice(2)
    refused(with_column("value", inside), "value", 3)


def test_invalid_utf8_is_refused():
    a = pa.array(STRINGS["hs_code"])
    data = bytearray(a.buffers()[2].to_pybytes())
    data[10] = 0xFF  # the first byte of row 1
    bad = pa.Array.from_buffers(pa.string(), N, [None, a.buffers()[1], pa.py_buffer(bytes(data))])
    refused(with_column("hs_code", bad), "hs_code", None)  # Arrow's UTF-8 check: no row


@pytest.mark.parametrize("col, dictionary", [
    ("consignment", pa.array(["A", "B", "C"])), ("hs_code", pa.array([TSHIRT])),
    ("date", pa.array(["2026-07-01"], pa.string()).cast(pa.date32())),
    ("collected_at_sale", pa.array([False, True])),
])
def test_dictionary_index_out_of_range(col, dictionary):
    indices = pa.array([0, 0, 0, len(dictionary) + 5, 0, 0], pa.int32())
    bad = pa.DictionaryArray.from_arrays(indices, dictionary, safe=False)
    refused(with_column(col, bad), col, None)


def test_dictionary_of_corrupt_strings():
    bad = pa.DictionaryArray.from_arrays(pa.array([0, 1, 2, 0, 1, 2], pa.int32()),
                                         corrupt(["A", "B", "C"], 0, "past"))
    refused(with_column("consignment", bad), "consignment", None)


def test_mapping_and_pandas_columns_are_checked():
    bad = corrupt(STRINGS["value"], 1, "past")
    items = dict(STRINGS, value=bad)
    refused(items, "value", 1)
    refused(dict(STRINGS, value=pa.chunked_array([bad])), "value", 1)
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(dict(STRINGS, value=pd.Series(pd.arrays.ArrowExtensionArray(pa.chunked_array([bad])))))
    refused(frame, "value", 1)


def test_fixed_width_columns_pass_without_a_full_pass():
    # dates, booleans, decimals and integers have no offsets: any bits are a value
    items = with_column("date", pa.array(["2026-07-01"] * N).cast(pa.date32()))
    items = items.append_column("collected_at_sale", pa.array([False] * N))
    items = items.set_column(items.column_names.index("value"), "value",
                             pa.array(STRINGS["value"]).cast(pa.decimal128(10, 2)))
    res = dm.assess(items, regime=REG, tariff=TAR, on=ON)
    assert res["customs_value"].tolist() == [1167, 2333, 3000, 117, 233, 350]


# ================================================================ 2. largest remainder at scale


def oracle(total: int, weights: list[int]) -> list[int]:
    """Exact shares as fractions: their whole parts, then one more unit each for the
    largest fractional parts, the earlier item first among equal ones."""
    w = weights if any(weights) else [1] * len(weights)
    whole = sum(w)
    exact = [Fraction(total * x, whole) for x in w]
    out = [math.floor(q) for q in exact]
    by_fraction = sorted(range(len(w)), key=lambda j: (out[j] - exact[j], j))  # largest fraction first
    for j in by_fraction[:total - sum(out)]:
        out[j] += 1
    return out


@given(st.integers(0, 10**6), st.lists(st.integers(0, 5) | st.integers(0, 2**62), min_size=1, max_size=60))
def test_allocate_equals_oracle(total, weights):
    assert _core.allocate(total, weights).tolist() == oracle(total, weights)


@pytest.mark.parametrize("k, total, draw", [
    (200_000, 10**9 + 7, "ties"),          # four distinct weights: ties everywhere, left ~ k
    (200_000, 3 * 200_000 + 99_999, "zero"),  # all weights zero: equal shares, the first 99,999 get one more
    (50_000, 2**62, "wide"),               # products past 64 bits
    (200_000, 15, "ties"),                 # fewer units than the selection bound
    (50_000, 123_457, "sparse"),           # mostly zero weights
])
def test_allocate_large_consignments_equals_oracle(k, total, draw):
    rng = np.random.default_rng(k + total)
    weights = {"ties": lambda: rng.integers(0, 4, k), "zero": lambda: np.zeros(k, dtype=np.int64),
               "wide": lambda: rng.integers(2**40, 2**41, k),
               "sparse": lambda: rng.integers(0, 2, k) * rng.integers(0, 9, k)
               * (rng.random(k) < 0.01)}[draw]()
    got = _core.allocate(total, weights)
    assert int(got.sum()) == total
    assert got.tolist() == oracle(total, weights.tolist())


def test_one_large_consignment_same_as_reference():
    # freight, duty and VAT rounded per consignment: every allocation of the consignment's amounts
    reg = dm.Regime.from_dict({"id": "T", "currency": "EUR", "valuation": "CIF",
                               "vat": {"rates": {"DE": {"standard": "19"}}},
                               "rounding": {"duty": {"level": "consignment"}, "vat": {"level": "consignment"}},
                               "fees": [{"name": "handling", "amount": "2.99", "per": "item"}]})
    k = 3000
    rng = np.random.default_rng(7)
    items = {"consignment": ["one"] * k, "hs_code": [TSHIRT] * k, "currency": ["EUR"] * k,
             "value": (rng.integers(0, 3, k) * 100).tolist(),  # many equal values, some zero
             "freight": [999_999] * k}
    eng = dm.assess(items, regime=reg, tariff=TAR, on=ON, amounts="minor")
    ref = dm.reference.assess(items, regime=reg, tariff=TAR, on=ON, amounts="minor")
    for col in ("customs_value", "duty", "vat", "fees", "total"):
        assert eng[col].tolist() == ref[col].tolist(), col


# ================================================================ 3. Ctrl-C


#: consignment-level rounding and a fee: the kernel's general path, a few hundred ns per item
REG_SLOW = dm.Regime.from_dict({"id": "T", "currency": "EUR", "valuation": "CIF",
                                "vat": {"rates": {"DE": {"standard": "19"}}},
                                "rounding": {"duty": {"level": "consignment"}, "vat": {"level": "consignment"}},
                                "fees": [{"name": "handling", "amount": "2.99"}]})


def big_batch(n: int) -> dict[str, np.ndarray]:
    """n items in n / 2 consignments, built with numpy (minor units)."""
    return {"consignment": np.arange(n, dtype=np.int64) // 2, "hs_code": np.full(n, TSHIRT),
            "value": np.arange(n, dtype=np.int64) % 10_000 + 1, "freight": np.zeros(n, dtype=np.int64)}


def os_threads() -> int | None:
    return len(os.listdir("/proc/self/task")) if os.path.isdir("/proc/self/task") else None


def interrupted(call: Callable[[], Any], delay: float) -> bool:
    """Run call() with SIGINT sent to this process `delay` s after it starts: whether it raised KeyboardInterrupt."""
    # raise_signal, not os.kill: on Windows os.kill(pid, SIGINT) terminates the process
    timer = threading.Timer(delay, signal.raise_signal, (signal.SIGINT,))
    timer.start()
    try:
        call()
    except KeyboardInterrupt:
        timer.join()
        return True
    try:  # it ran to the end first: take the signal here, not in pytest
        timer.join()
        time.sleep(1)
    except KeyboardInterrupt:
        pass
    return False


@pytest.fixture
def sigint_raises():
    old = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, old)


SENTINEL = -7


@pytest.mark.parametrize("n_threads", [1, 2])
def test_ctrl_c_stops_the_core(sigint_raises, n_threads):
    n = 3_000_000
    enc = engine.encode(big_batch(n), regime=REG_SLOW, tariff=TAR, on=ON, currency="EUR", amounts="minor")
    buf = engine.Buffers(n, enc["n_cons"])
    out_items, out_cons = buf.views(n, enc["n_cons"])

    def run() -> None:
        _core.assess(enc["items"], enc["cons"], enc["tables"], enc["params"], out_items, out_cons, n_threads)

    def seconds() -> float:
        t = time.perf_counter()
        run()
        return time.perf_counter() - t

    full = min(seconds(), seconds())  # the first run also maps the outputs' pages
    threads = os_threads()
    buf.items["total"].fill(SENTINEL)
    assert interrupted(run, full / 5)
    # structural: the items of the last consignments (of every thread's slice) were never written
    assert buf.items["total"][n - 1] == SENTINEL
    assert buf.items["total"][n // 2 - 1] == SENTINEL
    assert os_threads() == threads  # the kernel's threads were joined
    run()  # and the next call is whole
    assert SENTINEL not in buf.items["total"]


def test_ctrl_c_during_assess(sigint_raises, monkeypatch):
    n = 3_000_000
    items = big_batch(n)
    buf = engine.Buffers(n, n // 2)
    kw = dict(regime=REG_SLOW, tariff=TAR, on=ON, currency="EUR", amounts="minor", out=buf)
    full = dm.assess(items, **kw).timings["core"]
    buf.items["total"].fill(SENTINEL)
    real = _core.assess
    started = []

    def core_with_timer(*args: Any) -> None:  # the signal lands while the core runs, not while encoding
        started.append(threading.Timer(full / 5, signal.raise_signal, (signal.SIGINT,)))
        started[0].start()
        real(*args)

    monkeypatch.setattr(engine._core, "assess", core_with_timer)
    with pytest.raises(KeyboardInterrupt):
        try:
            dm.assess(items, regime=REG_SLOW, tariff=TAR, on=ON, currency="EUR", amounts="minor", out=buf)
        finally:
            started[0].join()
    assert buf.items["total"][n - 1] == SENTINEL


# ================================================================ 4. table indices from a direct caller


def small_encoding(reg: dm.Regime = REG, **cols: Any) -> dict[str, Any]:
    """8 consignments of 2 items, encoded by the engine."""
    items = {"consignment": [f"c{i // 2}" for i in range(16)], "hs_code": [TSHIRT] * 16,
             "value": list(range(100, 116)), **cols}
    return engine.encode(items, regime=reg, tariff=TAR, on=ON, currency="EUR", amounts="minor")


def run_core(enc: dict[str, Any], n_threads: int = 1) -> None:
    out_items = {k: np.empty(enc["n"], dtype=np.int64) for k in _core.ITEM_OUTPUTS}
    out_items["rule"] = np.empty(enc["n"], dtype=np.int32)
    out_cons = {k: np.empty(enc["n_cons"], dtype=np.int64) for k in _core.CONS_OUTPUTS}
    _core.assess(enc["items"], enc["cons"], enc["tables"], enc["params"], out_items, out_cons, n_threads)


@pytest.mark.parametrize("n_threads", [1, 2])
@pytest.mark.parametrize("name, table", [("cur", "conv_mul"), ("measure", "measures"), ("vat_rate", "vat_num"),
                                         ("vat_rate_reduced", "vat_num"), ("flat_key", None)])
def test_item_index_out_of_range(name, table, n_threads):
    enc = small_encoding()
    run_core(enc, n_threads)  # the engine's own encoding passes
    length = len(enc["tables"][table]) if table else 0
    for bad in ([length, -1] if table else [-1, -(2**31)]):
        col = enc["items"][name].copy()
        col[11] = bad
        with pytest.raises(ValueError, match=rf"^{name}\[11\] = {bad} "):
            run_core(dict(enc, items=dict(enc["items"], **{name: col})), n_threads)


def test_item_index_checked_on_ungrouped_items():
    enc = small_encoding()
    order = np.arange(16)[::-1].copy()  # consignments in reverse: the kernel groups them itself
    items = {k: (v[order] if v is not None else None) for k, v in enc["items"].items()}
    run_core(dict(enc, items=items))
    items["cur"] = items["cur"].copy()
    items["cur"][4] = 9
    with pytest.raises(ValueError, match=r"^cur\[4\] = 9 is not an index in \[0, 2\)"):
        run_core(dict(enc, items=items))


def test_freight_currency_index_out_of_range():
    enc = small_encoding()
    fc = enc["cons"]["freight_cur"].copy()
    fc[5] = len(enc["tables"]["conv_mul"])
    with pytest.raises(ValueError, match=r"^freight_cur\[5\] = 2 is not an index"):
        run_core(dict(enc, cons=dict(enc["cons"], freight_cur=fc)))


@pytest.mark.parametrize("per", ["consignee_day", "consignee_year"])
def test_group_and_order_out_of_range(per):
    reg = dm.Regime.from_dict({"id": "T", "currency": "EUR", "valuation": "CIF",
                               "vat": {"rates": {"DE": {"standard": "19"}}},
                               "duty_relief": {"conditions": [{"threshold": "150", "per": per}]}})
    enc = small_encoding(reg, consignee=[f"p{i // 4}" for i in range(16)], date=["2026-07-01"] * 16)
    run_core(enc)
    cond = next(r for r in enc["params"].rules if r is not None).conds[0]
    group, order = cond.group, cond.order  # the kernel reads them where Params holds them

    group[6] = cond.n_groups
    with pytest.raises(ValueError, match=r"^group\[6\] = 4 of a (group|cumulative) condition"):
        run_core(enc)
    group[6] = 0
    if per == "consignee_year":  # cumulative: order must be a permutation of the consignments
        order[3] = order[2]
        with pytest.raises(ValueError, match=r"^order\[3\] = \d+ of a cumulative condition is not a distinct"):
            run_core(enc)


@pytest.mark.parametrize("table, field, value", [("conv_div", None, 0), ("vat_den", None, 0),
                                                 ("measures", "main_den", 0), ("conv_mul", None, -1)])
def test_table_factors_checked(table, field, value):
    enc = small_encoding()
    t = enc["tables"][table].copy()
    if field:
        t[field][0] = value
    else:
        t[0] = value
    with pytest.raises(ValueError, match=rf"{table}\[0\].*must (not be negative|be positive)"):
        run_core(dict(enc, tables=dict(enc["tables"], **{table: t})))


def test_params_checked_when_made():
    """The kernel's parameters are typed: a bad one is refused when Params and its parts are made."""
    with pytest.raises(ValueError, match="quantum must be positive"):
        _core.Rounding("half_up", "item", 0)
    with pytest.raises(KeyError):
        _core.Rounding("nearest", "item", 1)
    with pytest.raises(ValueError, match="rate must not be negative and its divisor must be positive"):
        _core.Band(100, 1, 0, 0)
    with pytest.raises(ValueError, match="rate must not be negative and its divisor must be positive"):
        _core.Fee("consignment", "always", 0, -1, 100, None, None, -1, -1)
    with pytest.raises(ValueError, match="per consignee_day takes group and order"):
        _core.Condition("intrinsic", "consignee_day", True, 100)  # no group
    with pytest.raises(ValueError, match="per consignment takes group and order"):
        _core.Condition("intrinsic", "consignment", True, 100, group=np.zeros(2, dtype=np.int64))
    with pytest.raises(TypeError):
        _core.Rule([object()], excl_bit=1, requires_flag=False)
    r = _core.Rule([_core.Condition("intrinsic", "consignment", True, 100)], excl_bit=1, requires_flag=False)
    with pytest.raises(ValueError, match="rule slots"):
        _core.Params(cif=True, vat_adds_transport=False, at_sale_includes_duty=False, simplified_basis="intrinsic",
                     conv=_core.Rounding("half_up", "item", 1), duty=_core.Rounding("half_up", "item", 1),
                     vat=_core.Rounding("half_up", "item", 1), fee=_core.Rounding("half_up", "item", 1),
                     duty_base=None, vat_base=None, rules=[r], flat_amount=0, bands=[], waivers=[], fees=[])


def test_rule_arrays_checked_against_the_batch():
    """A rule's per-consignment array of the wrong length is refused before the kernel runs."""
    reg = dm.Regime.from_dict({"id": "T", "currency": "EUR", "valuation": "CIF",
                               "vat": {"rates": {"DE": {"standard": "19"}}},
                               "duty_relief": {"conditions": [{"threshold": "150", "per": "consignee_day"}]}})
    enc = small_encoding(reg, consignee=[f"p{i // 4}" for i in range(16)], date=["2026-07-01"] * 16)
    other = engine.encode({"consignment": ["c0", "c0", "c1", "c1"], "hs_code": [TSHIRT] * 4, "value": [100] * 4,
                           "consignee": ["p"] * 4, "date": ["2026-07-01"] * 4},
                          regime=reg, tariff=TAR, on=ON, currency="EUR", amounts="minor")
    with pytest.raises(ValueError, match=r"^group: expected \d+ values"):
        run_core(dict(enc, params=other["params"]))
