"""The partitioning contract (deminimis.distributed), in one process on pyarrow Tables: a batch cut
into parts by the library's key, assessed part by part, equals one in-memory assessment item for
item; a cut by the wrong key is refused, and shown to give other amounts.

The batches are test_regimes_batch's (consignees with several consignments over three days, values
around every threshold), here as pyarrow Tables; test_dask.py and test_spark.py reuse CASES,
case_table and assert_same_as_one on the real engines.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

import deminimis as dm
from deminimis import distributed as D
from deminimis.assessment import CONSIGNMENT_COLUMNS, ITEM_AMOUNTS
from test_regimes_batch import batch, tariff_for

# as every frame test: skipped only where the wheels are tested without pyarrow (cibuildwheel overrides)
pa = pytest.importorskip("pyarrow")

#: (regime, on): the EU per consignment, the US before 29 August 2025 per consignee and day, CN per
#: consignee and year; and CN by per-row dates (each consignment under the version of its date)
CASES = [("EU-2026-07-01", dt.date(2026, 11, 28)), ("US-2025-05-02", dt.date(2025, 5, 3)),
         ("CN-2019-04-01", dt.date(2019, 4, 3))]
PER_ROW_DATES = ("CN", None)
#: rows of the US batch given bad values (errors as data): an hs_code and a currency
BAD = {"US-2025-05-02": {17: ("hs_code", "12x"), 1203: ("currency", "XXX")}}


def case_table(rid: str, n: int = 3000) -> tuple[pa.Table, dict]:
    """The test batch of a regime as a pyarrow Table (with BAD's bad values) and the assess arguments."""
    regime = dm.regimes.get("CN-2019-04-01" if rid == "CN" else rid)
    items = batch(regime, n=n)
    for row, (column, value) in BAD.get(rid, {}).items():
        items[column] = items[column].astype(object)
        items[column][row] = value
    table = pa.table({k: pa.array(v.tolist()) for k, v in items.items()})
    return table, {"regime": rid if rid == "CN" else regime, "tariff": tariff_for(regime.currency),
                   "amounts": "minor"}


def one_assessment(table: pa.Table, on: dt.date | None, arguments: dict) -> dm.Assessment:
    return dm.assess(table, on=on, errors="flag", **arguments)


def assert_same_as_one(items: pa.Table, cons: pa.Table | None, one: dm.Assessment,
                       sequence: str = D.SEQUENCE) -> None:
    """Distributed results (any row order) equal one in-memory assessment, column for column: sorted by
    their sequence (increasing, not always consecutive: Spark's has gaps) they are in input order."""
    items = items.sort_by(sequence)
    assert len(items) == len(one) and bool(np.all(np.diff(items[sequence].to_numpy()) > 0))
    for k in (*ITEM_AMOUNTS, "rule"):
        assert np.array_equal(items[k].to_numpy(), one.items[k]), k
    assert np.array_equal(items["status"].to_numpy(), one.status)
    flagged = [e for e in one.errors if e.row is not None]
    bad = np.flatnonzero(items["error"].is_valid().to_numpy(zero_copy_only=False))
    assert bad.tolist() == [e.row for e in flagged]
    errors = items.take(pa.array(bad, type=pa.int64()))
    assert errors["error"].to_pylist() == [e.error for e in flagged]
    assert errors["error_column"].to_pylist() == [e.column for e in flagged]
    if cons is not None:
        cons = cons.sort_by(sequence)
        assert cons["consignment"].to_pylist() == list(one.consignment_ids)
        for k in CONSIGNMENT_COLUMNS:
            assert np.array_equal(cons[k].to_numpy(), one.consignments[k]), k
        assert np.array_equal(cons["status"].to_numpy(), one.cons_status)


def chunks(table: pa.Table, size: int) -> list[pa.Table]:
    """Row chunks, as a file or a cluster holds the input: consignees (and consignments) cut apart."""
    return [table.slice(i, size) for i in range(0, table.num_rows, size)]


@pytest.mark.parametrize(("rid", "key"), [("EU-2026-07-01", "consignment"), ("US-2024-10-01", "consignee"),
                                          ("US-2025-05-02", "consignee"), ("US-2025-08-29", "consignment"),
                                          ("CN-2019-04-01", "consignee"), ("NZ-2019-12-01", "consignment")])
def test_the_key_is_the_consignee_where_a_condition_aggregates_per_consignee(rid, key):
    regime = dm.regimes.get(rid)
    assert D.partition_key(regime) == key
    assert (key == "consignee") == bool({"consignee_day", "consignee_year"} & regime.aggregations())


def test_the_key_of_per_row_dates_covers_every_version():
    assert D.partition_key("US", on=None) == "consignee"  # some US versions aggregate per consignee-day
    assert D.partition_key("US", on=dt.date(2025, 9, 2)) == "consignment"  # the one in force then does not
    assert D.partition_key("EU", on=None) == "consignment"


def test_a_key_that_splits_what_the_regime_aggregates_is_refused():
    cn = dm.regimes.get("CN-2019-04-01")
    with pytest.raises(D.PartitioningError, match="aggregates per consignee"):
        D.checked_key("consignment", cn, None)
    with pytest.raises(D.PartitioningError, match="must be one of"):
        D.checked_key("destination", cn, None)
    assert D.checked_key(None, cn, None) == "consignee"
    eu = dm.regimes.get("EU-2026-07-01")
    assert D.checked_key("consignee", eu, None) == "consignee"  # coarser than the consignment: allowed


@pytest.mark.parametrize(("rid", "on"), [*CASES, PER_ROW_DATES])
def test_parts_by_the_key_equal_one_assessment(rid, on):
    table, arguments = case_table(rid)
    one = one_assessment(table, on, arguments)
    assert len(one.errors) == len(BAD.get(rid, {}))
    key = D.partition_key(arguments["regime"], on)
    # chunks of 700 rows cut consignees apart; the library's shuffle makes them whole again
    parts = D.shuffle(D.with_sequence(chunks(table, 700)), key, 3)
    assert {p.num_rows for p in parts} != {table.num_rows}  # really three non-trivial parts
    items, cons = D.assess_partitions(parts, on=on, **arguments)
    assert_same_as_one(items, cons, one)
    assert items[D.SEQUENCE].to_pylist() == list(range(len(one)))  # here each row's place in the input
    # each part's rows in another order (as a shuffle may leave them): sorted back by the sequence first
    reversed_parts = [p.take(pa.array(np.arange(p.num_rows)[::-1])) for p in parts]
    assert_same_as_one(*D.assess_partitions(reversed_parts, on=on, **arguments), one)


def test_in_input_order_matters_within_a_part():
    """CN's yearly aggregate is cumulative in order of date, then of first appearance: a part assessed
    in another order gives other amounts (which is why assess_partition sorts by the sequence)."""
    table, arguments = case_table("CN-2019-04-01")
    on = dt.date(2019, 4, 3)
    one = dm.assess(table, on=on, **arguments)
    backwards = dm.assess(table.take(pa.array(np.arange(table.num_rows)[::-1])), on=on, **arguments)
    assert np.count_nonzero(backwards["total"][::-1] != one["total"]) > 0


@pytest.mark.parametrize(("rid", "on"), CASES[1:])
def test_the_wrong_partitioning_is_refused_and_would_differ(rid, on):
    table, arguments = case_table(rid)
    one = one_assessment(table, on, arguments)
    sequenced = D.with_sequence(chunks(table, 700))
    by_consignment = D.shuffle(sequenced, "consignment", 3)
    with pytest.raises(D.PartitioningError, match="aggregates per consignee"):
        D.assess_partitions(by_consignment, key="consignment", on=on, **arguments)
    with pytest.raises(D.PartitioningError, match=r"consignee '\w+' is in parts \d and \d"):
        D.assess_partitions(by_consignment, on=on, **arguments)  # the key's groups are split: refused
    # what the refused partitionings would give: other amounts, with no error
    for parts in (by_consignment, sequenced):
        items = pa.concat_tables([D.assess_partition(p, on=on, **arguments)[0] for p in parts])
        items = items.sort_by(D.SEQUENCE)
        differ = np.count_nonzero(items["total"].to_numpy() != one["total"])
        assert differ > 0


def test_a_consignment_with_two_consignees_is_named():
    table, arguments = case_table("CN-2019-04-01")
    consignee = table["consignee"].to_pylist()
    consignment = table["consignment"].to_pylist()
    row = next(i for i in range(1, len(consignee)) if consignment[i] == consignment[i - 1])
    consignee[row] = "someone else"
    table = table.set_column(table.column_names.index("consignee"), "consignee", pa.array(consignee))
    parts = D.shuffle(D.with_sequence([table]), "consignee", 3)
    with pytest.raises(dm.InconsistentConsignmentError,
                       match=f"consignment {consignment[row]} has items of several consignees") as info:
        D.assess_partitions(parts, on=dt.date(2019, 4, 3), **arguments)
    assert info.value.row == row and info.value.column == "consignee" and info.value.value == "someone else"


def test_the_sequence_must_give_one_order():
    table, arguments = case_table("EU-2026-07-01", n=20)
    twice = table.append_column(D.SEQUENCE, pa.array([0, 1, 2, 3] + [3] * 16))
    with pytest.raises(D.PartitioningError, match="repeats the value 3"):
        D.assess_partition(twice, on=dt.date(2026, 11, 28), **arguments)
    with pytest.raises(D.PartitioningError, match="already has a column"):
        D.with_sequence([twice])


def test_totals_are_exact_beyond_int64():
    """Sixteen items of 2^60 cents each: the sum (2^64 and more) does not fit an int64, the totals do."""
    regime = dm.regimes.get("EU-2026-07-01")
    n = 16
    table = pa.table({"consignment": list(range(n)), "hs_code": ["4901990000"] * n, "value": [2**60] * n,
                      "currency": ["EUR"] * n, "destination": ["DE"] * n})
    arguments = {"regime": regime, "tariff": tariff_for("EUR"), "amounts": "minor"}
    one = dm.assess(table, on=dt.date(2026, 11, 28), **arguments)
    items, _ = D.assess_partitions(D.shuffle(D.with_sequence([table]), "consignment", 4),
                                   on=dt.date(2026, 11, 28), **arguments)
    parts = [D.partial_totals(t) for t in (items.slice(0, 5), items.slice(5))]
    totals = D.add_totals(parts)
    summary = one.summary()
    assert totals["intrinsic"] == n * 2**60 > 2**63
    assert totals == {k: summary[k] for k in ("items", *ITEM_AMOUNTS)}


def test_the_assessor_pickles_and_gives_the_output_schemas():
    import pickle
    table, arguments = case_table("CN-2019-04-01", n=50)
    assessor = D.PartitionAssessor(on=dt.date(2019, 4, 3), keep=("invoice",), **arguments)
    again = pickle.loads(pickle.dumps(assessor))  # what Spark broadcasts and Dask sends
    assert again.tariff.content_hash == assessor.tariff.content_hash and again.regime == assessor.regime
    with_seq = D.with_sequence([table.append_column("invoice", pa.array([f"I{i}" for i in range(50)]))])[0]
    items_schema, cons_schema = again.schemas(with_seq.schema)
    items, cons = again(with_seq)
    assert items.schema == items_schema and cons.schema == cons_schema
    assert items_schema.names[:3] == [D.SEQUENCE, "consignment", "invoice"]
    assert items["invoice"].to_pylist() == [f"I{i}" for i in range(50)]
    with pytest.raises(dm.errors.UnknownColumnError):  # on the driver, before any work
        again.schemas(with_seq.append_column("surprise", pa.array([1] * 50)).schema)
