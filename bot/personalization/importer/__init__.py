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

import hashlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session
from tqdm import tqdm

from bot.db.models import BehaviourEvent, utcnow
from bot.personalization.importer.readers import (
    FORMATS,
    MAX_FIELD_CHARS,
    MAX_RECORD_BYTES,
    REJECT_COLUMN_PREFIX,
    _Columns,
    _CsvReader,
    _JsonLinesReader,
    _JsonListReader,
    _Record,
    detect_format,
)
from bot.personalization.importer.report import Errors, ImportFileError, ImportReport, RejectedRow
from bot.personalization.importer.validation import EARLIEST_TIMESTAMP, FUTURE_TOLERANCE, _parse_consent, _parse_event
from bot.personalization.importer.writing import DEFAULT_CHANNEL, MAX_BATCH_SIZE, _write_consents, _write_events

__all__ = [
    "CONSENT_ALIASES",
    "DEFAULT_CHANNEL",
    "EARLIEST_TIMESTAMP",
    "EVENT_ALIASES",
    "FORMATS",
    "FUTURE_TOLERANCE",
    "MAX_BATCH_SIZE",
    "MAX_FIELD_CHARS",
    "MAX_RECORD_BYTES",
    "REJECT_COLUMN_PREFIX",
    "ImportFileError",
    "ImportReport",
    "RejectedRow",
    "detect_format",
    "import_consents",
    "import_events",
    "source_for",
]

_PROGRESS_EVERY = 1000  # rows between progress bar updates
_SOURCE_CHARS = BehaviourEvent.__table__.c.source.type.length

_CUSTOMER_ALIASES = {
    "customer_id": "customer_id",
    "customerid": "customer_id",
    "userid": "customer_id",
    "user_id": "customer_id",
}
EVENT_ALIASES: Mapping[str, str] = {
    **_CUSTOMER_ALIASES,
    "kind": "kind",
    "event": "kind",
    "type": "kind",
    "sku": "sku",
    "product_id": "sku",
    "productid": "sku",
    "item_id": "sku",
    "itemid": "sku",
    "category": "category",
    "value": "value",
    "timestamp": "timestamp",
    "time": "timestamp",
    "occurred_at": "timestamp",
    "channel": "channel",
    "strategy": "strategy",
    "request_id": "request_id",
    "event_id": "event_id",
}
CONSENT_ALIASES: Mapping[str, str] = {
    **_CUSTOMER_ALIASES,
    "granted": "granted",
    "updated_at": "updated_at",
    "timestamp": "updated_at",
    "time": "updated_at",
}


# --- public entry points -----------------------------------------------------------------------------------------


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
    return _run_import(
        session,
        path,
        _EVENT_IMPORT,
        format=format,
        source=source,
        batch_size=batch_size,
        progress=progress,
        now=now,
        max_rejects=max_rejects,
    )


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
    return _run_import(
        session,
        path,
        _CONSENT_IMPORT,
        format=format,
        source=source,
        batch_size=batch_size,
        progress=progress,
        now=now,
        max_rejects=max_rejects,
    )


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
    columns=(
        "customer_id",
        "kind",
        "sku",
        "category",
        "value",
        "timestamp",
        "channel",
        "strategy",
        "request_id",
        "event_id",
    ),
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
    with (
        path.open("rb") as fh,
        tqdm(
            total=size,
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            desc=f"importing {path.name}",
            disable=not progress,
        ) as bar,
    ):
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
