from collections.abc import Sequence
from typing import Any

import numpy as np
from typing_extensions import disjoint_base

BAD_INDEX: dict[int, tuple[str, str, str | None]]
OVERFLOW_WHAT: dict[int, str]
RULE_BITS: dict[str, int]
ROUNDING_MODES: dict[str, int]
LEVELS: dict[str, int]
BASES: dict[str, int]
PERS: dict[str, int]
WAIVER_TARGETS: dict[str, int]
FEE_PERS: dict[str, int]
FEE_WHEN: dict[str, int]
MAX_RELIEFS: int
DUTY_RELIEF_SLOT: int
VAT_RELIEF_SLOT: int
AT_SALE_SLOT: int
FLAT_SLOT: int
VAT_REDUCTION_SLOT: int
SIMPLIFIED_SLOT: int
MEASURE_DTYPE: np.dtype[Any]
ITEM_OUTPUTS: tuple[str, ...]
CONS_OUTPUTS: tuple[str, ...]
INT128_PATH: str
N_RULES: int
MAX_CONDS: int
MAX_BANDS: int
MAX_WAIVERS: int
MAX_FEES: int

@disjoint_base
class Rounding:
    def __init__(self, mode: str, level: str, quantum: int) -> None: ...

@disjoint_base
class Condition:
    @property
    def group(self) -> np.ndarray[Any, Any] | None: ...
    @property
    def order(self) -> np.ndarray[Any, Any] | None: ...
    @property
    def thresholds(self) -> np.ndarray[Any, Any] | None: ...
    @property
    def n_groups(self) -> int: ...
    def __init__(self, basis: str, per: str, inclusive: bool, threshold: int,
                 group: np.ndarray[Any, Any] | None = None, order: np.ndarray[Any, Any] | None = None,
                 n_groups: int = 0, thresholds: np.ndarray[Any, Any] | None = None) -> None: ...

@disjoint_base
class Rule:
    @property
    def conds(self) -> tuple[Condition, ...]: ...
    @property
    def cons_ok(self) -> np.ndarray[Any, Any] | None: ...
    def __init__(self, conds: Sequence[Condition], excl_bit: int, requires_flag: bool,
                 cons_ok: np.ndarray[Any, Any] | None = None) -> None: ...

@disjoint_base
class Band:
    def __init__(self, up_to: int, pct_num: int, pct_den: int, deduction: int) -> None: ...

@disjoint_base
class Waiver:
    def __init__(self, target: str, per: str, inclusive: bool, threshold: int) -> None: ...

@disjoint_base
class Fee:
    @property
    def cons_ok(self) -> np.ndarray[Any, Any] | None: ...
    def __init__(self, per: str, when: str, fixed: int, adv_num: int, adv_den: int, minimum: int | None,
                 maximum: int | None, value_above: int, value_up_to: int,
                 cons_ok: np.ndarray[Any, Any] | None = None) -> None: ...

@disjoint_base
class Surtax:
    def __init__(self, num: int, den: int, rounding: Rounding) -> None: ...

@disjoint_base
class Params:
    @property
    def rules(self) -> tuple[Rule | None, ...]: ...
    @property
    def fees(self) -> tuple[Fee, ...]: ...
    def __init__(self, *, cif: bool, vat_adds_transport: bool, at_sale_includes_duty: bool,
                 simplified_basis: str, conv: Rounding, duty: Rounding, vat: Rounding, fee: Rounding,
                 duty_base: Rounding | None, vat_base: Rounding | None, rules: Sequence[Rule | None],
                 flat_amount: int, bands: Sequence[Band], waivers: Sequence[Waiver], fees: Sequence[Fee],
                 surtaxes: Sequence[Surtax] = ()) -> None: ...

def round_div(n: int, d: int, mode: str, quantum: int) -> int: ...
def allocate(total: int, weights: Any) -> np.ndarray[Any, Any]: ...
def assess(
    items: dict[str, np.ndarray[Any, Any]],
    cons: dict[str, np.ndarray[Any, Any]],
    tables: dict[str, np.ndarray[Any, Any]],
    params: Params,
    out_items: dict[str, np.ndarray[Any, Any]],
    out_cons: dict[str, np.ndarray[Any, Any]],
    n_threads: int = 1,
) -> None: ...
