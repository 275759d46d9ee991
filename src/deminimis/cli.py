"""The `deminimis` command.

    deminimis demo [--items N] [--regime CODE] [--on DATE] [--seed S] [--reference-sample K]
    deminimis regimes

`demo` assesses a synthetic batch of parcels under a built-in regime and its
sample tariff, prints the revenue totals and the items per second of the native
engine and of the pure-Python reference (on a sample), and checks that both
agree on that sample.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import sys
import time
from decimal import Decimal
from typing import Any, Sequence

import numpy as np

from . import __version__, reference, regimes
from .engine import assess
from .money import exponent
from .rates import ExchangeRates
from .tariff import Tariff, sample


def synthetic_batch(n_items: int, tariff: Tariff, destinations: Sequence[str], *, seed: int = 0,
                    currencies: Sequence[str] = ("EUR", "USD", "GBP", "CNY", "JPY")) -> dict[str, np.ndarray]:
    """A seeded batch of parcels: lognormal values (median ~20), 1-5 items per consignment,
    Zipf-like popularity over the tariff's codes, a few currencies and origins.

    Values are integers in minor units of each item's currency (pass amounts="minor").
    """
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 6, size=n_items // 2 + 1)
    cons = np.repeat(np.arange(len(sizes), dtype=np.int64), sizes)[:n_items]
    n_cons = int(cons[-1]) + 1 if n_items else 0
    codes = np.array(sorted(tariff.lines), dtype="U10")
    pop = 1.0 / np.arange(1, len(codes) + 1) ** 1.1
    code = codes[rng.choice(len(codes), size=n_items, p=pop / pop.sum())]
    cur_names = np.array(currencies)
    cur_of_cons = rng.choice(len(cur_names), size=n_cons, p=[0.4, 0.25, 0.1, 0.2, 0.05][:len(cur_names)])
    currency = cur_names[cur_of_cons[cons]]
    major = rng.lognormal(mean=np.log(20.0), sigma=1.0, size=n_items)
    exps = np.array([exponent(c) for c in cur_names])[cur_of_cons[cons]]
    # integer minor units drawn from a float distribution: the *data* is random, the amounts exact
    value = np.maximum(1, np.round(major * 10.0 ** exps)).astype(np.int64)
    value = np.where(cur_names[cur_of_cons[cons]] == "JPY", value * 150, value)
    cons_exp = np.array([exponent(c) for c in cur_names])[cur_of_cons]
    freight_c = rng.integers(0, 15, size=n_cons) * 10 ** cons_exp  # whole units of the consignment's currency
    dest = np.array(destinations)[rng.integers(0, len(destinations), size=n_cons)]
    return {
        "consignment": cons, "hs_code": code, "value": value, "currency": currency,
        "origin": np.array(["CN", "US", "GB", "TR", "IN"])[rng.integers(0, 5, size=n_items)],
        "quantity": rng.integers(1, 4, size=n_items).astype(np.int64),
        "net_mass_kg": rng.integers(1, 3, size=n_items).astype(np.int64),  # whole kg, exact
        "volume_l": rng.integers(1, 3, size=n_items).astype(np.int64),     # whole litres, exact
        "freight": freight_c[cons], "destination": dest[cons],
        "collected_at_sale": (rng.random(n_cons) < 0.9)[cons],
    }


DEMO_RATES = {"USD": "1.0876", "GBP": "0.8530", "CNY": "7.8012", "JPY": "162.15"}


def _fmt(minor: int, currency: str) -> str:
    return f"{Decimal(minor).scaleb(-exponent(currency)):,} {currency}"


def demo(args: argparse.Namespace) -> int:
    on = _dt.date.fromisoformat(args.on) if args.on else _dt.date(2026, 11, 28)
    regime = regimes.get(args.regime, on=on)
    tariff = sample(regime.jurisdiction)
    rates = ExchangeRates({k: v for k, v in DEMO_RATES.items() if k != regime.currency},
                          base=regime.currency, source="demo rates (illustrative, not official)")
    dests = sorted(regime.vat.rates)
    t0 = time.perf_counter()
    batch = synthetic_batch(args.items, tariff, dests, seed=args.seed)
    t1 = time.perf_counter()
    result = assess(batch, regime=regime, tariff=tariff, rates=rates, on=on, amounts="minor")
    t2 = time.perf_counter()
    k = min(args.reference_sample, args.items)
    cut = int(np.searchsorted(batch["consignment"], batch["consignment"][k - 1], side="right")) if k else 0
    sub = {name: col[:cut] for name, col in batch.items()}
    t3 = time.perf_counter()
    ref = reference.assess(sub, regime=regime, tariff=tariff, rates=rates, on=on, amounts="minor")
    t4 = time.perf_counter()
    fast_sub = assess(sub, regime=regime, tariff=tariff, rates=rates, on=on, amounts="minor")
    agree = fast_sub.equals(ref)

    s = result.summary()
    cur = regime.currency
    print(f"deminimis {__version__} demo: {s['items']:,} items in {s['consignments']:,} consignments "
          f"under {regime.id} on {on}")
    print(f"  generated in {t1 - t0:.2f} s; sample tariff: {tariff.name} ({len(tariff)} lines)")
    print(f"  intrinsic value      {_fmt(s['intrinsic'], cur):>22}")
    print(f"  duty                 {_fmt(s['duty'], cur):>22}   ({s['items_flat_duty']:,} items at the flat duty)")
    print(f"  import VAT at border {_fmt(s['vat'], cur):>22}")
    print(f"  VAT collected at sale{_fmt(s['vat_at_sale'], cur):>22}   ({s['items_vat_at_sale']:,} items)")
    print(f"  fees                 {_fmt(s['fees'], cur):>22}")
    print(f"  total at the border  {_fmt(s['total'], cur):>22}")
    print(f"  native engine:   {s['items'] / (t2 - t1) / 1e6:8.2f} M items/s end to end ({t2 - t1:.3f} s)")
    print(f"  reference:       {cut / (t4 - t3) / 1e6:8.4f} M items/s on a {cut:,}-item sample ({t4 - t3:.2f} s)")
    print(f"  engine and reference agree on the sample: {'yes' if agree else 'NO'}")
    return 0 if agree else 1


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="deminimis", description=__doc__.split("\n\n")[0])
    p.add_argument("--version", action="version", version=f"deminimis {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    d = sub.add_parser("demo", help="assess a synthetic batch of parcels and print totals and speed")
    d.add_argument("--items", type=int, default=1_000_000)
    d.add_argument("--regime", default="EU", help="built-in regime id or jurisdiction (default EU)")
    d.add_argument("--on", default=None, help="assessment date (default 2026-11-28)")
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--reference-sample", type=int, default=20_000)
    d.set_defaults(func=demo)
    r = sub.add_parser("regimes", help="list the built-in regimes")
    r.set_defaults(func=lambda a: [print(f"{x['id']:<24} {x['jurisdiction']:<4} {x['valid_from']:<20} "
                                         f"{x['valid_to']:<20} {x['name']}") for x in regimes.available()] and 0)
    args = p.parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
