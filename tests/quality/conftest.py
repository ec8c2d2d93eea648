"""The stack the conversation-quality suite runs on: its own shop, large enough that no customer plays twice."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import DatabaseFactory
from tests.support.stack import seed_test_shop, tandem_stack

# Customers in the suite's shop: every persona of the short run finds a customer nobody else has played.
SHOP_CUSTOMERS = 300


@pytest.fixture(scope="package")
def quality_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    factory = DatabaseFactory("postgresql", tmp_path_factory.mktemp("quality-db"))
    url = factory.create()
    seed_test_shop(url, customers=SHOP_CUSTOMERS)
    try:
        with tandem_stack(url, tmp_path_factory.mktemp("quality")) as state:
            yield state
    finally:
        factory.close()
