"""Offline accuracy of the recommenders: Recall@K, NDCG@K and catalog coverage on a time-based split.

Each method is fitted on the events before one global cutoff (the newest 20 % of events are the test
period) and asked for K items per test user, the user's training items excluded; a hit is an item the user
interacted with in the test period and not before (`bench.personalization.evaluation`). The synthetic shop's
planted structure is described in `bench/personalization/synthetic/`; its parameters are printed and saved.
On the synthetic shop a last row ranks by the generator's own view distribution (`ViewModel`, ground truth
no recommender can see): the ceiling the methods are measured against.

    python bench/recommenders.py                                        # synthetic shop, 20,000 customers
    python bench/recommenders.py --customers 100000 --products 10000    # larger synthetic shop
    python bench/recommenders.py --source movielens --ratings PATH/ratings.csv [--movies PATH/movies.csv]
    python bench/recommenders.py --source retail --retail /work/shared/data/retail/online_retail_sample40k.csv
    python bench/recommenders.py --source database --database-url postgresql+psycopg2://...

Results go to `bench/results/recommenders-<source>.json` (or --json PATH).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from bench.personalization.evaluation import EvaluationResult, evaluate, time_cutoff, time_split  # noqa: E402
from bot.personalization.recommenders.base import RequestContext, UserHistory  # noqa: E402
from bot.personalization.training_data import TrainingData  # noqa: E402

METHODS = ("popularity", "item_knn", "als", "content", "hybrid")
CEILING = "ground_truth"
LABELS = {
    "popularity": "popularity",
    "item_knn": "item-kNN",
    "als": "ALS",
    "content": "content",
    "hybrid": "hybrid",
    CEILING: "ground truth (ceiling)",
}


Loaded = tuple[TrainingData, dict[str, Any], Any]  # data, description, SyntheticShop (ground truth) or None


def load_synthetic(args: argparse.Namespace) -> Loaded:
    from bench.personalization.synthetic import generate_shop

    started = time.perf_counter()
    shop = generate_shop(
        n_customers=args.customers, n_products=args.products, n_tastes=args.tastes, days=args.days, seed=args.seed
    )
    seconds = time.perf_counter() - started
    kinds, counts = np.unique(shop.events.kinds, return_counts=True)
    info = {
        "generator": "bench.personalization.synthetic.generate_shop (structure: see its module docstring)",
        "summary": shop.describe(),
        "parameters": dict(shop.params),
        "events": {str(k): int(c) for k, c in zip(kinds, counts)},
        "churned_share": round(float(shop.churned.mean()), 4),
        "generation_seconds": round(seconds, 2),
    }
    return shop.training_data(), info, shop


def load_movielens(args: argparse.Namespace) -> Loaded:
    from bench.personalization.movielens import load_ratings, read_catalog

    if not args.ratings:
        raise SystemExit("--source movielens needs --ratings PATH/ratings.csv")
    read = load_ratings(args.ratings)
    catalog = read_catalog(args.movies, read.interactions.item_ids)
    info = {
        "ratings": str(args.ratings),
        "movies": str(args.movies) if args.movies else None,
        "skipped_lines": read.skipped,
        "dropped_low_ratings": read.dropped,
    }
    return TrainingData(interactions=read.interactions, catalog=catalog), info, None


def load_retail(args: argparse.Namespace) -> Loaded:
    from bench.personalization.retail import load_retail as read

    if not args.retail:
        raise SystemExit("--source retail needs --retail PATH (UCI Online Retail CSV)")
    result = read(args.retail)
    info = {
        "retail": str(args.retail),
        "skipped_lines": result.skipped,
        "purchases": result.interactions.n_events,
    }
    return TrainingData(interactions=result.interactions, catalog=result.catalog), info, None


def load_database(args: argparse.Namespace) -> Loaded:
    from bot.db.session import session_scope
    from bot.personalization.shop_training_data import load_training_data

    if not args.database_url:
        raise SystemExit("--source database needs --database-url URL")
    with session_scope(args.database_url) as session:
        data = load_training_data(session)
    return data, {"database": _redact(args.database_url)}, None


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


LOADERS: dict[str, Callable[[argparse.Namespace], Loaded]] = {
    "synthetic": load_synthetic,
    "movielens": load_movielens,
    "retail": load_retail,
    "database": load_database,
}


def recommend_fn(name: str, recommender: Any, data: TrainingData) -> Callable[[int, UserHistory, int], np.ndarray]:
    """How the benchmark asks a method for K items: single recommenders by score, the hybrid as served."""
    if name == "hybrid":
        context = RequestContext()

        def hybrid(user: int, history: UserHistory, k: int) -> np.ndarray:
            picked = recommender.recommend(history, context, n=k, exclude=history.items)
            return np.array([s.item for s in picked], dtype=np.int64)

        return hybrid

    if name == CEILING:  # the synthetic shop's own view distribution; `recommender` is the shop
        return _ranked(lambda user, history: recommender.view_model.probabilities(user), data)
    return _ranked(lambda user, history: recommender.score(history), data)


def _ranked(score: Callable[[int, UserHistory], np.ndarray], data: TrainingData) -> Callable[..., np.ndarray]:
    from bot.personalization.recommenders.ranking import top_n

    active = np.asarray(data.catalog.active, dtype=bool)

    def ranked(user: int, history: UserHistory, k: int) -> np.ndarray:
        allowed = active.copy()
        allowed[history.items] = False
        return top_n(score(user, history), k, allowed)

    return ranked


def run(args: argparse.Namespace) -> dict[str, Any]:
    from bot.personalization.recommenders import build_recommender

    data, info, shop = LOADERS[args.source](args)
    inter = data.interactions
    cutoff = time_cutoff(inter.timestamps, args.test_fraction)
    train, test = time_split(inter, args.test_fraction)
    train_data = TrainingData(interactions=train, catalog=data.catalog, segments=data.segments, now=cutoff)
    split = {
        "test_fraction": args.test_fraction,
        "cutoff": cutoff,
        "train_events": train.n_events,
        "test_events": test.n_events,
        "test_users": int(len(np.unique(test.users))),
        "users": inter.n_users,
        "items": inter.n_items,
    }
    _print_data(args.source, info, split)

    rows = []
    methods = list(args.methods) + ([CEILING] if shop is not None and not args.no_ceiling else [])
    for name in methods:
        started = time.perf_counter()
        if name == CEILING:
            recommender = shop
        else:
            recommender = build_recommender(name)
            recommender.fit(train_data)
        fit_s = time.perf_counter() - started
        result: EvaluationResult = evaluate(
            recommend_fn(name, recommender, data),
            train,
            test,
            k=args.k,
            max_users=args.max_users,
            seed=args.eval_seed,
            segments=data.segments,
            progress=False if args.no_progress else None,
        )
        row = {"method": name, "fit_seconds": round(fit_s, 2), **result.as_dict()}
        row["seconds"] = round(row["seconds"], 2)
        rows.append(row)
        print(
            f"  {LABELS.get(name, name)}: recall {result.recall:.4f}, ndcg {result.ndcg:.4f}, "
            f"fit {fit_s:.1f} s, evaluated {result.users} users in {result.seconds:.1f} s",
            flush=True,
        )
    _print_table(rows, args.k)
    return {
        "source": args.source,
        "data": info,
        "split": split,
        "k": args.k,
        "max_users": args.max_users,
        "eval_seed": args.eval_seed,
        "results": rows,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "threads": args.threads},
        "command": " ".join(sys.argv),
    }


def _print_data(source: str, info: dict[str, Any], split: dict[str, Any]) -> None:
    print(f"Source: {source}")
    for key, value in info.items():
        print(f"  {key}: {value}")
    print(
        f"Split: {split['train_events']:,} train / {split['test_events']:,} test events "
        f"(newest {split['test_fraction']:.0%} of events, cutoff {split['cutoff']}), "
        f"{split['test_users']:,} test users of {split['users']:,}, {split['items']:,} items",
        flush=True,
    )


def _print_table(rows: list[dict[str, Any]], k: int) -> None:
    header = f"| method | Recall@{k} | NDCG@{k} | coverage | fit (s) | users |"
    print()
    print(header)
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        print(
            f"| {LABELS.get(r['method'], r['method'])} | {r['recall']:.4f} | {r['ndcg']:.4f} | "
            f"{r['coverage']:.3f} | {r['fit_seconds']:.1f} | {r['users']:,} |"
        )


def add_source_arguments(parser: argparse.ArgumentParser) -> None:
    """The data-source options `LOADERS` read (shared with bench/tune_recommenders.py)."""
    parser.add_argument("--source", choices=tuple(LOADERS), default="synthetic")
    parser.add_argument("--customers", type=int, default=20_000, help="synthetic: customers")
    parser.add_argument("--products", type=int, default=2_000, help="synthetic: products")
    parser.add_argument("--tastes", type=int, default=8, help="synthetic: taste clusters")
    parser.add_argument("--days", type=int, default=365, help="synthetic: days of events")
    parser.add_argument("--seed", type=int, default=7, help="synthetic: generator seed")
    parser.add_argument("--ratings", help="movielens: ratings.csv")
    parser.add_argument("--movies", help="movielens: movies.csv (optional)")
    parser.add_argument("--retail", help="retail: UCI Online Retail CSV (InvoiceNo,StockCode,...,CustomerID,Country)")
    parser.add_argument("--database-url", help="database: SQLAlchemy URL of the shop database")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_source_arguments(parser)
    parser.add_argument("--methods", default=",".join(METHODS), help=f"comma-separated, from {', '.join(METHODS)}")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--test-fraction", type=float, default=0.2)
    parser.add_argument("--max-users", type=int, default=None, help="evaluate a random sample of test users")
    parser.add_argument("--eval-seed", type=int, default=0, help="seed of the --max-users sample")
    parser.add_argument("--threads", type=int, default=2, help="BLAS/OpenMP threads")
    parser.add_argument("--json", type=Path, default=None, help="default bench/results/recommenders-<source>.json")
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument(
        "--no-ceiling", action="store_true", help="synthetic: skip the row ranked by the generator's own view model"
    )
    args = parser.parse_args(argv)
    args.methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = sorted(set(args.methods) - set(METHODS))
    if unknown:
        parser.error(f"unknown methods: {', '.join(unknown)}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with threadpool_limits(args.threads):
        report = run(args)
    path = args.json or ROOT / "bench" / "results" / f"recommenders-{args.source}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, default=str) + "\n")
    print(f"\nWrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
