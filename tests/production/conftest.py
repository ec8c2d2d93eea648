"""One production profile for the package's tests: starting it costs a minute and a half on 2 cores.

`test_under_faults.py` kills its processes, so it runs last (pytest takes the modules in name order).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.chaos import CHAOS_ENV
from tests.support.production import Production, production_profile


@pytest.fixture(scope="package")
def production() -> Iterator[Production]:
    with production_profile(extra_env=CHAOS_ENV) as running:
        yield running
