"""Writing checked rows in batches, one commit per batch, so a crash loses at most one batch.

Duplicates are decided by the database itself (INSERT ... ON CONFLICT, the same statement on SQLite and
PostgreSQL through SQLAlchemy's dialect inserts): one index probe per row whatever the planner believes. A
pre-query "which of these ids are stored?" is not: PostgreSQL plans it from statistics taken before the
import began, scans every row the import already wrote for each batch, and so goes quadratic.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.orm import Session

from bot.db.dialect import dialect_insert
from bot.db.models import BehaviourEvent, Customer, PersonalizationConsent, Product
from bot.personalization.importer.readers import _Record
from bot.personalization.importer.report import Errors, ImportReport, _quote, _truncate
from bot.personalization.importer.validation import _ConsentRow, _EventRow

# Stored as `channel` when a row names none.
DEFAULT_CHANNEL = "import"
MAX_BATCH_SIZE = 10_000  # one IN (...) parameter per row: stay far below SQLite's variable limit

_EVENTS = BehaviourEvent.__table__
_CONSENTS = PersonalizationConsent.__table__


@dataclass(frozen=True)
class _Pending:
    record: _Record
    values: dict[str, Any]  # the table row


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
            report.reject(
                p.record.line, [(None, f"the database refused it: {_db_error(exc)}")], p.record.raw, p.record.values
            )
        else:
            report.imported += written
            report.duplicates += 1 - written


def _customer_ids(session: Session, external_ids: set[str]) -> dict[str, int]:
    rows = session.execute(select(Customer.external_id, Customer.id).where(Customer.external_id.in_(external_ids)))
    return dict(rows.all())


def _write_events(session: Session, rows: list[_EventRow], source: str, report: ImportReport) -> None:
    customers = _customer_ids(session, {r.customer for r in rows})
    skus = {r.sku for r in rows if r.sku}
    products = (
        {
            sku: (pk, category)
            for sku, pk, category in session.execute(
                select(Product.sku, Product.id, Product.category).where(Product.sku.in_(skus))
            )
        }
        if skus
        else {}
    )
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
            fresh[row.external_id] = _Pending(
                row.record,
                {
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
                },
            )
    stmt = dialect_insert(session, _EVENTS).on_conflict_do_nothing(index_elements=["source", "external_id"])
    _write_isolating_failures(session, stmt, list(fresh.values()), report)


def _write_consents(session: Session, rows: list[_ConsentRow], source: str, report: ImportReport) -> None:
    customers = _customer_ids(session, {r.customer for r in rows})
    newest: dict[int, _ConsentRow] = {}
    for row in rows:
        pk = customers.get(row.customer)
        if pk is None:
            report.reject(
                row.record.line,
                [("customer_id", f"unknown customer {_quote(row.customer)}")],
                row.record.raw,
                row.record.values,
            )
            continue
        previous = newest.get(pk)
        if previous is not None:
            report.duplicates += 1  # one of the two answers is superseded
            if previous.updated_at > row.updated_at:
                continue
        newest[pk] = row
    pending = [
        _Pending(
            row.record, {"customer_id": pk, "granted": row.granted, "updated_at": row.updated_at, "source": source}
        )
        for pk, row in newest.items()
    ]
    insert = dialect_insert(session, _CONSENTS)
    stmt = insert.on_conflict_do_update(  # only a newer answer replaces the stored one
        index_elements=["customer_id"],
        set_={
            "granted": insert.excluded.granted,
            "updated_at": insert.excluded.updated_at,
            "source": insert.excluded.source,
        },
        where=insert.excluded.updated_at > _CONSENTS.c.updated_at,
    )
    _write_isolating_failures(session, stmt, pending, report)
