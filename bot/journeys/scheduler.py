"""Sends due follow-ups and nudges into the customer's conversation, and flags silent journeys for a person.

Everything the scheduler knows lives in the database, so it survives restarts by construction: a new
scheduler (or several at once) picks up where the last one stopped. A follow-up is claimed before it is
sent (status `sending`, with the claiming run's token): on PostgreSQL the claim skips rows another
scheduler has locked (`FOR UPDATE SKIP LOCKED`), on SQLite the conditional `UPDATE ... WHERE status =
'pending'` runs under the database's single write lock, so no follow-up is claimed twice. A claim left by a
scheduler that died while sending is released after `claim_timeout` (delivery is at least once).

Time comes from an injected clock (naive UTC), so tests move it instead of sleeping.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import exists, select, update
from sqlalchemy.orm import Session

from bot import rasa_api
from bot.db.models import Journey, JourneyFollowUp, JourneyStep, utcnow
from bot.db.session import session_scope
from bot.journeys.config import JourneyConfig
from bot.journeys.store import FINAL_STATES, FOLLOW_UP_INTENT
from bot.rasa_api import RasaUnavailable

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
NO_REPLY_REASON = "no_reply_after_nudges"


class SendError(Exception):
    """The follow-up could not be delivered (Rasa unreachable or refusing); it is retried later."""


@dataclass(frozen=True)
class DueFollowUp:
    """A follow-up or nudge to deliver now, with where to deliver it."""

    id: int
    journey_id: int
    kind: str  # follow_up | nudge
    conversation_id: str
    channel: str | None
    response: str | None
    workflow: str | None
    step: str | None
    attempt: int  # 1 on the first try


class Sender(Protocol):
    def send(self, follow_up: DueFollowUp) -> Any:
        """Deliver it or raise `SendError`."""


@dataclass(frozen=True)
class Sent:
    follow_up_id: int
    journey_id: int
    kind: str
    conversation_id: str
    at: datetime


@dataclass
class TickReport:
    """What one scheduler pass did."""

    sent: list[Sent] = field(default_factory=list)
    retrying: int = 0
    failed: int = 0
    cancelled: int = 0  # claimed, but the journey had moved on (resolved, closed, answered)
    nudged: int = 0
    escalated: int = 0
    reclaimed: int = 0
    released: int = 0  # claimed but handed back unsent: the pass ran out of time

    def __str__(self) -> str:
        return (
            f"sent {len(self.sent)}, retrying {self.retrying}, failed {self.failed}, cancelled {self.cancelled}, "
            f"nudges created {self.nudged}, flagged for a person {self.escalated}, reclaimed {self.reclaimed}"
            + (f", handed back {self.released}" if self.released else "")
        )


class RasaHttpSender:
    """Delivers a follow-up through Rasa's HTTP API (`rasa run --enable-api`, optional `--auth-token`).

    Triggers the `journey_follow_up` intent in the customer's conversation with the ids as entities; the
    action that handles it reads the follow-up from the database. `output_channel=latest` answers on the
    channel the customer last used; a channel that cannot push (REST) gets the bot's messages in the HTTP
    response instead, which `send` returns.
    """

    def __init__(self, rasa_url: str, token: str | None = None, *, timeout: float = 10.0) -> None:
        self.rasa_url = rasa_url.rstrip("/")
        self.token = token
        self.timeout = timeout

    def send(self, follow_up: DueFollowUp) -> list[dict[str, Any]]:
        entities = {"journey_id": follow_up.journey_id, "follow_up_id": follow_up.id}
        try:
            return rasa_api.call(
                self.rasa_url,
                self.token,
                self.timeout,
                lambda api: api.trigger_intent(follow_up.conversation_id, FOLLOW_UP_INTENT, entities),
            )
        except RasaUnavailable as exc:
            raise SendError(str(exc)) from exc


class FollowUpScheduler:
    def __init__(
        self,
        url: str,
        sender: Sender,
        *,
        clock: Clock = utcnow,
        config: JourneyConfig | None = None,
        housekeeping: Callable[[datetime], Any] | None = None,
    ) -> None:
        self.url = url
        self.sender = sender
        self.clock = clock
        self.config = config or JourneyConfig.from_env()
        # Called at the end of every pass with the pass's time (bot.privacy.housekeeping: the overdue privacy
        # requests' warning and conversation retention, wired in by the CLI, a layer above); it keeps itself
        # cheap, and its failure never stops the pass.
        self.housekeeping = housekeeping

    def run_once(self) -> list[Sent]:
        """One pass: the follow-ups it delivered."""
        return self.tick().sent

    def tick(self) -> TickReport:
        """One pass: release dead claims, create nudges or flag silent journeys, deliver what is due."""
        report = TickReport()
        now = self.clock()
        with session_scope(self.url) as session:
            report.reclaimed = self._reclaim(session, now)
        with session_scope(self.url) as session:
            report.nudged, report.escalated = self._nudge(session, now)
        token = uuid.uuid4().hex
        with session_scope(self.url) as session:
            due, report.cancelled, failed = self._claim(session, now, token)
        report.failed += failed
        for i, follow_up in enumerate(due):
            if self.clock() - now > self.config.claim_timeout / 2:
                # Sending is slow (Rasa timing out): hand the rest back before another scheduler could take
                # over these claims and send them a second time.
                report.released = self._release(token, [d.id for d in due[i:]])
                break
            self._deliver(follow_up, token, report)
        if self.housekeeping is not None:
            try:
                self.housekeeping(now)
            except Exception:
                log.exception("scheduler housekeeping failed")
        return report

    def run_forever(self, stop_event: threading.Event) -> None:
        """Poll every `config.poll_seconds` until `stop_event` is set; a failed pass is logged and retried."""
        log.info("follow-up scheduler polling every %s s", self.config.poll_seconds)
        while not stop_event.is_set():
            try:
                report = self.tick()
                if report.sent or report.failed or report.nudged or report.escalated or report.reclaimed:
                    log.info("follow-ups: %s", report)
            except Exception:
                log.exception("follow-up scheduler pass failed; next try in %s s", self.config.poll_seconds)
            stop_event.wait(self.config.poll_seconds)

    # --- the pass, step by step ---------------------------------------------------------------------------------

    def _reclaim(self, session: Session, now: datetime) -> int:
        expired = (JourneyFollowUp.status == "sending") & (JourneyFollowUp.claimed_at < now - self.config.claim_timeout)
        gave_up = session.execute(
            update(JourneyFollowUp)
            .where(expired, JourneyFollowUp.attempts >= self.config.max_send_attempts)
            .values(status="failed", claim_token=None, last_error="claim expired: its scheduler stopped sending")
            .execution_options(synchronize_session=False)
        ).rowcount
        released = session.execute(
            update(JourneyFollowUp)
            .where(expired)
            .values(status="pending", claim_token=None, last_error="claim expired: its scheduler stopped sending")
            .execution_options(synchronize_session=False)
        ).rowcount
        return gave_up + released

    def _nudge(self, session: Session, now: datetime) -> tuple[int, int]:
        """Nudge journeys quiet for `nudge_after` while waiting on the customer; flag them after `max_nudges`.

        Each change is a compare-and-set on the journey's version, so a customer answering at the same moment
        (or a second scheduler) wins cleanly instead of being overwritten.
        """
        nudge_waiting = exists().where(
            JourneyFollowUp.journey_id == Journey.id,
            JourneyFollowUp.kind == "nudge",
            JourneyFollowUp.status.in_(("pending", "sending")),
        )
        candidates = session.execute(
            select(
                Journey.id,
                Journey.version,
                Journey.unanswered_nudges,
                Journey.step_count,
                Journey.workflow,
                Journey.current_step,
                Journey.last_conversation_id,
                Journey.last_channel,
            )
            .where(
                Journey.state == "waiting_for_customer",
                Journey.quiet_since <= now - self.config.nudge_after,
                ~nudge_waiting,
            )
            .order_by(Journey.quiet_since, Journey.id)
            .limit(self.config.batch_size)
            .with_for_update(skip_locked=True)
        ).all()
        nudged = escalated = 0
        for j in candidates:
            cas = (
                update(Journey)
                .where(Journey.id == j.id, Journey.version == j.version, Journey.state == "waiting_for_customer")
                .execution_options(synchronize_session=False)
            )
            if j.unanswered_nudges >= self.config.max_nudges:
                won = session.execute(
                    cas.values(
                        state="escalated",
                        escalation_reason=NO_REPLY_REASON,
                        version=j.version + 1,
                        step_count=j.step_count + 1,
                        updated_at=now,
                    )
                ).rowcount
                if won:
                    session.add(
                        JourneyStep(
                            journey_id=j.id,
                            seq=j.step_count + 1,
                            step=NO_REPLY_REASON,
                            at=now,
                            channel="scheduler",
                            conversation_id=j.last_conversation_id,
                            state_after="escalated",
                            messages=[],
                            unexpected=False,
                        )
                    )
                    escalated += 1
            else:
                won = session.execute(
                    cas.values(unanswered_nudges=j.unanswered_nudges + 1, quiet_since=now, version=j.version + 1)
                ).rowcount
                if won:
                    session.add(
                        JourneyFollowUp(
                            journey_id=j.id,
                            kind="nudge",
                            due_at=now,
                            workflow=j.workflow,
                            step=j.current_step,
                            scheduled_at_step=j.current_step,
                            status="pending",
                            attempts=0,
                            created_at=now,
                        )
                    )
                    nudged += 1
        return nudged, escalated

    def _claim(self, session: Session, now: datetime, token: str) -> tuple[list[DueFollowUp], int, int]:
        """Claim due pending follow-ups for this pass; cancel the ones their journey made obsolete."""
        # Select, then claim: PostgreSQL may re-run a `LIMIT ... FOR UPDATE SKIP LOCKED` subquery per row of
        # an UPDATE and claim more than the batch. On SQLite nothing is locked by the select, so the claim is
        # the conditional UPDATE; when another scheduler took every selected row first, the second try reads
        # under the write lock this transaction now holds and gets the rows that are really left.
        for _ in range(2):
            due_ids = (
                session.execute(
                    select(JourneyFollowUp.id)
                    .where(JourneyFollowUp.status == "pending", JourneyFollowUp.due_at <= now)
                    .order_by(JourneyFollowUp.due_at, JourneyFollowUp.id)
                    .limit(self.config.batch_size)
                    .with_for_update(skip_locked=True)
                )
                .scalars()
                .all()
            )
            if not due_ids:
                break
            claimed = session.execute(
                update(JourneyFollowUp)
                .where(JourneyFollowUp.id.in_(due_ids), JourneyFollowUp.status == "pending")
                .values(status="sending", claim_token=token, claimed_at=now, attempts=JourneyFollowUp.attempts + 1)
                .execution_options(synchronize_session=False)
            ).rowcount
            if claimed:
                break
        rows = session.execute(
            select(JourneyFollowUp, Journey.state, Journey.last_conversation_id, Journey.last_channel)
            .join(Journey, Journey.id == JourneyFollowUp.journey_id)
            .where(JourneyFollowUp.claim_token == token)
            .order_by(JourneyFollowUp.due_at, JourneyFollowUp.id)
        ).all()
        due: list[DueFollowUp] = []
        cancelled = failed = 0
        for fu, state, conversation_id, channel in rows:
            if state in FINAL_STATES or (fu.kind == "nudge" and state != "waiting_for_customer"):
                fu.status, fu.claim_token = "cancelled", None
                cancelled += 1
            elif not conversation_id:
                fu.status, fu.claim_token = "failed", None
                fu.last_error = "the journey has no conversation to send into"
                failed += 1
            else:
                due.append(
                    DueFollowUp(
                        id=fu.id,
                        journey_id=fu.journey_id,
                        kind=fu.kind,
                        conversation_id=conversation_id,
                        channel=channel,
                        response=fu.response,
                        workflow=fu.workflow,
                        step=fu.step,
                        attempt=fu.attempts,
                    )
                )
        return due, cancelled, failed

    def _release(self, token: str, ids: list[int]) -> int:
        with session_scope(self.url) as session:
            return session.execute(
                update(JourneyFollowUp)
                .where(
                    JourneyFollowUp.id.in_(ids),
                    JourneyFollowUp.claim_token == token,
                    JourneyFollowUp.status == "sending",
                )
                .values(status="pending", claim_token=None, attempts=JourneyFollowUp.attempts - 1)
                .execution_options(synchronize_session=False)
            ).rowcount

    def _deliver(self, follow_up: DueFollowUp, token: str, report: TickReport) -> None:
        error: str | None = None
        try:
            self.sender.send(follow_up)
        except SendError as exc:
            error = str(exc)
        except Exception as exc:
            log.exception("sender failed on follow-up %s", follow_up.id)
            error = f"{type(exc).__name__}: {exc}"
        now = self.clock()
        mine = (
            update(JourneyFollowUp)
            .where(
                JourneyFollowUp.id == follow_up.id,
                JourneyFollowUp.claim_token == token,
                JourneyFollowUp.status == "sending",
            )
            .execution_options(synchronize_session=False)
        )
        with session_scope(self.url) as session:
            if error is None:
                if session.execute(mine.values(status="sent", sent_at=now, claim_token=None, last_error=None)).rowcount:
                    report.sent.append(
                        Sent(follow_up.id, follow_up.journey_id, follow_up.kind, follow_up.conversation_id, now)
                    )
                return
            log.warning("follow-up %s (attempt %s) not delivered: %s", follow_up.id, follow_up.attempt, error)
            if follow_up.attempt >= self.config.max_send_attempts:
                session.execute(mine.values(status="failed", claim_token=None, last_error=error[:500]))
                report.failed += 1
            else:
                session.execute(
                    mine.values(
                        status="pending",
                        claim_token=None,
                        last_error=error[:500],
                        due_at=now + self.config.retry_delay(follow_up.attempt),
                    )
                )
                report.retrying += 1
