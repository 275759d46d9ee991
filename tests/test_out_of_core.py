"""Files larger than memory: partitioned by consignee on disk (buckets) and read, assessed and
written in threads (pipeline); each gives exactly one in-memory assess of the whole file."""

import datetime as dt
import os
import threading

import numpy as np
import pytest

import deminimis as dm
from deminimis.cli import demo_currencies, demo_rates, demo_tariff, synthetic_batch

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

from deminimis import buckets, fileio, pipeline, stream  # noqa: E402
from deminimis.chunking import whole_consignments  # noqa: E402
from deminimis.stream import assess_file, iter_assess, output_schema, output_table  # noqa: E402

AMOUNTS = ("customs_value", "duty", "vat", "vat_at_sale", "fees", "total", "rule")
US_DAYS = [dt.date(2024, 11, 1) + dt.timedelta(days=d) for d in range(3)]  # consignee-day
CN_DAYS = [dt.date(2023, 12, 30), dt.date(2024, 1, 2), dt.date(2024, 1, 2), dt.date(2024, 6, 1)]  # consignee-year


def consignee_table(regime_id, days, n=4000, seed=1):
    """Items whose consignees span many consignments, dates and batches: half the consignments
    belong to four large consignees (their sums cross the thresholds), the rest to 400 small ones."""
    regime = dm.regimes.get(regime_id)
    tariff, _ = demo_tariff(regime)
    b = synthetic_batch(n, tariff, sorted(regime.vat.rates), seed=seed, currencies=demo_currencies(regime.currency),
                        dates=days, consignees=True)
    rng = np.random.default_rng(seed)
    cons = b["consignment"]
    n_cons = int(cons[-1]) + 1
    b["consignee"] = np.where(rng.random(n_cons) < 0.5, rng.integers(0, 4, n_cons),
                              rng.integers(4, 400, n_cons))[cons]
    b["consignment"] = np.char.add("C", cons.astype("U9"))
    return regime, tariff, demo_rates(regime.currency), pa.table(b)


@pytest.fixture(scope="module", params=[("US-2024-10-01", US_DAYS), ("CN-2019-04-01", CN_DAYS)], ids=["US", "CN"])
def case(request):
    regime, tariff, rates, table = consignee_table(*request.param)
    return {"regime": regime, "tariff": tariff, "rates": rates, "on": request.param[1][-1], "amounts": "minor"}, table


def bucketed(tmp_path, table, kwargs, batch_rows, **more):
    src, dst = tmp_path / "in.parquet", tmp_path / "out.parquet"
    pq.write_table(table, src, row_group_size=1000)
    summary = assess_file(str(src), str(dst), batch_rows=batch_rows, progress=False, temp_dir=str(tmp_path), **kwargs,
                          **more)
    return summary, pq.read_table(dst)


def same_as_one_pass(out, summary, whole):
    assert out.column("row").to_pylist() == list(range(1, len(whole) + 1))  # the input's order
    for k in AMOUNTS:
        assert np.array_equal(out.column(k).to_numpy(), whole.items[k]), k
    s = whole.summary()
    assert summary["consignments"] == s["consignments"] and summary["items"] == s["items"]
    for k in ("duty", "vat", "total", "items_duty_relief", "items_vat_relief"):
        assert summary[k] == s[k], k


class TestByConsignee:
    """Regimes that aggregate per consignee stream from files, equal to one in-memory assess."""

    @pytest.mark.parametrize("batch_rows", [97, 1000, 100_000])  # 42, 4 and 1 buckets
    def test_equals_one_pass(self, case, tmp_path, batch_rows):
        kwargs, table = case
        whole = dm.assess(table, **kwargs)
        summary, out = bucketed(tmp_path, table, kwargs, batch_rows)
        same_as_one_pass(out, summary, whole)
        assert out.column("consignment").to_pylist() == table.column("consignment").to_pylist()
        assert sorted(os.listdir(tmp_path)) == ["in.parquet", "out.parquet"]  # the buckets are gone

    def test_the_data_needs_the_consignee(self, case):
        # assessed batch by batch (whole consignments, consignees split), amounts differ: the
        # equality above is not a coincidence of data that never aggregates
        kwargs, table = case
        whole = dm.assess(table, **kwargs)
        parts = [dm.assess(chunk, **kwargs).items["total"] for _, chunk in whole_consignments(table.to_batches(500))]
        assert np.count_nonzero(np.concatenate(parts) != whole.items["total"]) > 10

    def test_flagged_rows_equal_one_pass(self, case, tmp_path):
        kwargs, table = case
        ids, consignees = table.column("consignment").to_pylist(), table.column("consignee").to_numpy().copy()
        second = [i for i in range(1, len(ids)) if ids[i] == ids[i - 1]]  # second items of consignments
        consignees[second[5]] = 999  # a consignment with two consignees, split by the hash if routed per row
        value = table.column("value").to_numpy().copy()
        value[[10, 2500]] = -1
        codes = table.column("hs_code").to_pylist()
        codes[3333] = "XX"
        bad = table.set_column(table.column_names.index("consignee"), "consignee", pa.array(consignees))
        bad = bad.set_column(bad.column_names.index("value"), "value", pa.array(value))
        bad = bad.set_column(bad.column_names.index("hs_code"), "hs_code", pa.array(codes))
        whole = dm.assess(bad, errors="flag", **kwargs)
        assert {e.column for e in whole.errors} == {"consignee", "value", "hs_code"}
        summary, out = bucketed(tmp_path, bad, kwargs, 300, errors="flag")
        same_as_one_pass(out, summary, whole)
        assert np.array_equal(out.column("status").to_numpy(), whole.status)
        assert [e.to_dict() for e in summary["errors"]] == [e.to_dict() for e in whole.errors]
        assert sorted(os.listdir(tmp_path)) == ["in.parquet", "out.parquet", "out.parquet.errors.csv"]

    def test_per_row_dates_across_versions(self, tmp_path):
        # the US aggregated per consignee and day until 2025-08-29, and stopped: rows on both sides
        days = [dt.date(2025, 8, 27), dt.date(2025, 8, 28), dt.date(2025, 8, 30), dt.date(2025, 8, 31)]
        regime, tariff, rates, table = consignee_table("US-2025-05-02", days)
        kwargs = {"regime": "US", "tariff": tariff, "rates": rates, "amounts": "minor"}
        whole = dm.assess(table, **kwargs)
        summary, out = bucketed(tmp_path, table, kwargs, 250)
        same_as_one_pass(out, summary, whole)
        assert "US-2025-05-02" in summary["provenance"]["regime"] and "US-2025-08-29" in summary["provenance"]["regime"]

    def test_a_consignment_of_two_consignees_is_named(self, case, tmp_path):
        kwargs, table = case
        ids = table.column("consignment").to_pylist()
        j = next(i for i in range(2000, len(ids)) if ids[i] == ids[i - 1])
        consignees = table.column("consignee").to_numpy().copy()
        consignees[j] = 999
        bad = table.set_column(table.column_names.index("consignee"), "consignee", pa.array(consignees))
        with pytest.raises(dm.InconsistentConsignmentError) as one_pass:
            dm.assess(bad, **kwargs)
        with pytest.raises(dm.InconsistentConsignmentError) as info:
            bucketed(tmp_path, bad, kwargs, 200)
        assert info.value.row == one_pass.value.row == j and info.value.column == "consignee"
        assert f"consignment {ids[j]!r} has items of more than one consignee" in str(info.value)
        assert f"row {j - 1} has another value" in str(info.value)  # the file's rows, not the bucket's
        assert os.listdir(tmp_path) == ["in.parquet"]

    def test_a_consignment_must_be_adjacent(self, case, tmp_path):
        kwargs, table = case
        moved = table.take(np.r_[np.arange(1, 3000), 0, np.arange(3000, table.num_rows)])
        assert moved.column("consignment")[0] == moved.column("consignment")[2999]  # C0 has several items
        with pytest.raises(dm.InconsistentConsignmentError, match="reappears"):
            bucketed(tmp_path, moved, kwargs, 500)
        assert os.listdir(tmp_path) == ["in.parquet"]

    def test_a_bad_row_mid_way_leaves_no_file(self, case, tmp_path):
        kwargs, table = case
        value = table.column("value").to_numpy().copy()
        value[3900] = -1
        bad = table.set_column(table.column_names.index("value"), "value", pa.array(value))
        with pytest.raises(dm.InvalidValueError) as info:
            bucketed(tmp_path, bad, kwargs, 300)
        assert info.value.row == 3900 and info.value.column == "value"
        assert os.listdir(tmp_path) == ["in.parquet"]

    def test_ctrl_c_while_assessing_a_bucket_leaves_no_file(self, case, tmp_path, monkeypatch):
        kwargs, table = case
        real, calls = stream.assess_rows, []

        def interrupted(*a, **k):
            calls.append(1)
            if len(calls) == 3:
                raise KeyboardInterrupt
            return real(*a, **k)

        monkeypatch.setattr(stream, "assess_rows", interrupted)
        with pytest.raises(KeyboardInterrupt):
            bucketed(tmp_path, table, kwargs, 300)
        assert len(calls) == 3 and os.listdir(tmp_path) == ["in.parquet"]

    def test_buckets_are_removed_when_the_merge_fails(self, case, tmp_path, monkeypatch):
        kwargs, table = case
        folders = []
        real_init = buckets.ConsigneeBuckets.__init__

        def init(self, *a):
            real_init(self, *a)
            folders.append(self.folder)

        def broken(self, window):
            assert sorted(os.listdir(self.folder))[0].startswith("out-")  # the outputs are there
            raise OSError("disk full")
            yield

        monkeypatch.setattr(buckets.ConsigneeBuckets, "__init__", init)
        monkeypatch.setattr(buckets.ConsigneeBuckets, "merged", broken)
        with pytest.raises(OSError, match="disk full"):
            bucketed(tmp_path, table, kwargs, 300)
        assert len(folders) == 1 and not os.path.exists(folders[0]) and os.listdir(tmp_path) == ["in.parquet"]

    def test_cli_assesses_a_consignee_regime(self, tmp_path, capsys):
        from deminimis.cli import main
        regime, tariff, rates, table = consignee_table("US-2024-10-01", US_DAYS)  # CN has no sample tariff
        kwargs = {"regime": regime, "tariff": tariff, "rates": rates, "on": US_DAYS[-1], "amounts": "minor"}
        src, dst = tmp_path / "in.parquet", tmp_path / "out.parquet"
        pq.write_table(table, src)
        rates = [f"--rate={c}={r}" for c, r in kwargs["rates"].rates.items()]
        assert main(["assess", str(src), str(dst), "--regime", kwargs["regime"].id, "--tariff",
                     f"sample:{kwargs['regime'].id.split('-')[0]}", "--on", kwargs["on"].isoformat(),
                     "--amounts", "minor", "--batch-rows", "700", "--quiet", *rates]) == 0
        whole = dm.assess(table, **kwargs)
        assert np.array_equal(pq.read_table(dst).column("total").to_numpy(), whole.items["total"])

    def test_iter_assess_refuses_a_consignee_column(self, case):
        kwargs, table = case
        with pytest.raises(dm.RegimeError, match="assess_file partitions a file by consignee"):
            list(iter_assess(table.to_batches(1000), **kwargs))
        with pytest.raises(dm.MissingColumnError) as info:  # as one pass names it
            list(iter_assess(table.drop_columns(["consignee"]).to_batches(1000), **kwargs))
        assert info.value.column == "consignee"

    def test_bucket_count(self):
        assert buckets.bucket_count(0, 10) == 1 and buckets.bucket_count(101, 10) == 11
        assert buckets.bucket_count(10**12, 10) == buckets.MAX_BUCKETS


# ---- the pipeline --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def eu():
    regime = dm.regimes.get("EU", on=dt.date(2026, 11, 28))
    tariff = dm.tariff.sample("EU")
    b = synthetic_batch(6000, tariff, sorted(regime.vat.rates), seed=3)
    b["consignment"] = np.char.add("C", b["consignment"].astype("U9"))
    kwargs = {"regime": regime, "tariff": tariff, "rates": demo_rates("EUR"), "on": dt.date(2026, 11, 28),
              "amounts": "minor"}
    return kwargs, pa.table(b)


class TestPipeline:
    def test_threaded_file_equals_serial(self, eu, tmp_path):
        kwargs, table = eu
        pq.write_table(table, tmp_path / "in.parquet", row_group_size=700)
        assess_file(str(tmp_path / "in.parquet"), str(tmp_path / "out.parquet"), batch_rows=500, progress=False,
                    keep=["quantity"], **kwargs)
        schema = output_schema(table.schema, ["quantity"], "EUR", False)
        serial, row0 = [], 0
        for chunk, result in iter_assess(table.to_batches(500), keep=["quantity"], **kwargs):
            serial.append(output_table(chunk, result, np.arange(row0, row0 + chunk.num_rows), schema))
            row0 += chunk.num_rows
        assert pq.read_table(tmp_path / "out.parquet").equals(pa.concat_tables(serial))

    def test_a_reader_error_is_raised_as_it_was_and_nothing_is_written(self, eu, tmp_path, monkeypatch):
        kwargs, table = eu
        pq.write_table(table, tmp_path / "in.parquet", row_group_size=700)
        failure = OSError("the disk went away")
        real = fileio.ItemFile.batches

        def failing(self, n):
            for i, t in enumerate(real(self, n)):
                if i == 3:
                    raise failure
                yield t

        monkeypatch.setattr(fileio.ItemFile, "batches", failing)
        with pytest.raises(OSError) as info:
            assess_file(str(tmp_path / "in.parquet"), str(tmp_path / "out.parquet"), batch_rows=500, progress=False,
                        **kwargs)
        assert info.value is failure
        assert os.listdir(tmp_path) == ["in.parquet"]

    @pytest.mark.parametrize("by_consignee", [False, True])
    def test_a_writer_error_is_raised_as_it_was_and_nothing_is_written(self, eu, case, tmp_path, monkeypatch,
                                                                        by_consignee):
        kwargs, table = case if by_consignee else eu
        pq.write_table(table, tmp_path / "in.parquet", row_group_size=700)
        failure = OSError("no space left on device")
        real, calls = fileio.TableWriter.write, []

        def failing(self, t):
            calls.append(threading.current_thread().name)
            if len(calls) == 2:
                raise failure
            real(self, t)

        monkeypatch.setattr(fileio.TableWriter, "write", failing)
        with pytest.raises(OSError) as info:
            assess_file(str(tmp_path / "in.parquet"), str(tmp_path / "out.parquet"), batch_rows=500, progress=False,
                        temp_dir=str(tmp_path), **kwargs)
        assert info.value is failure and calls == ["deminimis-writer"] * 2
        assert os.listdir(tmp_path) == ["in.parquet"]

    def test_prefetch_keeps_order_and_stops_its_thread_when_left(self):
        assert list(pipeline.Prefetch(iter(range(1000)), depth=3)) == list(range(1000))
        produced = []

        def endless():
            i = 0
            while True:
                produced.append(i)
                yield i
                i += 1

        before = threading.active_count()
        items = pipeline.Prefetch(endless(), depth=2)
        assert [next(items) for _ in range(5)] == list(range(5))
        items.close()
        assert threading.active_count() == before and len(produced) <= 5 + 2 + 1

    def test_writer_writes_in_order_and_abort_drops_the_rest(self):
        got = []
        w = pipeline.Writer(got.append, depth=2)
        for i in range(100):
            w.put(i)
        w.close()
        assert got == list(range(100))
        gate = threading.Event()
        slow = pipeline.Writer(lambda x: gate.wait(), depth=2)
        slow.put(1)
        slow.put(2)
        gate.set()
        slow.abort()
        assert not slow._thread.is_alive()
