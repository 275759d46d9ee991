#!/usr/bin/env python3
"""Plant mutants one at a time and check that the fast test profile kills each one.

A mutant is a one-line change: a text that must occur on exactly one line of a named file, and
what replaces it there.  A mutant whose text is on no line, or on several, is refused before
anything runs, so that the list cannot rot silently when the code changes.  For each mutant the
tool writes the change, rebuilds the extensions when the file is C or .pyx, runs the fast
profile stopping at the first failure, records the first failing test (killed) or SURVIVED,
and writes the file back.  Every file is restored whatever happens (a failure, Ctrl-C, SIGTERM),
the extensions are rebuilt from the restored sources, and the run ends by checking that
``git diff --quiet`` holds.  docs/testing.md explains every mutant that survives.

    .venv/bin/python tools/mutate.py --list            # the mutants, each checked to match one line
    .venv/bin/python tools/mutate.py                   # all of them (30-60 minutes)
    .venv/bin/python tools/mutate.py --only c-threshold-inclusive --only rates-quotation

Run it from a clean worktree (it refuses otherwise) with the package installed in .venv in
editable mode and the build dependencies (Cython, setuptools, numpy) in .venv.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = ROOT / ".venv" / "bin" / "python"

# The fast profile: hand-computed, differential (Hypothesis "default" profile, fixed seed so that
# a run can be repeated), bad input, rounding, native robustness, tariff lookup, regime examples,
# and the tests this tool showed to be missing.
TESTS = ["tests/test_mutant_killers.py", "tests/test_mechanisms.py", "tests/test_differential.py",
         "tests/test_inputs.py", "tests/test_rounding.py", "tests/test_strict_inputs.py", "tests/test_catalogue.py",
         "tests/test_native_robustness.py", "tests/test_tariff_table.py", "tests/test_regimes_examples.py"]
PYTEST = ["-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "--hypothesis-seed=0", "-o", "addopts="]
TEST_TIMEOUT = 600  # seconds; a mutant that makes the suite hang (an endless loop) counts as killed
# build_ext --inplace rebuilds only the stale extension (27 s for the kernel on this machine);
# `pip install --no-build-isolation -e .` rebuilds both every time (43 s).
BUILD = ["setup.py", "-q", "build_ext", "--inplace"]
NATIVE_SUFFIXES = (".h", ".c", ".pyx", ".pxd")


@dataclass(frozen=True)
class Mutant:
    id: str
    path: str  # relative to the repository root
    old: str   # text that must occur on exactly one line of the file
    new: str   # what replaces it on that line
    what: str  # the fault it models

    @property
    def native(self) -> bool:
        return self.path.endswith(NATIVE_SUFFIXES)


def M(id: str, path: str, old: str, new: str, what: str) -> Mutant:  # a row of the table below
    return Mutant(id, path, old, new, what)


ENGINE = "src/deminimis/engine/"
PYX = "src/deminimis/_core.pyx"
KERNEL = "csrc/assess.c"
ALLOCATE = "csrc/allocate.c"
MUTANTS: list[Mutant] = [
    # --- the engine's Python: params, encode, checks, factorize
    M("params-inclusive", PYX, "self.c.inclusive, self.c.threshold = inclusive, threshold",
      "self.c.inclusive, self.c.threshold = not inclusive, threshold", "condition threshold inclusive flag inverted"),
    M("params-basis", PYX, 'BASES = {"intrinsic": DM_BASIS_INTRINSIC, "customs": DM_BASIS_CUSTOMS}',
      'BASES = {"intrinsic": DM_BASIS_CUSTOMS, "customs": DM_BASIS_INTRINSIC}',
      "threshold basis intrinsic/customs swapped"),
    M("params-waiver-target", PYX, 'WAIVER_TARGETS = {"duty": DM_WAIVE_DUTY, "vat": DM_WAIVE_VAT,',
      'WAIVER_TARGETS = {"duty": DM_WAIVE_VAT, "vat": DM_WAIVE_DUTY,', "waiver targets duty/vat swapped"),
    M("params-waiver-inclusive", PYX, "self.c.inclusive = inclusive",
      "self.c.inclusive = not inclusive", "waiver threshold inclusive flag inverted"),
    M("params-gross-up", ENGINE + "params.py", 'else r / (1 - r)) * Fraction(factor)',
      'else r / (1 + r)) * Fraction(factor)', "VAT gross-up r/(1-r) written r/(1+r)"),
    M("params-fee-when", PYX, '"due": DM_DUE_IF_DUE, "not_relieved": DM_DUE_IF_ENTRY}',
      '"due": DM_DUE_IF_ENTRY, "not_relieved": DM_DUE_IF_DUE}', "fee conditions due/not_relieved swapped"),
    M("params-fee-per", PYX, 'FEE_PERS = {"consignment": DM_FEE_PER_CONSIGNMENT, "item": DM_FEE_PER_ITEM}',
      'FEE_PERS = {"consignment": DM_FEE_PER_ITEM, "item": DM_FEE_PER_CONSIGNMENT}',
      "fee per consignment/per item swapped"),
    M("params-valuation-factor", ENGINE + "params.py", "f = rates.factor(currency) * Fraction(valuation_factor)",
      "f = rates.factor(currency)", "valuation factor (JP 60%) left out of the conversion"),
    M("encode-flat-key-digits", ENGINE + "encode.py", "key_index.setdefault(c[:kd], len(key_index))",
      "key_index.setdefault(c[:kd + 1], len(key_index))", "flat duty key one digit too long"),
    M("encode-vat-reduction", ENGINE + "encode.py", "vat.method, vat.factor * reduction), len(rate_index))",
      "vat.method, vat.factor), len(rate_index))", "reduced VAT rate not reduced"),
    M("encode-rule-excl-bit", ENGINE + "encode.py", "item_flags_pair[p] |= 1 << slot",
      "item_flags_pair[p] |= 1 << (slot + 1)", "rule exclusion flag bit off by one"),
    M("encode-waiver-excl-bit", ENGINE + "encode.py", "item_flags_pair[p] |= 1 << (_core.N_RULES + q)",
      "item_flags_pair[p] |= 1 << q", "waiver exclusion flag bit in the rules' bits"),
    M("checks-consistency-off", ENGINE + "checks.py", "row = _encode.first_inconsistent(codes, cons, first)",
      "row = -1", "consistency check within a consignment skipped"),
    M("factorize-first-row", ENGINE + "factorize.py", "np.minimum.at(first, codes64, np.arange(n, dtype=np.int64))",
      "np.maximum.at(first, codes64, np.arange(n, dtype=np.int64))", "last row of each value taken as its first"),
    # --- the C kernel
    M("c-threshold-inclusive", KERNEL, "return inclusive ? x <= thr : x < thr;",
      "return inclusive ? x < thr : x < thr;", "inclusive threshold compared with <"),
    M("c-threshold-by-destination", KERNEL, "return cd->thresholds ? cd->thresholds[c] : cd->threshold;",
      "return cd->threshold;", "a condition's thresholds per destination ignored (M14)"),
    M("c-surtax-on-total", KERNEL,
      "if (dm_round_mul_div(vat, t->num, t->den, t->rounding.mode, t->rounding.quantum, &s) || dm_add(*out, s, out))",
      "if (dm_round_mul_div(*out, t->num, t->den, t->rounding.mode, t->rounding.quantum, &s) || dm_add(*out, s, out))",
      "a VAT surtax computed on the VAT plus the earlier surtaxes (M11)"),
    M("params-threshold-by-destination", ENGINE + "params.py",
      "table = np.array([by_dest.get(d, default) for d in dests] or [0], dtype=np.int64)",
      "table = np.array([default for d in dests] or [0], dtype=np.int64)",
      "the encoder gives every consignment the default threshold (M14)"),
    M("c-threshold-exclusive", KERNEL, "return inclusive ? x <= thr : x < thr;",
      "return inclusive ? x <= thr : x <= thr;", "exclusive threshold compared with <="),
    M("c-remainder-tie", ALLOCATE, "(dm_u128_eq(a->rem, b->rem) && a->pos < b->pos)",
      "(dm_u128_eq(a->rem, b->rem) && a->pos > b->pos)",
      "largest remainder ties to the later item"),
    M("c-item-basis", KERNEL, "int64_t x = cd->basis == DM_BASIS_INTRINSIC ? intrinsic : customs;",
      "int64_t x = cd->basis == DM_BASIS_INTRINSIC ? customs : intrinsic;", "item condition basis swapped"),
    M("c-cons-basis", KERNEL, "x = cd->basis == DM_BASIS_INTRINSIC ? c_intr : c_cust;",
      "x = cd->basis == DM_BASIS_INTRINSIC ? c_cust : c_intr;", "consignment condition basis swapped"),
    M("c-freight-weights", KERNEL, "dm_share(freight, S, NULL, k, DM_OFF(intr), DM_OFF(tr));",
      "dm_share(freight, S, NULL, k, DM_OFF(row), DM_OFF(tr));", "freight allocated by row number"),
    M("c-fee-weights", KERNEL, "dm_share(fee_total, S, NULL, k, DM_OFF(cv), DM_OFF(fee));",
      "dm_share(fee_total, S, NULL, k, DM_OFF(intr), DM_OFF(fee));", "fees allocated by intrinsic value"),
    M("c-flat-weights", KERNEL, "dm_share(p->flat_amount, S, keys + s, e - s, DM_OFF(intr), DM_OFF(duty));",
      "dm_share(p->flat_amount, S, keys + s, e - s, DM_OFF(row), DM_OFF(duty));", "flat duty allocated by row"),
    M("c-fee-value-up-to", KERNEL, "!(c_cust <= fe->value_up_to)) continue;", "!(c_cust < fe->value_up_to)) continue;",
      "fee value_up_to bound exclusive"),
    M("c-fee-due", KERNEL, "if (it[j].duty > 0 || it[j].vat > 0) due = 1;", "if (it[j].duty > 0) due = 1;",
      "fee 'due' condition ignores VAT"),
    M("c-cons-sum-duty", KERNEL, "if (dm_add(cd, x->duty, &cd) ||", "if (dm_add(cd, x->dsale, &cd) ||",
      "consignment duty sums the duty collected at sale"),
    M("c-band-boundary", KERNEL, "if (v <= p->bands[q].up_to) band = &p->bands[q];",
      "if (v < p->bands[q].up_to) band = &p->bands[q];", "simplified duty band bound exclusive"),
    M("c-measure-minimum", KERNEL, "if (b > d) d = b;", "if (b < d) d = b;", "duty minimum applied as a maximum"),
    M("c-measure-sub-clamp", KERNEL, "d = b < d ? d - b : 0;", "d = d - b;",
      "a subtracted term larger than the duty gives a refund"),
    M("c-at-sale-duty", KERNEL, "if (it[j].sale && it[j].duty > 0) {", "if (it[j].duty > 0) {",
      "duty moved to collection at sale for every item"),
    M("c-conversion-mode", KERNEL, "return dm_round_mul_div(a, mul, div, r->mode, r->quantum, out);",
      "return dm_round_mul_div(a, mul, div, 0, r->quantum, out);",
      "conversion always rounds half up"),
    # --- the Cython skin
    M("pyx-waiver-excl-bit", PYX, "self.c.waivers[k].excl_bit = 1 << (DM_N_RULES + k)",
      "self.c.waivers[k].excl_bit = 1 << (DM_N_RULES + k + 1)", "waiver exclusion bit off by one"),
    M("pyx-vat-rounding", PYX, "= conv.c, duty.c, vat.c, fee.c", "= conv.c, duty.c, duty.c, fee.c",
      "VAT rounded with the duty's rounding"),
    M("pyx-fee-up-to", PYX, "self.c.value_above, self.c.value_up_to = value_above, value_up_to",
      "self.c.value_above, self.c.value_up_to = value_above, -1", "fee value_up_to bound dropped"),
    # --- the encoder's C
    M("enc-gather-flags", "csrc/encode.h", "flags[i] = flags_of[p];", "flags[i] = 0;", "item flags not gathered"),
    M("enc-gather-reduced", "csrc/encode.h", "reduced[i] = reduced_of[v];", "reduced[i] = rate_of[v];",
      "reduced VAT index gathered from the standard rates"),
    M("enc-consistency", "csrc/encode.h", "if (!(EQUAL)) return i;", "if (!(EQUAL)) return -1;",
      "C consistency check finds nothing"),
    M("enc-key-tail", "csrc/encode.h", "if (o->len == k->len && o->a == k->a && o->b == k->b) {",
      "if (o->len == k->len && o->a == k->a) {", "hash key compares only the first 8 bytes and the length"),
    # --- the shared models
    M("model-valid-from", "src/deminimis/regimes/model.py", "(self.valid_from is None or self.valid_from <= at)",
      "(self.valid_from is None or self.valid_from < at)", "regime not in force on its first instant"),
    M("model-valid-to", "src/deminimis/regimes/model.py", "(self.valid_to is None or at < self.valid_to)",
      "(self.valid_to is None or at <= self.valid_to)", "regime still in force at valid_to"),
    M("model-amount-minor", "src/deminimis/regimes/model.py", "scaled = amount.scaleb(self.exponent)",
      "scaled = amount.scaleb(2)", "regime amounts always scaled by 2 decimals"),
    M("model-category-shortest", "src/deminimis/regimes/model.py", "if code.startswith(p) and len(p) > best_len:",
      "if code.startswith(p) and (best_len < 0 or len(p) < best_len):", "VAT category: shortest prefix wins"),
    M("table-base-shortest", "src/deminimis/tariff/table.py", "ms = base.get(code[:n])",
      "ms = base.get(code[:len(code) + 2 - n])", "tariff base rate: shortest prefix first"),
    M("table-origin-shortest", "src/deminimis/tariff/table.py",
      "ix.origin_lengths_desc = sorted(ix.origin_lengths, reverse=True)",
      "ix.origin_lengths_desc = sorted(ix.origin_lengths)", "tariff origin rate: shortest prefix first"),
    M("table-valid-to", "src/deminimis/tariff/table.py", "(self.valid_to is None or on < self.valid_to)",
      "(self.valid_to is None or on <= self.valid_to)", "tariff measure still in force on valid_to"),
    M("rates-quotation", "src/deminimis/rates.py",
      'return scale / r if self.quote == "foreign_per_base" else scale * r',
      'return scale * r if self.quote == "foreign_per_base" else scale / r', "quotations swapped"),
    M("rounding-half-up-code", PYX, 'ROUNDING_MODES = {"half_up": DM_ROUND_HALF_UP,',
      'ROUNDING_MODES = {"half_up": DM_ROUND_HALF_EVEN,', "half_up sent to the core as half_even"),
    M("rounding-floor-code", PYX, '"up": DM_ROUND_UP, "floor": DM_ROUND_FLOOR,',
      '"up": DM_ROUND_UP, "floor": DM_ROUND_DOWN,', "floor sent to the core as down"),
    M("compile-lcm", "src/deminimis/tariff/compile.py", "den = den * f.denominator // math.gcd(den, f.denominator)",
      "den = den * f.denominator", "common denominator a product, not the least common multiple"),
    M("compile-bounds", "src/deminimis/tariff/compile.py", "int(lo is not None), int(hi is not None), 0,",
      "int(hi is not None), int(lo is not None), 0,", "minimum/maximum flags swapped"),
    M("compile-alcohol-scale", "src/deminimis/tariff/compile.py",
      'QUANTITY_SCALE = {"mass": 1000, "volume": 1000, "count": 1000, "alcohol": 10**8}',
      'QUANTITY_SCALE = {"mass": 1000, "volume": 1000, "count": 1000, "alcohol": 10**5}',
      "pure alcohol read as ml x % vol, not ml x thousandths of a % vol"),
    M("encode-strength-max", ENGINE + "encode.py", "above = ok & (pct > MAX_STRENGTH)",
      "above = ok & (pct > 10 * MAX_STRENGTH)", "an alcoholic strength above 100% vol accepted"),
    # --- errors="flag": status and exclusion
    M("partition-exclusion", "src/deminimis/partition.py", "keep = rows if excluded is None else rows[~excluded[rows]]",
      "keep = rows if excluded is None else rows[~sink.bad[rows]]", "only bad rows left out, not their consignment"),
    M("partition-status", "src/deminimis/partition.py", "np.where(has[0], INVALID, np.where(has[1], WITH_INVALID,",
      "np.where(has[0], WITH_INVALID, np.where(has[1], INVALID,", "consignment statuses swapped"),
    M("partition-day-in-force", "src/deminimis/partition.py",
      "and (regime.valid_to is None or start < regime.valid_to))",
      "and (regime.valid_to is None or end <= regime.valid_to))", "a day is in force only if the whole day is"),
]


def apply(m: Mutant, text: str) -> str:
    """The file's text with the mutant planted; ValueError unless its text is on exactly one line."""
    lines = text.splitlines(keepends=True)
    hits = [i for i, line in enumerate(lines) if m.old in line]
    if len(hits) != 1:
        raise ValueError(f"mutant {m.id}: {m.old!r} is on {len(hits)} lines of {m.path}, not on one")
    (i,) = hits
    if lines[i].count(m.old) != 1:
        raise ValueError(f"mutant {m.id}: {m.old!r} is {lines[i].count(m.old)} times on line {i + 1} of {m.path}")
    lines[i] = lines[i].replace(m.old, m.new)
    return "".join(lines)


def line_of(m: Mutant) -> int:
    text = (ROOT / m.path).read_text()
    return next(i for i, line in enumerate(text.splitlines(), 1) if m.old in line)


def check_all(mutants: list[Mutant]) -> None:
    ids = [m.id for m in mutants]
    dupes = {i for i in ids if ids.count(i) > 1}
    if dupes:
        raise SystemExit(f"duplicate mutant ids: {sorted(dupes)}")
    for m in mutants:
        apply(m, (ROOT / m.path).read_text())  # raises when the pattern is not on exactly one line
        if m.old == m.new:
            raise SystemExit(f"mutant {m.id} changes nothing")


def build() -> tuple[bool, str]:
    r = subprocess.run([str(PYTHON), *BUILD], cwd=ROOT, capture_output=True, text=True)
    return r.returncode == 0, r.stderr[-2000:]


def run_tests() -> tuple[str | None, float]:
    """The first failing test (None when all pass) and the seconds the run took."""
    env = dict(os.environ, HYPOTHESIS_PROFILE="default")
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory() as store:
        env["HYPOTHESIS_STORAGE_DIRECTORY"] = store  # no example database carried from one mutant to the next
        try:
            r = subprocess.run([str(PYTHON), *PYTEST, *TESTS], cwd=ROOT, env=env, capture_output=True,
                               text=True, timeout=TEST_TIMEOUT)
        except subprocess.TimeoutExpired:
            return "(timeout)", time.monotonic() - t0
    took = time.monotonic() - t0
    if r.returncode == 0:
        return None, took
    failed = re.findall(r"^(?:FAILED|ERROR) (\S+)", r.stdout, re.M)
    return (failed[0] if failed else f"(pytest exit {r.returncode})"), took


def git_clean() -> bool:
    return subprocess.run(["git", "diff", "--quiet"], cwd=ROOT).returncode == 0


def _terminate(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # so that the finally clauses restore the files on SIGTERM too


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--list", action="store_true", help="list the mutants (each checked) and exit")
    ap.add_argument("--only", action="append", metavar="ID", help="run only this mutant (repeatable)")
    ap.add_argument("--jobs", type=int, default=1, help="mutants at a time (only 1: they share the worktree)")
    ap.add_argument("--no-baseline", action="store_true", help="skip the run of the unmutated tree")
    ap.add_argument("--out", type=Path, help="also write the table to this file")
    args = ap.parse_args(argv)
    if args.jobs != 1:
        ap.error("--jobs must be 1: every mutant is planted in the one worktree")
    check_all(MUTANTS)
    chosen = MUTANTS
    if args.only:
        unknown = set(args.only) - {m.id for m in MUTANTS}
        if unknown:
            ap.error(f"unknown mutant ids {sorted(unknown)}")
        chosen = [m for m in MUTANTS if m.id in args.only]
    if args.list:
        for m in chosen:
            print(f"{m.id:28} {m.path}:{line_of(m)}  {m.what}")
        print(f"{len(chosen)} mutants")
        return 0
    if not git_clean():
        raise SystemExit("the worktree has changes: commit or stash them first (every file is restored from it)")

    # Python mutants first, then the native ones grouped by file: each build then recompiles
    # only the extension whose source changed (and restores the one before it).
    chosen = sorted(chosen, key=lambda m: (m.native, m.path if m.native else ""))
    signal.signal(signal.SIGTERM, _terminate)
    out = open(args.out, "w") if args.out else None  # written row by row, closed at the end

    def emit(line: str) -> None:
        print(line, flush=True)
        if out:
            out.write(line + "\n")
            out.flush()

    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    emit(f"# mutants, {_dt.datetime.now():%Y-%m-%d %H:%M}, commit {head.stdout.strip()}, "
         f"tests: {' '.join(Path(t).name for t in TESTS)}")
    t_start = time.monotonic()
    if not args.no_baseline:
        failed, took = run_tests()
        if failed:
            raise SystemExit(f"the unmutated tree fails {failed}: fix that first")
        emit(f"# baseline: every test passes ({took:.0f} s)")
    emit("| id | file:line | change | result | s |")
    emit("|---|---|---|---|---|")
    results: list[tuple[Mutant, str]] = []
    built_mutant = False  # an extension was built from a mutated source
    try:
        for m in chosen:
            path = ROOT / m.path
            original = path.read_bytes()
            line = line_of(m)
            t0 = time.monotonic()
            try:
                path.write_text(apply(m, original.decode()))
                if m.native:
                    built_mutant = True
                    ok, log = build()
                    if not ok:
                        result = "BUILD FAILED"
                        print(log, file=sys.stderr)
                if not m.native or ok:
                    failed, _ = run_tests()
                    result = f"killed by {failed}" if failed else "SURVIVED"
            finally:
                path.write_bytes(original)
            results.append((m, result))
            change = f"`{m.old}` → `{m.new}`".replace("|", "\\|")
            emit(f"| {m.id} | {m.path}:{line} | {change} | {result} | {time.monotonic() - t0:.0f} |")
    finally:
        if built_mutant:
            ok, log = build()  # the extensions from the restored sources
            if not ok:
                print(f"REBUILD OF THE RESTORED SOURCES FAILED:\n{log}", file=sys.stderr)
        clean = git_clean()
        if not clean:
            print("git diff is not empty after the run: check the worktree", file=sys.stderr)
    killed = sum(r.startswith("killed") for _, r in results)
    emit("")
    emit(f"# {killed}/{len(results)} killed, {len(results) - killed} not killed, "
         f"{(time.monotonic() - t_start) / 60:.1f} min")
    for m, r in results:
        if not r.startswith("killed"):
            emit(f"#   {r}: {m.id} ({m.what})")
    if out:
        out.close()
    return 0 if clean and killed == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
