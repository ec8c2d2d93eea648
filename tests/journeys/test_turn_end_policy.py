"""The turn-end policy: after an action the stories always follow with listening, the bot listens instead of
falling back, and it never outranks a rule, the offer of a person or the journey's reprompt."""

from __future__ import annotations

from rasa.shared.core.events import ActionExecuted

from bot.policies.turn_end_policy import TurnEndPolicy
from tests.journeys.test_journey_policy import (  # noqa: F401  (the fixtures)
    LISTEN,
    domain,
    make,
    message,
    predict,
    predicted,
)


def test_it_listens_after_an_action_that_always_ends_the_turn(tmp_path, domain) -> None:
    policy = make(TurnEndPolicy, tmp_path, domain)
    assert "action_product_lookup" in policy.terminal_actions
    prediction = predict(policy, domain, message("inform", "TD104233") + [ActionExecuted("action_product_lookup")])
    assert predicted(prediction, domain) == LISTEN
    assert (prediction.max_confidence, prediction.policy_priority) == (1.0, 2)


def test_it_abstains_where_the_turn_may_go_on(tmp_path, domain) -> None:
    policy = make(TurnEndPolicy, tmp_path, domain)
    # action_cancel_order_check is followed by utter_ok in the training stories: the turn may go on.
    events = message("cancel_order") + [ActionExecuted("action_cancel_order_check")]
    assert predicted(predict(policy, domain, events), domain) is None
    assert predicted(predict(policy, domain, message("greet")), domain) is None  # nothing done yet
