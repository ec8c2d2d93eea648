"""Bulk import of behaviour events and consent answers from CSV, JSON and JSON Lines files (`tandem recs import`).

The files come from other systems (web-shop exports, CX spreadsheets), so they are untrusted: each row is
validated on its own, and a bad row is reported (line, field, reason, raw text) instead of stopping the
import. Good rows are written in batches, each batch committed, so a crash loses at most one batch and
running the import again is safe: an event is keyed by its `source` ("import:<file name>") and its event id
(or, without one, a hash of its content), and keys already stored count as duplicates, not new events.

Memory stays bounded however big the file: CSV and JSON Lines are read line by line, a JSON list element by
element (a streaming parse), and no line or element may exceed MAX_RECORD_BYTES. Kept rejects are capped by
`max_rejects` (the rest are only counted).

Columns (CSV header names or JSON keys; case-insensitive; unknown ones are ignored and listed in the report):

events    customer_id (aliases userId, user_id, customerId)   the customer's external id, e.g. CUST-00042
          kind (aliases event, type)                           one of bot.db.models.BEHAVIOUR_KINDS
          sku (aliases product_id, productId, item_id, itemId) required, except for a dismissal of a category
          category                                             a slug or anything normalize_category knows
          value                                                rating 1-5 (required for kind=rating);
                                                               quantity >= 1 for purchase/return
          timestamp (aliases time, occurred_at)                ISO 8601 (no zone = UTC) or Unix seconds,
                                                               from 1990 to now (+ FUTURE_TOLERANCE)
          channel, strategy, request_id, event_id              optional; event_id keys re-imports
consents  customer_id (same aliases), granted (true/false, 1/0, yes/no), updated_at (aliases timestamp, time)

A consent row replaces the stored answer only when it is newer (the newest answer wins, as in chat); an
older or equal one counts as a duplicate, as does an answer superseded by a newer one in the same batch.
"""

from __future__ import annotations

import codecs
import csv
import dataclasses
import hashlib
import json
import math
import re
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, BinaryIO, Callable, Iterable, Iterator, Mapping

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.orm import Session
from tqdm import tqdm

from bot.db.models import BEHAVIOUR_KINDS, BehaviourEvent, Customer, PersonalizationConsent, Product, utcnow
from bot.shop.catalog import normalize_category

FORMATS = ("csv", "json", "jsonl")
_EXTENSIONS = {".csv": "csv", ".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl"}

# A line (CSV, JSON Lines) or JSON list element longer than this is rejected unread: it bounds memory.
MAX_RECORD_BYTES = 4 * 1024 * 1024
# Any single value longer than this is rejected (every stored column is far shorter).
MAX_FIELD_CHARS = 4096
# Clocks of exporting systems drift; anything later than now + this is a bad timestamp.
FUTURE_TOLERANCE = timedelta(minutes=10)
# Anything earlier is a placeholder (Unix time 0) or a misread date (20261101 as Unix seconds), not behaviour.
EARLIEST_TIMESTAMP = datetime(1990, 1, 1)
# Stored as `channel` when a row names none.
DEFAULT_CHANNEL = "import"
# Columns of a rejects file (`ImportReport.write_rejects`) that the importer reads past.
REJECT_COLUMN_PREFIX = "reject_"
MAX_BATCH_SIZE = 10_000  # one IN (...) parameter per row: stay far below SQLite's variable limit

_KEPT_CHARS = 200  # of a rejected row's raw text and of each of its values
_SHOWN_CHARS = 40  # of a value quoted in a reason
_SHOWN_REJECTS = 5  # in str(report)
_CHUNK_BYTES = 1 << 16
_PROGRESS_EVERY = 1000  # rows between progress bar updates
_UNIX_SECONDS = re.compile(r"-?\d+(?:\.\d*)?")
_NON_SPACE = re.compile(r"\S")
_TRUE, _FALSE = frozenset({"true", "1", "yes"}), frozenset({"false", "0", "no"})

_EVENTS = BehaviourEvent.__table__
_CONSENTS = PersonalizationConsent.__table__
_CUSTOMER_ID_CHARS = Customer.__table__.c.external_id.type.length
_SKU_CHARS = Product.__table__.c.sku.type.length
_SOURCE_CHARS = _EVENTS.c.source.type.length
_EVENT_ID_CHARS = _EVENTS.c.external_id.type.length
_TEXT_COLUMNS = ("channel", "strategy", "request_id")

_CUSTOMER_ALIASES = {"customer_id": "customer_id", "customerid": "customer_id", "userid": "customer_id",
                     "user_id": "customer_id"}
EVENT_ALIASES: Mapping[str, str] = {
    **_CUSTOMER_ALIASES,
    "kind": "kind", "event": "kind", "type": "kind",
    "sku": "sku", "product_id": "sku", "productid": "sku", "item_id": "sku", "itemid": "sku",
    "category": "category",
    "value": "value",
    "timestamp": "timestamp", "time": "timestamp", "occurred_at": "timestamp",
    "channel": "channel", "strategy": "strategy", "request_id": "request_id", "event_id": "event_id",
}
CONSENT_ALIASES: Mapping[str, str] = {
    **_CUSTOMER_ALIASES,
    "granted": "granted",
    "updated_at": "updated_at", "timestamp": "updated_at", "time": "updated_at",
}

Errors = list[tuple[str | None, str]]  # (column or None for the whole row, reason)


class ImportFileError(ValueError):
    """The file as a whole cannot be imported (unknown format, no such file, missing columns)."""


# --- the report --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RejectedRow:
    """A row that was not imported: where it is, why, and what it held (truncated), so it can be fixed."""

    line: int  # 1-based line of the file where the row starts (the CSV header is line 1)
    reason: str
    raw: str
    field: str | None = None  # the offending column(s), comma-separated; None when the row is unreadable
    values: Mapping[str, str] = dataclasses.field(default_factory=dict)  # canonical column -> text


@dataclass
class ImportReport:
    """What an import did; `rows_read == imported + duplicates + rejected_count`."""

    path: str
    source: str
    columns: tuple[str, ...]  # canonical columns, in the order `write_rejects` writes them
    rows_read: int = 0
    imported: int = 0
    duplicates: int = 0
    rejected: list[RejectedRow] = dataclasses.field(default_factory=list)
    rejects_not_kept: int = 0  # rejected beyond `max_rejects`: counted, not listed
    ignored_columns: list[str] = dataclasses.field(default_factory=list)
    notes: list[str] = dataclasses.field(default_factory=list)
    elapsed_s: float = 0.0
    max_rejects: int = dataclasses.field(default=100_000, repr=False)

    @property
    def rejected_count(self) -> int:
        return len(self.rejected) + self.rejects_not_kept

    @property
    def rows_per_s(self) -> float:
        return self.rows_read / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def reject(self, line: int, errors: Errors, raw: str, values: Mapping[str, str] | None = None) -> None:
        if len(self.rejected) >= self.max_rejects:
            self.rejects_not_kept += 1
            return
        columns = list(dict.fromkeys(c for c, _ in errors if c))
        reason = "; ".join(f"{c}: {r}" if c else r for c, r in errors)
        kept = {k: _truncate(v) for k, v in (values or {}).items()}
        self.rejected.append(RejectedRow(line, reason, raw, ", ".join(columns) or None, kept))

    def write_rejects(self, path: str | Path) -> int:
        """Write the kept rejects as a CSV the importer reads back: fix the rows, then import the file (its
        reject_* columns are ignored). Unreadable rows have empty columns and their text in reject_raw."""
        with open(path, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow([*self.columns, "reject_line", "reject_field", "reject_reason", "reject_raw"])
            for row in self.rejected:
                writer.writerow(
                    [row.values.get(c, "") for c in self.columns] + [row.line, row.field or "", row.reason, row.raw]
                )
        return len(self.rejected)

    def __str__(self) -> str:
        rate = f", {self.rows_per_s:,.0f} rows/s" if self.rows_read else ""
        lines = [
            f"{Path(self.path).name}: {_count(self.rows_read, 'row')} read, {self.imported:,} imported, "
            f"{_count(self.duplicates, 'duplicate')} skipped, {self.rejected_count:,} rejected "
            f"({self.elapsed_s:.1f} s{rate})"
        ]
        for row in self.rejected[:_SHOWN_REJECTS]:
            lines.append(f"  line {row.line}: {row.reason}")
        if self.rejected_count > _SHOWN_REJECTS:
            lines.append(f"  ... and {_count(self.rejected_count - _SHOWN_REJECTS, 'more rejected row')}")
        if self.rejects_not_kept:
            lines.append(f"  {self.rejects_not_kept:,} rejected rows past max_rejects were counted, not kept")
        if self.ignored_columns:
            lines.append(f"  ignored columns: {', '.join(self.ignored_columns)}")
        lines += [f"  note: {note}" for note in self.notes]
        return "\n".join(lines)


# --- public entry points -----------------------------------------------------------------------------------------


def detect_format(path: str | Path, format: str | None = None) -> str:
    """csv, json or jsonl: `format` when given, else from the file extension."""
    if format is not None:
        name = format.strip().lower().lstrip(".")
        name = "jsonl" if name == "ndjson" else name
        if name not in FORMATS:
            raise ImportFileError(f"unknown format {format!r}: use csv, json or jsonl")
        return name
    suffix = Path(path).suffix.lower()
    if suffix not in _EXTENSIONS:
        raise ImportFileError(
            f"cannot tell the format of {Path(path).name} from its extension ({suffix or 'none'}): "
            "name it .csv, .json (a list of objects) or .jsonl (one object per line), or give the format"
        )
    return _EXTENSIONS[suffix]


def source_for(path: str | Path) -> str:
    """`import:<file name>`, fitted to the 32-character `source` column: a long name keeps its start plus a
    hash of the whole name, so two long names with the same start stay apart."""
    name = Path(path).name
    source = f"import:{name}"
    if len(source) <= _SOURCE_CHARS:
        return source
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"import:{name[: _SOURCE_CHARS - len('import:') - 9]}~{digest}"


def import_events(
    session: Session,
    path: str | Path,
    *,
    format: str | None = None,
    source: str | None = None,
    batch_size: int = 1000,
    progress: bool = True,
    now: datetime | None = None,
    max_rejects: int = 100_000,
) -> ImportReport:
    """Import behaviour events from `path` into `behaviour_events`, committing after every batch.

    `source` defaults to `source_for(path)`; pass the original file's source when importing a fixed rejects
    file, so fixed rows that were in fact imported meanwhile stay duplicates. `now` (naive UTC) is the
    clock for the "not in the future" check. Raises ImportFileError when the file cannot be read at all.
    """
    return _run_import(session, path, _EVENT_IMPORT, format=format, source=source, batch_size=batch_size,
                       progress=progress, now=now, max_rejects=max_rejects)


def import_consents(
    session: Session,
    path: str | Path,
    *,
    format: str | None = None,
    source: str | None = None,
    batch_size: int = 1000,
    progress: bool = True,
    now: datetime | None = None,
    max_rejects: int = 100_000,
) -> ImportReport:
    """Import personalization consent answers (`customer_id, granted, updated_at`), newest answer wins."""
    return _run_import(session, path, _CONSENT_IMPORT, format=format, source=source, batch_size=batch_size,
                       progress=progress, now=now, max_rejects=max_rejects)


# --- reading files into records ----------------------------------------------------------------------------------


@dataclass
class _Record:
    """One row of the file: its canonical values (stripped text, empty ones left out) or why it is unreadable."""

    line: int
    raw: str
    values: dict[str, str] = dataclasses.field(default_factory=dict)
    errors: Errors = dataclasses.field(default_factory=list)
    final: bool = False  # nothing after it can be read (a broken JSON list)


class _Columns:
    """Maps column names and JSON keys to canonical columns, remembering the ones it ignores."""

    def __init__(self, aliases: Mapping[str, str]) -> None:
        self._aliases = aliases
        self.ignored: set[str] = set()

    def canonical(self, name: str) -> str | None:
        key = name.strip().lower()
        if key in self._aliases:
            return self._aliases[key]
        if not key.startswith(REJECT_COLUMN_PREFIX) and len(self.ignored) < 50:
            self.ignored.add(_truncate(name.strip(), _SHOWN_CHARS))
        return None

    def values(self, pairs: Iterable[tuple[str, Any]]) -> tuple[dict[str, str], Errors]:
        """Canonical text values of (name, value) pairs; JSON scalars become the text a CSV would hold."""
        return self.mapped_values((self.canonical(str(name)), str(name).strip(), value) for name, value in pairs)

    @staticmethod
    def mapped_values(items: Iterable[tuple[str | None, str, Any]]) -> tuple[dict[str, str], Errors]:
        """Like `values`, for (canonical column or None, name, value) triples (a CSV maps its header once)."""
        values: dict[str, str] = {}
        names: dict[str, str] = {}
        errors: Errors = []
        for column, name, value in items:
            if isinstance(value, str):
                text = value.strip()
            elif value is None:
                continue
            elif isinstance(value, (dict, list)):
                errors.append((column or _truncate(name, _SHOWN_CHARS), "must be a single value, not a list or object"))
                continue
            else:
                text = ("true" if value else "false") if isinstance(value, bool) else str(value)
            problem = None
            if len(text) > MAX_FIELD_CHARS:
                problem = f"{len(text):,} characters long (at most {MAX_FIELD_CHARS:,})"
            elif "\x00" in text:
                problem = "contains a NUL character"
            if problem:
                errors.append((column or _truncate(name, _SHOWN_CHARS), problem))
            elif column is not None and text:
                if column in values:
                    errors.append((column, f"given twice (as {names[column]!r} and {name!r})"))
                values[column], names[column] = text, name
        return values, errors


class _LineReader:
    """Physical lines of a binary file as text, each bounded by MAX_RECORD_BYTES so one giant line cannot
    exhaust memory. A longer line, or one that is not UTF-8, comes out as an empty line and `take()` says
    why, so one bad line is one rejected row. `take()` also returns the raw text read since the last call."""

    def __init__(self, fh: BinaryIO) -> None:
        self._fh = fh
        self.bytes_read = 0
        self.line_no = 0
        self._raw: list[str] = []
        self._raw_chars = 0
        self._problem: str | None = None

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        data = self._fh.readline(MAX_RECORD_BYTES + 1)
        if not data:
            raise StopIteration
        self.line_no += 1
        self.bytes_read += len(data)
        if self.line_no == 1 and data.startswith(codecs.BOM_UTF8):
            data = data[len(codecs.BOM_UTF8):]
        if len(data) > MAX_RECORD_BYTES and not data.endswith(b"\n"):
            self._skip_rest_of_line()
            return self._bad(data, f"line longer than {MAX_RECORD_BYTES:,} bytes")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            return self._bad(data, f"not UTF-8 text (byte {exc.start + 1} of the line)")
        self._keep(text)
        return text

    def take(self) -> tuple[str, str | None]:
        raw, problem = "".join(self._raw).rstrip("\r\n"), self._problem
        self._raw, self._raw_chars, self._problem = [], 0, None
        return raw, problem

    def _bad(self, data: bytes, problem: str) -> str:
        self._keep(data[: _KEPT_CHARS * 4].decode("utf-8", "replace"))
        self._problem = self._problem or problem
        return "\n"

    def _keep(self, text: str) -> None:
        if self._raw_chars < _KEPT_CHARS:
            piece = text[: _KEPT_CHARS - self._raw_chars]
            self._raw.append(piece)
            self._raw_chars += len(piece)

    def _skip_rest_of_line(self) -> None:
        while True:
            chunk = self._fh.readline(_CHUNK_BYTES)
            self.bytes_read += len(chunk)
            if not chunk or chunk.endswith(b"\n"):
                return


class _CsvReader:
    """Rows of a CSV file with a header row; fields may be quoted and span lines."""

    def __init__(self, fh: BinaryIO, columns: _Columns, required: tuple[tuple[str, ...], ...]) -> None:
        self._lines = _LineReader(fh)
        self._columns = columns
        self._required = required
        self.header_seen = False

    @property
    def bytes_read(self) -> int:
        return self._lines.bytes_read

    def __iter__(self) -> Iterator[_Record]:
        reader = csv.reader(self._lines)
        header: list[tuple[str | None, str]] = []  # (canonical column or None, name) per column
        while True:
            start = self._lines.line_no + 1
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:  # the reader resumes on the next line
                raw, problem = self._lines.take()
                if self.header_seen:
                    yield _Record(start, raw, errors=[(None, problem or f"not valid CSV: {exc}")])
                    continue
                raise ImportFileError(f"the header row is not valid CSV: {exc}") from None
            raw, problem = self._lines.take()
            blank = not row or (len(row) == 1 and not row[0].strip())
            if not self.header_seen:
                if problem:
                    raise ImportFileError(f"the header row is unreadable: {problem}")
                if not blank:
                    header = self._header(row)
                    self.header_seen = True
                continue
            if problem:
                yield _Record(start, raw, errors=[(None, problem)])
            elif blank:
                yield _Record(start, raw, errors=[(None, "empty line")])
            elif len(row) != len(header):
                yield _Record(start, raw, errors=[(None, f"{len(row)} fields, but the header has {len(header)}")])
            else:
                values, errors = _Columns.mapped_values((c, n, v) for (c, n), v in zip(header, row))
                yield _Record(start, raw, values, errors)

    def _header(self, row: list[str]) -> list[tuple[str | None, str]]:
        header = [(self._columns.canonical(name), name.strip()) for name in row]
        seen: dict[str, str] = {}
        for column, name in header:
            if column is not None and column in seen:
                raise ImportFileError(f"columns {seen[column]!r} and {name!r} both mean {column}")
            if column is not None:
                seen[column] = name
        missing = [" or ".join(options) for options in self._required if not set(options) & set(seen)]
        if missing:
            raise ImportFileError(
                f"the header ({', '.join(_truncate(n, _SHOWN_CHARS) for n in row)}) lacks required "
                f"column(s): {', '.join(missing)}"
            )
        return header


def _object_record(obj: Any, line: int, raw: str, columns: _Columns) -> _Record:
    if not isinstance(obj, dict):
        return _Record(line, raw, errors=[(None, f"not a JSON object but {type(obj).__name__}")])
    values, errors = columns.values(obj.items())
    return _Record(line, raw, values, errors)


class _JsonLinesReader:
    """One JSON object per line."""

    def __init__(self, fh: BinaryIO, columns: _Columns) -> None:
        self._lines = _LineReader(fh)
        self._columns = columns

    @property
    def bytes_read(self) -> int:
        return self._lines.bytes_read

    def __iter__(self) -> Iterator[_Record]:
        for text in self._lines:
            raw, problem = self._lines.take()
            line = self._lines.line_no
            if problem:
                yield _Record(line, raw, errors=[(None, problem)])
            elif not text.strip():
                yield _Record(line, raw, errors=[(None, "empty line")])
            else:
                try:
                    obj = json.loads(text)
                except json.JSONDecodeError as exc:
                    yield _Record(line, raw, errors=[(None, f"not valid JSON: {exc.msg} (column {exc.colno})")])
                except RecursionError:
                    yield _Record(line, raw, errors=[(None, "not valid JSON: nested too deeply")])
                else:
                    yield _object_record(obj, line, raw, self._columns)


class _Unreadable(Exception):
    pass


class _JsonListReader:
    """The elements of a top-level JSON list, parsed one at a time: memory holds one element, not the file.

    A syntax error cannot be skipped in a JSON list (where the next element starts is unknowable), so it ends
    the read: the rows before it are imported and the report says where it stopped.
    """

    def __init__(self, fh: BinaryIO, columns: _Columns) -> None:
        self._fh = fh
        self._columns = columns
        self._text = codecs.getincrementaldecoder("utf-8-sig")()
        self._json = json.JSONDecoder()
        self._buf = ""
        self._pos = 0
        self._eof = False
        self._line = 1  # line number at self._counted in self._buf
        self._counted = 0
        self.bytes_read = 0

    def __iter__(self) -> Iterator[_Record]:
        try:
            first = self._peek()
        except _Unreadable as exc:
            raise ImportFileError(f"not a JSON list: {exc}") from None
        if first is None:
            return
        if first != "[":
            raise ImportFileError(
                "a .json file must hold one list of objects ([{...}, {...}]); for one object per line "
                "name it .jsonl or give the format jsonl"
            )
        self._pos += 1
        expect_comma = False
        while True:
            line = self._line_at(self._pos)
            try:
                char = self._peek()
                if char == "]":
                    self._pos += 1
                    if self._peek() is not None:
                        yield self._stop(self._line_at(self._pos), "text after the end of the JSON list")
                    return
                if char is None:
                    yield self._stop(line, "the JSON list is not closed (no ']')")
                    return
                if expect_comma:
                    if char != ",":
                        yield self._stop(self._line_at(self._pos), "expected ',' or ']' between elements")
                        return
                    self._pos += 1
                    self._peek()
                line = self._line_at(self._pos)
                obj, end = self._element()
            except _Unreadable as exc:
                yield self._stop(line, str(exc))
                return
            raw = _truncate(self._buf[self._pos:min(end, self._pos + _KEPT_CHARS + 1)].replace("\n", " "))
            self._pos = end
            expect_comma = True
            yield _object_record(obj, line, raw, self._columns)

    def _stop(self, line: int, problem: str) -> _Record:
        raw = _truncate(self._buf[self._pos:self._pos + _KEPT_CHARS].replace("\n", " "))
        return _Record(line, raw, errors=[(None, f"{problem}; the rest of the file was not read")], final=True)

    def _more(self) -> bool:
        """Append the next piece of the file (at least as much as is buffered: linear time however long an
        element is) to the buffer, dropping what was consumed; False at the end of the file."""
        if self._eof:
            return False
        chunk = self._fh.read(max(_CHUNK_BYTES, len(self._buf) - self._pos))
        self.bytes_read += len(chunk)
        try:
            text = self._text.decode(chunk, final=not chunk)
        except UnicodeDecodeError as exc:
            raise _Unreadable(f"not UTF-8 text ({exc.reason})") from None
        self._line_at(self._pos)
        self._buf = self._buf[self._pos:] + text
        self._pos = self._counted = 0
        self._eof = not chunk
        return not self._eof

    def _line_at(self, pos: int) -> int:
        self._line += self._buf.count("\n", self._counted, pos)
        self._counted = pos
        return self._line

    def _peek(self) -> str | None:
        """Move to the next non-blank character and return it (None at the end of the file)."""
        while True:
            match = _NON_SPACE.search(self._buf, self._pos)
            if match:
                self._pos = match.start()
                return self._buf[self._pos]
            self._pos = len(self._buf)
            if not self._more():
                return None

    def _element(self) -> tuple[Any, int]:
        """Decode the value at the cursor, reading on while it may be incomplete (at most MAX_RECORD_BYTES)."""
        while True:
            problem = None
            try:
                value, end = self._json.raw_decode(self._buf, self._pos)
            except json.JSONDecodeError as exc:
                problem = f"not valid JSON: {exc.msg}"
            except RecursionError:
                problem = "not valid JSON: nested too deeply"
            else:
                if end < len(self._buf) or self._eof:  # a number at the buffer's end may go on
                    return value, end
            if len(self._buf) - self._pos > MAX_RECORD_BYTES:
                raise _Unreadable(problem or f"an element longer than {MAX_RECORD_BYTES:,} characters")
            if not self._more() and problem:
                raise _Unreadable(problem)


# --- validating values -------------------------------------------------------------------------------------------


def _truncate(text: str, limit: int = _KEPT_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def _quote(text: str) -> str:
    return repr(_truncate(text, _SHOWN_CHARS))


def _text(values: Mapping[str, str], column: str, errors: Errors, *, required: bool = False,
          max_chars: int | None = None) -> str | None:
    text = values.get(column)
    if text is None:
        if required:
            errors.append((column, "missing"))
        return None
    if max_chars is not None and len(text) > max_chars:
        errors.append((column, f"longer than {max_chars} characters"))
        return None
    return text


def _number(text: str, column: str, errors: Errors) -> float | None:
    try:
        number = float(text)
    except ValueError:
        errors.append((column, f"not a number: {_quote(text)}"))
        return None
    if not math.isfinite(number):
        errors.append((column, f"not a finite number: {_quote(text)}"))
        return None
    return number


def _timestamp(text: str | None, column: str, errors: Errors, now: datetime) -> datetime | None:
    """ISO 8601 (a zone is converted, none means UTC) or Unix seconds -> naive UTC, not in the future."""
    if text is None:
        return None
    hint = ""
    try:
        if _UNIX_SECONDS.fullmatch(text):
            seconds = float(text)
            hint = " (Unix milliseconds? give seconds)" if seconds > 1e11 else ""
            when = datetime.fromtimestamp(seconds, tz=timezone.utc).replace(tzinfo=None)
        else:
            when = datetime.fromisoformat(text)
            if when.tzinfo is not None:
                when = when.astimezone(timezone.utc).replace(tzinfo=None)
    except (ValueError, OverflowError, OSError):
        errors.append((column, f"not an ISO 8601 date-time or Unix seconds{hint}: {_quote(text)}"))
        return None
    if when > now + FUTURE_TOLERANCE:
        errors.append((column, f"in the future ({when.isoformat(sep=' ')} UTC){hint}"))
        return None
    if when < EARLIEST_TIMESTAMP:
        errors.append((column, f"before {EARLIEST_TIMESTAMP.year} ({when.isoformat(sep=' ')} UTC): {_quote(text)}"))
        return None
    return when


def _content_id(*parts: object) -> str:
    """A deterministic event id for rows without one: the same event imported again gets the same id."""
    text = "\x1f".join("" if part is None else str(part) for part in parts)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()[:48]


@dataclass(frozen=True)
class _EventRow:
    record: _Record
    customer: str
    kind: str
    sku: str | None
    category: str | None
    value: float | None
    occurred_at: datetime
    texts: dict[str, str | None]  # channel, strategy, request_id
    external_id: str


def _parse_event(record: _Record, now: datetime) -> tuple[_EventRow | None, Errors]:
    values, errors = record.values, []
    customer = _text(values, "customer_id", errors, required=True, max_chars=_CUSTOMER_ID_CHARS)
    kind = _text(values, "kind", errors, required=True)
    if kind is not None:
        kind = kind.lower()
        if kind not in BEHAVIOUR_KINDS:
            errors.append(("kind", f"{_quote(kind)} is not one of {', '.join(BEHAVIOUR_KINDS)}"))
            kind = None
    sku = _text(values, "sku", errors, max_chars=_SKU_CHARS)
    category_text = values.get("category")
    category = normalize_category(category_text) if category_text else None
    if category_text and category is None:
        errors.append(("category", f"unknown category {_quote(category_text)}"))
    if sku is None and "sku" not in values:
        if kind == "dismissal" and category_text is None:
            errors.append(("sku", "missing (a dismissal needs a sku or a category)"))
        elif kind is not None and kind != "dismissal":
            errors.append(("sku", "missing (only a dismissal may name just a category)"))
    value = _event_value(values.get("value"), kind, errors)
    timestamp_text = _text(values, "timestamp", errors, required=True)
    occurred_at = _timestamp(timestamp_text, "timestamp", errors, now)
    texts = {c: _text(values, c, errors, max_chars=_EVENTS.c[c].type.length) for c in _TEXT_COLUMNS}
    event_id = _text(values, "event_id", errors, max_chars=_EVENT_ID_CHARS)
    if errors:
        return None, errors
    assert customer is not None and kind is not None and occurred_at is not None
    external_id = event_id or _content_id(
        customer, kind, sku, category, value, occurred_at.isoformat(), *texts.values()
    )
    return _EventRow(record, customer, kind, sku, category, value, occurred_at, texts, external_id), errors


def _event_value(text: str | None, kind: str | None, errors: Errors) -> float | None:
    if text is None:
        if kind == "rating":
            errors.append(("value", "missing (a rating needs a value from 1 to 5)"))
        return None
    value = _number(text, "value", errors)
    if value is None:
        return None
    if kind == "rating" and not 1 <= value <= 5:
        errors.append(("value", f"a rating must be from 1 to 5, not {_quote(text)}"))
    elif kind in ("purchase", "return") and (value < 1 or value != int(value)):
        errors.append(("value", f"a quantity must be a whole number of at least 1, not {_quote(text)}"))
    return value


@dataclass(frozen=True)
class _ConsentRow:
    record: _Record
    customer: str
    granted: bool
    updated_at: datetime


def _parse_consent(record: _Record, now: datetime) -> tuple[_ConsentRow | None, Errors]:
    values, errors = record.values, []
    customer = _text(values, "customer_id", errors, required=True, max_chars=_CUSTOMER_ID_CHARS)
    granted_text = _text(values, "granted", errors, required=True)
    granted = None
    if granted_text is not None:
        granted = True if granted_text.lower() in _TRUE else False if granted_text.lower() in _FALSE else None
        if granted is None:
            errors.append(("granted", f"not true/false, 1/0 or yes/no: {_quote(granted_text)}"))
    updated_at = _timestamp(_text(values, "updated_at", errors, required=True), "updated_at", errors, now)
    if errors:
        return None, errors
    assert customer is not None and granted is not None and updated_at is not None
    return _ConsentRow(record, customer, granted, updated_at), errors


# --- writing batches ---------------------------------------------------------------------------------------------
#
# Duplicates are decided by the database itself (INSERT ... ON CONFLICT, the same statement on SQLite and
# PostgreSQL through SQLAlchemy's dialect inserts): one index probe per row whatever the planner believes. A
# pre-query "which of these ids are stored?" is not: PostgreSQL plans it from statistics taken before the
# import began, scans every row the import already wrote for each batch, and so goes quadratic.

_DIALECT_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


@dataclass(frozen=True)
class _Pending:
    record: _Record
    values: dict[str, Any]  # the table row


def _dialect_insert(session: Session, table: Any) -> Any:
    name = session.get_bind().dialect.name
    if name not in _DIALECT_INSERTS:
        raise NotImplementedError(f"imports support SQLite and PostgreSQL, not {name}")
    return _DIALECT_INSERTS[name](table)


def _rows_written(session: Session, stmt: Any, rows: list[dict[str, Any]]) -> int:
    """Execute `stmt` for every row; how many rows it inserted or changed. PostgreSQL counts with RETURNING
    (its batched executemany reports the rowcount of the last page only); SQLite's rowcount is the sum."""
    if session.get_bind().dialect.name == "postgresql":
        return len(session.execute(stmt.returning(*stmt.table.primary_key.columns), rows).all())
    return session.execute(stmt, rows).rowcount


def _db_error(exc: SQLAlchemyError) -> str:
    detail = str(exc.orig) if isinstance(exc, DBAPIError) else str(exc)
    return _truncate(" ".join(detail.strip().splitlines()[:1]) or type(exc).__name__)


def _write_isolating_failures(session: Session, stmt: Any, pending: list[_Pending], report: ImportReport) -> None:
    """Write a batch in one statement and commit; rows it skips are duplicates. If the database refuses the
    batch, write row by row so that only the rows it refuses are lost, each one reported."""
    if not pending:
        return
    try:
        written = _rows_written(session, stmt, [p.values for p in pending])
        session.commit()
    except SQLAlchemyError as exc:
        session.rollback()
        if isinstance(exc, DBAPIError) and exc.connection_invalidated:
            raise
    else:
        report.imported += written
        report.duplicates += len(pending) - written
        return
    for p in pending:
        try:
            written = _rows_written(session, stmt, [p.values])
            session.commit()
        except SQLAlchemyError as exc:
            session.rollback()
            report.reject(p.record.line, [(None, f"the database refused it: {_db_error(exc)}")], p.record.raw,
                          p.record.values)
        else:
            report.imported += written
            report.duplicates += 1 - written


def _customer_ids(session: Session, external_ids: set[str]) -> dict[str, int]:
    rows = session.execute(select(Customer.external_id, Customer.id).where(Customer.external_id.in_(external_ids)))
    return dict(rows.all())


def _write_events(session: Session, rows: list[_EventRow], source: str, report: ImportReport) -> None:
    customers = _customer_ids(session, {r.customer for r in rows})
    skus = {r.sku for r in rows if r.sku}
    products = {
        sku: (pk, category)
        for sku, pk, category in session.execute(
            select(Product.sku, Product.id, Product.category).where(Product.sku.in_(skus))
        )
    } if skus else {}
    fresh: dict[str, _Pending] = {}
    for row in rows:
        errors: Errors = []
        if row.customer not in customers:
            errors.append(("customer_id", f"unknown customer {_quote(row.customer)}"))
        product = products.get(row.sku) if row.sku else None
        if row.sku and product is None:
            errors.append(("sku", f"unknown SKU {_quote(row.sku)}"))
        elif product and row.category and row.category != product[1]:
            errors.append(("category", f"{row.category}, but {row.sku} is in {product[1]}"))
        if errors:
            report.reject(row.record.line, errors, row.record.raw, row.record.values)
        elif row.external_id in fresh:
            report.duplicates += 1
        else:
            fresh[row.external_id] = _Pending(row.record, {
                "customer_id": customers[row.customer],
                "product_id": product[0] if product else None,
                "category": product[1] if product else row.category,
                "kind": row.kind,
                "value": row.value,
                "occurred_at": row.occurred_at,
                "channel": row.texts["channel"] or DEFAULT_CHANNEL,
                "strategy": row.texts["strategy"],
                "request_id": row.texts["request_id"],
                "solicited": None,
                "source": source,
                "external_id": row.external_id,
            })
    stmt = _dialect_insert(session, _EVENTS).on_conflict_do_nothing(index_elements=["source", "external_id"])
    _write_isolating_failures(session, stmt, list(fresh.values()), report)


def _write_consents(session: Session, rows: list[_ConsentRow], source: str, report: ImportReport) -> None:
    customers = _customer_ids(session, {r.customer for r in rows})
    newest: dict[int, _ConsentRow] = {}
    for row in rows:
        pk = customers.get(row.customer)
        if pk is None:
            report.reject(row.record.line, [("customer_id", f"unknown customer {_quote(row.customer)}")],
                          row.record.raw, row.record.values)
            continue
        previous = newest.get(pk)
        if previous is not None:
            report.duplicates += 1  # one of the two answers is superseded
            if previous.updated_at > row.updated_at:
                continue
        newest[pk] = row
    pending = [
        _Pending(row.record, {"customer_id": pk, "granted": row.granted, "updated_at": row.updated_at,
                              "source": source})
        for pk, row in newest.items()
    ]
    insert = _dialect_insert(session, _CONSENTS)
    stmt = insert.on_conflict_do_update(  # only a newer answer replaces the stored one
        index_elements=["customer_id"],
        set_={"granted": insert.excluded.granted, "updated_at": insert.excluded.updated_at,
              "source": insert.excluded.source},
        where=insert.excluded.updated_at > _CONSENTS.c.updated_at,
    )
    _write_isolating_failures(session, stmt, pending, report)


# --- the import loop ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _ImportKind:
    """What one kind of import reads and how it writes a batch."""

    columns: tuple[str, ...]
    aliases: Mapping[str, str]
    required: tuple[tuple[str, ...], ...]  # CSV header: one of each tuple
    parse: Callable[[_Record, datetime], tuple[Any, Errors]]
    write: Callable[[Session, list, str, ImportReport], None]


_EVENT_IMPORT = _ImportKind(
    columns=("customer_id", "kind", "sku", "category", "value", "timestamp", "channel", "strategy", "request_id",
             "event_id"),
    aliases=EVENT_ALIASES,
    required=(("customer_id",), ("kind",), ("timestamp",), ("sku", "category")),
    parse=_parse_event,
    write=_write_events,
)
_CONSENT_IMPORT = _ImportKind(
    columns=("customer_id", "granted", "updated_at"),
    aliases=CONSENT_ALIASES,
    required=(("customer_id",), ("granted",), ("updated_at",)),
    parse=_parse_consent,
    write=_write_consents,
)


def _run_import(
    session: Session,
    path: str | Path,
    kind: _ImportKind,
    *,
    format: str | None,
    source: str | None,
    batch_size: int,
    progress: bool,
    now: datetime | None,
    max_rejects: int,
) -> ImportReport:
    path = Path(path)
    if not path.is_file():
        raise ImportFileError(f"{path}: no such file")
    fmt = detect_format(path, format)
    if not 1 <= batch_size <= MAX_BATCH_SIZE:
        raise ValueError(f"batch_size must be from 1 to {MAX_BATCH_SIZE:,}")
    if source is not None and not 0 < len(source) <= _SOURCE_CHARS:
        raise ValueError(f"source must be 1 to {_SOURCE_CHARS} characters")
    now = now or utcnow()
    started = time.perf_counter()
    report = ImportReport(str(path), source or source_for(path), kind.columns, max_rejects=max_rejects)
    columns = _Columns(kind.aliases)
    size = path.stat().st_size
    with path.open("rb") as fh, tqdm(total=size, unit="B", unit_scale=True, unit_divisor=1024,
                                     desc=f"importing {path.name}", disable=not progress) as bar:
        reader: _CsvReader | _JsonLinesReader | _JsonListReader
        if fmt == "csv":
            reader = _CsvReader(fh, columns, kind.required)
        elif fmt == "jsonl":
            reader = _JsonLinesReader(fh, columns)
        else:
            reader = _JsonListReader(fh, columns)
        batch: list = []

        def flush() -> None:
            kind.write(session, batch, report.source, report)
            batch.clear()
            bar.set_postfix(imported=f"{report.imported:,}", rejected=f"{report.rejected_count:,}", refresh=False)

        for record in reader:
            report.rows_read += 1
            if report.rows_read % _PROGRESS_EVERY == 0:
                bar.update(reader.bytes_read - bar.n)
            row, errors = (None, record.errors) if record.errors else kind.parse(record, now)
            if errors:
                report.reject(record.line, errors, record.raw, record.values)
                if record.final:
                    report.notes.append(f"stopped reading at line {record.line}; the rows before it were imported")
                continue
            batch.append(row)
            if len(batch) >= batch_size:
                flush()
        if batch:
            flush()
        bar.update(reader.bytes_read - bar.n)
    report.ignored_columns = sorted(columns.ignored)
    if report.rows_read == 0:
        if size == 0 or (isinstance(reader, _CsvReader) and not reader.header_seen):
            report.notes.append("the file is empty: nothing to import")
        elif isinstance(reader, _CsvReader):
            report.notes.append("the file has a header row but no rows: nothing to import")
        else:
            report.notes.append("the file holds no rows: nothing to import")
    report.rejected.sort(key=lambda r: r.line)
    report.elapsed_s = time.perf_counter() - started
    return report
