"""The step runner: given where a journey stands and what the customer said, what happens next.

Pure: no Rasa, no SQL of its own (shop data through `ShopFacts`, changes through operations, both on the
caller's session). One call is one turn: it runs the automatic steps (check, branch, operation, follow_up,
escalate, resolve) until a step waits for the customer (ask, instruct), for the clock (follow_up) or the
journey ends, and returns a `StepResult` for the journey store to write down before the bot answers.

State kept in the journey's context (so the store persists it with the rest):
- `_retries[step]`: unexpected answers so far at a waiting step;
- `_operations[step]`: results of operations already run, so a step is never run twice in a journey;
- `_journey_id`: set when the caller gives none, so operation keys stay stable across turns.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from bot.journeys.types import BotMessage, FollowUpRequest, StepResult, UserInput
from bot.journeys.workflows.answers import Accepts, Answer, already_tried, interpret, only_acknowledges
from bot.journeys.workflows.conditions import FactRef, evaluate
from bot.journeys.workflows.facts import FactResolver, FactsFactory
from bot.journeys.workflows.messages import prompt, say
from bot.journeys.workflows.operations import OperationError, OperationRegistry
from bot.journeys.workflows.schema import (
    EXPECT_ENTITY,
    WAITING,
    AskStep,
    BranchStep,
    CheckStep,
    EscalateStep,
    FollowUpStep,
    InstructStep,
    OperationStep,
    ResolveStep,
    UnknownStep,
    Workflow,
)
from bot.journeys.workflows.shop_operations import default_operations
from bot.shop.orders import order_meant

REASK_RESPONSE = "utter_workflow_reask"  # "Sorry, I need ... to go on", said before asking again
# "ok" to "try this; does it work now?": no failed answer, the bot waits for the outcome.
WAIT_FOR_OUTCOME_RESPONSE = "utter_workflow_wait_for_outcome"
# "I've tried everything": said once when the steps the customer already did are passed over.
ALREADY_TRIED_RESPONSE = "utter_workflow_already_tried"
RUNNER_RESPONSES = (REASK_RESPONSE, WAIT_FOR_OUTCOME_RESPONSE, ALREADY_TRIED_RESPONSE)
MAX_AUTOMATIC_STEPS = 50
STEP_LIMIT_REASON = "workflow_step_limit"
RETRIES, OPERATIONS_DONE, JOURNEY_ID = "_retries", "_operations", "_journey_id"


class WorkflowStateError(RuntimeError):
    """The journey is not at a step that can take this call (e.g. an answer at an escalated journey)."""


class _Turn:
    """One call's worth of steps: the context being updated, messages said, steps passed."""

    def __init__(
        self,
        runner: WorkflowRunner,
        workflow: Workflow,
        customer_id: str,
        session: Session | None,
        context: Mapping[str, Any],
        journey_id: str | None,
        said: str | None = None,
    ) -> None:
        self.runner = runner
        self.said = said  # the customer's words this turn: an instruct step they say they did is passed over
        self.workflow = workflow
        self.customer_id = customer_id
        self.session = session
        self.context: dict[str, Any] = copy.deepcopy(dict(context))
        if journey_id:
            self.context[JOURNEY_ID] = journey_id
        self.context.setdefault(JOURNEY_ID, uuid.uuid4().hex)
        self.shop = runner.facts(session, customer_id)
        self.resolver = FactResolver(self.shop, self.context)
        self.messages: list[BotMessage] = []
        self.taken: list[str] = []
        self.follow_ups: list[FollowUpRequest] = []
        self.unexpected = False

    def result(
        self, current: str | None, state: str, *, reason: str | None = None, outcome: str | None = None
    ) -> StepResult:
        return StepResult(
            workflow=self.workflow.id,
            current_step=current,
            state=state,
            messages=tuple(self.messages),
            steps_taken=tuple(self.taken),
            context=self.context,
            follow_ups=tuple(self.follow_ups),
            escalation_reason=reason,
            outcome=outcome,
            unexpected_answer=self.unexpected,
        )

    def say(self, response: str | None) -> None:
        if response:
            self.messages.append(say(response, self.resolver))

    def run_from(self, step_id: str) -> StepResult:
        """Walk automatic steps from `step_id` until the journey waits or ends."""
        for _ in range(self.runner.max_automatic_steps):
            step = self.workflow.step(step_id)
            self.taken.append(step.id)
            if isinstance(step, InstructStep) and already_tried(step, self.said):
                if ALREADY_TRIED_RESPONSE not in (m.response for m in self.messages):
                    self.say(ALREADY_TRIED_RESPONSE)
                step_id = step.next_if_not
                continue
            if isinstance(step, (AskStep, InstructStep)):
                self.messages.append(prompt(step, self.resolver))
                return self.result(step.id, "waiting_for_customer")
            if isinstance(step, CheckStep):
                step_id = step.then if evaluate(step.when, self.resolver.get) else step.else_
            elif isinstance(step, BranchStep):
                step_id = next((c.next for c in step.cases if evaluate(c.when, self.resolver.get)), step.default)
            elif isinstance(step, OperationStep):
                step_id = self.operate(step)
            elif isinstance(step, FollowUpStep):
                self.say(step.notice)
                self.follow_ups.append(
                    FollowUpRequest(
                        delay_seconds=step.after_seconds,
                        response=step.response,
                        workflow=step.workflow,
                        step=step.next,
                    )
                )
                return self.result(step.id, WAITING[step.waiting])
            elif isinstance(step, EscalateStep):
                self.say(step.response)
                return self.result(None, "escalated", reason=step.reason)
            elif isinstance(step, ResolveStep):
                self.say(step.response)
                return self.result(None, "resolved", outcome=step.outcome)
            else:  # pragma: no cover - the loader builds only the kinds above
                raise TypeError(f"unknown step {step!r}")
        return self.result(None, "escalated", reason=STEP_LIMIT_REASON)

    def operate(self, step: OperationStep) -> str:
        done: dict[str, Any] = self.context.setdefault(OPERATIONS_DONE, {})
        if step.id in done:  # already ran in this journey (a loop, or a turn replayed after a crash)
            self.context[step.result_key] = done[step.id]
        else:
            params = {k: self.resolver.get(v.path) if isinstance(v, FactRef) else v for k, v in step.params.items()}
            key = f"{self.context[JOURNEY_ID]}:{self.workflow.id}:{step.id}"
            try:
                result = self.runner.operations.run(
                    step.operation, params, customer_id=self.customer_id, session=self.session, facts=self.shop, key=key
                )
            except OperationError as exc:
                self.context[step.result_key] = {"error": str(exc)}
                self.resolver.invalidate()
                return step.on_error
            done[step.id] = result
            self.context[step.result_key] = result
        self.resolver.invalidate()
        self.say(step.response)
        return step.next

    def _order_by_contents(self, step: AskStep | InstructStep, user_input: UserInput) -> Answer | None:
        """ "The iPad one" (or "the other one") to a question listing the customer's orders: the order meant."""
        if not (
            isinstance(step, AskStep)
            and step.expect.kind == EXPECT_ENTITY
            and step.expect.choices
            and step.expect.value_type == "order_number"
            and step.next
        ):
            return None
        key = step.expect.save_as or step.expect.entity
        assert key is not None, "an entity ask names its entity (the loader requires it)"
        listed = [(o.number, o.items) for o in self.shop.orders(step.expect.choices)]
        meant = order_meant(listed, user_input.text, discussed=self.context.get(key))
        return Answer(step.next, {key: meant}) if meant else None

    def answer(self, step: AskStep | InstructStep, user_input: UserInput, retries_used: int | None) -> StepResult:
        retries: dict[str, int] = self.context.setdefault(RETRIES, {})
        answer = interpret(step, user_input) or self._order_by_contents(step, user_input)
        rejection = None
        if answer is not None and isinstance(step, AskStep) and step.expect.accept_if is not None:
            trial = {**self.context, **answer.updates}
            trial_resolver = FactResolver(self.shop, trial)
            if not evaluate(step.expect.accept_if, trial_resolver.get):
                if step.expect.reject_response:
                    rejection = say(step.expect.reject_response, trial_resolver)
                answer = None
        if answer is not None:
            retries.pop(step.id, None)
            self.context.update(answer.updates)
            self.resolver.invalidate()
            return self.run_from(answer.next)
        if isinstance(step, InstructStep) and only_acknowledges(user_input.text):
            self.messages.append(say(WAIT_FOR_OUTCOME_RESPONSE, self.resolver))
            self.taken.append(step.id)
            return self.result(step.id, "waiting_for_customer")
        self.unexpected = True
        used = (retries_used if retries_used is not None else retries.get(step.id, 0)) + 1
        if used > step.retries:
            retries.pop(step.id, None)
            if rejection:
                self.messages.append(rejection)
            return self.run_from(step.on_fail)
        retries[step.id] = used
        self.messages.append(rejection or say(REASK_RESPONSE, self.resolver))
        self.taken.append(step.id)
        self.messages.append(prompt(step, self.resolver))
        return self.result(step.id, "waiting_for_customer")


class WorkflowRunner:
    """Runs workflows step by step. `facts(session, customer_id)` gives the shop as that customer's
    workflow sees it (e.g. `ShopDbFacts.at(now)`); `operations` defaults to the shop's registry."""

    def __init__(
        self,
        workflows: Mapping[str, Workflow],
        facts: FactsFactory,
        operations: OperationRegistry | None = None,
        *,
        max_automatic_steps: int = MAX_AUTOMATIC_STEPS,
    ) -> None:
        self.workflows = dict(workflows)
        self.facts = facts
        self.operations = operations or default_operations()
        self.max_automatic_steps = max_automatic_steps

    def workflow(self, workflow_id: str) -> Workflow:
        try:
            return self.workflows[workflow_id]
        except KeyError:
            raise UnknownStep(f"no workflow '{workflow_id}'") from None

    def _turn(
        self,
        workflow_id: str,
        customer_id: str,
        session: Session | None,
        context: Mapping[str, Any],
        journey_id: str | None,
        said: str | None = None,
    ) -> _Turn:
        return _Turn(self, self.workflow(workflow_id), customer_id, session, context, journey_id, said)

    def start(
        self,
        workflow_id: str,
        customer_id: str,
        context: Mapping[str, Any] | None,
        session: Session | None,
        *,
        journey_id: str | None = None,
        said: str | None = None,
    ) -> StepResult:
        """Begin a journey at the workflow's start step; `context` holds its inputs (e.g. `order_id`), `said` the
        customer's report (a fix it says was tried already is not asked for)."""
        turn = self._turn(workflow_id, customer_id, session, context or {}, journey_id, said)
        return turn.run_from(turn.workflow.start)

    def advance(
        self,
        workflow_id: str,
        current_step: str,
        context: Mapping[str, Any],
        user_input: UserInput,
        customer_id: str,
        session: Session | None,
        retries_used: int | None = None,
        *,
        journey_id: str | None = None,
    ) -> StepResult:
        """The customer answered the step the journey waits at.

        An answer that does not fit is asked again (`unexpected_answer`), up to the step's `retries`, then
        the journey takes `on_fail`. `retries_used` overrides the count kept in `context["_retries"]`. At a
        follow_up (the customer came back before it fired) the journey continues at its `next` at once; the
        message is not consumed, the next step asks its own question.
        """
        turn = self._turn(workflow_id, customer_id, session, context, journey_id, user_input.text)
        step = turn.workflow.step(current_step)
        if isinstance(step, (AskStep, InstructStep)):
            return turn.answer(step, user_input, retries_used)
        if isinstance(step, FollowUpStep):
            return self._after_follow_up(turn, step, announce=False)
        raise WorkflowStateError(f"step '{current_step}' of '{workflow_id}' does not wait for an answer")

    def resume(
        self,
        workflow_id: str,
        follow_up_step: str,
        context: Mapping[str, Any],
        customer_id: str,
        session: Session | None,
        *,
        journey_id: str | None = None,
    ) -> StepResult:
        """A follow-up fired: say its response and continue at its `next` (or start its `workflow`)."""
        turn = self._turn(workflow_id, customer_id, session, context, journey_id)
        step = turn.workflow.step(follow_up_step)
        if not isinstance(step, FollowUpStep):
            raise WorkflowStateError(f"step '{follow_up_step}' of '{workflow_id}' is not a follow_up")
        return self._after_follow_up(turn, step, announce=True)

    def _after_follow_up(self, turn: _Turn, step: FollowUpStep, announce: bool) -> StepResult:
        if announce:
            turn.say(step.response)
        if step.workflow:
            handover = self._turn(step.workflow, turn.customer_id, turn.session, turn.context, None)
            handover.messages = turn.messages
            return handover.run_from(handover.workflow.start)
        assert step.next is not None
        return turn.run_from(step.next)

    def prompt(
        self, workflow_id: str, current_step: str, context: Mapping[str, Any], customer_id: str, session: Session | None
    ) -> StepResult:
        """Ask the waiting step's question again, e.g. after the customer interrupted with something else.
        Not a retry: nothing is counted, no step is taken."""
        turn = self._turn(workflow_id, customer_id, session, context, None)
        step = turn.workflow.step(current_step)
        if not isinstance(step, (AskStep, InstructStep)):
            raise WorkflowStateError(f"step '{current_step}' of '{workflow_id}' asks nothing")
        turn.messages.append(prompt(step, turn.resolver))
        return turn.result(step.id, "waiting_for_customer")

    def accepts(self, workflow_id: str, current_step: str) -> Accepts:
        """What the waiting step takes as an answer (by its form; an order is looked up only on advance).
        The caller can treat anything else as an interruption and `prompt` again afterwards."""
        return Accepts.of(self.workflow(workflow_id).step(current_step))
