"""The quality suite measures understanding of text the bot never trained on: none of its messages may be
an NLU training example, and every conversation is well formed (known persona, placeholders, checks)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from tests.quality import runner

NLU = Path(__file__).resolve().parents[2] / "data" / "nlu"
CHECKS = set(runner.CHECKS)


def _normal(text: str) -> str:
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)|\[([^\]]*)\]\{[^}]*\}", lambda m: m.group(1) or m.group(2) or "", text)
    text = re.sub(r"\{\w+\}|TD-?\d{6}", " slot ", text, flags=re.IGNORECASE)  # an order number either way
    return " ".join(re.findall(r"[a-z0-9']+", text.casefold()))


def _training_examples() -> set[str]:
    examples: set[str] = set()
    for path in NLU.glob("*.yml"):
        for item in (yaml.safe_load(path.read_text()) or {}).get("nlu") or []:
            for line in str(item.get("examples") or "").splitlines():
                line = line.strip()
                if line.startswith("- "):
                    examples.add(_normal(line[2:]))
    return examples


def test_no_customer_message_of_the_suite_is_a_training_example() -> None:
    training = _training_examples()
    leaked = sorted(
        {turn for c in runner.load() for turn in c.turns if len(_normal(turn)) > 12 and _normal(turn) in training}
    )
    assert not leaked, f"quality-suite messages found in data/nlu (keep them out of training): {leaked[:10]}"


def test_every_conversation_uses_a_known_persona_and_known_checks() -> None:
    conversations = runner.load()
    assert len(conversations) >= 120
    for conversation in conversations:
        assert conversation.persona in runner.PERSONAS, conversation.id
        assert conversation.turns and conversation.expect, conversation.id
        assert set(conversation.expect) <= CHECKS, (conversation.id, set(conversation.expect) - CHECKS)
        for checks in conversation.turn_expect.values():
            assert set(checks) <= {"says", "never_says"}, conversation.id


def test_no_paraphrase_of_the_nlu_benchmark_is_a_training_example() -> None:
    """bench/shop_paraphrases.py measures understanding of unseen wording: its messages stay out of data/nlu."""
    paraphrases = yaml.safe_load((NLU.parents[1] / "bench" / "data" / "shop_paraphrases.yml").read_text())
    training = _training_examples()
    leaked = sorted(
        {
            text
            for texts in paraphrases.values()
            for text in texts
            if len(_normal(text)) > 12 and _normal(text) in training
        }
    )
    assert not leaked, f"benchmark paraphrases found in data/nlu: {leaked[:10]}"
