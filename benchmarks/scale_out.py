"""Scale-out costs: Spark local[2] and a Dask LocalCluster against one process, on the same items.

    python benchmarks/scale_out.py                     # 1M items (the figures of docs/scaling.md)
    python benchmarks/scale_out.py --items 2000000 --partitions 8

(Named scale_out, not distributed: a ``benchmarks/distributed.py`` would shadow Dask's ``distributed``
package for every script and test process that puts benchmarks/ on sys.path, workers included.)

1. Writes the benchmark workload (workload.py: EU on 2026-11-28, string ids and codes, four
   currencies) to a Parquet file, as a cluster reads its input.
2. One process: ``deminimis.assess`` of the Table in memory (1 and 2 threads), and
   ``deminimis.stream.assess_parquet`` from the file to a file (1 thread).
3. ``deminimis.distributed.assess_partition`` in one process: the cost of the contract (sort by the
   sequence, tables out) on the whole Table, and the fixed cost of one call (a 10-row part).
4. Dask (LocalCluster, 2 worker processes of 1 thread) and Spark (local[2]): Parquet in, assessed,
   Parquet out, timed from the call to the written files; session start-up apart; twice (the first
   run pays the workers' imports and the JVM's warm-up). Beside it, where the time goes: the same
   read and write alone, and with the shuffle by key (Spark: and the Arrow transfer to Python and
   back). The result is checked against the in-memory one (totals, exactly).
5. The wrong partitioning (``--wrong-items``): a US (consignee-day) and a CN (consignee-year)
   batch cut by rows, and by consignment, instead of by consignee: how many items get other amounts,
   with no error.

The machine is shared (2 cores): the figures are for 1M-2M items, not the 10M of the issue.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
import time
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.append(HERE)  # appended: benchmarks/ must not shadow installed packages
sys.path.append(os.path.join(os.path.dirname(HERE), "tests"))

import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

import deminimis  # noqa: E402
import workload as W  # noqa: E402
from deminimis import distributed as D  # noqa: E402
from deminimis.assessment import ITEM_AMOUNTS  # noqa: E402
from deminimis.money import exponent  # noqa: E402


def timed(f: Any) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = f()
    return time.perf_counter() - t0, out


def rate(n: int, seconds: float) -> str:
    return f"{n / seconds / 1e6:6.2f}M items/s ({seconds:6.2f} s)"


def expected_totals(result: deminimis.Assessment) -> dict[str, int]:
    s = result.summary()
    return {k: s[k] for k in ("items", *ITEM_AMOUNTS)}


def one_process(table: pa.Table, src: str, out_dir: str, kwargs: dict) -> deminimis.Assessment:
    from deminimis.stream import assess_parquet
    n = table.num_rows
    for threads in (1, 2):
        seconds, result = timed(lambda threads=threads: deminimis.assess(table, n_threads=threads, **kwargs))
        print(f"  deminimis.assess in memory, {threads} thread(s):        {rate(n, seconds)}")
    seconds, _ = timed(lambda: assess_parquet(src, os.path.join(out_dir, "stream.parquet"), n_threads=1,
                                              progress=False, **kwargs))
    print(f"  stream.assess_parquet, file to file, 1 thread:   {rate(n, seconds)}")
    seq = D.with_sequence([table])[0]
    assessor = D.PartitionAssessor(**kwargs)
    seconds, _ = timed(lambda: assessor(seq))
    print(f"  distributed.assess_partition, whole table:       {rate(n, seconds)}")
    tiny = seq.slice(0, 10)
    calls = 200
    seconds, _ = timed(lambda: [assessor(tiny) for _ in range(calls)])
    print(f"  fixed cost of one partition call (10 rows):      {seconds / calls * 1e3:.2f} ms")
    print(f"  Arrow bytes per input item (what a shuffle moves): {table.nbytes / n:.0f} B; "
          f"per output item: {assessor(seq)[0].nbytes / n:.0f} B")
    return result


def passthrough(batches: Any) -> Any:
    yield from batches


def dask_run(src: str, out_dir: str, kwargs: dict, partitions: int, one: deminimis.Assessment) -> None:
    import dask.dataframe as dd
    from distributed import Client, LocalCluster

    import deminimis.dask as ddm
    n = one.summary()["items"]
    seconds, cluster = timed(lambda: LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                                   dashboard_address=None, preload=["dask.dataframe"]))
    with cluster, Client(cluster):
        print(f"  LocalCluster start-up: {seconds:.1f} s")
        ddf = dd.read_parquet(src)
        steps = {"read + write": lambda out: ddf.to_parquet(out),
                 "read + shuffle by key + write": lambda out: ddf.shuffle(on="consignment", npartitions=partitions)
                 .to_parquet(out),
                 "deminimis.dask.assess": lambda out: ddm.assess(ddf, partitions=partitions, **kwargs).to_parquet(out)}
        for run in (1, 2):
            for name, step in steps.items():
                out = os.path.join(out_dir, f"dask-{run}-{len(name)}")
                seconds, _ = timed(lambda step=step, out=out: step(out))
                print(f"  run {run}, {name + ',':32s} {partitions} parts: {rate(n, seconds)}")
        totals = ddm.totals(dd.read_parquet(out))
        assert totals == expected_totals(one), "Dask totals differ from the in-memory assessment"


def spark_run(src: str, out_dir: str, kwargs: dict, partitions: int, one: deminimis.Assessment) -> None:
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    import deminimis.spark as sdm
    n = one.summary()["items"]
    seconds, spark = timed(lambda: SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false")
                           .config("spark.driver.memory", "4g").getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    print(f"  local[2] session start-up: {seconds:.1f} s")
    try:
        df = spark.read.parquet(src)
        steps = {"read + write": lambda out: df.write.parquet(out),
                 "read + shuffle + Arrow to Python": lambda out: df.repartition(partitions, "consignment")
                 .mapInArrow(passthrough, df.schema).write.parquet(out),
                 "deminimis.spark.assess": lambda out: sdm.assess(df, partitions=partitions, **kwargs)
                 .write.parquet(out)}
        for run in (1, 2):
            for name, step in steps.items():
                out = os.path.join(out_dir, f"spark-{run}-{len(name)}")
                seconds, _ = timed(lambda step=step, out=out: step(out))
                print(f"  run {run}, {name + ',':32s} {partitions} parts: {rate(n, seconds)}")
        totals = sdm.totals(spark.read.parquet(out))
        assert totals == expected_totals(one), "Spark totals differ from the in-memory assessment"
    finally:
        spark.stop()


def wrong_partitionings(n: int) -> None:
    """Row chunks and consignment parts of consignee-aggregating batches: items with other amounts."""
    from test_distributed import case_table
    for rid, on in (("US-2025-05-02", dt.date(2025, 5, 3)), ("CN-2019-04-01", dt.date(2019, 4, 3))):
        table, arguments = case_table(rid, n=n)
        arguments.pop("regime")
        regime = deminimis.regimes.get(rid)
        one = deminimis.assess(table, regime=regime, on=on, errors="flag", **arguments)
        seq = D.with_sequence([table])[0]
        cuts = {"4 row chunks": [seq.slice(i, -(-n // 4)) for i in range(0, n, -(-n // 4))],
                "4 parts by consignment": D.shuffle([seq], "consignment", 4),
                "4 parts by consignee (the library's key)": D.shuffle([seq], "consignee", 4)}
        print(f"  {rid} ({n:,} items, {len(one.consignment_ids):,} consignments, on {on}):")
        for name, parts in cuts.items():
            items = pa.concat_tables([D.assess_partition(p, regime=regime, on=on, **arguments)[0] for p in parts])
            items = items.sort_by(D.SEQUENCE)
            differ = np.flatnonzero(items["total"].to_numpy() != one["total"])
            delta = int(items["total"].to_numpy().sum()) - int(one["total"].sum())
            print(f"    {name:42s} {len(differ):6,} items with other amounts, total collected off by "
                  f"{delta / 10 ** exponent(regime.currency):+,.2f} {regime.currency}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--items", type=int, default=1_000_000)
    ap.add_argument("--partitions", type=int, default=4)
    ap.add_argument("--wrong-items", type=int, default=200_000)
    ap.add_argument("--skip", nargs="*", default=(), choices=("dask", "spark", "wrong"))
    args = ap.parse_args(argv)
    print(f"deminimis scale-out: {' '.join(sys.argv)}; {os.cpu_count()} cores; deminimis {deminimis.__version__}")
    w = W.generate(args.items, seed=0)
    table = w.table()
    kwargs = w.assess_kwargs()
    with tempfile.TemporaryDirectory(prefix="deminimis-scale-out-") as out_dir:
        src = os.path.join(out_dir, "items.parquet")
        pq.write_table(table, src, row_group_size=args.items // args.partitions + 1)
        print(f"input: {args.items:,} items, {w.n_cons:,} consignments, EU on {W.ON}; Parquet "
              f"{os.path.getsize(src) / 2**20:.0f} MiB")
        print("one process:")
        one = one_process(table, src, out_dir, kwargs)
        if "dask" not in args.skip:
            print("Dask:")
            dask_run(src, out_dir, kwargs, args.partitions, one)
        if "spark" not in args.skip:
            print("Spark:")
            spark_run(src, out_dir, kwargs, args.partitions, one)
    if "wrong" not in args.skip:
        print("the wrong partitioning (no error is raised by any of these):")
        wrong_partitionings(args.wrong_items)
    return 0


if __name__ == "__main__":
    sys.exit(main())
