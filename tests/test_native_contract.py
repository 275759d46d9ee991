"""The contract between Python and the C core: every code is defined once, in csrc/assess.h or
csrc/checked.h, and reached through deminimis._core; the Python vocabularies (the regime schema,
the public rule names) must name the same set of things."""

from __future__ import annotations

import numpy as np
import pytest

from deminimis import RULES, _core, rounding
from deminimis.engine.params import rule_slots
from deminimis.regimes import available, model
from deminimis.regimes import get as get_regime

pytestmark = pytest.mark.filterwarnings("ignore::deminimis.regimes.IntraDayChangeWarning")


def test_rule_bits_are_the_kernels():
    """The public RULES (what result["rule"] bits mean) is the kernel's DM_RULE_* table."""
    assert RULES == {bit: name for name, bit in _core.RULE_BITS.items()}
    bits = list(_core.RULE_BITS.values())
    assert all(b > 0 and b & (b - 1) == 0 for b in bits) and len(set(bits)) == len(bits)


@pytest.mark.parametrize("vocabulary, core", [
    (tuple(rounding.MODES), _core.ROUNDING_MODES), (rounding.LEVELS, _core.LEVELS), (model.BASES, _core.BASES),
    (model.PERS, _core.PERS), (model.WAIVER_TARGETS, _core.WAIVER_TARGETS), (model.FEE_WHEN, _core.FEE_WHEN),
])
def test_each_regime_word_has_one_kernel_code(vocabulary, core):
    assert set(vocabulary) == set(core)
    assert len(set(core.values())) == len(core)


def test_measure_dtype_is_the_compiled_struct():
    dt = _core.MEASURE_DTYPE
    assert dt.names is not None and len(dt.names) == 28
    # int64 x 6 per clause (adv, mass, vol, qty, alc, den)
    assert [dt.fields[f"{c}_den"][1] for c in ("main", "lo", "hi", "sub")] == [40, 88, 136, 184]
    assert dt.itemsize % 8 == 0 and dt.itemsize == 24 * 8 + 4 * 4
    rec = np.zeros(1, dtype=dt)
    rec["hi_den"] = 7
    rec["sub_alc"] = 5
    assert rec.view(np.int64)[17] == 7  # the 18th int64 of the row, as the C struct has it
    assert rec.view(np.int64)[22] == 5


@pytest.mark.parametrize("regime_id", [r["id"] for code in ("EU", "US", "CA", "NO", "BR", "UK")
                                       for r in available(code)])
def test_rule_slots_hold_each_rule_once(regime_id):
    regime = get_regime(regime_id)
    slots = rule_slots(regime)
    assert len(slots) == _core.N_RULES
    placed = [r for r in slots if r is not None]
    assert sorted(map(id, placed)) == sorted(map(id, regime.rules()))
    assert slots[_core.DUTY_RELIEF_SLOT:_core.DUTY_RELIEF_SLOT + len(regime.duty_relief)] == list(regime.duty_relief)
    assert slots[_core.VAT_RELIEF_SLOT:_core.VAT_RELIEF_SLOT + len(regime.vat_relief)] == list(regime.vat_relief)
    assert slots[_core.AT_SALE_SLOT] is regime.collection_at_sale
