"""The caps: at most one survey per conversation, none within a week of the last, NPS once a quarter and never
while an issue is open; at each moment the first survey the caps allow. Pure: no database."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from bot.surveys.config import load_config
from bot.surveys.policy import (
    CONVERSATION_CAP,
    DUE,
    ISSUE_OPEN,
    NOTHING_AT_MOMENT,
    NPS_THIS_QUARTER,
    RECENTLY_ASKED,
    choose,
    history_since,
    quarter_start,
)
from bot.surveys.store import SurveyView

NOW = datetime(2027, 5, 20, 12, 0)
CONFIG = load_config()


def asked(kind: str, at: datetime, conversation: str = "earlier") -> SurveyView:
    return SurveyView(
        id=1,
        kind=kind,
        customer_id=7,
        conversation_id=conversation,
        journey_id=None,
        workflow=None,
        moment="request_done",
        channel="tandem",
        asked_at=at,
        score=None,
        answered_at=None,
    )


def decide(moment: str = "request_done", *, asks=(), in_conversation: int = 0, open_issue: bool = False, now=NOW):
    return choose(
        CONFIG, moment, customer_asks=list(asks), conversation_asks=in_conversation, open_issue=open_issue, now=now
    )


def test_a_customer_never_surveyed_gets_nps_after_a_request_and_csat_after_a_resolved_journey() -> None:
    assert (decide().kind, decide().reason) == ("nps", DUE)
    assert decide("journey_resolved").kind == "csat"


def test_one_survey_per_conversation() -> None:
    assert decide(in_conversation=1) == decide("journey_resolved", in_conversation=1)
    assert decide(in_conversation=1).kind is None and decide(in_conversation=1).reason == CONVERSATION_CAP


@pytest.mark.parametrize("kind", ["csat", "ces", "nps"])
def test_no_survey_of_any_kind_within_seven_days_of_the_last(kind: str) -> None:
    for moment in ("request_done", "journey_resolved"):
        recent = decide(moment, asks=[asked(kind, NOW - timedelta(days=6, hours=23))])
        assert (recent.kind, recent.reason) == (None, RECENTLY_ASKED)
    assert decide("journey_resolved", asks=[asked(kind, NOW - timedelta(days=7, minutes=1))]).kind == "csat"


def test_nps_once_per_calendar_quarter_then_ces() -> None:
    april = asked("nps", datetime(2027, 4, 2))  # this quarter (April to June), over a week ago
    assert decide(asks=[april]).kind == "ces"
    march = asked("nps", datetime(2027, 3, 31, 23, 59))  # last quarter
    assert decide(asks=[march]).kind == "nps"
    july = decide(asks=[april], now=datetime(2027, 7, 1, 0, 0))
    assert july.kind == "nps"


def test_nps_never_while_an_issue_is_open_ces_instead() -> None:
    assert (decide(open_issue=True).kind, decide(open_issue=True).reason) == ("ces", DUE)
    assert decide("journey_resolved", open_issue=True).kind == "csat"  # CSAT rates the journey that was resolved


def test_when_every_kind_of_a_moment_is_ruled_out_the_last_reason_is_given() -> None:
    config = replace(CONFIG, moments={"request_done": ("nps",), "journey_resolved": ()})
    april = asked("nps", datetime(2027, 4, 2))
    assert choose(
        config, "request_done", customer_asks=[april], conversation_asks=0, open_issue=False, now=NOW
    ).reason == (NPS_THIS_QUARTER)
    assert choose(config, "request_done", customer_asks=[], conversation_asks=0, open_issue=True, now=NOW).reason == (
        ISSUE_OPEN
    )
    assert choose(config, "journey_resolved", customer_asks=[], conversation_asks=0, open_issue=False, now=NOW) == (
        choose(config, "never_heard_of", customer_asks=[], conversation_asks=0, open_issue=False, now=NOW)
    )
    assert choose(
        config, "never_heard_of", customer_asks=[], conversation_asks=0, open_issue=False, now=NOW
    ).reason == (NOTHING_AT_MOMENT)


def test_quarters_and_how_far_back_the_history_matters() -> None:
    assert quarter_start(datetime(2027, 5, 20, 12)) == datetime(2027, 4, 1)
    assert quarter_start(datetime(2027, 1, 1)) == datetime(2027, 1, 1)
    assert quarter_start(datetime(2027, 12, 31, 23, 59)) == datetime(2027, 10, 1)
    assert history_since(CONFIG, NOW) == datetime(2027, 4, 1)
    assert history_since(CONFIG, datetime(2027, 4, 3)) == datetime(2027, 3, 27)  # the week reaches back further
