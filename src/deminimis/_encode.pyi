from typing import Any

import numpy as np

MAX_ROWS: int
MAX_PAIR_TABLE: int

def supports(arr: Any) -> bool: ...
def first_bad_row(arr: Any) -> tuple[int, bool]: ...
def factorize(arr: Any, wide: bool = False) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]: ...
def first_inconsistent(
    values: np.ndarray[Any, Any], cons: np.ndarray[Any, Any], first: np.ndarray[Any, Any]
) -> int: ...
def factorize_pair(
    a: np.ndarray[Any, Any], b: np.ndarray[Any, Any], na: int, nb: int, bmap: np.ndarray[Any, Any] | None = None
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]: ...
def gather_items(
    pair: np.ndarray[Any, Any], measure_of: np.ndarray[Any, Any], flags_of: np.ndarray[Any, Any],
    flat_of: np.ndarray[Any, Any], vkey: np.ndarray[Any, Any], rate_of: np.ndarray[Any, Any],
    reduced_of: np.ndarray[Any, Any],
) -> tuple[
    np.ndarray[Any, Any], np.ndarray[Any, Any], np.ndarray[Any, Any], np.ndarray[Any, Any], np.ndarray[Any, Any]
]: ...
