"""Where the event consumer reads Rasa's events, from the variables the endpoints files read.

- `TANDEM_INSIGHTS_SOURCE`: `sql` (Rasa's SQL event broker; endpoints.yml) or `rabbitmq` (Rasa's Pika broker;
  config/endpoints.production.yml). Default `sql`.
- `TANDEM_EVENTS_DB_URL`, else the SQLite file `TANDEM_EVENTS_DB` that endpoints.yml names (`tandem up` sets it to
  `rasa_events.db` in the state folder): the SQL event broker's database.
- `TANDEM_BROKER_HOST`, `_PORT`, `_USER`, `_PASSWORD`: RabbitMQ, as config/endpoints.production.yml reads them;
  `TANDEM_INSIGHTS_QUEUE`: the queue Rasa publishes to there.
- `TANDEM_INSIGHTS_BATCH` (events per transaction), `TANDEM_INSIGHTS_POLL_SECONDS` (how often an idle SQL source
  looks again), `TANDEM_INSIGHTS_SEEN_DAYS` (how long the keys of RabbitMQ's events are kept against redelivery),
  `TANDEM_INSIGHTS_RECONCILE_SECONDS` (how often the RabbitMQ consumer counts what Rasa stored in its tracker store
  but never published, bot.insights.reconcile; 0: never). The tracker store is the one `bot.settings` names.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from bot.settings import ConfigError, env_number, tracker_db_url

SOURCES = ("sql", "rabbitmq")
EVENTS_DB_FILE = "rasa_events.db"  # beside rasa_tracker.db: both hold a table named `events`
DEFAULT_QUEUE = "tandem_events"  # config/endpoints.production.yml's event_broker.queues


@dataclass(frozen=True)
class InsightsConfig:
    source: str
    events_db_url: str
    amqp_url: str
    queue: str
    batch_size: int = 500
    poll_seconds: float = 1.0
    seen_days: float = 7.0
    tracker_db_url: str = ""  # Rasa's tracker store, for bot.insights.reconcile ("": not compared)
    reconcile_seconds: float = 60.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, state_dir: Path | None = None) -> InsightsConfig:
        env = os.environ if env is None else env
        if state_dir is None:
            from bot.settings import get_settings

            state_dir = get_settings().state_dir
        source = (env.get("TANDEM_INSIGHTS_SOURCE") or "sql").strip().lower()
        if source not in SOURCES:
            raise ConfigError(f"TANDEM_INSIGHTS_SOURCE must be one of {', '.join(SOURCES)}, got {source!r}")
        try:
            batch = max(1, int(env_number(env, "TANDEM_INSIGHTS_BATCH", 500, positive=True)))
            poll = env_number(env, "TANDEM_INSIGHTS_POLL_SECONDS", 1.0, positive=True)
            seen_days = env_number(env, "TANDEM_INSIGHTS_SEEN_DAYS", 7.0, positive=True)
            reconcile = env_number(env, "TANDEM_INSIGHTS_RECONCILE_SECONDS", 60.0)
        except ValueError as exc:
            raise ConfigError(str(exc)) from exc
        return cls(
            source=source,
            events_db_url=events_db_url(env, state_dir),
            amqp_url=amqp_url(env),
            queue=env.get("TANDEM_INSIGHTS_QUEUE") or DEFAULT_QUEUE,
            batch_size=batch,
            poll_seconds=poll,
            seen_days=seen_days,
            tracker_db_url=tracker_db_url(env, state_dir),
            reconcile_seconds=reconcile,
        )


def events_db_url(env: Mapping[str, str], state_dir: Path) -> str:
    if env.get("TANDEM_EVENTS_DB_URL"):
        return env["TANDEM_EVENTS_DB_URL"]
    return f"sqlite:///{env.get('TANDEM_EVENTS_DB') or state_dir / EVENTS_DB_FILE}"


def amqp_url(env: Mapping[str, str]) -> str:
    user = quote(env.get("TANDEM_BROKER_USER") or "guest", safe="")
    password = quote(env.get("TANDEM_BROKER_PASSWORD") or "guest", safe="")
    host = env.get("TANDEM_BROKER_HOST") or "127.0.0.1"
    port = env.get("TANDEM_BROKER_PORT") or "5672"
    return f"amqp://{user}:{password}@{host}:{port}/"
