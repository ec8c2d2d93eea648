"""Reading CSV, JSON Lines and JSON list files into records of canonical text values, one row at a time.

Memory stays bounded however big the file: CSV and JSON Lines are read line by line, a JSON list element by
element (a streaming parse), and no line or element may exceed MAX_RECORD_BYTES. A row that cannot be read is
a record carrying its errors, so one bad row never stops the import.
"""

from __future__ import annotations

import codecs
import csv
import dataclasses
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from bot.personalization.importer.report import _KEPT_CHARS, _SHOWN_CHARS, Errors, ImportFileError, _truncate

FORMATS = ("csv", "json", "jsonl")
_EXTENSIONS = {".csv": "csv", ".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl"}

# A line (CSV, JSON Lines) or JSON list element longer than this is rejected unread: it bounds memory.
MAX_RECORD_BYTES = 4 * 1024 * 1024
# Any single value longer than this is rejected (every stored column is far shorter).
MAX_FIELD_CHARS = 4096
# Columns of a rejects file (`ImportReport.write_rejects`) that the importer reads past.
REJECT_COLUMN_PREFIX = "reject_"

_CHUNK_BYTES = 1 << 16
_NON_SPACE = re.compile(r"\S")


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
            data = data[len(codecs.BOM_UTF8) :]
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
            raw = _truncate(self._buf[self._pos : min(end, self._pos + _KEPT_CHARS + 1)].replace("\n", " "))
            self._pos = end
            expect_comma = True
            yield _object_record(obj, line, raw, self._columns)

    def _stop(self, line: int, problem: str) -> _Record:
        raw = _truncate(self._buf[self._pos : self._pos + _KEPT_CHARS].replace("\n", " "))
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
        self._buf = self._buf[self._pos :] + text
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
