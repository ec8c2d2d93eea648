"""What the check tells from Rasa's own output (failed stories, validation warnings, training progress), and when a
check result stops holding. Rasa's real output where the project has it (the tests' training log); no training."""

from __future__ import annotations

import shutil
from pathlib import Path

from bot.model_release.check import CheckResult, StepResult, is_current, judged_against
from bot.model_release.config import parse_config
from bot.model_release.conversations import failed_stories, stories_key
from bot.model_release.heldout import load_held_out
from bot.model_release.progress import ProgressEvent, as_line
from bot.model_release.registry import Registry
from bot.model_release.train import _LogWatcher
from bot.model_release.validation import _rasa_lines, failure_reason

FAILED_STORIES = """version: "3.1"
stories:
- story: cancel then keep it (/work/main/tests/conversations/test_orders.yml)
  steps:
  - intent: cancel_order
  - action: action_cancel_order
  - intent: deny
  - action: utter_keep_order  # predicted: utter_goodbye
  - action: action_listen  # predicted: utter_anything_else
- story: greet (weird) name (tests/conversations/test_support.yml)
  steps:
  - intent: greet
  - action: utter_greet  # predicted: action_default_fallback
"""


def test_each_failed_story_is_named_with_the_steps_it_got_wrong():
    first, second = failed_stories(FAILED_STORIES)
    assert first.name == "cancel then keep it" and first.source.endswith("test_orders.yml")
    assert first.steps == (
        "action: utter_keep_order (predicted: utter_goodbye)",
        "action: action_listen (predicted: utter_anything_else)",
    )
    assert str(second) == (
        "story 'greet (weird) name' (test_support.yml): action: utter_greet (predicted: action_default_fallback)"
    )
    assert failed_stories("# None of the test stories failed - all good!") == []


def test_rasa_validation_output_splits_into_errors_and_warnings_each_once():
    output = (
        "2026-12-03 22:00:10 INFO rasa.validator - Validating intents...\n"
        "/x/rasa/utils.py:1: UserWarning: The intent 'other_language' is listed in the domain file, but is not found\n"
        "/x/rasa/utils.py:1: UserWarning: The intent 'other_language' is listed in the domain file, but is not found\n"
        "2026-12-03 22:00:11 ERROR rasa.validator - Story structure conflict after intent 'deny'\n"
    )
    errors, warnings = _rasa_lines(output)
    assert warnings == ["The intent 'other_language' is listed in the domain file, but is not found"]
    assert errors == ["2026-12-03 22:00:11 ERROR rasa.validator - Story structure conflict after intent 'deny'"]


def test_a_file_rasa_cannot_read_is_named_without_library_warnings_or_colour_codes():
    """What `rasa data validate` printed for a story file with a broken list (captured from Rasa 3.6.21)."""
    output = (
        "/x/rasa/shared/utils/validation.py:134: DeprecationWarning: pkg_resources is deprecated as an API.\n"
        "  import pkg_resources\n"
        "/x/pkg_resources/__init__.py:3117: DeprecationWarning: Deprecated call to `declare_namespace('ruamel')`.\n"
        "  declare_namespace(pkg)\n"
        "\x1b[91mYamlSyntaxException: Failed to read 'data/stories/broken.yml'. while parsing a flow sequence\n"
        "expected ',' or ']', but got '<stream end>'\n"
        "\n"
        "You can use https://yamlchecker.com/ to validate the YAML syntax of your file.\x1b[0m\n"
    )
    reason = failure_reason(output)
    assert reason.startswith("YamlSyntaxException: Failed to read 'data/stories/broken.yml'.")
    assert "Warning" not in reason and "\x1b" not in reason and "expected ',' or ']'" in reason
    # No exception line: the end of the output, still without the warnings.
    assert failure_reason("x.py:1: DeprecationWarning: old\n  import y\nKilled\n") == "Killed"


def test_training_progress_is_told_from_rasas_real_log(tmp_path: Path):
    """Lines of a real `rasa train` log of this project (data/rasa_train.log, the component and epoch lines of the
    tests' model's training): components, then the epochs by tenths."""
    events: list[ProgressEvent] = []
    log = tmp_path / "train.log"
    shutil.copy(Path(__file__).parent / "data" / "rasa_train.log", log)
    _LogWatcher(log, events.append).poll()
    lines = [as_line(e) for e in events]
    assert "[train] component 1: RegexFeaturizer" in lines
    assert any(line.startswith("[train] component") and "TEDPolicy" in line for line in lines)
    epochs = [e.fraction for e in events if e.fraction is not None]
    assert epochs[0] == 0.0 and epochs[-1] == 1.0 and epochs == sorted(epochs) and len(epochs) <= 11


def test_training_progress_read_as_the_log_grows_reports_a_half_written_line_once_it_is_whole(tmp_path: Path):
    events: list[ProgressEvent] = []
    log = tmp_path / "train.log"
    log.write_text("INFO rasa.engine.training.hooks  - Starting to train component 'Lin")
    watcher = _LogWatcher(log, events.append)
    watcher.poll()
    assert events == []
    with log.open("a") as out:
        out.write("earIntentClassifier'.\n")
    watcher.poll()
    assert [e.message for e in events] == ["component 1: LinearIntentClassifier"]


def a_result(model: str, inputs: dict, passed: bool = True) -> CheckResult:
    steps = (
        StepResult("validate", True, 30.0, "the data and workflows validate"),
        StepResult(
            "conversations", passed, 60.0, "1 conversation test(s) failed" if not passed else "ok", ("story 'x'",)
        ),
    )
    return CheckResult(model, passed, steps, inputs, None, "2026-12-03T22:00:00+00:00")


def test_a_check_result_survives_its_manifest_and_says_why_it_failed(tmp_path: Path):
    result = a_result("tandem-a", {"stories": "s"}, passed=False)
    again = CheckResult.from_json(result.to_json())
    assert again == result
    assert again.reasons == ["1 conversation test(s) failed", "story 'x'"] and again.seconds == 90.0


def test_a_check_result_stops_holding_when_the_tests_the_tolerance_or_the_serving_model_change(tmp_path: Path):
    models, stories = tmp_path / "models", tmp_path / "stories"
    models.mkdir()
    stories.mkdir()
    (stories / "test_a.yml").write_text("stories: []\n")
    held_out = tmp_path / "held_out.yml"
    held_out.write_text("greet: [hi]\n")
    config = parse_config({"check": {"held_out": str(held_out)}}, tmp_path)
    registry = Registry(models)
    for name in ("tandem-old", "tandem-new"):
        (models / f"{name}.tar.gz").write_bytes(b"x")
        registry.register(models / f"{name}.tar.gz", trained_by="tests")
    registry.record_published("tandem-old", "tests")
    inputs = judged_against(registry, config, load_held_out(held_out).key, stories)
    registry.save_check("tandem-new", a_result("tandem-new", inputs).to_json())
    assert is_current(registry.get("tandem-new"), registry, config, stories)

    stricter = parse_config({"check": {"held_out": str(held_out), "tolerance": 0.0}}, tmp_path)
    assert not is_current(registry.get("tandem-new"), registry, stricter, stories)
    (stories / "test_a.yml").write_text("stories: [] # edited\n")
    assert not is_current(registry.get("tandem-new"), registry, config, stories)
    (stories / "test_a.yml").write_text("stories: []\n")
    assert stories_key(stories) == inputs["stories"]
    (models / "tandem-other.tar.gz").write_bytes(b"x")
    registry.register(models / "tandem-other.tar.gz", trained_by="tests")
    registry.record_published("tandem-other", "tests")  # another model serves now: compared with the wrong one
    assert not is_current(registry.get("tandem-new"), registry, config, stories)


def test_the_check_report_shows_each_step_and_every_intent_that_changed(capsys):
    from bot.cli.model import print_check
    from bot.model_release.heldout import Example
    from bot.model_release.regression import compare

    examples = [Example(f"refund {i}", "refund_status") for i in range(4)] + [Example("hi", "greet")]
    serving = {(e.text, e.intent): e.intent for e in examples}
    candidate = {**serving, ("refund 0", "refund_status"): "greet", ("refund 1", "refund_status"): "greet"}
    report = compare(
        examples,
        candidate,
        serving,
        metric="recall",
        tolerance=0.05,
        candidate_model="tandem-new",
        serving_model="tandem-old",
    )
    steps = (
        StepResult("validate", True, 31.0, "the data and workflows validate"),
        StepResult("regression", False, 95.0, "1 intent(s) worse", tuple(report.reasons())),
    )
    print_check(CheckResult("tandem-new", False, steps, {}, report.to_json(), ""))
    out = capsys.readouterr().out
    assert "FAILED regression        95 s  1 intent(s) worse" in out
    assert "- refund_status: recall 1.00 -> 0.50 (-0.50, tolerance 0.05); now misunderstood: 'refund 0' -> greet" in out
    assert "  refund_status              1.00 -> 0.50  (-0.50)  WORSE" in out
    assert "1 intent(s) unchanged" in out  # greet: recall stays 1.0
    assert "check of tandem-new failed: it may not be published (126 s)" in out


def test_the_regression_step_compares_the_models_answers_kept_in_their_manifests(tmp_path: Path):
    """No Rasa here: both models' answers to the held-out messages are already in their manifests, as after a
    first check; the step compares them on the messages that are not training examples."""
    from bot.model_release.check import _regression
    from bot.model_release.heldout import to_json

    held_out = tmp_path / "held_out.yml"
    held_out.write_text("refund_status:\n- refund pls\n- money back?\n- where is my refund\ngreet:\n- hiya\n")
    nlu = tmp_path / "nlu"
    nlu.mkdir()
    (nlu / "refunds.yml").write_text("nlu:\n- intent: refund_status\n  examples: |\n    - Where is my refund\n")
    config = parse_config({"check": {"held_out": str(held_out), "metric": "recall", "tolerance": 0.4}}, tmp_path)
    models = tmp_path / "models"
    models.mkdir()
    registry = Registry(models)
    for name in ("tandem-old", "tandem-new"):
        (models / f"{name}.tar.gz").write_bytes(b"x")
        registry.register(models / f"{name}.tar.gz", trained_by="tests")
    registry.record_published("tandem-old", "tests")
    key = load_held_out(held_out).key
    right = {("refund pls", "refund_status"): "refund_status", ("money back?", "refund_status"): "refund_status"}
    right |= {("where is my refund", "refund_status"): "greet", ("hiya", "greet"): "greet"}
    registry.save_evaluation("tandem-old", key, to_json(right))
    wrong = right | {("refund pls", "refund_status"): "greet", ("money back?", "refund_status"): "nlu_fallback"}
    registry.save_evaluation("tandem-new", key, to_json(wrong))
    events: list[ProgressEvent] = []

    step, report = _regression(registry, registry.get("tandem-new"), tmp_path, config, events.append, nlu)

    assert not step.passed and step.summary.startswith("1 intent(s) worse than the serving tandem-old")
    assert step.details[0].startswith("refund_status: recall 1.00 -> 0.00 (-1.00, tolerance 0.40)")
    assert report is not None and report["messages"] == 3 and report["left_out"] == 1  # "where is my refund"
    assert [e.message for e in events][1:] == [
        "tandem-new's answers to them are known from an earlier check",
        "tandem-old's answers to them are known from an earlier check",
    ]
