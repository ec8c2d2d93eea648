"""Insights dashboard queries at scale: each panel's time on PostgreSQL with 100,000 conversations and 1,000,000 turns.

A throwaway PostgreSQL database gets the demo shop (its customers and products), then 90 days of generated
analytics rows, bulk-loaded with COPY: conversations and their turns (about 8 % fallbacks, a pool of repeated
questions the bot does not know), journeys with their steps and CSAT, handoffs with their messages, customer
segments, and recommendation impressions, clicks, dismissals and purchases. The daily rollup of the messages is then
built as the running insights consumer builds it (bot.insights.rollup.refresh; the days are over). Each panel of
bot.insights.dashboard (the period and the previous one, as the console computes them) then runs `--runs` times per
scenario after one warm-up; the table shows the median and the 95th percentile. The unknown-questions panel's first
(cold) run embeds its texts; the warm runs find them in the process's cache, as a running console does.

    python bench/insights_dashboard.py [--conversations 100000] [--turns 1000000] [--runs 10] [--keep]
    python bench/insights_dashboard.py --url <the URL a --keep run printed>   # again on the same data
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import random
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
POSTGRES = os.environ.get("TANDEM_TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
RESULTS = ROOT / "bench" / "results" / "insights_dashboard.json"

ANCHOR = date(2026, 11, 1)  # the demo shop's "today"
END = datetime(2026, 11, 2)  # the generated conversations end here
DAYS = 90
INTENTS = [f"intent_{i:02d}" for i in range(40)]
WORKFLOWS = ["late_delivery", "wrong_charge", "no_internet", "return_refund", "device_wont_turn_on"]
STEPS = ["start", "ask_details", "check", "offer_fix", "confirm"]
REASONS = ["asked", "bot_stuck", "negative_streak", "workflow_escalation", "complaint"]
QUEUES = ["billing", "delivery", "technical", "returns", "general"]
SEGMENTS = ["champions", "loyal", "at_risk", "hibernating", "new", "lost"]
STRATEGIES = ["hybrid", "popularity", "item_knn"]
UNKNOWN_TOPICS = [
    "can I pay with {}",
    "do you accept {} payments",
    "where is your store in {}",
    "what are your opening hours in {}",
    "do you ship to {}",
    "is there a discount for {}",
    "can I book a repair for my {}",
    "how do I trade in my {}",
]
FILLERS = ["paypal", "klarna", "london", "leeds", "ireland", "students", "iphone", "laptop", "bitcoin", "apple pay"]


def create_database() -> str:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"tandem_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(POSTGRES).set(database=name).render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from bot.db.session import dispose_engine

    dispose_engine(url)
    admin = create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    admin.dispose()


def copy(url: str, table: str, columns: list[str], rows) -> int:  # type: ignore[no-untyped-def]
    """COPY rows into a table in chunks of 200,000; None is NULL."""
    from bot.db.session import make_engine

    raw = make_engine(url).raw_connection()
    n = 0
    try:
        cursor = raw.cursor()
        buffer = io.StringIO()
        writer = csv.writer(buffer)

        def flush() -> None:
            buffer.seek(0)
            cursor.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv, NULL '\\N')", buffer)
            buffer.seek(0)
            buffer.truncate()

        for row in rows:
            writer.writerow(["\\N" if v is None else v for v in row])
            n += 1
            if n % 200_000 == 0:
                flush()
        flush()
        raw.commit()
    finally:
        raw.close()
    return n


def _naive(seconds: float) -> datetime:
    return datetime.fromtimestamp(float(seconds), UTC).replace(tzinfo=None)


def _iso(moment: datetime) -> str:
    return moment.isoformat(sep=" ")


def generate(url: str, conversations: int, turns: int, seed: int = 17) -> dict[str, int]:
    from sqlalchemy import select

    from bot.db.models import Customer, Product
    from bot.db.session import session_scope

    rng = np.random.default_rng(seed)
    pick = random.Random(seed)
    with session_scope(url) as session:
        customers = list(session.execute(select(Customer.id)).scalars())
        products = list(session.execute(select(Product.id)).scalars())
    counts: dict[str, int] = {}

    # Conversations: start times spread evenly over DAYS days; turns 20-120 s apart, answered about a second later.
    start = END - timedelta(days=DAYS)
    base = start.replace(tzinfo=UTC).timestamp()
    n_conv = conversations
    started = base + np.sort(rng.uniform(0, DAYS * 86400, n_conv))
    per = rng.multinomial(turns - n_conv, np.full(n_conv, 1 / n_conv)) + 1  # at least one message each
    first = np.concatenate([[0], np.cumsum(per)[:-1]])
    owner = np.repeat(np.arange(n_conv), per)
    n_turns = int(per.sum())
    gaps = rng.uniform(20, 120, n_turns)
    gaps[first] = 0.0
    cumulative = np.cumsum(gaps)
    at = started[owner] + 5 + cumulative - cumulative[first][owner]
    fallback = rng.random(n_turns) < 0.08
    unsure = ~fallback & (rng.random(n_turns) < 0.04)
    confidence = np.where(
        fallback,
        rng.uniform(0.1, 0.45, n_turns),
        np.where(unsure, rng.uniform(0.45, 0.6, n_turns), rng.uniform(0.6, 1.0, n_turns)),
    )
    mood = rng.normal(0.1, 0.25, n_conv)  # each conversation's mood, each message a little off it
    score = np.clip(mood[owner] + rng.normal(0.0, 0.2, n_turns), -1, 1)
    label = np.where(score < -0.3, "negative", np.where(score > 0.3, "positive", "neutral"))
    answered = np.where(rng.random(n_turns) < 0.97, at + rng.gamma(2.0, 0.6, n_turns), np.nan)
    unknown_pool = np.array([t.format(f) for t in UNKNOWN_TOPICS for f in FILLERS])
    known_pool = np.array([f"an ordinary question number {i}" for i in range(3000)])
    text = np.where(
        fallback | unsure,
        unknown_pool[rng.integers(0, len(unknown_pool), n_turns)],
        known_pool[rng.integers(0, len(known_pool), n_turns)],
    )
    intent = np.where(fallback, "nlu_fallback", np.array(INTENTS)[rng.integers(0, len(INTENTS), n_turns)])

    def stamp(seconds: np.ndarray) -> np.ndarray:
        return np.datetime_as_string((seconds * 1000).astype("int64").astype("datetime64[ms]"))

    last_turn = first + per - 1
    ends = np.where(np.isnan(answered[last_turn]), at[last_turn], answered[last_turn])
    handed = rng.random(n_conv) < 0.15
    handed_at = ends + 30
    agent_reply = handed_at + rng.uniform(30, 900, n_conv)
    negative_at = np.minimum.reduceat(np.where(label == "negative", at, np.inf), first)
    known = rng.random(n_conv) < 0.8
    customer = np.array(customers)[rng.integers(0, len(customers), n_conv)]
    channel = np.where(rng.random(n_conv) < 0.7, "socketio", "rest")
    started_s, ends_s, handed_s, reply_s = stamp(started), stamp(ends), stamp(handed_at), stamp(agent_reply)
    negative_s = stamp(np.where(np.isinf(negative_at), 0, negative_at))
    fallbacks = np.add.reduceat(fallback.astype(int), first)
    lowest = np.minimum.reduceat(score, first)
    senders = [f"s{i:07d}" for i in range(n_conv)]
    agent_messages = rng.integers(1, 4, n_conv)

    def conversation_rows():  # type: ignore[no-untyped-def]
        for i in range(n_conv):
            h = bool(handed[i])
            yield (
                i + 1,
                senders[i],
                channel[i],
                int(customer[i]) if known[i] else None,
                started_s[i],
                reply_s[i] if h else ends_s[i],
                int(per[i]),
                int(per[i]),
                int(agent_messages[i]) if h else 0,
                int(fallbacks[i]),
                handed_s[i] if h else None,
                reply_s[i] if h else None,
                round(float(lowest[i]), 4),
                round(float(score[last_turn[i]]), 4),
                None if np.isinf(negative_at[i]) else negative_s[i],
            )

    counts["insight_conversations"] = copy(
        url,
        "insight_conversations",
        [
            "id",
            "sender_id",
            "channel",
            "customer_id",
            "started_at",
            "last_event_at",
            "user_turns",
            "bot_messages",
            "agent_messages",
            "fallbacks",
            "handed_off_at",
            "first_agent_reply_at",
            "sentiment_min",
            "sentiment_last",
            "turned_negative_at",
        ],
        conversation_rows(),
    )
    at_s = stamp(at)
    answered_s = stamp(np.nan_to_num(answered))

    def turn_rows():  # type: ignore[no-untyped-def]
        for k in range(n_turns):
            yield (
                k + 1,
                int(owner[k]) + 1,
                at_s[k],
                text[k],
                intent[k],
                round(float(confidence[k]), 4),
                None,
                "[]",
                round(float(score[k]), 4),
                label[k],
                "en",
                "utter_answer",
                "RulePolicy",
                "t" if fallback[k] else "f",
                None if np.isnan(answered[k]) else answered_s[k],
            )

    counts["insight_turns"] = copy(
        url,
        "insight_turns",
        [
            "id",
            "conversation_id",
            "at",
            "text",
            "intent",
            "confidence",
            "margin",
            "entities",
            "sentiment",
            "sentiment_label",
            "language",
            "action",
            "policy",
            "fallback",
            "answered_at",
        ],
        turn_rows(),
    )
    conv_meta = [
        (
            i + 1,
            senders[i],
            _naive(started[i]),
            _naive(ends[i]),
            int(customer[i]) if known[i] else None,
            _naive(handed_at[i]) if handed[i] else None,
        )
        for i in range(n_conv)
    ]

    # Journeys: one in five conversations of a known customer opens one (4-5 steps, in that conversation).
    journey_rows, step_rows, csat_rows = [], [], []
    jid = step_id = 0
    for _cid, sender, started, last, cust, handed_at in conv_meta:
        if cust is None or rng.random() >= 0.2:
            continue
        jid += 1
        workflow = WORKFLOWS[jid % len(WORKFLOWS)]
        steps = int(rng.integers(1, len(STEPS) + 1))
        resolved = steps == len(STEPS) or rng.random() < 0.3
        opened = started + timedelta(seconds=10)
        resolved_at = opened + timedelta(hours=float(rng.gamma(1.5, 6))) if resolved else None
        state = "resolved" if resolved else ("escalated" if handed_at else "waiting_for_customer")
        journey_rows.append(
            (
                jid,
                cust,
                workflow,
                f"{workflow}-{jid}",
                state,
                STEPS[steps - 1],
                "{}",
                "bot_stuck" if handed_at else None,
                None,
                ("agent:bench" if handed_at else "customer") if resolved else None,
                _iso(opened),
                _iso(opened),
                _iso(opened),
                _iso(resolved_at) if resolved_at else None,
                None,
                int(rng.random() < 0.05),
                sender,
                "socketio",
                0,
                steps,
                1,
            )
        )
        for seq in range(1, steps + 1):
            step_id += 1
            at = opened + timedelta(seconds=20 * seq)
            step_rows.append(
                (
                    step_id,
                    jid,
                    seq,
                    STEPS[seq - 1],
                    _iso(min(at, last)),
                    "socketio",
                    sender,
                    None,
                    None,
                    None,
                    "open",
                    "[]",
                    "f",
                )
            )
        if resolved and rng.random() < 0.5:
            csat_rows.append((jid, int(rng.integers(1, 6)), None, _iso(resolved_at + timedelta(minutes=5))))
    counts["journeys"] = copy(
        url,
        "journeys",
        [
            "id",
            "customer_id",
            "workflow",
            "problem_key",
            "state",
            "current_step",
            "context",
            "escalation_reason",
            "outcome",
            "resolved_by",
            "opened_at",
            "updated_at",
            "quiet_since",
            "resolved_at",
            "closed_at",
            "reopened_count",
            "last_conversation_id",
            "last_channel",
            "unanswered_nudges",
            "step_count",
            "version",
        ],
        journey_rows,
    )
    counts["journey_steps"] = copy(
        url,
        "journey_steps",
        [
            "id",
            "journey_id",
            "seq",
            "step",
            "at",
            "channel",
            "conversation_id",
            "intent",
            "text",
            "sentiment",
            "state_after",
            "messages",
            "unexpected",
        ],
        step_rows,
    )
    counts["journey_csat"] = copy(url, "journey_csat", ["journey_id", "score", "comment", "at"], csat_rows)

    # Handoffs of the handed-off conversations, two messages each.
    handoff_rows, message_rows = [], []
    hid = mid = 0
    for _cid, sender, _started, _last, cust, handed_at in conv_meta:
        if handed_at is None:
            continue
        hid += 1
        claimed = handed_at + timedelta(seconds=float(rng.gamma(2, 90)))
        closed = claimed + timedelta(seconds=float(rng.gamma(2, 300)))
        status = "resolved" if rng.random() < 0.7 else "handed_back"
        handoff_rows.append(
            (
                hid,
                sender,
                "socketio",
                cust,
                None,
                REASONS[hid % len(REASONS)],
                QUEUES[hid % len(QUEUES)],
                50,
                None,
                None,
                status,
                None,
                None,
                None,
                _iso(handed_at),
                _iso(claimed),
                _iso(closed),
                _iso(closed),
                1,
            )
        )
        for kind, at in (("customer", handed_at + timedelta(seconds=5)), ("agent", claimed + timedelta(seconds=40))):
            mid += 1
            message_rows.append((mid, hid, kind, "bench" if kind == "agent" else None, None, "hello", _iso(at), None))
    counts["handoffs"] = copy(
        url,
        "handoffs",
        [
            "id",
            "conversation_id",
            "channel",
            "customer_id",
            "journey_id",
            "reason",
            "queue",
            "priority",
            "sentiment",
            "customer_value",
            "status",
            "agent_id",
            "expected_wait_seconds",
            "summary",
            "requested_at",
            "claimed_at",
            "closed_at",
            "updated_at",
            "version",
        ],
        handoff_rows,
    )
    counts["handoff_messages"] = copy(
        url,
        "handoff_messages",
        ["id", "handoff_id", "kind", "author", "agent_id", "text", "at", "delivered_at"],
        message_rows,
    )
    del conv_meta

    # Segments for every customer; recommendation events over the 90 days.
    segment_rows = [
        (
            c,
            3,
            3,
            3,
            SEGMENTS[c % len(SEGMENTS)],
            0,
            "everyone",
            round(float(rng.random()), 3),
            "none",
            "",
            _iso(END),
            "bench",
        )
        for c in customers
    ]
    counts["customer_segments"] = copy(
        url,
        "customer_segments",
        [
            "customer_id",
            "recency_score",
            "frequency_score",
            "monetary_score",
            "rfm_segment",
            "cluster",
            "cluster_label",
            "churn_risk",
            "next_best_action",
            "next_best_action_reason",
            "refreshed_at",
            "model_version",
        ],
        segment_rows,
    )
    events = []
    for i in range(60_000):
        cust, product = pick.choice(customers), pick.choice(products)
        at = start + timedelta(seconds=float(rng.uniform(0, DAYS * 86400)))
        strategy = STRATEGIES[i % len(STRATEGIES)]
        request = f"r{i}"
        events.append((cust, product, None, "impression", None, _iso(at), "chat", strategy, request, "t", "chat", None))
        if rng.random() < 0.06:
            events.append(
                (
                    cust,
                    product,
                    None,
                    "click",
                    None,
                    _iso(at + timedelta(seconds=30)),
                    "chat",
                    strategy,
                    request,
                    None,
                    "chat",
                    None,
                )
            )
        if rng.random() < (0.03 if strategy == "hybrid" else 0.02):
            events.append(
                (
                    cust,
                    product,
                    None,
                    "purchase",
                    1,
                    _iso(at + timedelta(hours=5)),
                    "chat",
                    None,
                    None,
                    None,
                    "chat",
                    None,
                )
            )
        if rng.random() < 0.02:
            events.append(
                (
                    cust,
                    product,
                    None,
                    "dismissal",
                    None,
                    _iso(at + timedelta(seconds=50)),
                    "chat",
                    strategy,
                    None,
                    None,
                    "chat",
                    None,
                )
            )
    counts["behaviour_events"] = copy(
        url,
        "behaviour_events",
        [
            "customer_id",
            "product_id",
            "category",
            "kind",
            "value",
            "occurred_at",
            "channel",
            "strategy",
            "request_id",
            "solicited",
            "source",
            "external_id",
        ],
        events,
    )
    _fix_sequences(url)
    _vacuum(url)
    return counts


def _vacuum(url: str) -> None:
    """The steady state of tables this old: autovacuum has set their visibility maps (index-only scans) and stats."""
    from sqlalchemy import create_engine

    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")
    engine.dispose()


def _fix_sequences(url: str) -> None:
    from sqlalchemy import text

    from bot.db.session import make_engine

    with make_engine(url).begin() as conn:
        for table in (
            "insight_conversations",
            "insight_turns",
            "journeys",
            "journey_steps",
            "handoffs",
            "handoff_messages",
        ):
            conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"))


def time_panels(url: str, scenarios: dict[str, object], runs: int) -> list[dict]:
    from bot.db.session import session_factory
    from bot.insights.dashboard import PANELS

    factory = session_factory(url)
    results = []
    for scenario, f in scenarios.items():
        for name, panel in PANELS.items():
            times = []
            for run in range(runs + 1):
                session = factory()
                try:
                    t0 = time.perf_counter()
                    panel(session, f)
                    elapsed = time.perf_counter() - t0
                finally:
                    session.close()
                if run == 0:
                    cold = elapsed
                else:
                    times.append(elapsed)
            row = {
                "scenario": scenario,
                "panel": name,
                "first_ms": round(1000 * cold, 1),
                "median_ms": round(1000 * float(np.median(times)), 1),
                "p95_ms": round(1000 * float(np.percentile(times, 95)), 1),
            }
            results.append(row)
            print(
                f"  {scenario:<28} {name:<18} first {row['first_ms']:>8.1f}  median {row['median_ms']:>7.1f}  p95 {row['p95_ms']:>7.1f} ms",
                flush=True,
            )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--turns", type=int, default=1_000_000)
    parser.add_argument("--shop-customers", type=int, default=3000)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--keep", action="store_true", help="keep the database (its URL is printed)")
    parser.add_argument("--url", help="reuse a database a --keep run left (skips generating)")
    args = parser.parse_args()

    from bot.db.migrate import upgrade
    from bot.db.session import session_scope
    from bot.insights.rollup import mark_all_stale, refresh
    from bot.insights.scope import Filters
    from bot.shop.seed import seed_shop

    url = args.url or create_database()
    print(f"database: {url.rsplit('/', 1)[-1]}", flush=True)
    try:
        counts: dict[str, int] = {}
        if not args.url:
            t0 = time.perf_counter()
            upgrade(url)
            with session_scope(url) as session:
                seed_shop(session, seed=7, customers=args.shop_customers, anchor=ANCHOR)
            print(f"shop seeded in {time.perf_counter() - t0:.0f} s", flush=True)
            t0 = time.perf_counter()
            counts = generate(url, args.conversations, args.turns)
            print(f"generated in {time.perf_counter() - t0:.0f} s: {counts}", flush=True)
            with session_scope(url) as session:  # COPY wrote the messages: no writer marked their days
                mark_all_stale(session)
        upgrade(url)  # a database a --keep run left: its schema may be older (0012 marks its days stale)
        t0 = time.perf_counter()
        built, _ = refresh(url)  # what the running insights consumer does for each day that is over
        if built:
            print(f"rolled up {built} days in {time.perf_counter() - t0:.1f} s", flush=True)
        week, month = Filters(END - timedelta(days=7), END), Filters(END - timedelta(days=30), END)
        scenarios = {
            "7 days vs the 7 before": week,
            "30 days vs the 30 before": month,
            "7 days, channel + segment": Filters(week.since, week.until, channel="socketio", segment="at_risk"),
            "7 days, workflow": Filters(week.since, week.until, workflow="late_delivery"),
            "30 days, channel": Filters(month.since, month.until, channel="socketio"),
            "30 days, channel + segment": Filters(month.since, month.until, channel="socketio", segment="at_risk"),
            "30 days, workflow": Filters(month.since, month.until, workflow="late_delivery"),
        }
        results = time_panels(url, scenarios, args.runs)
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps({"counts": counts, "runs": args.runs, "results": results}, indent=2))
        print("\n| scenario | panel | first run (ms) | median (ms) | p95 (ms) |\n| --- | --- | ---: | ---: | ---: |")
        for r in results:
            print(f"| {r['scenario']} | {r['panel']} | {r['first_ms']} | {r['median_ms']} | {r['p95_ms']} |")
    finally:
        if args.keep or args.url:
            print(f"kept: {url}")
        else:
            drop_database(url)


if __name__ == "__main__":
    main()
