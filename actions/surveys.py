"""Surveys in the conversation: one question when something was solved (CSAT after a resolved journey, CES or NPS
after a request the bot carried out), as the caps of `config/surveys.yml` allow, and its answer, tapped or typed.

Thin: `bot.surveys.service` decides and stores. A typed answer ("7", "pretty easy", "9/10") right after the
question reaches `action_answer_survey` through `bot/policies/journey_policy.py`, whatever the NLU made of it;
anything else the customer says is answered as usual, and the buttons keep working after it.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from rasa_sdk import Tracker
from rasa_sdk.events import FollowupAction
from rasa_sdk.executor import CollectingDispatcher

from actions.base import ShopAction
from actions.context import from_button, latest_entity, verified_customer
from bot import payloads
from bot.surveys.config import Scale
from bot.surveys.service import default_service
from bot.surveys.store import SurveyNotFound, SurveyScoreError, SurveyView

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from bot.journeys.store import JourneyView

logger = logging.getLogger(__name__)

# The moments something was solved (`moments` in config/surveys.yml).
JOURNEY_RESOLVED = "journey_resolved"  # a journey resolved in this conversation
REQUEST_DONE = "request_done"  # the bot carried out a change the customer asked for: cancelled, re-addressed, edited
CSAT_INTENT = "rate_journey"  # `/rate_journey{"score": 4, "journey_id": 7}`: CSAT rates a journey
ANSWER_INTENT = "answer_survey"  # `/answer_survey{"survey_id": 12, "survey_kind": "ces", "score": 6}`
ACTION_RATE_JOURNEY = "action_rate_journey"
ACTION_ANSWER_SURVEY = "action_answer_survey"
QUESTIONS = {"ces": "utter_ces_question", "nps": "utter_nps_question"}

CSAT_TITLES = {5: "Very good", 4: "Good", 3: "Okay", 2: "Poor", 1: "Very poor"}


def csat_buttons(journey_id: int) -> list[dict[str, str]]:
    return [
        {"title": "⭐" * score, "payload": f'/rate_journey{{"score": {score}, "journey_id": {journey_id}}}'}
        for score in (5, 4, 3, 2, 1)
    ]


def csat_prompt(buttons: list[dict[str, str]]) -> dict[str, Any]:
    """The widget's rating prompt (docs/widget-protocol.md); other channels show the buttons."""
    return {
        "type": "csat",
        "question": "How happy are you with how we handled it?",
        "options": [
            {"score": 5 - i, "title": CSAT_TITLES[5 - i], "payload": b["payload"]} for i, b in enumerate(buttons)
        ],
    }


def survey_payload(survey: SurveyView, score: int) -> str:
    return f'/{ANSWER_INTENT}{{"survey_id": {survey.id}, "survey_kind": "{survey.kind}", "score": {score}}}'


def survey_buttons(survey: SurveyView, scale: Scale) -> list[dict[str, str]]:
    """One button per score, lowest first; the ends say what they mean ("1 – Very difficult")."""
    return [
        {
            "title": f"{score} – {scale.labels[score]}" if score in scale.labels else str(score),
            "payload": survey_payload(survey, score),
        }
        for score in scale.scores
    ]


def survey_prompt(survey: SurveyView, scale: Scale) -> dict[str, Any]:
    """The widget's score prompt for CES and NPS (docs/widget-protocol.md); other channels show the buttons."""
    return {
        "type": "survey",
        "kind": survey.kind,
        "question": scale.question,
        "lowest": scale.lowest,
        "highest": scale.highest,
        "options": [
            {"score": score, "title": scale.labels.get(score, ""), "payload": survey_payload(survey, score)}
            for score in scale.scores
        ],
    }


def ask_survey(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    session: Session,
    moment: str,
    *,
    customer: str | None,
    journey: JourneyView | None = None,
) -> SurveyView | None:
    """Ask the survey that is due at `moment`, if any (recorded as asked in this turn's unit of work)."""
    survey = default_service().offer(
        session,
        customer,
        tracker.sender_id,
        moment,
        channel=tracker.get_latest_input_channel(),
        journey_id=journey.id if journey is not None else None,
        workflow=journey.workflow if journey is not None else None,
    )
    if survey is None:
        return None
    if survey.kind == "csat":
        assert journey is not None, "CSAT rates a journey: config/surveys.yml asks it only when one is resolved"
        buttons = csat_buttons(journey.id)
        dispatcher.utter_message(response="utter_csat_question", buttons=buttons, json_message=csat_prompt(buttons))
    else:
        scale = default_service().scale(survey.kind)
        dispatcher.utter_message(
            response=QUESTIONS[survey.kind],
            buttons=survey_buttons(survey, scale),
            json_message=survey_prompt(survey, scale),
        )
    return survey


def offered_surveys(tracker: Tracker) -> set[int]:
    """The CES and NPS surveys the bot asked in this conversation (their buttons are what it offered)."""
    found = set()
    for value in payloads.offered_values(tracker.events, ANSWER_INTENT, "survey_id"):
        number = _whole_number(value)
        if number is not None:
            found.add(number)
    return found


def csat_offered(tracker: Tracker) -> bool:
    return bool(payloads.offered_values(tracker.events, CSAT_INTENT, "journey_id"))


def _whole_number(value: Any) -> int | None:
    """A score or id from an entity; None for anything that is not a whole number (a tampered payload)."""
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if 0 <= number < 2**31 else None


class ActionAnswerSurvey(ShopAction):
    """The answer to a CES or NPS question: a button, or typed. Only a survey the bot asked in this conversation
    takes an answer, and only its own customer's."""

    refusals = (SurveyNotFound,)

    def name(self) -> str:
        return ACTION_ANSWER_SURVEY

    def refused(self, error: Exception, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[dict[str, Any]]:
        dispatcher.utter_message(response="utter_survey_not_asked")
        return []

    def handle(self, dispatcher: CollectingDispatcher, tracker: Tracker, session: Session) -> list[dict[str, Any]]:
        offered = offered_surveys(tracker)
        if not offered:
            if csat_offered(tracker):  # "very happy" to the satisfaction question, in other words
                return [FollowupAction(ACTION_RATE_JOURNEY)]
            dispatcher.utter_message(response="utter_survey_not_asked")
            return []
        service, customer = default_service(), verified_customer(tracker)
        if from_button(tracker):
            requested = _whole_number(latest_entity(tracker, "survey_id"))
            if requested is None or requested not in offered:
                raise SurveyNotFound(f"survey {requested} was not asked in this conversation")
            survey = service.latest_asked(session, customer, {requested})
            score = _whole_number(latest_entity(tracker, "score"))
        else:
            survey = service.latest_asked(session, customer, offered)  # typed: the newest question asked
            score = service.read(survey.kind, (tracker.latest_message or {}).get("text"))
        lowest, highest = survey.scale
        if score is None or not lowest <= score <= highest:
            dispatcher.utter_message(response="utter_survey_unclear", lowest=str(lowest), highest=str(highest))
            return []
        try:
            service.answer(session, customer, survey.id, score)
        except SurveyScoreError:
            dispatcher.utter_message(response="utter_survey_unclear", lowest=str(lowest), highest=str(highest))
            return []
        dispatcher.utter_message(response="utter_survey_thanks")
        return []
