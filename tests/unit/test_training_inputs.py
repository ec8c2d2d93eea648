"""What the Rasa model is trained from: the domain folder and data/, never the workflows or the handoff rules."""

from __future__ import annotations

from bot.training import training_inputs
from tests.conftest import ROOT


def test_the_domain_folder_and_the_training_data_are_inputs() -> None:
    inputs = {path.relative_to(ROOT).as_posix() for path in training_inputs()}
    assert {
        "config.yml",
        "domain/orders.yml",
        "domain/workflows.yml",
        "data/rules/orders.yml",
        "data/stories/orders.yml",
        "data/nlu/orders.yml",
    } <= inputs
    assert all((ROOT / path).is_file() for path in inputs)


def test_the_files_the_action_server_reads_are_not() -> None:
    """Editing a workflow or the handoff queues needs no new model (the action server reads them)."""
    inputs = {path.relative_to(ROOT).as_posix() for path in training_inputs()}
    assert not {path for path in inputs if path.startswith(("workflows/", "config/"))}
    assert (ROOT / "workflows" / "late_delivery.yml").is_file() and (ROOT / "config" / "handoff.yml").is_file()
