"""`tandem up`: prepare the database and model, then run Rasa, the actions, the shop page and the agent console.

One supervisor for a laptop, a demo, and the production profile on one machine (`bot/production` builds on
it); on a container platform each process runs under the platform's own supervisor with the same commands and
environment variables (docs/deploy.md).
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from bot import run_lock
from bot.insights.config import EVENTS_DB_FILE
from bot.processes import ServiceFailed, runtime_env, wait_until_answers
from bot.settings import PROJECT_ROOT, Settings, get_settings
from bot.training import RASA, train_if_changed

if TYPE_CHECKING:
    from bot.sentiment.training import Recipe

PYTHON = sys.executable


def child_env(settings: Settings) -> dict[str, str]:
    return runtime_env(
        {
            "TANDEM_STATE_DIR": str(settings.state_dir),
            "TANDEM_DATABASE_URL": settings.database_url,
            "TANDEM_SECRET_KEY": settings.secret_key,
        }
    )


# A process that dies is started again after these waits (seconds), one more step each time it dies again soon.
RESTART_BACKOFF = (1.0, 2.0, 4.0, 8.0, 16.0, 30.0)
STABLE_SECONDS = 60.0  # up this long, a restarted process is healthy again: its back-off starts over
WATCH_SECONDS = 0.5


class StackError(RuntimeError):
    """The assistant could not start (a port taken, another `tandem up`, a service that failed); says why."""


@dataclass
class Service:
    name: str
    command: list[str]
    health_url: str | None  # http(s)://... answers 2xx, tcp://host:port accepts; None: a worker, running is healthy
    process: subprocess.Popen | None = None
    started_at: float = 0.0
    quick_deaths: int = 0  # deaths in a row, each within STABLE_SECONDS of its start
    restarts: int = 0  # times it was started again since `up` began
    restart_at: float | None = None  # when a dead process is due to start again
    log: Path | None = None  # its output (None: the terminal's); a terminal gets one line per service
    env: dict[str, str] = field(default_factory=dict)  # on top of the stack's environment
    user: str | None = None  # run as this user (PostgreSQL refuses to run as root)
    # A Rasa server: the model to (re)start it with, asked at each start (a publish may have changed it since).
    model_source: Callable[[], Path | None] | None = None


def log_tail(service: Service, lines: int = 20) -> str:
    """The end of a service's log, for the message that says it failed."""
    if service.log is None:
        return "see its output above"
    try:
        text = service.log.read_text(errors="replace").splitlines()[-lines:]
    except OSError:
        return f"no log at {service.log}"
    return f"the end of {service.log}:\n" + "\n".join(f"  {line}" for line in text)


def wait_healthy(service: Service, timeout: float) -> None:
    if service.health_url is None:
        time.sleep(1.0)  # a worker: give it a moment to fail on bad configuration
        if service.process is not None and service.process.poll() is not None:
            raise StackError(f"{service.name} exited with {service.process.returncode}; {log_tail(service)}")
        return
    try:
        wait_until_answers(service.health_url, service.process, timeout)
    except ServiceFailed as exc:
        raise StackError(f"{service.name} failed: {exc}; {log_tail(service)}") from exc


def action_server(name: str, port: int, host: str = "0.0.0.0") -> Service:
    # rasa-sdk takes the address to bind only from SANIC_HOST.
    command = [RASA, "run", "actions", "--actions", "actions", "--port", str(port)]
    return Service(name, command, f"http://127.0.0.1:{port}/health", env={"SANIC_HOST": host})


def rasa_server(
    name: str, model: Path, port: int, endpoints: str, credentials: str, interface: str = "0.0.0.0"
) -> Service:
    # The HTTP API takes a token: the agent console and the follow-up scheduler add to conversations.
    # bot.rasa_cli adds it inside the process, so it is not in the process list.
    command = [PYTHON, "-m", "bot.rasa_cli", "run", "--model", str(model), "--enable-api", "--cors", "*"]
    command += ["--interface", interface, "--port", str(port), "--credentials", credentials, "--endpoints", endpoints]
    return Service(name, command, f"http://127.0.0.1:{port}/webhooks/tandem_socket/")


def web_apps(settings: Settings, rasa_url: str) -> list[Service]:
    """The shop page, the agent console, and the scheduler that sends due journey follow-ups through `rasa_url`."""
    return [
        Service(
            "shop page", [PYTHON, "-m", "bot.web.shop_site"], f"http://{settings.web_host}:{settings.web_port}/healthz"
        ),
        Service(
            "agent console",
            [PYTHON, "-m", "bot.console"],
            f"http://{settings.console_host}:{settings.console_port}/healthz",
        ),
        Service(
            "follow-up scheduler", [PYTHON, "-m", "bot.cli", "journeys", "scheduler", "--rasa-url", rasa_url], None
        ),
    ]


def insights_consumer(source: str | None = None) -> Service:
    """Rasa's published events into the analytics tables (bot/insights/consumer.py); `source` None: the
    environment's (TANDEM_INSIGHTS_SOURCE, else Rasa's SQL event broker of endpoints.yml)."""
    command = [PYTHON, "-m", "bot.cli", "insights", "consume"]
    return Service("insights consumer", command + (["--source", source] if source else []), None)


def log_to_files(service_list: list[Service], logs: Path) -> list[Service]:
    """Their output (hundreds of lines of dependencies' warnings and request logs) goes to a file each."""
    for service in service_list:
        service.log = logs / (service.name.replace(" ", "-") + ".log")
    return service_list


def services(
    settings: Settings,
    model: Path,
    endpoints: str,
    rasa_port: int,
    actions_port: int,
    credentials: str = "credentials.yml",
) -> list[Service]:
    service_list = [
        action_server("action server", actions_port),
        rasa_server("rasa", model, rasa_port, endpoints, credentials),
        *web_apps(settings, f"http://127.0.0.1:{rasa_port}"),
        insights_consumer(),
    ]
    return log_to_files(service_list, settings.state_dir / "logs")


def use_model(rasa: Service, model: Path) -> None:
    """A Rasa model swapped in live is also the one a restarted Rasa loads."""
    rasa.command[rasa.command.index("--model") + 1] = str(model)


def serve_published(rasas: Sequence[Service], models_dir: Path) -> None:
    """Each of these Rasa servers starts (and starts again after a crash) with the published model, which
    `tandem model publish` and `rollback` change while `up` runs (bot.model_release)."""
    from bot.model_release.service import published_model

    for rasa in rasas:
        rasa.model_source = lambda: published_model(models_dir)


def launch(service: Service, env: dict[str, str]) -> None:
    # Its own process group (a Ctrl-C in the terminal reaches `up` alone, which stops the children in order),
    # and it dies with `up` even when `up` is killed outright.
    if service.model_source is not None and (model := service.model_source()) is not None:
        use_model(service, model)
    output = None
    if service.log is not None:
        service.log.parent.mkdir(parents=True, exist_ok=True)
        output = service.log.open("ab")  # a restarted process adds to its log; the child keeps its own copy
    try:
        service.process = subprocess.Popen(
            service.command,
            cwd=PROJECT_ROOT,
            env={**env, **service.env},
            user=service.user,
            start_new_session=True,
            preexec_fn=run_lock.die_with_parent,
            stdout=output,
            stderr=subprocess.STDOUT if output else None,
        )
    finally:
        if output is not None:
            output.close()
    service.started_at = time.monotonic()
    service.restart_at = None


def start(
    service_list: list[Service], env: dict[str, str], timeout: float = 300.0, state_dir: Path | None = None
) -> None:
    """Start those not started yet (the production profile starts its databases first), and wait for each."""
    new = [service for service in service_list if service.process is None]
    logs = sorted({str(service.log.parent) for service in new if service.log is not None})
    print(
        f"starting {', '.join(service.name for service in new)}"
        + (f" (their output goes to {', '.join(logs)})" if logs else ""),
        flush=True,
    )
    for service in new:
        launch(service, env)
    record(service_list, state_dir)
    for service in new:
        wait_healthy(service, timeout)
        print(f"{service.name} is up ({service.health_url or 'running'})", flush=True)


def stop(service_list: list[Service]) -> None:
    for service in reversed(service_list):
        if service.process is not None and service.process.poll() is None:
            os.killpg(service.process.pid, signal.SIGTERM)
    for service in service_list:
        if service.process is not None:
            try:
                service.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(service.process.pid, signal.SIGKILL)


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def stop_on_signals() -> None:
    """Ctrl-C, a platform's SIGTERM and a supervisor's SIGINT all stop `up` and its children.

    Set explicitly for SIGINT too: a shell starts a background job with SIGINT ignored, and Python then keeps it
    ignored, so `tandem up &` would otherwise only stop on SIGTERM."""
    for signum in STOP_SIGNALS:
        signal.signal(signum, _interrupt)


def record(service_list: list[Service], state_dir: Path | None) -> None:
    """The children, for `tandem down` (and the next `up`) to find and `tandem status` to report."""
    if state_dir is not None:
        run_lock.write(
            state_dir,
            [s.process.pid for s in service_list if s.process is not None],
            [
                run_lock.ServiceRecord(
                    name=s.name,
                    pid=s.process.pid if s.process is not None and s.restart_at is None else None,
                    health_url=s.health_url,
                    restarts=s.restarts,
                    log=str(s.log) if s.log is not None else None,
                )
                for s in service_list
            ],
        )


def keep_running(service: Service, env: dict[str, str], now: float) -> bool:
    """One look at a service: a process that died is started again after its back-off, and says so. True when
    it was started again."""
    if service.restart_at is not None:
        if now >= service.restart_at:
            launch(service, env)
            service.restarts += 1
            print(f"{service.name}: started again", file=sys.stderr, flush=True)
            return True
        return False
    if service.process is None or service.process.poll() is None:
        return False
    service.quick_deaths = service.quick_deaths + 1 if now - service.started_at < STABLE_SECONDS else 1
    delay = RESTART_BACKOFF[min(service.quick_deaths, len(RESTART_BACKOFF)) - 1]
    service.restart_at = now + delay
    where = f" (its log: {service.log})" if service.log is not None else ""
    print(
        f"{service.name} exited with code {service.process.returncode}{where}; starting it again in {delay:.0f} s",
        file=sys.stderr,
        flush=True,
    )
    return False


class Background(Protocol):
    """A job that runs beside the services once they are up (a thread of its own), and stops with them."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


def supervise(
    service_list: list[Service],
    env: dict[str, str],
    banner: str = "",
    state_dir: Path | None = None,
    background: Sequence[Background] = (),
) -> int:
    """Start the services and keep them running (a process that dies is started again, with back-off, while the
    others carry on) until a signal stops them all; 0 then. With `state_dir`, the children's PIDs are recorded
    there for `tandem down`."""
    try:
        start(service_list, env, state_dir=state_dir)
        if banner:
            print(banner, flush=True)
        for job in background:
            job.start()
        while True:
            now = time.monotonic()
            if any([keep_running(service, env, now) for service in service_list]):
                record(service_list, state_dir)
            time.sleep(WATCH_SECONDS)
    except KeyboardInterrupt:
        return 0
    finally:
        for signum in STOP_SIGNALS:  # a second Ctrl-C must not cut the shutdown short and leave children behind
            signal.signal(signum, signal.SIG_IGN)
        for job in background:
            job.stop()
        stop(service_list)


@dataclass(frozen=True)
class SentimentChoice:
    serving: Path | None  # the model to train the Rasa model with; None: the one TANDEM_SENTIMENT_MODEL names
    better: Recipe | None = None  # built in the background and swapped in, when the one serving is a stopgap


def choose_sentiment_model(settings: Settings) -> SentimentChoice:
    """The recipe asked for when it is built; else, on a first run, the quick interim build (under a minute) now
    and the one asked for in the background, so that the assistant answers within minutes."""
    from bot.sentiment.defaults import ENV, default_recipe
    from bot.sentiment.model import describe
    from bot.sentiment.training import INTERIM, RECIPES, ensure_model, is_built

    if os.environ.get(ENV):
        print(f"sentiment: serving {os.environ[ENV]} (from {ENV})", flush=True)
        return SentimentChoice(None)
    wanted = default_recipe()
    if is_built(settings.models_dir, wanted) or wanted.name == INTERIM:
        path = ensure_model(settings.models_dir, wanted)
        print(f"sentiment: serving {describe(path)}", flush=True)
        return SentimentChoice(path)
    interim = ensure_model(settings.models_dir, RECIPES[INTERIM])
    print(
        f"sentiment: serving the quick model {describe(interim)} until the better '{wanted.name}' one, built in "
        f"the background once the assistant is up, takes over by itself",
        flush=True,
    )
    return SentimentChoice(interim, better=wanted)


def ensure_personalization(settings: Settings) -> None:
    """Demo behaviour, segments and a recommender model, each made once when missing.

    Later refreshes are explicit (`tandem recs segments`, `tandem recs train`) and picked up live."""
    from sqlalchemy import func, select

    from bot.db.models import CustomerSegment
    from bot.db.session import session_scope
    from bot.personalization.demo_behaviour import has_behaviour, seed_demo_behaviour
    from bot.personalization.jobs.recommender_training import train
    from bot.personalization.jobs.segment_refresh import refresh_segments
    from bot.personalization.model_store import current_version

    with session_scope(settings.database_url) as session:
        if not has_behaviour(session):
            print(f"demo behaviour: {seed_demo_behaviour(session)}", flush=True)
    with session_scope(settings.database_url) as session:
        if session.execute(select(func.count()).select_from(CustomerSegment)).scalar_one() == 0:
            print(f"segments: {refresh_segments(session, progress=True)}", flush=True)
    if current_version(settings.models_dir) is None:
        with session_scope(settings.database_url) as session:
            bundle = train(session, settings.models_dir, progress=True)
        print(f"personalization model: {bundle.version}", flush=True)


def ensure_console_admin(settings: Settings) -> None:
    """A first admin for the agent console, so a fresh machine can sign in; its password is printed once and kept
    (0600) in the state folder. Later agents: `tandem agents create`."""
    import secrets

    from sqlalchemy import func, select

    from bot.console.agents import create_agent
    from bot.db.models import Agent
    from bot.db.session import session_scope
    from bot.handoff.routing import default_rules

    with session_scope(settings.database_url) as session:
        if session.execute(select(func.count()).select_from(Agent)).scalar_one():
            return
        password = secrets.token_urlsafe(12)
        create_agent(session, "admin", "Console admin", password, role="admin", known_queues=default_rules().queue_keys)
    path = settings.state_dir / "console-admin-password"
    path.write_text(password + "\n")
    path.chmod(0o600)
    print(f"agent console: sign in as `admin` with password {password} (also in {path})", flush=True)


def log_to_file(path: Path) -> None:
    """Warnings and log records raised in `up` itself (PyTorch, transformers and ONNX Runtime while a model is
    built) go to a file: the terminal keeps a line per stage."""
    path.parent.mkdir(parents=True, exist_ok=True)
    logging.captureWarnings(True)
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)


def up(seed_customers: int = 1000, rasa_port: int = 5005, actions_port: int = 5055) -> int:
    """The whole assistant on this machine, until a signal stops it (`tandem down` sends one)."""
    stop_on_signals()  # from the first step: a long first run (install, training) can be stopped too
    settings = get_settings()
    log_to_file(settings.state_dir / "logs" / "up.log")
    try:
        run_lock.claim(settings.state_dir)
        run_lock.check_ports(
            [
                ("rasa", "0.0.0.0", rasa_port),
                ("the action server", "0.0.0.0", actions_port),
                ("the shop page", settings.web_host, settings.web_port),
                ("the agent console", settings.console_host, settings.console_port),
            ]
        )
    except (run_lock.AlreadyRunning, run_lock.PortBusy) as exc:
        raise StackError(str(exc)) from None
    try:
        return _prepare_and_run(settings, seed_customers, rasa_port, actions_port)
    finally:
        run_lock.release(settings.state_dir)


def prepare(settings: Settings, env: dict[str, str], seed_customers: int) -> tuple[Path, SentimentChoice]:
    """The database migrated and seeded, the demo's personalization, a console admin, and the Rasa model."""
    from sqlalchemy.engine import make_url

    from bot.db.migrate import upgrade
    from bot.db.session import session_scope
    from bot.shop.seed import ShopAlreadySeeded, seed_shop

    print(f"database: {make_url(settings.database_url).render_as_string(hide_password=True)}", flush=True)
    upgrade(settings.database_url)
    try:
        with session_scope(settings.database_url) as session:
            summary = seed_shop(session, customers=seed_customers, progress=True)
        print(f"seeded the demo shop: {summary}", flush=True)
    except ShopAlreadySeeded:
        print("the demo shop is already seeded", flush=True)
    ensure_personalization(settings)
    ensure_console_admin(settings)
    sentiment = choose_sentiment_model(settings)
    # Rasa's own output while it trains (hundreds of lines, most of them its dependencies' warnings) goes to a
    # log file; the terminal gets one line when it starts and one when it is done.
    model = train_if_changed(
        settings.models_dir, env=env, log=settings.state_dir / "train.log", sentiment_model=sentiment.serving
    )
    from bot.model_release.service import model_at_start

    # The published model serves; a model of data the registry has not seen yet is published as it starts.
    model = model_at_start(settings.models_dir, model, by="tandem up", sentiment_model=sentiment.serving)
    return model, sentiment


def sentiment_upgrade(
    settings: Settings, sentiment: SentimentChoice, env: dict[str, str], rasas: Sequence[Service], urls: Sequence[str]
) -> list[Background]:
    """The better sentiment model, built once the assistant is up and loaded into every Rasa (`rasas` at `urls`)."""
    if sentiment.better is None:
        return []
    from bot.sentiment_upgrade import SentimentUpgrade

    def swapped(model: Path) -> None:
        for rasa in rasas:
            use_model(rasa, model)

    return [SentimentUpgrade(settings, sentiment.better, env, urls, on_swapped=swapped)]


def _prepare_and_run(settings: Settings, seed_customers: int, rasa_port: int, actions_port: int) -> int:
    env = child_env(settings)
    model, sentiment = prepare(settings, env, seed_customers)
    # endpoints.yml reads these; without them Rasa would miss the chosen actions port, or fail to open
    # a tracker database outside the state folder and keep conversations only in memory.
    env.setdefault("TANDEM_ACTION_ENDPOINT_URL", f"http://127.0.0.1:{actions_port}/webhook")
    env.setdefault("TANDEM_TRACKER_DB", str(settings.state_dir / "rasa_tracker.db"))
    env.setdefault("TANDEM_EVENTS_DB", str(settings.state_dir / EVENTS_DB_FILE))  # its SQL event broker
    env.setdefault("TANDEM_RASA_URL", f"http://127.0.0.1:{rasa_port}")
    endpoints = os.environ.get("TANDEM_ENDPOINTS", "endpoints.yml")
    credentials = os.environ.get("TANDEM_CREDENTIALS", "credentials.yml")
    service_list = services(settings, model, endpoints, rasa_port, actions_port, credentials)
    rasa = [service for service in service_list if service.name == "rasa"]
    serve_published(rasa, settings.models_dir)
    return supervise(
        service_list,
        env,
        f"\nTandem is running. Open http://{settings.web_host}:{settings.web_port}/ and chat; agents work in "
        f"http://{settings.console_host}:{settings.console_port}/ (create one with `./tandem agents create`). "
        f"Ctrl-C (or `./tandem down`) stops everything.\n",
        state_dir=settings.state_dir,
        background=sentiment_upgrade(settings, sentiment, env, rasa, [env["TANDEM_RASA_URL"]]),
    )
