from typing import Any

import numpy as np

OVERFLOW_WHAT: dict[int, str]
BAD_INDEX: dict[int, tuple[str, str, str | None]]
MEASURE_DTYPE: np.dtype[Any]
ITEM_OUTPUTS: tuple[str, ...]
CONS_OUTPUTS: tuple[str, ...]
N_RULES: int
MAX_BANDS: int
INT128_PATH: str

def round_div(n: int, d: int, mode: int, quantum: int) -> int: ...
def allocate(total: int, weights: Any) -> np.ndarray[Any, Any]: ...
def assess(
    items: dict[str, np.ndarray[Any, Any]],
    cons: dict[str, np.ndarray[Any, Any]],
    tables: dict[str, np.ndarray[Any, Any]],
    params: dict[str, Any],
    out_items: dict[str, np.ndarray[Any, Any]],
    out_cons: dict[str, np.ndarray[Any, Any]],
    n_threads: int = 1,
) -> None: ...
