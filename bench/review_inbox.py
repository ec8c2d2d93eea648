"""The NLU inbox at scale: a page's time on PostgreSQL with 100,000 candidate messages among 200,000.

A throwaway PostgreSQL database gets a small demo shop (its customers' names are redacted from their messages) and
20,000 conversations of generated customer messages, COPY-loaded: 100,000 candidates for review (fallbacks, low
confidence, narrow margins, answered by an agent after a handoff) and as many the bot was sure of. Their texts are
those of a real inbox: a head of frequent questions written with different order numbers, emails, phone numbers and
names (one item each once redacted), and a long tail of rarer ones, half of them with typos. `refresh` then redacts
every message once into the inbox's table (timed), and each scenario runs `--runs` times after one warm-up; the table
shows the median and the 95th percentile:

- the first page (50 distinct messages, every reason, most frequent first), with and without grouping by meaning
  (the grouping's embeddings are in the process's cache after the warm-up, as in a running console);
- a filtered page (narrow margin or handoff, the last 7 days, page 3);
- the counts per reason, and `refresh` when nothing is new (what `tandem review inbox` adds before listing).

    python bench/review_inbox.py [--candidates 100000] [--others 100000] [--runs 20] [--keep] [--url URL]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from insights_dashboard import POSTGRES, copy, create_database, drop_database  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "review_inbox.json"
END = datetime(2026, 11, 2)
DAYS = 60
CONVERSATIONS = 20_000

HEAD = [  # frequent questions; {order}, {email}, {phone} and {name} make each message different before redaction
    "where is my order {order}",
    "wher is my ordr {order}??",
    "can you cancel {order} please",
    "has {order} been dispatched yet",
    "i never got {order}, the tracking hasnt moved",
    "my email changed to {email}",
    "send the invoice to {email} pls",
    "call me back on {phone}",
    "my number is {phone} if the driver needs it",
    "hi its {name}, i need to speak to someone",
    "this is {name}, the parcel came damaged",
    "do you take klarna",
    "can i pay with paypal",
    "is there a student discount",
    "do you price match",
    "can i collect from a store",
    "do you ship to ireland",
    "how do i trade in my old phone",
    "can i change my delivery address for {order}",
    "the charger from {order} doesnt work",
]
TAIL_START = [
    "is the",
    "does the",
    "can i get the",
    "how long does the",
    "why is the",
    "do you have the",
    "whats the deal with the",
]
TAIL_THING = [
    "iphone 15",
    "galaxy s24",
    "pixel 8",
    "macbook air",
    "airpods pro",
    "xps 13",
    "fire hd 10",
    "apple watch",
    "thinkpad x1",
    "oneplus 12",
    "moto g84",
    "zenbook 14",
    "galaxy tab",
    "pixel watch",
    "garmin",
    "ipad",
]
TAIL_END = [
    "in blue",
    "with a case",
    "battery any good",
    "refurbished",
    "on finance",
    "in stock in leeds",
    "waterproof",
    "compatible with my car",
    "come with a charger",
    "worth it",
    "cheaper next month",
    "under warranty",
    "available to collect",
    "good for gaming",
    "ok for my kid",
    "unlocked",
    "eligible for trade in",
    "on sale",
]
INTENTS = ["order_status", "cancel_order", "delivery_problem", "billing_question", "product_question", "ask_human"]


def _text(rng: random.Random, names: list[str]) -> str:
    if rng.random() < 0.6:
        return rng.choice(HEAD).format(
            order=f"TD{rng.randint(100000, 999999)}",
            email=f"{rng.choice(['jo', 'sam', 'alex', 'priya'])}{rng.randint(1, 9999)}@example.net",
            phone=f"07700 900{rng.randint(0, 999):03d}",
            name=rng.choice(names),
        )
    return _typo(rng, f"{rng.choice(TAIL_START)} {rng.choice(TAIL_THING)} {rng.choice(TAIL_END)}")


def _typo(rng: random.Random, text: str) -> str:
    """Half of the rarer questions with a typo or two (a letter dropped or doubled): the long tail of one-offs."""
    for _ in range(2):
        if rng.random() < 0.5:
            i = rng.randrange(len(text))
            text = text[:i] + text[i + 1 :] if rng.random() < 0.5 else text[:i] + text[i] + text[i:]
    return text


def generate(url: str, candidates: int, others: int, seed: int = 23) -> dict[str, int]:
    """Conversations and their customer messages, COPY-loaded; a quarter of the conversations were handed off."""
    from sqlalchemy import select

    from bot.db.models import Customer
    from bot.db.session import session_scope

    rng = random.Random(seed)
    with session_scope(url) as session:
        customers = session.execute(select(Customer.id, Customer.name)).all()
    names = [name.split()[0] for _, name in customers]
    conversations = []
    for i in range(1, CONVERSATIONS + 1):
        started = END - timedelta(seconds=rng.uniform(0, DAYS * 86400))
        handed = started + timedelta(minutes=3) if rng.random() < 0.25 else None
        customer = rng.choice(customers)[0] if rng.random() < 0.7 else None
        conversations.append((i, started, handed, customer))
    copy(
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
        ],
        (
            (
                i,
                f"s{i}",
                "socketio",
                c,
                s,
                s + timedelta(minutes=30),
                10,
                10,
                2 if h else 0,
                0,
                h,
                h + timedelta(minutes=1) if h else None,
            )
            for i, s, h, c in conversations
        ),
    )
    handed_off = [c for c in conversations if c[2] is not None]

    def turns():  # type: ignore[no-untyped-def]
        for n in range(candidates + others):
            candidate = n < candidates
            reason = rng.random()
            if candidate and reason < 0.1:  # answered by an agent after the handoff, the NLU sure of it
                conv = rng.choice(handed_off)
                at = conv[2] + timedelta(minutes=rng.uniform(1, 20))
                intent, confidence, margin, fallback = rng.choice(INTENTS), 0.93, 0.8, False
            else:
                conv = rng.choice(conversations)
                at = conv[1] + timedelta(seconds=rng.uniform(0, 170))  # before any handoff
                if not candidate:
                    intent, confidence, margin, fallback = rng.choice(INTENTS), rng.uniform(0.8, 1), 0.6, False
                elif reason < 0.4:
                    intent, confidence, margin, fallback = "nlu_fallback", rng.uniform(0.2, 0.45), 0.2, True
                elif reason < 0.75:
                    intent, confidence, margin, fallback = rng.choice(INTENTS), rng.uniform(0.45, 0.6), 0.2, False
                else:
                    intent, confidence, margin, fallback = rng.choice(INTENTS), 0.7, rng.uniform(0, 0.1), False
            text = _text(rng, names) if candidate else rng.choice(["hi", "thanks", "where is my order", "yes", "no"])
            action = None if conv[2] is not None and at >= conv[2] else "utter_answer"  # the bot is quiet in a handoff
            yield (conv[0], at, text, intent, confidence, margin, "[]", fallback, action)

    columns = ["conversation_id", "at", "text", "intent", "confidence", "margin", "entities", "fallback", "action"]
    copy(url, "insight_turns", columns, turns())
    return {"conversations": CONVERSATIONS, "candidates": candidates, "others": others}


def _timed(url: str, call, runs: int) -> dict[str, float]:  # type: ignore[no-untyped-def]
    from bot.db.session import session_factory

    times = []
    for run in range(runs + 1):
        session = session_factory(url)()
        try:
            t0 = time.perf_counter()
            call(session)
            elapsed = time.perf_counter() - t0
            session.commit()
        finally:
            session.close()
        if run == 0:
            first = elapsed
        else:
            times.append(elapsed)
    return {
        "first_ms": round(1000 * first, 1),
        "median_ms": round(1000 * float(np.median(times)), 1),
        "p95_ms": round(1000 * float(np.percentile(times, 95)), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=100_000)
    parser.add_argument("--others", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--keep", action="store_true", help="keep the database (its URL is printed)")
    parser.add_argument("--url", help="reuse a database a --keep run left (skips generating and indexing)")
    args = parser.parse_args()

    from sqlalchemy import func, select, text

    from bot.db.migrate import upgrade
    from bot.db.models import ReviewMessage
    from bot.db.session import make_engine, session_scope
    from bot.insights.unknown import shared_embeddings
    from bot.review.inbox import InboxFilter, inbox_page, reason_counts
    from bot.review.messages import refresh
    from bot.shop.seed import seed_shop

    url = args.url or create_database()
    report: dict = {"postgres": POSTGRES.rsplit("@", 1)[-1]}
    try:
        if not args.url:
            upgrade(url)
            with session_scope(url) as session:
                seed_shop(session, seed=7, customers=300, anchor=END.date())
            t0 = time.perf_counter()
            report["rows"] = generate(url, args.candidates, args.others)
            print(f"generated {report['rows']} in {time.perf_counter() - t0:.1f} s", flush=True)
            t0 = time.perf_counter()
            with session_scope(url) as session:
                indexed = refresh(session).added
            report["index_s"] = round(time.perf_counter() - t0, 1)
            print(f"refresh: {indexed:,} messages redacted and stored in {report['index_s']} s", flush=True)
            with make_engine(url).connect() as conn:
                conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
        with session_scope(url) as session:
            report["distinct_keys"] = session.execute(select(func.count(func.distinct(ReviewMessage.key)))).scalar()
        embeddings = shared_embeddings()
        week = InboxFilter(("narrow_margin", "handoff"), since=END - timedelta(days=7))
        scenarios = {
            "first page, grouped by meaning": lambda s: inbox_page(s, embeddings=embeddings),
            "first page, not grouped": lambda s: inbox_page(s, group=False),
            "filtered page (2 reasons, 7 days, page 3), grouped": lambda s: inbox_page(
                s, week, page=3, embeddings=embeddings
            ),
            "counts per reason": lambda s: reason_counts(s, InboxFilter()),
            "refresh, nothing new": lambda s: refresh(s),
        }
        with session_scope(url) as session:
            first = inbox_page(session, group=False)
        report["inbox"] = {"messages": first.messages, "distinct": first.distinct}
        print(f"inbox: {first.messages:,} candidate messages, {first.distinct:,} distinct after redaction", flush=True)
        report["scenarios"] = {}
        for name, call in scenarios.items():
            row = _timed(url, call, args.runs)
            report["scenarios"][name] = row
            print(
                f"  {name:<52} first {row['first_ms']:>8.1f}  median {row['median_ms']:>7.1f}  p95 {row['p95_ms']:>7.1f} ms"
            )
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    finally:
        if args.keep or args.url:
            print(f"database kept: {url}")
        else:
            drop_database(url)


if __name__ == "__main__":
    main()
