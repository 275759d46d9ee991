"""Assessing inputs larger than memory, batch by batch.

A consignment must not be split between two assessments, so the items of the
last consignment of each batch (which may continue in the next) are held back
and assessed with the next batch.  The result is identical to one pass over all
the items, provided the items of a consignment are adjacent in the input (an
export of declarations is; a shuffled file is not, and is refused as soon as a
consignment reappears, however many batches later).

Regimes whose conditions aggregate per consignee (per day or per year) need
every consignment of a consignee at once and cannot be streamed this way; they
are refused with a clear error.

Rows named in errors (``InputError.row``) are 0-based positions in the whole
input, not in a batch.

    from deminimis.stream import assess_file
    summary = assess_file("declarations.parquet", "assessed.parquet",
                          regime=regime, tariff=tariff, rates=rates, on=date)
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import numpy as np

from . import fileio
from .arguments import candidate_regimes
from .assessment import CANNOT_ASSESS, ITEM_AMOUNTS, RULES, Assessment, exact_sum, make_provenance
from .engine import assess, require_native
from .errors import InconsistentConsignmentError, InputError, RegimeError
from .money import exponent
from .partition import merge_rates_tables


class Progress:
    """A one-line progress report on stderr: items done, of how many, items per second."""

    def __init__(self, total: int | None, enabled: bool = True, stream: Any = None) -> None:
        self.total, self.enabled = total, enabled
        self.stream = stream or sys.stderr
        self.start = time.perf_counter()
        self.done = 0

    def update(self, n: int) -> None:
        self.done += n
        if not self.enabled:
            return
        elapsed = max(time.perf_counter() - self.start, 1e-9)
        rate = self.done / elapsed
        if self.total:
            pct = 100.0 * self.done / self.total
            eta = (self.total - self.done) / rate if rate else 0.0
            text = f"\rassessed {self.done:,}/{self.total:,} items ({pct:5.1f}%), {rate / 1e6:.2f} M/s, ETA {eta:.0f} s"
        else:
            text = f"\rassessed {self.done:,} items, {rate / 1e6:.2f} M/s"
        self.stream.write(text)
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()




def shift_rows(exc: InputError, offset: int) -> InputError:
    """The same error naming the input's row: a batch's row moved by `offset` (see InputError.moved)."""
    return exc.moved(lambda row: row + offset) if offset else exc


class SeenIds:
    """The consignment ids of earlier chunks as 64-bit fingerprints (Python's hash) in an
    open-addressing table, 8 bytes a slot at most half full.  A fingerprint seen before is only
    a candidate; ``confirm`` decides exactly."""

    def __init__(self) -> None:
        self.slots = np.zeros(1 << 16, dtype=np.uint64)  # 0: an empty slot
        self.count = 0

    @staticmethod
    def fingerprints(ids: list[Any]) -> np.ndarray:
        fp = np.fromiter((hash(x) for x in ids), dtype=np.int64, count=len(ids)).view(np.uint64)
        fp[fp == 0] = 1
        return fp

    def add(self, fp: np.ndarray) -> np.ndarray:
        """Insert distinct fingerprints; True where one was there already."""
        if 2 * (self.count + len(fp)) > len(self.slots):
            old = self.slots[self.slots != 0]
            size = len(self.slots)
            while 2 * (self.count + len(fp)) > size:
                size *= 2
            self.slots, self.count = np.zeros(size, dtype=np.uint64), 0
            self.add(old)
        mask = np.uint64(len(self.slots) - 1)
        pos = fp & mask
        present = np.zeros(len(fp), dtype=bool)
        todo = np.arange(len(fp))
        while len(todo):  # linear probing, all pending keys one step per round
            slot = self.slots[pos[todo]]
            present[todo[slot == fp[todo]]] = True
            empty = todo[slot == 0]
            self.slots[pos[empty]] = fp[empty]  # several claimants of a slot: one write wins, the others retry
            claimed = np.zeros(len(fp), dtype=bool)
            claimed[empty[self.slots[pos[empty]] == fp[empty]]] = True
            moving = todo[(slot != 0) & (slot != fp[todo])]
            pos[moving] = (pos[moving] + np.uint64(1)) & mask
            todo = todo[~present[todo] & ~claimed[todo]]
        self.count += len(fp) - int(present.sum())
        return present


def _ids_before(source: Iterable[Any], end: int) -> Iterator[Any]:
    """The consignment columns of the input's first `end` rows, from batches of the input."""
    done = 0
    for batch in source:
        if done >= end:
            return
        ids = batch.column("consignment")
        yield ids.slice(0, end - done)
        done += len(ids)


def iter_assess(batches: Iterable[Any], *, regime: Any, tariff: Any, rates: Any = None, on: Any = None,
                currency: str | None = None, amounts: str = "decimal", n_threads: int | None = 1,
                progress: Progress | None = None,
                reread: Callable[[], Iterable[Any]] | None = None, keep: Sequence[str] = (),
                errors: str = "raise") -> Iterator[tuple[Any, Assessment]]:
    """Assess pyarrow Tables (or RecordBatches) in order; yield (items, assessment) per chunk.

    Each yielded chunk holds whole consignments only; together the chunks hold
    every input item exactly once, in input order.  The items of a consignment
    must be adjacent: a consignment that reappears after its items ended, in the
    same chunk or any number of chunks later, is an InconsistentConsignmentError
    naming the row.  Rows in errors are 0-based positions in the whole input.

    Memory: the ids of earlier chunks are kept as 64-bit fingerprints (8 to 16
    bytes per consignment).  A fingerprint seen before is confirmed exactly by
    reading the earlier ids again: from ``reread()`` (the same batches from the
    start), or from ``batches`` itself when it is a re-iterable collection (a
    list); for a one-shot iterator without ``reread`` the ids are kept for that.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    require_native()  # on the first next(), even for no batches
    versions = candidate_regimes(regime, on)  # per-row dates (on=None): each consignment's own version
    for reg in versions:
        if {"consignee_day", "consignee_year"} & reg.aggregations():
            raise RegimeError(f"regime {reg.id} aggregates per consignee; it needs every consignment of a "
                              "consignee at once and cannot be assessed batch by batch")
    reg = versions[0] if on is not None else regime
    if reread is None and iter(batches) is not batches:
        reread = lambda: batches  # noqa: E731
    kept: list[Any] | None = [] if reread is None else None  # earlier ids, only to confirm a hit
    seen = SeenIds()
    carry: Any = None
    row0 = 0

    def reappears(cid: Any) -> bool:
        source = kept if kept is not None else _ids_before(reread(), row0)  # type: ignore[misc]
        return any(pc.any(pc.equal(ids, pa.scalar(cid, ids.type))).as_py() for ids in source)

    def run(chunk: Any) -> tuple[Any, Assessment]:
        nonlocal row0
        try:
            result = assess(chunk, regime=reg, tariff=tariff, rates=rates, on=on, currency=currency,
                            amounts=amounts, n_threads=n_threads, keep=keep, errors=errors)
            result.errors = [e.moved(lambda row: row + row0) for e in result.errors]
        except InputError as exc:
            raise shift_rows(exc, row0) from exc
        ids = chunk.column("consignment")
        starts = np.flatnonzero(np.r_[True, pc.fill_null(pc.not_equal(ids.slice(1), ids.slice(0, len(ids) - 1)), True)
                                      .to_numpy(zero_copy_only=False)])
        firsts = ids.take(pa.array(starts))  # one id per run of equal ids
        values = firsts.to_pylist()
        again = []  # runs whose id was seen before: in this chunk, or (confirmed) in an earlier one
        if len(starts) != len(result.consignment_ids):
            here: set[Any] = set()
            again = [j for j, cid in enumerate(values) if cid in here or here.add(cid)]  # type: ignore[func-returns-value]
        hits = np.flatnonzero(seen.add(SeenIds.fingerprints(values)))
        again += [int(j) for j in hits if reappears(values[j])]
        if again:
            j = min(again)  # the first in input order
            raise _reappears(values[j], row0 + int(starts[j]))
        if kept is not None:
            kept.append(firsts)
        row0 += chunk.num_rows
        if progress:
            progress.update(chunk.num_rows)
        return chunk, result

    for batch in batches:
        table = pa.Table.from_batches([batch]) if isinstance(batch, pa.RecordBatch) else batch
        if carry is not None:
            table = pa.concat_tables([carry, table]).combine_chunks()
        if table.num_rows == 0:
            continue
        if "consignment" not in table.column_names:  # assess names what is missing
            yield run(table)
            continue
        ids = table.column("consignment")
        # the trailing run of the last consignment may continue in the next batch (a missing id
        # continues nothing: assess names it, or flags it)
        is_last = pc.fill_null(pc.equal(ids, ids[table.num_rows - 1]), False).to_numpy(zero_copy_only=False)
        head = table.num_rows - int(np.argmin(is_last[::-1])) if not is_last.all() else 0
        carry = table.slice(head)
        if head:
            yield run(table.slice(0, head))
    if carry is not None and carry.num_rows:
        yield run(carry)


def _reappears(cid: Any, row: int) -> InconsistentConsignmentError:
    return InconsistentConsignmentError(
        f"consignment {cid!r} reappears after its items ended: the items of a consignment must be "
        "adjacent to be assessed batch by batch", column="consignment", row=row)


def output_schema(items: Any, keep: Sequence[str], currency: str, major_units: bool, flagged: bool = False) -> Any:
    """The output's columns: row (1-based), consignment, the kept input columns, the amounts
    (int64 minor units, or decimal128 major units), the rule bits and, with errors="flag", the
    status (0 assessed, 1 invalid, 2 not assessed: another item of its consignment is invalid)."""
    import pyarrow as pa
    amount = pa.decimal128(19, exponent(currency)) if major_units else pa.int64()
    consignment = items.field("consignment").type if items is not None and "consignment" in items.names else pa.string()
    kept = [items.field(k) if items is not None else pa.field(k, pa.string()) for k in keep]
    return pa.schema([("row", pa.int64()), ("consignment", consignment), *kept,
                      *[(k, amount) for k in ITEM_AMOUNTS], ("rule", pa.int32()),
                      *([("status", pa.int8())] if flagged else [])])


def output_table(chunk: Any, result: Assessment, row0: int, schema: Any) -> Any:
    """A chunk's output rows in the output schema; row0: the chunk's 0-based input position."""
    import pyarrow as pa
    n = chunk.num_rows
    columns: dict[str, Any] = {"row": np.arange(row0 + 1, row0 + n + 1, dtype=np.int64)}
    for f in schema:
        if f.name in ITEM_AMOUNTS:
            minor = result.items[f.name].astype(np.int64, copy=False)
            if pa.types.is_decimal(f.type):  # the unscaled value of decimal128 is the minor units
                words = np.empty((n, 2), dtype=np.int64)
                words[:, 0], words[:, 1] = minor, minor >> 63
                columns[f.name] = pa.Array.from_buffers(f.type, n, [None, pa.py_buffer(words)])
            else:
                columns[f.name] = minor
        elif f.name == "rule":
            columns[f.name] = result.items["rule"]
        elif f.name == "status":
            columns[f.name] = result.status if result.status is not None else np.zeros(n, dtype=np.int8)
        elif f.name != "row":
            columns[f.name] = chunk.column(f.name)
    return pa.table(columns, schema=schema)


def write_errors(path: str, found: list[Any]) -> None:
    """The error table of errors="flag" as CSV, whole or not at all: file row (1-based data row),
    column, value, error class, message."""
    import csv
    with fileio.staged(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["row", "column", "value", "error", "message"])
        for e in (e.moved(lambda row: row + 1) for e in found):  # file rows count data rows from 1
            w.writerow(["" if e.row is None else e.row, e.column or "", "" if e.value is None else e.value,
                        e.error, e.message])


def _empty_summary(currency: str) -> dict[str, Any]:
    return {"items": 0, "consignments": 0, "currency": currency, **{k: 0 for k in ITEM_AMOUNTS},
            **{f"items_{name}": 0 for name in RULES.values()}, "consignments_with_charges": 0,
            "intrinsic_cannot_assess": 0}


def assess_file(source: str, destination: str | None = None, *, regime: Any, tariff: Any, rates: Any = None,
                on: Any = None, currency: str | None = None, amounts: str = "decimal",
                batch_rows: int = 1_000_000, n_threads: int | None = 1, progress: bool = True,
                input_format: str | None = None, output_format: str | None = None,
                keep: Sequence[str] = (), major_units: bool = False, errors: str = "raise") -> dict[str, Any]:
    """Assess a file of items (Parquet, CSV or JSON Lines) in batches; write the item amounts to
    `destination` whole or not at all.  Returns the summary over all items: counts and revenue
    totals in minor units, with ``intrinsic_cannot_assess`` (the value of the items whose duty
    could not be assessed) and ``provenance`` (what the output file carries).

    The output has one row per input item, in input order: ``row`` (the 1-based data row of the
    input: the item's identity), ``consignment``, the `keep` columns as they are, the amounts
    (int64 minor units, or with `major_units` decimal128 with the currency's exponent in Parquet
    and exact decimal text in CSV and JSON Lines) and ``rule``.  Its provenance goes into the
    Parquet key-value metadata (key ``deminimis``, JSON), or beside a CSV or JSON Lines output in
    ``DEST.provenance.json`` (with the output's SHA-256).  Formats follow the extensions unless
    named (fileio).  The destination must not be the source.
    """
    require_native()  # before any work, and even for an input of no rows
    if isinstance(batch_rows, bool) or not isinstance(batch_rows, int) or batch_rows <= 0:
        raise ValueError(f"batch_rows must be a positive integer (got {batch_rows!r})")
    versions = candidate_regimes(regime, on)
    if len({r.currency for r in versions}) > 1:
        raise RegimeError(f"the versions of {regime!r} assess in different currencies: pass on=")
    reg = versions[0]
    fmt = fileio.format_of(destination, output_format) if destination is not None else None
    with fileio.ItemFile(source, input_format) as items:
        if destination is not None:
            refuse_same_file(items, destination)
        missing = [k for k in keep if items.columns is not None and k not in items.columns]
        if missing:
            raise fileio.FileError(f"{source}: no column {missing[0]!r} to keep (have {items.columns})")
        schema = output_schema(items.schema, keep, reg.currency, major_units, errors == "flag")
        clash = [k for k in keep if schema.names.count(k) > 1]
        if clash:
            raise fileio.FileError(f"cannot keep column {clash[0]!r}: the output has a column of that name")
        bar = Progress(items.num_rows, enabled=progress)
        summary = _empty_summary(reg.currency)
        provenance: dict[str, Any] = {}
        found: list[Any] = []  # errors="flag": every problem, rows of the whole input (0-based)

        def run(sink: Any) -> None:
            row0 = 0
            chunks = iter_assess(items.batches(batch_rows), regime=reg if on is not None else regime, tariff=tariff,
                                 rates=rates, on=on, currency=currency, amounts=amounts, n_threads=n_threads,
                                 progress=bar, reread=lambda: items.batches(batch_rows), keep=keep, errors=errors)
            for chunk, result in chunks:
                dates, seen = provenance.get("dates"), provenance.get("regime")
                tables = provenance.get("rates_tables", [])
                provenance.update(result.provenance)
                if tables:  # dated rates: every table any chunk used
                    provenance["rates_tables"] = merge_rates_tables(tables, provenance["rates_tables"])
                if seen:  # per-row dates: every version any chunk applied
                    ids = dict.fromkeys([*seen.split(","), *provenance["regime"].split(",")])
                    provenance["regime"] = ",".join(ids)
                if dates and result.provenance.get("dates"):  # per-row dates: the span of every chunk
                    provenance["dates"] = [min(dates[0], provenance["dates"][0]), max(dates[1], provenance["dates"][1])]
                found.extend(result.errors)
                for k, v in result.summary().items():  # counts and exact totals add up across chunks
                    if isinstance(v, dict):  # not-assessed reasons: counts by reason
                        summary[k] = dict(Counter(summary.get(k, {})) + Counter(v))
                    elif not isinstance(v, str):
                        summary[k] = summary.get(k, 0) + v
                cannot = (result.items["rule"] & CANNOT_ASSESS) != 0
                summary["intrinsic_cannot_assess"] += exact_sum(result.items["intrinsic"][cannot])
                if sink is not None:
                    sink.write(output_table(chunk, result, row0, schema))
                row0 += chunk.num_rows
            if not provenance:  # no rows: the provenance the engine would have given
                provenance.update(make_provenance(reg, tariff, rates, on, engine="native"))
            provenance.update({"input": os.path.basename(source), "input_format": items.format,
                               "input_sha256": items.sha256, "rows": row0,
                               "amounts": "major units" if major_units else "minor units",
                               "summary": {k: v for k, v in summary.items()}})

        try:
            if destination is None:
                run(None)
            else:
                _write(destination, fmt, schema, run, provenance)  # type: ignore[arg-type]
                if errors == "flag":
                    write_errors(fileio.errors_path(destination), found)
        finally:
            bar.close()
    summary["provenance"] = provenance
    summary["errors"] = found
    return summary


def _write(destination: str, fmt: str, schema: Any, run: Callable[[Any], None], provenance: dict[str, Any]) -> None:
    """Run the assessment into a staged output (and, for CSV and JSON Lines, a staged sidecar)."""
    sidecar = fileio.sidecar_path(destination) if fmt != "parquet" else None
    with fileio.staged(destination) as tmp, \
            (fileio.staged(sidecar) if sidecar else contextlib.nullcontext()) as side_tmp:
        sink = fileio.TableWriter(tmp, fmt, schema)
        try:
            run(sink)
        except BaseException:
            with contextlib.suppress(Exception):
                sink.close()
            raise
        sink.close(provenance)
        if side_tmp is not None:
            record = {**provenance, "output": os.path.basename(destination), "output_format": fmt,
                      "output_sha256": fileio.file_sha256(tmp)}
            with open(side_tmp, "w", encoding="utf-8") as f:
                json.dump(record, f, indent=2, sort_keys=True)
                f.write("\n")


def refuse_same_file(items: fileio.ItemFile, destination: str) -> None:
    """A destination that is the source file (however named: a link, ./, another path) is refused."""
    same = os.path.realpath(destination) == os.path.realpath(items.path)
    if not same and os.path.exists(destination):
        st, src = os.stat(destination), items.stat()
        same = (st.st_dev, st.st_ino) == (src.st_dev, src.st_ino)
    if not same and os.path.exists(fileio.sidecar_path(destination)):
        same = os.path.samefile(fileio.sidecar_path(destination), items.path)
    if same:
        raise fileio.FileError(f"the destination {destination} is the source file {items.path}: "
                               "refusing to overwrite the input")


#: the former name, kept for callers (it reads CSV and JSON Lines too)
assess_parquet = assess_file
