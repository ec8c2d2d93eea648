"""Alembic environment for the shop database.

The URL comes from the caller (`config.set_main_option("sqlalchemy.url", ...)`, as `bot.db.migrate` does),
else from `TANDEM_DATABASE_URL` / `bot.settings`, so `alembic upgrade head` and `tandem db upgrade` agree.
"""

from __future__ import annotations

import os
from logging.config import fileConfig

from alembic import context
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

from bot.db.models import Base
from bot.db.session import ensure_sqlite_dir, is_sqlite

config = context.config

# Programmatic callers keep their own logging setup (fileConfig would reset it).
if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata


def _database_url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if url:
        return url
    url = os.environ.get("TANDEM_DATABASE_URL")
    if url:
        return url
    from bot.settings import get_settings

    return get_settings().database_url


def _configure_kwargs(url: str) -> dict:
    # SQLite cannot ALTER most things: batch mode recreates tables instead.
    return {
        "target_metadata": target_metadata,
        "render_as_batch": is_sqlite(url),
        "compare_type": True,
    }


def run_migrations_offline() -> None:
    """Emit SQL to stdout (`alembic upgrade head --sql`) without a database connection."""
    url = _database_url()
    context.configure(url=url, literal_binds=True, dialect_opts={"paramstyle": "named"}, **_configure_kwargs(url))
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run against a live database.

    Uses its own NullPool engine without the SQLite foreign-key pragma: batch mode drops and recreates
    tables, which with enforced foreign keys would cascade-delete child rows.
    """
    connection = config.attributes.get("connection")
    if connection is not None:
        url = str(connection.engine.url)
        context.configure(connection=connection, **_configure_kwargs(url))
        with context.begin_transaction():
            context.run_migrations()
        return

    url = _database_url()
    ensure_sqlite_dir(url)
    engine = create_engine(url, poolclass=NullPool, future=True)
    try:
        with engine.connect() as conn:
            context.configure(connection=conn, **_configure_kwargs(url))
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
