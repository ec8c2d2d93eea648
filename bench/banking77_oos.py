"""Out-of-scope detection on BANKING77: 10 intents held out of training stand for what customers ask that the
bot was never taught, and the FallbackClassifier's thresholds decide what it answers and what it admits not
knowing.

`config.yml`'s pipeline is trained through Rasa's API on the other 67 intents; every test message is parsed.
For each confidence threshold (with `config.yml`'s ambiguity threshold) the script prints:
- in-scope accuracy: in-scope messages answered with the right intent (a fallback counts as wrong);
- in-scope fallback rate: in-scope messages the bot would not answer;
- out-of-scope recall: held-out-intent messages that fall back (the honest "I'm not sure").
Usage:

    python bench/banking77_oos.py                 # the curve, and config.yml's point marked
    python bench/banking77_oos.py --json out.json
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from banking77 import DATA, read_split, write_nlu_yaml
from nlu_harness import ROOT, project_pipeline, quiet_rasa, train_and_parse

HELD_OUT_SEED = 77
HELD_OUT_COUNT = 10
THRESHOLDS = [round(0.05 * i, 2) for i in range(1, 19)]


def held_out_intents(intents: Sequence[str], count: int = HELD_OUT_COUNT, seed: int = HELD_OUT_SEED) -> list[str]:
    return sorted(random.Random(seed).sample(sorted(intents), count))


def fallback_settings() -> dict[str, float]:
    pipeline = yaml.safe_load((ROOT / "config.yml").read_text())["pipeline"]
    fallback = next(c for c in pipeline if c["name"] == "FallbackClassifier")
    return {"threshold": float(fallback["threshold"]), "ambiguity_threshold": float(fallback["ambiguity_threshold"])}


def ranking(parsed: dict[str, Any]) -> list[dict[str, Any]]:
    """The classifier's ranking without the FallbackClassifier's own entry."""
    return [r for r in parsed.get("intent_ranking", []) if r["name"] != "nlu_fallback"]


def falls_back(ranked: list[dict[str, Any]], threshold: float, ambiguity: float) -> bool:
    """The FallbackClassifier's rule (rasa/nlu/classifiers/fallback_classifier.py): too unsure, or two intents
    too close to call."""
    if not ranked or ranked[0]["confidence"] < threshold:
        return True
    return len(ranked) > 1 and ranked[0]["confidence"] - ranked[1]["confidence"] < ambiguity


def curve(
    results: list[dict[str, Any]], ambiguity: float, thresholds: Sequence[float] = THRESHOLDS
) -> list[dict[str, float]]:
    in_scope = [r for r in results if not r["out_of_scope"]]
    out_of_scope = [r for r in results if r["out_of_scope"]]
    rows = []
    for threshold in thresholds:
        answered_right = sum(
            1
            for r in in_scope
            if not falls_back(r["ranking"], threshold, ambiguity) and r["ranking"][0]["name"] == r["gold"]
        )
        in_fallback = sum(1 for r in in_scope if falls_back(r["ranking"], threshold, ambiguity))
        oos_fallback = sum(1 for r in out_of_scope if falls_back(r["ranking"], threshold, ambiguity))
        rows.append(
            {
                "threshold": threshold,
                "in_scope_accuracy": answered_right / len(in_scope),
                "in_scope_fallback": in_fallback / len(in_scope),
                "out_of_scope_recall": oos_fallback / len(out_of_scope),
            }
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit-train", type=int, default=None)
    parser.add_argument("--json", type=Path, default=None, help="write the curve and the chosen point here too")
    args = parser.parse_args(argv)
    quiet_rasa()

    train = read_split(DATA / "train.csv", args.limit_train)
    test = read_split(DATA / "test.csv")
    held_out = set(held_out_intents({label for _, label in train}))
    kept = [(text, label) for text, label in train if label not in held_out]
    settings = fallback_settings()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        write_nlu_yaml(kept, workdir / "train.yml")
        texts = [t for t, _ in test]
        parsed, train_s, _ = train_and_parse("oos", project_pipeline(), workdir / "train.yml", texts, workdir)
    results = [
        {"gold": label, "out_of_scope": label in held_out, "ranking": ranking(p)} for (_, label), p in zip(test, parsed)
    ]
    rows = curve(results, settings["ambiguity_threshold"])
    chosen = min(rows, key=lambda r: abs(r["threshold"] - settings["threshold"]))

    print(f"\nBANKING77, {len(held_out)} intents held out as out-of-scope (seed {HELD_OUT_SEED}): {sorted(held_out)}")
    print(
        f"train {len(kept)} examples of {77 - len(held_out)} intents ({train_s:.0f} s); test {len(test)} "
        f"({sum(r['out_of_scope'] for r in results)} out of scope); "
        f"ambiguity threshold {settings['ambiguity_threshold']}"
    )
    print(f"{'threshold':>9} {'in-scope acc':>13} {'in-scope fallback':>18} {'OOS recall':>11}")
    for row in rows:
        mark = "  <- config.yml" if row is chosen else ""
        print(
            f"{row['threshold']:9.2f} {row['in_scope_accuracy']:13.4f} {row['in_scope_fallback']:18.4f} "
            f"{row['out_of_scope_recall']:11.4f}{mark}"
        )
    if args.json:
        args.json.write_text(
            json.dumps({"held_out": sorted(held_out), "settings": settings, "curve": rows, "chosen": chosen}, indent=2)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
