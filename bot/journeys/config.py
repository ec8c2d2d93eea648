"""The journey knobs, from environment variables (`TANDEM_JOURNEY_*`), with safe defaults.

CX teams tune these without code: how long a solved problem can come back as the same journey, how long the
bot waits before nudging a silent customer, and how many nudges before a person takes over.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from bot.settings import env_number

ENV_PREFIX = "TANDEM_JOURNEY_"


@dataclass(frozen=True)
class JourneyConfig:
    reopen_window_days: float = 14.0  # the same problem reported again this soon reopens the old journey
    nudge_after_hours: float = 24.0  # a journey waiting on a silent customer is nudged after this long
    max_nudges: int = 2  # unanswered nudges before the journey is flagged for a person
    poll_seconds: float = 30.0  # how often the scheduler looks for due follow-ups
    max_send_attempts: int = 5  # a follow-up Rasa keeps refusing is marked failed after this many tries
    retry_backoff_seconds: float = 60.0  # first retry after this long, doubling with each attempt
    claim_timeout_seconds: float = 300.0  # a follow-up "sending" for longer was claimed by a dead scheduler
    send_timeout_seconds: float = 10.0  # HTTP timeout of one send to Rasa
    batch_size: int = 100  # follow-ups claimed per poll
    welcome_back_hours: float = 24.0  # a new conversation offers to continue an open issue at most this often

    @property
    def reopen_window(self) -> timedelta:
        return timedelta(days=self.reopen_window_days)

    @property
    def nudge_after(self) -> timedelta:
        return timedelta(hours=self.nudge_after_hours)

    @property
    def welcome_back_every(self) -> timedelta:
        return timedelta(hours=self.welcome_back_hours)

    @property
    def claim_timeout(self) -> timedelta:
        return timedelta(seconds=self.claim_timeout_seconds)

    def retry_delay(self, attempts: int) -> timedelta:
        """Backoff before the next try of a follow-up that failed `attempts` times (1, 2, 4, ... x base)."""
        return timedelta(seconds=self.retry_backoff_seconds * 2 ** max(attempts - 1, 0))

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> JourneyConfig:
        env = os.environ if env is None else env
        defaults = cls()

        def number(suffix: str, default: float, *, positive: bool = False) -> float:
            return env_number(env, ENV_PREFIX + suffix, default, positive=positive)

        return cls(
            reopen_window_days=number("REOPEN_WINDOW_DAYS", defaults.reopen_window_days),
            nudge_after_hours=number("NUDGE_AFTER_HOURS", defaults.nudge_after_hours, positive=True),
            max_nudges=int(number("MAX_NUDGES", defaults.max_nudges)),
            welcome_back_hours=number("WELCOME_BACK_HOURS", defaults.welcome_back_hours),
            poll_seconds=number("POLL_SECONDS", defaults.poll_seconds, positive=True),
            max_send_attempts=max(1, int(number("MAX_SEND_ATTEMPTS", defaults.max_send_attempts))),
            retry_backoff_seconds=number("RETRY_BACKOFF_SECONDS", defaults.retry_backoff_seconds),
            claim_timeout_seconds=number("CLAIM_TIMEOUT_SECONDS", defaults.claim_timeout_seconds, positive=True),
            send_timeout_seconds=number("SEND_TIMEOUT_SECONDS", defaults.send_timeout_seconds, positive=True),
            batch_size=max(1, int(number("BATCH_SIZE", defaults.batch_size))),
        )
