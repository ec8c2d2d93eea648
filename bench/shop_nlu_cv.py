"""Cross-validated intent and entity accuracy of config.yml on the shop's own NLU data (data/nlu).

Stratified k folds (seed 42): each fold trains on the rest through Rasa's API and parses the held-out
examples. Entities are scored per (type, value) after synonym mapping, micro-averaged.

    python bench/shop_nlu_cv.py [--folds 5]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from nlu_harness import ROOT, best_intent, project_pipeline, quiet_rasa, train_and_parse


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    quiet_rasa()

    from rasa.shared.nlu.training_data.loading import load_data
    from rasa.shared.nlu.training_data.training_data import TrainingData
    from sklearn.metrics import accuracy_score, f1_score
    from sklearn.model_selection import StratifiedKFold

    data = load_data(str(ROOT / "data" / "nlu"))
    examples = [e for e in data.intent_examples]
    labels = [e.get("intent") for e in examples]
    gold_intents, predicted_intents = [], []
    entity_counts = Counter()
    folds = StratifiedKFold(n_splits=args.folds, shuffle=True, random_state=42)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        for k, (train_idx, test_idx) in enumerate(folds.split(examples, labels)):
            train = TrainingData(
                training_examples=[examples[i] for i in train_idx],
                entity_synonyms=data.entity_synonyms,
                regex_features=data.regex_features,
                lookup_tables=data.lookup_tables,
            )
            train_file = workdir / f"fold{k}.yml"
            train_file.write_text(train.nlu_as_yaml())
            test = [examples[i] for i in test_idx]
            parsed, _, _ = train_and_parse(
                f"fold{k}", project_pipeline(), train_file, [e.get("text") for e in test], workdir
            )
            for example, result in zip(test, parsed):
                gold_intents.append(example.get("intent"))
                predicted_intents.append(best_intent(result))
                gold = {
                    (e["entity"], str(data.entity_synonyms.get(e["value"], e["value"])).lower())
                    for e in example.get("entities", [])
                }
                found = {(e["entity"], str(e["value"]).lower()) for e in result.get("entities", [])}
                entity_counts["tp"] += len(gold & found)
                entity_counts["fp"] += len(found - gold)
                entity_counts["fn"] += len(gold - found)
            print(f"fold {k}: intent accuracy so far {accuracy_score(gold_intents, predicted_intents):.4f}", flush=True)

    tp, fp, fn = entity_counts["tp"], entity_counts["fp"], entity_counts["fn"]
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    result = {
        "examples": len(examples),
        "folds": args.folds,
        "intent_accuracy": accuracy_score(gold_intents, predicted_intents),
        "intent_macro_f1": f1_score(gold_intents, predicted_intents, labels=sorted(set(gold_intents)), average="macro"),
        "entity_precision": precision,
        "entity_recall": recall,
        "entity_f1": 2 * precision * recall / (precision + recall) if precision + recall else 0.0,
    }
    confusions = Counter((g, p) for g, p in zip(gold_intents, predicted_intents) if g != p)
    print(json.dumps(result, indent=2))
    print("most confused (gold -> predicted):", confusions.most_common(8))
    if args.json:
        args.json.write_text(
            json.dumps(result | {"confusions": [[g, p, n] for (g, p), n in confusions.most_common(20)]}, indent=2)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
