"""The NLU inbox lists the messages the bot was unsure about, and only those: fallbacks, low confidence, a narrow
margin, answered by an agent after a handoff; personal data redacted, duplicates one item with their count, the most
frequent first, a page at a time, filterable, grouped by meaning; annotated ones leave it. On SQLite and PostgreSQL
(the shared shop, every change rolled back)."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import select, update

from bot.db.models import Customer, InsightTurn, ReviewMessage
from bot.insights.store import ingest
from bot.insights.unknown import EmbeddingCache, shared_embeddings
from bot.review.annotations import Decision, annotate
from bot.review.inbox import InboxError, InboxFilter, group_items, inbox_page, reason_counts
from bot.review.messages import index_messages, refresh
from tests.insights.conversations import first_conversation, published, second_conversation
from tests.review.rows import T0, Msg, conversation, sure, unsure


def page(session, f: InboxFilter | None = None, **kw):
    refresh(session)
    return inbox_page(session, f, group=False, **kw)


def listed(p) -> dict[str, tuple[int, tuple[str, ...]]]:
    return {item.text: (item.count, item.reasons) for item in p.items}


def test_each_reason_brings_a_message_in_and_sure_answers_stay_out(session):
    conversation(
        session,
        "a",
        [
            sure("where is my order"),
            Msg("blorp the flange", "nlu_fallback", 0.3, 0.25, True, 1),
            Msg("can i pay with klarna", "billing_question", 0.7, 0.05, False, 2),
            unsure("do you sell refurbished ones", 3, intent="product_question"),
        ],
    )
    # Written after the bot stepped aside for a person: an agent answered it (the bot does not act then).
    during = Msg("my screen is cracked", "report_problem", 0.97, 0.9, False, 7, action=None)
    conversation(session, "b", [sure("I want a person", 4), during], handed_off_minute=5, agent_reply_minute=6)
    assert listed(page(session)) == {
        "blorp the flange": (1, ("fallback", "low_confidence")),
        "can i pay with klarna": (1, ("narrow_margin",)),
        "do you sell refurbished ones": (1, ("low_confidence",)),
        "my screen is cracked": (1, ("handoff",)),
    }


def test_messages_that_differ_only_in_personal_data_are_one_item_with_their_count(session):
    conversation(session, "a", [unsure("where is TD104233"), unsure("Where is td-220001?", 1)])
    conversation(session, "b", [unsure("where is TD300000 ", 2)], start=T0 + timedelta(hours=1))
    p = page(session)
    assert [(i.text, i.count) for i in p.items] == [("where is TD010001", 3)]
    assert (p.distinct, p.messages) == (1, 3)
    item = p.items[0]
    assert [(pl.kind, pl.entity) for pl in item.placeholders] == [("order_number", "order_id")]
    assert item.message_id == max(session.execute(select(InsightTurn.id)).scalars())  # the latest of the three


def test_the_customers_own_name_comes_out_from_the_shop_database(session):
    customer_id, name = session.execute(select(Customer.id, Customer.name).order_by(Customer.id).limit(1)).one()
    first, last = name.split()[0], name.split()[-1]
    conversation(session, "a", [unsure(f"hi its {first.lower()} {last}, where is my parcel")], customer_id=customer_id)
    assert [i.text for i in page(session).items] == ["hi its <name> <name>, where is my parcel"]
    stored = session.execute(select(ReviewMessage.text)).scalars().all()
    assert not any(first in text or last in text for text in stored)  # nor is it kept


def test_annotated_messages_and_their_duplicates_leave_the_inbox(session):
    ids = conversation(
        session,
        "a",
        [
            unsure("where is TD104233"),
            unsure("where is TD220001", 1),
            unsure("do you price match", 2),
            unsure("hmm", 3),
        ],
    )
    refresh(session)
    annotate(session, ids[0], Decision("confirmed"), by="cx.anna")
    annotate(session, ids[2], Decision("discarded"), by="cx.anna")
    p = page(session)
    assert listed(p) == {"hmm": (1, ("low_confidence",))}


def test_filters_by_reason_period_and_intent_and_the_counts_per_reason(session):
    conversation(
        session,
        "a",
        [
            Msg("blorp", "nlu_fallback", 0.3, 0.25, True, 0),
            Msg("pay later?", "billing_question", 0.7, 0.05, False, 60 * 24),  # the next day
            unsure("refurbished?", 60 * 48, intent="product_question"),  # two days later
        ],
    )
    day2 = T0 + timedelta(days=1)
    assert set(listed(page(session, InboxFilter(("narrow_margin",))))) == {"pay later?"}
    assert set(listed(page(session, InboxFilter(("fallback", "narrow_margin"))))) == {"blorp", "pay later?"}
    assert set(listed(page(session, InboxFilter(since=day2)))) == {"pay later?", "refurbished?"}
    assert set(listed(page(session, InboxFilter(until=day2)))) == {"blorp"}
    assert set(listed(page(session, InboxFilter(intent="product_question")))) == {"refurbished?"}
    counts = reason_counts(session, InboxFilter(("fallback",)))  # the reason filter itself does not narrow them
    assert counts == {"fallback": 1, "low_confidence": 2, "narrow_margin": 1, "handoff": 0}
    assert reason_counts(session, InboxFilter(since=day2))["low_confidence"] == 1


def test_pages_run_from_the_most_frequent_with_the_totals_of_every_page(session):
    messages = [unsure(f"question {letter}", minute) for minute, letter in enumerate("aaaaabbbbcccdde")]
    conversation(session, "a", messages)
    first = page(session, page=1, page_size=2)
    assert [(i.text, i.count) for i in first.items] == [("question a", 5), ("question b", 4)]
    assert (first.distinct, first.messages, first.pages) == (5, 15, 3)
    assert [(i.text, i.count) for i in page(session, page=3, page_size=2).items] == [("question e", 1)]
    past = page(session, page=4, page_size=2)
    assert (past.items, past.distinct, past.messages) == ((), 5, 15)


class Directions:
    """Stands in for the sentence encoder: questions about parcels one way, about paying the other."""

    def embed(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        return np.array(
            [[1.0, 0.0] if ("parcel" in t or "order" in t) else [0.0, 1.0] for t in texts], dtype=np.float32
        )


def test_a_page_is_grouped_by_meaning_the_largest_group_first(session):
    texts = ["pay with klarna?", "where is my parcel", "where is my parcel", "wheres my order", "klarna ok?"]
    conversation(session, "a", [unsure(t, i) for i, t in enumerate(texts)])
    refresh(session)
    p = inbox_page(session, embeddings=EmbeddingCache(Directions()))
    assert [(g.count, [i.text for i in g.items]) for g in p.groups] == [
        (3, ["where is my parcel", "wheres my order"]),
        (2, ["klarna ok?", "pay with klarna?"]),
    ]
    assert p.note is None


def test_the_real_encoder_groups_what_the_dashboard_groups(session):
    texts = [
        "can i pay with paypal",
        "do you accept paypal?",
        "where is your shop in london",
        "where is your london store?",
    ]
    conversation(session, "a", [unsure(t, i) for i, t in enumerate(texts)])
    refresh(session)
    p = inbox_page(session, embeddings=shared_embeddings())
    assert sorted(sorted(i.text for i in g.items) for g in p.groups) == [
        ["can i pay with paypal", "do you accept paypal?"],
        ["where is your london store?", "where is your shop in london"],
    ]


def test_without_the_encoder_each_item_is_its_own_group_and_the_page_says_why(session):
    conversation(session, "a", [unsure("where is my parcel"), unsure("wheres my order", 1)])
    items = page(session).items
    groups, note = group_items(items, None, 0.55)
    assert [len(g.items) for g in groups] == [1, 1]
    assert note and "not grouped by meaning" in note.lower()


def test_button_payloads_are_not_reviewed(session):
    conversation(session, "a", [Msg('/inform{"order_id": "TD104233"}', "inform", 0.3, 0.1, True)])
    assert page(session).items == ()
    row = session.execute(select(ReviewMessage.key, ReviewMessage.text)).one()
    assert tuple(row) == (None, "")  # indexed (not read again), without the payload's data


def test_indexing_adds_only_what_is_new_and_finds_a_message_committed_late(session):
    ids = conversation(session, "a", [unsure(f"q{i}", i) for i in range(5)])
    assert index_messages(session) == 5
    assert index_messages(session) == 0
    # A turn committed after a later one (two consumers): its id is below the highest indexed one.
    session.execute(ReviewMessage.__table__.delete().where(ReviewMessage.turn_id == ids[1]))
    assert index_messages(session) == 1


def test_a_fallback_the_consumer_notes_after_the_message_reaches_the_inbox(session):
    [turn] = conversation(session, "a", [Msg("zzz qqq", "greet", 0.9, 0.8, False, 0, action=None)])
    assert page(session).items == ()  # indexed, not a candidate yet, not settled
    # The consumer's next batch: Rasa's core fallback acted on it.
    session.execute(
        update(InsightTurn).where(InsightTurn.id == turn).values(fallback=True, action="action_default_fallback")
    )
    assert listed(page(session)) == {"zzz qqq": (1, ("fallback",))}
    assert session.execute(select(ReviewMessage.settled)).scalar_one() is True
    assert refresh(session).settled == 0  # nothing left to look at


def test_a_purged_text_leaves_the_index_and_the_inbox(session):
    ids = conversation(session, "a", [unsure("call me on 07700 900123"), unsure("where is my parcel", 1)])
    refresh(session)
    session.execute(update(InsightTurn).where(InsightTurn.id == ids[0]).values(text=None))  # retention's purge
    assert [i.text for i in page(session).items] == ["where is my parcel"]
    assert session.execute(select(ReviewMessage.turn_id)).scalars().all() == [ids[1]]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"page": 0}, "numbered from 1"), ({"page_size": 10_000}, "a page holds 1 to")],
)
def test_a_bad_page_is_refused(session, kwargs, message):
    with pytest.raises(InboxError, match=message):
        page(session, **kwargs)


def test_a_bad_filter_is_refused():
    with pytest.raises(InboxError, match="unknown reason 'sad'"):
        InboxFilter(("sad",))
    with pytest.raises(InboxError, match="after"):
        InboxFilter(since=datetime(2026, 11, 2), until=datetime(2026, 11, 1))


def test_what_the_insights_consumer_stores_reaches_the_inbox(session):
    customer = session.execute(select(Customer.external_id).order_by(Customer.id).limit(1)).scalar_one()
    events = published("c1", first_conversation(customer)) + published("c1", second_conversation())
    ingest(session, [(e["sender_id"], e) for e in events], live=False)
    assert listed(page(session)) == {
        # The NLU's fallback at confidence 0.45, with complaint at 0.4 close behind.
        "this is useless": (1, ("fallback", "low_confidence", "narrow_margin")),
        "zzz qqq": (1, ("fallback", "low_confidence")),  # Rasa's core fallback
        "thanks!": (1, ("handoff",)),  # after the handoff, Sam answered
    }
