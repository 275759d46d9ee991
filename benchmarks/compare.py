"""Every implementation side by side, in one process, on one workload: the table.

    python benchmarks/compare.py                      # 1M items
    python benchmarks/compare.py --items 10000000     # 10M items
    python benchmarks/compare.py --items 1000000 10000000   # both, plus the linearity check

For each size: the engine's core (1 and 2 threads, fresh or preallocated
outputs), the numpy and polars baselines' cores on the same integer columns,
the memory floor; the encodings (string ids and codes to integers, tariff
resolution); end to end from a pyarrow Table with string ids and codes; the
Decimal reference on a sample.  Repetitions are interleaved (A B C A B C ...)
so that the noise of a shared machine falls on every implementation alike;
each is reported at its best repetition, with the median beside it.  Peak
memory is measured in a fresh subprocess per implementation: the rise of the
resident set above what the inputs already hold (Linux VmHWM after resetting
it through /proc/self/clear_refs; else ru_maxrss).

Ratios: ``x polars`` is how many times faster than polars on the same rows
(core against polars' core, end to end against polars end to end); ``/ floor``
is time over the floor's time (1.0 = as fast as streaming the bytes).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import baselines as B  # noqa: E402
import deminimis  # noqa: E402
import engine_api as E  # noqa: E402
import floor as F  # noqa: E402
import workload as W  # noqa: E402


@dataclass
class Impl:
    name: str
    group: str                                    # "core", "encode", "e2e", "reference"
    setup: Callable[[Bench], Any]               # outside the timing; returns the run's argument
    run: Callable[[Any], Any]
    items: Callable[[Bench], int] = lambda b: b.n
    repeats: int | None = None                    # None: the run's --repeats
    note: str = ""
    times: list[float] = field(default_factory=list)
    peak: float | None = None                     # MiB above the inputs
    extra: dict[str, float] = field(default_factory=dict)
    n: int = 0                                    # items per run, set at setup


class Bench:
    """One workload and the inputs every implementation needs, built lazily, once."""

    def __init__(self, n: int, seed: int, sample: int) -> None:
        self.n, self.seed, self.sample = n, seed, sample
        self._cache: dict[str, Any] = {}

    def get(self, key: str, make: Callable[[], Any]) -> Any:
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    @property
    def w(self) -> W.Workload:
        return self.get("w", lambda: W.generate(self.n, self.seed))

    @property
    def kwargs(self) -> dict[str, Any]:
        return self.w.assess_kwargs()

    @property
    def table(self) -> Any:
        return self.get("table", self.w.table)

    @property
    def columns(self) -> dict[str, np.ndarray]:
        return self.get("columns", self.w.columns)

    @property
    def tables(self) -> B.Tables:
        return self.get("tables", lambda: B.tables_for(self.w))

    @property
    def enc(self) -> dict[str, Any]:
        return self.get("enc", lambda: E.encode(self.table, self.kwargs))

    @property
    def n_cons(self) -> int:
        return self.w.n_cons

    def preallocated_core_outputs(self) -> Any:
        def make() -> Any:
            outs = E.core_outputs(self.enc)
            for d in outs:
                for a in d.values():
                    a.fill(0)  # map every page before timing
            return outs
        return self.get("core_out", make)

    def floor_inputs(self, which: str) -> list[np.ndarray]:
        if which == "core":
            return self.get("fw_core", lambda: F.as_words(E.core_arrays(self.enc)))
        return self.get("fw_e2e", lambda: F.as_words(F.arrow_buffers(self.table)))

    def specs(self) -> list:
        return F.output_specs(self.n, self.n_cons)

    def floor_outputs(self) -> list[np.ndarray]:
        return self.get("fw_out", lambda: F.preallocate(self.specs()))


def implementations(threads: int) -> list[Impl]:
    f = E.FEATURES
    impls = [
        # -- core: integer columns in, amounts out ---------------------------------
        Impl("deminimis core, 1 thread", "core", lambda b: b.enc, lambda enc: E.core(enc)),
        Impl("deminimis core, 1 thread, preallocated outputs", "core",
             lambda b: (b.enc, b.preallocated_core_outputs()), lambda a: E.core(a[0], a[1])),
    ]
    if f["core_threads"] and threads > 1:
        impls += [
            Impl(f"deminimis core, {threads} threads", "core", lambda b: b.enc,
                 lambda enc: E.core(enc, n_threads=threads)),
            Impl(f"deminimis core, {threads} threads, preallocated outputs", "core",
                 lambda b: (b.enc, b.preallocated_core_outputs()),
                 lambda a: E.core(a[0], a[1], n_threads=threads)),
        ]
    impls += [
        Impl("numpy core (int64, vectorised)", "core", lambda b: (b.w.ints, b.tables),
             lambda a: B.assess_numpy(*a)),
        Impl("polars core (integer expressions)", "core", lambda b: (B.polars_frame(b.w.ints), b.tables),
             lambda a: B.assess_polars(*a)),
        Impl("floor: engine's encoded input once, fresh outputs", "core",
             lambda b: (b.floor_inputs("core"), b.specs()), lambda a: F.run(*a)),
        Impl("floor: same, preallocated outputs", "core",
             lambda b: (b.floor_inputs("core"), b.specs(), b.floor_outputs()),
             lambda a: F.run(a[0], a[1], outputs=a[2])),
    ]
    if threads > 1:
        impls.append(Impl(f"floor: same, fresh outputs, {threads} threads", "core",
                          lambda b: (b.floor_inputs("core"), b.specs()), lambda a: F.run(*a, threads=threads)))
    impls += [
        # -- encoding: strings to integers, tariff resolution --------------------------
        Impl("deminimis encode (pyarrow Table)", "encode", lambda b: (b.table, b.kwargs),
             lambda a: E.encode(*a)),
        Impl("numpy encode (numpy unicode arrays)", "encode", lambda b: (b.columns, b.tables),
             lambda a: B.encode_numpy(*a)),
        Impl("polars encode (pyarrow Table)", "encode", lambda b: (b.table, b.tables),
             lambda a: B.encode_polars(_from_arrow(a[0]), a[1])),
        # -- end to end ----------------------------------------------------------------
        Impl("deminimis.assess(pyarrow Table), 1 thread", "e2e", lambda b: (b.table, b.kwargs),
             lambda a: E.assess(a[0], a[1], n_threads=1)),
    ]
    if f["n_threads"] and threads > 1:
        impls.append(Impl(f"deminimis.assess(pyarrow Table), {threads} threads", "e2e",
                          lambda b: (b.table, b.kwargs), lambda a: E.assess(a[0], a[1], n_threads=threads)))
    impls += [
        Impl("deminimis.assess(dict of numpy unicode arrays)", "e2e", lambda b: (b.columns, b.kwargs),
             lambda a: E.assess(a[0], a[1])),
        Impl("numpy end to end (numpy unicode arrays)", "e2e", lambda b: (b.columns, b.tables),
             lambda a: B.assess_numpy_e2e(*a)),
        Impl("polars end to end (pyarrow Table)", "e2e", lambda b: (b.table, b.tables),
             lambda a: B.assess_polars_e2e(*a)),
        Impl("floor: pyarrow Table's buffers once, fresh outputs", "e2e",
             lambda b: (b.floor_inputs("e2e"), b.specs()), lambda a: F.run(*a)),
        # -- the Decimal reference, on a sample ------------------------------------------
        Impl("deminimis.reference.assess (Decimal, on a sample)", "reference",
             lambda b: (b.w.head(b.sample).table(), b.kwargs),
             lambda a: deminimis.reference.assess(a[0], **a[1]),
             items=lambda b: b.w.head(b.sample).n_items, repeats=1),
    ]
    return impls


def _from_arrow(table: Any) -> Any:
    import polars as pl
    return pl.from_arrow(table)


# ---------------------------------------------------------------------------- timing

def warm_pages(nbytes: int) -> None:
    """Touch and free nbytes, so that the next call's fresh pages come from the guest kernel.

    On this class of virtual machine, memory left free for a second or more is
    handed back to the host (virtio-balloon free page reporting) and the next
    first touch faults in the hypervisor: ~5 us per 4 KiB page, 10x the cost of
    the same fault on bare metal, and varying with how long the memory lay idle.
    Warming before every timed call gives every implementation the same, bare-metal
    like, cost for fresh pages.  (``--cold`` skips it to see the VM's own cost.)
    """
    if nbytes > 0:
        a = np.empty(nbytes // 8, dtype=np.int64)
        a.fill(0)
        del a


def time_all(bench: Bench, impls: list[Impl], repeats: int, log: Callable[[str], None],
             warm_bytes: int = 0) -> None:
    args = {}
    for im in impls:
        t0 = time.perf_counter()
        args[im.name] = im.setup(bench)
        im.n = im.items(bench)
        log(f"  set up {im.name} ({time.perf_counter() - t0:.1f} s)")
    for r in range(repeats):
        for im in impls:
            if len(im.times) >= min(im.repeats or repeats, repeats):
                continue
            gc.collect()
            warm_pages(warm_bytes)
            t0 = time.perf_counter()
            result = im.run(args[im.name])
            im.times.append(time.perf_counter() - t0)
            timings = getattr(result, "timings", None)
            if isinstance(timings, dict):
                for k, v in timings.items():
                    im.extra[k] = min(im.extra.get(k, float("inf")), v)
            del result
        log(f"  repetition {r + 1}/{repeats} done")


# ---------------------------------------------------------------------------- memory

def _status() -> dict[str, int]:
    out = {}
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    k, v = line.split(":")
                    out[k] = int(v.split()[0]) * 1024
    except OSError:
        pass
    return out


def _trim() -> None:
    """Give the allocator's free pages back to the OS (glibc), so that the measured call
    must map the memory it needs instead of silently reusing what setup freed."""
    try:
        import ctypes
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def child(name: str, n: int, seed: int, sample: int, threads: int) -> None:
    """Run one implementation once in this fresh process; print its peak rise in bytes as JSON.

    The inputs are built first (they are not the implementation's memory); the
    high-water mark is then reset and the implementation's first call measured:
    a warm-up call would leave freed pages in the allocator for the measured call
    to reuse, hiding what one call needs.
    """
    bench = Bench(n, seed, sample)
    im = next(i for i in implementations(threads) if i.name == name)
    arg = im.setup(bench)
    gc.collect()
    _trim()
    before = _status()
    reset = False
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # reset the high-water mark to the current resident set
        reset = True
    except OSError:
        import resource
        base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    im.run(arg)
    after = _status()
    if reset and "VmHWM" in after:
        peak = after["VmHWM"] - before["VmRSS"]
    else:
        import resource
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - max(base, before.get("VmRSS", 0))
    print(json.dumps({"peak": peak, "method": "VmHWM" if reset else "ru_maxrss"}))


def measure_memory(impls: list[Impl], n: int, seed: int, sample: int, threads: int,
                   log: Callable[[str], None]) -> None:
    for im in impls:
        cmd = [sys.executable, os.path.abspath(__file__), "--child", im.name, "--items", str(n),
               "--seed", str(seed), "--reference-sample", str(sample), "--threads", str(threads)]
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            log(f"  memory of {im.name}: failed\n{proc.stderr[-2000:]}")
            continue
        im.peak = json.loads(proc.stdout.strip().splitlines()[-1])["peak"] / 2**20
        log(f"  memory of {im.name}: {im.peak:.0f} MiB ({time.perf_counter() - t0:.0f} s)")


# ---------------------------------------------------------------------------- report

GROUP_TITLES = {
    "core": "core: integer columns in, amounts out (EU regime from 2026-07-01)",
    "encode": "encoding: string ids and codes to integers, tariff resolution",
    "e2e": "end to end: strings in, amounts out",
    "reference": "reference",
}


def rate(im: Impl, n: int) -> float:
    return n / min(im.times) / 1e6


def table(impls: list[Impl], out_bytes: int) -> str:
    by = {im.name: im for im in impls}
    polars = {"core": by.get("polars core (integer expressions)"), "encode": by.get("polars encode (pyarrow Table)"),
              "e2e": by.get("polars end to end (pyarrow Table)")}
    floors = {"core": by.get("floor: engine's encoded input once, fresh outputs"),
              "e2e": by.get("floor: pyarrow Table's buffers once, fresh outputs")}
    pre_floor = by.get("floor: same, preallocated outputs")
    lines = ["| implementation | M items/s | best s | median s | x polars | / floor | peak MiB | peak / output |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for group in ("core", "encode", "e2e", "reference"):
        rows = [im for im in impls if im.group == group and im.times]
        if not rows:
            continue
        lines.append(f"| **{GROUP_TITLES[group]}** | | | | | | | |")
        for im in rows:
            n = im.n
            best, med = min(im.times), statistics.median(im.times)
            pol = polars.get(group)
            x_pol = f"{min(pol.times) / best * n / pol.n:.1f}" if pol and pol.times else ""
            fl = floors.get(group)
            if "preallocated" in im.name and group == "core" and pre_floor and pre_floor.times:
                fl = pre_floor
            over = f"{best / min(fl.times) * fl.n / n:.1f}" if fl and fl.times and group != "encode" else ""
            peak = f"{im.peak:.0f}" if im.peak is not None else ""
            ratio = f"{im.peak * 2**20 / out_bytes:.2f}" if im.peak is not None and group != "reference" else ""
            name = im.name
            if im.extra:
                name += " (" + ", ".join(f"{k} {v:.3f} s" for k, v in im.extra.items()) + ")"
            if group == "reference":
                name += f" [{n:,} items; {best / n * 1e6:.1f} us per item]"
            lines.append(f"| {name} | {rate(im, n):.2f} | {best:.3f} | {med:.3f} | {x_pol} | {over} | {peak} "
                         f"| {ratio} |")
    return "\n".join(lines)


def targets(results: dict[int, list[Impl]], threads: int) -> list[str]:
    """The issue's targets against the measured ratios; a miss says by how much."""
    out = []

    def get(n: int, name: str) -> Impl | None:
        for im in results[n]:
            if im.name == name and im.times:
                return im
        return None

    def check(label: str, value: float | None, goal: float, higher: bool, unit: str = "x") -> None:
        if value is None:
            out.append(f"- {label}: not measured")
            return
        ok = value >= goal if higher else value <= goal
        gap = "" if ok else (f" (missed: needs {goal / value:.1f}x more)" if higher
                             else f" (missed by {value / goal:.1f}x)")
        out.append(f"- {label}: {value:.2f}{unit} (target {'>=' if higher else '<='} {goal}{unit}) "
                   f"{'MET' if ok else 'MISSED'}{gap}")

    n = max(results)
    core1 = get(n, "deminimis core, 1 thread")
    core1p = get(n, "deminimis core, 1 thread, preallocated outputs")
    pol, npy = get(n, "polars core (integer expressions)"), get(n, "numpy core (int64, vectorised)")
    fl, flp = get(n, "floor: engine's encoded input once, fresh outputs"), get(n, "floor: same, preallocated outputs")

    def ratio(a: Impl | None, b: Impl | None) -> float | None:
        return min(b.times) / min(a.times) if a and b else None

    out.append(f"At {n:,} items (ratios from one run):")
    check("core 1 thread vs polars core", ratio(core1, pol), 10, True)
    check("core 1 thread vs numpy core", ratio(core1, npy), 10, True)
    check("core 1 thread (fresh outputs) time / floor (fresh outputs)", ratio(fl, core1), 4, False)
    check("core 1 thread (preallocated) time / floor (preallocated)", ratio(flp, core1p), 4, False)
    e2e, pe2e = get(n, "deminimis.assess(pyarrow Table), 1 thread"), get(n, "polars end to end (pyarrow Table)")
    check("end to end from pyarrow vs polars end to end", ratio(e2e, pe2e), 5, True)
    c2 = get(n, f"deminimis core, {threads} threads")
    c2p = get(n, f"deminimis core, {threads} threads, preallocated outputs")
    check(f"core {threads} threads vs 1 thread (fresh outputs)", ratio(c2, core1), 1.6, True)
    check(f"core {threads} threads vs 1 thread (preallocated outputs)", ratio(c2p, core1p), 1.6, True)
    if len(results) > 1:
        lo = min(results)
        for name in ("deminimis core, 1 thread", "deminimis.assess(pyarrow Table), 1 thread"):
            a, b = get(lo, name), get(n, name)
            if a and b:
                change = 100 * (rate(b, n) / rate(a, lo) - 1)
                check(f"{name}: items/s at {n:,} vs {lo:,} ({change:+.0f}%), |change|", abs(change), 15, False,
                      unit="%")
    out.append("- out of core (100M items from Parquet, peak < 2 GiB): see `benchmarks/out_of_core.py`")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--items", type=int, nargs="+", default=[1_000_000])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--reference-sample", type=int, default=20_000)
    ap.add_argument("--threads", type=int, default=E.cpu_count())
    ap.add_argument("--no-memory", action="store_true", help="skip the subprocess peak-memory runs")
    ap.add_argument("--cold", action="store_true",
                    help="do not warm the guest's free pages before each timed call (see warm_pages)")
    ap.add_argument("--only", default="", help="run only implementations whose name contains this")
    ap.add_argument("--json", help="also write the measurements here")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        child(args.child, args.items[0], args.seed, args.reference_sample, args.threads)
        return 0

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    v = E.versions()
    print(f"deminimis benchmark: {' '.join(sys.argv)}")
    print(f"machine: {v['machine']}; {v['os']}")
    print("versions: " + ", ".join(f"{k} {v[k]}" for k in ("python", "deminimis", "numpy", "polars", "pyarrow")))
    print(f"load average at start: {' '.join(f'{x:.1f}' for x in os.getloadavg())} (2 CPUs: above 1 means neighbours)")
    print(f"engine: git {E.git_revision()}; features: "
          + ", ".join(f"{k}={'yes' if val else 'no'}" for k, val in E.FEATURES.items() if val is not None))
    results: dict[int, list[Impl]] = {}
    dump: dict[str, Any] = {"versions": v, "argv": sys.argv, "sizes": {}}
    for n in args.items:
        bench = Bench(n, args.seed, args.reference_sample)
        impls = [im for im in implementations(args.threads) if args.only in im.name]
        log(f"{n:,} items: generating")
        w = bench.w
        codes_src, n_codes = w.codes.source, len(w.codes.codes)
        log(f"{n:,} items in {w.n_cons:,} consignments; {n_codes} codes from {codes_src}")
        out_bytes = sum(n_ * dt.itemsize for n_, dt in F.output_specs(n, w.n_cons))
        time_all(bench, impls, args.repeats, log, warm_bytes=0 if args.cold else 4 * out_bytes)
        n_cons = w.n_cons
        del bench, w
        gc.collect()
        if not args.no_memory:
            measure_memory(impls, n, args.seed, args.reference_sample, args.threads, log)
        print(f"\n### {n:,} items, {n_cons:,} consignments ({n / n_cons:.2f} items each), "
              f"{n_codes:,} codes ({codes_src}); output {out_bytes / 2**20:.0f} MiB; "
              f"best of {args.repeats} interleaved repetitions"
              f"{', cold pages' if args.cold else ''}\n")
        print(table(impls, out_bytes))
        print(f"\nload average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
        results[n] = impls
        dump["sizes"][n] = [{"name": im.name, "group": im.group, "times": im.times, "peak_mib": im.peak,
                             "items": im.n, "extra": im.extra} for im in impls]
    print("\n### Targets\n")
    print("\n".join(targets(results, args.threads)))
    missing = E.missing()
    if missing:
        print("\nNot in the engine yet (measured as soon as it is): " + "; ".join(missing))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(dump, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
