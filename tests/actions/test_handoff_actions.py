"""The handoff hook: why a person was wanted is recorded with the conversation."""

from __future__ import annotations

from actions.handoff import ActionRequestHuman
from tests.actions.conftest import run_action, tracker


def slots(events):
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def unhappy(text: str, score: float) -> dict:
    return {"event": "user", "text": text,
            "parse_data": {"intent": {"name": "report_problem"}, "sentiment": {"label": "negative", "score": score}}}


def test_asking_for_a_person_is_recorded_as_asked_with_the_mood_so_far():
    history = [unhappy("broken again", -0.6), {"event": "action", "name": "utter_report_problem"},
               {"event": "bot", "text": "..."}, {"event": "action", "name": "action_listen"}]
    messages, events = run_action(ActionRequestHuman(), tracker("a person please", intent="ask_human", events=history))
    assert [m["response"] for m in messages] == ["utter_ask_human"]
    recorded = slots(events)
    assert recorded["handoff_reason"] == "asked"
    assert recorded["sentiment_trend"]["worst"] == -0.6


def test_accepting_the_offer_records_why_it_was_offered():
    history = [unhappy("still broken", -0.9), {"event": "action", "name": "utter_report_problem"},
               {"event": "action", "name": "utter_offer_human"}, {"event": "bot", "text": "want a person?"},
               {"event": "action", "name": "action_listen"}]
    offered = tracker("yes", intent="affirm", events=history, slots={"handoff_offer_reason": "negative_streak"})
    _, events = run_action(ActionRequestHuman(), offered)
    assert slots(events)["handoff_reason"] == "negative_streak"
    assert slots(events)["handoff_offer_reason"] is None
