"""deminimis.spark on a real Spark (PySpark 4, local[2], one session for the module: the JVM starts
slowly): the items of EU, US (consignee-day) and CN (consignee-year) batches, given in partitions
that cut consignees apart, equal one in-memory assessment item for item, with their consignment
table and exact totals."""

from __future__ import annotations

import sys
from functools import reduce

import pytest

# needs pyarrow, which the wheels of some platforms are tested without (pyproject's cibuildwheel
# overrides): skipped there, as every frame test; wherever pyarrow is, pyspark must be too (the test extra)
pa = pytest.importorskip("pyarrow")
from pyspark.sql import DataFrame, SparkSession  # noqa: E402

import deminimis as dm  # noqa: E402
import deminimis.spark as sdm  # noqa: E402
from deminimis.assessment import ITEM_AMOUNTS  # noqa: E402
from deminimis.distributed import PartitioningError  # noqa: E402
from test_distributed import CASES, assert_same_as_one, case_table, chunks, one_assessment  # noqa: E402

# PySpark's own warning about pandas 3 (these tests pass no pandas through Spark: Arrow only)
pytestmark = pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning")


@pytest.fixture(scope="module")
def spark():
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PYSPARK_PYTHON", sys.executable)  # the workers run this interpreter (and its deminimis)
        session = (SparkSession.builder.master("local[2]").appName("deminimis-tests")
                   .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "4")
                   .getOrCreate())
        session.sparkContext.setLogLevel("ERROR")
        yield session
        session.stop()


def frame(spark: SparkSession, table: pa.Table) -> object:
    """A DataFrame of the table's rows in order, in several partitions (row chunks: consignees cut apart)."""
    return reduce(DataFrame.union, [spark.createDataFrame(part) for part in chunks(table, 700)])


@pytest.mark.parametrize(("rid", "on"), CASES)
def test_equals_one_assessment(spark, rid, on):
    table, arguments = case_table(rid)
    df = frame(spark, table)
    assert df.rdd.getNumPartitions() > 1
    one = one_assessment(table, on, arguments)
    items = sdm.assess(df, on=on, partitions=3, **arguments)
    cons = sdm.consignments(df, on=on, partitions=3, **arguments)
    assert_same_as_one(items.toArrow(), cons.toArrow(), one)
    summary = one.summary()
    assert sdm.totals(items) == {k: summary[k] for k in ("items", *ITEM_AMOUNTS)}


def test_the_wrong_key_and_two_consignees_are_refused(spark):
    table, arguments = case_table("CN-2019-04-01", n=200)
    on = CASES[2][1]
    with pytest.raises(PartitioningError, match="aggregates per consignee"):
        sdm.assess(spark.createDataFrame(table), on=on, key="consignment", **arguments)
    consignee = table["consignee"].to_pylist()
    assert table["consignment"][0] == table["consignment"][1]
    consignee[1] = "someone else"
    table = table.set_column(table.column_names.index("consignee"), "consignee", pa.array(consignee))
    with pytest.raises(dm.InconsistentConsignmentError, match="consignment 0 has items of several"):
        sdm.assess(spark.createDataFrame(table), on=on, **arguments)
