"""Out of core: assess a Parquet file of 100M items in batches, under 2 GiB, with a progress bar.

    python benchmarks/out_of_core.py                                  # 100M items
    python benchmarks/out_of_core.py --items 10000000 --batch-rows 500000
    python benchmarks/out_of_core.py --items 10000000 --regime US-2024-10-01   # per consignee and day

1. Writes the benchmark workload (workload.chunks: the same generator, whole
   consignments per chunk, ids unique across chunks) to a Parquet file, unless
   a file of that size and seed is already there.  Row groups and read batches
   do not line up with consignments, so the open consignment must be carried
   from one batch to the next.
2. Identity: on the first ``--verify-items`` items, the batched result (small
   batches, many carried consignments) must equal one in-memory
   ``deminimis.assess`` of the same rows, column for column.
3. The full run, in a fresh subprocess: ``deminimis.stream.assess_parquet``
   reading the file and writing the amounts to another Parquet file, with its
   progress bar on stderr; reports items/s and the process's peak resident
   memory (VmHWM, everything included: interpreter, libraries, batches).
4. In memory, in another fresh subprocess, on the same items: the file read
   whole into a pyarrow Table (not timed), then one ``deminimis.assess`` of it
   (timed: the end-to-end figure of docs/performance.md, strings in, amounts
   out).  Steps 3 and 4 alternate ``--repeat`` times; the best of each gives
   the ratio out of core / in memory, both measured in this one run.

``--regime EU`` (the default) is the benchmark workload (workload.py).  A
regime that aggregates per consignee (``US-2024-10-01``: consignee and day;
``CN-2019-04-01``: consignee and year) gets a file of its own: the demo's
synthetic batches (cli.synthetic_batch) with a consignee column (about ten
consignments per consignee, drawn over the whole file, so that a consignee's
consignments are spread over every batch) and seven days of dates; the file is
then partitioned by consignee on disk (deminimis.buckets).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import engine_api as E  # noqa: E402
import workload as W  # noqa: E402

LIMIT = 2 * 2**30


def case(regime_id: str) -> tuple[dict, Any]:
    """The assess keyword arguments for the regime, and (but for EU) its assessment date."""
    if regime_id == "EU":
        kwargs = W.generate(10, 0).assess_kwargs()
        return kwargs, None
    import deminimis
    from deminimis.cli import demo_rates, demo_tariff
    regime = deminimis.regimes.get(regime_id)
    tariff, _ = demo_tariff(regime)
    assert regime.valid_from is not None
    on = regime.valid_from.date() + datetime.timedelta(days=30)
    return {"regime": regime, "tariff": tariff, "rates": demo_rates(regime.currency), "on": on, "amounts": "minor"}, on


def consignee_tables(n_items: int, seed: int, regime_id: str, chunk_items: int) -> Iterator[Any]:
    """Synthetic batches under `regime_id` with consignees spread over the whole file."""
    import pyarrow as pa

    from deminimis.cli import demo_currencies, synthetic_batch
    kwargs, on = case(regime_id)
    regime = kwargs["regime"]
    days = [on - datetime.timedelta(days=k) for k in range(7)]
    rng = np.random.default_rng(seed)
    n_consignees = max(1, n_items // 20)  # ~2.5 items a consignment: ~8 consignments a consignee
    done, first = 0, 0
    while done < n_items:
        n = min(chunk_items, n_items - done)
        b = synthetic_batch(n, kwargs["tariff"], sorted(regime.vat.rates), seed=seed * 100_003 + done,
                            currencies=demo_currencies(regime.currency), dates=days)
        cons = b["consignment"]
        n_cons = int(cons[-1]) + 1
        b["consignee"] = rng.integers(0, n_consignees, size=n_cons).astype(np.int64)[cons]
        b["consignment"] = np.char.add("C", (cons + first).astype("U12"))
        first += n_cons
        done += n
        yield pa.table(b)


def write_parquet(path: str, tables: Iterable[Any], n_items: int, row_group: int) -> None:
    """The tables into one Parquet file at `path` (whole or not at all), with a progress line."""
    import pyarrow.parquet as pq
    tmp = path + ".partial"
    writer = None
    done = 0
    t0 = time.perf_counter()
    for t in tables:
        if writer is None:
            writer = pq.ParquetWriter(tmp, t.schema)
        writer.write_table(t, row_group_size=row_group)
        done += t.num_rows
        print(f"\rwriting {path}: {done:,}/{n_items:,} items ({time.perf_counter() - t0:.0f} s)",
              end="", file=sys.stderr, flush=True)
    if writer is not None:
        writer.close()
    print(file=sys.stderr)
    os.replace(tmp, path)


def verify(path: str, n_items: int, batch_rows: int, regime_id: str) -> str:
    """Batched over the first n_items rows == one pass over them, every item column."""
    import pyarrow.parquet as pq

    import deminimis
    from deminimis.stream import assess_parquet

    kwargs, _ = case(regime_id)
    first = pq.ParquetFile(path).iter_batches(batch_size=n_items)
    import pyarrow as pa
    head = pa.Table.from_batches([next(first)])
    small = path + f".head{len(head)}.parquet"
    out = path + f".head{len(head)}.out.parquet"
    pq.write_table(head, small, row_group_size=max(1, batch_rows // 3))
    summary = assess_parquet(small, out, batch_rows=batch_rows, progress=False, **kwargs)
    batched = pq.read_table(out)
    one = deminimis.assess(head, **kwargs)
    cols = [c for c in batched.column_names if c in one.items]
    for c in cols:
        if not np.array_equal(batched.column(c).to_numpy(), one.items[c]):
            raise AssertionError(f"batched != one pass in column {c}")
    if summary["items"] != len(head) or summary["consignments"] != len(one.consignment_ids):
        raise AssertionError(f"batched summary {summary['items']} items / {summary['consignments']} consignments "
                             f"!= one pass {len(head)} / {len(one.consignment_ids)}")
    os.remove(small)
    os.remove(out)
    return (f"identical to one pass on the first {len(head):,} items in batches of {batch_rows:,} rows "
            f"({len(one.consignment_ids):,} consignments; columns {', '.join(cols)})")


def peak_memory() -> int:
    """The process's peak resident memory in bytes (VmHWM)."""
    hwm = 0
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                hwm = int(line.split()[1]) * 1024
    if not hwm:
        import resource
        hwm = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return hwm


def child(src: str, dst: str, batch_rows: int, threads: int, regime_id: str) -> None:
    from deminimis.stream import assess_parquet
    kwargs, _ = case(regime_id)
    t0 = time.perf_counter()
    summary = assess_parquet(src, dst, batch_rows=batch_rows, n_threads=threads, progress=True, **kwargs)
    elapsed = time.perf_counter() - t0
    print(json.dumps({"elapsed": elapsed, "peak": peak_memory(), "summary": summary}))


def child_in_memory(src: str, threads: int, regime_id: str) -> None:
    """One assess of the whole file read into memory: the end-to-end speed out of core is held to."""
    import pyarrow.parquet as pq

    import deminimis
    kwargs, _ = case(regime_id)
    table = pq.read_table(src)
    t0 = time.perf_counter()
    result = deminimis.assess(table, n_threads=threads, **kwargs)
    elapsed = time.perf_counter() - t0
    print(json.dumps({"elapsed": elapsed, "peak": peak_memory(), "items": len(result),
                      "total": result.summary()["total"], "timings": result.timings}))


def seconds(runs: list[dict]) -> str:
    return ", ".join(f"{x['elapsed']:.1f}" for x in runs)


def run_child(args: list[str]) -> dict | None:
    proc = subprocess.run([sys.executable, os.path.abspath(__file__), *args], stdout=subprocess.PIPE, text=True)
    return json.loads(proc.stdout.strip().splitlines()[-1]) if proc.returncode == 0 else None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--items", type=int, default=100_000_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--regime", default="EU", help="EU (the benchmark workload) or a built-in regime id")
    ap.add_argument("--batch-rows", type=int, default=1_000_000)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=2, help="out-of-core and in-memory runs, alternated")
    ap.add_argument("--no-in-memory", action="store_true", help="skip the in-memory runs (too large to hold)")
    ap.add_argument("--dir", default=os.environ.get("TMPDIR", "/tmp"))
    ap.add_argument("--verify-items", type=int, default=1_000_000)
    ap.add_argument("--keep", action="store_true", help="keep the output Parquet file")
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    ap.add_argument("--child-in-memory", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        child(args.child[0], args.child[1], args.batch_rows, args.threads, args.regime)
        return 0
    if args.child_in_memory:
        child_in_memory(args.child_in_memory, args.threads, args.regime)
        return 0
    if not E.FEATURES["stream"]:
        print("the engine has no deminimis.stream.assess_parquet yet: nothing to measure")
        return 2
    tag = "" if args.regime == "EU" else f"-{args.regime}"
    src = os.path.join(args.dir, f"deminimis-bench-{args.items}-seed{args.seed}{tag}.parquet")
    dst = os.path.join(args.dir, f"deminimis-bench-{args.items}-seed{args.seed}{tag}.assessed.parquet")
    if not os.path.exists(src):
        tables = (w.table() for w in W.chunks(args.items, 2_000_000 + 3, args.seed)) if args.regime == "EU" \
            else consignee_tables(args.items, args.seed, args.regime, chunk_items=2_000_000 + 3)
        write_parquet(src, tables, args.items, row_group=args.batch_rows * 3 // 4)
    size = os.path.getsize(src)
    v = E.versions()
    print(f"deminimis out of core: {' '.join(sys.argv)}")
    print(f"machine: {v['machine']}; versions: numpy {v['numpy']}, pyarrow {v['pyarrow']}; "
          f"engine git {E.git_revision()}; load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(f"input: {src} ({args.items:,} items, {size / 2**30:.2f} GiB; regime {args.regime})")
    if args.verify_items:
        print(verify(src, min(args.verify_items, args.items), max(1, min(args.batch_rows, args.verify_items // 7)),
                     args.regime))
    common = ["--batch-rows", str(args.batch_rows), "--threads", str(args.threads), "--regime", args.regime]
    out_runs, mem_runs = [], []
    for _ in range(max(1, args.repeat)):
        r = run_child(["--child", src, dst, *common])  # progress bar goes straight to stderr
        if r is None:
            print("the out-of-core run failed")
            return 1
        out_runs.append(r)
        if not args.no_in_memory:
            m = run_child(["--child-in-memory", src, *common])
            if m is None:
                print("the in-memory run failed")
                return 1
            mem_runs.append(m)
    r = min(out_runs, key=lambda x: x["elapsed"])
    s = r["summary"]
    peak = max(x["peak"] for x in out_runs)
    ok = peak < LIMIT
    rate = s["items"] / r["elapsed"]
    print(f"out of core: {s['items']:,} items in {s['consignments']:,} consignments in {r['elapsed']:.1f} s "
          f"(best of {len(out_runs)}: {seconds(out_runs)} s): {rate / 1e6:.2f} M items/s "
          f"(batches of {args.batch_rows:,} rows, {args.threads} thread(s) in the core)")
    t = s["timings"]
    print(f"where the time went (best run, seconds): total {t['total']:.1f}; reader thread (Parquet reading, cutting "
          f"into consignments) busy {t['read']:.1f}, waited for by the assessing thread {t['waited_for_read']:.1f}; "
          f"writer thread busy {t['write']:.1f}, waited for {t['waited_for_write']:.1f}; the assessing thread "
          f"the rest ({t['total'] - t['waited_for_read'] - t['waited_for_write']:.1f})")
    print(f"peak resident memory of the whole process: {peak / 2**30:.2f} GiB "
          f"(target < 2 GiB: {'MET' if ok else 'MISSED by %.2fx' % (peak / LIMIT)})")
    if mem_runs:
        m = min(mem_runs, key=lambda x: x["elapsed"])
        if m["items"] != s["items"] or m["total"] != s["total"]:
            print(f"in memory: {m['items']:,} items, total {m['total']:,} != out of core's: NOT the same result")
            return 1
        mem_rate = m["items"] / m["elapsed"]
        print(f"in memory, end to end on the same items (one assess of the file's Table): {m['elapsed']:.1f} s "
              f"(best of {len(mem_runs)}: {seconds(mem_runs)} s): "
              f"{mem_rate / 1e6:.2f} M items/s, peak {max(x['peak'] for x in mem_runs) / 2**30:.2f} GiB; same total")
        print(f"out of core / in memory: {rate / mem_rate:.0%} (target >= 70%: "
              f"{'MET' if rate >= 0.7 * mem_rate else 'MISSED'})")
    print(f"totals: duty {s['duty']:,}, vat {s['vat']:,}, vat_at_sale {s['vat_at_sale']:,}, total {s['total']:,} "
          f"minor units of {s['currency']}")
    if not args.keep and os.path.exists(dst):
        os.remove(dst)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
