"""The core's 128-bit helpers (csrc/checked.h) on whichever path this build has.

A build has one of two implementations of the 128-bit arithmetic: "native" (the
compiler's __int128: GCC and Clang on 64-bit targets) or "portable" (two 64-bit
words: MSVC, or any build with DEMINIMIS_PORTABLE128=1, as .ci/run's stage
"portable 128-bit path" makes one).  These tests hold both to exact integer
oracles: rounding of numerators across the whole signed 128-bit range at the
int64 boundaries, every mode, quotients and divisors past 64 bits, and the
largest-remainder allocation with weight sums past 64 bits.
"""

from __future__ import annotations

import os
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import deminimis as dm
from deminimis import cli
from deminimis.rounding import MODES, round_ratio

_core = pytest.importorskip("deminimis._core", reason="needs the native core")

INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)
INT128_MIN, INT128_MAX = -(2**127), 2**127 - 1
MODE_NAMES = tuple(MODES)


def test_the_build_says_which_path_it_has():
    # MSVC and 32-bit compilers have no __int128; elsewhere the portable path is there only when forced
    forced = os.environ.get("DEMINIMIS_PORTABLE128") == "1"
    native_expected = sys.platform != "win32" and sys.maxsize > 2**32 and not forced
    assert _core.INT128_PATH == ("native" if native_expected else "portable"), (
        f"this build has the {_core.INT128_PATH} 128-bit path")


# ---------------------------------------------------------------- round_div


def near(values: list[int], lo: int, hi: int) -> st.SearchStrategy[int]:
    """Integers in [lo, hi], most of them within a few units of the given boundaries."""
    close = st.tuples(st.sampled_from(values), st.integers(-3, 3)).map(sum).filter(lambda v: lo <= v <= hi)
    return close | st.integers(lo, hi)


WORD = [0, 1, 2**31, 2**32, 2**62, INT64_MAX, 2**63, 2**64]
NUMERATORS = near([s * v for v in WORD + [2**96, 2**126, 2**127] for s in (1, -1)], INT128_MIN, INT128_MAX)
POSITIVE = near(WORD[1:6], 1, INT64_MAX)


def expected_round_div(n: int, d: int, mode: str, quantum: int) -> int | None:
    """quantum * R(n / (d * quantum)) exactly, or None where it does not fit int64."""
    out = round_ratio(n, d, quantum, mode)
    return out if INT64_MIN <= out <= INT64_MAX else None


def core_round_div(n: int, d: int, mode: str, quantum: int) -> int | None:
    try:
        return _core.round_div(n, d, mode, quantum)
    except OverflowError:
        return None


@given(NUMERATORS, POSITIVE, st.sampled_from(MODE_NAMES), POSITIVE | st.integers(1, 1000))
@example(2**64 - 1, 1, "half_even", 1)             # the low word full, the high word zero: overflow
@example(2**64, 2, "down", 1)                      # 2^63 exactly: overflow by one
@example(-(2**64), 2, "down", 1)                   # -2^63 exactly: fits
@example(INT128_MIN, 2**63 - 1, "floor", 2**63 - 1)  # -2^127 / (2^63 - 1)^2: a divisor past 64 bits
@example(INT128_MAX, 2**62, "up", 2**62)           # (2^127 - 1) / 2^124: 8 steps of 2^62 overflow
@example((2 * 2**70 + 1) * 3 * 2**62, 3 * 2**62, "half_even", 2**63 - 1)  # wide numerator and divisor
@example(INT64_MAX * INT64_MAX, INT64_MAX, "half_up", 1)  # a product of two int64 maxima, back to one
def test_round_div_equals_exact_rounding(n, d, mode, quantum):
    assert core_round_div(n, d, mode, quantum) == expected_round_div(n, d, mode, quantum)


@pytest.mark.parametrize("mode", MODE_NAMES)
@pytest.mark.parametrize("sign", [1, -1])
@pytest.mark.parametrize("quantum", [1, 5, 2**40 + 1])
def test_ties_past_64_bits(mode, sign, quantum):
    # divisor d * quantum > 2^64 and n at the tie (k + 1/2) steps, then one unit either side of it:
    # the remainder is compared against half of a 128-bit divisor
    d = 2**62 + 2  # even, so that the tie is an integer numerator
    for k in (0, 1, 2**20, 2**21 + 1):
        tie = sign * (2 * k + 1) * (d * quantum) // 2
        for n in (tie - 1, tie, tie + 1):
            assert core_round_div(n, d, mode, quantum) == expected_round_div(n, d, mode, quantum), (n, k)


@pytest.mark.parametrize("mode", MODE_NAMES)
def test_products_of_int64_amounts(mode):
    # what the kernel divides: a sum of up to four products of int64 factors, rounded by a denominator
    big = [INT64_MAX, INT64_MAX - 1, 2**62 + 1, 10**18, 3**39, 2**32 + 1]
    for a in big:
        for b in big:
            for d in (1, 3, 100, 10**9 + 7, INT64_MAX):
                n = a * b
                assert core_round_div(n, d, mode, 1) == expected_round_div(n, d, mode, 1), (a, b, d)
                assert core_round_div(-n, d, mode, 7) == expected_round_div(-n, d, mode, 7), (a, b, d)


# ---------------------------------------------------------------- allocate


def largest_remainder(total: int, weights: list[int]) -> list[int]:
    """In integers: floor(total * w / W) each, then one more unit for the largest remainders
    (the earlier item among equal ones); all weights zero count as equal weights."""
    w = weights if any(weights) else [1] * len(weights)
    whole = sum(w)
    shares = [divmod(total * x, whole) for x in w]
    out = [q for q, _ in shares]
    order = sorted(range(len(w)), key=lambda j: (-shares[j][1], j))
    for j in order[:total - sum(out)]:
        out[j] += 1
    return out


@given(near(WORD[:6], 0, INT64_MAX), st.lists(near(WORD[:6], 0, INT64_MAX), min_size=1, max_size=12))
@example(INT64_MAX, [INT64_MAX] * 3)           # weight sum and products past 64 bits, equal remainders
@example(INT64_MAX, [INT64_MAX, 1, INT64_MAX - 1])
@example(2**63 - 2, [2**62, 2**62, 2**62 + 1])  # a weight sum just past 2^63
@example(7, [0, 0, 0])                          # no weights: equal shares
def test_allocate_equals_largest_remainder(total, weights):
    got = _core.allocate(total, weights).tolist()
    assert got == largest_remainder(total, weights)
    assert sum(got) == total


# ---------------------------------------------------------------- concurrent assessments


def regime_batch(regime_id: str, n: int, seed: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """The demo's synthetic batch of n items under a regime, on one day, and the keywords to assess it."""
    reg = dm.regimes.get(regime_id)
    tariff, _ = cli.demo_tariff(reg)
    on = cli.DEMO_ON if reg.in_force(cli.DEMO_ON) else reg.valid_from.date()
    batch = cli.synthetic_batch(n, tariff, sorted(reg.vat.rates), seed=seed,
                                currencies=cli.demo_currencies(reg.currency), transports=cli.demo_transports(reg),
                                dates=[on], consignees=True)
    return batch, {"regime": reg, "tariff": tariff, "rates": cli.demo_rates(reg.currency), "amounts": "minor"}


def test_concurrent_assessments_equal_each_alone():
    # Python threads each assess their own batch at once: the core runs without the GIL, so
    # their kernels overlap (and the large batch runs on the core's own job thread, with 2
    # threads inside).  Each result must equal the same batch assessed alone.  US-2024:
    # relief per consignee and day (the aggregating phase); EU: flat duty, VAT at sale.
    jobs = [(*regime_batch(regime_id, n, seed), n_threads)
            for seed, (regime_id, n, n_threads) in enumerate([
                ("EU-2026-07-01", 70_000, 2), ("US-2024-10-01", 3_000, 1),
                ("EU-2026-07-01", 5_000, 1), ("US-2024-10-01", 20_000, 2)])]
    alone = [dm.assess(batch, n_threads=t, **kw) for batch, kw, t in jobs]
    with ThreadPoolExecutor(len(jobs)) as pool:
        for _ in range(3):
            together = list(pool.map(lambda job: dm.assess(job[0], n_threads=job[2], **job[1]), jobs))
            for got, want in zip(together, alone):
                assert got.equals(want), got.differences(want)
