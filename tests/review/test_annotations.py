"""The annotation store: each decision on an inbox message (confirmed, relabelled, new intent, entities marked,
discarded) is kept with who made it and when, covers the message's duplicates, is refused when it cannot be right,
and leaves an audit row saying what changed. On SQLite and PostgreSQL (the shared shop, rolled back)."""

from __future__ import annotations

import dataclasses
from datetime import datetime

import pytest
from sqlalchemy.exc import IntegrityError

from bot.db.models import ReviewAnnotation
from bot.review import audit
from bot.review.annotations import (
    AnnotationError,
    Decision,
    annotate,
    get_annotation,
    list_annotations,
    mark_written,
)
from bot.review.audit import AuditError
from bot.review.examples import EntitySpan
from bot.review.messages import refresh
from tests.review.rows import Msg, conversation, unsure

AT = datetime(2026, 11, 3, 10, 0)


@pytest.fixture
def ids(session) -> list[int]:
    """Messages: two duplicates about an order, an unsure product question, a fallback, a button's payload."""
    made = conversation(
        session,
        "a",
        [
            unsure("where is TD104233 pls"),
            unsure("Where is td-220001 pls?", 1),
            unsure("do u have the pixel 9 in blue", 2, intent="product_question"),
            Msg("my order is broke email me jo@gmail.com", "nlu_fallback", 0.3, 0.2, True, 3),
            Msg("/affirm", "affirm", 0.3, 0.2, True, 4),
        ],
    )
    refresh(session)
    return made


def test_a_confirmation_keeps_the_nlus_intent_and_the_order_placeholder_as_an_entity(session, ids):
    view = annotate(session, ids[0], Decision("confirmed"), by="cx.anna", at=AT)
    assert (view.action, view.intent, view.predicted_intent) == ("confirmed", "order_status", "order_status")
    assert view.text == "where is TD010001 pls"
    assert view.example == "where is [TD010001](order_id) pls"
    assert (view.annotated_by, view.annotated_at, view.written_at) == ("cx.anna", AT, None)
    entry = audit.trail(session, "annotation", view.id)[0]
    assert (entry.actor, entry.action, entry.at) == ("cx.anna", "annotation.created", AT)
    assert entry.changes == {
        "message": ids[0],
        "action": "confirmed",
        "intent": {"before": "order_status", "after": "order_status"},
        "example": "where is [TD010001](order_id) pls",
    }


def test_a_relabelling_records_both_intents(session, ids):
    view = annotate(session, ids[3], Decision("relabelled", "delivery_problem"), by="cx.anna")
    assert (view.intent, view.predicted_intent) == ("delivery_problem", "nlu_fallback")
    assert view.example == "my order is broke email me [customer1@example.com](email)"
    assert audit.trail(session, "annotation", view.id)[0].changes["intent"] == {
        "before": "nlu_fallback",
        "after": "delivery_problem",
    }


def test_a_new_intent_with_entities_marked_by_hand(session, ids):
    text = "do u have the pixel 9 in blue"
    spans = (EntitySpan(text.index("pixel 9"), text.index("pixel 9") + 7, "product"),)
    view = annotate(session, ids[2], Decision("new_intent", "ask_colour", spans), by="cx.ben")
    assert view.example == "do u have the [pixel 9](product) in blue"
    assert view.action == "new_intent"


def test_marking_no_entities_drops_the_placeholders_annotation(session, ids):
    view = annotate(session, ids[0], Decision("confirmed", None, ()), by="cx.anna")
    assert view.example == "where is TD010001 pls"


def test_a_discard_has_no_intent_and_no_example(session, ids):
    view = annotate(session, ids[2], Decision("discarded"), by="cx.anna")
    assert (view.action, view.intent, view.accepted) == ("discarded", None, False)
    with pytest.raises(AnnotationError, match="discarded"):
        mark_written(session, view.id, "data/nlu/products.yml", by="cx.anna")


def test_a_duplicate_of_an_annotated_message_is_refused_saying_who_did_it(session, ids):
    annotate(session, ids[0], Decision("confirmed"), by="cx.anna", at=AT)
    with pytest.raises(AnnotationError, match=r"annotated already \(confirmed, by cx.anna on 2026-11-03 10:00 UTC"):
        annotate(session, ids[1], Decision("discarded"), by="cx.ben")


def test_the_database_holds_one_annotation_per_text_whoever_writes(session, ids):
    view = annotate(session, ids[0], Decision("confirmed"), by="cx.anna")
    with pytest.raises(IntegrityError), session.begin_nested():
        session.add(
            ReviewAnnotation(key=view.key, text="x", action="discarded", annotated_by="cx.ben", annotated_at=AT)
        )


@pytest.mark.parametrize(
    ("which", "decision", "message"),
    [
        (3, Decision("confirmed"), "not an intent name"),  # nlu_fallback is no label
        (0, Decision("confirmed", "greet"), "is a relabelling"),
        (0, Decision("relabelled", "order_status"), "that is a confirmation"),
        (0, Decision("relabelled", "Order Status"), "not an intent name"),
        (0, Decision("discarded", "greet"), "no intent or entities"),
        (0, Decision("approved"), "unknown action"),
        (2, Decision("confirmed", None, (EntitySpan(0, 200, "product"),)), "not inside the text"),
        (2, Decision("confirmed", None, (EntitySpan(0, 4, "a"), EntitySpan(2, 6, "b"))), "overlaps"),
        (2, Decision("confirmed", None, (EntitySpan(0, 3, "product"),)), "must not start or end with a space"),
        (2, Decision("confirmed", None, (EntitySpan(0, 2, "no such-name"),)), "not an entity name"),
        (4, Decision("discarded"), "not typed"),
    ],
)
def test_a_decision_that_cannot_be_right_is_refused_and_nothing_is_kept(session, ids, which, decision, message):
    with pytest.raises(AnnotationError, match=message):
        annotate(session, ids[which], decision, by="cx.anna")
    assert list_annotations(session) == ()
    assert audit.trail(session) == ()


def test_an_unknown_message_or_an_anonymous_annotator_is_refused(session, ids):
    with pytest.raises(AnnotationError, match="no message 999999999"):
        annotate(session, 999_999_999, Decision("discarded"), by="cx.anna")
    with pytest.raises(AuditError, match="who made the change"):
        annotate(session, ids[0], Decision("discarded"), by="  ")


def test_writing_the_example_is_noted_once_and_audited(session, ids):
    view = annotate(session, ids[0], Decision("confirmed"), by="cx.anna", at=datetime(2026, 11, 3, 9))
    written = mark_written(session, view.id, "data/nlu/orders.yml", by="cx.anna", at=AT)
    assert (written.nlu_file, written.written_at) == ("data/nlu/orders.yml", AT)
    assert get_annotation(session, view.id) == written
    assert [e.action for e in audit.trail(session, "annotation", view.id)] == [
        "annotation.written",
        "annotation.created",
    ]
    with pytest.raises(AnnotationError, match="written to data/nlu/orders.yml already"):
        mark_written(session, view.id, "data/nlu/orders.yml", by="cx.anna")


def test_annotations_are_listed_latest_first_and_by_state(session, ids):
    first = annotate(session, ids[0], Decision("confirmed"), by="a", at=datetime(2026, 11, 3, 9))
    second = annotate(session, ids[2], Decision("discarded"), by="a", at=datetime(2026, 11, 3, 10))
    third = annotate(session, ids[3], Decision("relabelled", "delivery_problem"), by="a", at=datetime(2026, 11, 3, 11))
    mark_written(session, third.id, "data/nlu/orders.yml", by="a")
    assert [v.id for v in list_annotations(session)] == [third.id, second.id, first.id]
    assert [v.id for v in list_annotations(session, accepted=True, written=False)] == [first.id]
    assert [v.id for v in list_annotations(session, accepted=False)] == [second.id]
    assert [v.id for v in list_annotations(session, written=True)] == [third.id]


def test_views_are_frozen(session, ids):
    view = annotate(session, ids[0], Decision("confirmed"), by="a")
    with pytest.raises(dataclasses.FrozenInstanceError):
        view.intent = "greet"  # type: ignore[misc]


def test_the_audit_trail_takes_any_kind_of_change(session):
    entry = audit.record(
        session,
        actor="cx.anna",
        action="response.edited",
        subject_kind="response",
        subject_id="utter_greet",
        changes={"text": {"before": "Hi", "after": "Hello"}},
        at=AT,
    )
    assert audit.trail(session, "response", "utter_greet") == (entry,)
    assert audit.trail(session, "annotation") == ()
    with pytest.raises(AuditError, match="at most 128"):
        audit.record(session, actor="x" * 129, action="a", subject_kind="b", subject_id=None, changes={})
