"""How the built-in sample tariffs (``data/*_sample.csv``) are made, and from what.

Each sample holds every rated line under the six-digit headings most common in
e-commerce parcels (``HEADINGS``), with its measures exactly as published, its units
and description, and a ``source`` on every row naming the file, edition and column.
They are for the demo and the docs, not for clearance: a real assessment loads the
full official table.

Regenerate from the official files (``../shared/data`` beside the project)::

    python -m deminimis.tariff.samples ../shared/data

``tests/test_tariff_samples.py`` checks every built-in rate against those files.
"""

from __future__ import annotations

import csv
import os
import sys
from typing import Any

#: six-digit headings by category (HS 2017 for the EU/UK 2021 files, HS 2022 for the US 2026 file;
#: a heading absent from one nomenclature, e.g. 851712 vs 851713, is simply not in that sample)
HEADINGS: dict[str, tuple[str, ...]] = {
    "apparel": ("610910", "610990", "611020", "611030", "610462", "611595", "611610", "620342", "620443",
                "620462", "620520", "621410", "650500"),
    "footwear": ("640299", "640399", "640411", "640419"),
    "bags": ("420221", "420222", "420231", "420232", "420292"),
    "jewellery": ("711311", "711319", "711719", "711790"),
    "watches": ("910211", "910212", "910219", "911310"),
    "phones and computers": ("847130", "847160", "850440", "851712", "851713", "851762", "851830", "852351",
                             "852852"),
    "toys and games": ("950300", "950450"),
    "cosmetics": ("330300", "330410", "330420", "330499", "330510"),
    "books": ("490199",),
    "sporting goods": ("950662", "950691", "950699"),
    "home goods": ("392690", "420500", "630231", "691200", "732393", "851631", "900410", "940540", "940542"),
}

UK_FILE = ("uk_global_tariff", "global-uk-tariff.csv")
US_FILE = ("us_hts", "hts_2026_revision_3_csv.csv")
UK_REPO = "uktrade/global-uk-tariff @ ab1e6029, global-uk-tariff.csv"

#: jurisdiction -> (file under ../shared/data, loader keyword arguments, citation, output file)
SAMPLES: dict[str, tuple[tuple[str, str], dict[str, Any], str, str]] = {
    "EU": (UK_FILE, {"column": "cet"},
           f"EU Common External Tariff 2020, cet_duty_rate column of the UK Global Tariff dataset ({UK_REPO})",
           "eu_cet_2020_sample.csv"),
    "UK": (UK_FILE, {"column": "ukgt"},
           f"UK Global Tariff in force from 2021-01-01, ukgt_duty_rate column ({UK_REPO})",
           "uk_global_tariff_2021_sample.csv"),
    "US": (US_FILE, {},
           "USITC Harmonized Tariff Schedule 2026 Revision 3, official CSV export (hts_2026_revision_3_csv.csv)",
           "us_hts_2026r3_sample.csv"),
}


def all_headings() -> list[str]:
    return sorted({h for hs in HEADINGS.values() for h in hs})


def load_official(jurisdiction: str, shared_data: str, *, cite: bool = True) -> Any:
    """The full official tariff the sample of `jurisdiction` is drawn from."""
    from .table import Tariff
    (folder, fname), kwargs, citation, _ = SAMPLES[jurisdiction]
    path = os.path.join(shared_data, folder, fname)
    if folder == "us_hts":
        return Tariff.from_usitc_csv(path, cite=citation if cite else None, **kwargs)
    return Tariff.from_uk_global_tariff_csv(path, cite=citation if cite else None, **kwargs)


def sample_records(jurisdiction: str, shared_data: str) -> list[dict[str, str]]:
    """The sample's records: every rated line under HEADINGS, measures as published."""
    full = load_official(jurisdiction, shared_data)
    heads = tuple(all_headings())
    out: list[dict[str, str]] = []
    for code in sorted({m.code for m in full.measures() if m.code.startswith(heads)}):
        recs = [m.record() for m in full.measures(code)]
        units = full.units(code)
        if units:
            recs[0]["units"] = ";".join(units)
        if full.description(code):
            recs[0]["description"] = full.description(code)
        out.extend(recs)
    return out


def write_samples(shared_data: str, out_dir: str | None = None) -> None:
    from .table import RECORD_KEYS
    out_dir = out_dir or os.path.join(os.path.dirname(__file__), "data")
    cols = [k for k in RECORD_KEYS if k != "origins"]
    for jur, (_, _, _, fname) in SAMPLES.items():
        recs = sample_records(jur, shared_data)
        used = [c for c in cols if any(c in r for r in recs)]
        with open(os.path.join(out_dir, fname), "w", newline="", encoding="utf-8") as f:
            w = csv.DictWriter(f, fieldnames=used, lineterminator="\n")
            w.writeheader()
            w.writerows(recs)
        print(f"{fname}: {len(recs)} records, {len({r['code'] for r in recs})} lines")


if __name__ == "__main__":  # pragma: no cover
    write_samples(sys.argv[1] if len(sys.argv) > 1 else os.path.join("..", "shared", "data"))
