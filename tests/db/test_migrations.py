"""The Alembic migrations create exactly the schema the ORM models describe, on both backends."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from bot.db.migrate import alembic_config, head_revision, upgrade
from bot.db.models import Base
from bot.db.session import make_engine

EXPECTED_TABLES = {
    "customers",
    "products",
    "product_compatibility",
    "orders",
    "order_lines",
    "customer_devices",
    "customer_plans",
}


def _diffs(url: str) -> list:
    with make_engine(url).connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(context, Base.metadata)


def test_migrated_schema_matches_models(db_url):
    assert _diffs(db_url) == []


def test_tables_and_key_indexes(db_url):
    inspector = inspect(make_engine(db_url))
    assert EXPECTED_TABLES <= set(inspector.get_table_names())
    unique = {
        (table, tuple(ix["column_names"]))
        for table in ("orders", "customers", "products")
        for ix in inspector.get_indexes(table)
        if ix["unique"]
    }
    assert ("orders", ("order_number",)) in unique
    assert ("customers", ("external_id",)) in unique
    indexed = {tuple(ix["column_names"]) for ix in inspector.get_indexes("orders")}
    assert any(cols[0] == "customer_id" for cols in indexed)
    product_indexed = {tuple(ix["column_names"]) for ix in inspector.get_indexes("products")}
    assert {("category",), ("brand",)} <= product_indexed


def test_database_is_at_head(db_url):
    with make_engine(db_url).connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == head_revision()


def test_upgrade_is_idempotent_and_downgrade_round_trips(db_factory):
    url = db_factory.create()
    upgrade(url)  # already at head: nothing to do
    command.downgrade(alembic_config(url), "base")
    tables = set(inspect(make_engine(url)).get_table_names()) - {"alembic_version"}
    assert not tables & EXPECTED_TABLES
    upgrade(url)
    assert _diffs(url) == []


def test_upgrade_creates_sqlite_parent_folder(tmp_path):
    url = f"sqlite:///{tmp_path / 'nested' / 'deeper' / 'tandem.db'}"
    upgrade(url)
    assert (tmp_path / "nested" / "deeper" / "tandem.db").exists()
    assert _diffs(url) == []
