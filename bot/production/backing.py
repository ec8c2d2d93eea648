"""The production profile's own PostgreSQL, Redis and RabbitMQ, as supervised processes with data in the state folder.

A shop with managed services gives their addresses instead (docs/deploy.md); these are for one machine, bound to
the loopback interface, on ports of their own so that the machine's own services are left alone.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from bot.production.layout import Layout
from bot.stack import Service, StackError

POSTGRES_USER = "tandem"
DATABASES = ("tandem", "tandem_tracker")  # the shop and the journeys; Rasa's tracker store
RABBITMQ_USER = "guest"  # RabbitMQ's default user, which it accepts only from the loopback interface


@dataclass(frozen=True)
class Addresses:
    """How Tandem's processes reach the three services (one set of environment variables for all of them)."""

    database_url: str
    tracker: dict[str, str]  # host, port, name, user, password: Rasa's SQL tracker store settings
    redis_host: str
    redis_port: int
    broker_host: str
    broker_port: int
    broker_user: str
    broker_password: str

    def env(self) -> dict[str, str]:
        """The variables config/endpoints.production.yml, credentials.production.yml and the settings read."""
        redis = f"redis://{self.redis_host}:{self.redis_port}"
        return {
            "TANDEM_DATABASE_URL": self.database_url,
            **{f"TANDEM_TRACKER_DB_{key.upper()}": value for key, value in self.tracker.items()},
            "TANDEM_REDIS_HOST": self.redis_host,
            "TANDEM_REDIS_PORT": str(self.redis_port),
            "TANDEM_REDIS_URL": f"{redis}/0",  # rate limits (the lock store uses db 1)
            "TANDEM_SOCKET_REDIS_URL": f"{redis}/2",
            "TANDEM_BROKER_HOST": self.broker_host,
            "TANDEM_BROKER_PORT": str(self.broker_port),
            "TANDEM_BROKER_USER": self.broker_user,
            "TANDEM_BROKER_PASSWORD": self.broker_password,
        }


def _run_as() -> str | None:
    """PostgreSQL refuses to run as root: as root, its files and process belong to the `postgres` user."""
    return "postgres" if os.geteuid() == 0 else None


def postgres_bin() -> Path:
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name), reverse=True)
    found = shutil.which("initdb")
    if found:
        candidates.append(Path(found).parent)
    for candidate in candidates:
        if (candidate / "initdb").exists() and (candidate / "postgres").exists():
            return candidate
    raise StackError("PostgreSQL's server is not installed (Debian: `apt-get install postgresql`)")


def postgres_password(layout: Layout) -> str:
    """Made once, kept readable only by its owner."""
    path = layout.root / "postgres-password"
    if not path.exists():
        layout.root.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(24) + "\n")
    return path.read_text().strip()


def init_postgres(layout: Layout) -> Path:
    """A new cluster (password authentication) on the first start; the existing one afterwards."""
    data = layout.root / "postgres"
    if (data / "PG_VERSION").exists():
        return data
    user = _run_as()
    data.mkdir(parents=True, exist_ok=True)
    data.chmod(0o700)
    password_file = layout.root / "postgres-initdb-password"
    password_file.write_text(postgres_password(layout) + "\n")
    try:
        if user is not None:
            shutil.chown(data, user)
            shutil.chown(password_file, user)
        print("postgresql: creating its cluster (first start)", flush=True)
        result = subprocess.run(
            [str(postgres_bin() / "initdb"), "-D", str(data), "-U", POSTGRES_USER, "--pwfile", str(password_file)]
            + ["-A", "scram-sha-256", "-E", "UTF8", "--locale", "C.UTF-8", "--no-instructions"],
            capture_output=True,
            text=True,
            user=user,
        )
    finally:
        password_file.unlink(missing_ok=True)
    if result.returncode != 0:
        shutil.rmtree(data, ignore_errors=True)
        raise StackError(f"initdb failed: {result.stderr.strip()[-800:]}")
    return data


def postgres_service(layout: Layout) -> Service:
    data = init_postgres(layout)
    command = [str(postgres_bin() / "postgres"), "-D", str(data), "-p", str(layout.ports.postgres)]
    command += ["-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={data}"]
    return Service("postgresql", command, f"tcp://127.0.0.1:{layout.ports.postgres}", user=_run_as())


def create_databases(layout: Layout) -> None:
    """The shop's and the tracker store's databases, once (PostgreSQL must be up)."""
    import psycopg2

    connection = psycopg2.connect(
        host="127.0.0.1",
        port=layout.ports.postgres,
        user=POSTGRES_USER,
        password=postgres_password(layout),
        dbname="postgres",
    )
    try:
        connection.autocommit = True  # CREATE DATABASE cannot run in a transaction
        with connection.cursor() as cursor:
            for name in DATABASES:
                cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
                if cursor.fetchone() is None:
                    cursor.execute(f'CREATE DATABASE "{name}"')
    finally:
        connection.close()


def redis_service(layout: Layout) -> Service:
    """Locks, the socket manager's messages and rate-limit buckets: nothing that must outlive a restart."""
    data = layout.root / "redis"
    data.mkdir(parents=True, exist_ok=True)
    binary = shutil.which("redis-server")
    if binary is None:
        raise StackError("Redis is not installed (Debian: `apt-get install redis-server`)")
    command = [binary, "--port", str(layout.ports.redis), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    command += ["--dir", str(data), "--daemonize", "no"]
    return Service("redis", command, f"tcp://127.0.0.1:{layout.ports.redis}")


def rabbitmq_service(layout: Layout) -> Service:
    """A RabbitMQ node of its own (its own name, ports, files and Erlang cookie), beside the machine's."""
    binary = Path("/usr/lib/rabbitmq/bin/rabbitmq-server")  # Debian's wrapper in /usr/sbin would switch user
    if not binary.exists():
        found = shutil.which("rabbitmq-server")
        if found is None:
            raise StackError("RabbitMQ is not installed (Debian: `apt-get install rabbitmq-server`)")
        binary = Path(found)
    home = layout.root / "rabbitmq"
    home.mkdir(parents=True, exist_ok=True)
    (home / "rabbitmq.conf").write_text(
        f"listeners.tcp.1 = 127.0.0.1:{layout.ports.rabbitmq}\n"
        # Its default (50 MB free) would stop publishers on a nearly full disk before the machine's own checks do.
        "disk_free_limit.absolute = 50MB\n"
    )
    (home / "enabled_plugins").write_text("[].\n")
    env = {
        "HOME": str(home),  # its Erlang cookie
        "RABBITMQ_NODENAME": f"tandem{layout.ports.rabbitmq}@localhost",
        "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
        "RABBITMQ_NODE_PORT": str(layout.ports.rabbitmq),
        "RABBITMQ_DIST_PORT": str(layout.ports.rabbitmq_dist),
        "RABBITMQ_CONFIG_FILE": str(home / "rabbitmq.conf"),
        "RABBITMQ_ENABLED_PLUGINS_FILE": str(home / "enabled_plugins"),
        "RABBITMQ_MNESIA_BASE": str(home / "mnesia"),
        "RABBITMQ_LOG_BASE": str(home / "log"),
        "RABBITMQ_PID_FILE": str(home / "rabbitmq.pid"),
    }
    return Service("rabbitmq", [str(binary)], f"tcp://127.0.0.1:{layout.ports.rabbitmq}", env=env)


def own_addresses(layout: Layout) -> Addresses:
    password = postgres_password(layout)
    return Addresses(
        database_url=(
            f"postgresql+psycopg2://{POSTGRES_USER}:{password}@127.0.0.1:{layout.ports.postgres}/{DATABASES[0]}"
        ),
        tracker={
            "host": "127.0.0.1",
            "port": str(layout.ports.postgres),
            "name": DATABASES[1],
            "user": POSTGRES_USER,
            "password": password,
        },
        redis_host="127.0.0.1",
        redis_port=layout.ports.redis,
        broker_host="127.0.0.1",
        broker_port=layout.ports.rabbitmq,
        broker_user=RABBITMQ_USER,
        broker_password=RABBITMQ_USER,
    )


def backing_services(layout: Layout) -> list[Service]:
    return [postgres_service(layout), redis_service(layout), rabbitmq_service(layout)]
