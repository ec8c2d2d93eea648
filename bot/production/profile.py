"""`tandem up --production`: the whole topology on one machine, under the same supervisor as `tandem up`.

Start order: PostgreSQL, Redis and RabbitMQ; then the database is migrated and seeded and the model trained as on
a laptop; then the action servers, the Rasa instances, the web apps, the scheduler and the insights consumer (from
RabbitMQ), and nginx in front. Every process is restarted with back-off when it dies; `tandem status` reports each
one.
"""

from __future__ import annotations

import os
from pathlib import Path

from bot import run_lock
from bot.production import backing, nginx
from bot.production.layout import Layout, Ports
from bot.settings import ConfigError, Settings, load_settings
from bot.stack import (
    Service,
    StackError,
    action_server,
    child_env,
    insights_consumer,
    log_to_file,
    log_to_files,
    prepare,
    rasa_server,
    sentiment_upgrade,
    serve_published,
    start,
    stop,
    stop_on_signals,
    supervise,
    web_apps,
)

ENDPOINTS = "config/endpoints.production.yml"
CREDENTIALS = "config/credentials.production.yml"
LOOPBACK = "127.0.0.1"


def production_settings(extra: dict[str, str] | None = None) -> Settings:
    """The settings every process of the profile reads; refuses without the secrets (bot.settings)."""
    try:
        return load_settings({**os.environ, "TANDEM_PROFILE": "production", **(extra or {})})
    except ConfigError as exc:
        raise StackError(
            f"{exc}. Make each once, readable only by you, for example:\n"
            "  umask 077; python3 -c 'import secrets; print(secrets.token_urlsafe(48))' > ~/.tandem-secret-key\n"
            "  umask 077; python3 -c 'import secrets; print(secrets.token_urlsafe(32))' > ~/.tandem-rasa-token\n"
            "and start with TANDEM_SECRET_KEY_FILE=~/.tandem-secret-key TANDEM_RASA_TOKEN_FILE=~/.tandem-rasa-token"
        ) from None


def profile_env(layout: Layout, addresses: backing.Addresses) -> dict[str, str]:
    """What differs from a laptop's `tandem up`: where everything is, as environment variables."""
    return {
        "TANDEM_PROFILE": "production",
        **addresses.env(),
        "TANDEM_ENDPOINTS": ENDPOINTS,
        "TANDEM_CREDENTIALS": CREDENTIALS,
        "TANDEM_ACTION_ENDPOINT_URL": f"http://127.0.0.1:{layout.ports.actions_balancer}/webhook",
        "TANDEM_RASA_URL": layout.internal_url,
        "TANDEM_RASA_PUBLIC_URL": layout.public_url,
        "TANDEM_TRUSTED_PROXIES": "127.0.0.1",  # nginx: the customer's address is in X-Forwarded-For
        # Behind nginx, on the loopback interface only.
        "TANDEM_WEB_HOST": LOOPBACK,
        "TANDEM_WEB_PORT": str(layout.ports.shop),
        "TANDEM_CONSOLE_HOST": LOOPBACK,
        "TANDEM_CONSOLE_PORT": str(layout.ports.console),
    }


def app_services(settings: Settings, layout: Layout, model: Path) -> list[Service]:
    ports = layout.ports
    # Behind nginx, like the shop page and the console: only nginx's address is reachable from outside.
    actions = [action_server(f"action server {i + 1}", port, LOOPBACK) for i, port in enumerate(ports.actions)]
    rasas = [
        rasa_server(f"rasa {i + 1}", model, port, ENDPOINTS, CREDENTIALS, LOOPBACK) for i, port in enumerate(ports.rasa)
    ]
    binary = nginx.ensure_nginx()
    config = nginx.render(layout)
    nginx.check(binary, config)
    return [
        *actions,
        *rasas,
        *web_apps(settings, layout.internal_url),
        insights_consumer("rabbitmq"),  # the queue every Rasa publishes to (config/endpoints.production.yml)
        nginx.nginx_service(binary, config, ports.public),
    ]


def up_production(
    seed_customers: int, ports: Ports, listen_host: str = "0.0.0.0", public_host: str = "localhost"
) -> int:
    """Runs until a signal stops it (`tandem down` sends one), like `tandem up`."""
    stop_on_signals()
    state_dir = production_settings().state_dir  # refuses early without the secrets
    layout = Layout(state_dir / "production", ports, listen_host, public_host)
    log_to_file(state_dir / "logs" / "up.log")
    try:
        run_lock.claim(state_dir)
        host = {ports.public: listen_host}
        run_lock.check_ports([(name, host.get(port, LOOPBACK), port) for name, port in ports.named()])
    except (run_lock.AlreadyRunning, run_lock.PortBusy) as exc:
        raise StackError(str(exc)) from None
    try:
        return _run(layout, seed_customers)
    finally:
        run_lock.release(state_dir)


def _run(layout: Layout, seed_customers: int) -> int:
    services = log_to_files(backing.backing_services(layout), layout.root.parent / "logs")
    addresses = backing.own_addresses(layout)
    extra = profile_env(layout, addresses)
    settings = production_settings(extra)
    env = {**child_env(settings), **extra}
    state_dir = settings.state_dir
    try:
        start(services, env, state_dir=state_dir)
        backing.create_databases(layout)
        model, sentiment = prepare(settings, env, seed_customers)
        apps = log_to_files(app_services(settings, layout, model), state_dir / "logs")
    except BaseException:
        stop(services)
        raise
    rasas = [service for service in apps if service.name.startswith("rasa ")]
    serve_published(rasas, settings.models_dir)
    rasa_urls = [f"http://127.0.0.1:{port}" for port in layout.ports.rasa]
    return supervise(
        services + apps,
        env,
        f"\nTandem (production profile) is running behind nginx at {layout.public_url}/ (the shop page and "
        f"its widget; Rasa's API with its token); agents work at http://console.{layout.public_host}:"
        f"{layout.ports.public}/. `./tandem status` shows every process; Ctrl-C (or `./tandem down`) stops them.\n",
        state_dir=state_dir,
        background=sentiment_upgrade(settings, sentiment, env, rasas, rasa_urls),
    )
