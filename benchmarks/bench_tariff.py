"""Benchmark: the full US HTS loaded once, codes of a million items resolved per batch, and
a million synthetic parcels with real US codes assessed end to end.

    python benchmarks/bench_tariff.py [--items 1000000] [--repeat 3] [--data ../shared/data]
    python -m pytest benchmarks/bench_tariff.py --benchmark-only      # the same, with pytest-benchmark

What is timed, separately:

1. ``Tariff.from_usitc_csv`` on the USITC HTS 2026 Rev. 3 CSV (35,722 rows): read, parse every
   rate cell (general, special segments, column 2, additional), build the measures.
2. ``Tariff.resolve(codes, origins, on=date)`` on a batch of N items: factorize the (code,
   origin) pairs, look each distinct pair up once (longest prefix, preferences by origin,
   stacking), index back per item.  "cold" is the first batch (every distinct pair is looked up);
   "warm" a second batch of new items over the same tariff (lookups come from the cache).
3. ``deminimis.assess`` of N parcels whose codes are ten-digit lines of the real US tariff
   (Zipf popularity, most lines inheriting their parent's rate), origins from nine countries,
   under a minimal USD regime (FOB, no relief, no VAT): the engine's encode (which calls
   ``tariff.lookup`` once per distinct pair) + the native core.  A sample is checked against
   ``deminimis.reference``.

Item data is generated from a seeded RNG outside the timings.  Needs ../shared/data.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import deminimis as dm
from deminimis.tariff import Tariff

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
US_FILE = "us_hts/hts_2026_revision_3_csv.csv"
ORIGINS = ("CN", "MX", "VN", "DE", "CA", "KR", "IN", "CU", "")
ORIGIN_P = (0.45, 0.1, 0.1, 0.08, 0.07, 0.06, 0.1, 0.01, 0.03)
ON = dt.date(2026, 11, 28)
REGIME = {"id": "bench-usd", "currency": "USD", "valuation": "FOB",
          "vat": {"rates": {"US": {"standard": "0"}}},
          "notes": "a minimal USD regime for the benchmark, not the US rules"}

def declared_codes(tariff: Tariff) -> np.ndarray:
    """Ten-digit codes of the tariff that resolve (rated lines and the statistical lines under them)."""
    ten = [c for c in tariff.codes() if len(c) == 10 and tariff.lookup(c, "CN") is not None]
    return np.array(ten, dtype="U10")


def item_batch(tariff_codes: np.ndarray, n: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(tariff_codes))
    pop = 1.0 / np.arange(1, len(order) + 1) ** 1.1
    codes = tariff_codes[order][rng.choice(len(order), size=n, p=pop / pop.sum())]
    origins = np.array(ORIGINS)[rng.choice(len(ORIGINS), size=n, p=ORIGIN_P)]
    sizes = rng.integers(1, 5, size=n // 2 + 1)
    cons = np.repeat(np.arange(len(sizes), dtype=np.int64), sizes)[:n]
    origins = origins[cons % n]  # one origin per consignment
    value = np.maximum(1, np.round(rng.lognormal(np.log(2500.0), 1.0, size=n))).astype(np.int64)  # cents
    return {
        "consignment": cons, "hs_code": codes, "value": value,
        "currency": np.full(n, "USD"), "origin": origins,
        "quantity": rng.integers(1, 13, size=n).astype(np.int64),
        "net_mass_kg": rng.integers(1, 4, size=n).astype(np.int64),
        "volume_l": rng.integers(1, 3, size=n).astype(np.int64),
    }


class Times(list):  # type: ignore[type-arg]
    """Wall times of the runs, with the process CPU times (robust to other jobs on the machine)."""

    cpu: list[float]


def timed(fn: Callable[[], Any], repeat: int) -> tuple[Times, Any]:
    times, out = Times(), None
    times.cpu = []
    for _ in range(repeat):
        c0, t0 = time.process_time(), time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
        times.cpu.append(time.process_time() - c0)
    return times, out


def fmt(times: Times) -> str:
    return (f"best {min(times):.3f} s, median {statistics.median(times):.3f} s wall "
            f"(CPU best {min(times.cpu):.3f} s; {len(times)} runs)")


def run(n: int, repeat: int, data: Path) -> int:
    path = data / US_FILE
    if not path.exists():
        print(f"{path} not found: this benchmark needs ../shared/data", file=sys.stderr)
        return 2
    print(f"deminimis {dm.__version__}, Python {sys.version.split()[0]}, numpy {np.__version__}, "
          f"{os.cpu_count()} CPUs")

    def load() -> Tariff:
        dm.tariff.clear_caches()  # every rate string is parsed again, as in a fresh process
        return Tariff.from_usitc_csv(str(path))

    times, tariff = timed(load, repeat)
    rep = tariff.report
    print(f"\n1. load {US_FILE}: {fmt(times)}")
    print(f"   {rep.rows} rows, {len(tariff)} lines, {len(tariff.measures())} measures; "
          f"{rep.rates} rates, {100 * rep.parsed / rep.rates:.2f}% parsed, "
          f"{100 * rep.evaluable / rep.rates:.2f}% evaluable")

    codes = declared_codes(tariff)
    b1, b2 = item_batch(codes, n, seed=1), item_batch(codes, n, seed=2)
    print(f"\n2. resolve the codes of {n:,} items ({len(codes):,} ten-digit codes in the draw, "
          f"{len(ORIGINS)} origins)")
    def resolve_cold() -> Any:
        tariff._clear()  # noqa: SLF001  (drop the lookup cache: every pair is looked up again)
        return tariff.resolve(b1["hs_code"], b1["origin"], on=ON)

    cold, res = timed(resolve_cold, repeat)
    pairs = len(np.unique(np.char.add(b1["hs_code"], b1["origin"])))
    print(f"   cold (first batch, {pairs:,} distinct pairs looked up): {fmt(cold)}; "
          f"{n / min(cold) / 1e6:.2f} M items/s")
    warm, res2 = timed(lambda: tariff.resolve(b2["hs_code"], b2["origin"], on=ON), repeat)
    print(f"   warm (next batch, cached lookups): {fmt(warm)}; {n / min(warm) / 1e6:.2f} M items/s")
    print(f"   {len(res.exprs):,} distinct expressions; {int(res.missing.sum())} items without a line")

    regime = dm.Regime.from_dict(REGIME)

    def assess_cold() -> Any:
        tariff._clear()  # noqa: SLF001
        return dm.assess(b1, regime=regime, tariff=tariff, amounts="minor", on=ON)

    times, result = timed(assess_cold, repeat)
    warm, _ = timed(lambda: dm.assess(b2, regime=regime, tariff=tariff, amounts="minor", on=ON), repeat)
    flagged = int(((result["rule"] & 64) != 0).sum())
    print(f"\n3. assess {n:,} parcels end to end (engine: encode, tariff lookups, native core)")
    print(f"   cold (lookup cache empty): {fmt(times)}; {n / min(times) / 1e6:.2f} M items/s")
    print(f"   warm (next batch, same tariff): {fmt(warm)}; {n / min(warm) / 1e6:.2f} M items/s")
    print(f"   duty USD {int(result['duty'].sum()) / 100:,.2f}; {flagged:,} items cannot be assessed "
          f"({100 * flagged / n:.2f}%: component rates, quota references...), never zero duty")
    k = 2000
    sub = {key: v[:k] for key, v in b1.items()}
    fast = dm.assess(sub, regime=regime, tariff=tariff, amounts="minor", on=ON)
    slow = dm.reference.assess(sub, regime=regime, tariff=tariff, amounts="minor", on=ON)
    print(f"   reference check on the first {k:,} items: {'equal' if fast.equals(slow) else 'DIFFERENT'}")
    return 0 if fast.equals(slow) else 1


# ------------------------------------------------------------------ pytest-benchmark


def _bench_setup() -> tuple[Tariff, dict[str, np.ndarray]]:
    import pytest
    path = DATA / US_FILE
    if not path.exists():
        pytest.skip("../shared/data is not present")
    tariff = Tariff.from_usitc_csv(str(path))
    return tariff, item_batch(declared_codes(tariff), 1_000_000, seed=1)


def test_load_us_hts(benchmark: Any) -> None:
    path = DATA / US_FILE
    if not path.exists():
        import pytest
        pytest.skip("../shared/data is not present")
    benchmark.pedantic(lambda: Tariff.from_usitc_csv(str(path)), setup=dm.tariff.clear_caches, rounds=3,
                       iterations=1)


def test_resolve_million_items(benchmark: Any) -> None:
    tariff, batch = _bench_setup()
    benchmark.pedantic(lambda: tariff.resolve(batch["hs_code"], batch["origin"], on=ON),
                       setup=tariff._clear, rounds=3, iterations=1)  # noqa: SLF001


def test_assess_million_parcels_with_us_codes(benchmark: Any) -> None:
    tariff, batch = _bench_setup()
    regime = dm.Regime.from_dict(REGIME)
    benchmark.pedantic(lambda: dm.assess(batch, regime=regime, tariff=tariff, amounts="minor", on=ON),
                       setup=tariff._clear, rounds=3, iterations=1)  # noqa: SLF001


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--items", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--data", type=Path, default=DATA)
    a = ap.parse_args()
    sys.exit(run(a.items, a.repeat, a.data))
