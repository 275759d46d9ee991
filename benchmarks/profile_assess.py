"""Where deminimis.assess spends its time on the benchmark workload: a profile, not a guess.

    python benchmarks/profile_assess.py [--items 1000000] [--source arrow|numpy] [--top 25]
    perf record -g -e cpu-clock -- python benchmarks/profile_assess.py --core-only --items 10000000

Prints the encode/core split, then a cProfile of one call of ``deminimis.assess``
(the encoding is Python and numpy/pyarrow calls, which cProfile sees; the core is
one C call, which it does not).  ``--core-only`` runs just the native core a few
times (fresh and preallocated outputs) for a native profiler such as ``perf`` or
``py-spy record --native``.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import engine_api as E  # noqa: E402
import workload as W  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--items", type=int, default=1_000_000)
    ap.add_argument("--source", choices=("arrow", "numpy"), default="arrow")
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--core-only", action="store_true")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--outputs", choices=("fresh", "preallocated", "both"), default="both",
                    help="with --core-only: which output arrays the timed core calls write")
    args = ap.parse_args(argv)

    w = W.generate(args.items, seed=0)
    items = w.table() if args.source == "arrow" else w.columns()
    kwargs = w.assess_kwargs()
    if args.core_only:
        enc = E.encode(items, kwargs)
        outs = E.core_outputs(enc)
        E.core(enc, outs)  # map the preallocated pages once
        for _ in range(args.repeats):
            for kind in ("fresh", "preallocated"):
                if args.outputs in (kind, "both"):
                    t0 = time.perf_counter()
                    E.core(enc, outs if kind == "preallocated" else None)
                    print(f"core, {kind} outputs: {time.perf_counter() - t0:.3f} s", flush=True)
        return 0

    E.assess(items, kwargs)  # warm: imports, tariff caches
    t0 = time.perf_counter()
    enc = E.encode(items, kwargs)
    t1 = time.perf_counter()
    E.core(enc)
    t2 = time.perf_counter()
    print(f"{args.items:,} items from {args.source}: encode {t1 - t0:.3f} s "
          f"({(t1 - t0) / args.items * 1e9:.0f} ns/item), core {t2 - t1:.3f} s "
          f"({(t2 - t1) / args.items * 1e9:.0f} ns/item)")
    prof = cProfile.Profile()
    prof.enable()
    E.assess(items, kwargs)
    prof.disable()
    for key in ("tottime", "cumulative"):
        s = io.StringIO()
        pstats.Stats(prof, stream=s).strip_dirs().sort_stats(key).print_stats(args.top)
        print(f"\n--- cProfile of one deminimis.assess, by {key} ---")
        print("\n".join(line for line in s.getvalue().splitlines() if line.strip()
                        and not line.startswith(("   Ordered", "   List"))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
