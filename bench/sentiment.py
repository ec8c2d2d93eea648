"""Accuracy, latency and memory of the sentiment model the NLU component serves.

Accuracy: macro-F1 and accuracy on the held-out split of the airline tweets that the build set aside
(stratified, the seed is in the model's metadata) and macro-recall on TweetEval's validation set.
Speed: p50/p99 per message at batch size 1 on this machine's CPU, in a fresh process per variant, and
the process's peak memory (total, and what loading the model added).

    python bench/sentiment.py                     # the built default model, its ONNX variants and PyTorch
    python bench/sentiment.py --model PATH --json bench/results/sentiment.json
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from bot.sentiment import data as sentiment_data  # noqa: E402
from bot.sentiment.metrics import classification_report  # noqa: E402


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def worker(model_path: str, variant: str, latency_n: int, threads: int) -> dict[str, Any]:
    """Runs in its own process so that peak memory belongs to one variant."""
    import onnxruntime  # noqa: F401  (imports count as the baseline, not the model)
    import transformers  # noqa: F401

    from bot.sentiment.model import OnnxSentimentModel, TransformersSentimentModel, read_metadata

    if variant == "pytorch":
        import torch

        torch.set_num_threads(threads)
    before = rss_mb()
    started = time.perf_counter()
    folder = Path(model_path)
    metadata = read_metadata(folder)
    if variant == "pytorch":
        model = TransformersSentimentModel(str(folder))
    else:
        model = OnnxSentimentModel(folder, onnx_file=metadata["onnx_files"][variant], threads=threads)
    load_s = time.perf_counter() - started
    recipe = metadata["recipe"]
    examples = sentiment_data.load_airline()
    _, held_out = sentiment_data.stratified_split(examples, recipe["holdout"], recipe["split_seed"])
    tweeteval = sentiment_data.load_tweeteval()

    predicted = [r.label for r in model.predict_batch([e.text for e in held_out])]
    airline = classification_report([e.label for e in held_out], predicted)
    predicted = [r.label for r in model.predict_batch([e.text for e in tweeteval])]
    tweet = classification_report([e.label for e in tweeteval], predicted)

    texts = [e.text for e in held_out[:latency_n]]
    for text in texts[:20]:
        model.predict(text)
    latencies = []
    for text in texts:
        t0 = time.perf_counter()
        model.predict(text)
        latencies.append((time.perf_counter() - t0) * 1000)
    latencies.sort()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "variant": variant,
        "threads": threads,
        "airline_macro_f1": airline["macro_f1"],
        "airline_accuracy": airline["accuracy"],
        "airline_n": airline["n"],
        "tweeteval_macro_recall": tweet["macro_recall"],
        "tweeteval_macro_f1": tweet["macro_f1"],
        "tweeteval_n": tweet["n"],
        "p50_ms": round(statistics.median(latencies), 2),
        "p99_ms": round(latencies[int(0.99 * (len(latencies) - 1))], 2),
        "mean_tokens_chars": round(sum(len(t) for t in texts) / len(texts), 1),
        "load_s": round(load_s, 2),
        "peak_rss_mb": round(peak, 1),
        "model_rss_mb": round(peak - before, 1),
        "per_label_airline": airline["per_label"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None, help="a built model folder (default: the built default model)")
    parser.add_argument("--variants", default="int8,fp32,pytorch")
    parser.add_argument("--latency-n", type=int, default=500)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        print(json.dumps(worker(args.model, args.worker, args.latency_n, args.threads)))
        return 0

    if args.model is None:
        from bot.sentiment.defaults import default_model_path

        args.model = str(default_model_path())
    results = []
    for variant in args.variants.split(","):
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--model",
                args.model,
                "--worker",
                variant,
                "--latency-n",
                str(args.latency_n),
                "--threads",
                str(args.threads),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(json.dumps({k: v for k, v in results[-1].items() if k != "per_label_airline"}), flush=True)

    print(f"\nsentiment model {args.model}")
    print(
        f"{'variant':9} {'airline F1':>10} {'airline acc':>11} {'TweetEval mR':>12} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'peak MB':>8} {'model MB':>8}"
    )
    for r in results:
        print(
            f"{r['variant']:9} {r['airline_macro_f1']:10.4f} {r['airline_accuracy']:11.4f} "
            f"{r['tweeteval_macro_recall']:12.4f} {r['p50_ms']:7.2f} {r['p99_ms']:7.2f} "
            f"{r['peak_rss_mb']:8.0f} {r['model_rss_mb']:8.0f}"
        )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
