"""Where the production profile's pieces live: its ports, its state folder, its public address."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Ports:
    """Every port of the profile, counted from the public one (one flag moves them all)."""

    public: int = 8080  # nginx: the shop page, the widget's socket, the REST channel, Rasa's API, the console
    actions_balancer: int = 8081  # nginx, loopback only: Rasa's calls to the action servers
    shop: int = 8082
    console: int = 8083
    postgres: int = 8084
    redis: int = 8085
    rabbitmq: int = 8086
    rabbitmq_dist: int = 8087  # Erlang distribution (rabbitmqctl); loopback only
    rasa: tuple[int, ...] = (8090, 8091)
    actions: tuple[int, ...] = (8100, 8101)

    SPAN = 30  # ports from the public one: at most 10 instances of each

    @classmethod
    def from_public(cls, public: int = 8080, instances: int = 2) -> Ports:
        return cls(
            public=public,
            actions_balancer=public + 1,
            shop=public + 2,
            console=public + 3,
            postgres=public + 4,
            redis=public + 5,
            rabbitmq=public + 6,
            rabbitmq_dist=public + 7,
            rasa=tuple(public + 10 + i for i in range(instances)),
            actions=tuple(public + 20 + i for i in range(instances)),
        )

    def named(self) -> list[tuple[str, int]]:
        """Each port with what listens on it (for the message when one is taken)."""
        return [
            ("nginx (the public address)", self.public),
            ("nginx (to the action servers)", self.actions_balancer),
            ("the shop page", self.shop),
            ("the agent console", self.console),
            ("postgresql", self.postgres),
            ("redis", self.redis),
            ("rabbitmq", self.rabbitmq),
            ("rabbitmq (distribution)", self.rabbitmq_dist),
            *((f"rasa {i + 1}", port) for i, port in enumerate(self.rasa)),
            *((f"action server {i + 1}", port) for i, port in enumerate(self.actions)),
        ]


@dataclass(frozen=True)
class Layout:
    root: Path  # <state folder>/production: the databases' files, nginx's configuration
    ports: Ports
    listen_host: str = "0.0.0.0"
    public_host: str = "localhost"  # as customers' browsers reach nginx

    @property
    def public_url(self) -> str:
        return f"http://{self.public_host}:{self.ports.public}"

    @property
    def internal_url(self) -> str:
        """nginx from this machine: the console's and the scheduler's way to Rasa's API."""
        return f"http://127.0.0.1:{self.ports.public}"
