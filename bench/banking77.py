"""Intent accuracy and macro-F1 on BANKING77 for Tandem's NLU pipeline and Rasa's default one.

Every pipeline is trained through Rasa's own training API on train.csv and scored on test.csv, so the
figures include everything Rasa does with the config. Usage:

    python bench/banking77.py                         # config.yml and its variants
    python bench/banking77.py --default-epochs 100    # also Rasa's default pipeline (slow on a CPU)
    python bench/banking77.py --limit-train 2000      # quick smoke run
"""

from __future__ import annotations

import argparse
import copy
import csv
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml
from sklearn.metrics import accuracy_score, f1_score

sys.path.insert(0, str(Path(__file__).resolve().parent))
from nlu_harness import ROOT, best_intent, quiet_rasa, train_and_parse

DATA = ROOT.parent / "shared" / "data" / "banking77"

RASA_DEFAULT_PIPELINE = [
    {"name": "WhitespaceTokenizer"},
    {"name": "RegexFeaturizer"},
    {"name": "LexicalSyntacticFeaturizer"},
    {"name": "CountVectorsFeaturizer"},
    {"name": "CountVectorsFeaturizer", "analyzer": "char_wb", "min_ngram": 1, "max_ngram": 4},
    {"name": "DIETClassifier", "epochs": 100},
    {"name": "EntitySynonymMapper"},
    {"name": "FallbackClassifier", "threshold": 0.3, "ambiguity_threshold": 0.1},
]


def read_split(path: Path, limit: int | None = None) -> list[tuple[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = [(r["text"].strip(), r["category"]) for r in csv.DictReader(handle)]
    return rows[:limit] if limit else rows


def write_nlu_yaml(rows: list[tuple[str, str]], path: Path) -> None:
    by_intent: dict[str, list[str]] = {}
    for text, label in rows:
        by_intent.setdefault(label, []).append(text)
    nlu = [
        {"intent": label, "examples": "".join(f"- {json.dumps(t)[1:-1]}\n" for t in texts)}
        for label, texts in sorted(by_intent.items())
    ]
    path.write_text(yaml.safe_dump({"version": "3.1", "nlu": nlu}, sort_keys=False, width=10_000))


def project_pipeline(overrides: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    pipeline = copy.deepcopy(yaml.safe_load((ROOT / "config.yml").read_text())["pipeline"])
    for component in pipeline:
        short = component["name"].rsplit(".", 1)[-1]
        component.update(overrides.get(short, {}))
    return [c for c in pipeline if not c.pop("drop", False)]


def evaluate(
    name: str, pipeline: list[dict[str, Any]], train_file: Path, test: list[tuple[str, str]], workdir: Path
) -> dict[str, Any]:
    parsed, train_s, latencies = train_and_parse(name, pipeline, train_file, [t for t, _ in test], workdir)
    predicted = [best_intent(p) for p in parsed]
    gold = [label for _, label in test]
    latencies.sort()
    return {
        "pipeline": name,
        "accuracy": accuracy_score(gold, predicted),
        # over the data set's intents: a message the language detector answers (`other_language`) is a miss, not
        # a 78th class
        "macro_f1": f1_score(gold, predicted, labels=sorted(set(gold)), average="macro"),
        "train_s": train_s,
        "parse_p50_ms": 1000 * latencies[len(latencies) // 2],
        "parse_p99_ms": 1000 * latencies[int(len(latencies) * 0.99) - 1],
    }


VARIANTS: dict[str, dict[str, dict[str, Any]]] = {
    "tandem (config.yml)": {},
    "tandem: dense only (sparse_weight 0)": {"LinearIntentClassifier": {"sparse_weight": 0.0}},
    "tandem: sparse only (no encoder)": {
        "SentenceEncoderFeaturizer": {"drop": True},
        "LinearIntentClassifier": {"C": 10.0},
    },
    "tandem: without sentiment": {"SentimentAnalyzer": {"drop": True}},
    "tandem: raw counts (before issue 14: C 10, sparse weight 0.5)": {
        "LinearIntentClassifier": {"sparse_idf": False, "C": 10.0, "sparse_weight": 0.5}
    },
    "tandem: TF-IDF sparse, C 10, sparse weight 0.5": {
        "LinearIntentClassifier": {"sparse_idf": True, "C": 10.0, "sparse_weight": 0.5}
    },
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit-train", type=int, default=None)
    parser.add_argument("--limit-test", type=int, default=None)
    parser.add_argument(
        "--default-epochs",
        type=int,
        default=0,
        help="also run Rasa's default pipeline with this many DIET epochs (its default is 100)",
    )
    parser.add_argument("--only-config", action="store_true", help="skip the variants of config.yml")
    parser.add_argument(
        "--variant", action="append", default=None, help="run only the variants whose name contains this (repeatable)"
    )
    parser.add_argument("--json", type=Path, default=None, help="write the figures here too")
    args = parser.parse_args(argv)
    quiet_rasa()

    train = read_split(DATA / "train.csv", args.limit_train)
    test = read_split(DATA / "test.csv", args.limit_test)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        train_file = workdir / "train.yml"
        write_nlu_yaml(train, train_file)
        runs = list(VARIANTS.items())[: 1 if args.only_config else None]
        if args.variant:
            runs = [(name, o) for name, o in runs if any(v in name for v in args.variant)]
        for name, overrides in runs:
            results.append(
                evaluate(name.split(" ")[0] + str(len(results)), project_pipeline(overrides), train_file, test, workdir)
                | {"pipeline": name}
            )
            print(json.dumps(results[-1]), flush=True)
        if args.default_epochs:
            pipeline = copy.deepcopy(RASA_DEFAULT_PIPELINE)
            pipeline[5]["epochs"] = args.default_epochs
            name = f"rasa default (DIET, {args.default_epochs} epochs)"
            results.append(evaluate("rasa_default", pipeline, train_file, test, workdir) | {"pipeline": name})
            print(json.dumps(results[-1]), flush=True)

    print(f"\nBANKING77: train {len(train)} examples, test {len(test)} examples")
    print(f"{'pipeline':45} {'accuracy':>9} {'macro-F1':>9} {'train s':>8} {'p50 ms':>7} {'p99 ms':>7}")
    for r in results:
        print(
            f"{r['pipeline']:45} {r['accuracy']:9.4f} {r['macro_f1']:9.4f} {r['train_s']:8.1f} {r['parse_p50_ms']:7.1f} {r['parse_p99_ms']:7.1f}"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
