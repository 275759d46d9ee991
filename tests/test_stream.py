"""Batch-by-batch assessment gives exactly the one-pass result."""

import datetime as dt
import io

import numpy as np
import pytest

import deminimis as dm
from deminimis.cli import DEMO_RATES, synthetic_batch

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

from deminimis.stream import Progress, assess_parquet, iter_assess  # noqa: E402

ON = dt.date(2026, 11, 28)


@pytest.fixture(scope="module")
def setup():
    regime = dm.regimes.get("EU", on=ON)
    tariff = dm.tariff.sample("EU")
    batch = synthetic_batch(20_000, tariff, sorted(regime.vat.rates), seed=11)
    table = pa.table({k: (np.char.add("C", v.astype("U9")) if k == "consignment" else v) for k, v in batch.items()})
    rates = dm.ExchangeRates(DEMO_RATES, base="EUR")
    return regime, tariff, rates, table


@pytest.mark.parametrize("batch_rows", [1, 7, 997, 4096, 50_000])
def test_batches_equal_one_pass(setup, tmp_path, batch_rows):
    regime, tariff, rates, table = setup
    if batch_rows < 100:  # tiny batches: a smaller input keeps the test quick
        table = table.slice(0, 1500)
    whole = dm.assess(table, regime=regime, tariff=tariff, rates=rates, on=ON, amounts="minor")
    src = tmp_path / "in.parquet"
    pq.write_table(table, src, row_group_size=3000)
    dst = tmp_path / "out.parquet"
    summary = assess_parquet(str(src), str(dst), regime=regime, tariff=tariff, rates=rates, on=ON,
                             amounts="minor", batch_rows=batch_rows, progress=False)
    out = pq.read_table(dst)
    assert out.num_rows == table.num_rows
    for k in ("duty", "vat", "vat_at_sale", "fees", "total", "rule", "customs_value"):
        assert np.array_equal(out.column(k).to_numpy(), whole.items[k]), k
    assert summary["items"] == len(whole) and summary["consignments"] == len(whole.consignment_ids)
    assert summary["total"] == whole.summary()["total"]
    assert summary["items_flat_duty"] == whole.summary()["items_flat_duty"]


def test_progress_is_reported(setup):
    regime, tariff, rates, table = setup
    buf = io.StringIO()
    bar = Progress(table.num_rows, stream=buf)
    chunks = list(iter_assess(table.to_batches(max_chunksize=5000), regime=regime, tariff=tariff, rates=rates,
                              on=ON, amounts="minor", progress=bar))
    assert sum(c.num_rows for c, _ in chunks) == table.num_rows
    assert f"{table.num_rows:,}/{table.num_rows:,}" in buf.getvalue()


def test_non_adjacent_consignment_is_refused(setup):
    regime, tariff, rates, table = setup
    shuffled = table.take(np.random.default_rng(0).permutation(table.num_rows)[:3000])
    with pytest.raises(dm.InconsistentConsignmentError, match="reappears"):
        list(iter_assess(shuffled.to_batches(max_chunksize=1000), regime=regime, tariff=tariff, rates=rates,
                         on=ON, amounts="minor"))


def test_consignment_reappearing_later_in_the_next_chunk_is_refused(setup):
    # batches [A B] and [C A' D]: B is carried over, so the second chunk is B C A'; A' (one more item
    # of A, assessed already in the first chunk) is not at the chunk's start and must still be refused
    regime, tariff, rates, table = setup
    ids = table.column("consignment").to_pylist()
    starts = [i for i in range(len(ids)) if i == 0 or ids[i] != ids[i - 1]]
    a, b, c, d = (list(range(starts[j], starts[j + 1])) for j in range(4))
    assert len({ids[a[0]], ids[b[0]], ids[c[0]], ids[d[0]]}) == 4
    batches = [table.take(a + b), table.take(c + [a[0]] + d)]
    with pytest.raises(dm.InconsistentConsignmentError, match="reappears") as info:
        list(iter_assess(batches, regime=regime, tariff=tariff, rates=rates, on=ON, amounts="minor"))
    assert info.value.row == len(a) + len(b) + len(c)  # A's reappearance, counted from the first input row


def test_consignee_aggregation_without_a_consignee_column_names_it(setup):
    # batch by batch, as in one pass: the engine names the column the regime needs (a file with
    # the column is partitioned by consignee: tests/test_out_of_core.py)
    _, tariff, rates, table = setup
    states = set(table.column("destination").to_pylist())
    vat = {"rates": {d: {"standard": "19"} for d in states}}
    regime = dm.Regime.from_dict({"id": "x", "currency": "EUR", "vat": vat,
                                  "duty_relief": {"conditions": [{"threshold": "800", "per": "consignee_day"}]}})
    with pytest.raises(dm.MissingColumnError, match="consignee"):
        list(iter_assess([table], regime=regime, tariff=tariff, rates=rates, on=ON, amounts="minor"))


def test_cli_assess_writes_the_one_pass_result(setup, tmp_path, capsys):
    from deminimis.cli import main
    regime, tariff, rates, table = setup
    src, dst = tmp_path / "in.parquet", tmp_path / "out.parquet"
    pq.write_table(table, src)
    args = [f"--rate={k}={v}" for k, v in DEMO_RATES.items()]
    assert main(["assess", str(src), str(dst), "--regime", "EU", "--tariff", "sample:EU", "--on", "2026-11-28",
                 "--amounts", "minor", "--batch-rows", "3333", "--quiet", *args]) == 0
    whole = dm.assess(table, regime=regime, tariff=tariff, rates=rates, on=ON, amounts="minor")
    assert np.array_equal(pq.read_table(dst).column("total").to_numpy(), whole.items["total"])
    assert f"assessed {len(whole):,} items" in capsys.readouterr().out
