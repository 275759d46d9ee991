"""Every kind of input object, every wrong argument type, and ids compared exactly.

Every case runs through BOTH `deminimis.assess` and `deminimis.reference.assess`: an input
object of any kind gives the result of the same batch as a dict of lists; a wrong argument is the
same TypeError on both sides; ids (consignment, consignee) are the same id when their type and
value are, whatever the encoding (lists, numpy, Arrow, dictionaries, pandas, polars), and a
missing or unhashable id is the same InvalidValueError naming the same row.

Decisions these tests pin down (docs/semantics.md, section 1):
- 1, 1.0, True, "1" and b"1" are five ids; "P1" and "P1\\x00" are two; a numpy scalar is the
  Python value it holds (np.int64(1) is 1), a subclass is its kind (a pandas Timestamp is a datetime).
- Float ids compare by value (0.0 and -0.0 are one id); NaN is a missing id.
- Datetimes compare by instant and UTC offset, numpy datetimes by value and unit; tuples element
  by element the same way.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import numpy as np
import pytest

import deminimis as dm
from deminimis.errors import InconsistentConsignmentError, InvalidValueError

pd = pytest.importorskip("pandas")
pl = pytest.importorskip("polars")
pa = pytest.importorskip("pyarrow")

from test_inputs import RATES, TAR, TOY, TSHIRT, base, raises_same, regime  # noqa: E402

UTC = dt.timezone.utc
PLUS1 = dt.timezone(dt.timedelta(hours=1))

ON = dt.date(2026, 11, 28)  # any date: the test regimes have no validity bounds


def both(make: Callable[[], Any], reg: dm.Regime, **kw: Any) -> tuple[dm.Assessment, dm.Assessment]:
    """Engine and reference results, each from a fresh input object (a reader is read once)."""
    kw.setdefault("rates", RATES)
    kw.setdefault("tariff", TAR)
    kw.setdefault("on", ON)
    return dm.assess(make(), regime=reg, **kw), dm.reference.assess(make(), regime=reg, **kw)


def typed(ids: Any) -> list[tuple[type, Any]]:
    """Ids with their types: Assessment.equals compares ids by value only (1 == 1.0 == True)."""
    return [(type(x), x) for x in ids]


# ================================================================ 1. input objects


class StreamOnly:
    """An object with nothing but the Arrow PyCapsule stream interface."""

    def __init__(self, source: Any) -> None:
        self._source = source

    def __arrow_c_stream__(self, requested_schema: Any = None) -> Any:
        return self._source.__arrow_c_stream__(requested_schema)


ROWS: dict[str, list[Any]] = {
    "consignment": ["P1", "P1", "P2", "P3"],
    "hs_code": [TSHIRT, TOY, TSHIRT, TSHIRT],
    "value": ["10.00", "20.00", "5.00", "30.00"],
    "currency": ["EUR", "EUR", "USD", "EUR"],
    "quantity": [1, 2, 1, 1],
    "freight": ["3.00", "3.00", "1.00", "0.00"],
    "destination": ["DE", "DE", "FR", "DE"],
    "collected_at_sale": [False, False, True, False],
    "consignee": ["ann", "ann", "bob", "ann"],
    "date": [dt.date(2026, 1, 1), dt.date(2026, 1, 1), dt.date(2026, 1, 2), dt.date(2026, 1, 3)],
}
KIND_REG = regime(vat={"rates": {"DE": {"standard": "19"}, "FR": {"standard": "20"}}},
                  collection_at_sale={"conditions": [{"threshold": "150"}]},
                  duty_relief={"conditions": [{"threshold": "40", "per": "consignee_year"}]})
# ann: P1 (1 Jan) 10.00 + 20.00 = 30.00 <= 40 relief; P3 (3 Jan) 30 + 30 = 60 > 40: 10% of 3000 = 300
# bob: P2 5.00 USD = 2.50 EUR <= 40 relief
KIND_DUTY = [0, 0, 0, 300]


def _numpy(d: dict[str, list[Any]]) -> dict[str, np.ndarray]:
    return {k: np.array(v, dtype="datetime64[D]" if k == "date" else None) for k, v in d.items()}


def _arrow_dictionaries(d: dict[str, list[Any]]) -> Any:
    t = pa.table(d)
    for col in ("consignment", "consignee"):  # dictionaries in reverse order of first appearance
        values = pa.array(sorted(set(d[col]), reverse=True))
        indices = pa.array([values.to_pylist().index(x) for x in d[col]], pa.int32())
        t = t.set_column(t.column_names.index(col), col, pa.DictionaryArray.from_arrays(indices, values))
    return t


def _polars_categorical(d: dict[str, list[Any]]) -> Any:
    enum = pl.Enum(sorted(set(d["consignment"]), reverse=True))
    return pl.DataFrame(d).with_columns(pl.col("consignment").cast(enum), pl.col("consignee").cast(pl.Categorical))


KINDS: dict[str, Callable[[dict[str, list[Any]]], Any]] = {
    "dict of lists": lambda d: d,
    "dict of tuples": lambda d: {k: tuple(v) for k, v in d.items()},
    "dict of numpy arrays": _numpy,
    "dict of pandas Series": lambda d: {k: pd.Series(v) for k, v in d.items()},
    "dict of polars Series": lambda d: {k: pl.Series(v) for k, v in d.items()},
    "dict of pyarrow arrays": lambda d: {k: pa.array(v) for k, v in d.items()},
    "dict of chunked arrays": lambda d: {k: pa.chunked_array([v[:1], v[1:3], v[3:]]) for k, v in d.items()},
    "pandas DataFrame": pd.DataFrame,
    "pandas nullable dtypes": lambda d: pd.DataFrame(d).convert_dtypes(),
    "pandas Arrow dtypes": lambda d: pd.DataFrame(d).convert_dtypes(dtype_backend="pyarrow"),
    "pandas Categorical ids": lambda d: pd.DataFrame(d).astype({"consignment": pd.CategoricalDtype(["P3", "P2", "P1"]),
                                                                "consignee": "category"}),
    "polars DataFrame": pl.DataFrame,
    "polars LazyFrame": pl.LazyFrame,
    "polars Enum and Categorical ids": _polars_categorical,
    "pyarrow Table": pa.table,
    "pyarrow RecordBatch": pa.record_batch,
    "pyarrow RecordBatchReader": lambda d: pa.table(d).to_reader(max_chunksize=3),
    "Arrow dictionary ids": _arrow_dictionaries,
    "stream of a pyarrow Table": lambda d: StreamOnly(pa.table(d)),
    "stream of a polars DataFrame": lambda d: StreamOnly(pl.DataFrame(d)),
    "stream of a pandas DataFrame": lambda d: StreamOnly(pd.DataFrame(d)),
}


@pytest.fixture(scope="module")
def dict_result() -> dm.Assessment:
    res = dm.assess(ROWS, regime=KIND_REG, tariff=TAR, rates=RATES, on=ON)
    assert res["duty"].tolist() == KIND_DUTY
    return res


@pytest.mark.parametrize("kind", KINDS)
def test_object_kind_gives_the_dict_result(kind, dict_result):
    eng, ref = both(lambda: KINDS[kind](ROWS), KIND_REG)
    assert eng.differences(dict_result) == [] and ref.differences(dict_result) == []
    assert eng["duty"].tolist() == ref["duty"].tolist() == KIND_DUTY
    assert typed(eng.consignment_ids) == typed(ref.consignment_ids) == typed(["P1", "P2", "P3"])


def test_a_reader_is_read_once_and_explain_reads_the_batch_again():
    eng, ref = both(lambda: pa.table(ROWS).to_reader(max_chunksize=2), KIND_REG)
    for res in (eng, ref):
        assert "consignment 'P3'" in res.explain(3)


@pytest.mark.parametrize("items,received", [
    (None, "NoneType"), ([{"consignment": "A"}], "list"), ("consignment", "str"),
    (np.zeros(3), "numpy.ndarray"), (pd.Series([1, 2]), "pandas.Series"), (pa.array([1, 2]), "pyarrow.Int64Array"),
])
def test_items_of_another_kind_is_a_type_error(items, received):
    for fn in (dm.assess, dm.reference.assess):
        with pytest.raises(TypeError, match=r"items must be a mapping .*__arrow_c_stream__.*; got " + received):
            fn(items, regime=KIND_REG, tariff=TAR, rates=RATES, on=ON)


# ================================================================ 2. argument types


@pytest.mark.parametrize("argument,value,expected", [
    ("tariff", None, "a deminimis.Tariff; got NoneType"),
    ("tariff", {"61": "10%"}, "a deminimis.Tariff; got dict"),
    ("rates", {"USD": "2"}, "a deminimis.DatedRates, a deminimis.ExchangeRates or None; got dict"),
    ("regime", 42, "a Regime, a dict or a built-in regime code .str.; got int"),
    ("regime", None, "a Regime, a dict or a built-in regime code .str.; got NoneType"),
    ("on", "2026-01-01", r"a datetime.date \(or datetime\) or None; got str"),
    ("on", np.datetime64("2026-01-01"), r"a datetime.date \(or datetime\) or None; got datetime64"),
    ("currency", 978, r"an ISO 4217 code \(str\) or None; got int"),
    ("amounts", "cents", "'decimal' or 'minor'; got str 'cents'"),
    ("amounts", None, "'decimal' or 'minor'; got NoneType"),
])
def test_wrong_argument_type(argument, value, expected):
    kw: dict[str, Any] = {"regime": KIND_REG, "tariff": TAR, "rates": RATES, argument: value}
    messages = []
    for fn in (dm.assess, dm.reference.assess):
        # items that are not a batch either: the arguments are checked before any work
        with pytest.raises(TypeError, match=f"^{argument} must be {expected}") as info:
            fn(None, **kw)
        messages.append(str(info.value))
    assert messages[0] == messages[1]


@pytest.mark.parametrize("value,got", [(0, "int 0"), (-1, "int -1"), (1.5, "float"), (True, "bool"), ("2", "str")])
def test_n_threads_must_be_a_positive_int_or_none(value, got):
    with pytest.raises(TypeError, match=f"^n_threads must be a positive int or None .*; got {got}"):
        dm.assess(base(), regime=KIND_REG, tariff=TAR, rates=RATES, n_threads=value, on=ON)


def test_regime_code_with_a_wrong_date_type_is_refused_before_the_regime_is_looked_up():
    for fn in (dm.assess, dm.reference.assess):
        with pytest.raises(TypeError, match="^on must be"):
            fn(base(), regime="EU", tariff=TAR, on="2026-01-01")


# ================================================================ 3. ids compared exactly

# a relief per consignment: A (10.00 + 20.00 = 30.00 > 25) pays 10%: 100, 200; alone, 10.00 and 20.00 are relieved
ID_REG = regime(duty_relief={"conditions": [{"threshold": "25"}]})
SPLIT, MERGED = [0, 0, 300], [100, 200, 300]


def nat64(*stamps: str, unit: str = "ns") -> np.ndarray:
    return np.array(stamps, dtype=f"datetime64[{unit}]")


ID_CASES = {
    # name: (consignment column, duty, number of consignments)
    "equal strings": (["P1", "P1", "P2"], MERGED, 2),
    "a trailing NUL": (["P1", "P1\x00", "P2"], SPLIT, 3),
    "'1' and 1": (["1", 1, "2"], SPLIT, 3),
    "1 and 1.0": ([1, 1.0, 2], SPLIT, 3),
    "1 and True": ([1, True, 2], SPLIT, 3),
    "1 and numpy 1 (a numpy scalar is its value)": ([1, np.int64(1), 2], MERGED, 2),
    "a str and a numpy str": (["P1", np.str_("P1"), "P2"], MERGED, 2),
    "1 and numpy True": ([1, np.True_, 2], SPLIT, 3),
    "a datetime and a pandas Timestamp": ([dt.datetime(2026, 1, 1), pd.Timestamp("2026-01-01"),
                                          dt.datetime(2026, 1, 2)], MERGED, 2),
    "a pandas Timestamp a nanosecond later": ([dt.datetime(2026, 1, 1), pd.Timestamp("2026-01-01 00:00:00.000000001"),
                                               dt.datetime(2026, 1, 2)], SPLIT, 3),
    "equal ints": ([1, 1, 2], MERGED, 2),
    "ints beyond int64": ([2**64, 2**64, 2**65], MERGED, 2),
    "0.0 and -0.0 (floats by value)": ([0.0, -0.0, 1.5], MERGED, 2),
    "Arrow 0.0 and -0.0": (pa.array([0.0, -0.0, 1.5]), MERGED, 2),
    "bytes and str": ([b"P1", "P1", b"P2"], SPLIT, 3),
    "equal bytes": ([b"P1", b"P1", b"P2"], MERGED, 2),
    "tuples with 1 and True": ([("a", 1), ("a", True), ("b", 1)], SPLIT, 3),
    "equal tuples": ([("a", 1), ("a", 1), ("b", 1)], MERGED, 2),
    "a date and a datetime": ([dt.date(2026, 1, 1), dt.datetime(2026, 1, 1), dt.date(2026, 1, 2)], SPLIT, 3),
    "one instant in two time zones": ([dt.datetime(2026, 1, 1, 1, tzinfo=UTC), dt.datetime(2026, 1, 1, 2, tzinfo=PLUS1),
                                       dt.datetime(2026, 1, 2, tzinfo=UTC)], SPLIT, 3),
    "numpy datetimes of two units": ([np.datetime64("2026-01-01"), np.datetime64("2026-01-01T00:00"),
                                      np.datetime64("2026-01-02")], SPLIT, 3),
    "numpy datetime64[ns] on one day": (nat64("2026-01-01T01:00", "2026-01-01T02:00", "2026-01-02"), SPLIT, 3),
    "numpy datetime64[ns] equal": (nat64("2026-01-01T01:00", "2026-01-01T01:00", "2026-01-02"), MERGED, 2),
    "pandas datetimes on one day": (pd.Series(pd.to_datetime(["2026-01-01 01:00", "2026-01-01 02:00",
                                                              "2026-01-02 00:00"])), SPLIT, 3),
    "Arrow timestamps on one day": (pa.array([dt.datetime(2026, 1, 1, 1), dt.datetime(2026, 1, 1, 2),
                                              dt.datetime(2026, 1, 2)], pa.timestamp("us")), SPLIT, 3),
    "Arrow timestamps with a time zone": (pa.array([dt.datetime(2026, 1, 1, 1), dt.datetime(2026, 1, 1, 2),
                                                    dt.datetime(2026, 1, 2)], pa.timestamp("ns", tz="Europe/Paris")),
                                          SPLIT, 3),
    "Arrow timestamps equal": (pa.array([dt.datetime(2026, 1, 1, 1)] * 2 + [dt.datetime(2026, 1, 2)],
                                        pa.timestamp("s")), MERGED, 2),
    "Arrow decimals": (pa.array([Decimal("1.5"), Decimal("1.5"), Decimal("2")], pa.decimal128(5, 2)), MERGED, 2),
    "numpy fixed-width bytes": (np.array([b"P1", b"P1", b"P2"]), MERGED, 2),
    "nested tuples with 2 and 2.0": ([("a", (1, 2)), ("a", (1, 2.0)), ("b", (1, 2))], SPLIT, 3),
    "polars Object tuples": (pl.Series([("a", 1), ("a", True), ("b", 1)], dtype=pl.Object), SPLIT, 3),
    "pandas Periods": (pd.Series([pd.Period("2026-01", "M")] * 2 + [pd.Period("2026-02", "M")]), MERGED, 2),
}


@pytest.mark.parametrize("case", ID_CASES)
def test_consignment_ids_by_type_and_value(case):
    ids, duty, n_cons = ID_CASES[case]
    eng, ref = both(lambda: base(consignment=ids), ID_REG)
    assert eng.differences(ref) == []
    assert eng["duty"].tolist() == ref["duty"].tolist() == duty
    assert len(eng.consignment_ids) == len(ref.consignment_ids) == n_cons
    assert typed(eng.consignment_ids) == typed(ref.consignment_ids)


@pytest.mark.parametrize("case", ["a trailing NUL", "'1' and 1", "1 and True", "tuples with 1 and True",
                                  "numpy datetime64[ns] on one day", "one instant in two time zones"])
def test_consignee_ids_by_type_and_value(case):
    # per consignee and day: three consignments of 10.00, 20.00, 30.00; merged consignees sum past 25
    ids, duty, _ = ID_CASES[case]
    reg = regime(duty_relief={"conditions": [{"threshold": "25", "per": "consignee_day"}]})
    items = base(consignment=["A", "B", "C"], consignee=ids, date=["2026-01-01"] * 3)
    eng, ref = both(lambda: items, reg)
    assert eng.differences(ref) == []
    assert eng["duty"].tolist() == duty


@pytest.mark.parametrize("lazy", [False, True], ids=["DataFrame", "LazyFrame"])
def test_polars_object_column_in_a_frame_keeps_its_objects(lazy):
    # exported through Arrow, a pl.Object column would be the objects' addresses
    frame = pl.DataFrame(base()).with_columns(pl.Series("consignment", [("a", 1), ("a", True), ("a", 1)],
                                                        dtype=pl.Object))
    eng, ref = both(lambda: frame.lazy() if lazy else frame, ID_REG)
    assert eng.differences(ref) == []
    assert eng.consignment_ids == ref.consignment_ids == [("a", 1), ("a", True)]
    assert eng["duty"].tolist() == [100, 0, 300]  # ("a", 1): 10.00 + 30.00 > 25; ("a", True): 20.00 relieved


# first appearance B (20.00), then A (10.00), one consignee, one day; relief per consignee and year up to 25:
# in order of first appearance B is relieved (20 <= 25) and A is not (30 > 25): 10% of 1000 = 100.
# In the dictionary's order (A, B) it would be the other way round.
ORDER_REG = regime(duty_relief={"conditions": [{"threshold": "25", "per": "consignee_year"}]})
ORDER_ROWS = base(consignment=["B", "A"], hs_code=[TSHIRT] * 2, value=["20.00", "10.00"], currency=["EUR"] * 2,
                  consignee=["ann", "ann"], date=["2026-01-01"] * 2)
ORDER_KINDS: dict[str, Callable[[], Any]] = {
    "strings": lambda: ORDER_ROWS,
    "pandas Categorical": lambda: pd.DataFrame(ORDER_ROWS).astype({"consignment": pd.CategoricalDtype(["A", "B"])}),
    "polars Enum": lambda: pl.DataFrame(ORDER_ROWS).with_columns(pl.col("consignment").cast(pl.Enum(["A", "B"]))),
    "polars Categorical": lambda: pl.DataFrame(ORDER_ROWS).with_columns(pl.col("consignment").cast(pl.Categorical)),
    "Arrow dictionary": lambda: {**ORDER_ROWS, "consignment": pa.DictionaryArray.from_arrays(
        pa.array([1, 0], pa.int8()), pa.array(["A", "B"]))},
    "Arrow dictionaries per chunk": lambda: {**ORDER_ROWS, "consignment": pa.chunked_array([
        pa.DictionaryArray.from_arrays(pa.array([1], pa.int8()), pa.array(["A", "B"])),
        pa.DictionaryArray.from_arrays(pa.array([0], pa.int8()), pa.array(["A", "C"]))])},
    "Arrow dictionary with a repeated value": lambda: {**ORDER_ROWS, "consignment": pa.DictionaryArray.from_arrays(
        pa.array([2, 0], pa.int8()), pa.array(["A", "X", "B"]))},
}


@pytest.mark.parametrize("kind", ORDER_KINDS)
def test_consignment_order_is_first_appearance_whatever_the_encoding(kind):
    eng, ref = both(ORDER_KINDS[kind], ORDER_REG)
    assert eng.differences(ref) == []
    assert eng["duty"].tolist() == [0, 100]
    assert eng.consignment_ids == ["B", "A"]


MISSING_IDS = {
    # name: (column, first missing row)
    "None": (["A", None, None], 1),
    "pandas NA in a list": (["A", pd.NA, pd.NA], 1),
    "NaN": ([1.5, 2.5, float("nan")], 2),
    "pandas NaT in a list": (["A", "B", pd.NaT], 2),
    "numpy NaT": (nat64("2026-01-01", "NaT", "NaT"), 1),
    "Arrow null": (pa.array(["A", None, "B"]), 1),
    "Arrow NaN (not a null)": (pa.array([1.5, float("nan"), 2.5]), 1),
    "Arrow null in a dictionary": (pa.array(["A", "B", None]).dictionary_encode(), 2),
    "pandas string[python] NA": (pd.Series(["A", None, None], dtype="string[python]"), 1),
    "pandas string[pyarrow] NA": (pd.Series(["A", "A", None], dtype="string[pyarrow]"), 2),
    "pandas Int64 NA": (pd.Series([1, None, None], dtype="Int64"), 1),
    "pandas boolean NA": (pd.Series([True, None, False], dtype="boolean"), 1),
    "pandas ArrowDtype NA": (pd.Series(["A", None, "B"], dtype=pd.ArrowDtype(pa.string())), 1),
    "pandas Categorical NaN": (pd.Series(["A", None, "B"], dtype="category"), 1),
    "polars null": (pl.Series(["A", "B", None]), 2),
}


@pytest.mark.parametrize("case", MISSING_IDS)
def test_missing_consignment_id_is_refused(case):
    ids, row = MISSING_IDS[case]
    raises_same(InvalidValueError, "consignment", row, base(consignment=ids))


@pytest.mark.parametrize("case", ["None", "pandas NA in a list", "pandas Int64 NA", "Arrow null", "numpy NaT"])
def test_missing_consignee_is_refused(case):
    ids, row = MISSING_IDS[case]
    reg = regime(duty_relief={"conditions": [{"threshold": "25", "per": "consignee_day"}]})
    raises_same(InvalidValueError, "consignee", row,
                base(consignment=["A", "B", "C"], consignee=ids, date=["2026-01-01"] * 3), reg)


@pytest.mark.parametrize("column", ["consignment", "consignee"])
def test_unhashable_id_is_refused(column):
    items = base(consignment=["A", "B", "C"], consignee=["ann"] * 3)
    items[column] = ["x", ["y"], "z"]
    raises_same(InvalidValueError, column, 1, items)


def test_consignee_of_another_type_within_a_consignment_is_inconsistent():
    # consignment A's items name consignee 1 and True: two consignees, so A disagrees with itself at row 1
    raises_same(InconsistentConsignmentError, "consignee", 1, base(consignee=[1, True, 2]))


# ================================================================ 4. pandas nullable dtypes

NULLABLE = {
    # name: (column, series without NA, series with NA, row of the NA, whether NA is allowed there)
    "boolean collected_at_sale": ("collected_at_sale", [False, False, True], [False, None, True], 1, False),
    "Int64 quantity": ("quantity", [1, 2, 3], [1, None, 3], 1, True),
    "string[python] origin": ("origin", ["CN", "CN", "US"], ["CN", None, "US"], 1, True),
    "string[pyarrow] origin": ("origin", ["CN", "CN", "US"], ["CN", None, "US"], 1, True),
    "string[python] hs_code": ("hs_code", [TSHIRT] * 3, [TSHIRT, TSHIRT, None], 2, False),
    "ArrowDtype decimal value": ("value", [Decimal("10.00"), Decimal("20.00"), Decimal("30.00")],
                                 [Decimal("10.00"), None, Decimal("30.00")], 1, False),
    "Float64 value": ("value", [10.0, 20.0, 30.0], [10.0, 20.0, None], 2, False),
    "Int64 consignee": ("consignee", [7, 7, 8], [7, 7, None], 2, False),
}
DTYPES = {"boolean collected_at_sale": "boolean", "Int64 quantity": "Int64", "string[python] origin": "string[python]",
          "string[pyarrow] origin": "string[pyarrow]", "string[python] hs_code": "string[python]",
          "ArrowDtype decimal value": pd.ArrowDtype(pa.decimal128(10, 2)), "Float64 value": "Float64",
          "Int64 consignee": "Int64"}


@pytest.mark.parametrize("with_na", [False, True], ids=["without NA", "with NA"])
@pytest.mark.parametrize("case", NULLABLE)
def test_pandas_nullable_dtype(case, with_na):
    column, clean, holed, row, allowed = NULLABLE[case]
    values = holed if with_na else clean
    df = pd.DataFrame(base(**{column: pd.array(values, dtype=DTYPES[case])}))
    plain = base(**{column: [None if v is None else v for v in values]})  # the same batch as Python objects
    if with_na and not allowed:
        raises_same(InvalidValueError, column, row, df)
        raises_same(InvalidValueError, column, row, plain)
        return
    eng, ref = both(lambda: df, ID_REG)
    want = dm.assess(plain, regime=ID_REG, tariff=TAR, rates=RATES, on=ON)
    assert eng.differences(ref) == [] and eng.differences(want) == []
    assert eng["duty"].tolist() == MERGED


def test_pandas_na_in_an_object_column_is_missing_not_a_crash():
    # pd.NA has no truth value: read as None, it is an invalid flag (named at its row), not a TypeError
    raises_same(InvalidValueError, "collected_at_sale", 1, base(collected_at_sale=[True, pd.NA, False]))
    raises_same(InvalidValueError, "collected_at_sale", 2,
                pd.DataFrame(base(collected_at_sale=pd.Series([True, True, pd.NA], dtype=object))))
