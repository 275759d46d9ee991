"""The encoder's C passes (deminimis._encode) against Arrow's and numpy's own hashing."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pa = pytest.importorskip("pyarrow")
pc = pytest.importorskip("pyarrow.compute")

from deminimis import _encode  # noqa: E402
from deminimis.assessment import ConsignmentIds  # noqa: E402
from deminimis.engine import factorize_first  # noqa: E402

STRING_TYPES = [pa.string(), pa.large_string(), pa.binary(), pa.large_binary()]

ON = dt.date(2026, 11, 28)  # any date: the test regimes have no validity bounds


def expected(arr):
    """codes, first and distinct values as Arrow's dictionary_encode gives them."""
    enc = pc.dictionary_encode(arr, null_encoding="encode")
    codes = enc.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    first = np.full(len(enc.dictionary), len(codes), dtype=np.int64)
    np.minimum.at(first, codes, np.arange(len(codes), dtype=np.int64))
    return codes, first, enc.dictionary


def by_dict(values):
    """codes and first rows in order of first appearance, by a Python dict: the oracle for numpy input."""
    index: dict = {}
    first = []
    codes = np.empty(len(values), dtype=np.int64)
    for i, x in enumerate(np.asarray(values).tolist()):
        codes[i] = index.setdefault(x, len(index))
        if codes[i] == len(first):
            first.append(i)
    return codes, np.array(first, dtype=np.int64)


def check(arr, wide=False):
    codes, first = _encode.factorize(arr, wide=wide)
    assert codes.dtype == (np.int64 if wide else np.int32)
    assert first.dtype == np.int64
    want_codes, want_first, dictionary = expected(arr)
    np.testing.assert_array_equal(codes, want_codes)
    np.testing.assert_array_equal(first, want_first)
    assert arr.take(first).equals(dictionary)
    return codes, first


def test_first_appearance_order_and_runs():
    arr = pa.array(["b", "b", "a", "b", "c", "c", "a", "", "", "b"])
    codes, first = check(arr)
    assert codes.tolist() == [0, 0, 1, 0, 2, 2, 1, 3, 3, 0]
    assert first.tolist() == [0, 2, 4, 7]


@pytest.mark.parametrize("typ", STRING_TYPES)
def test_nulls_are_a_value_of_their_own(typ):
    arr = pa.array(["x", None, None, "x", None, "y", "x"], type=typ)
    codes, first = check(arr)
    assert codes.tolist() == [0, 1, 1, 0, 1, 2, 0]
    assert arr.take(first).to_pylist()[1] is None


def test_all_null_and_empty():
    check(pa.array([None, None, None], type=pa.string()))
    for typ in STRING_TYPES + [pa.int64()]:
        codes, first = _encode.factorize(pa.array([], type=typ))
        assert len(codes) == 0 and len(first) == 0
    codes, first = _encode.factorize(np.array([], dtype="U3"), wide=True)
    assert codes.dtype == np.int64 and len(codes) == 0 and len(first) == 0


@pytest.mark.parametrize("typ", STRING_TYPES)
def test_sliced_arrays_honour_the_offset(typ):
    base = pa.array(["a", None, "bb", "bb", "a", "ccc", None, "dddddddddddddddddddd", "a"] * 3, type=typ)
    for start in range(0, 9):
        for length in (0, 1, 5, 14):
            check(base.slice(start, length))


def test_long_strings_differing_only_in_the_middle():
    # the key holds the first and last 8 bytes; the middle must still be compared
    ids = ["CN20261128" + m + "12345679" for m in ("00", "01", "00", "10", "01")]
    ids += ["x" * 40, "x" * 20 + "y" + "x" * 19, "x" * 40]
    codes, _ = check(pa.array(ids))
    assert codes.tolist() == [0, 1, 0, 2, 1, 3, 4, 3]


def test_lengths_around_the_word_boundaries():
    values = ["", "a", "ab", "abc", "abcd", "abcde", "abcdefg", "abcdefgh", "abcdefghi", "a" * 15, "a" * 16,
              "a" * 17, "a" * 24, "a" * 25, "abca", "ab\x00", "ab\x00\x00", "\x00"]
    arr = pa.array(values + values[::-1] + values)
    codes, first = check(arr)
    assert len(first) == len(values)


def test_many_distinct_values_cross_the_table_modes():
    # past 4096 distinct values the pass switches from hashing every row to
    # runs and prefetched blocks; a run may straddle the switch, and the table grows
    rng = np.random.default_rng(1)
    ids = rng.integers(0, 30_000, size=40_000)
    reps = rng.integers(1, 4, size=len(ids))
    vals = np.repeat(ids, reps).astype(str)
    arr = pa.array(vals)
    check(arr, wide=True)
    check(arr.slice(3), wide=False)
    # numpy fixed-width strings agree with a dict
    codes, first = _encode.factorize(vals, wide=True)
    want_codes, want_first = by_dict(vals)
    np.testing.assert_array_equal(codes, want_codes)
    np.testing.assert_array_equal(first, want_first)


@pytest.mark.parametrize("typ", [pa.int8(), pa.int32(), pa.int64(), pa.uint16(), pa.date32(), pa.timestamp("ms")])
def test_fixed_width_arrow_types(typ):
    arr = pa.array([3, 3, None, 1, 3, None, 2, 1, 0], type=pa.int32() if typ == pa.date32() else pa.int64()).cast(typ)
    check(arr)
    check(arr.slice(2, 5))


@pytest.mark.parametrize("dtype", ["i1", "i8", "u4", "?", "U5", "S3"])
def test_numpy_arrays_agree_with_a_dict(dtype):
    rng = np.random.default_rng(0)
    a = rng.integers(0, 7, size=500).astype(dtype)
    codes, first = _encode.factorize(a, wide=True)
    want_codes, want_first = by_dict(a)
    np.testing.assert_array_equal(codes, want_codes)
    np.testing.assert_array_equal(first, want_first)
    codes32, _ = _encode.factorize(a[::3])  # not contiguous
    np.testing.assert_array_equal(codes32, by_dict(a[::3])[0])


def test_unsupported_types_are_refused():
    assert not _encode.supports(pa.array([True, False]))
    assert not _encode.supports(pa.array([1.5]))
    assert not _encode.supports(pa.array(["a"]).dictionary_encode())
    assert not _encode.supports(np.array(["a", None], dtype=object))
    with pytest.raises(TypeError):
        _encode.factorize(pa.array([1.5, 2.5]))


def test_offsets_outside_the_data_are_an_error_not_a_read():
    # Arrow's cheap validation checks the first and last offsets only
    data = pa.py_buffer(b"abcd")
    outside = pa.py_buffer(np.array([0, 1000, 2], dtype=np.int32).tobytes())
    with pytest.raises(ValueError):
        _encode.factorize(pa.Array.from_buffers(pa.string(), 2, [None, outside, data]))
    backwards = pa.py_buffer(np.array([0, 3, 1], dtype=np.int32).tobytes())
    with pytest.raises(ValueError):
        _encode.factorize(pa.Array.from_buffers(pa.string(), 2, [None, backwards, data]))


text = st.sampled_from(["", "a", "b", "ab", "EUR", "USD", "CN2026112812345679", "CN2026112812345680",
                        "0123456789abcdefX", "0123456789abcdefY"])


@settings(max_examples=200, deadline=None)
@given(values=st.lists(st.one_of(st.none(), text, st.text(max_size=20)), max_size=60),
       typ=st.sampled_from(STRING_TYPES[:2]), start=st.integers(0, 5), wide=st.booleans())
def test_equals_dictionary_encode_on_random_data(values, typ, start, wide):
    arr = pa.array(values, type=typ).slice(min(start, len(values)))
    check(arr, wide=wide)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.lists(st.one_of(st.none(), text), max_size=10), min_size=1, max_size=5))
def test_chunked_arrays(chunks):
    chunked = pa.chunked_array([pa.array(c, type=pa.string()) for c in chunks], type=pa.string())
    codes, first, distinct = factorize_first(chunked)
    whole = chunked.combine_chunks()
    want_codes, want_first, dictionary = expected(whole)
    np.testing.assert_array_equal(codes, want_codes)
    np.testing.assert_array_equal(first, want_first)
    assert distinct.to_pylist() == dictionary.to_pylist()


@pytest.mark.parametrize("a, codes, first, values", [
    (pa.array([True, True, None, False, True]), [0, 0, 1, 2, 0], [0, 2, 3], [True, None, False]),
    (np.array([None, "a", None, 3], dtype=object), [0, 1, 0, 2], [0, 1, 3], [None, "a", 3]),
    (pa.array(["b", "a", "b"]).dictionary_encode(), [0, 1, 0], [0, 1], ["b", "a"]),
])
def test_factorize_first_general_path(a, codes, first, values):
    # booleans, objects and dictionary arrays take the general path: same codes, first rows, values
    got_codes, got_first, distinct = factorize_first(a)
    assert got_codes.dtype == np.int32 and got_codes.tolist() == codes
    assert got_first.tolist() == first
    got = distinct if isinstance(distinct, list) else distinct.tolist()
    assert got == values


def test_assess_same_from_chunked_sliced_and_dictionary_columns():
    import deminimis as dm
    reg = dm.Regime.from_dict({"id": "TEST", "currency": "EUR", "valuation": "CIF",
                               "vat": {"rates": {"DE": {"standard": "19"}, "FR": {"standard": "20"}}}})
    tar = dm.Tariff.from_records([{"code": "61", "duty": "10%"}, {"code": "0401", "duty": "3%"}])
    rng = np.random.default_rng(3)
    n_cons = 6000  # past the direct-hashing limit of the C pass
    reps = rng.integers(1, 4, size=n_cons)
    cons = np.repeat(np.array([f"C{i:07d}" for i in rng.permutation(n_cons)]), reps)
    n = len(cons)
    dest = np.repeat(rng.choice(["DE", "FR"], size=n_cons), reps)
    cols = {"consignment": cons, "hs_code": rng.choice(["6109100010", "0401100000"], size=n),
            "value": rng.integers(1, 10_000, size=n), "currency": np.full(n, "EUR"), "destination": dest,
            "freight": np.repeat(rng.integers(0, 500, size=n_cons), reps)}
    table = pa.table(cols)
    want = dm.assess(cols, regime=reg, tariff=tar, amounts="minor", on=ON)
    cut = n // 3
    chunked = pa.concat_tables([table.slice(0, cut), table.slice(cut, n - cut - 7), table.slice(n - 7)])
    assert chunked.column("consignment").num_chunks == 3
    dictionary = table.set_column(1, "hs_code", table.column("hs_code").dictionary_encode())
    for items in (table, chunked, dictionary):
        got = dm.assess(items, regime=reg, tariff=tar, amounts="minor", on=ON)
        assert got.equals(want), got.differences(want)
        assert got.consignment_ids == list(dict.fromkeys(cons.tolist()))
    # a slice of the table: offsets != 0 in every column
    part = dm.assess(table.slice(5, 1000), regime=reg, tariff=tar, amounts="minor", on=ON)
    whole_part = dm.assess({k: v[5:1005] for k, v in cols.items()}, regime=reg, tariff=tar, amounts="minor", on=ON)
    assert part.equals(whole_part)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 6), st.integers(0, 3)), max_size=80), st.booleans())
def test_first_inconsistent(rows, bad_last):
    cons_values = np.array([c for c, _ in rows], dtype=np.int64)
    vals = np.array([v for _, v in rows], dtype=np.int64)
    cons, first = _encode.factorize(cons_values, wide=True)
    per = vals[first]
    want = np.flatnonzero(vals != per[cons]) if len(rows) else np.array([], dtype=np.int64)
    want_row = int(want[0]) if len(want) else -1
    assert _encode.first_inconsistent(vals, cons, first) == want_row
    assert _encode.first_inconsistent(vals.astype(np.int32), cons, first) == want_row
    assert _encode.first_inconsistent(vals.astype(np.uint8), cons, first) == want_row
    assert _encode.first_inconsistent(vals.astype("U2"), cons, first) == want_row


def test_first_inconsistent_checks_its_indices():
    with pytest.raises(ValueError):
        _encode.first_inconsistent(np.zeros(2, np.int32), np.array([0, 5]), np.array([0]))
    with pytest.raises(ValueError):
        _encode.first_inconsistent(np.zeros(2, np.int32), np.array([0, 0]), np.array([7]))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 5)), max_size=80))
def test_factorize_pair(pairs):
    a = np.array([x for x, _ in pairs], dtype=np.int32)
    b = np.array([y for _, y in pairs], dtype=np.int32)
    bmap = np.array([2, 0, 1, 2, 0, 1], dtype=np.int32)
    for m, nb in ((None, 6), (bmap, 3)):
        codes, keys = _encode.factorize_pair(a, b, 5, nb, bmap=m)
        key = a.astype(np.int64) * nb + (b if m is None else m[b])
        want_codes, want_first = by_dict(key)
        np.testing.assert_array_equal(codes, want_codes)
        np.testing.assert_array_equal(keys, key[want_first])


def test_factorize_pair_checks_ranges():
    with pytest.raises(ValueError):
        _encode.factorize_pair(np.array([0, 5]), np.array([0, 0]), 5, 1)
    with pytest.raises(ValueError):
        _encode.factorize_pair(np.array([0]), np.array([3]), 1, 2, bmap=np.array([0, 1]))


def test_consignment_ids_behave_as_a_list():
    arr = pa.array(["A", "B", "C"])
    ids = ConsignmentIds(arr)
    assert len(ids) == 3 and ids == ["A", "B", "C"] and ["A", "B", "C"] == ids
    assert ids != ["A", "B"] and ids != ("A", "B", "C")
    assert ids[0] == "A" and ids[-1] == "C" and ids[:1] == ["A"] and ids[::2] == ["A", "C"]
    with pytest.raises(IndexError):
        ids[3]
    assert set(ids) == {"A", "B", "C"} and list(ids) == ["A", "B", "C"] and "B" in ids
    assert ids == ConsignmentIds(np.array(["A", "B", "C"]))
    assert ConsignmentIds(np.array(["A"]))[0] == "A" and type(ConsignmentIds(np.array(["A"]))[0]) is str
    assert ids.to_arrow() is arr
    assert ConsignmentIds(pa.array([], type=pa.string())) == []
    assert ConsignmentIds([1, 2]) == [1, 2] and ConsignmentIds(pa.array([1, 2])).to_arrow().type == pa.int64()
    assert "A" in repr(ids)
    with pytest.raises(TypeError):
        hash(ids)


@pytest.mark.parametrize("values", [[], [True], [False, False], [False, True, False, True], [True, True, False]])
@pytest.mark.parametrize("wide", [False, True])
def test_booleans_two_codes_at_most(values, wide):
    want_codes, want_first, dictionary = expected(pa.array(values, type=pa.bool_()))
    for a in (np.array(values, dtype=bool), pa.array(values, type=pa.bool_())):
        codes, first, distinct = factorize_first(a, wide=wide)
        assert codes.dtype == (np.int64 if wide else np.int32)
        np.testing.assert_array_equal(codes, want_codes)
        np.testing.assert_array_equal(first, want_first)
        assert distinct.tolist() == dictionary.to_pylist()


def test_gather_items_equals_numpy_gathers():
    rng = np.random.default_rng(5)
    pair, vkey = rng.integers(0, 7, size=1000).astype(np.int32), rng.integers(0, 3, size=1000).astype(np.int32)
    m_of, f_of, k_of = (rng.integers(0, 100, size=7).astype(t) for t in (np.int32, np.uint16, np.int32))
    r_of, d_of = rng.integers(0, 9, size=3).astype(np.int32), rng.integers(0, 9, size=3).astype(np.int32)
    got = _encode.gather_items(pair, m_of, f_of, k_of, vkey, r_of, d_of)
    want = (m_of[pair], f_of[pair], k_of[pair], r_of[vkey], d_of[vkey])
    for g, w in zip(got, want):
        assert g.dtype == w.dtype
        np.testing.assert_array_equal(g, w)
    assert all(len(g) == 0 for g in _encode.gather_items(pair[:0], m_of, f_of, k_of, vkey[:0], r_of, d_of))
    with pytest.raises(ValueError):
        _encode.gather_items(np.array([7]), m_of, f_of, k_of, np.array([0]), r_of, d_of)
    with pytest.raises(ValueError):
        _encode.gather_items(np.array([0]), m_of, f_of, k_of, np.array([-1]), r_of, d_of)


def with_offsets(typ, values, offsets):
    """An Arrow array of `typ` over the bytes of `values` with the given offsets (Arrow checks only the ends)."""
    a = pa.array(values, type=typ)
    wide = typ in (pa.large_string(), pa.large_binary())
    buf = pa.py_buffer(np.array(offsets, dtype=np.int64 if wide else np.int32).tobytes())
    return pa.Array.from_buffers(typ, len(offsets) - 1, [None, buf, a.buffers()[2]])


@pytest.mark.parametrize("typ", STRING_TYPES)
def test_first_bad_row_checks_every_offset(typ):
    values = ["ab", "c", "", "def"]  # 6 bytes
    assert _encode.first_bad_row(pa.array(values, type=typ)) == (-1, True)
    assert _encode.first_bad_row(pa.array([], type=typ)) == (-1, True)
    assert _encode.first_bad_row(with_offsets(typ, values, [0, 2, 1, 3, 6])) == (1, False)      # backwards
    assert _encode.first_bad_row(with_offsets(typ, values, [0, 2, 3, 99, 6]))[0] == 2            # past the data
    assert _encode.first_bad_row(with_offsets(typ, values, [0, 2, 3, -1, 6]))[0] == 2            # negative
    sliced = with_offsets(typ, values, [0, 9, 2, 3, 6]).slice(2)  # the bad rows lie before the slice
    assert sliced.offset == 2 and _encode.first_bad_row(sliced) == (-1, True)
    assert _encode.first_bad_row(with_offsets(typ, values, [0, 2, 3, 4, 3]).slice(1))[0] == 2   # row of the slice


def test_first_bad_row_says_whether_all_ascii():
    assert _encode.first_bad_row(pa.array(["abc", None, "Zürich"])) == (-1, False)
    assert _encode.first_bad_row(pa.array(["abc", "Zürich"]).slice(0, 1)) == (-1, True)  # only the slice's bytes
    assert _encode.first_bad_row(pa.array([b"\xff"], type=pa.binary())) == (-1, False)
    with pytest.raises(TypeError):
        _encode.first_bad_row(pa.array([1, 2]))
