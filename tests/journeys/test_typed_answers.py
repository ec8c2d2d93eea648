"""Every question a workflow asks understands typed answers the way it understands its buttons.

Each option of each waiting step says what it means (a button's `means`, an `ask`'s intents, an
`instruct`'s fixed / not-fixed meanings). This walks every step of every shop workflow and sends each option's
meanings as customers type them (tests/journeys/typed_answers.yml, none of them training data) through the
trained NLU, then through the rule the runner and the dialogue policy share (`Accepts`): the typed answer
must take the branch the button takes.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import pytest
import yaml

from bot.journeys.types import UserInput
from bot.journeys.workflows import load_workflows
from bot.journeys.workflows.answers import Accepts, interpret
from bot.journeys.workflows.schema import AskStep, InstructStep
from tests.support.rasa_model import nlu_parser

pytestmark = pytest.mark.slow

PARAPHRASES = yaml.safe_load((Path(__file__).with_name("typed_answers.yml")).read_text())
NLU = Path(__file__).resolve().parents[2] / "data" / "nlu"
# Share of a meaning's paraphrases that must reach the button's branch at every step that offers it.
MIN_PER_OPTION = 0.8


def _normal(text: str) -> str:
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)|\[([^\]]*)\]\{[^}]*\}", lambda m: m.group(1) or m.group(2) or "", text)
    return " ".join(re.findall(r"[a-z0-9']+", text.casefold()))


def test_the_paraphrases_are_not_training_examples() -> None:
    training = {
        _normal(line.strip()[2:])
        for path in NLU.glob("*.yml")
        for line in path.read_text().splitlines()
        if line.strip().startswith("- ")
    }
    leaked = [t for texts in PARAPHRASES.values() for t in texts if _normal(t) in training]
    assert not leaked, f"typed answers used as training data: {leaked}"


def _waiting_steps():
    for workflow in load_workflows().values():
        for step in workflow.steps.values():
            if isinstance(step, (AskStep, InstructStep)) and Accepts.of(step).options:
                yield workflow.id, step


def test_every_option_of_every_step_declares_a_meaning_with_paraphrases() -> None:
    missing = []
    for workflow, step in _waiting_steps():
        for option in Accepts.of(step).options:
            meanings = list(option.intents) + [f"{e}={v}" for e, v in option.entities]
            if not any(m in PARAPHRASES for m in meanings):
                missing.append(f"{workflow}.{step.id} -> {option.next}: {meanings}")
    assert not missing, "options nobody can type (add paraphrases to typed_answers.yml):\n" + "\n".join(missing)


def test_typed_answers_take_the_same_branch_as_the_buttons() -> None:
    parse = nlu_parser()
    parsed = {text: UserInput.from_parse_data(parse(text)) for texts in PARAPHRASES.values() for text in texts}
    tried: dict[str, int] = defaultdict(int)
    wrong: dict[str, list[str]] = defaultdict(list)
    for workflow, step in _waiting_steps():
        accepts = Accepts.of(step)
        for option in accepts.options:
            meanings = list(option.intents) + [f"{e}={v}" for e, v in option.entities]
            for meaning in meanings:
                for text in PARAPHRASES.get(meaning, []):
                    key = f"{workflow}.{step.id} -> {option.next} ({meaning})"
                    tried[key] += 1
                    answer = interpret(step, parsed[text])
                    if answer is None or answer.next != option.next or not accepts.answered_by(parsed[text]):
                        got = answer.next if answer else "not an answer"
                        wrong[key].append(
                            f"{text!r} -> {got} (NLU: {parsed[text].ranking[:2]}, {dict(parsed[text].entities)})"
                        )
    total, failed = sum(tried.values()), sum(len(v) for v in wrong.values())
    below = {k: v for k, v in wrong.items() if 1 - len(v) / tried[k] < MIN_PER_OPTION}
    report = "\n".join(f"{k}:\n    " + "\n    ".join(v) for k, v in wrong.items())
    print(f"\ntyped answers: {total - failed}/{total} took the button's branch")
    assert not below and failed <= 0.05 * total, report
