"""Compiled measure records against the reference evaluation of the trees.

The compiler (tariff/compile.py) turns a tree into the core's fixed-size record; the
reference (deminimis.reference.duty_amount) evaluates the tree itself.  On random trees
(MIN, MAX, a subtracted term; specific amounts in the customs currency or in another one
converted at a drawn exchange rate; per kg, litre, piece or litre of pure alcohol) and random
items they must agree exactly, for every rounding mode and quantum: first by
evaluating the record with the core's own rounding helper (_core.round_div), then end to
end through deminimis.assess with a minimal regime.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import deminimis as dm
from deminimis import _core
from deminimis.errors import TariffError
from deminimis.money import CURRENCY_EXPONENTS
from deminimis.rates import ExchangeRates
from deminimis.reference import duty_amount, linear_amount
from deminimis.rounding import MODES, Rounding
from deminimis.tariff import AdValorem, Bounded, CannotAssess, Compound, Specific, Tariff
from deminimis.tariff.compile import compile_measure, compile_measures
from deminimis.tariff.expr import UNITS

CURRENCIES = ["EUR", "USD", "JPY", "BHD", "GBP"]

_ON = datetime.date(2026, 11, 28)  # any date the test regime is in force


def _decimal(places: int, hi: int) -> st.SearchStrategy[Decimal]:
    return st.builds(lambda m, p: Decimal(m).scaleb(-p), st.integers(0, hi), st.integers(0, places))


def trees(ccy: str, foreign: str) -> st.SearchStrategy[Any]:
    pct = st.one_of(_decimal(3, 10**5).map(lambda d: AdValorem(Fraction(d))),
                    st.builds(lambda w, n: AdValorem(Fraction(w) + Fraction(n, 3)), st.integers(0, 90),
                              st.integers(1, 2)))
    spec = st.builds(Specific, _decimal(4, 10**6), st.sampled_from([ccy, ccy, foreign]), st.sampled_from(sorted(UNITS)),
                     st.one_of(st.just(Decimal(1)), st.sampled_from([Decimal(100), Decimal(1000), Decimal("2.5")])))
    term = st.one_of(pct, spec)
    linear = st.one_of(term, st.lists(term, min_size=2, max_size=3).map(lambda ts: Compound(tuple(ts))))
    maybe = st.one_of(st.none(), linear)
    bounded = st.builds(Bounded, linear, maybe, maybe, maybe)
    return st.one_of(linear, bounded)


#: the exchange rate's quotations: 1 base = r foreign, and 1 foreign = r base
RATE_QUOTES = ("foreign_per_base", "base_per_foreign")


@st.composite
def case(draw: Any) -> dict[str, Any]:
    ccy = draw(st.sampled_from(CURRENCIES))
    exp = CURRENCY_EXPONENTS[ccy]
    foreign = draw(st.sampled_from([c for c in CURRENCIES if c != ccy]))
    rates = ExchangeRates({foreign: draw(_decimal(4, 10**6).filter(lambda d: d > 0))}, base=ccy,
                          quote=draw(st.sampled_from(RATE_QUOTES)))
    tree = draw(trees(ccy, foreign))
    mode = draw(st.sampled_from(sorted(MODES)))
    quantum = draw(st.sampled_from([1, 5, 100]))
    items = draw(st.lists(st.fixed_dictionaries({
        "value": st.integers(0, 10**9), "mass": st.integers(0, 10**7), "volume": st.integers(0, 10**7),
        "count": st.integers(0, 10**6), "strength": st.integers(0, 100_000)}), min_size=1, max_size=6))
    for it in items:  # pure alcohol: millilitres x thousandths of a % vol
        it["alcohol"] = it["volume"] * it["strength"]
    return {"ccy": ccy, "exp": exp, "tree": tree, "mode": mode, "quantum": quantum, "items": items,
            "rates": rates}


KINDS = ("mass", "volume", "count", "alcohol")
_FIELD = {"mass": "mass", "volume": "vol", "count": "qty", "alcohol": "alc"}


def _numerator(rec: np.void, name: str, value: int, q: dict[str, int]) -> int:
    return value * int(rec[f"{name}_adv"]) + sum(q[k] * int(rec[f"{name}_{_FIELD[k]}"]) for k in KINDS)


def _record_duty(rec: np.void, value: int, q: dict[str, int], mode: str, quantum: int) -> int:
    def clause(name: str) -> int:
        return _core.round_div(_numerator(rec, name, value, q), int(rec[f"{name}_den"]), mode, quantum)

    d = clause("main")
    if rec["has_lo"]:
        d = max(d, clause("lo"))
    if rec["has_hi"]:
        d = min(d, clause("hi"))
    if rec["has_sub"]:
        d = max(0, d - clause("sub"))
    return d


def _compiles(c: dict[str, Any]) -> bool:
    """Records hold int64 coefficients over one denominator; a barrel (158.987294928 l) next to a
    tiny percentage and a heavy per-gram rate, or an exchange rate of many digits, can need more, and
    compile says so (TariffError)."""
    try:
        compile_measure(c["tree"], c["ccy"], c["exp"], c["rates"])
    except TariffError as exc:
        assert "beyond 64 bits" in str(exc)
        return False
    return True


@given(case())
def test_compiled_record_equals_reference(c: dict[str, Any]) -> None:
    assume(_compiles(c))
    rec = compile_measures([c["tree"]], c["ccy"], c["exp"], c["rates"])[0]
    rounding = Rounding(c["mode"], Decimal(c["quantum"]).scaleb(-c["exp"]))
    for it in c["items"]:
        q = {k: it[k] for k in KINDS}
        want = duty_amount(c["tree"], it["value"], q, c["ccy"], c["exp"], rounding, c["rates"])
        assert _record_duty(rec, it["value"], q, c["mode"], c["quantum"]) == want
        # each clause is the exact linear amount (before rounding) as a ratio of integers
        main = c["tree"].main if isinstance(c["tree"], Bounded) else c["tree"]
        exact = linear_amount(main, it["value"], q, c["ccy"], c["exp"], c["rates"])
        assert Fraction(_numerator(rec, "main", it["value"], q), int(rec["main_den"])) == exact


@given(case())
def test_compiled_record_through_the_core(c: dict[str, Any]) -> None:
    assume(_compiles(c))
    ccy, exp = c["ccy"], c["exp"]
    regime = dm.Regime.from_dict({
        "id": "tariff-check", "currency": ccy, "valuation": "FOB",
        "vat": {"rates": {"XX": {"standard": "0"}}},
        "rounding": {kind: {"mode": c["mode"], "quantum": str(Decimal(c["quantum"]).scaleb(-exp))}
                     for kind in ("conversion", "duty", "vat", "fee")}})
    tariff = Tariff.from_records([{"code": "6109", "duty": c["tree"]}])
    n = len(c["items"])
    items = {
        "consignment": list(range(n)), "hs_code": ["6109100010"] * n, "currency": [ccy] * n,
        "value": [it["value"] for it in c["items"]],
        "net_mass_kg": [str(Decimal(it["mass"]).scaleb(-3)) for it in c["items"]],
        "volume_l": [str(Decimal(it["volume"]).scaleb(-3)) for it in c["items"]],
        "quantity": [str(Decimal(it["count"]).scaleb(-3)) for it in c["items"]],
        "alcohol_pct": [str(Decimal(it["strength"]).scaleb(-3)) for it in c["items"]],
    }
    rounding = Rounding(c["mode"], Decimal(c["quantum"]).scaleb(-exp))
    want = [duty_amount(c["tree"], it["value"], {k: it[k] for k in KINDS}, ccy, exp, rounding, c["rates"])
            for it in c["items"]]
    got = dm.assess(items, regime=regime, tariff=tariff, amounts="minor", on=_ON, rates=c["rates"])
    assert got["duty"].tolist() == want


def test_cannot_assess_record() -> None:
    rec = compile_measure(CannotAssess("agricultural component", "EA"), "EUR", 2)
    assert rec[list(_core.MEASURE_DTYPE.names).index("cannot_assess")] == 1
    assert compile_measures([CannotAssess("x", "y")], "EUR", 2)["cannot_assess"][0] == 1


def test_foreign_currency_specific_without_its_rate_is_an_error() -> None:
    with pytest.raises(TariffError, match="no USD exchange rate"):
        compile_measure(Specific(Decimal(1), "USD", "kg"), "EUR", 2)
    with pytest.raises(TariffError, match="no USD exchange rate"):
        compile_measure(Specific(Decimal(1), "USD", "kg"), "EUR", 2, ExchangeRates({"GBP": "0.85"}, base="EUR"))
