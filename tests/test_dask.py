"""deminimis.dask on a real Dask cluster (distributed.LocalCluster, two worker processes): the items of
EU, US (consignee-day) and CN (consignee-year) batches, given in partitions that cut consignees
apart, equal one in-memory assessment item for item, with their consignment table and exact totals."""

from __future__ import annotations

import pytest

# needs pyarrow, which the wheels of some platforms are tested without (pyproject's cibuildwheel
# overrides): skipped there, as every frame test; wherever pyarrow is, dask must be too (the test extra)
pa = pytest.importorskip("pyarrow")
import dask.dataframe as dd  # noqa: E402
from distributed import Client, LocalCluster  # noqa: E402

import deminimis as dm  # noqa: E402
import deminimis.dask as ddm  # noqa: E402
from deminimis.assessment import ITEM_AMOUNTS  # noqa: E402
from deminimis.distributed import PartitioningError  # noqa: E402
from test_distributed import CASES, assert_same_as_one, case_table, one_assessment  # noqa: E402


@pytest.fixture(scope="module")
def client():
    # dask.dataframe imported at start: its first import racing a task's unpickling can fail (seen with 2026.8)
    with LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None,
                      preload=["dask.dataframe"]) as cluster, \
            Client(cluster) as c:
        yield c


def frame(rid: str) -> tuple[dd.DataFrame, pa.Table, dict]:
    table, arguments = case_table(rid)
    return dd.from_pandas(table.to_pandas(), npartitions=4), table, arguments  # 4 row ranges: consignees cut


@pytest.mark.parametrize(("rid", "on"), CASES)
def test_equals_one_assessment(client, rid, on):
    ddf, table, arguments = frame(rid)
    one = one_assessment(table, on, arguments)
    items = ddm.assess(ddf, on=on, partitions=3, **arguments)
    cons = ddm.consignments(ddf, on=on, partitions=3, **arguments)
    assert_same_as_one(pa.Table.from_pandas(items.compute(), preserve_index=False),
                       pa.Table.from_pandas(cons.compute(), preserve_index=False), one)
    summary = one.summary()
    assert ddm.totals(items) == {k: summary[k] for k in ("items", *ITEM_AMOUNTS)}


def test_the_wrong_key_and_two_consignees_are_refused(client):
    ddf, table, arguments = frame("CN-2019-04-01")
    on = CASES[2][1]
    with pytest.raises(PartitioningError, match="aggregates per consignee"):
        ddm.assess(ddf, on=on, key="consignment", **arguments)
    pdf = table.to_pandas()
    pdf.loc[1, "consignee"] = "someone else"  # rows 0 and 1 are one consignment
    assert pdf.loc[0, "consignment"] == pdf.loc[1, "consignment"]
    with pytest.raises(dm.InconsistentConsignmentError, match="has items of several consignees"):
        ddm.assess(dd.from_pandas(pdf, npartitions=2), on=on, **arguments)
