"""The message panels' tables: response times, mood (per day, by label, how negative conversations ended),
intents (top and rising) and the questions the bot did not know."""

from __future__ import annotations

from collections.abc import Sequence

from bot.insights.panels.messages import IntentCount, Intents, ResponseTimes, Sentiment
from bot.insights.scope import NEGATIVE_OUTCOMES, Compared, Filters, Spread, share
from bot.insights.tables.table import Column, Table
from bot.insights.unknown import UnknownQuestions

APPROXIMATE = (
    "The bot's median and 90th percentile are estimated from the daily histogram of its response times (whole days "
    "before today): within 1 % of the exact figure (10 ms below 10 ms). The counts are exact."
)


def response_times_table(p: Compared[ResponseTimes], f: Filters) -> Table:
    def row(label: str, now: Spread, before: Spread) -> tuple:
        return (label, now.count, now.median, now.p90, before.count, before.median, before.p90)

    c, b = p.current, p.previous
    return Table(
        "response-times",
        "Response times",
        (
            Column("measure", "Measure", "text"),
            Column("count", "How many"),
            Column("median_seconds", "Median", "seconds"),
            Column("p90_seconds", "90th percentile", "seconds"),
            Column("previous_count", "How many, previous period"),
            Column("previous_median_seconds", "Median then", "seconds"),
            Column("previous_p90_seconds", "90th percentile then", "seconds"),
        ),
        (
            row("Bot: customer message to its answer", c.bot, b.bot),
            row("Agent: handoff to first reply", c.agent_first_response, b.agent_first_response),
            row("Agent: handoff to resolved", c.resolution, b.resolution),
        ),
        note=APPROXIMATE if c.bot.approximate or b.bot.approximate else None,
    )


def sentiment_days_table(p: Compared[Sentiment], f: Filters) -> Table:
    return Table(
        "sentiment-by-day",
        "Customers' mood per day (average sentiment of their messages, -1 to +1)",
        (
            Column("day", "Day", "date"),
            Column("messages", "Messages with a mood"),
            Column("average", "Average", "signed"),
            Column("previous_day", "Same day, previous period", "date"),
            Column("previous_average", "Average then", "signed"),
        ),
        tuple(
            (d.day, d.messages, d.average, prev[0], prev[1])
            for d, prev in zip(
                p.current.per_day,
                [(b.day, b.average) for b in p.previous.per_day] + [(None, None)] * len(p.current.per_day),
            )
        ),
    )


MOOD_LABELS = {"negative": "Negative", "neutral": "Neutral", "positive": "Positive", "unknown": "No mood"}
OUTCOME_LABELS = {
    "handed_off": "Handed to a person",
    "recovered": "Recovered with the bot (last message not negative)",
    "abandoned": "Left unhappy (no person, last message negative)",
}


def sentiment_distribution_table(p: Compared[Sentiment], f: Filters) -> Table:
    before = {c.key: c.count for c in p.previous.distribution}
    return Table(
        "sentiment-distribution",
        "Customer messages by mood",
        (
            Column("mood", "Mood", "text"),
            Column("messages", "Messages"),
            Column("share", "Share", "rate"),
            Column("previous_messages", "Messages, previous period"),
            Column("previous_share", "Share then", "rate"),
        ),
        tuple(
            (
                MOOD_LABELS.get(c.key, c.key),
                c.count,
                share(c.count, p.current.messages),
                before.get(c.key, 0),
                share(before.get(c.key, 0), p.previous.messages),
            )
            for c in p.current.distribution
        ),
    )


def negative_outcomes_table(p: Compared[Sentiment], f: Filters) -> Table:
    now = {c.key: c.count for c in p.current.outcomes}
    before = {c.key: c.count for c in p.previous.outcomes}
    return Table(
        "negative-outcomes",
        "How conversations that turned negative ended",
        (
            Column("outcome", "Outcome", "text"),
            Column("conversations", "Conversations"),
            Column("share", "Share", "rate"),
            Column("previous_conversations", "Conversations, previous period"),
            Column("previous_share", "Share then", "rate"),
        ),
        tuple(
            (
                OUTCOME_LABELS[k],
                now.get(k, 0),
                share(now.get(k, 0), p.current.turned_negative),
                before.get(k, 0),
                share(before.get(k, 0), p.previous.turned_negative),
            )
            for k in NEGATIVE_OUTCOMES
        ),
    )


def _intent_rows(counts: Sequence[IntentCount], total: int) -> tuple[tuple, ...]:
    return tuple((c.intent, c.count, share(c.count, total), c.previous, c.count - c.previous) for c in counts)


INTENT_COLUMNS = (
    Column("intent", "Intent", "text"),
    Column("messages", "Messages"),
    Column("share", "Share", "rate"),
    Column("previous_messages", "Messages, previous period"),
    Column("change", "Change"),
)


def intents_table(p: Intents, f: Filters) -> Table:
    return Table("intents", "Top intents", INTENT_COLUMNS, _intent_rows(p.top, p.messages))


def rising_intents_table(p: Intents, f: Filters) -> Table:
    return Table("rising-intents", "Rising intents", INTENT_COLUMNS, _intent_rows(p.rising, p.messages))


def unknown_questions_table(p: UnknownQuestions, f: Filters) -> Table:
    return Table(
        "unknown-questions",
        "What customers ask that the bot does not know, grouped by meaning",
        (
            Column("group", "Group"),
            Column("messages", "Messages"),
            Column("previous_messages", "Messages, previous period"),
            Column("trend", "Trend", "text"),
            Column("examples", "Examples", "text"),
        ),
        tuple((i + 1, c.size, c.previous, c.trend, " | ".join(c.examples)) for i, c in enumerate(p.clusters)),
        note=p.note,
    )
