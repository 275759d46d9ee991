"""reconcile, threshold_curve (100 thresholds) and risk.flags against one assess of the same items, as ratios.

    python benchmarks/audit.py [N_ITEMS]      # default 1,000,000

Targets (issue 11): reconcile and threshold_curve within 3x of one assess, risk.flags within 5x.
"""

from __future__ import annotations

import sys
import time

from deminimis import analysis, assess, audit, risk, synthetic


def best(f, repeat: int = 2) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return min(times)


def main(n: int) -> None:
    items, _, (regime, tariff, rates) = synthetic.declarations(n, seed=0)
    kw = dict(regime=regime, tariff=tariff, rates=rates, on=synthetic.ON, amounts="minor")
    keep = ["declared_duty", "declared_vat", "relief_claimed", "carrier"]
    base = best(lambda: assess(items, keep=keep, **kw))
    old = analysis.candidate_regimes("EU-2026-01-01", None)[0]
    timings = {
        "reconcile": best(lambda: audit.reconcile(items, declared={"duty": "declared_duty", "vat": "declared_vat",
                                                                   "relief": "relief_claimed"},
                                                  keep=["carrier"], **kw)),
        "threshold_curve (100)": best(lambda: analysis.threshold_curve(
            items, thresholds=[str(t) for t in range(0, 500, 5)], keep=keep, **{**kw, "regime": old})),
        "risk.flags": best(lambda: risk.flags(items, keep=keep, **kw)),
    }
    print(f"{n:,} items; one assess {base:.2f} s")
    for name, t in timings.items():
        print(f"  {name:<24}{t:6.2f} s  {t / base:5.2f}x assess")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
