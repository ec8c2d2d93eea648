"""The NLU regression check's held-out messages, and what a model predicts for each (`rasa test nlu`).

The held-out file (config/models.yml `check.held_out`, an intent -> messages mapping) is never training data:
messages typed the way customers type, written without seeing data/nlu, and a test keeps them out of it. Should one
become a training example all the same (an inbox annotation can add any text), it no longer measures understanding
of unseen text, so the comparison leaves it out for both models (`usable`).

A model's predictions are stored per message, not as per-intent scores, so the scores of two models are always
computed on the same messages, whichever were left out when each was evaluated.
"""

from __future__ import annotations

import hashlib
import json
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml

from bot.model_release.rasa_process import run_rasa

EVALUATION_VERSION = "1"  # part of the cache key: a change of how messages are evaluated evaluates them again
_ANNOTATION = re.compile(r"\[([^\]]*)\](?:\([^)]*\)|\{[^}]*\}|\[[^\]]*\])")
_BRACKETS = str.maketrans({"[": "(", "]": ")"})  # plain text Rasa would read as an entity annotation


class HeldOutError(ValueError):
    """The held-out file cannot be used, or a model could not be evaluated on it; says why."""


@dataclass(frozen=True)
class Example:
    text: str
    intent: str


@dataclass(frozen=True)
class HeldOutSet:
    path: Path
    examples: tuple[Example, ...]
    key: str  # changes with the file's content: the cache key of a model's predictions

    @property
    def intents(self) -> list[str]:
        return sorted({e.intent for e in self.examples})


# (text, gold intent) -> predicted intent
Predictions = dict[tuple[str, str], str]


def load_held_out(path: Path) -> HeldOutSet:
    try:
        content = path.read_bytes()
        raw = yaml.safe_load(content)
    except OSError as exc:
        raise HeldOutError(f"cannot read the held-out messages {path}: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise HeldOutError(f"the held-out messages {path} are not valid YAML: {exc}") from exc
    if not isinstance(raw, dict) or not raw:
        raise HeldOutError(f"{path} must map each intent to a list of messages")
    examples = []
    for intent, texts in raw.items():
        if not isinstance(texts, list):
            raise HeldOutError(f"{path}: {intent} must have a list of messages")
        examples += [Example(str(t).translate(_BRACKETS).strip(), str(intent)) for t in texts if str(t).strip()]
    digest = hashlib.sha256(EVALUATION_VERSION.encode() + content).hexdigest()[:16]
    return HeldOutSet(path, tuple(dict.fromkeys(examples)), f"heldout-{digest}")


def normal_form(text: str) -> str:
    """Lowercase words and digits only, annotations unwrapped: two messages that differ only in case, spacing,
    punctuation or markup are the same message."""
    return " ".join(re.findall(r"[a-z0-9']+", _ANNOTATION.sub(r"\1", text).casefold()))


def training_examples(nlu_dir: Path) -> set[str]:
    """The normal form of every NLU training example under `nlu_dir` (Rasa's YAML: `- text` lines of `examples`)."""
    found: set[str] = set()
    for path in sorted(nlu_dir.rglob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for item in data.get("nlu") or []:
            for line in str(item.get("examples") or "").splitlines():
                line = line.strip()
                if line.startswith("- "):
                    found.add(normal_form(line[2:]))
    return found


def usable(held_out: HeldOutSet, training: Iterable[str]) -> tuple[list[Example], list[Example]]:
    """(examples to compare on, examples left out because they are training examples)."""
    seen = set(training)
    kept: list[Example] = []
    left_out: list[Example] = []
    for example in held_out.examples:
        (left_out if normal_form(example.text) in seen else kept).append(example)
    return kept, left_out


def as_rasa_nlu(examples: Iterable[Example]) -> str:
    """Rasa's NLU training-data YAML for `examples`, one block per intent."""
    by_intent: dict[str, list[str]] = {}
    for example in examples:
        by_intent.setdefault(example.intent, []).append(example.text)
    blocks = [
        {"intent": intent, "examples": "".join(f"- {text}\n" for text in texts)} for intent, texts in by_intent.items()
    ]
    return yaml.safe_dump({"version": "3.1", "nlu": blocks}, sort_keys=False, allow_unicode=True, width=10_000)


def evaluate(model: Path, held_out: HeldOutSet, log: Path, timeout: float) -> Predictions:
    """What `model` predicts for every held-out message (Rasa loads it in a child process: about a minute)."""
    with tempfile.TemporaryDirectory(prefix="tandem-heldout-") as workdir:
        data = Path(workdir) / "held_out.yml"
        data.write_text(as_rasa_nlu(held_out.examples), encoding="utf-8")
        out = Path(workdir) / "results"
        run = run_rasa(
            ["test", "nlu", "--model", str(model), "--nlu", str(data), "--out", str(out), "--no-plot", "--successes"],
            log,
            timeout,
        )
        if not run.ok:
            why = "ran out of time" if run.returncode == -1 else f"exited with code {run.returncode}"
            raise HeldOutError(f"`rasa test nlu` on {model.name} {why}; its log {log}:\n{run.tail(2000)}")
        predictions: Predictions = {}
        for name in ("intent_successes.json", "intent_errors.json"):
            path = out / name
            if path.exists():
                for row in json.loads(path.read_text(encoding="utf-8")):
                    predicted = (row.get("intent_prediction") or {}).get("name") or "none"
                    predictions[(str(row["text"]), str(row["intent"]))] = str(predicted)
    missing = [e for e in held_out.examples if (e.text, e.intent) not in predictions]
    if len(missing) > len(held_out.examples) // 100:
        raise HeldOutError(
            f"`rasa test nlu` on {model.name} returned no prediction for {len(missing)} of "
            f"{len(held_out.examples)} messages (e.g. {missing[0].text!r}); its log {log}"
        )
    return predictions


def to_json(predictions: Predictions) -> list[list[str]]:
    return [[text, gold, predicted] for (text, gold), predicted in sorted(predictions.items())]


def from_json(rows: list[list[str]]) -> Predictions:
    return {(text, gold): predicted for text, gold, predicted in rows}
