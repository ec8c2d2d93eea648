"""Fixtures of the web tests."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.settings import Settings, get_settings  # noqa: E402
from tests.web.tandem_web_support import (  # noqa: E402
    TEST_SECRET,
    FakeCustomerDirectory,
    demo_customers,
    make_settings,
)


@pytest.fixture(scope="module", autouse=True)
def isolated_environment(tmp_path_factory):
    """Keep the tests away from the real .tandem/ state directory and secret (and undo it afterwards)."""
    state_dir = tmp_path_factory.mktemp("tandem-state")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TANDEM_STATE_DIR", str(state_dir))
        mp.setenv("TANDEM_SECRET_KEY", TEST_SECRET)
        get_settings.cache_clear()
        yield
    get_settings.cache_clear()


@pytest.fixture
def settings(tmp_path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
def directory() -> FakeCustomerDirectory:
    return FakeCustomerDirectory(demo_customers())
