"""Hand-computed tests of the rounding primitives.

`deminimis._core.round_div(n, d, mode, quantum)` is the C core's helper: it returns
quantum * round_mode(n / (d * quantum)) as an int64, raising OverflowError when the
result does not fit.  `deminimis.rounding.round_ratio(num, den, quantum, mode_name)`
is the reference's Decimal rounding.  Every expected value below is worked out by
hand in the comment beside it (docs/semantics.md section 9 gives the mode table).
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from deminimis import _core
from deminimis.errors import RegimeError
from deminimis.rounding import MODES, Rounding, round_ratio

MODE_NAMES = ("half_up", "half_even", "down", "up", "floor", "ceiling")
INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)
OVER = "overflow"


def test_mode_names_are_the_cores():
    # the regime vocabulary (rounding.MODES, the reference's) and the core's (csrc/checked.h DM_ROUND_*)
    assert set(MODES) == set(_core.ROUNDING_MODES) == set(MODE_NAMES)
    assert len(set(_core.ROUNDING_MODES.values())) == len(MODE_NAMES)


# (n, d, quantum) -> expected result for the modes in MODE_NAMES order:
#                    half_up, half_even, down, up, floor, ceiling
CASES = [
    # quantum 1: the table of docs/semantics.md section 9 and a few more
    ((25, 10, 1), (3, 2, 2, 3, 2, 3)),            # 2.5: a tie, 2 is even
    ((-25, 10, 1), (-3, -2, -2, -3, -3, -2)),     # -2.5: a tie
    ((24, 10, 1), (2, 2, 2, 3, 2, 3)),            # 2.4
    ((-24, 10, 1), (-2, -2, -2, -3, -3, -2)),     # -2.4
    ((15, 10, 1), (2, 2, 1, 2, 1, 2)),            # 1.5: a tie, 2 is even (up from 1)
    ((-15, 10, 1), (-2, -2, -1, -2, -2, -1)),     # -1.5
    ((35, 10, 1), (4, 4, 3, 4, 3, 4)),            # 3.5: a tie, 4 is even
    ((-35, 10, 1), (-4, -4, -3, -4, -4, -3)),     # -3.5
    ((26, 10, 1), (3, 3, 2, 3, 2, 3)),            # 2.6
    ((-26, 10, 1), (-3, -3, -2, -3, -3, -2)),     # -2.6
    ((30, 10, 1), (3, 3, 3, 3, 3, 3)),            # 3 exactly: no mode moves it
    ((-30, 10, 1), (-3, -3, -3, -3, -3, -3)),     # -3 exactly
    ((0, 7, 1), (0, 0, 0, 0, 0, 0)),              # 0
    ((1, 3, 1), (0, 0, 0, 1, 0, 1)),              # 0.333...
    ((-1, 3, 1), (0, 0, 0, -1, -1, 0)),           # -0.333...
    ((2, 3, 1), (1, 1, 0, 1, 0, 1)),              # 0.666...
    ((-2, 3, 1), (-1, -1, 0, -1, -1, 0)),         # -0.666...
    ((1, 2, 1), (1, 0, 0, 1, 0, 1)),              # 0.5: a tie, 0 is even
    ((-1, 2, 1), (-1, 0, 0, -1, -1, 0)),          # -0.5
    # quantum 5 (e.g. CHF 0.05 in Rappen): result = 5 * round(n / (5 d))
    ((125, 10, 5), (15, 10, 10, 15, 10, 15)),     # 12.5 / 5 = 2.5 steps: tie, 2 even -> 10
    ((-125, 10, 5), (-15, -10, -10, -15, -15, -10)),
    ((112, 1, 5), (110, 110, 110, 115, 110, 115)),  # 112 / 5 = 22.4 steps
    ((113, 1, 5), (115, 115, 110, 115, 110, 115)),  # 113 / 5 = 22.6 steps
    ((-113, 1, 5), (-115, -115, -110, -115, -115, -110)),
    ((175, 1, 5), (175, 175, 175, 175, 175, 175)),  # 35 steps exactly
    ((75, 2, 5), (40, 40, 35, 40, 35, 40)),       # 37.5 / 5 = 7.5 steps: tie, 8 even -> 40
    # quantum 100 (whole units of a 2-decimal currency)
    ((250, 1, 100), (300, 200, 200, 300, 200, 300)),      # 2.5 steps, 2 even
    ((350, 1, 100), (400, 400, 300, 400, 300, 400)),      # 3.5 steps, 4 even
    ((-350, 1, 100), (-400, -400, -300, -400, -400, -300)),
    ((-250, 1, 100), (-300, -200, -200, -300, -300, -200)),
    ((12345, 1, 100), (12300, 12300, 12300, 12400, 12300, 12400)),      # 123.45 steps
    ((-12345, 1, 100), (-12300, -12300, -12300, -12400, -12400, -12300)),
    ((1234567, 100, 100), (12300, 12300, 12300, 12400, 12300, 12400)),  # 12345.67 / 100 = 123.4567 steps
    ((12350, 1, 100), (12400, 12400, 12300, 12400, 12300, 12400)),      # 123.5 steps: tie, 124 even
    ((12250, 1, 100), (12300, 12200, 12200, 12300, 12200, 12300)),      # 122.5 steps: tie, 122 even
    # a numerator beyond 64 bits (the core forms products in 128 bits)
    ((10**30, 10**12, 1), (10**18,) * 6),                                # exactly 10^18
    ((10**30 + 5 * 10**11, 10**12, 1),                                   # 10^18 + 0.5: tie, 10^18 even
     (10**18 + 1, 10**18, 10**18, 10**18 + 1, 10**18, 10**18 + 1)),
    ((-(10**30) - 5 * 10**11, 10**12, 1),
     (-(10**18) - 1, -(10**18), -(10**18), -(10**18) - 1, -(10**18) - 1, -(10**18))),
]


def _ids(cases):
    return [f"{n}/{d}q{q}" for (n, d, q), _ in cases]


@pytest.mark.parametrize("args,expected", CASES, ids=_ids(CASES))
def test_round_div_every_mode(args, expected):
    n, d, q = args
    got = tuple(_core.round_div(n, d, m, q) for m in MODE_NAMES)
    assert got == expected


NON_NEGATIVE = [(a, e) for a, e in CASES if a[0] >= 0]


@pytest.mark.parametrize("args,expected", NON_NEGATIVE, ids=_ids(NON_NEGATIVE))
def test_round_ratio_agrees_on_non_negative_cases(args, expected):
    n, d, q = args
    assert tuple(round_ratio(n, d, q, m) for m in MODE_NAMES) == expected


# ---------------------------------------------------------------- the int64 boundary

BOUNDARY = [
    # 2^63 - 1 = 9223372036854775807 is the largest int64: exact, so every mode keeps it
    ((INT64_MAX, 1, 1), (INT64_MAX,) * 6),
    # the same reached through a division: 3 (2^63 - 1) / 3
    ((3 * INT64_MAX, 3, 1), (INT64_MAX,) * 6),
    # 2^63 does not fit in any mode
    ((2**63, 1, 1), (OVER,) * 6),
    ((3 * 2**63, 3, 1), (OVER,) * 6),
    # (2(2^63 - 1) + 1) / 2 = 2^63 - 0.5: a tie between 2^63 - 1 (odd) and 2^63;
    # half_up, half_even (to the even 2^63), up and ceiling need 2^63: overflow
    ((2 * INT64_MAX + 1, 2, 1), (OVER, OVER, INT64_MAX, OVER, INT64_MAX, OVER)),
    # (2^63 - 1) / 100 = 92233720368547758.07 steps of 100:
    # 92233720368547758 * 100 = 9223372036854775800 fits; 92233720368547759 * 100 = ...5900 does not
    ((INT64_MAX, 1, 100), (9223372036854775800, 9223372036854775800, 9223372036854775800, OVER,
                           9223372036854775800, OVER)),
    # -2^63 is the smallest int64: exact, every mode keeps it
    ((INT64_MIN, 1, 1), (INT64_MIN,) * 6),
    # -2^63 - 1 does not fit
    ((INT64_MIN - 1, 1, 1), (OVER,) * 6),
    # -(2^64 + 1) / 2 = -(2^63 + 0.5): a tie between -2^63 (even) and -(2^63 + 1)
    ((-(2**64 + 1), 2, 1), (OVER, INT64_MIN, INT64_MIN, OVER, OVER, INT64_MIN)),
    # -(2^64 - 1) / 2 = -(2^63 - 0.5): a tie between -(2^63 - 1) (odd) and -2^63 (even)
    ((-(2**64 - 1), 2, 1), (INT64_MIN, INT64_MIN, INT64_MIN + 1, INT64_MIN, INT64_MIN, INT64_MIN + 1)),
    # -2^63 / 5 = -1844674407370955161.6 steps of 5: 1844674407370955161 * 5 = 9223372036854775805 fits,
    # 1844674407370955162 * 5 = 9223372036854775810 > 2^63 does not
    ((INT64_MIN, 1, 5), (OVER, OVER, -9223372036854775805, OVER, OVER, -9223372036854775805)),
]


@pytest.mark.parametrize("args,expected", BOUNDARY, ids=_ids(BOUNDARY))
def test_round_div_int64_boundary(args, expected):
    n, d, q = args
    for mode, want in zip(MODE_NAMES, expected):
        if want == OVER:
            with pytest.raises(OverflowError):
                _core.round_div(n, d, mode, q)
        else:
            assert _core.round_div(n, d, mode, q) == want, mode


def test_round_ratio_at_int64_max():
    # round_ratio has no int64 limit of its own; where the core's result fits, both agree
    assert round_ratio(INT64_MAX, 1, 1, "half_even") == INT64_MAX
    assert round_ratio(2 * INT64_MAX + 1, 2, 1, "down") == INT64_MAX       # 2^63 - 0.5 -> 2^63 - 1
    assert round_ratio(INT64_MAX, 1, 100, "floor") == 9223372036854775800  # 92233720368547758.07 steps


def test_round_div_rejects_bad_arguments():
    with pytest.raises(ValueError):
        _core.round_div(1, 0, "half_up", 1)        # d must be positive
    with pytest.raises(ValueError):
        _core.round_div(1, -1, "half_up", 1)
    with pytest.raises(ValueError):
        _core.round_div(1, 1, "half_up", 0)        # quantum must be positive
    with pytest.raises(ValueError):
        _core.round_div(1, 1, "nearest", 1)        # no such mode
    with pytest.raises(ValueError):
        _core.round_div(1, 1, "HALF_UP", 1)
    with pytest.raises(OverflowError):
        _core.round_div(2**127, 1, "half_up", 1)   # n must fit in 128 bits
    with pytest.raises(ValueError):
        round_ratio(1, 0, 1, "half_up")    # denominator must be positive


# ---------------------------------------------------------------- Decimal amounts


@pytest.mark.parametrize("mode,expected", [
    # 2.665 in cents is 266.5: a tie between 266 (even) and 267
    ("half_up", 267), ("half_even", 266), ("down", 266), ("up", 267), ("floor", 266), ("ceiling", 267),
])
def test_round_ratio_decimal_tie(mode, expected):
    assert round_ratio(Decimal("2.665") * 100, 1, 1, mode) == expected
    # the same value as a ratio of integers: 2665 / 10 cents
    assert round_ratio(2665, 10, 1, mode) == expected
    assert _core.round_div(2665, 10, mode, 1) == expected


@pytest.mark.parametrize("mode,expected", [
    # 2.675 in cents is 267.5: a tie between 267 and 268 (even)
    ("half_up", 268), ("half_even", 268), ("down", 267), ("up", 268), ("floor", 267), ("ceiling", 268),
])
def test_round_ratio_decimal_tie_odd(mode, expected):
    assert round_ratio(Decimal("267.5"), 1, 1, mode) == expected
    assert _core.round_div(2675, 10, mode, 1) == expected


def test_round_ratio_of_decimals_with_a_quantum():
    # 12.345 EUR = 1234.5 cents; to 0.05 (5 cents): 1234.5 / 5 = 246.9 steps -> 247 (half_up) -> 1235
    assert round_ratio(Decimal("1234.5"), 1, 5, "half_up") == 1235
    # down: 246 steps -> 1230
    assert round_ratio(Decimal("1234.5"), 1, 5, "down") == 1230
    # 1 / 1.0876 EUR per USD, 10000 USD cents: 10000 / 1.0876 = 9194.5568... -> 9195
    assert round_ratio(Decimal(10000), Decimal("1.0876"), 1, "half_up") == 9195
    assert round_ratio(Decimal(10000), Decimal("1.0876"), 1, "down") == 9194


def test_rounding_quantum_in_minor_units():
    # "0.05" of a 2-decimal currency is 5 minor units; "1" is 100; "0.001" is not whole
    assert Rounding(quantum=Decimal("0.05")).quantum_minor(2) == 5
    assert Rounding(quantum=Decimal("1")).quantum_minor(2) == 100
    assert Rounding(quantum=Decimal("1")).quantum_minor(0) == 1      # JPY
    assert Rounding(quantum=Decimal("0.005")).quantum_minor(3) == 5  # BHD
    with pytest.raises(RegimeError):
        Rounding(quantum=Decimal("0.001")).quantum_minor(2)
    with pytest.raises(RegimeError):
        Rounding(quantum=Decimal("0.5")).quantum_minor(0)
    with pytest.raises(RegimeError):
        Rounding(mode="bankers")
    with pytest.raises(RegimeError):
        Rounding(quantum=Decimal(0))
