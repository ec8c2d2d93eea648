"""The whole check with Rasa itself: `rasa data validate` on the project, the model of the data (the tests' cached
one: nothing is trained here), `rasa test core` on test stories one of which the model breaks, and `rasa test nlu`
on the held-out messages with the candidate and the serving model. The check refuses the model and names the story
and the step it got wrong; a publish is then refused with those reasons."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.model_release.check import check
from bot.model_release.config import load_config
from bot.model_release.publish import PublishError, publish
from bot.model_release.registry import Registry
from bot.training import fingerprint
from tests.support.rasa_model import ROOT, trained_model

pytestmark = pytest.mark.slow

BROKEN = """version: "3.1"
stories:
  - story: a greeting answered with a goodbye
    steps:
      - user: |
          hello there
        intent: greet
      - action: utter_goodbye
"""


def test_a_model_that_breaks_a_conversation_test_is_refused_with_the_failing_story(tmp_path: Path):
    cached = trained_model()  # also names the tests' sentiment model in the environment: the same fingerprint
    assert cached.name == f"tandem-{fingerprint()}.tar.gz"
    models = tmp_path / "models"
    models.mkdir()
    registry = Registry(models)
    serving = models / "tandem-serving.tar.gz"
    shutil.copy(cached, serving)
    registry.register(serving, trained_by="tests")
    registry.record_published("tandem-serving", "tests")
    shutil.copy(cached, models / cached.name)  # the model of the data as it is: up to date, not trained again
    stories = tmp_path / "stories"
    stories.mkdir()
    shutil.copy(ROOT / "tests" / "conversations" / "test_orders.yml", stories)  # passes
    (stories / "test_broken.yml").write_text(BROKEN)
    events = []

    result = check(
        registry, load_config(), tmp_path / "work", trained_by="tests", progress=events.append, stories=stories
    )

    steps = {s.step: s for s in result.steps}
    assert steps["validate"].passed, steps["validate"].details
    assert steps["train"].passed and "up to date" in steps["train"].summary
    assert not steps["conversations"].passed and steps["conversations"].summary == "1 conversation test(s) failed"
    [story] = steps["conversations"].details
    assert story.startswith("story 'a greeting answered with a goodbye' (test_broken.yml): action: utter_goodbye")
    assert "(predicted: action_greet)" in story
    # The same model on both sides: every intent scores the same, so the regression check passes.
    assert steps["regression"].passed, steps["regression"].details
    assert result.regression is not None and all(c["delta"] == 0 for c in result.regression["changes"])
    assert result.regression["messages"] > 1000
    assert not result.passed and result.model == cached.name[: -len(".tar.gz")]
    assert {e.step for e in events} >= {"validate", "train", "conversations", "regression", "check"}

    with pytest.raises(PublishError, match="failed its check: 1 conversation test.*a greeting answered with a goodbye"):
        publish(registry, result.model, [], None, by="tests")
    assert registry.current().name == "tandem-serving"
    # The serving model's predictions are cached: the next check evaluates only the candidate.
    assert registry.evaluation("tandem-serving", result.inputs["held_out"]) is not None
