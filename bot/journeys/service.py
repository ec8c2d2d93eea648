"""What the Rasa actions ask of the journeys: report a problem, answer a step, fire a follow-up, list, close.

One call is one turn: the runner decides (`workflows/runner.py`), the store writes it down in the caller's
session (`store.py`), and the caller commits before the bot answers. A turn that lost a race with another
message of the same customer (`JourneyConflict`) is re-run on the fresh state by the caller's retry loop
(`actions/journeys.py`), never half-applied.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy.orm import Session

from bot.db.models import JourneyFollowUp, utcnow
from bot.journeys import store
from bot.journeys.config import JourneyConfig
from bot.journeys.types import FALLBACK_INTENT, BotMessage, StepResult, UserInput
from bot.journeys.workflows import load_workflows
from bot.journeys.workflows.runner import WorkflowRunner
from bot.journeys.workflows.schema import Step, UnknownStep
from bot.journeys.workflows.shop_facts import ShopDbFacts
from bot.journeys.workflows.triggers import KEYWORD_MATCH, match_score, match_workflow
from bot.shop.catalog import device_named_in
from bot.shop.customers import customer_pk
from bot.shop.orders import normalize_order_number

log = logging.getLogger(__name__)

# A message the NLU could not settle (Rasa's FallbackClassifier) may still be a report: one of its first guesses,
# this confident, with the words of a workflow's problem (`report_behind_fallback`).
FALLBACK_GUESSES = 3
FALLBACK_GUESS_MIN_CONFIDENCE = 0.2
DEVICE_INPUT = "device_category"  # the input a device workflow starts from: phones | laptops | tablets | smartwatches
# Device words in the `device` entity -> the device category a workflow's facts look at.
_DEVICE_CATEGORIES = {
    "phone": "phones",
    "mobile": "phones",
    "iphone": "phones",
    "galaxy": "phones",
    "pixel": "phones",
    "laptop": "laptops",
    "macbook": "laptops",
    "computer": "laptops",
    "notebook": "laptops",
    "tablet": "tablets",
    "ipad": "tablets",
    "watch": "smartwatches",
    "smartwatch": "smartwatches",
}
_PLAN_CATEGORIES = {"home_internet": "home_internet", "mobile_plans": "mobile_plans"}


@dataclass(frozen=True)
class Turn:
    """What the bot says and where the journey stands after one turn."""

    messages: tuple[BotMessage, ...] = ()
    journey: store.JourneyView | None = None
    resumed: bool = False  # an open journey of the same problem was picked up again
    reopened: bool = False  # a resolved journey of the same problem was reopened
    unexpected_answer: bool = False

    @property
    def ended(self) -> bool:
        return self.journey is not None and not self.journey.is_open


@dataclass(frozen=True)
class ReportContext:
    """Inputs a workflow may start from, taken from the customer's report."""

    values: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_input(cls, user_input: UserInput) -> ReportContext:
        values: dict[str, Any] = {}
        order = normalize_order_number(str(user_input.entities.get("order_id") or ""))
        if order:
            values["order_id"] = order
        device = str(user_input.entities.get("device") or "").lower()
        for word, category in _DEVICE_CATEGORIES.items():
            if word in device:
                values["device_category"] = category
                break
        plan = _PLAN_CATEGORIES.get(str(user_input.entities.get("product_category") or ""))
        if plan:
            values["plan_category"] = plan
        return cls(values)


def problem_key(workflow: str, context: Mapping[str, Any]) -> str:
    """What "the same problem" means: the workflow, plus the order or device it is about when known."""
    subject = context.get("order_id") or context.get("device_category") or context.get("plan_category")
    return f"{workflow}:{subject}" if subject else workflow


class JourneyService:
    def __init__(self, runner: WorkflowRunner, config: JourneyConfig | None = None) -> None:
        self.runner = runner
        self.config = config or JourneyConfig.from_env()

    # --- a new report -----------------------------------------------------------------------------------------

    def workflow_for(self, user_input: UserInput) -> str | None:
        return match_workflow(self.runner.workflows.values(), user_input)

    def report_behind_fallback(self, user_input: UserInput) -> tuple[str, str] | None:
        """(intent, workflow) of a report the NLU could not settle: two guesses too close to call ("TD105859 is
        late": an order number, or a delivery problem?), one of them a workflow's problem and the message
        holding that workflow's own words. None when nothing fits that well: the bot asks to rephrase."""
        if user_input.intent != FALLBACK_INTENT:
            return None
        for name, confidence in user_input.guesses[:FALLBACK_GUESSES]:
            if confidence < FALLBACK_GUESS_MIN_CONFIDENCE:
                break
            guess = replace(user_input, intent=name)
            for workflow in sorted(self.runner.workflows.values(), key=lambda w: w.id):
                if match_score(workflow.problem, guess) == KEYWORD_MATCH:
                    return name, workflow.id
        return None

    def starts_from(self, workflow: str, key: str) -> bool:
        """Whether the workflow takes `key` (e.g. order_id) as an input when it starts."""
        return key in self.runner.workflow(workflow).inputs

    def problem_intents(self, workflow: str) -> tuple[str, ...]:
        """The intents a problem of this workflow is reported with, its own first."""
        return tuple(self.runner.workflow(workflow).problem.intents)

    def workflow_reporting(self, intent: str) -> str | None:
        """The one workflow a problem of this intent starts (whatever the wording), or None when none or
        several list it."""
        found = [w.id for w in self.runner.workflows.values() if intent in w.problem.intents]
        return found[0] if len(found) == 1 else None

    def report(
        self,
        session: Session,
        customer: str,
        user_input: UserInput,
        *,
        conversation_id: str,
        now: datetime | None = None,
        workflow: str | None = None,
    ) -> Turn | None:
        """The customer reports a problem: continue its open journey, reopen a recent one, or start one.
        `workflow` when the caller knows which (else the report's triggers say). None when no workflow fits
        the report (the bot answers as it did without journeys)."""
        now = now or utcnow()
        workflow = workflow or self.workflow_for(user_input)
        customer_id = customer_pk(session, customer)
        if workflow is None or customer_id is None:
            return None
        inputs = dict(ReportContext.from_input(user_input).values)
        if DEVICE_INPUT in self.runner.workflow(workflow).inputs:
            named = device_named_in(session, user_input.text)  # "my Galaxy Watch6": a watch, whatever the words
            if named is not None:
                inputs[DEVICE_INPUT] = named[1]
        key = problem_key(workflow, inputs)
        existing = store.find_open(session, customer_id, workflow, problem_key=key)
        if existing is not None:
            return self._prompt_again(session, existing, customer, resumed=True)
        reopened = store.reopen_or_none(
            session,
            customer_id,
            key,
            now,
            self.config.reopen_window,
            channel=user_input.channel,
            conversation_id=conversation_id,
        )
        if reopened is not None:
            context = {**reopened.context, **inputs}
            result = self.runner.start(
                workflow, customer, context, session, journey_id=str(reopened.id), said=user_input.text
            )
            journey = store.record_turn(
                session,
                reopened.id,
                result,
                user_input=user_input,
                channel=user_input.channel,
                conversation_id=conversation_id,
                now=now,
                expected_version=reopened.version,
            )
            return Turn(result.messages, journey, reopened=True)
        result = self.runner.start(workflow, customer, inputs, session, said=user_input.text)
        journey = store.open_journey(
            session,
            customer_id,
            result,
            problem_key=key,
            channel=user_input.channel,
            conversation_id=conversation_id,
            user_input=user_input,
            now=now,
        )
        return Turn(result.messages, journey)

    # --- the journey moves on ---------------------------------------------------------------------------------

    def answer(
        self,
        session: Session,
        customer: str,
        journey_id: int,
        user_input: UserInput,
        *,
        conversation_id: str,
        now: datetime | None = None,
    ) -> Turn:
        """The customer answered the step their journey waits at (or came back before a follow-up fired)."""
        now = now or utcnow()
        journey = self._own(session, customer, journey_id)
        if not journey.is_open or journey.current_step is None:
            raise store.JourneyNotOpen(f"journey {journey_id} waits for nothing")
        result = self.runner.advance(
            journey.workflow,
            journey.current_step,
            journey.context,
            user_input,
            customer,
            session,
            journey_id=str(journey.id),
        )
        view = store.record_turn(
            session,
            journey.id,
            result,
            user_input=user_input,
            channel=user_input.channel,
            conversation_id=conversation_id,
            now=now,
            expected_version=journey.version,
        )
        return Turn(result.messages, view, unexpected_answer=result.unexpected_answer)

    def follow_up(
        self,
        session: Session,
        customer: str,
        journey_id: int,
        follow_up_id: int | None,
        *,
        conversation_id: str,
        channel: str | None = None,
        now: datetime | None = None,
    ) -> Turn:
        """A scheduled follow-up or nudge fired in the customer's conversation."""
        now = now or utcnow()
        journey = self._own(session, customer, journey_id)
        follow = session.get(JourneyFollowUp, follow_up_id) if follow_up_id else None
        # Only a follow-up of this journey that a scheduler is sending right now fires (a replayed or
        # made-up id changes nothing).
        if follow is None or follow.journey_id != journey.id or follow.status != "sending":
            return Turn((), journey)
        if not journey.is_open or journey.current_step is None:
            return Turn((), journey)
        if follow.kind == "nudge":
            return self._prompt_again(session, journey, customer, nudge=True)
        if getattr(self._step(journey), "kind", None) != "follow_up":
            return Turn((), journey)  # the journey moved on from the step that scheduled it, or the step is gone
        result = self.runner.resume(
            journey.workflow, journey.current_step, journey.context, customer, session, journey_id=str(journey.id)
        )
        view = store.record_turn(
            session,
            journey.id,
            result,
            user_input=UserInput(intent=store.FOLLOW_UP_INTENT, channel=channel),
            channel=channel,
            conversation_id=conversation_id,
            now=now,
            expected_version=journey.version,
        )
        return Turn(result.messages, view)

    def prompt_again(self, session: Session, customer: str, journey_id: int) -> Turn:
        """Ask the waiting step's question again (after an interruption, or when the customer comes back).
        A resolved or closed journey has nothing to ask: `JourneyNotOpen`."""
        journey = self._own(session, customer, journey_id)
        if not journey.is_open:
            raise store.JourneyNotOpen(f"journey {journey_id} is {journey.state}")
        return self._prompt_again(session, journey, customer)

    def _prompt_again(
        self,
        session: Session,
        journey: store.JourneyView,
        customer: str,
        *,
        resumed: bool = False,
        nudge: bool = False,
    ) -> Turn:
        step = self._step(journey)
        if step is None or getattr(step, "kind", None) not in ("ask", "instruct"):
            return Turn((), journey, resumed=resumed)  # waiting for the company: nothing to ask
        result: StepResult = self.runner.prompt(journey.workflow, step.id, journey.context, customer, session)
        return Turn(result.messages, journey, resumed=resumed)

    # --- the customer's view ----------------------------------------------------------------------------------

    def open_journeys(self, session: Session, customer: str) -> list[store.JourneyView]:
        customer_id = customer_pk(session, customer)
        return store.open_journeys(session, customer_id) if customer_id is not None else []

    def welcome_back(self, session: Session, customer: str) -> store.JourneyView | None:
        """The open journey a new conversation offers to continue, or None: the newest one, once per issue in
        `welcome_back_hours` (every conversation starting with the same reminder is nagging)."""
        customer_id = customer_pk(session, customer)
        if customer_id is None:
            return None
        journeys = store.open_journeys(session, customer_id)
        if not journeys:
            return None
        latest = journeys[0]
        if not store.claim_welcome(session, latest.id, customer_id, every=self.config.welcome_back_every):
            return None
        return latest

    def journey(self, session: Session, customer: str, journey_id: int) -> store.JourneyView:
        """The customer's own journey; `JourneyNotFound` for another customer's, as for a missing one."""
        return self._own(session, customer, journey_id)

    def close(self, session: Session, customer: str, journey_id: int) -> store.JourneyView:
        """The customer closes an open journey; a resolved or closed one stays as it is (`JourneyNotOpen`)."""
        journey = self._own(session, customer, journey_id)
        if not journey.is_open:
            raise store.JourneyNotOpen(f"journey {journey_id} is {journey.state}")
        return store.close(session, journey_id, journey.customer_id, by="customer")

    def solved(self, session: Session, customer: str, journey_id: int) -> store.JourneyView:
        """The customer says the problem is gone: resolved, by them (`JourneyNotOpen` once it has ended)."""
        journey = self._own(session, customer, journey_id)
        if not journey.is_open:
            raise store.JourneyNotOpen(f"journey {journey_id} is {journey.state}")
        return store.resolve_by_customer(session, journey_id, journey.customer_id)

    def rate(self, session: Session, customer: str, journey_id: int, score: int, comment: str | None = None) -> None:
        customer_id = customer_pk(session, customer)
        if customer_id is None:
            raise store.JourneyNotFound(f"no journey {journey_id}")
        store.record_csat(session, journey_id, customer_id, score, comment)

    def title(self, workflow: str) -> str:
        return self.runner.workflow(workflow).title

    def accepts(self, workflow: str, step: str) -> dict[str, Any] | None:
        """What the journey's waiting step takes as an answer, for the dialogue policy (`Accepts.to_slot`)."""
        try:
            return self.runner.accepts(workflow, step).to_slot()
        except KeyError:  # a workflow or step that is gone since (UnknownStep): no answers to route
            return None

    def _step(self, journey: store.JourneyView) -> Step | None:
        """The step the journey waits at; None when it waits nowhere, or when an edit of the workflow removed the
        step or the workflow since the journey was saved (nothing to resume there; the journey stays as it is)."""
        if journey.current_step is None:
            return None
        try:
            return self.runner.workflow(journey.workflow).step(journey.current_step)
        except UnknownStep:
            log.warning(
                "journey %s waits at %s/%s, which the workflows no longer have",
                journey.id,
                journey.workflow,
                journey.current_step,
            )
            return None

    def _own(self, session: Session, customer: str, journey_id: int) -> store.JourneyView:
        customer_id = customer_pk(session, customer)
        journey = store.get(session, journey_id, customer_id) if customer_id is not None else None
        if journey is None:
            raise store.JourneyNotFound(f"no journey {journey_id}")
        return journey


@lru_cache(maxsize=1)
def default_service() -> JourneyService:
    """The process's service: the workflows in workflows/, the shop's facts and operations."""
    return JourneyService(WorkflowRunner(load_workflows(), ShopDbFacts.at()))
