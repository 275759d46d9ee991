"""Out of core: assess a Parquet file of 100M items in batches, under 2 GiB, with a progress bar.

    python benchmarks/out_of_core.py                                  # 100M items
    python benchmarks/out_of_core.py --items 10000000 --batch-rows 500000

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
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import engine_api as E  # noqa: E402
import workload as W  # noqa: E402

LIMIT = 2 * 2**30


def write_parquet(path: str, n_items: int, seed: int, chunk_items: int, row_group: int) -> None:
    import pyarrow.parquet as pq
    tmp = path + ".partial"
    writer = None
    done = 0
    t0 = time.perf_counter()
    for w in W.chunks(n_items, chunk_items, seed):
        t = w.table()
        if writer is None:
            writer = pq.ParquetWriter(tmp, t.schema)
        writer.write_table(t, row_group_size=row_group)
        done += w.n_items
        print(f"\rwriting {path}: {done:,}/{n_items:,} items ({time.perf_counter() - t0:.0f} s)",
              end="", file=sys.stderr, flush=True)
    if writer is not None:
        writer.close()
    print(file=sys.stderr)
    os.replace(tmp, path)


def verify(path: str, n_items: int, batch_rows: int) -> str:
    """Batched over the first n_items rows == one pass over them, every item column."""
    import pyarrow.parquet as pq

    import deminimis
    from deminimis.stream import assess_parquet

    w = W.generate(10, 0)  # only for the regime, tariff and rates
    kwargs = w.assess_kwargs()
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


def child(src: str, dst: str, batch_rows: int, threads: int) -> None:
    from deminimis.stream import assess_parquet
    w = W.generate(10, 0)
    t0 = time.perf_counter()
    summary = assess_parquet(src, dst, batch_rows=batch_rows, n_threads=threads, progress=True,
                             **w.assess_kwargs())
    elapsed = time.perf_counter() - t0
    hwm = 0
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                hwm = int(line.split()[1]) * 1024
    if not hwm:
        import resource
        hwm = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"elapsed": elapsed, "peak": hwm, "summary": summary}))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--items", type=int, default=100_000_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--batch-rows", type=int, default=1_000_000)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--dir", default=os.environ.get("TMPDIR", "/tmp"))
    ap.add_argument("--verify-items", type=int, default=1_000_000)
    ap.add_argument("--keep", action="store_true", help="keep the output Parquet file")
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        child(args.child[0], args.child[1], args.batch_rows, args.threads)
        return 0
    if not E.FEATURES["stream"]:
        print("the engine has no deminimis.stream.assess_parquet yet: nothing to measure")
        return 2
    src = os.path.join(args.dir, f"deminimis-bench-{args.items}-seed{args.seed}.parquet")
    dst = os.path.join(args.dir, f"deminimis-bench-{args.items}-seed{args.seed}.assessed.parquet")
    if not os.path.exists(src):
        write_parquet(src, args.items, args.seed, chunk_items=2_000_000 + 3, row_group=args.batch_rows * 3 // 4)
    size = os.path.getsize(src)
    v = E.versions()
    print(f"deminimis out of core: {' '.join(sys.argv)}")
    print(f"machine: {v['machine']}; versions: numpy {v['numpy']}, pyarrow {v['pyarrow']}; "
          f"engine git {E.git_revision()}")
    print(f"input: {src} ({args.items:,} items, {size / 2**30:.2f} GiB)")
    if args.verify_items:
        print(verify(src, min(args.verify_items, args.items), max(1, min(args.batch_rows, args.verify_items // 7))))
    cmd = [sys.executable, os.path.abspath(__file__), "--child", src, dst, "--batch-rows", str(args.batch_rows),
           "--threads", str(args.threads)]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)  # progress bar goes straight to stderr
    if proc.returncode:
        print(f"the out-of-core run failed (exit {proc.returncode})")
        return 1
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    s = r["summary"]
    ok = r["peak"] < LIMIT
    print(f"assessed {s['items']:,} items in {s['consignments']:,} consignments in {r['elapsed']:.1f} s: "
          f"{s['items'] / r['elapsed'] / 1e6:.2f} M items/s (batches of {args.batch_rows:,} rows, "
          f"{args.threads} thread(s))")
    print(f"peak resident memory of the whole process: {r['peak'] / 2**30:.2f} GiB "
          f"(target < 2 GiB: {'MET' if ok else 'MISSED by %.2fx' % (r['peak'] / LIMIT)})")
    print(f"totals: duty {s['duty']:,}, vat {s['vat']:,}, vat_at_sale {s['vat_at_sale']:,}, total {s['total']:,} "
          f"minor units of {s['currency']}")
    if not args.keep and os.path.exists(dst):
        os.remove(dst)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
