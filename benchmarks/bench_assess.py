"""pytest-benchmark suite: the engine, the numpy and polars baselines and the memory floor.

    python -m pytest benchmarks/bench_assess.py --benchmark-enable --benchmark-only   # 1M items
    DEMINIMIS_BENCH_ITEMS=10000000 python -m pytest benchmarks/bench_assess.py --benchmark-enable --benchmark-only
    python -m pytest benchmarks/bench_assess.py       # as tests, 20k items (pyproject adds --benchmark-disable)

Groups: ``core`` (integer columns in, amounts out), ``encode`` (strings to
integers), ``e2e`` (a pyarrow Table with string ids and codes in, amounts out),
``reference`` (the Decimal reference, on a sample).  Data is generated once per
module, outside every timing; ``benchmark.pedantic(setup=...)`` hands each round
its inputs.  pytest-benchmark times each implementation in its own block; for
ratios measured side by side (interleaved repetitions), use ``compare.py``.

With ``--benchmark-disable`` every benchmark runs once as a test and checks its
result against the engine's, so a broken benchmark fails CI instead of timing
nothing.
"""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import baselines as B  # noqa: E402
import deminimis  # noqa: E402
import engine_api as E  # noqa: E402
import floor as F  # noqa: E402
import workload as W  # noqa: E402

pytest.importorskip("pytest_benchmark")
pl = pytest.importorskip("polars")
pytest.importorskip("pyarrow")


def _size(config) -> int:
    env = os.environ.get("DEMINIMIS_BENCH_ITEMS")
    if env:
        return int(env)
    # pytest-benchmark's own rule: disabled unless --benchmark-enable overrides --benchmark-disable
    disabled = config.getoption("benchmark_disable", False) and not config.getoption("benchmark_enable", False)
    return 20_000 if disabled else 1_000_000


ROUNDS = int(os.environ.get("DEMINIMIS_BENCH_ROUNDS", "5"))


@pytest.fixture(scope="module")
def data(request):
    n = _size(request.config)
    w = W.generate(n, seed=0)
    table = w.table()
    d = {"w": w, "n": n, "table": table, "columns": w.columns(), "kwargs": w.assess_kwargs(),
         "tables": B.tables_for(w)}
    d["enc"] = E.encode(table, d["kwargs"])
    d["expected"] = B.to_numpy_result(deminimis.assess(table, **d["kwargs"]))
    d["polars_frame"] = B.polars_frame(w.ints)
    return d


def _run(benchmark, fn, setup=None, rounds: int = ROUNDS):
    """benchmark.pedantic with inputs from setup() (outside the timing), one call per round."""
    if setup is None:
        return benchmark.pedantic(fn, rounds=rounds, iterations=1, warmup_rounds=0)
    return benchmark.pedantic(fn, setup=setup, rounds=rounds, warmup_rounds=0)


def _same(result, expected, *, items_only: bool = False) -> None:
    got_i, got_c = B.to_numpy_result(result)
    want_i, want_c = expected
    for k in ("total", "duty", "vat", "vat_at_sale", "customs_value"):
        assert np.array_equal(got_i[k], want_i[k]), k
    if not items_only:
        assert np.array_equal(got_c["total"], want_c["total"])


# ---------------------------------------------------------------------------- core

@pytest.mark.benchmark(group="core")
def test_core_engine_1_thread(benchmark, data):
    res = _run(benchmark, lambda: E.core(data["enc"]))
    _same(res, data["expected"])


@pytest.mark.benchmark(group="core")
def test_core_engine_1_thread_preallocated(benchmark, data):
    outs = E.core_outputs(data["enc"])
    res = _run(benchmark, lambda o: E.core(data["enc"], o), setup=lambda: ((outs,), {}))
    _same(res, data["expected"])


@pytest.mark.benchmark(group="core")
@pytest.mark.skipif(not E.FEATURES["core_threads"], reason="the core has no n_threads yet")
def test_core_engine_all_cores(benchmark, data):
    res = _run(benchmark, lambda: E.core(data["enc"], n_threads=E.cpu_count()))
    _same(res, data["expected"])


@pytest.mark.benchmark(group="core")
@pytest.mark.skipif(not E.FEATURES["core_threads"], reason="the core has no n_threads yet")
def test_core_engine_all_cores_preallocated(benchmark, data):
    outs = E.core_outputs(data["enc"])
    res = _run(benchmark, lambda o: E.core(data["enc"], o, n_threads=E.cpu_count()), setup=lambda: ((outs,), {}))
    _same(res, data["expected"])


@pytest.mark.benchmark(group="core")
def test_core_numpy(benchmark, data):
    res = _run(benchmark, lambda: B.assess_numpy(data["w"].ints, data["tables"]))
    _same(res, data["expected"])


@pytest.mark.benchmark(group="core")
def test_core_polars(benchmark, data):
    res = _run(benchmark, lambda: B.assess_polars(data["polars_frame"], data["tables"]))
    _same(res, data["expected"])


@pytest.mark.benchmark(group="core")
def test_core_floor_fresh_outputs(benchmark, data):
    words = F.as_words(E.core_arrays(data["enc"]))
    specs = F.output_specs(data["n"], data["w"].n_cons)
    _run(benchmark, lambda: F.run(words, specs))


@pytest.mark.benchmark(group="core")
def test_core_floor_preallocated(benchmark, data):
    words = F.as_words(E.core_arrays(data["enc"]))
    specs = F.output_specs(data["n"], data["w"].n_cons)
    outs = F.preallocate(specs)
    _run(benchmark, lambda: F.run(words, specs, outputs=outs))


# ---------------------------------------------------------------------------- encoding

@pytest.mark.benchmark(group="encode")
def test_encode_engine(benchmark, data):
    enc = _run(benchmark, lambda: E.encode(data["table"], data["kwargs"]))
    assert enc["n"] == data["n"]


@pytest.mark.benchmark(group="encode")
def test_encode_numpy(benchmark, data):
    ints = _run(benchmark, lambda: B.encode_numpy(data["columns"], data["tables"]))
    assert np.array_equal(ints["code"], data["w"].ints["code"])


@pytest.mark.benchmark(group="encode")
def test_encode_polars(benchmark, data):
    df = _run(benchmark, lambda: B.encode_polars(pl.from_arrow(data["table"]), data["tables"]))
    assert np.array_equal(df["code"].to_numpy(), data["w"].ints["code"])


# ---------------------------------------------------------------------------- end to end

@pytest.mark.benchmark(group="e2e")
def test_e2e_engine_arrow_1_thread(benchmark, data):
    res = _run(benchmark, lambda: E.assess(data["table"], data["kwargs"], n_threads=1))
    _same(res, data["expected"])


@pytest.mark.benchmark(group="e2e")
@pytest.mark.skipif(not E.FEATURES["n_threads"], reason="deminimis.assess has no n_threads yet")
def test_e2e_engine_arrow_all_cores(benchmark, data):
    res = _run(benchmark, lambda: E.assess(data["table"], data["kwargs"], n_threads=None))
    _same(res, data["expected"])


@pytest.mark.benchmark(group="e2e")
@pytest.mark.skipif(not E.FEATURES["out"], reason="deminimis.assess has no out= yet")
def test_e2e_engine_arrow_preallocated(benchmark, data):
    buf = E.buffers(data["n"], data["w"].n_cons)
    res = _run(benchmark, lambda: E.assess(data["table"], data["kwargs"], out=buf))
    _same(res, data["expected"])


@pytest.mark.benchmark(group="e2e")
def test_e2e_engine_numpy_strings(benchmark, data):
    res = _run(benchmark, lambda: E.assess(data["columns"], data["kwargs"]))
    _same(res, data["expected"])


@pytest.mark.benchmark(group="e2e")
def test_e2e_numpy(benchmark, data):
    res = _run(benchmark, lambda: B.assess_numpy_e2e(data["columns"], data["tables"]))
    _same(res, data["expected"])


@pytest.mark.benchmark(group="e2e")
def test_e2e_polars(benchmark, data):
    res = _run(benchmark, lambda: B.assess_polars_e2e(data["table"], data["tables"]))
    _same(res, data["expected"])


@pytest.mark.benchmark(group="e2e")
def test_e2e_floor(benchmark, data):
    words = F.as_words(F.arrow_buffers(data["table"]))
    specs = F.output_specs(data["n"], data["w"].n_cons)
    _run(benchmark, lambda: F.run(words, specs))


# ---------------------------------------------------------------------------- reference

@pytest.mark.benchmark(group="reference")
def test_reference_sample(benchmark, data):
    sample = data["w"].head(min(data["n"], 5_000))
    table = sample.table()
    res = _run(benchmark, lambda: deminimis.reference.assess(table, **data["kwargs"]), rounds=1)
    k = sample.n_items
    assert np.array_equal(res.items["total"], data["expected"][0]["total"][:k])
