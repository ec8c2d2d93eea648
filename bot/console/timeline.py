"""One timeline of a handed-off conversation: the bot's transcript from Rasa, merged with the handoff log.

Rasa's tracker has everything the customer saw (the bot's answers, the agent's replies, the customer's
messages); the handoff log (`handoff_messages`) has what only the console knows: internal notes, system
notices, and agent replies Rasa has not taken yet. Messages in both are shown once, carrying the log's id
so the live feed does not add them again. Without Rasa, the log alone is the timeline.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from bot.handoff.agent_events import AGENT
from bot.handoff.store import MessageView
from bot.sentiment.trend import message_sentiments

MATCH_WINDOW_SECONDS = 300.0  # a log message and a tracker event this far apart are not the same message


@dataclass
class Entry:
    key: str
    sender: str  # customer, bot, agent, note, system
    text: str
    ts: float | None  # seconds since the epoch
    author: str | None = None
    detail: str | None = None  # what a message carried besides text (buttons, cards, a handoff notice)
    message_id: int | None = None
    delivered: bool | None = None  # agent messages: whether Rasa took it for the customer

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["from"] = data.pop("sender")
        return data


def epoch(moment: datetime | None) -> float | None:
    """A naive UTC datetime (the database's) as seconds since the epoch (Rasa's timestamps)."""
    return moment.replace(tzinfo=UTC).timestamp() if moment else None


def _describe_custom(custom: Mapping[str, Any]) -> str | None:
    kind = custom.get("type")
    if kind == "product_cards":
        names = [str(p.get("name")) for p in custom.get("products") or [] if isinstance(p, Mapping)]
        return "Product cards: " + ", ".join(names) if names else "Product cards"
    if kind == "csat":
        return "Satisfaction survey (1 to 5)"
    if kind == "handoff":
        status = str(custom.get("status") or "").replace("_", " ")
        return f"Handoff notice: {status}" if status else "Handoff notice"
    return f"Custom message: {kind}" if kind else None


def _bot_detail(event: Mapping[str, Any]) -> str | None:
    data = event.get("data") or {}
    parts = []
    buttons = [str(b.get("title")) for b in data.get("buttons") or [] if isinstance(b, Mapping) and b.get("title")]
    if buttons:
        parts.append("Buttons: " + ", ".join(buttons))
    custom = data.get("custom")
    if isinstance(custom, Mapping):
        described = _describe_custom(custom)
        if described:
            parts.append(described)
    if data.get("image"):
        parts.append("Image")
    return "; ".join(parts) or None


def transcript(events: Iterable[Mapping[str, Any]]) -> list[Entry]:
    """The messages of a conversation's tracker events, oldest first."""
    entries: list[Entry] = []
    last_ts: float | None = None
    for i, event in enumerate(events):
        kind = event.get("event")
        ts = event.get("timestamp")
        # An event without a time stays where the tracker has it: at the time of the one before.
        ts = last_ts = float(ts) if isinstance(ts, (int, float)) and not isinstance(ts, bool) else last_ts
        if kind == "user":
            text = event.get("text")
            if isinstance(text, str) and text.strip():
                entries.append(Entry(f"r{i}", "customer", text, ts))
        elif kind == "bot":
            metadata = event.get("metadata") or {}
            said = event.get("text")
            text = said if isinstance(said, str) else ""
            detail = _bot_detail(event)
            if not text and not detail:
                continue
            if metadata.get("from") == AGENT:
                name = metadata.get("agent_name")
                entries.append(Entry(f"r{i}", "agent", text, ts, author=str(name) if name else None))
            else:
                entries.append(Entry(f"r{i}", "bot", text, ts, detail=detail))
    return entries


def log_entry(message: MessageView) -> Entry:
    return Entry(
        f"m{message.id}",
        message.kind,
        message.text,
        epoch(message.at),
        author=message.author,
        message_id=message.id,
        delivered=(message.delivered_at is not None) if message.kind == "agent" else None,
    )


def merge(rasa: Sequence[Entry], log: Sequence[MessageView]) -> list[Entry]:
    """The transcript and the handoff log as one timeline, each message once, oldest first."""
    entries = list(rasa)
    matched: set[int] = set()
    for message in log:
        if message.kind in ("customer", "agent"):
            at = epoch(message.at)
            text = message.text.strip()
            for i, entry in enumerate(entries[: len(rasa)]):
                if (
                    i not in matched
                    and entry.sender == message.kind
                    and entry.text.strip() == text
                    and (entry.ts is None or at is None or abs(entry.ts - at) <= MATCH_WINDOW_SECONDS)
                ):
                    matched.add(i)
                    entry.message_id = message.id
                    if message.kind == "agent":
                        entry.delivered = True  # Rasa has it
                        entry.author = entry.author or message.author
                    break
            else:
                entries.append(log_entry(message))
        else:
            entries.append(log_entry(message))
    order = {id(e): n for n, e in enumerate(entries)}
    return sorted(entries, key=lambda e: (e.ts if e.ts is not None else 0.0, order[id(e)]))


def sentiment_points(events: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One point per customer message with a sentiment: the chart's data."""
    return [
        {"score": max(-1.0, min(1.0, m.score)), "label": m.label, "ts": m.timestamp, "text": m.text}
        for m in message_sentiments(events)
    ]
