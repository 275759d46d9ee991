"""The `deminimis` command.

    deminimis demo [--items N] [--regime CODE] [--on DATE] [--seed S] [--reference-sample K]
    deminimis regimes
    deminimis assess SOURCE.parquet DEST.parquet --regime EU --tariff sample:EU --on 2026-11-28 --rate USD=1.0876

`demo` assesses a synthetic batch of parcels under any built-in regime (an id
such as ``BR-2025-04-01`` or a jurisdiction code such as ``US``), prints the
revenue totals and the items per second of the native engine and of the
pure-Python reference (on a sample), and checks that both agree on that sample.

The demo's inputs are illustrative, and it says so when it prints them: its
exchange rates are fixed demo values, not official rates; its tariff is the
jurisdiction's built-in sample (``deminimis.tariff.sample``: EU, UK, US, rates
as published) or, where there is none, a tariff in which every line is Free, so
that no duty rate is invented (only the regime's own flat or simplified duties
are then charged).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import sys
import time
from decimal import Decimal, localcontext
from typing import Sequence

import numpy as np

from . import __version__, reference, regimes
from .engine import assess
from .errors import DeminimisError
from .money import exponent
from .rates import ExchangeRates
from .regimes import Regime
from .tariff import Tariff, sample


def synthetic_batch(n_items: int, tariff: Tariff, destinations: Sequence[str], *, seed: int = 0,
                    currencies: Sequence[str] = ("EUR", "USD", "GBP", "CNY", "JPY"),
                    dates: Sequence[_dt.date] | None = None, transports: Sequence[str] | None = None,
                    consignees: bool = False) -> dict[str, np.ndarray]:
    """A seeded batch of parcels: lognormal values (median ~20), 1-5 items per consignment,
    Zipf-like popularity over the tariff's codes, five currencies and a few origins.

    Values are integers in minor units of each item's currency (pass amounts="minor").
    Optional consignment-level columns, for regimes that need them: `dates` (a date per
    consignment drawn from these), `transports` (likewise) and `consignees` (integer ids, about
    three consignments per consignee). They are drawn after the others, so a batch without them
    is the same for the same seed.
    """
    if len(currencies) != 5:
        raise ValueError("synthetic_batch: give five currencies (their shares are 40/25/10/20/5%)")
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
    batch = {
        "consignment": cons, "hs_code": code, "value": value, "currency": currency,
        "origin": np.array(["CN", "US", "GB", "TR", "IN"])[rng.integers(0, 5, size=n_items)],
        "quantity": rng.integers(1, 4, size=n_items).astype(np.int64),
        "net_mass_kg": rng.integers(1, 3, size=n_items).astype(np.int64),  # whole kg, exact
        "volume_l": rng.integers(1, 3, size=n_items).astype(np.int64),     # whole litres, exact
        "freight": freight_c[cons], "destination": dest[cons],
        "collected_at_sale": (rng.random(n_cons) < 0.9)[cons],
    }
    if dates is not None:
        days = np.array([np.datetime64(d.isoformat(), "D") for d in dates], dtype="datetime64[D]")
        batch["date"] = days[rng.integers(0, len(days), size=n_cons)][cons]
    if transports is not None:
        batch["transport"] = np.array(transports)[rng.integers(0, len(transports), size=n_cons)][cons]
    if consignees:
        batch["consignee"] = rng.integers(0, max(1, n_cons // 3), size=n_cons).astype(np.int64)[cons]
    return batch


# Exchange rates for the demo only: units of each currency per 1 EUR. They are ILLUSTRATIVE values
# chosen for the demo, not official rates of any central bank or customs authority. Rates into
# another customs currency are crossed through EUR and rounded to 8 significant digits.
DEMO_RATES = {"USD": "1.0876", "GBP": "0.8530", "CNY": "7.8012", "JPY": "162.15"}
DEMO_RATES_PER_EUR = {**DEMO_RATES, "CAD": "1.50", "AUD": "1.65", "NZD": "1.80", "CHF": "0.94", "NOK": "11.60",
                      "SGD": "1.45", "BRL": "6.00"}
DEMO_CURRENCIES = ("EUR", "USD", "GBP", "CNY", "JPY")
DEMO_ON = _dt.date(2026, 11, 28)
RATES_LABEL = "illustrative demo rates, NOT official"


def demo_rates(base: str) -> ExchangeRates:
    """The demo's rates into `base` (quoted as foreign units per 1 base unit)."""
    per_eur = {"EUR": Decimal(1), **{c: Decimal(r) for c, r in DEMO_RATES_PER_EUR.items()}}
    if base not in per_eur:
        raise DeminimisError(f"the demo has no illustrative rate for {base}; have {sorted(per_eur)}")
    with localcontext() as ctx:
        ctx.prec = 8
        rates = {c: +(r / per_eur[base]) for c, r in per_eur.items() if c != base}
    return ExchangeRates(rates, base=base, source=RATES_LABEL)


def demo_tariff(regime: Regime) -> tuple[Tariff, bool]:
    """The jurisdiction's built-in sample tariff, and True; or, where there is none, a tariff of the
    EU sample's 6-digit HS subheadings with every line Free, and False (no duty rate is invented)."""
    country = regime.jurisdiction.split("-")[0]  # UK-GIFTS -> UK, CA-CUSMA -> CA, JP-PERSONAL -> JP
    try:
        return sample(country), True
    except KeyError:
        hs6 = sorted({code[:6] for code in sample("EU").lines})
        return Tariff.from_records([{"code": c, "duty": "Free"} for c in hs6],
                                   name=f"every line Free ({len(hs6)} HS subheadings; no sample tariff for {country})"), False


def demo_transports(regime: Regime) -> list[str]:
    """The transports the regime's rules and fees name, with post and courier."""
    named = {t for r in [*regime.rule_slots(), *regime.fees] if r is not None and r.transports for t in r.transports}
    return sorted(named | {"post", "courier"})


def demo_currencies(base: str) -> tuple[str, ...]:
    """Five currencies for the batch, the customs currency first (the largest share)."""
    return tuple(dict.fromkeys([base, *DEMO_CURRENCIES]))[:5]


def _parse_on(s: str) -> _dt.date | _dt.datetime:
    return _dt.datetime.fromisoformat(s) if "T" in s or " " in s.strip() else _dt.date.fromisoformat(s)


def _fmt(minor: int, currency: str) -> str:
    return f"{Decimal(minor).scaleb(-exponent(currency)):,} {currency}"


def demo(args: argparse.Namespace) -> int:
    try:
        on: _dt.date | _dt.datetime = _parse_on(args.on) if args.on else DEMO_ON
        regime = regimes.get(args.regime, on=on)
        if not args.on and not regime.in_force(on):  # an id of an earlier version: assess on its first day
            assert regime.valid_from is not None
            vf = regime.valid_from
            on = vf if vf.time() != _dt.time() else vf.date()
        if not regime.in_force(on):
            raise DeminimisError(f"{regime.id} is not in force on {on} "
                                 f"(valid {regime.valid_from or '-inf'} to {regime.valid_to or '+inf'})")
        rates = demo_rates(regime.currency)
    except (DeminimisError, ValueError) as exc:
        print(f"deminimis demo: {exc}", file=sys.stderr)
        return 2
    tariff, real_tariff = demo_tariff(regime)
    day = on.date() if isinstance(on, _dt.datetime) else on
    first = regime.valid_from.date() if regime.valid_from else day - _dt.timedelta(days=6)
    dates = [d for d in (day - _dt.timedelta(days=k) for k in range(6, -1, -1)) if d >= first]
    t0 = time.perf_counter()
    batch = synthetic_batch(args.items, tariff, sorted(regime.vat.rates), seed=args.seed,
                            currencies=demo_currencies(regime.currency), dates=dates,
                            transports=demo_transports(regime), consignees=True)
    t1 = time.perf_counter()
    result = assess(batch, regime=regime, tariff=tariff, rates=rates, on=on, amounts="minor")
    t2 = time.perf_counter()
    # a clearance system assesses batch after batch: the next one finds the tariff lookups cached
    # and the process's memory mapped
    steady = assess(batch, regime=regime, tariff=tariff, rates=rates, on=on, amounts="minor")
    t2b = time.perf_counter()
    k = min(args.reference_sample, args.items)
    cut = int(np.searchsorted(batch["consignment"], batch["consignment"][k - 1], side="right")) if k else 0
    sub = {name: col[:cut] for name, col in batch.items()}
    t3 = time.perf_counter()
    ref = reference.assess(sub, regime=regime, tariff=tariff, rates=rates, on=on, amounts="minor")
    t4 = time.perf_counter()
    fast_sub = assess(sub, regime=regime, tariff=tariff, rates=rates, on=on, amounts="minor")
    agree = fast_sub.equals(ref) and steady.equals(result)

    s = result.summary()
    cur = regime.currency
    shown = ", ".join(f"{r} {c}" for c, r in rates.rates.items() if c in batch["currency"])
    print(f"deminimis {__version__} demo: {s['items']:,} items in {s['consignments']:,} consignments "
          f"under {regime.id} on {on.isoformat()}")
    print(f"  generated in {t1 - t0:.2f} s; values in {', '.join(demo_currencies(cur))}")
    print(f"  exchange rates ({RATES_LABEL}): 1 {cur} = {shown}")
    if real_tariff:
        print(f"  tariff: {tariff.name} ({len(tariff)} lines, rates as published)")
    else:
        print(f"  tariff: {tariff.name}: duty is NOT assessed from a real tariff in this demo; "
              "only the regime's own duties (flat or simplified) are charged")
    print(f"  intrinsic value      {_fmt(s['intrinsic'], cur):>22}")
    print(f"  duty at the border   {_fmt(s['duty'], cur):>22}   ({s['items_duty_relief']:,} items relieved, "
          f"{s['items_flat_duty']:,} at the flat duty, {s['items_simplified_duty']:,} at the simplified duty)")
    if s["items_not_assessed"]:  # their duty 0 is not an assessed zero: the totals lack it
        print(f"  duty NOT assessed on {s['items_not_assessed']:,} items ({_fmt(s['value_not_assessed'], cur)} "
              f"customs value; {s['consignments_incomplete']:,} consignments incomplete): the totals lack their duty")
        for reason, count in list(s["not_assessed_reasons"].items())[:3]:
            print(f"    {count:>10,} items: {reason}")
    print(f"  duty collected at sale{_fmt(s['duty_at_sale'], cur):>21}   ({s['items_duty_at_sale']:,} items)")
    print(f"  import VAT at border {_fmt(s['vat'], cur):>22}   ({s['items_vat_relief']:,} items relieved, "
          f"{s['items_vat_reduced']:,} at a reduced rate)")
    print(f"  VAT collected at sale{_fmt(s['vat_at_sale'], cur):>22}   ({s['items_vat_at_sale']:,} items)")
    print(f"  fees                 {_fmt(s['fees'], cur):>22}")
    print(f"  total at the border  {_fmt(s['total'], cur):>22}")
    for label, res, secs in (("native engine:", result, t2 - t1), ("  next batch:", steady, t2b - t2)):
        print(f"  {label:<16} {s['items'] / secs / 1e6:8.2f} M items/s end to end ({secs:.3f} s: "
              f"encoding {res.timings['encode']:.3f} s, native core {res.timings['core']:.3f} s = "
              f"{s['items'] / max(res.timings['core'], 1e-9) / 1e6:.1f} M items/s on one thread)")
    print(f"  reference:       {cut / (t4 - t3) / 1e6:8.4f} M items/s on a {cut:,}-item sample ({t4 - t3:.2f} s)")
    print(f"  engine and reference agree on the sample: {'yes' if agree else 'NO'}")
    return 0 if agree else 1


def _load_tariff(spec: str) -> Tariff:
    """sample:EU | usitc:PATH | uk:PATH[:ukgt|cet] | PATH.csv | PATH.parquet (our schema)."""
    kind, _, rest = spec.partition(":")
    if kind == "sample":
        return sample(rest)
    if kind == "usitc":
        return Tariff.from_usitc_csv(rest)
    if kind == "uk":
        path, _, column = rest.rpartition(":") if rest.endswith((":ukgt", ":cet")) else (rest, "", "ukgt")
        return Tariff.from_uk_global_tariff_csv(path, column=column)
    if spec.endswith(".parquet"):
        return Tariff.from_parquet(spec)
    return Tariff.from_csv(spec)


def assess_file(args: argparse.Namespace) -> int:
    """Assess a Parquet file of items batch by batch and write the amounts to another."""
    from .stream import assess_parquet
    on = _dt.datetime.fromisoformat(args.on) if args.on else None
    regime = regimes.load(args.regime) if args.regime.endswith(".toml") else regimes.get(args.regime, on=on)
    rates = None
    if args.rate:
        pairs = dict(r.split("=", 1) for r in args.rate)
        rates = ExchangeRates(pairs, base=regime.currency, quote=args.quote)
    summary = assess_parquet(args.source, args.destination, regime=regime, tariff=_load_tariff(args.tariff),
                             rates=rates, on=on, amounts=args.amounts, batch_rows=args.batch_rows,
                             n_threads=args.threads, progress=not args.quiet)
    cur = summary["currency"]
    print(f"assessed {summary['items']:,} items in {summary['consignments']:,} consignments under {regime.id}")
    for k in ("intrinsic", "customs_value", "duty", "duty_at_sale", "vat", "vat_at_sale", "fees", "total"):
        print(f"  {k:<14}{_fmt(summary[k], cur):>26}")
    if summary.get("items_cannot_assess"):
        print(f"  {summary['items_cannot_assess']:,} items could not be assessed (their duty is NOT zero: see 'rule')")
    return 0


def list_regimes(args: argparse.Namespace) -> int:
    """One line per built-in regime: id, jurisdiction, validity interval, name."""
    for x in regimes.available():
        print(f"{x['id']:<24} {x['jurisdiction']:<4} {x['valid_from']:<20} {x['valid_to']:<20} {x['name']}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="deminimis", description=__doc__.split("\n\n")[0])
    p.add_argument("--version", action="version", version=f"deminimis {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    d = sub.add_parser("demo", help="assess a synthetic batch of parcels and print totals and speed")
    d.add_argument("--items", type=int, default=1_000_000)
    d.add_argument("--regime", default="EU", help="built-in regime id or jurisdiction (default EU); "
                   "see `deminimis regimes`")
    d.add_argument("--on", default=None, help="assessment date or local date-time, ISO (default 2026-11-28, "
                   "or the first day of a regime id not in force then)")
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--reference-sample", type=int, default=20_000)
    d.set_defaults(func=demo)
    r = sub.add_parser("regimes", help="list the built-in regimes")
    r.set_defaults(func=list_regimes)
    a = sub.add_parser("assess", help="assess a Parquet file of items, batch by batch, into another")
    a.add_argument("source", help="Parquet file with the columns of docs/semantics.md")
    a.add_argument("destination", help="Parquet file to write: one row per item, amounts and rule bits")
    a.add_argument("--regime", required=True, help="built-in regime id or jurisdiction, or a TOML file")
    a.add_argument("--tariff", required=True,
                   help="sample:EU | usitc:PATH | uk:PATH[:ukgt|cet] | PATH.csv | PATH.parquet (our schema)")
    a.add_argument("--on", default=None, help="assessment date (or local date-time), ISO")
    a.add_argument("--rate", action="append", default=[], metavar="CUR=RATE",
                   help="exchange rate into the regime's currency (repeat per currency)")
    a.add_argument("--quote", default="foreign_per_base", choices=["foreign_per_base", "base_per_foreign"])
    a.add_argument("--amounts", default="decimal", choices=["decimal", "minor"])
    a.add_argument("--batch-rows", type=int, default=1_000_000)
    a.add_argument("--threads", type=int, default=1)
    a.add_argument("--quiet", action="store_true", help="no progress line")
    a.set_defaults(func=assess_file)
    args = p.parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
