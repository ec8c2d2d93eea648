"""Answers that schedule nothing promise nothing the shop would do by itself (issue 13: a late order was told
"we'll send a replacement" and nothing was ever scheduled). They may offer what the customer can ask for next."""

from __future__ import annotations

import re

import pytest

from bot.domain_files import load_domain
from tests.conftest import ROOT

# Responses said by actions that store no follow-up (`actions/orders.py`): a late order outside a journey.
UNSCHEDULED = ("utter_order_late",)
PROMISE = re.compile(r"\b(we'll|we will|I'll)\s+(send|replace|refund|check|call|contact|email)", re.IGNORECASE)


@pytest.mark.parametrize("response", UNSCHEDULED)
def test_an_answer_that_schedules_nothing_makes_no_promise(response: str) -> None:
    variants = load_domain(ROOT / "domain")["responses"][response]
    for variant in variants:
        assert not PROMISE.search(variant["text"]), variant["text"]
        assert "tell me" in variant["text"]  # the next step is the customer's, and the bot can take it from there
