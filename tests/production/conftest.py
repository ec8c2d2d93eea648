"""One production profile for the module's tests: starting it costs a minute and a half on 2 cores."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.production import Production, production_profile


@pytest.fixture(scope="module")
def production() -> Iterator[Production]:
    with production_profile() as running:
        yield running
