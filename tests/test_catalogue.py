"""The catalogue of bad input: one table of cases, each tried every way a user meets it.

Every case is a valid batch with one thing wrong, and the error it must give: class, column and
(0-based) row. Each case runs
  - through `deminimis.assess` and `deminimis.reference.assess` (errors="raise"): that error on both;
  - with errors="flag" on both: the same row and column in `result.errors`, that row invalid, and
    every other consignment assessed as if the bad one were not there;
  - through `deminimis assess` on a CSV file (cases a CSV can hold): exit status 2, one line naming
    the 1-based file row and the column, and nothing written: no destination, no temporary file.
docs/errors.md lists the classes.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import deminimis as dm
from deminimis.cli import main
from deminimis.errors import (
    InconsistentConsignmentError,
    InvalidValueError,
    MissingColumnError,
    UnknownCodeError,
    UnknownColumnError,
    UnknownCurrencyError,
    UnknownValueError,
)

pa = pytest.importorskip("pyarrow")
pacsv = pytest.importorskip("pyarrow.csv")

ON = dt.date(2026, 11, 28)
RATES = dm.ExchangeRates({"USD": "1.0876", "CNY": "7.8012"}, base="EUR")
TARIFF = dm.tariff.sample("EU")
TSHIRT, WATCH = "6109100010", "9102110000"


def batch() -> dict[str, list[Any]]:
    """Six items in four consignments (A: rows 0-1, B: 2, C: 3-4, D: 5), valid under EU on 2026-11-28."""
    return {
        "consignment": ["A", "A", "B", "C", "C", "D"],
        "hs_code": [TSHIRT, TSHIRT, WATCH, TSHIRT, TSHIRT, TSHIRT],
        "value": ["20.00", "35.50", "180", "12.00", "8.00", "40"],
        "currency": ["EUR", "EUR", "USD", "CNY", "CNY", "EUR"],
        "quantity": ["1", "1", "2", "1", "3", "1"],
        "origin": ["CN", "CN", "CH", "CN", "CN", "TR"],
        "destination": ["DE", "DE", "FR", "IT", "IT", "PL"],
        "freight": ["5", "5", "10", "0", "0", "2.50"],
        "transport": ["post", "post", "courier", "post", "post", "air"],
        "nature": ["sale", "sale", "sale", "gift", "gift", "sale"],
        "date": ["2026-11-27"] * 6,
    }


def setcell(col: str, row: int, value: Any) -> Callable[[dict[str, list[Any]]], None]:
    def edit(b: dict[str, list[Any]]) -> None:
        b[col][row] = value
    return edit


def rename(old: str, new: str) -> Callable[[dict[str, list[Any]]], None]:
    def edit(b: dict[str, list[Any]]) -> None:
        b[new] = b.pop(old)
    return edit


def drop(col: str) -> Callable[[dict[str, list[Any]]], None]:
    def edit(b: dict[str, list[Any]]) -> None:
        del b[col]
    return edit


# (id, edit, error class, column, row, a CSV can hold it)
CASES = [
    # columns
    ("misspelt optional column", rename("origin", "Origin"), UnknownColumnError, "Origin", None, True),
    ("misspelt freight", rename("freight", "frieght"), UnknownColumnError, "frieght", None, True),
    ("misspelt collected_at_sale", lambda b: b.update(colected_at_sale=["1"] * 6), UnknownColumnError,
     "colected_at_sale", None, True),
    ("column of another tool", lambda b: b.update(sku=["x"] * 6), UnknownColumnError, "sku", None, True),
    ("upper-case required column", rename("value", "Value"), UnknownColumnError, "Value", None, True),
    ("no hs_code", drop("hs_code"), MissingColumnError, "hs_code", None, True),
    ("no consignment", drop("consignment"), MissingColumnError, "consignment", None, True),
    ("no value", drop("value"), MissingColumnError, "value", None, True),
    ("no currency", drop("currency"), MissingColumnError, "currency", None, True),
    ("no destination under a several-destination regime", drop("destination"), MissingColumnError,
     "destination", None, True),
    # consignment ids and codes
    ("missing consignment id", setcell("consignment", 2, None), InvalidValueError, "consignment", 2, True),
    ("hs_code too short", setcell("hs_code", 1, "610"), InvalidValueError, "hs_code", 1, True),
    ("hs_code with letters", setcell("hs_code", 3, "61O9100010"), InvalidValueError, "hs_code", 3, True),
    ("hs_code too long", setcell("hs_code", 5, "61091000101"), InvalidValueError, "hs_code", 5, True),
    ("hs_code missing", setcell("hs_code", 0, None), InvalidValueError, "hs_code", 0, True),
    ("hs_code no tariff line covers", setcell("hs_code", 4, "0101210000"), UnknownCodeError, "hs_code", 4, True),
    # currencies and amounts
    ("currency not ISO 4217", setcell("currency", 2, "US$"), UnknownCurrencyError, "currency", 2, True),
    ("currency lower case", setcell("currency", 0, "eur"), UnknownCurrencyError, "currency", 0, True),
    ("currency without a rate", setcell("currency", 5, "GBP"), UnknownCurrencyError, "currency", 5, True),
    ("value not a number", setcell("value", 1, "12,50"), InvalidValueError, "value", 1, True),
    ("value negative", setcell("value", 3, "-1"), InvalidValueError, "value", 3, True),
    ("value too precise", setcell("value", 0, "1.005"), InvalidValueError, "value", 0, True),
    ("value not finite", setcell("value", 5, "Infinity"), InvalidValueError, "value", 5, True),
    ("value missing", setcell("value", 2, None), InvalidValueError, "value", 2, True),
    ("value with a currency sign", setcell("value", 4, "EUR 8"), InvalidValueError, "value", 4, True),
    ("value beyond 64 bits", setcell("value", 1, "1e30"), dm.AmountOverflowError, "value", 1, True),
    ("freight not a number", setcell("freight", 2, "ten"), InvalidValueError, "freight", 2, True),
    ("freight negative", setcell("freight", 5, "-2.50"), InvalidValueError, "freight", 5, True),
    # quantities
    ("quantity not a number", setcell("quantity", 2, "two"), InvalidValueError, "quantity", 2, True),
    ("quantity negative", setcell("quantity", 2, "-2"), InvalidValueError, "quantity", 2, True),
    ("quantity a per-piece line needs", setcell("quantity", 2, None), InvalidValueError, "quantity", 2, True),
    # origins and vocabularies
    ("origin not alpha-2", setcell("origin", 1, "CHN"), InvalidValueError, "origin", 1, True),
    ("origin lower case", setcell("origin", 0, "cn"), InvalidValueError, "origin", 0, True),
    ("nature capitalised", setcell("nature", 3, "Gift"), UnknownValueError, "nature", 3, True),
    ("nature synonym", setcell("nature", 0, "present"), UnknownValueError, "nature", 0, True),
    ("transport capitalised", setcell("transport", 5, "Air"), UnknownValueError, "transport", 5, True),
    ("transport unknown", setcell("transport", 2, "drone"), UnknownValueError, "transport", 2, True),
    ("destination not in the regime", setcell("destination", 2, "XX"), UnknownValueError, "destination", 2, True),
    ("destination lower case", setcell("destination", 5, "pl"), UnknownValueError, "destination", 5, True),
    ("destination outside the EU", setcell("destination", 5, "GB"), UnknownValueError, "destination", 5, True),
    ("shipped_from not alpha-2", lambda b: b.update(shipped_from=["US", "US", "USA", "US", "US", "US"]),
     InvalidValueError, "shipped_from", 2, True),
    ("nature missing", setcell("nature", 2, None), InvalidValueError, "nature", 2, True),
    ("transport missing", setcell("transport", 5, None), InvalidValueError, "transport", 5, True),
    # consignments must agree on consignment-level columns
    ("destination disagrees", setcell("destination", 1, "FR"), InconsistentConsignmentError, "destination", 1, True),
    ("freight disagrees", setcell("freight", 1, "6"), InconsistentConsignmentError, "freight", 1, True),
    ("transport disagrees", setcell("transport", 4, "courier"), InconsistentConsignmentError, "transport", 4, True),
    ("nature disagrees", setcell("nature", 4, "sale"), InconsistentConsignmentError, "nature", 4, True),
    ("currency of a consignment with freight disagrees", setcell("currency", 4, "EUR"),
     InconsistentConsignmentError, "currency", 4, True),
    ("date disagrees", setcell("date", 1, "2026-11-26"), InconsistentConsignmentError, "date", 1, True),
    # dates
    ("date not ISO", setcell("date", 2, "27/11/2026"), InvalidValueError, "date", 2, True),
    ("date missing", setcell("date", 5, None), InvalidValueError, "date", 5, True),
    ("date before the regime", setcell("date", 2, "2026-06-30"), InvalidValueError, "date", 2, True),
    ("date not a date", setcell("date", 3, "2026-02-30"), InvalidValueError, "date", 3, True),
]
# a date disagreeing within C (rows 3-4) needs both rows changed to stay one bad row
CASES.append(("date before the regime on a whole consignment",
              lambda b: (setcell("date", 3, "2020-01-01")(b), setcell("date", 4, "2020-01-01")(b)),
              InvalidValueError, "date", 3, True))
IDS = [c[0] for c in CASES]


def bad_batch(edit: Callable[[dict[str, list[Any]]], None]) -> dict[str, list[Any]]:
    b = batch()
    edit(b)
    return b


@pytest.mark.parametrize("engine", ["engine", "reference"])
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_raises(case: tuple, engine: str) -> None:
    _, edit, error, column, row, _ = case
    fn = dm.assess if engine == "engine" else dm.reference.assess
    with pytest.raises(error) as info:
        fn(bad_batch(edit), regime="EU", tariff=TARIFF, rates=RATES, on=ON)
    assert type(info.value) is error
    assert (info.value.column, info.value.row) == (column, row), str(info.value)
    assert column in str(info.value)


ROW_CASES = [c for c in CASES if c[4] is not None]


@pytest.mark.parametrize("case", ROW_CASES, ids=[c[0] for c in ROW_CASES])
def test_flagged(case: tuple) -> None:
    """errors="flag": the problem is reported where it is, its consignment is left out, and the other
    consignments are assessed exactly as alone."""
    _, edit, error, column, row, _ = case
    items = bad_batch(edit)
    kw = dict(regime="EU", tariff=TARIFF, rates=RATES, on=ON, errors="flag")
    fast, slow = dm.assess(items, **kw), dm.reference.assess(items, **kw)
    cons = items["consignment"]
    for result in (fast, slow):  # the row named, and any other row with the same problem in its consignment
        assert (row, column, error.__name__) == (result.errors[0].row, result.errors[0].column, result.errors[0].error)
        assert all((e.column, e.error) == (column, error.__name__) and cons[e.row] == cons[row]
                   for e in result.errors)
        assert result.status[row] == 1
    assert fast.differences(slow) == [] and np.array_equal(fast.status, slow.status)
    bad_id = cons[row]
    left = [i for i, c in enumerate(cons) if c is not None and c != bad_id]
    assert all(fast.status[i] == 0 for i in left)
    alone = dm.assess({k: [v[i] for i in left] for k, v in items.items()}, regime="EU", tariff=TARIFF, rates=RATES,
                      on=ON)
    assert np.array_equal(fast["total"][left], alone["total"]) and np.array_equal(fast["duty"][left], alone["duty"])
    flagged = {e.row for e in fast.errors}
    others = [i for i, c in enumerate(cons) if c == bad_id and i not in flagged]
    assert all(fast.status[i] == 2 for i in others) and all(fast["total"][i] == 0 for i in others)


CSV_CASES = [c for c in CASES if c[5]]


@pytest.mark.parametrize("case", CSV_CASES, ids=[c[0] for c in CSV_CASES])
def test_command_line(case: tuple, tmp_path: Any, capsys: Any) -> None:
    """The same batch as a CSV file: exit 2, the 1-based file row and the column named, nothing written."""
    _, edit, error, column, row, _ = case
    items = bad_batch(edit)
    src, dst = tmp_path / "in.csv", tmp_path / "out.parquet"
    pacsv.write_csv(pa.table({k: pa.array(v, pa.string()) for k, v in items.items()}), str(src))
    rates = [f"--rate={c}={RATES.rates[c]}" for c in ("USD", "CNY")]
    code = main(["assess", str(src), str(dst), "--regime", "EU", "--tariff", "sample:EU", "--on", "2026-11-28",
                 "--quiet", *rates])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1 and column in err, err
    if row is not None:
        assert f"row {row + 1}" in err, err
    assert sorted(os.listdir(tmp_path)) == ["in.csv"]  # no output, no temporary file


def test_the_catalogue_is_large() -> None:
    """At least 50 cases, each tried on both sides of the API, flagged, and as a file (issue 9 asks 80+
    in all: here 3 to 4 runs a case)."""
    classes = {c[2] for c in CASES}
    assert len(CASES) >= 50 and len(classes) >= 7
