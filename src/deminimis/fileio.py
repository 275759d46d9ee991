"""Files in and out: items read batch by batch with explicit types, outputs written whole or not at all.

Formats, by extension or named: Parquet (``.parquet``, ``.pq``), CSV (``.csv``) and JSON Lines
(``.jsonl``, ``.ndjson``).

Reading.  An input file is opened once: its SHA-256, its columns and every batch are read from
that one open file (through positioned reads, so a second pass does not disturb the first), never
from whatever the name points to a moment later.  Parquet columns keep their types.  CSV and JSON
Lines columns are never inferred: every column is text (codes keep their leading zeros, amounts
stay the exact decimal text the engine reads exactly, an empty CSV cell or a JSON null is
missing), except ``collected_at_sale``, read from ``true``/``false``/``1``/``0`` (any case; JSON
booleans too).  JSON numbers are kept as their text, never binary floats.  A JSON Lines file's
columns are the keys of its first object; a later object may omit keys (missing) but not add any.

Rows in the errors raised here are 0-based positions among the data rows (the header excluded),
like the engine's.

Writing.  ``staged(path)`` writes beside the destination, fsyncs, then ``os.replace``s the
temporary file onto it; on any failure (KeyboardInterrupt too) the temporary file is removed, so
the destination is either the whole new file or untouched.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import secrets
from collections.abc import Iterator
from typing import Any

from .errors import DeminimisError, InvalidValueError

EXTENSIONS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
FORMATS = ("parquet", "csv", "jsonl")
#: the formats of the tables the audit and simulate reports write beside report.html
TABLE_FORMATS = ("csv", "parquet")
BOOLEAN_COLUMNS = ("collected_at_sale",)
TRUE, FALSE = ("true", "1"), ("false", "0")


class FileError(DeminimisError, ValueError):
    """A file that cannot be read or written as asked: unknown format, unreadable, or the
    destination is the source."""


def format_of(path: str, given: str | None = None) -> str:
    """The format named, or else the one of the file's extension; an unknown extension is an error."""
    if given is not None:
        if given not in FORMATS:
            raise FileError(f"unknown format {given!r}; use one of {', '.join(FORMATS)}")
        return given
    ext = os.path.splitext(path)[1].lower()
    if ext not in EXTENSIONS:
        raise FileError(f"{path}: cannot tell the format from the extension {ext or '(none)'!r}; "
                        f"use {', '.join(EXTENSIONS)} or name the format ({', '.join(FORMATS)})")
    return EXTENSIONS[ext]


class _PositionedReader(io.RawIOBase):
    """A read-only view of an open file descriptor with its own position (os.pread)."""

    def __init__(self, fd: int) -> None:
        super().__init__()
        self.fd, self.pos = fd, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buf: Any) -> int:
        data = os.pread(self.fd, len(buf), self.pos)
        buf[:len(data)] = data
        self.pos += len(data)
        return len(data)

    def seek(self, offset: int, whence: int = 0) -> int:
        end = os.fstat(self.fd).st_size
        self.pos = {0: 0, 1: self.pos, 2: end}[whence] + offset
        return self.pos

    def tell(self) -> int:
        return self.pos


class ItemFile:
    """An input file of items, open once: ``sha256``, ``columns``, ``schema``, ``batches(n)``.

    ``columns`` and ``schema`` are None when the file says nothing about them (an empty JSON
    Lines or CSV file).  ``num_rows`` is known for Parquet only.
    """

    def __init__(self, path: str, fmt: str | None = None) -> None:
        self.path, self.format = path, format_of(path, fmt)
        self.fd = os.open(path, os.O_RDONLY)
        try:
            if os.path.isdir(path):
                raise FileError(f"{path} is a folder, not a file")
            self.sha256 = self._digest()
            self.num_rows: int | None = None
            self.schema = self._schema()
        except BaseException:
            os.close(self.fd)
            raise
        self.columns = None if self.schema is None else list(self.schema.names)

    def close(self) -> None:
        os.close(self.fd)

    def __enter__(self) -> ItemFile:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def stat(self) -> os.stat_result:
        return os.fstat(self.fd)

    def _open(self) -> io.BufferedReader:
        return io.BufferedReader(_PositionedReader(self.fd), buffer_size=1 << 20)

    def _digest(self) -> str:
        h, f = hashlib.sha256(), self._open()
        while chunk := f.read(1 << 20):
            h.update(chunk)
        return h.hexdigest()

    def _fail(self, exc: Exception) -> FileError:
        return FileError(f"{self.path}: cannot read it as {self.format}: {exc}")

    def _schema(self) -> Any:
        import pyarrow as pa
        try:
            if self.format == "parquet":
                import pyarrow.parquet as pq
                meta = pq.ParquetFile(self._open())
                self.num_rows = meta.metadata.num_rows
                return meta.schema_arrow
            names = self._csv_names() if self.format == "csv" else self._jsonl_names()
        except (pa.ArrowException, ValueError) as exc:  # not that format at all
            if isinstance(exc, DeminimisError):
                raise
            raise self._fail(exc) from exc
        if names is None:
            return None
        if len(set(names)) != len(names):
            dup = next(n for n in names if names.count(n) > 1)
            raise FileError(f"{self.path}: column {dup!r} appears twice in the header")
        return pa.schema([(n, pa.bool_() if n in BOOLEAN_COLUMNS else pa.string()) for n in names])

    def _csv_names(self) -> list[str] | None:
        import pyarrow as pa
        import pyarrow.csv as pacsv
        if self.stat().st_size == 0:
            return None
        try:
            return list(pacsv.open_csv(self._open()).schema.names)
        except pa.ArrowInvalid as exc:
            if "Empty CSV file" in str(exc):
                return None
            raise

    def _jsonl_names(self) -> list[str] | None:
        for _row, obj in _json_objects(self._open()):
            return list(obj)
        return None

    def batches(self, batch_rows: int) -> Iterator[Any]:
        """pyarrow Tables of at most batch_rows rows, in file order, from the start of the file."""
        import pyarrow as pa
        if batch_rows <= 0:
            raise ValueError(f"batch_rows must be a positive integer (got {batch_rows})")
        if self.schema is None:
            return
        read = {"parquet": self._parquet_batches, "csv": self._csv_batches, "jsonl": self._jsonl_batches}[self.format]
        row0 = 0
        batches = read(batch_rows)
        while True:
            try:
                table = next(batches)
            except StopIteration:
                return
            except pa.ArrowException as exc:
                raise self._fail(exc) from exc
            if self.format != "parquet":
                table = _typed(table, row0)
            row0 += table.num_rows
            yield table

    def _parquet_batches(self, batch_rows: int) -> Iterator[Any]:
        # row group by row group: ParquetFile.iter_batches over the whole file retains ~13 MiB per
        # million rows in pyarrow 26; this keeps the peak per batch
        import pyarrow.parquet as pq
        src = pq.ParquetFile(self._open())
        for g in range(src.metadata.num_row_groups):
            group = src.read_row_group(g)
            for start in range(0, group.num_rows, batch_rows):
                yield group.slice(start, batch_rows)

    def _csv_batches(self, batch_rows: int) -> Iterator[Any]:
        import pyarrow as pa
        import pyarrow.csv as pacsv
        assert self.columns is not None
        convert = pacsv.ConvertOptions(column_types={n: pa.string() for n in self.columns},
                                       strings_can_be_null=True, null_values=[""])
        reader = pacsv.open_csv(self._open(), convert_options=convert)
        yield from _rebatch((pa.Table.from_batches([b]) for b in reader), batch_rows)

    def _jsonl_batches(self, batch_rows: int) -> Iterator[Any]:
        import pyarrow as pa
        assert self.columns is not None
        names = self.columns
        values: dict[str, list[Any]] = {n: [] for n in names}
        for row, obj in _json_objects(self._open()):
            extra = [k for k in obj if k not in values]
            if extra:
                raise InvalidValueError("a key that the first object does not have", column=extra[0], row=row)
            for n in names:
                values[n].append(_json_text(obj.get(n), n, row))
            if len(values[names[0]]) == batch_rows:
                yield pa.table({n: pa.array(v, pa.string()) for n, v in values.items()})
                values = {n: [] for n in names}
        if values[names[0]]:
            yield pa.table({n: pa.array(v, pa.string()) for n, v in values.items()})


def _rebatch(tables: Iterator[Any], batch_rows: int) -> Iterator[Any]:
    """The same rows in tables of exactly batch_rows rows (the last one may be shorter)."""
    import pyarrow as pa
    held: list[Any] = []
    count = 0
    for t in tables:
        held.append(t)
        count += t.num_rows
        while count >= batch_rows:
            whole = pa.concat_tables(held)
            yield whole.slice(0, batch_rows)
            rest = whole.slice(batch_rows)
            held, count = [rest], rest.num_rows
    if count:
        yield pa.concat_tables(held)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _json_objects(f: io.BufferedReader) -> Iterator[tuple[int, dict[str, Any]]]:
    """(0-based row, object) per non-blank line; numbers are kept as their text."""
    row = 0
    for line in io.TextIOWrapper(f, encoding="utf-8"):
        if not line.strip():
            continue
        try:
            obj = json.loads(line, parse_float=str, parse_int=str, parse_constant=_reject_constant)
        except ValueError as exc:
            raise InvalidValueError(f"not a JSON object: {exc}", row=row) from None
        if not isinstance(obj, dict):
            raise InvalidValueError("not a JSON object", row=row, value=obj)
        yield row, obj
        row += 1


def _json_text(v: Any, column: str, row: int) -> str | None:
    if v is None or isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    raise InvalidValueError("a nested object or list; give a string, number, boolean or null",
                            column=column, row=row, value=v)


def _typed(table: Any, row0: int) -> Any:
    """A table of text columns with the boolean columns read from true/false/1/0."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    for name in BOOLEAN_COLUMNS:
        if name not in table.column_names:
            continue
        text = table.column(name)
        low = pc.utf8_lower(text)
        yes, no = pc.is_in(low, pa.array(TRUE)), pc.is_in(low, pa.array(FALSE))
        bad = pc.and_(pc.is_valid(text), pc.invert(pc.or_(yes, no)))
        if pc.any(bad).as_py():
            i = int(np.flatnonzero(bad.to_numpy(zero_copy_only=False))[0])
            raise InvalidValueError("must be true, false, 1 or 0", column=name, row=row0 + i, value=text[i].as_py())
        flag = pc.if_else(pc.is_valid(text), yes, pa.scalar(None, pa.bool_()))
        table = table.set_column(table.column_names.index(name), name, flag)
    return table


# ---- writing ----------------------------------------------------------------------------------

@contextlib.contextmanager
def staged(path: str) -> Iterator[str]:
    """A temporary path beside `path`; on a clean exit it is fsynced and moved onto `path` in one
    step (os.replace), on any exception (KeyboardInterrupt too) removed."""
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileError(f"{path}: the folder {folder} does not exist")
    tmp = os.path.join(folder, f".{os.path.basename(path)}.{secrets.token_hex(6)}.tmp")
    os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))  # mode from the umask
    try:
        yield tmp
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable
        dfd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)


def file_sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def errors_path(destination: str) -> str:
    """Where the error table of errors="flag" goes: beside the destination."""
    return f"{destination}.errors.csv"


def sidecar_path(path: str) -> str:
    """Where the provenance of a CSV or JSON Lines output goes."""
    return path + ".provenance.json"


class TableWriter:
    """Writes tables of one schema to `path` (a temporary path from staged) in a format; Parquet
    carries `metadata` (set at close) in its key-value metadata under the key "deminimis"."""

    def __init__(self, path: str, fmt: str, schema: Any) -> None:
        import pyarrow.csv as pacsv
        import pyarrow.parquet as pq
        self.format, self.schema = fmt, schema
        self._sink: Any
        if fmt == "parquet":
            self._sink = pq.ParquetWriter(path, schema)
        elif fmt == "csv":
            self._sink = pacsv.CSVWriter(path, schema)
        else:
            self._sink = open(path, "w", encoding="utf-8", newline="\n")

    def write(self, table: Any) -> None:
        if self.format != "jsonl":
            self._sink.write_table(table)
            return
        import pyarrow as pa
        names = table.column_names
        columns = [c.cast(pa.string()).to_pylist() if pa.types.is_decimal(c.type) else c.to_pylist()
                   for c in table.columns]
        for values in zip(*columns):
            self._sink.write(json.dumps(dict(zip(names, values)), default=str) + "\n")

    def close(self, metadata: dict[str, Any] | None = None) -> None:
        if self.format == "parquet" and metadata is not None:
            self._sink.add_key_value_metadata({"deminimis": json.dumps(metadata, sort_keys=True)})
        self._sink.close()
