"""The benchmark workload: a seeded, realistic batch of e-commerce parcels.

One generator feeds every implementation (engine, reference, numpy, polars,
floor), so that they all read the same items:

- 1 to 5 items per consignment (mean ~1.9), items of a consignment adjacent,
  consignment ids as real manifests have them (``"CN2026112800001234"``:
  sender country, date, an unsorted serial);
- a few thousand 10-digit tariff codes with Zipf-like popularity, drawn from
  the ad valorem lines of the EU Common External Tariff column of the UK
  Global Tariff file (``../shared/data``) when it is present, else from a
  generated set of the same shape; a few books (VAT reduced rate) and spirits
  (excluded from collection at sale) are always among them;
- item values lognormal with a median near EUR 20, in EUR, USD, GBP or CNY
  (one currency per consignment) with exact ECB-style rates; freight per
  consignment in its currency; IOSS (collected at sale) on ~75% of
  consignments; five member states of destination; origins.

Amounts are int64 minor units of their currency (``amounts="minor"``).  The
integer form (``Workload.ints``) is what the generator drew; the string form
(``Workload.columns()``, ``Workload.table()``) is what files hold and what
``deminimis.assess`` and the baselines' encoders read.

    >>> w = generate(1_000_000, seed=0)
    >>> deminimis.assess(w.table(), **w.assess_kwargs())
"""

from __future__ import annotations

import csv
import datetime as _dt
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

import deminimis

#: the assessment date: the EU regime in force from 2026-07-01 (EUR 3 flat duty, IOSS)
ON = _dt.date(2026, 11, 28)
CURRENCIES = ("EUR", "USD", "GBP", "CNY")
CURRENCY_P = (0.35, 0.25, 0.10, 0.30)
#: ECB-style: foreign units per EUR (illustrative, exact decimals)
RATES = {"USD": "1.0876", "GBP": "0.8530", "CNY": "7.8012"}
DESTINATIONS = ("DE", "FR", "IT", "ES", "NL")
DESTINATION_P = (0.35, 0.25, 0.15, 0.15, 0.10)
ORIGINS = ("CN", "US", "GB", "TR", "IN")
ORIGIN_P = (0.60, 0.12, 0.10, 0.10, 0.08)
ITEMS_PER_CONSIGNMENT_P = (0.50, 0.25, 0.12, 0.08, 0.05)  # 1..5 items
AT_SALE_P = 0.75
N_CODES = 3000
ZIPF_S = 1.1

UK_TARIFF_CSV = Path(__file__).resolve().parents[2] / "shared" / "data" / "uk_global_tariff" / "global-uk-tariff.csv"
_AD_VALOREM = re.compile(r"\s*(\d+(?:\.\d+)?)\s*%\s*")
#: code prefixes always represented: books (reduced VAT) and spirits/tobacco (no IOSS)
_FORCED_PREFIXES = ("4901", "2208", "2402")


@dataclass(frozen=True)
class CodeTable:
    """Distinct 10-digit codes with their ad valorem duty (``"6.5%"``), in popularity order."""

    codes: tuple[str, ...]
    duties: tuple[str, ...]
    source: str

    def tariff(self) -> deminimis.Tariff:
        return deminimis.Tariff.from_records(
            [{"code": c, "duty": d} for c, d in zip(self.codes, self.duties)], name=f"benchmark:{self.source}")


def _real_ad_valorem_lines(path: Path) -> list[tuple[str, str]]:
    """(10-digit code, "x%") for the CET ad valorem lines of the UK Global Tariff file."""
    seen: dict[str, str] = {}
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            m = _AD_VALOREM.fullmatch(row.get("cet_duty_rate") or "")
            code = (row.get("commodity") or "").strip()
            if not m or not code.isdigit() or len(code) not in (8, 10):
                continue
            seen.setdefault(code.ljust(10, "0"), f"{m.group(1)}%")
    return sorted(seen.items())


def _generated_lines(rng: np.random.Generator, n: int) -> list[tuple[str, str]]:
    """A stand-in for the real file: n distinct 10-digit codes over chapters 01-97."""
    pct = ["0%", "2.7%", "3.7%", "4%", "6.5%", "8%", "12%", "1.7%", "5.5%", "17%"]
    out: dict[str, str] = {}
    for p in _FORCED_PREFIXES:
        for k in range(3):
            out[f"{p}{k:02d}0000"] = "0%"
    while len(out) < n:
        ch = int(rng.integers(1, 98))
        code = f"{ch:02d}{int(rng.integers(0, 10**6)):06d}{int(rng.integers(0, 100)):02d}"
        out.setdefault(code, pct[int(rng.integers(0, len(pct)))])
    return sorted(out.items())


def code_table(n_codes: int = N_CODES, seed: int = 0, path: Path | None = UK_TARIFF_CSV) -> CodeTable:
    """n_codes distinct codes, shuffled into a popularity order (most popular first)."""
    rng = np.random.default_rng([seed, 1])
    if path is not None and Path(path).is_file():
        lines, source = _real_ad_valorem_lines(Path(path)), "uk-global-tariff.csv:cet_duty_rate"
    else:
        lines, source = _generated_lines(rng, max(n_codes, 64)), "generated"
    forced = [i for p in _FORCED_PREFIXES for i in [k for k, (c, _) in enumerate(lines) if c.startswith(p)][:3]]
    rest = np.setdiff1d(np.arange(len(lines)), forced)
    pick = rng.choice(rest, size=min(n_codes, len(lines)) - len(forced), replace=False)
    order = rng.permutation(np.concatenate([pick, forced]))
    # the forced codes are moderately popular (ranks 50-80), so every batch of 20k items has them
    order = [int(i) for i in order if i not in forced]
    for k, i in enumerate(forced):
        order.insert(50 + 3 * k, i)
    return CodeTable(codes=tuple(lines[i][0] for i in order), duties=tuple(lines[i][1] for i in order),
                     source=source)


def _ascii_fixed(prefix: np.ndarray, number: np.ndarray, digits: int) -> np.ndarray:
    """Fixed-width bytes ``prefix + zero-padded number``, vectorised (no Python per item)."""
    n = len(number)
    width = prefix.dtype.itemsize + digits
    buf = np.empty((n, width), dtype=np.uint8)
    buf[:, :prefix.dtype.itemsize] = prefix.view(np.uint8).reshape(n, -1)
    x = number.astype(np.int64)
    for k in range(digits - 1, -1, -1):
        buf[:, prefix.dtype.itemsize + k] = ord("0") + x % 10
        x //= 10
    return buf.view(f"S{width}").reshape(n)


@dataclass
class Workload:
    """A generated batch: integer form (as drawn) plus lazily built string forms."""

    seed: int
    codes: CodeTable
    ints: dict[str, np.ndarray]         # per item: cons, code, cur, dest, origin, at_sale, value, freight
    cons_serial: np.ndarray             # per consignment: the id's serial number
    first_consignment: int = 0
    regime: Any = field(default=None, repr=False)
    tariff: Any = field(default=None, repr=False)
    rates: Any = field(default=None, repr=False)

    @property
    def n_items(self) -> int:
        return len(self.ints["value"])

    @property
    def n_cons(self) -> int:
        return len(self.cons_serial)

    def assess_kwargs(self) -> dict[str, Any]:
        return {"regime": self.regime, "tariff": self.tariff, "rates": self.rates, "on": ON, "amounts": "minor"}

    # -- string forms ---------------------------------------------------------
    @cached_property
    def _bytes(self) -> dict[str, np.ndarray]:
        i = self.ints
        origin_of_cons = i["origin"][np.r_[0, np.flatnonzero(np.diff(i["cons"])) + 1]] if self.n_items else i["origin"]
        prefix = np.array([o.encode() for o in ORIGINS], dtype="S2")[origin_of_cons]
        date = np.full(self.n_cons, ON.strftime("%Y%m%d").encode(), dtype="S8")
        pre = np.empty(self.n_cons, dtype="S10")
        pre_u8 = pre.view(np.uint8).reshape(self.n_cons, 10) if self.n_cons else None
        if self.n_cons:
            pre_u8[:, :2] = prefix.view(np.uint8).reshape(self.n_cons, 2)
            pre_u8[:, 2:] = date.view(np.uint8).reshape(self.n_cons, 8)
        cons_id = _ascii_fixed(pre, self.cons_serial, 8)
        return {
            "consignment": cons_id[i["cons"]],
            "hs_code": np.array([c.encode() for c in self.codes.codes], dtype="S10")[i["code"]],
            "currency": np.array([c.encode() for c in CURRENCIES], dtype="S3")[i["cur"]],
            "destination": np.array([d.encode() for d in DESTINATIONS], dtype="S2")[i["dest"]],
            "origin": np.array([o.encode() for o in ORIGINS], dtype="S2")[i["origin"]],
        }

    def columns(self) -> dict[str, np.ndarray]:
        """Dict of numpy arrays: strings as fixed-width unicode (``<U18``...), amounts int64 minor units."""
        cols = {k: v.astype(f"U{v.dtype.itemsize}") for k, v in self._bytes.items()}
        cols.update(value=self.ints["value"], freight=self.ints["freight"],
                    collected_at_sale=self.ints["at_sale"])
        return {k: cols[k] for k in COLUMN_ORDER}

    def table(self):
        """A pyarrow Table with string ids and codes, as read from a Parquet or CSV file."""
        import pyarrow as pa
        arrays = {k: pa.array(v).cast(pa.string()) for k, v in self._bytes.items()}
        arrays.update(value=pa.array(self.ints["value"]), freight=pa.array(self.ints["freight"]),
                      collected_at_sale=pa.array(self.ints["at_sale"]))
        return pa.table({k: arrays[k] for k in COLUMN_ORDER})

    def head(self, k: int) -> Workload:
        """The first whole consignments covering at least k items (a sample for the reference)."""
        if k >= self.n_items:
            return self
        last = self.ints["cons"][k - 1]
        cut = int(np.searchsorted(self.ints["cons"], last, side="right"))
        return Workload(seed=self.seed, codes=self.codes, ints={n: a[:cut] for n, a in self.ints.items()},
                        cons_serial=self.cons_serial[:last + 1], first_consignment=self.first_consignment,
                        regime=self.regime, tariff=self.tariff, rates=self.rates)


COLUMN_ORDER = ("consignment", "hs_code", "value", "currency", "origin", "freight", "collected_at_sale",
                "destination")


def _scramble(k: np.ndarray) -> np.ndarray:
    """A bijection of [0, 10^8): unique, unsorted serial numbers for consignment ids."""
    return (k.astype(np.int64) * 48_271_211 + 12_345_679) % 100_000_000


def regime_tariff_rates(codes: CodeTable):
    regime = deminimis.regimes.get("EU", on=ON)
    return regime, codes.tariff(), deminimis.ExchangeRates(RATES, base="EUR")


def generate(n_items: int, seed: int = 0, *, codes: CodeTable | None = None, first_consignment: int = 0,
             context: tuple[Any, Any, Any] | None = None) -> Workload:
    """n_items items in whole consignments (the last one may be cut short), reproducible from seed.

    ``first_consignment`` numbers the consignments on from an earlier chunk (ids stay unique),
    and the chunk's randomness is drawn from (seed, first_consignment).
    """
    codes = codes or code_table(seed=seed)
    rng = np.random.default_rng([seed, 2, first_consignment])
    sizes = rng.choice(np.arange(1, 6), size=n_items, p=ITEMS_PER_CONSIGNMENT_P)  # more than enough
    ends = np.cumsum(sizes)
    n_cons = int(np.searchsorted(ends, n_items)) + 1 if n_items else 0
    cons = np.repeat(np.arange(n_cons, dtype=np.int64), sizes[:n_cons])[:n_items]

    pop = 1.0 / np.arange(1, len(codes.codes) + 1) ** ZIPF_S
    code = rng.choice(len(codes.codes), size=n_items, p=pop / pop.sum()).astype(np.int32)
    cur_c = rng.choice(len(CURRENCIES), size=n_cons, p=CURRENCY_P).astype(np.int8)
    dest_c = rng.choice(len(DESTINATIONS), size=n_cons, p=DESTINATION_P).astype(np.int8)
    origin_c = rng.choice(len(ORIGINS), size=n_cons, p=ORIGIN_P).astype(np.int8)
    at_sale_c = rng.random(n_cons) < AT_SALE_P
    # values: lognormal with a median of EUR 20, drawn in the consignment's currency
    eur_per = np.array([1.0] + [float(RATES[c]) for c in CURRENCIES[1:]])
    major = rng.lognormal(mean=np.log(20.0), sigma=1.1, size=n_items) * eur_per[cur_c[cons]]
    value = np.maximum(1, np.rint(major * 100)).astype(np.int64)
    # freight: free on 40% of consignments, else lognormal around 5 units of its currency
    fr = np.where(rng.random(n_cons) < 0.4, 0.0, rng.lognormal(np.log(5.0), 0.6, size=n_cons)) * eur_per[cur_c]
    freight = np.rint(fr * 100).astype(np.int64)
    ints = {
        "cons": cons, "code": code, "cur": cur_c[cons], "dest": dest_c[cons],
        "origin": origin_c[cons], "at_sale": at_sale_c[cons], "value": value, "freight": freight[cons],
    }
    regime, tariff, rates = context or regime_tariff_rates(codes)
    serial = _scramble(np.arange(first_consignment, first_consignment + n_cons))
    return Workload(seed=seed, codes=codes, ints=ints, cons_serial=serial, first_consignment=first_consignment,
                    regime=regime, tariff=tariff, rates=rates)


def chunks(n_items: int, chunk_items: int, seed: int = 0) -> Iterator[Workload]:
    """The workload of n_items in chunks of whole consignments (for out-of-core runs)."""
    codes = code_table(seed=seed)
    context = regime_tariff_rates(codes)
    done, first = 0, 0
    while done < n_items:
        w = generate(min(chunk_items, n_items - done), seed, codes=codes, first_consignment=first, context=context)
        yield w
        done += w.n_items
        first += w.n_cons
