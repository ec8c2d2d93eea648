"""Engines, sessions and the `tandem` CLI."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from bot.cli import main
from bot.db.models import Customer, Order
from bot.db.session import DatabaseUnavailable, make_engine, session_factory, session_scope, unit_of_work


def test_engine_is_cached_per_url(db_url):
    assert make_engine(db_url) is make_engine(db_url)
    assert session_factory(db_url) is session_factory(db_url)


def test_session_scope_commits_and_rolls_back(db_url):
    with session_scope(db_url) as s:
        s.add(Customer(external_id="CUST-SCOPE-1", name="Ada Lovelace", email="ada@example.com"))
    with pytest.raises(RuntimeError):
        with session_scope(db_url) as s:
            s.add(Customer(external_id="CUST-SCOPE-2", name="Alan Turing", email="alan@example.com"))
            s.flush()
            raise RuntimeError("boom")
    with session_scope(db_url) as s:
        ids = set(s.execute(select(Customer.external_id).where(Customer.external_id.like("CUST-SCOPE-%"))).scalars())
        assert ids == {"CUST-SCOPE-1"}
        s.query(Customer).filter(Customer.external_id == "CUST-SCOPE-1").delete()


def test_foreign_keys_are_enforced(db_url):
    """SQLite ignores foreign keys unless the connect pragma is set; PostgreSQL always enforces them."""
    with pytest.raises(IntegrityError):
        with session_scope(db_url) as s:
            s.add(
                Order(
                    order_number="TD000001", customer_id=999_999, status="placed", total=1, shipping_address="nowhere"
                )
            )
            s.flush()


def test_check_constraint_rejects_unknown_status(db_url):
    with pytest.raises(IntegrityError):
        with session_scope(db_url) as s:
            c = Customer(external_id="CUST-CHECK", name="X Y", email="x@example.com")
            s.add(c)
            s.flush()
            s.add(Order(order_number="TD000002", customer_id=c.id, status="lost", total=1, shipping_address="x"))
            s.flush()


def test_cli_seed_then_refuse_then_replace(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'cli' / 'shop.db'}"
    args = ["seed", "--database-url", url, "--customers", "12", "--anchor", "2026-11-01", "--no-progress"]
    assert main(args) == 0
    assert "12 customers" in capsys.readouterr().out
    assert main(args) == 1
    assert "--replace" in capsys.readouterr().err
    assert main(args + ["--replace", "--customers", "15"]) == 0
    with session_scope(url) as s:
        assert s.execute(select(func.count()).select_from(Customer)).scalar_one() == 15


def test_cli_db_upgrade(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'upgrade.db'}"
    assert main(["db", "upgrade", "--database-url", url]) == 0
    assert "head" in capsys.readouterr().out


def test_cli_rejects_bad_anchor(capsys):
    with pytest.raises(SystemExit):
        main(["seed", "--anchor", "01/11/2026", "--database-url", "sqlite://"])
    assert "YYYY-MM-DD" in capsys.readouterr().err


def test_a_unit_of_work_reports_a_database_failure_as_unavailable_and_keeps_nothing(db_url):
    """Actions and channels answer "try again" on DatabaseUnavailable without knowing SQLAlchemy."""
    with session_scope(db_url) as s:
        s.add(Customer(external_id="CUST-UOW-1", name="Ada Lovelace", email="ada@example.com"))
    with pytest.raises(DatabaseUnavailable):
        with unit_of_work(db_url) as s:
            s.execute(select(Customer).where(Customer.external_id == "CUST-UOW-1")).scalar_one().name = "Changed"
            s.add(Customer(external_id="CUST-UOW-1", name="Twin", email="twin@example.com"))  # a duplicate id
            s.flush()
    with session_scope(db_url) as s:
        rows = s.execute(select(Customer.name).where(Customer.external_id == "CUST-UOW-1")).scalars().all()
        assert rows == ["Ada Lovelace"]
        s.query(Customer).filter(Customer.external_id == "CUST-UOW-1").delete()
