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
import re
import sys
import time
import traceback
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation, localcontext
from typing import Any, NoReturn

import numpy as np

from . import __version__, reference, regimes
from .arguments import candidate_regimes
from .assessment import ITEM_AMOUNTS
from .engine import assess
from .errors import DeminimisError, InputError
from .money import CURRENCY_EXPONENTS, exponent
from .rates import RULES, DatedRates, ExchangeRates
from .regimes import Regime
from .tariff import Tariff, sample
from .tariff.nomenclature import EDITIONS
from .tariff.table import AMBIGUOUS_MODES


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
        name = f"every line Free ({len(hs6)} HS subheadings; no sample tariff for {country})"
        return Tariff.from_records([{"code": c, "duty": "Free"} for c in hs6], name=name), False


def demo_transports(regime: Regime) -> list[str]:
    """The transports the regime's rules and fees name, with post and courier."""
    named = {t for r in [*regime.rules(), *regime.fees] if r.transports for t in r.transports}  # type: ignore[attr-defined]
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


class UsageError(DeminimisError):
    """A command-line argument that cannot be used: exit status 2 with one line on stderr."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, not the usage block, and no SystemExit
        raise UsageError(message)


ON_FORMAT = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_on(text: str) -> _dt.date:
    """--on: a calendar date, YYYY-MM-DD."""
    try:
        if ON_FORMAT.fullmatch(text):
            return _dt.date.fromisoformat(text)
    except ValueError:
        pass
    raise UsageError(f"--on {text!r}: give the assessment date as YYYY-MM-DD (e.g. 2026-11-28)")


def parse_rates(pairs: Sequence[str]) -> dict[str, Decimal]:
    """--rate CUR=decimal, once per currency."""
    rates: dict[str, Decimal] = {}
    for pair in pairs:
        cur, sep, text = pair.partition("=")
        if not sep or cur not in CURRENCY_EXPONENTS:
            raise UsageError(f"--rate {pair!r}: give CUR=decimal with an ISO 4217 currency (e.g. USD=1.0876)")
        try:
            rate = Decimal(text)
        except InvalidOperation:
            rate = Decimal("NaN")
        if not rate.is_finite() or rate <= 0:
            raise UsageError(f"--rate {pair!r}: the rate must be a positive decimal number")
        if cur in rates:
            raise UsageError(f"--rate {cur} is given twice")
        rates[cur] = rate
    return rates


RATES_FORMATS = ("ecb", "hmrc", "boc", "csv")


def exchange_rates(args: argparse.Namespace, currency: str) -> ExchangeRates | DatedRates | None:
    """--rate CUR=RATE (one day's rates) or --rates FILE --rates-format F [--rates-rule R] (dated rates)."""
    from .rates_loaders import LOADERS
    rates = parse_rates(args.rate)
    files = getattr(args, "rates", None) or []
    if not files:
        if getattr(args, "rates_format", None) or getattr(args, "rates_rule", None):
            raise UsageError("--rates-format and --rates-rule go with --rates FILE")
        return ExchangeRates(rates, base=currency, quote=args.quote) if rates else None
    if rates:
        raise UsageError("give --rate CUR=RATE or --rates FILE, not both")
    if args.rates_format is None:
        raise UsageError(f"--rates {files[0]}: give its format, --rates-format {'|'.join(RATES_FORMATS)}")
    if len(files) > 1 and args.rates_format != "hmrc":
        raise UsageError("--rates is given once, except for HMRC's monthly files (one per month)")
    rule = {"rule": args.rates_rule} if args.rates_rule else {}
    if args.rates_format == "hmrc":
        return LOADERS["hmrc"](files, **rule)
    if args.rates_format == "csv":
        return LOADERS["csv"](files[0], base=currency, quote=args.quote, **rule)
    return LOADERS[args.rates_format](files[0], **rule)


def positive(option: str, value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        n = 0
    if n <= 0:
        raise UsageError(f"{option} {value!r}: give a positive whole number")
    return n


TARIFF_SPEC = "sample:EU | usitc:PATH | uk:PATH[:ukgt|cet] | PATH.csv | PATH.parquet (our schema)"


def load_tariff(spec: str) -> Tariff:
    """A tariff named on the command line (TARIFF_SPEC)."""
    kind, _, rest = spec.partition(":")
    if kind == "sample":
        try:
            return sample(rest)
        except KeyError:
            raise UsageError(f"--tariff {spec!r}: no sample tariff for {rest!r}") from None
    if kind in ("usitc", "uk") and not rest:
        raise UsageError(f"--tariff {spec!r}: give a file after {kind}: ({TARIFF_SPEC})")
    if kind == "usitc":
        return Tariff.from_usitc_csv(rest)
    if kind == "uk":
        path, _, column = rest.rpartition(":") if rest.endswith((":ukgt", ":cet")) else (rest, "", "ukgt")
        return Tariff.from_uk_global_tariff_csv(path, column=column)
    if spec.endswith(".parquet"):
        return Tariff.from_parquet(spec)
    if spec.endswith(".csv"):
        return Tariff.from_csv(spec)
    raise UsageError(f"--tariff {spec!r}: not one of {TARIFF_SPEC}")


def _fmt_summary(summary: dict[str, Any], regime_id: str) -> list[str]:
    cur = summary["currency"]
    lines = [f"assessed {summary['items']:,} items in {summary['consignments']:,} consignments under {regime_id}"]
    lines += [f"  {k:<14}{_fmt(summary[k], cur):>26}" for k in ITEM_AMOUNTS]
    n = summary["items_cannot_assess"]
    lines.append(f"  {n:,} items could not be assessed, of value {_fmt(summary['intrinsic_cannot_assess'], cur)}: "
                 "their duty is NOT zero and is not in the totals above (see 'rule')" if n else
                 "  every item's duty was assessed (no item met a tariff line that cannot be evaluated)")
    return lines


def assess_file(args: argparse.Namespace) -> int:
    """Assess a file of items batch by batch and write one row of amounts per item to another."""
    from . import fileio, stream
    on = parse_on(args.on) if args.on is not None else None
    batch_rows = positive("--batch-rows", args.batch_rows)
    threads = positive("--threads", args.threads)
    fileio.format_of(args.destination, args.format)  # an unknown extension is an error before any work
    with fileio.ItemFile(args.source, args.input_format) as items:  # only to check the columns first
        if on is None and items.columns is not None and "date" not in items.columns:
            raise UsageError(f"{args.source} has no 'date' column: give --on or a date column")
    # without --on, a jurisdiction's version is chosen per row by its date (never "today")
    regime: Any = regimes.load(args.regime) if args.regime.endswith(".toml") else (
        regimes.get(args.regime, on=on) if on is not None else args.regime)
    currency = candidate_regimes(regime, on)[0].currency
    tariff = tariff_of(args)
    exchange = exchange_rates(args, currency)
    try:
        summary = stream.assess_file(args.source, args.destination, regime=regime, tariff=tariff, rates=exchange,
                                     on=on, amounts=args.amounts, batch_rows=batch_rows, n_threads=threads,
                                     progress=not args.quiet, input_format=args.input_format,
                                     output_format=args.format, keep=args.keep, major_units=args.major_units,
                                     errors=args.errors, ambiguous=args.ambiguous)
    except InputError as exc:  # rows below are 0-based positions; the user counts data rows from 1
        raise stream.shift_rows(exc, 1) from exc
    print("\n".join(_fmt_summary(summary, summary["provenance"].get("regime", ""))))
    if args.errors == "flag":
        bad = {e.row for e in summary["errors"]}
        print(f"{len(summary['errors']):,} problems on {len(bad):,} rows; their consignments were not assessed "
              f"(see {fileio.errors_path(args.destination)})")
    return 0


def _whole_file(path: str, fmt: str | None) -> Any:
    """A file of items read whole, as one pyarrow Table (the audit commands work in memory)."""
    import pyarrow as pa

    from . import fileio
    with fileio.ItemFile(path, fmt) as f:
        return pa.concat_tables(list(f.batches(1 << 20)))


def _common(args: argparse.Namespace) -> dict[str, Any]:
    """regime, tariff, rates and on of the audit and simulate commands."""
    on = parse_on(args.on)
    regime = regimes.load(args.regime) if args.regime.endswith(".toml") else regimes.get(args.regime, on=on)
    return {"regime": regime, "tariff": tariff_of(args), "on": on, "amounts": args.amounts,
            "rates": exchange_rates(args, regime.currency), "ambiguous": args.ambiguous}


def audit_file(args: argparse.Namespace) -> int:
    """Reconcile declarations, flag risks, and write report.html and its tables to a folder."""
    from . import audit, report, risk
    from .thresholds import consignment_limits
    kw = _common(args)
    declared = dict(pair.partition("=")[::2] for pair in args.declared)
    items = _whole_file(args.source, args.input_format)
    rec = audit.reconcile(items, declared=declared, tolerance=args.tolerance, group_by=args.group_by, keep=args.keep,
                          **kw)
    flags = risk.flags(items, result=rec.assessment, keep=list(rec.assessment.kept), **kw)
    thresholds = sorted({t for (_, t) in consignment_limits(kw["regime"])})
    tables = {"reconciliation_by_class": [{"class": c, "consignments": int((rec.consignment_classes == i).sum()),
                                           "items": rec.counts[c], "difference": rec.totals[c]}
                                          for i, c in enumerate(audit.CLASSES)],
              **{f"by_{g.replace('*', '_')}": rec.group_table(g) for g in args.group_by},
              "risk_counts": [{"flag": k, "items": v} for k, v in flags.counts().items()]}
    figures = {"reconciliation": report.reconciliation_figure(rec),
               "values around the thresholds": report.values_figure(rec.assessment.consignments["intrinsic"],
                                                                    thresholds, rec.currency)}
    for path in report.write_report(args.folder, f"Audit of {args.source}", figures, tables,
                                    {"reconciliation": rec.provenance, "risk": flags.provenance},
                                    table_format=args.tables):
        print(path)
    return 0


def simulate_file(args: argparse.Namespace) -> int:
    """The threshold curve of a file of items, as report.html and threshold_curve.csv in a folder."""
    from . import analysis, report
    kw = _common(args)
    curve = analysis.threshold_curve(_whole_file(args.source, args.input_format), relief=args.relief or "duty_relief",
                                     thresholds=args.thresholds.split(","), keep=args.keep, **kw)
    for path in report.write_report(args.folder, f"Threshold simulation of {args.source}",
                                    {"threshold curve": report.threshold_curve_figure(curve)},
                                    {"threshold_curve": curve.rows()}, curve.provenance, table_format=args.tables):
        print(path)
    return 0


def _where(exc: BaseException, args: argparse.Namespace | None) -> str:
    """The file an input error is in, as a prefix for its message."""
    source = getattr(args, "source", None)
    return f"{source}: " if isinstance(exc, InputError) and source else ""


def list_regimes(args: argparse.Namespace) -> int:
    """One line per built-in regime: id, jurisdiction, validity interval, name."""
    for x in regimes.available():
        print(f"{x['id']:<24} {x['jurisdiction']:<4} {x['valid_from']:<20} {x['valid_to']:<20} {x['name']}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; exit status 0 on success, 2 for a user error (one line on stderr, with the
    traceback under --debug), 1 for a bug in the library (with its traceback)."""
    args: argparse.Namespace | None = None
    try:
        args = _parser().parse_args(argv)
        return int(args.func(args) or 0)
    except (DeminimisError, OSError) as exc:  # bad argument, bad input data, unreadable file
        if getattr(args, "debug", False):
            traceback.print_exc()
        text = str(exc) if not isinstance(exc, OSError) or not exc.filename else f"{exc.filename}: {exc.strerror}"
        print(f"deminimis: error: {_where(exc, args)}{text}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("deminimis: interrupted; nothing was written", file=sys.stderr)
        return 130
    except Exception:  # anything else is a bug in the library, not in the user's input
        traceback.print_exc()
        print("deminimis: internal error (a bug in deminimis: please report it with the traceback above)",
              file=sys.stderr)
        return 1


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="deminimis", description=__doc__.split("\n\n")[0])
    p.add_argument("--version", action="version", version=f"deminimis {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
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
    a = sub.add_parser("assess", help="assess a file of items, batch by batch, into another")
    a.add_argument("source", help="items: Parquet, CSV or JSON Lines with the columns of docs/semantics.md")
    a.add_argument("destination", help="file to write, whole or not at all: one row per item (row, consignment, "
                   "amounts, rule); format by extension (.parquet/.pq, .csv, .jsonl/.ndjson) or --format")
    a.add_argument("--regime", required=True, help="built-in regime id or jurisdiction, or a TOML file")
    a.add_argument("--tariff", required=True, help=TARIFF_SPEC)
    a.add_argument("--on", default=None, help="assessment date, YYYY-MM-DD (optional only with a 'date' column)")
    rate_options(a)
    a.add_argument("--amounts", default="decimal", choices=["decimal", "minor"],
                   help="input amounts in major units (exact decimals) or integer minor units")
    a.add_argument("--input-format", choices=fileio_formats(), help="the source's format (default: by extension)")
    a.add_argument("--format", choices=fileio_formats(), help="the destination's format (default: by extension)")
    a.add_argument("--keep", action="append", default=[], metavar="COL",
                   help="copy this input column to the output unchanged (repeatable)")
    a.add_argument("--major-units", action="store_true",
                   help="write amounts as exact decimals in major units (Parquet decimal128, text in CSV/JSON "
                   "Lines) instead of integer minor units")
    a.add_argument("--batch-rows", default="1000000", help="rows per batch (memory is bounded per batch)")
    a.add_argument("--threads", default="1", help="threads for the native core")
    a.add_argument("--quiet", action="store_true", help="no progress line")
    a.add_argument("--debug", action="store_true", help="print the traceback of an error too")
    code_options(a)
    a.add_argument("--errors", choices=["raise", "flag"], default="raise",
                   help="raise: stop at the first bad row (default); flag: assess the valid consignments and "
                        "write every problem to DEST.errors.csv")
    a.set_defaults(func=assess_file)
    for name, func, text in (("audit", audit_file, "reconcile declarations and flag risks: an HTML report and "
                              "tables"), ("simulate", simulate_file, "revenue by de minimis threshold: an HTML "
                                          "report and the curve as CSV")):
        c = sub.add_parser(name, help=text)
        c.add_argument("source", help="items: Parquet, CSV or JSON Lines")
        c.add_argument("folder", help="folder for report.html, the tables (CSV) and provenance.json")
        c.add_argument("--regime", required=True)
        c.add_argument("--tariff", required=True, help=TARIFF_SPEC)
        c.add_argument("--on", required=True, help="assessment date, YYYY-MM-DD")
        rate_options(c)
        code_options(c)
        c.add_argument("--amounts", default="decimal", choices=["decimal", "minor"])
        c.add_argument("--tables", default="csv", choices=table_formats(),
                       help="format of the tables written beside report.html (default csv)")
        c.add_argument("--input-format", choices=fileio_formats())
        c.add_argument("--keep", action="append", default=[], metavar="COL", help="another column of SOURCE")
        c.add_argument("--debug", action="store_true")
        c.set_defaults(func=func)
        if name == "audit":
            c.add_argument("--declared", action="append", required=True, metavar="AMOUNT=COLUMN",
                           help="duty=declared_duty, vat=..., relief=... (repeat)")
            c.add_argument("--tolerance", default=None, help="rounding tolerance per item and amount")
            c.add_argument("--group-by", action="append", default=[], help="chapter, origin, month, a column...")
        else:
            c.add_argument("--thresholds", required=True, help="comma-separated thresholds, e.g. 0,50,100,150")
            c.add_argument("--relief", action="append", default=None, help="rule key (default duty_relief)")
    return p


def code_options(p: argparse.ArgumentParser) -> None:
    """How item codes meet the tariff, for every command that assesses."""
    p.add_argument("--ambiguous", choices=AMBIGUOUS_MODES, default="flag",
                   help="a code that covers tariff lines with different duties: flag it not assessed (default), "
                        "refuse it (an error naming the lines), or take the highest duty (docs/semantics.md, 5)")
    p.add_argument("--hs-edition", choices=[*EDITIONS, "none"], default=None,
                   help="the HS edition of the tariff's codes: item codes are checked against it (default: the "
                        "sample's edition; none for a file)")


def tariff_of(args: argparse.Namespace) -> Tariff:
    """--tariff, with the HS edition --hs-edition gives it."""
    tariff = load_tariff(args.tariff)
    if args.hs_edition is not None:
        tariff.hs_edition = None if args.hs_edition == "none" else args.hs_edition
    return tariff


def rate_options(p: argparse.ArgumentParser) -> None:
    """The exchange-rate options of every command that assesses."""
    p.add_argument("--rate", action="append", default=[], metavar="CUR=RATE",
                   help="exchange rate into the regime's currency (repeat per currency)")
    p.add_argument("--quote", default="foreign_per_base", choices=["foreign_per_base", "base_per_foreign"])
    p.add_argument("--rates", action="append", default=[], metavar="FILE",
                   help="dated exchange rates, converted at the rates of each row's date (or --on): the ECB "
                        "history eurofxref-hist.csv, HMRC monthly CSVs (repeat per month), a Bank of Canada "
                        "Valet CSV/JSON, or a CSV currency,valid_from,valid_to,rate (in --quote)")
    p.add_argument("--rates-format", choices=RATES_FORMATS, help="the --rates file's publication")
    p.add_argument("--rates-rule", choices=RULES, help="which published rate applies on a day (default: "
                   "daily for ecb, boc and csv; uk-monthly for hmrc); eu-customs: Art. 146 IR 2015/2447")


def fileio_formats() -> tuple[str, ...]:
    from .fileio import FORMATS
    return FORMATS


def table_formats() -> tuple[str, ...]:
    from .fileio import TABLE_FORMATS
    return TABLE_FORMATS


if __name__ == "__main__":
    sys.exit(main())
