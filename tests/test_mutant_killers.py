"""Tests that tools/mutate.py showed to be missing: each kills a mutant that survived the fast profile.

Each test names the mutant (docs/testing.md, "The last run") and checks a documented rule that no
other test pinned; the expected values are worked out by hand in the comments.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest

import deminimis as dm
from deminimis.errors import InvalidValueError
from deminimis.tariff import AdValorem, Compound, Specific, Tariff
from deminimis.tariff.compile import compile_measure


@pytest.mark.pure
def test_origin_rate_from_the_longest_prefix() -> None:
    """Mutant table-origin-shortest: rule 1 of the lookup (tariff/table.py) for origin measures:
    the longest prefix with a measure for the item's origin wins, as for the base rates."""
    t = Tariff.from_records([
        {"code": "6109", "duty": "12%"},
        {"code": "6109", "origin": "CN", "duty": "8%", "program": "A"},
        {"code": "61091000", "origin": "CN", "duty": "3%", "program": "B"},
    ])
    assert t.lookup("6109100010", "CN") == (AdValorem(Fraction(3)), "61091000")  # 8 digits beat 4
    assert t.lookup("6109900010", "CN") == (AdValorem(Fraction(8)), "6109")      # only 6109 covers it
    assert t.lookup("6109100010", "KR") == (AdValorem(Fraction(12)), "6109")     # no CN measure: the base


@pytest.mark.pure
def test_record_denominator_is_the_least_common_one() -> None:
    """Mutant compile-lcm: a clause's coefficients share their least common denominator, so a
    record is refused ("coefficients beyond 64 bits") only when that one does not fit.

    0.00000001% ad valorem is 1/10^10 per cent of value; 0.000000001 EUR per kg is
    10^-9 * 100 cents / 1000 g = 1/10^10 cent per gram.  Common denominator 10^10 (fits in 64
    bits); the product of the two denominators, 10^20, would not.
    """
    e = Compound((AdValorem(Fraction("0.00000001")), Specific(Decimal("0.000000001"), "EUR", "kg")))
    rec = compile_measure(e, "EUR", 2)
    assert rec[:6] == (1, 1, 0, 0, 0, 10**10)  # adv, mass, vol, qty, alc numerators over den


def test_a_regime_ending_within_a_day_is_in_force_that_day() -> None:
    """Mutant partition-day-in-force: a per-row date is a whole day, and a regime is in force on it
    when it is in force at some instant of it (partition.day_in_force): a valid_to at noon keeps
    the day; the next day is outside.  Built-in regimes change at midnight or 00:01, where the
    two readings agree, so only a valid_to within the day tells them apart."""
    reg = dm.Regime.from_dict({"id": "NOON", "currency": "EUR", "valuation": "CIF",
                               "vat": {"rates": {"DE": {"standard": "0"}}}, "valid_to": "2026-03-01T12:00:00"})
    tar = Tariff.from_records([{"code": "61", "duty": "10%"}])

    def batch(day: str) -> dict[str, list[object]]:
        return {"consignment": [1], "hs_code": ["6109100010"], "value": ["20.00"], "currency": ["EUR"],
                "destination": ["DE"], "date": [day]}

    for fn in (dm.assess, dm.reference.assess):
        assert fn(batch("2026-03-01"), regime=reg, tariff=tar)["duty"].tolist() == [200]  # 10% of 20.00 EUR
        with pytest.raises(InvalidValueError) as info:
            fn(batch("2026-03-02"), regime=reg, tariff=tar)
        assert (info.value.column, info.value.row) == ("date", 0)


def _colliding_ids() -> tuple[bytes, bytes]:
    """Two 16-byte ids with the same first 8 bytes whose csrc/encode.h hashes (dm_enc_hash, len <= 16)
    agree on the bits that pick the slot and the tag (bits 0-9 of a new table of 1024 slots, and
    32-63) and differ in bit 20: the encoder must tell them apart by their last 8 bytes."""
    m64 = (1 << 64) - 1
    k1, m1, k2, m2 = 0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0xD6E8FEB86659FD93, 0x94D049BB133111EB

    def pre(a: int, b: int) -> int:  # the hash before its final xor-shift
        return (((a ^ k1) * m1) & m64) ^ ((((b + 16) & m64 ^ k2) * m2) & m64)

    def final(h: int) -> int:
        return h ^ (h >> 29) ^ (h >> 47)

    def unfinal(y: int) -> int:  # the xor-shift is a bijection: fixed-point iteration inverts it
        x = y
        for _ in range(8):
            x = y ^ (x >> 29) ^ (x >> 47)
        assert final(x) == y
        return x

    head = b"CONSIGNM"
    a, b1 = int.from_bytes(head, "little"), int.from_bytes(b"ENT-0001", "little")
    for bit in range(10, 32):  # a bit neither the slot nor the tag reads
        x = unfinal(final(pre(a, b1)) ^ (1 << bit)) ^ ((a ^ k1) * m1 & m64)
        b2 = (((x * pow(m2, -1, 1 << 64)) & m64) ^ k2) - 16 & m64
        tail = b2.to_bytes(8, "little")
        if 0 not in tail:  # numpy's fixed-width bytes drop trailing NULs
            second = head + tail
            assert (final(pre(a, b2)) ^ final(pre(a, b1))) == 1 << bit
            return head + b"ENT-0001", second
    raise AssertionError("no colliding id without a NUL byte")


def test_ids_whose_hashes_collide_stay_distinct() -> None:
    """Mutant enc-key-tail: a key is compared whole (length, first and last 8 bytes) when two
    rows meet in one slot with one tag; comparing fewer bytes would merge two consignments."""
    from deminimis import _encode  # here, not at the top: the pure-Python stage collects this file

    one, two = _colliding_ids()
    codes, first = _encode.factorize(np.array([one, two, one, two], dtype="S16"))
    assert codes.tolist() == [0, 1, 0, 1] and first.tolist() == [0, 1]
