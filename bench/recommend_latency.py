"""Latency of one recommendation request in the action server's process, on PostgreSQL at scale.

Loads a synthetic shop (bench/personalization/synthetic/; default 10,000 products, 100,000 customers) into
a fresh PostgreSQL database, trains the personalization model on it with `tandem recs train`'s code, then
times `PersonalizationEngine.recommend` end to end, exactly as an action calls it: its own session, the
customer's consent, history, devices, exclusions and segment read, the model scored, impressions written
and committed.

    .venv/bin/python bench/recommend_latency.py                 # 100k customers x 10k products
    .venv/bin/python bench/recommend_latency.py --customers 20000 --products 2000 --requests 500

Figures go to stdout and bench/results/recommend_latency.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import make_url
from threadpoolctl import threadpool_limits

from bench.personalization.synthetic import generate_shop
from bot.db.migrate import upgrade
from bot.db.models import BehaviourEvent, Customer, CustomerDevice, Product
from bot.db.session import dispose_engine, session_scope
from bot.personalization.config import PersonalizationConfig
from bot.personalization.engine import PersonalizationEngine
from bot.personalization.jobs.recommender_training import train
from bot.personalization.model_store import ModelCache

RESULTS = Path(__file__).resolve().parent / "results"
SERVER = os.environ.get("TANDEM_BENCH_POSTGRES_URL", "postgresql+psycopg2://postgres@/postgres")
CATEGORIES = (None, None, "phone_accessories", "headphones", "laptops", "chargers_cables")
_CHUNK = 20_000


def _create_database(name: str) -> str:
    admin = create_engine(SERVER, future=True, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(SERVER).set(database=name).render_as_string(hide_password=False)


def _drop_database(url: str) -> None:
    dispose_engine(url)
    admin = create_engine(SERVER, future=True, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    admin.dispose()


def _insert(url: str, model, rows, label: str) -> int:
    count = 0
    batch: list[dict] = []
    with session_scope(url) as session:
        for row in rows:
            batch.append(row)
            if len(batch) >= _CHUNK:
                session.execute(insert(model), batch)
                count += len(batch)
                batch.clear()
                print(f"\r  {label}: {count:,}", end="", flush=True)
        if batch:
            session.execute(insert(model), batch)
            count += len(batch)
    print(f"\r  {label}: {count:,}")
    return count


def load(url: str, customers: int, products: int, seed: int) -> dict:
    t0 = time.perf_counter()
    shop = generate_shop(n_customers=customers, n_products=products, seed=seed)
    generated = time.perf_counter() - t0
    print(f"generated {customers:,} customers, {products:,} products, {len(shop.events):,} events in {generated:.1f} s")
    t0 = time.perf_counter()
    _insert(url, Product, shop.product_rows(), "products")
    _insert(url, Customer, shop.customer_rows(), "customers")
    _insert(url, CustomerDevice, shop.device_rows(), "devices")
    events = _insert(url, BehaviourEvent, shop.event_rows(), "behaviour events")
    with session_scope(url) as session:
        for table in ("products", "customers"):
            session.execute(text(f"SELECT setval('{table}_id_seq', (SELECT max(id) FROM {table}))"))
        # 90 % said yes to personalization (deterministic: by customer id).
        session.execute(
            text(
                "INSERT INTO personalization_consents (customer_id, granted, updated_at, source) "
                "SELECT id, (id % 10) <> 0, now(), 'bench' FROM customers"
            )
        )
        session.execute(text("ANALYZE"))
    loaded = time.perf_counter() - t0
    print(f"loaded into PostgreSQL in {loaded:.1f} s")
    return {"events": events, "generate_s": round(generated, 1), "load_s": round(loaded, 1)}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


def time_requests(url: str, models_dir: Path, customers: int, requests: int, seed: int) -> dict:
    config = PersonalizationConfig(strategies={"hybrid": 80.0, "popularity": 20.0}, unsolicited_cap=10_000)
    threadpool_limits(limits=1, user_api="blas")  # what default_engine() does in the action server
    engine = PersonalizationEngine(ModelCache(models_dir), config=config)
    rng = random.Random(seed)
    ids = [f"SYN-{rng.randint(1, customers):06d}" for _ in range(requests + 50)]
    timings: list[float] = []
    personalized = 0
    for k, customer in enumerate(ids):
        category = CATEGORIES[k % len(CATEGORIES)]
        t0 = time.perf_counter()
        with session_scope(url) as session:
            result = engine.recommend(session, customer, category=category, n=5, channel="bench")
        elapsed = (time.perf_counter() - t0) * 1000
        if k >= 50:  # the first requests warm the pool and the model cache
            timings.append(elapsed)
            personalized += result.personalized
    return {
        "requests": len(timings),
        "personalized_share": round(personalized / len(timings), 3),
        "p50_ms": round(statistics.median(timings), 2),
        "p95_ms": round(percentile(timings, 95), 2),
        "p99_ms": round(percentile(timings, 99), 2),
        "mean_ms": round(statistics.fmean(timings), 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--database", default="tandem_bench_recs", help="PostgreSQL database to (re)create")
    parser.add_argument("--reuse", action="store_true", help="keep an already loaded database")
    parser.add_argument("--keep", action="store_true", help="do not drop the database at the end")
    args = parser.parse_args(argv)

    url = make_url(SERVER).set(database=args.database).render_as_string(hide_password=False)
    figures: dict = {"customers": args.customers, "products": args.products}
    if not args.reuse:
        url = _create_database(args.database)
        upgrade(url)
        figures.update(load(url, args.customers, args.products, args.seed))
    with tempfile.TemporaryDirectory() as models:
        t0 = time.perf_counter()
        with session_scope(url) as session:
            # The shop's clock: the synthetic events end at its "now", not at today's date.
            newest = session.execute(text("SELECT max(occurred_at) FROM behaviour_events")).scalar_one()
            bundle = train(session, Path(models), now=newest, progress=True)
        figures["train_s"] = round(time.perf_counter() - t0, 1)
        figures["trained_on"] = bundle.metrics
        print(f"trained in {figures['train_s']} s: {bundle.metrics}")
        figures.update(time_requests(url, Path(models), args.customers, args.requests, args.seed))
    print(
        f"\nrecommend(): {figures['requests']} requests, p50 {figures['p50_ms']} ms, p95 {figures['p95_ms']} ms, "
        f"p99 {figures['p99_ms']} ms (mean {figures['mean_ms']} ms; {figures['personalized_share']:.0%} personalized)"
    )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "recommend_latency.json").write_text(json.dumps(figures, indent=2, default=str))
    if not args.keep:
        _drop_database(url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
