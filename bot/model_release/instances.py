"""The running Rasa servers a publish loads a model into: those `tandem up` (one) or `tandem up --production`
(several) recorded in the state folder (bot.run_lock's up.json, each Rasa named `rasa` or `rasa N`), or the
addresses given. Each is asked and told through Rasa's HTTP API (bot.rasa_api)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from bot import rasa_api, run_lock
from bot.rasa_api import RasaUnavailable


class InstanceFailed(RuntimeError):
    """A Rasa server did not load the model, or does not say it serves it; names the server."""


@dataclass(frozen=True)
class RasaInstance:
    name: str
    url: str  # http://host:port, where its HTTP API answers


def _is_rasa(name: str) -> bool:
    return name == "rasa" or (name.startswith("rasa ") and name[5:].isdigit())


def recorded_instances(state_dir: Path) -> list[RasaInstance]:
    """The Rasa servers of the `tandem up` running with this state folder (none when it is not running)."""
    record = run_lock.read(state_dir)
    if record is None or not record.ours(record.pid):
        return []
    found = []
    for service in record.services:
        if _is_rasa(service.name) and service.health_url:
            parts = urlsplit(service.health_url)
            found.append(RasaInstance(service.name, f"{parts.scheme}://{parts.netloc}"))
    return found


def given_instances(urls: list[str]) -> list[RasaInstance]:
    """Servers named by address (a platform that runs Rasa under its own supervisor)."""
    return [RasaInstance(f"rasa at {url.rstrip('/')}", url.rstrip("/")) for url in urls]


def served_model(instance: RasaInstance, token: str | None, timeout: float = 10.0) -> str | None:
    """The file name of the model the server serves (None: no model loaded)."""
    try:
        status = rasa_api.call(instance.url, token, timeout, lambda api: api.status())
    except RasaUnavailable as exc:
        raise InstanceFailed(f"{instance.name} did not say what it serves ({exc})") from exc
    model = status.get("model_file")
    return Path(str(model)).name if model else None


def load_model(instance: RasaInstance, token: str | None, model: Path, timeout: float) -> None:
    """The server serves `model` once this returns: it loads it before it answers again (`PUT /model`), and says
    so (`GET /status`). Messages in flight finish on the old model; the next ones wait for the new one."""
    try:
        rasa_api.call(instance.url, token, timeout, lambda api: api.replace_model(model, timeout=timeout))
    except RasaUnavailable as exc:
        raise InstanceFailed(f"{instance.name} did not load {model.name} ({exc})") from exc
    serving = served_model(instance, token)
    if serving != model.name:
        raise InstanceFailed(f"{instance.name} serves {serving} after loading {model.name}")
