"""docs/modules.md lists every module with its purpose, so a newcomer's map of the code is never stale."""

from __future__ import annotations

from tests.support.module_index import ROOT, modules, render


def test_every_module_says_what_it_is_for():
    assert [path for path, purpose in modules() if not purpose] == []


def test_the_module_index_is_current():
    """Regenerate with `.venv/bin/python -m tests.support.module_index > docs/modules.md`."""
    assert (ROOT / "docs" / "modules.md").read_text() == render()
