"""The baselines compute exactly what the engine computes, on the benchmark data.

A baseline that computes something else proves nothing: every speed ratio in
compare.py rests on these tests.  They run as ordinary tests (small size;
``DEMINIMIS_BENCH_ITEMS`` sets it, default 20,000):

    python -m pytest benchmarks/test_baselines.py
"""

from __future__ import annotations

import dataclasses
import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import baselines as B  # noqa: E402
import deminimis  # noqa: E402
import workload as W  # noqa: E402

N = int(os.environ.get("DEMINIMIS_BENCH_ITEMS", "20000"))

pl = pytest.importorskip("polars")
pa = pytest.importorskip("pyarrow")


@pytest.fixture(scope="module")
def w() -> W.Workload:
    return W.generate(N, seed=0)


@pytest.fixture(scope="module")
def tables(w: W.Workload) -> B.Tables:
    return B.tables_for(w)


@pytest.fixture(scope="module")
def engine(w: W.Workload):
    return B.to_numpy_result(deminimis.assess(w.table(), **w.assess_kwargs()))


def assert_same(got, want) -> None:
    gi, gc = B.to_numpy_result(got)
    wi, wc = want
    assert set(wi) <= set(gi) and set(wc) <= set(gc), "a column of the engine is missing"
    for k in wi:
        assert gi[k].shape == wi[k].shape, k
        bad = np.flatnonzero(gi[k] != wi[k])
        assert not len(bad), f"item column {k}: first difference at row {bad[0]}: {gi[k][bad[0]]} != {wi[k][bad[0]]}"
    for k in wc:
        bad = np.flatnonzero(gc[k] != wc[k])
        assert gc[k].shape == wc[k].shape, k
        assert not len(bad), f"consignment column {k}: first difference at {bad[0]}: {gc[k][bad[0]]} != {wc[k][bad[0]]}"


def test_workload_exercises_every_mechanism(w: W.Workload, engine) -> None:
    """Equality below is only worth something if the data reaches every branch."""
    items, cons = engine
    rule = items["rule"]
    flat = (rule & B.RULE_FLAT_DUTY) != 0
    sale = (rule & B.RULE_VAT_AT_SALE) != 0
    assert flat.any() and (~flat).any(), "flat duty and tariff duty"
    codes = np.array(w.codes.codes)[w.ints["code"]]
    excluded = np.char.startswith(codes, "2208") | np.char.startswith(codes, "2402")
    assert (flat & excluded & ~sale).any(), "IOSS consignments with goods excluded from collection at sale"
    assert np.char.startswith(codes, "4901").any(), "reduced VAT rate (books)"
    assert (cons["intrinsic"] > 15000).any(), "consignments above EUR 150"
    assert (w.ints["at_sale"] & ~flat).any() and (~w.ints["at_sale"]).any(), "with and without IOSS"
    assert (cons["customs_value"] > cons["intrinsic"]).any(), "freight to allocate"
    # a flat-duty key shared by several items of a consignment: EUR 3 split by largest remainder
    key = w.ints["cons"] * 10**7 + np.array([c[:6] for c in w.codes.codes], dtype=np.int64)[w.ints["code"]]
    _, counts = np.unique(key[flat], return_counts=True)
    assert (counts > 1).any(), "a EUR 3 flat duty shared by items of one subheading"
    assert ((items["duty"][flat] % 100) != 0).any(), "shares of the flat duty that are not whole euros"
    assert len(set(w.ints["cur"].tolist())) == len(W.CURRENCIES), "every currency"


def test_numpy_core_equals_engine(w, tables, engine) -> None:
    assert_same(B.assess_numpy(w.ints, tables), engine)


def test_polars_core_equals_engine(w, tables, engine) -> None:
    assert_same(B.assess_polars(B.polars_frame(w.ints), tables), engine)


def test_numpy_end_to_end_equals_engine(w, tables, engine) -> None:
    assert_same(B.assess_numpy_e2e(w.columns(), tables), engine)


def test_polars_end_to_end_equals_engine(w, tables, engine) -> None:
    assert_same(B.assess_polars_e2e(w.table(), tables), engine)


def test_engine_reads_numpy_and_arrow_alike(w, engine) -> None:
    assert_same(deminimis.assess(w.columns(), **w.assess_kwargs()), engine)


def test_baselines_handle_consignments_that_are_not_adjacent(w, tables) -> None:
    """The engine does not need a consignment's items adjacent; neither may the baselines."""
    rng = np.random.default_rng(1)
    k = min(len(w.ints["value"]), 5000)
    perm = rng.permutation(k)
    cols = {name: col[:k][perm] for name, col in w.columns().items()}
    want = B.to_numpy_result(deminimis.assess(cols, **w.assess_kwargs()))
    assert_same(B.assess_numpy_e2e(cols, tables), want)
    assert_same(B.assess_polars_e2e(pa.table(cols), tables), want)


def test_largest_remainder_matches_the_reference_allocation() -> None:
    """Ties to the earlier item, zero weights, remainders: against deminimis.reference.allocate."""
    from deminimis.reference import allocate
    rng = np.random.default_rng(2)
    sizes = rng.integers(1, 7, size=3000)
    gid = np.repeat(np.arange(len(sizes)), sizes)
    w = rng.choice([0, 0, 1, 2, 3, 5, 7, 100, 333], size=len(gid)).astype(np.int64)
    total = rng.integers(0, 50, size=len(sizes)).astype(np.int64)
    want = np.concatenate([allocate(int(t), w[gid == g].tolist()) for g, t in enumerate(total)])
    g = B.Groups(gid, dense=True)
    assert np.array_equal(B.allocate_np(total, w, g), want)
    # unsorted group ids take the argsort path and must give the same
    perm = rng.permutation(len(gid))
    g2 = B.Groups(gid[perm])
    got = B.allocate_np(total, w[perm], g2)  # ids follow key order, = gid here
    # ties go to the earlier *row*; permuting rows changes which is earlier, so compare
    # against the reference on the permuted order
    want2 = np.empty(len(gid), dtype=np.int64)
    for gg in range(len(sizes)):
        rows = np.flatnonzero(gid[perm] == gg)
        want2[rows] = allocate(int(total[gg]), w[perm][rows].tolist())
    assert np.array_equal(got, want2)
    df = pl.DataFrame({"pos": np.arange(len(gid)), "g": gid, "T": total[gid], "w": w})
    assert np.array_equal(B._allocate_pl(df, "g", pl.col("T"), pl.col("w")).to_numpy(), want)


def test_round_half_up_is_right_for_negatives_too() -> None:
    """The trap of PERFORMANCE.md: floor((x + d/2) / d) gives -2 for -2.5; Decimal gives -3."""
    n = np.array([25, -25, 24, -24, 26, -26, 0, 5, -5], dtype=np.int64)
    assert B.div_half_up(n, 10).tolist() == [3, -3, 2, -2, 3, -3, 0, 1, -1]
    assert B.div_half_up_nonneg(n[n >= 0], 10).tolist() == [3, 2, 3, 0, 1]
    assert B.round_to(np.array([249, 250, 251]), 1, 5).tolist() == [250, 250, 250]
    assert B.round_to(np.array([2499, 2500]), 100, 5).tolist() == [25, 25]


def test_overflow_is_refused_not_wrapped(tables) -> None:
    """8e9 minor units times a rate scaled by ~1.2e9 wraps silently in numpy and polars."""
    with pytest.raises(OverflowError):
        B.check_product(8_000_000_000, 1_200_000_000, "conversion")
    huge = {"cons": np.array([0]), "code": np.array([0]), "cur": np.array([1]), "dest": np.array([0]),
            "at_sale": np.array([False]), "value": np.array([2**62]), "freight": np.array([0])}
    with pytest.raises(OverflowError):
        B.assess_numpy(huge, tables)
    with pytest.raises(OverflowError):
        B.assess_polars(B.polars_frame(huge), tables)


def test_an_unsupported_regime_is_refused(w) -> None:
    """Rather than compute something else, the baselines refuse a mechanism they lack."""
    d = w.regime.to_dict()
    d["fees"] = [{"name": "handling", "amount": "2"}]
    regime = deminimis.Regime.from_dict(d)
    with pytest.raises(NotImplementedError, match="fees"):
        B.build_tables(regime, w.codes.codes, w.codes.duties, W.CURRENCIES, W.RATES, W.DESTINATIONS)
    wider = dataclasses.replace(w.regime, valuation="FOB")
    B.build_tables(wider, w.codes.codes, w.codes.duties, W.CURRENCIES, W.RATES, W.DESTINATIONS)


def test_the_generator_is_seeded(w) -> None:
    again = W.generate(N, seed=0)
    for k in w.ints:
        assert np.array_equal(w.ints[k], again.ints[k]), k
    assert w.table().equals(again.table())
    other = W.generate(N, seed=1)
    assert not np.array_equal(w.ints["value"], other.ints["value"])


def test_workload_shape(w) -> None:
    cols = w.columns()
    assert cols["consignment"].dtype.kind == "U" and len(cols["consignment"][0]) == 18
    assert all(len(c) == 10 and c.isdigit() for c in w.codes.codes)
    assert 1.5 < w.n_items / w.n_cons < 2.5
    sizes = np.bincount(w.ints["cons"])
    assert sizes.min() >= 1 and sizes.max() <= 5
    eur = w.ints["value"][w.ints["cur"] == 0]
    assert 1500 <= np.median(eur) <= 2500, "median value near EUR 20"
    assert len(np.unique(cols["consignment"])) == w.n_cons, "consignment ids unique"
    t = w.table()
    assert t.schema.field("consignment").type == pa.string() and t.schema.field("hs_code").type == pa.string()


def test_chunks_continue_the_numbering() -> None:
    parts = list(W.chunks(3000, 1000, seed=0))
    assert sum(p.n_items for p in parts) == 3000
    ids = np.concatenate([p.columns()["consignment"] for p in parts])
    runs = 1 + np.count_nonzero(ids[1:] != ids[:-1])
    assert runs == len(np.unique(ids)), "consignments adjacent and unique across chunks"


def test_generated_code_set_when_the_tariff_file_is_absent(tmp_path) -> None:
    """A fresh clone has no ../shared/data: the workload falls back to generated codes."""
    codes = W.code_table(path=tmp_path / "absent.csv")
    assert codes.source == "generated" and len(codes.codes) == W.N_CODES
    w = W.generate(3000, seed=0, codes=codes)
    want = B.to_numpy_result(deminimis.assess(w.table(), **w.assess_kwargs()))
    assert_same(B.assess_numpy(w.ints, B.tables_for(w)), want)
