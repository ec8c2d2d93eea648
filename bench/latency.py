"""p50/p99 latency of one message through the REST webhook, whole stack, 20 concurrent conversations.

Runs Tandem (Rasa + action server + seeded SQLite shop, trained from this checkout) and, in the same run,
a bare `rasa init` bot, and sends both the same load shape: C conversations at once, M messages each, a
conversation's next message sent when its previous reply arrived.

    python bench/latency.py [--conversations 20] [--messages 15] [--skip-baseline] [--profile DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
RASA = str(Path(sys.executable).with_name("rasa"))

from bot.processes import free_port, wait_until_answers  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


async def load(
    url: str, conversations: int, messages: int, make_body: Callable[[int, int], dict[str, Any]]
) -> dict[str, float]:
    latencies: list[float] = []
    failures = 0

    async def conversation(session: aiohttp.ClientSession, c: int) -> None:
        nonlocal failures
        for m in range(messages):
            started = time.perf_counter()
            async with session.post(url, json=make_body(c, m)) as reply:
                body = await reply.json()
                if reply.status != 200 or not body:
                    failures += 1
            latencies.append(time.perf_counter() - started)

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as session:
        # One warm-up message so that first-call costs (graph tracing, connection pools) are not counted.
        async with session.post(url, json=make_body(10_000, 0)) as reply:
            await reply.read()
        started = time.perf_counter()
        await asyncio.gather(*(conversation(session, c) for c in range(conversations)))
        wall = time.perf_counter() - started
    return {
        "messages": len(latencies),
        "failures": failures,
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * percentile(latencies, 0.99),
        "mean_ms": 1000 * statistics.fmean(latencies),
        "throughput_msg_s": len(latencies) / wall,
    }


def run_tandem(args: argparse.Namespace, workdir: Path) -> dict[str, float]:
    from bot.db.migrate import upgrade
    from bot.db.session import session_scope
    from bot.identity import sign_customer
    from bot.settings import get_settings
    from bot.shop import orders as shop_orders
    from bot.shop.seed import seed_shop
    from bot.stack import child_env
    from bot.training import train_if_changed

    db_url = f"sqlite:///{workdir / 'shop.db'}"
    os.environ["TANDEM_DATABASE_URL"] = db_url
    os.environ["TANDEM_STATE_DIR"] = str(workdir)
    get_settings.cache_clear()
    settings = get_settings()
    upgrade(db_url)
    with session_scope(db_url) as session:
        seed_shop(session, customers=200, progress=False)
    customers = [f"CUST-{i:05d}" for i in range(1, args.conversations + 2)]
    order_numbers: dict[str, list[str]] = {}
    with session_scope(db_url) as session:
        for customer in customers:
            order_numbers[customer] = [o.number for o in shop_orders.recent_orders(session, customer, limit=5)] or [
                "TD000000"
            ]
    tokens = {c: sign_customer(c) for c in customers}
    env = child_env(settings)

    model = args.model or train_if_changed(ROOT / "models", env=env, log=workdir / "train.log")
    rasa_port, actions_port = free_port(), free_port()
    endpoints = workdir / "endpoints.yml"
    tracker_store = (
        f"tracker_store:\n  type: SQL\n  dialect: sqlite\n  db: {workdir / 'tracker.db'}\n"
        if args.tracker_store == "sql"
        else ""  # no entry: Rasa's in-memory tracker store
    )
    endpoints.write_text(
        f"action_endpoint:\n  url: http://127.0.0.1:{actions_port}/webhook\n  enable_selective_domain: true\n"
        + tracker_store
        + "lock_store:\n  type: in_memory\n"
    )
    procs = [
        subprocess.Popen(
            [RASA, "run", "actions", "--actions", "actions", "--port", str(actions_port)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        ),
        subprocess.Popen(
            [
                RASA,
                "run",
                "--model",
                str(model),
                "--port",
                str(rasa_port),
                "--credentials",
                "credentials.yml",
                "--endpoints",
                str(endpoints),
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        ),
    ]
    try:
        wait_until_answers(f"http://127.0.0.1:{actions_port}/health", timeout=300)
        wait_until_answers(f"http://127.0.0.1:{rasa_port}/webhooks/tandem/", timeout=300)
        rng = random.Random(1)

        def body(c: int, m: int) -> dict[str, Any]:
            customer = customers[c % len(customers)]
            texts = [
                "hi",
                f"where is my order {rng.choice(order_numbers[customer])}?",
                "how much is the galaxy s24",
                "my wifi keeps dropping",
                "can you recommend a laptop",
                "thanks",
            ]
            return {
                "sender": f"bench-{c}",
                "message": texts[m % len(texts)],
                "metadata": {"customer_token": tokens[customer]},
            }

        recordings = []
        if args.profile:
            import stage_profile

            recordings = stage_profile.start(args.py_spy, {"rasa": procs[1].pid, "actions": procs[0].pid}, args.profile)
        result = asyncio.run(
            load(f"http://127.0.0.1:{rasa_port}/webhooks/tandem/webhook", args.conversations, args.messages, body)
        )
        if recordings:
            stage_profile.stop(recordings)
            print(stage_profile.report(recordings, int(result["messages"]) + 1), flush=True)
        return result
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=30)


def run_baseline(args: argparse.Namespace, workdir: Path) -> dict[str, float]:
    project = workdir / "rasa-init"
    project.mkdir()
    env = dict(os.environ, RASA_TELEMETRY_ENABLED="false")
    started = time.perf_counter()
    subprocess.run(
        [RASA, "init", "--no-prompt", "--init-dir", str(project)],
        cwd=project,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    print(f"rasa init: init + train took {time.perf_counter() - started:.1f} s", flush=True)
    port = free_port()
    proc = subprocess.Popen(
        [RASA, "run", "--port", str(port)], cwd=project, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_until_answers(f"http://127.0.0.1:{port}/webhooks/rest/", timeout=300)
        texts = ["hi", "i am feeling sad", "yes", "great", "are you a bot?", "bye"]
        return asyncio.run(
            load(
                f"http://127.0.0.1:{port}/webhooks/rest/webhook",
                args.conversations,
                args.messages,
                lambda c, m: {"sender": f"bench-{c}", "message": texts[m % len(texts)]},
            )
        )
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conversations", type=int, default=20)
    parser.add_argument("--messages", type=int, default=15)
    parser.add_argument("--model", type=Path, default=None, help="a trained Tandem model (default: train one)")
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument(
        "--tracker-store",
        choices=["sql", "memory"],
        default="sql",
        help="Tandem's tracker store: SQLite as `tandem up` runs it (default) or in memory like the baseline",
    )
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument(
        "--profile",
        type=Path,
        default=None,
        help="sample Tandem's processes with py-spy during the load; stacks and a per-stage report",
    )
    parser.add_argument("--py-spy", default="py-spy", help="the py-spy executable (not a Tandem dependency)")
    args = parser.parse_args(argv)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        results[f"tandem ({args.tracker_store} trackers)"] = run_tandem(args, workdir)
        print(json.dumps(results), flush=True)
        if not args.skip_baseline:
            results["bare rasa init bot"] = run_baseline(args, workdir)
    print(f"\n{args.conversations} concurrent conversations x {args.messages} messages, REST webhook")
    print(f"{'stack':26} {'p50 ms':>8} {'p99 ms':>8} {'mean ms':>8} {'msg/s':>7} {'failed':>6}")
    for name, r in results.items():
        print(
            f"{name:26} {r['p50_ms']:8.1f} {r['p99_ms']:8.1f} {r['mean_ms']:8.1f} {r['throughput_msg_s']:7.1f} {r['failures']:6d}"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
