"""Configuration from environment variables, with embedded defaults for a laptop.

Every process (Rasa server, action server, web apps, CLI) reads the same variables, so production
settings (PostgreSQL, Redis, several instances) are configuration, never code.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def env_number(env: Mapping[str, str], name: str, default: float, *, positive: bool = False) -> float:
    """A numeric setting from `env[name]`, or `default` when unset; a clear error names the variable when the
    value is not a number, is negative, or is zero where it must be positive."""
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise ValueError(f"{name} must be a number, got {raw!r}") from exc
    if value < 0 or (positive and value == 0):
        raise ValueError(f"{name} must be {'positive' if positive else 'non-negative'}, got {raw!r}")
    return value


def _state_dir() -> Path:
    return Path(os.environ.get("TANDEM_STATE_DIR", PROJECT_ROOT / ".tandem"))


def _default_secret(state_dir: Path) -> str:
    """A per-installation secret kept on disk, so tokens survive restarts without any set-up."""
    path = state_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    state_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key


@dataclass(frozen=True)
class Settings:
    state_dir: Path
    models_dir: Path
    database_url: str
    secret_key: str
    token_ttl_seconds: int
    rasa_url: str
    rasa_public_url: str
    web_host: str
    web_port: int
    max_message_chars: int
    console_host: str = "127.0.0.1"
    console_port: int = 8001
    console_url: str = "http://127.0.0.1:8001"  # where Rasa's process wakes the console's live feed
    rasa_token: str = ""  # Rasa's HTTP API token (`rasa run --auth-token`); derived from secret_key if unset
    asset_base_url: str = "http://localhost:8000/static/"  # product images in the widget's cards

    def service_token(self, purpose: str) -> str:
        """A token for one internal purpose, derived from the installation's secret (no extra set-up)."""
        return hmac.new(self.secret_key.encode(), f"tandem:{purpose}".encode(), hashlib.sha256).hexdigest()

    @property
    def rasa_api_token(self) -> str:
        return self.rasa_token or self.service_token("rasa-api")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    state_dir = _state_dir()
    web_port = int(os.environ.get("TANDEM_WEB_PORT", "8000"))
    console_port = int(os.environ.get("TANDEM_CONSOLE_PORT", "8001"))
    return Settings(
        state_dir=state_dir,
        models_dir=Path(os.environ.get("TANDEM_MODELS_DIR", PROJECT_ROOT / "models")),
        database_url=os.environ.get("TANDEM_DATABASE_URL", f"sqlite:///{state_dir / 'tandem.db'}"),
        secret_key=os.environ.get("TANDEM_SECRET_KEY") or _default_secret(state_dir),
        token_ttl_seconds=int(os.environ.get("TANDEM_TOKEN_TTL_SECONDS", "43200")),
        rasa_url=os.environ.get("TANDEM_RASA_URL", "http://127.0.0.1:5005"),
        rasa_public_url=os.environ.get("TANDEM_RASA_PUBLIC_URL", "http://localhost:5005"),
        web_host=os.environ.get("TANDEM_WEB_HOST", "127.0.0.1"),
        web_port=web_port,
        max_message_chars=int(os.environ.get("TANDEM_MAX_MESSAGE_CHARS", "5000")),
        console_host=os.environ.get("TANDEM_CONSOLE_HOST", "127.0.0.1"),
        console_port=console_port,
        console_url=os.environ.get("TANDEM_CONSOLE_URL", f"http://127.0.0.1:{console_port}"),
        rasa_token=os.environ.get("TANDEM_RASA_TOKEN", ""),
        asset_base_url=os.environ.get("TANDEM_ASSET_BASE_URL", f"http://localhost:{web_port}/static/"),
    )
