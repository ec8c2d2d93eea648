"""The conversation panels' tables: conversations, containment and fallbacks per day, handoffs by reason and by
queue."""

from __future__ import annotations

from bot.insights.panels.conversations import Containment, Fallbacks, Handoffs, Volume
from bot.insights.scope import Compared, Filters, share
from bot.insights.tables.table import Column, Table, daily


def volume_table(p: Compared[Volume], f: Filters) -> Table:
    return Table(
        "volume",
        "Conversations per day",
        (
            Column("day", "Day", "date"),
            Column("conversations", "Conversations"),
            Column("previous_day", "Same day, previous period", "date"),
            Column("previous_conversations", "Conversations then"),
        ),
        daily(p.current.per_day, p.previous.per_day, lambda d: (d.count,)),
    )


def containment_table(p: Compared[Containment], f: Filters) -> Table:
    return Table(
        "containment",
        "Containment per day (conversations that ended without a person)",
        (
            Column("day", "Day", "date"),
            Column("conversations", "Conversations"),
            Column("contained", "Without a person"),
            Column("containment", "Containment", "rate"),
            Column("previous_day", "Same day, previous period", "date"),
            Column("previous_containment", "Containment then", "rate"),
        ),
        tuple(
            (d.day, d.whole, d.part, d.rate, prev[0], prev[1])
            for d, prev in zip(
                p.current.per_day,
                [(b.day, b.rate) for b in p.previous.per_day] + [(None, None)] * len(p.current.per_day),
            )
        ),
    )


def fallbacks_table(p: Compared[Fallbacks], f: Filters) -> Table:
    return Table(
        "fallbacks",
        "Fallback rate per day (customer messages the bot did not understand)",
        (
            Column("day", "Day", "date"),
            Column("customer_messages", "Customer messages"),
            Column("fallbacks", "Fallbacks"),
            Column("fallback_rate", "Fallback rate", "rate"),
            Column("previous_day", "Same day, previous period", "date"),
            Column("previous_fallback_rate", "Fallback rate then", "rate"),
        ),
        tuple(
            (d.day, d.whole, d.part, d.rate, prev[0], prev[1])
            for d, prev in zip(
                p.current.per_day,
                [(b.day, b.rate) for b in p.previous.per_day] + [(None, None)] * len(p.current.per_day),
            )
        ),
    )


def handoff_reasons_table(p: Compared[Handoffs], f: Filters) -> Table:
    before = {c.key: c.count for c in p.previous.by_reason}
    now = p.current
    keys = [c.key for c in now.by_reason] + sorted(set(before) - {c.key for c in now.by_reason})
    counts = {c.key: c.count for c in now.by_reason}
    return Table(
        "handoff-reasons",
        "Why customers were handed to a person",
        (
            Column("reason", "Reason", "text"),
            Column("handoffs", "Handoffs"),
            Column("share", "Share", "rate"),
            Column("previous_handoffs", "Handoffs, previous period"),
        ),
        tuple((k, counts.get(k, 0), share(counts.get(k, 0), now.handoffs), before.get(k, 0)) for k in keys),
    )


def handoff_queues_table(p: Compared[Handoffs], f: Filters) -> Table:
    before = {q.queue: q for q in p.previous.by_queue}
    now = {q.queue: q for q in p.current.by_queue}
    keys = [q.queue for q in p.current.by_queue] + sorted(set(before) - set(now))
    rows = []
    for k in keys:
        q, b = now.get(k), before.get(k)
        rows.append(
            (
                k,
                q.handoffs if q else 0,
                share(q.handoffs if q else 0, p.current.handoffs),
                q.wait_to_claim.median if q else None,
                q.wait_to_claim.p90 if q else None,
                b.handoffs if b else 0,
                b.wait_to_claim.median if b else None,
            )
        )
    return Table(
        "handoff-queues",
        "Handoffs per queue, and the wait until an agent claimed them",
        (
            Column("queue", "Queue", "text"),
            Column("handoffs", "Handoffs"),
            Column("share", "Share", "rate"),
            Column("median_wait_seconds", "Median wait", "seconds"),
            Column("p90_wait_seconds", "90th percentile wait", "seconds"),
            Column("previous_handoffs", "Handoffs, previous period"),
            Column("previous_median_wait_seconds", "Median wait then", "seconds"),
        ),
        tuple(rows),
    )
