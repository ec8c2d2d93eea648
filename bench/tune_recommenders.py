"""Tune ALS, item-kNN and the hybrid's weights without looking at the benchmark's test period.

bench/recommenders.py measures on the newest 20 % of events (the test period). Choosing parameters by those
figures would report a tuned-on-test score, so here the test period is cut off first and never read: the
training period is split again the same way (validation = its newest `--valid-fraction` of events), each
candidate is fitted on the part before the validation cutoff and ranked by NDCG@K on a seeded sample of
validation users (`evaluate(..., max_users=...)`). The test figures come afterwards, from
bench/recommenders.py with the chosen values as the defaults.

Stages, each building on the previous one's choice:
1. item-kNN: a grid over k (neighbours kept) and shrinkage;
2. ALS: a seeded random search over factors {16, 32, 64, 128}, regularization log-uniform in [0.01, 10],
   alpha log-uniform in [1, 40], iterations in [10, 30]; the current defaults are the first trial;
3. hybrid weights: a grid on the simplex (step `--weight-step`), then a finer one around the best point,
   with the chosen ALS inside and item-kNN as `--hybrid-knn` says (its chosen parameters, or the defaults
   in item_knn.py: the weights should be tuned for the components that will be served). Each component
   scores every sampled user once; a blend is then a weighted sum of those normalised score matrices
   (exactly what `HybridRecommender.recommend` does without a request context), so the whole grid costs
   seconds. The chosen and the current weights are re-checked through the real hybrid.

Only NDCG@K chooses; coverage is printed for the served hybrid because tuning for accuracy narrows it
(the winners lean on popular items).

    python bench/tune_recommenders.py                                   # synthetic shop, 20,000 customers
    python bench/tune_recommenders.py --source retail --retail /work/shared/data/retail/online_retail_sample40k.csv

Single-threaded by default (`--threads 1`): the machine is shared. About 3 minutes on the default
synthetic shop, 1 on the retail sample; `--als-trials` and `--max-users` trade time for precision.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import numpy as np  # noqa: E402
from recommenders import LOADERS, add_source_arguments  # noqa: E402  (bench/recommenders.py)
from threadpoolctl import threadpool_limits  # noqa: E402

from bench.personalization.evaluation import evaluate, time_cutoff, time_split  # noqa: E402
from bot.personalization.recommenders import build_recommender  # noqa: E402
from bot.personalization.recommenders.base import Recommender, RequestContext, UserHistory  # noqa: E402
from bot.personalization.recommenders.hybrid import (  # noqa: E402
    COMPONENTS,
    DEFAULT_WEIGHTS,
    HybridRecommender,
    normalise,
)
from bot.personalization.recommenders.ranking import top_n  # noqa: E402
from bot.personalization.training_data import Interactions, TrainingData  # noqa: E402

KNN_K = (20, 50, 100, 200, 500)
KNN_SHRINKAGE = (0.0, 10.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0, 10000.0)
ALS_FACTORS = (16, 32, 64, 128)
ALS_REGULARIZATION = (0.01, 10.0)  # log-uniform
ALS_ALPHA = (1.0, 40.0)  # log-uniform
ALS_ITERATIONS = (10, 30)  # inclusive


@dataclass(frozen=True)
class Validation:
    """The training period split again: fit on `fit`, score against `valid` (the test period is not here)."""

    fit: TrainingData
    valid: Interactions
    users: np.ndarray  # the sampled validation users, sorted (the sample `evaluate` draws with the same seed)
    k: int
    max_users: int
    seed: int

    def ranked(self, recommender: Recommender) -> dict[str, Any]:
        """Recall/NDCG@K of a fitted single recommender, ranked by score (as bench/recommenders.py does)."""
        active = np.asarray(self.fit.catalog.active, dtype=bool)

        def ranked(user: int, history: UserHistory, k: int) -> np.ndarray:
            allowed = active.copy()
            allowed[history.items] = False
            return top_n(recommender.score(history), k, allowed)

        return self.evaluate(ranked)

    def served(self, hybrid: HybridRecommender) -> dict[str, Any]:
        """Recall/NDCG@K of a fitted hybrid, asked as the engine asks it (no request context)."""
        context = RequestContext()

        def served(user: int, history: UserHistory, k: int) -> np.ndarray:
            picked = hybrid.recommend(history, context, n=k, exclude=history.items)
            return np.array([s.item for s in picked], dtype=np.int64)

        return self.evaluate(served)

    def evaluate(self, fn: Callable[[int, UserHistory, int], np.ndarray]) -> dict[str, Any]:
        result = evaluate(
            fn,
            self.fit.interactions,
            self.valid,
            k=self.k,
            max_users=self.max_users,
            seed=self.seed,
            segments=self.fit.segments,
            progress=False,
        )
        return {"recall": result.recall, "ndcg": result.ndcg, "coverage": result.coverage, "users": result.users}


def validation_split(
    data: TrainingData, test_fraction: float, valid_fraction: float, k: int, max_users: int, seed: int
) -> Validation:
    """Drop the test period, then split what is left by time again."""
    train, _test_is_never_read = time_split(data.interactions, test_fraction)
    valid_cutoff = time_cutoff(train.timestamps, valid_fraction)
    fit, valid = time_split(train, valid_fraction)
    fit_data = TrainingData(interactions=fit, catalog=data.catalog, segments=data.segments, now=valid_cutoff)
    users = np.flatnonzero(np.diff(valid.matrix().indptr) > 0)
    if len(users) > max_users:  # the same draw as evaluate(max_users=..., seed=...)
        users = np.sort(np.random.default_rng(seed).choice(users, size=max_users, replace=False))
    return Validation(fit_data, valid, users, k, max_users, seed)


def timed_fit(name: str, params: Mapping[str, Any], data: TrainingData) -> tuple[Recommender, float]:
    started = time.perf_counter()
    recommender = build_recommender(name, **params).fit(data)
    return recommender, time.perf_counter() - started


# --- stage 1 and 2: single recommenders ----------------------------------------------------------------------


def tune_knn(val: Validation) -> list[dict[str, Any]]:
    rows = []
    for k, shrinkage in itertools.product(KNN_K, KNN_SHRINKAGE):
        params = {"k": k, "shrinkage": shrinkage}
        model, fit_s = timed_fit("item_knn", params, val.fit)
        rows.append({"params": params, "fit_seconds": fit_s, **val.ranked(model)})
    return rows


def als_trials(n: int, seed: int, current: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The current defaults first, then seeded random draws from the search space, `n` distinct in all."""
    rng = np.random.default_rng(seed)
    trials = [dict(current)]
    while len(trials) < n:
        draw = {
            "factors": int(rng.choice(ALS_FACTORS)),
            "regularization": _two_digits(10 ** rng.uniform(*np.log10(ALS_REGULARIZATION))),
            "alpha": _two_digits(10 ** rng.uniform(*np.log10(ALS_ALPHA))),
            "iterations": int(rng.integers(ALS_ITERATIONS[0], ALS_ITERATIONS[1] + 1)),
        }
        if draw not in trials:
            trials.append(draw)
    return trials


def _two_digits(value: float) -> float:
    """Two significant digits: the chosen value is then a default worth writing down, and the one measured."""
    return float(f"{value:.2g}")


def tune_als(val: Validation, trials: Sequence[Mapping[str, Any]], threads: int) -> list[dict[str, Any]]:
    rows = []
    for number, params in enumerate(trials, 1):
        model, fit_s = timed_fit("als", {**params, "num_threads": threads, "random_state": 0}, val.fit)
        row = {"params": dict(params), "fit_seconds": fit_s, **val.ranked(model)}
        rows.append(row)
        print(f"  ALS {number}/{len(trials)} {_fmt(params)}: ndcg {row['ndcg']:.4f} (fit {fit_s:.1f} s)", flush=True)
    return rows


# --- stage 3: hybrid weights ---------------------------------------------------------------------------------


def simplex(names: Sequence[str], step: float) -> list[dict[str, float]]:
    """Every weight vector on the simplex whose entries are multiples of `step`."""
    units = int(round(1.0 / step))
    points = []
    for split in itertools.product(range(units + 1), repeat=len(names) - 1):
        if sum(split) <= units:
            counts = (*split, units - sum(split))
            points.append({n: round(c / units, 4) for n, c in zip(names, counts)})
    return points


def around(best: Mapping[str, float], step: float) -> list[dict[str, float]]:
    """Simplex points on a grid of `step / 2` within `step` of `best` in every coordinate."""
    names = list(best)
    fine = step / 2
    return [
        w for w in simplex(names, fine) if all(abs(w[n] - best[n]) <= step + 1e-9 for n in names) and w != dict(best)
    ]


class BlendScorer:
    """Each component's normalised scores for every sampled validation user, fitted once; blends are then sums."""

    def __init__(self, components: Mapping[str, Recommender], val: Validation) -> None:
        matrix = val.fit.interactions.matrix()
        active = np.asarray(val.fit.catalog.active, dtype=bool)
        n_users, n_items = len(val.users), matrix.shape[1]
        self.allowed = np.repeat(active[None, :], n_users, axis=0)
        self.scores = {name: np.zeros((n_users, n_items), dtype=np.float32) for name in components}
        for row, u in enumerate(val.users):
            lo, hi = matrix.indptr[u], matrix.indptr[u + 1]
            history = UserHistory(
                items=matrix.indices[lo:hi].astype(np.int32),
                weights=matrix.data[lo:hi].astype(np.float32),
                user_index=int(u),
                segment=None if val.fit.segments is None else val.fit.segments[u],
            )
            self.allowed[row, history.items] = False
            for name, component in components.items():
                self.scores[name][row] = normalise(component.score(history), self.allowed[row])
        valid = val.valid.matrix()[val.users]
        self.relevant = valid.toarray() > 0
        self.k = val.k

    def ndcg(self, weights: Mapping[str, float]) -> tuple[float, float]:
        """(NDCG@K, Recall@K) of the blend, top K among each user's allowed items."""
        blend = np.zeros(self.allowed.shape, dtype=np.float32)
        for name, weight in weights.items():
            if weight > 0:
                blend += np.float32(weight) * self.scores[name]
        blend[~self.allowed] = -np.inf
        k = self.k
        top = np.argpartition(-blend, k - 1, axis=1)[:, :k]
        rows = np.arange(len(blend))[:, None]
        top = np.take_along_axis(top, np.argsort(-blend[rows, top], axis=1, kind="stable"), axis=1)
        hits = self.relevant[rows, top] & np.isfinite(blend[rows, top])
        discounts = 1.0 / np.log2(np.arange(2, k + 2))
        n_relevant = np.minimum(self.relevant.sum(axis=1), k)
        ideal = np.cumsum(discounts)[n_relevant - 1]
        return float(np.mean(hits @ discounts / ideal)), float(np.mean(hits.sum(axis=1) / n_relevant))


def tune_weights(scorer: BlendScorer, names: Sequence[str], step: float) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    seen: set[tuple[float, ...]] = set()

    def run(points: list[dict[str, float]]) -> None:
        for weights in points:
            key = tuple(weights[n] for n in names)
            if key in seen or sum(key) <= 0:
                continue
            seen.add(key)
            ndcg, recall = scorer.ndcg(weights)
            rows.append({"params": weights, "ndcg": ndcg, "recall": recall})

    run(simplex(names, step))
    run(around(max(rows, key=lambda r: r["ndcg"])["params"], step))
    return rows


def tune_hybrid(
    val: Validation, params: Mapping[str, Mapping[str, Any]], args: argparse.Namespace
) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    """Stage 3: the weight grid over components built with `params`, then the served-hybrid checks."""
    components = {name: timed_fit(name, params.get(name, {}), val.fit)[0] for name in COMPONENTS}
    scorer = BlendScorer(components, val)
    rows = tune_weights(scorer, list(components), args.weight_step)
    current = {n: float(DEFAULT_WEIGHTS.get(n, 0.0)) for n in components}
    if all(r["params"] != current for r in rows):
        ndcg, recall = scorer.ndcg(current)
        rows.append({"params": current, "ndcg": ndcg, "recall": recall})
    print_table(f"hybrid weights (chosen ALS, {args.hybrid_knn} item-kNN inside)", rows, args.top, mark=current)
    chosen = max(rows, key=lambda r: r["ndcg"])["params"]

    # The fast blend is the hybrid's arithmetic; check it through the served code path, built as the engine
    # builds it, and compare with the hybrid as it stands (current weights and component defaults).
    checks = {
        "chosen": HybridRecommender(weights=chosen, component_params=params),
        f"current weights, chosen ALS, {args.hybrid_knn} item-kNN": HybridRecommender(
            weights=current, component_params=params
        ),
        "current": HybridRecommender(weights=current, component_params={"als": {"num_threads": args.threads}}),
    }
    served = {label: val.served(hybrid.fit(val.fit)) for label, hybrid in checks.items()}
    print("\nServed hybrid on validation:")
    for label, r in served.items():
        print(f"  {label}: ndcg {r['ndcg']:.4f}, recall {r['recall']:.4f}, coverage {r['coverage']:.3f}")
    return rows, served


# --- reporting -----------------------------------------------------------------------------------------------


def _fmt(params: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items())


def print_table(title: str, rows: list[dict[str, Any]], top: int, mark: Mapping[str, Any] | None = None) -> None:
    """The `top` best rows by NDCG, plus the row of `mark` (the current defaults) wherever it ranks."""
    ranked = sorted(rows, key=lambda r: -r["ndcg"])
    shown = ranked[:top] + [r for r in ranked[top:] if mark is not None and r["params"] == dict(mark)]
    print(f"\n{title} ({len(rows)} candidates, best {min(top, len(rows))} by validation NDCG)")
    print("| rank | parameters | NDCG | Recall | fit (s) |")
    print("| ---: | --- | ---: | ---: | ---: |")
    for r in shown:
        note = " (current default)" if mark is not None and r["params"] == dict(mark) else ""
        fit = f"{r['fit_seconds']:.1f}" if "fit_seconds" in r else ""
        print(f"| {ranked.index(r) + 1} | {_fmt(r['params'])}{note} | {r['ndcg']:.4f} | {r['recall']:.4f} | {fit} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_source_arguments(parser)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--test-fraction", type=float, default=0.2, help="the test period, dropped unread")
    parser.add_argument("--valid-fraction", type=float, default=0.2, help="newest share of the training period")
    parser.add_argument("--max-users", type=int, default=3000, help="validation users sampled")
    parser.add_argument("--eval-seed", type=int, default=0)
    parser.add_argument("--als-trials", type=int, default=60)
    parser.add_argument("--search-seed", type=int, default=0)
    parser.add_argument("--weight-step", type=float, default=0.1)
    parser.add_argument(
        "--hybrid-knn",
        choices=("tuned", "default"),
        default="tuned",
        help="item-kNN inside the hybrid while its weights are tuned: the chosen parameters, or item_knn.py's defaults",
    )
    parser.add_argument("--threads", type=int, default=1, help="BLAS and ALS threads")
    parser.add_argument("--top", type=int, default=10, help="rows shown per table")
    parser.add_argument("--json", type=Path, default=None, help="also write every candidate's figures here")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    with threadpool_limits(args.threads):
        report = tune(args)
    report["seconds"] = round(time.perf_counter() - started, 1)
    report["command"] = " ".join(sys.argv)
    print(f"\nTotal {report['seconds']:.0f} s")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2, default=float) + "\n")
        print(f"Wrote {args.json}")
    return 0


def tune(args: argparse.Namespace) -> dict[str, Any]:
    data, _info, _shop = LOADERS[args.source](args)
    val = validation_split(data, args.test_fraction, args.valid_fraction, args.k, args.max_users, args.eval_seed)
    print(
        f"Source: {args.source}; validation: fit on {val.fit.interactions.n_events:,} events before the validation "
        f"cutoff {val.fit.now}, {val.valid.n_events:,} validation events, {len(val.users):,} users sampled "
        f"(test period: newest {args.test_fraction:.0%} of all events, dropped)",
        flush=True,
    )

    baseline = {}
    for name in ("popularity", "content"):
        model, fit_s = timed_fit(name, {}, val.fit)
        baseline[name] = {"params": {}, "fit_seconds": fit_s, **val.ranked(model)}
        print(f"  {name}: ndcg {baseline[name]['ndcg']:.4f}, recall {baseline[name]['recall']:.4f}", flush=True)

    knn_default = {"k": build_recommender("item_knn").k, "shrinkage": build_recommender("item_knn").shrinkage}
    knn_rows = tune_knn(val)
    print_table("item-kNN", knn_rows, args.top, mark=knn_default)
    knn_best = max(knn_rows, key=lambda r: r["ndcg"])

    current = build_recommender("als")
    als_default = {k: getattr(current, k) for k in ("factors", "regularization", "alpha", "iterations")}
    als_rows = tune_als(val, als_trials(args.als_trials, args.search_seed, als_default), args.threads)
    print_table("ALS", als_rows, args.top, mark=als_default)
    als_best = max(als_rows, key=lambda r: r["ndcg"])

    knn_inside = knn_best["params"] if args.hybrid_knn == "tuned" else {}
    als_inside = {**als_best["params"], "num_threads": args.threads}
    weight_rows, served = tune_hybrid(val, {"item_knn": knn_inside, "als": als_inside}, args)
    weights_best = max(weight_rows, key=lambda r: r["ndcg"])
    current_weights = dict(DEFAULT_WEIGHTS)

    best_single = {
        "popularity": baseline["popularity"]["ndcg"],
        "content": baseline["content"]["ndcg"],
        "item_knn": knn_best["ndcg"],
        "als": als_best["ndcg"],
    }
    print(f"\nChosen (by validation NDCG@{args.k}):")
    print(
        f"  item-kNN: {_fmt(knn_best['params'])} (ndcg {knn_best['ndcg']:.4f}; "
        f"current {_fmt(knn_default)}: {_ndcg_of(knn_rows, knn_default):.4f})"
    )
    print(
        f"  ALS: {_fmt(als_best['params'])} (ndcg {als_best['ndcg']:.4f}; "
        f"current: {_ndcg_of(als_rows, als_default):.4f}; popularity {baseline['popularity']['ndcg']:.4f})"
    )
    print(
        f"  hybrid weights: {_fmt(weights_best['params'])} (ndcg {weights_best['ndcg']:.4f}; "
        f"current weights: {_ndcg_of(weight_rows, current_weights):.4f})"
    )
    return {
        "source": args.source,
        "validation": {
            "fit_events": val.fit.interactions.n_events,
            "valid_events": val.valid.n_events,
            "cutoff": val.fit.now,
            "users": len(val.users),
            "k": args.k,
        },
        "baselines": baseline,
        "best_single_ndcg": best_single,
        "chosen": {"item_knn": knn_best["params"], "als": als_best["params"], "weights": weights_best["params"]},
        "served_check": served,
        "item_knn": knn_rows,
        "als": als_rows,
        "weights": weight_rows,
    }


def _ndcg_of(rows: list[dict[str, Any]], params: Mapping[str, Any]) -> float:
    return next((r["ndcg"] for r in rows if r["params"] == dict(params)), float("nan"))


if __name__ == "__main__":
    raise SystemExit(main())
