"""Typed answers to the effort and recommend questions reach `action_answer_survey` whatever the NLU made of them
(JourneyPolicy), a detour is left to the rest of the dialogue, and buttons go by their rule."""

from __future__ import annotations

from datetime import datetime

import pytest
from rasa.shared.core.events import ActionExecuted, BotUttered, Event

from actions.surveys import csat_buttons, survey_buttons, survey_prompt
from bot.policies.journey_policy import ACTION_ANSWER_SURVEY, ACTION_RATE_JOURNEY
from bot.surveys.config import load_config
from bot.surveys.store import SurveyView
from tests.journeys.test_journey_policy import domain, message, policy, predict, predicted  # noqa: F401

LISTEN = "action_listen"
CONFIG = load_config()


def survey(kind: str) -> SurveyView:
    return SurveyView(12, kind, 7, "conv", None, None, "request_done", "tandem", datetime(2031, 5, 6), None, None)


def asked(kind: str) -> list[Event]:
    """A cancellation, and the survey question as actions/surveys.py asks it (buttons and the widget's prompt)."""
    scale = CONFIG.scale(kind)
    data = {"buttons": survey_buttons(survey(kind), scale), "custom": survey_prompt(survey(kind), scale)}
    return message("affirm", "yes cancel it") + [
        ActionExecuted("action_cancel_order_confirm"),
        BotUttered("Done: cancelled."),
        BotUttered(f"How about a {kind}?", data),
    ]


def answer(policy, domain, events: list[Event], intent: str, text: str) -> str | None:
    return predicted(predict(policy, domain, events + message(intent, text)), domain)


@pytest.mark.parametrize(
    "intent, text",
    [
        ("inform", "7"),
        ("affirm", "pretty easy"),
        ("nlu_fallback", "very difficult"),
        ("rate_journey", "6/7"),
        ("thank", "prety eazy thanks"),
        ("answer_survey", "hmm, let me think"),  # no score, but the NLU reads an answer: the action asks again
    ],
)
def test_typed_answers_to_the_effort_question(policy, domain, intent: str, text: str) -> None:
    assert answer(policy, domain, asked("ces"), intent, text) == ACTION_ANSWER_SURVEY


@pytest.mark.parametrize(
    "intent, text",
    [
        ("rate_journey", "9/10"),  # not the satisfaction question's: the NLU learned "10/10" there
        ("deny", "probably not"),
        ("ask_recommendation", "definitely would recommend"),
        ("inform", "0"),
        ("nlu_fallback", "definately would reccomend"),
    ],
)
def test_typed_answers_to_the_recommend_question(policy, domain, intent: str, text: str) -> None:
    assert answer(policy, domain, asked("nps"), intent, text) == ACTION_ANSWER_SURVEY


def test_a_detour_is_left_to_the_rest_of_the_dialogue_and_a_later_number_is_no_answer(policy, domain) -> None:
    events = asked("ces")
    assert answer(policy, domain, events, "order_status", "actually where is my order?") is None
    detoured = events + message("order_status", "actually where is my order?")
    detoured += [ActionExecuted("action_order_status"), BotUttered("It's on its way.")]
    assert answer(policy, domain, detoured, "inform", "7") is None  # the question is no longer the latest


def test_a_tapped_button_goes_by_its_rule(policy, domain) -> None:
    payload = survey_buttons(survey("nps"), CONFIG.scale("nps"))[9]["payload"]
    assert answer(policy, domain, asked("nps"), "answer_survey", payload) is None


def test_nothing_asked_nothing_taken(policy, domain) -> None:
    greeted = message("greet", "hi") + [ActionExecuted("action_greet"), BotUttered("Hi!")]
    assert answer(policy, domain, greeted, "rate_journey", "9/10") is None
    assert answer(policy, domain, greeted, "inform", "7") is None


def test_words_for_another_survey_go_to_the_one_that_was_asked(policy, domain) -> None:
    rated = message("affirm", "yes that fixed it") + [
        ActionExecuted("action_journey_continue"),
        BotUttered("How happy are you?", {"buttons": csat_buttons(7)}),
    ]
    assert answer(policy, domain, rated, "answer_survey", "very easy thanks") == ACTION_RATE_JOURNEY


def test_the_bot_listens_after_an_answer(policy, domain) -> None:
    events = asked("ces") + message("inform", "7") + [ActionExecuted(ACTION_ANSWER_SURVEY), BotUttered("Thanks!")]
    assert predicted(predict(policy, domain, events), domain) == LISTEN
