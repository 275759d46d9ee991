"""The pure-Python reference: the executable specification of the engine.

It computes the same assessment item by item with exact rationals, in the order of
docs/semantics.md, and shares with the engine only what computes no amount: the data
models read as data (Regime's fields, the tariff's measures, the duty-expression trees,
ExchangeRates' rate table), the column reader, the parts and errors-as-data machinery,
the argument checks, and the result model.  Everything that decides an amount is its
own, written plainly from the specification: reading amounts, the tariff lookup, the VAT
category, the regime in force, the rules, rounding, conversion, allocation.  So a bug on
either side shows up as a difference in the differential tests (tests/test_differential.py);
tests/test_reference_independent.py holds it to that.

Modules, in the order of the specification:

- reading.py: 1. inputs read and validated in the validation order;
- lookup.py: the tariff lookup (the line in force for a code and origin);
- measures.py: duty expressions evaluated from their trees, and what the engine cannot compile;
- versions.py: the regime version in force;
- rules.py: 4. the rules, and the VAT category of a code;
- steps.py: 2.-8. and 11., the assessment;
- amounts.py: 9. rounding, 10. largest remainder, regime amounts, the int64 limit;
- derivation.py: explain(), one item's derivation.
"""

from __future__ import annotations

import functools
from typing import Any

from ..assessment import Assessment
from .amounts import allocate
from .derivation import explain
from .measures import duty_amount, linear_amount
from .steps import assess as _assess

__all__ = ["allocate", "assess", "duty_amount", "explain", "linear_amount"]


@functools.wraps(_assess)  # its signature and documentation
def assess(items: Any, **kwargs: Any) -> Assessment:
    return _assess(items, **kwargs).explained_by(explain)
