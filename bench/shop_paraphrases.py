"""Intent accuracy of config.yml on paraphrases of the shop's intents that the training data never saw.

`bench/data/shop_paraphrases.yml` was written from one-line intent descriptions only, by someone who did not
see `data/nlu/` (22 messages per intent, typed the way customers type); a test keeps them out of training.
Trains config.yml's NLU on data/nlu (without the sentiment component, which plays no part in intents) and
parses every paraphrase: accuracy per intent, overall, and with the fallback counted as a miss.

    python bench/shop_paraphrases.py [--json results.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import Counter
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from nlu_harness import ROOT, best_intent, project_pipeline, quiet_rasa, train_and_parse

PARAPHRASES = ROOT / "bench" / "data" / "shop_paraphrases.yml"
SENTIMENT = "bot.nlu.sentiment_analyzer.SentimentAnalyzer"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    quiet_rasa()

    paraphrases = yaml.safe_load(PARAPHRASES.read_text())
    gold = [intent for intent, texts in paraphrases.items() for _ in texts]
    texts = [text for texts in paraphrases.values() for text in texts]
    pipeline = [c for c in project_pipeline() if c["name"] != SENTIMENT]
    with tempfile.TemporaryDirectory() as workdir:
        parsed, train_s, _ = train_and_parse("shop", pipeline, ROOT / "data" / "nlu", texts, Path(workdir))
    picked = [best_intent(p) for p in parsed]
    answered = [p["intent"]["name"] for p in parsed]

    per_intent = {}
    for intent in paraphrases:
        rows = [i for i, g in enumerate(gold) if g == intent]
        per_intent[intent] = sum(picked[i] == intent for i in rows) / len(rows)
    accuracy = sum(p == g for p, g in zip(picked, gold)) / len(gold)
    answered_right = sum(a == g for a, g in zip(answered, gold)) / len(gold)
    fallbacks = sum(a == "nlu_fallback" for a in answered) / len(gold)
    confusions = Counter((g, p) for g, p in zip(gold, picked) if g != p)

    print(f"shop paraphrases: {len(texts)} messages, {len(paraphrases)} intents (trained in {train_s:.0f} s)")
    print(f"  accuracy (the classifier's pick): {accuracy:.1%}")
    print(f"  answered right (a fallback counts as a miss): {answered_right:.1%}; fallbacks {fallbacks:.1%}")
    print("  per intent, worst first:")
    for intent, score in sorted(per_intent.items(), key=lambda kv: kv[1]):
        print(f"    {intent:<26} {score:6.1%}")
    print("  most frequent confusions (gold -> picked):")
    for (g, p), n in confusions.most_common(12):
        print(f"    {g} -> {p}: {n}")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "accuracy": accuracy,
                    "answered_right": answered_right,
                    "fallbacks": fallbacks,
                    "per_intent": per_intent,
                },
                indent=2,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
