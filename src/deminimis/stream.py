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

from . import fileio, pipeline
from .arguments import candidate_regimes
from .assessment import CANNOT_ASSESS, ITEM_AMOUNTS, RULES, Assessment, exact_sum, make_provenance
from .chunking import whole_consignments
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


def aggregates_per_consignee(regime: Any, on: Any) -> bool:
    """Whether a version of `regime` that may apply (on the date, or on any row's date) has a
    condition per consignee and day or year."""
    return any({"consignee_day", "consignee_year"} & reg.aggregations() for reg in candidate_regimes(regime, on))


def iter_assess(batches: Iterable[Any], *, regime: Any, tariff: Any, rates: Any = None, on: Any = None,
                currency: str | None = None, amounts: str = "decimal", n_threads: int | None = 1,
                progress: Progress | None = None,
                reread: Callable[[], Iterable[Any]] | None = None, keep: Sequence[str] = (),
                errors: str = "raise") -> Iterator[tuple[Any, Assessment]]:
    """Assess pyarrow Tables (or RecordBatches) in order; yield (items, assessment) per chunk.

    Each yielded chunk holds whole consignments only (see whole_consignments: the items of a
    consignment must be adjacent); together the chunks hold every input item exactly once, in
    input order.  Rows in errors are 0-based positions in the whole input.

    A regime that aggregates per consignee needs every consignment of a consignee at once: input
    with a consignee column is refused (assess_file partitions a file by consignee instead);
    without one, the engine names the missing column where a version needs it.
    """
    require_native()  # on the first next(), even for no batches
    yield from assess_chunks(whole_consignments(batches, reread), regime=regime, tariff=tariff, rates=rates, on=on,
                             currency=currency, amounts=amounts, n_threads=n_threads, progress=progress, keep=keep,
                             errors=errors)


def assess_chunks(chunks: Iterable[tuple[int, Any]], *, regime: Any, on: Any = None,
                  progress: Progress | None = None, **kwargs: Any) -> Iterator[tuple[Any, Assessment]]:
    """iter_assess of (row0, chunk) pairs from whole_consignments (in a reader thread, say)."""
    versions = candidate_regimes(regime, on)  # per-row dates (on=None): each consignment's own version
    reg = versions[0] if on is not None else regime
    per_consignee = aggregates_per_consignee(regime, on)
    for row0, chunk in chunks:
        if per_consignee and "consignee" in chunk.column_names:
            raise RegimeError(f"regime {versions[0].id} aggregates per consignee; it needs every consignment of "
                              "a consignee at once and cannot be assessed batch by batch (assess_file partitions "
                              "a file by consignee)")
        yield chunk, assess_rows(chunk, np.arange(row0, row0 + chunk.num_rows, dtype=np.int64), regime=reg, on=on,
                                 **kwargs)
        if progress:
            progress.update(chunk.num_rows)


def assess_rows(chunk: Any, rows: np.ndarray, **kwargs: Any) -> Assessment:
    """assess(chunk, **kwargs) with the rows of its errors (raised or flagged) moved to the input's:
    `rows` holds the input's 0-based row of each of the chunk's rows."""
    where = (lambda row: row + int(rows[0])) if len(rows) and rows[-1] - rows[0] == len(rows) - 1 \
        else (lambda row: int(rows[row]))
    try:
        result = assess(chunk, **kwargs)
    except InputError as exc:
        moved = exc.moved(where)
        if moved is exc:
            raise
        raise moved from exc
    result.errors = [e.moved(where) for e in result.errors]
    return result


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


def output_table(chunk: Any, result: Assessment, rows: np.ndarray, schema: Any) -> Any:
    """A chunk's output rows in the output schema; rows: the input's 0-based row of each."""
    import pyarrow as pa
    n = chunk.num_rows
    columns: dict[str, Any] = {"row": rows + 1}
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
                keep: Sequence[str] = (), major_units: bool = False, errors: str = "raise",
                temp_dir: str | None = None, ambiguous: str = "flag") -> dict[str, Any]:
    """Assess a file of items (Parquet, CSV or JSON Lines) in batches; write the item amounts to
    `destination` whole or not at all.  Returns the summary over all items: counts and revenue
    totals in minor units, with ``intrinsic_cannot_assess`` (the value of the items whose duty
    could not be assessed), ``provenance`` (what the output file carries), ``errors`` (with
    errors="flag") and ``timings`` (seconds: ``total``; ``read``, the reader thread reading and
    cutting the file into consignments; ``write``, the writer thread; ``waited_for_read`` and
    ``waited_for_write``, the assessing thread waiting for them).

    The output has one row per input item, in input order: ``row`` (the 1-based data row of the
    input: the item's identity), ``consignment``, the `keep` columns as they are, the amounts
    (int64 minor units, or with `major_units` decimal128 with the currency's exponent in Parquet
    and exact decimal text in CSV and JSON Lines) and ``rule``.  Its provenance goes into the
    Parquet key-value metadata (key ``deminimis``, JSON), or beside a CSV or JSON Lines output in
    ``DEST.provenance.json`` (with the output's SHA-256).  Formats follow the extensions unless
    named (fileio).  The destination must not be the source.  ``ambiguous`` is ``deminimis.assess``'s.

    Reading, assessing and writing overlap (pipeline: a reader and a writer thread beside the
    assessing one).  Under a regime that aggregates per consignee (a consignee column given), the
    file is partitioned by consignee into bucket files of about `batch_rows` rows in a temporary
    folder in `temp_dir` (default: the destination's folder, else the system's), each bucket is
    assessed whole and the output merged back in input order (buckets); the folder is removed
    afterwards, also on error.  Either way the result is that of one ``assess`` of the whole file,
    provided the items of each consignment are adjacent in it (checked: see whole_consignments).
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
        timings: dict[str, float] = {}  # seconds: where the time went (not in the provenance: it varies)
        kwargs = dict(tariff=tariff, rates=rates, on=on, currency=currency, amounts=amounts, n_threads=n_threads,
                      keep=keep, errors=errors, ambiguous=ambiguous)
        by_consignee = aggregates_per_consignee(regime, on) and items.columns is not None \
            and {"consignment", "consignee"} <= set(items.columns)

        def account(result: Assessment) -> None:
            """Add a chunk's result to the summary, the provenance and the errors."""
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

        def in_order(chunks: Iterator[Any], out: pipeline.Writer | None) -> int:
            """Assess chunk after chunk as read; the number of rows."""
            row0 = 0
            for chunk, result in assess_chunks(chunks, regime=regime, progress=bar, **kwargs):
                account(result)
                if out is not None:
                    out.put(output_table(chunk, result, np.arange(row0, row0 + chunk.num_rows), schema))
                row0 += chunk.num_rows
            return row0

        def by_buckets(chunks: Iterator[Any], out: pipeline.Writer | None) -> int:
            """Partition by consignee on disk, assess bucket after bucket, merge in input order."""
            from . import buckets
            rows = items.num_rows if items.num_rows is not None else items.stat().st_size // buckets.MIN_ROW_BYTES
            here = os.path.dirname(os.path.abspath(destination)) if temp_dir is None and destination else temp_dir
            with buckets.ConsigneeBuckets(buckets.bucket_count(rows, batch_rows), here) as parts:
                parts.fill(chunks)
                for j, chunk, at in parts.inputs():
                    try:
                        result = assess_rows(chunk, at, regime=reg if on is not None else regime, **kwargs)
                    except InconsistentConsignmentError as exc:
                        if exc.column != "consignee" or exc.row is None:
                            raise
                        cid = chunk.column("consignment")[int(np.searchsorted(at, exc.row))].as_py()
                        raise InconsistentConsignmentError(
                            f"consignment {cid!r} has items of more than one consignee: {exc.message}",
                            column="consignee", row=exc.row) from exc
                    account(result)
                    if out is not None:
                        parts.write_output(j, output_table(chunk, result, at, schema), batch_rows)
                    bar.update(chunk.num_rows)
                found.sort(key=lambda e: -1 if e.row is None else e.row)  # as one pass lists them: by row
                if out is not None:
                    for table in parts.merged(batch_rows):
                        out.put(table)
                return parts.rows

        def run(sink: Any) -> None:
            # the reader thread reads and cuts the file into whole consignments; the writer thread writes
            out = pipeline.Writer(sink.write) if sink is not None else None
            t0 = time.perf_counter()
            try:
                with pipeline.Prefetch(whole_consignments(items.batches(batch_rows),
                                                          reread=lambda: items.batches(batch_rows))) as chunks:
                    rows = (by_buckets if by_consignee else in_order)(chunks, out)
                if out is not None:
                    out.close()
            except BaseException:
                if out is not None:
                    out.abort()
                raise
            timings.update({"total": time.perf_counter() - t0, "read": chunks.busy, "waited_for_read": chunks.waited,
                            "write": out.busy if out else 0.0, "waited_for_write": out.waited if out else 0.0})
            if not provenance:  # no rows: the provenance the engine would have given
                provenance.update(make_provenance(reg, tariff, rates, on, engine="native", ambiguous=ambiguous))
            provenance.update({"input": os.path.basename(source), "input_format": items.format,
                               "input_sha256": items.sha256, "rows": rows,
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
    summary["timings"] = timings
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
