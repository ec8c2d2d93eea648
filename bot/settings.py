"""Configuration from environment variables, with embedded defaults for a laptop.

Every process (Rasa server, action server, web apps, CLI) reads the same variables, so production
settings (PostgreSQL, Redis, several instances) are configuration, never code. `TANDEM_PROFILE=production`
makes every process refuse to start without a secret key and a Rasa API token given explicitly (see
`production_secrets`); the laptop profile makes up both on first run.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import stat
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from bot.ratelimit import parse_networks

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PROFILES = ("development", "production")
MIN_SECRET_CHARS = 32
# What the chat promises for an erasure ("within 30 days", domain/privacy.yml); tests/privacy/test_due_dates.py
# keeps the two equal.
DEFAULT_ERASURE_DUE_DAYS = 30


class ConfigError(ValueError):
    """Settings a process cannot start with; the message names the variable and what to do."""


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
    tracker_db_url: str = ""  # Rasa's SQL tracker store (`tracker_db_url()`); "" when none is configured
    conversation_retention_days: float | None = None  # conversations idle longer are purged; None: kept
    erasure_due_days: int = DEFAULT_ERASURE_DUE_DAYS  # a privacy request is due this many days after it is made
    profile: str = "development"  # or "production": secrets must be given explicitly
    redis_url: str = ""  # shared rate-limit buckets across instances (empty: per process)
    rate_per_customer: int = 20  # messages a minute per customer (or anonymous conversation); 0: no limit
    rate_per_address: int = 60  # messages a minute per client address, every channel; 0: no limit
    rate_login_per_address: int = 10  # console sign-in attempts a minute per client address; 0: no limit
    trusted_proxies: tuple[str, ...] = ()  # peers whose X-Forwarded-For names the client

    def service_token(self, purpose: str) -> str:
        """A token for one internal purpose, derived from the installation's secret (no extra set-up)."""
        return hmac.new(self.secret_key.encode(), f"tandem:{purpose}".encode(), hashlib.sha256).hexdigest()

    @property
    def rasa_api_token(self) -> str:
        return self.rasa_token or self.service_token("rasa-api")


def read_secret_file(path: str, variable: str) -> str:
    """A secret from a file only its owner can read: refused when group or others have any access to it."""
    try:
        mode = os.stat(path).st_mode
        text = Path(path).read_text().strip()
    except OSError as exc:
        raise ConfigError(f"{variable}: cannot read {path}: {exc.strerror or exc}") from exc
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(
            f"{variable}: {path} is open to group or others (mode {stat.S_IMODE(mode):o}); "
            f"make it readable only by its owner: chmod 600 {path}"
        )
    if not text:
        raise ConfigError(f"{variable}: {path} is empty")
    return text


def explicit_secret(env: Mapping[str, str], variable: str) -> str | None:
    """`variable` from the environment, else from the file `<variable>_FILE` names; None when neither is set."""
    value = env.get(variable, "").strip()
    if value:
        return value
    path = env.get(f"{variable}_FILE", "").strip()
    return read_secret_file(path, f"{variable}_FILE") if path else None


def production_secrets(env: Mapping[str, str]) -> tuple[str, str]:
    """(secret key, Rasa API token) for the production profile: both given explicitly (environment or a private
    file), neither made up nor derived, the key long enough for HS256, and not the same value."""
    missing = []
    key = explicit_secret(env, "TANDEM_SECRET_KEY")
    token = explicit_secret(env, "TANDEM_RASA_TOKEN")
    if key is None:
        missing.append("a secret key (TANDEM_SECRET_KEY or TANDEM_SECRET_KEY_FILE)")
    if token is None:
        missing.append("a Rasa API token (TANDEM_RASA_TOKEN or TANDEM_RASA_TOKEN_FILE)")
    if missing:
        raise ConfigError("the production profile needs " + " and ".join(missing))
    assert key is not None and token is not None
    if len(key) < MIN_SECRET_CHARS:
        raise ConfigError(f"TANDEM_SECRET_KEY must be at least {MIN_SECRET_CHARS} characters in production")
    if len(token) < 16:
        raise ConfigError("TANDEM_RASA_TOKEN must be at least 16 characters in production")
    if key == token:
        raise ConfigError("TANDEM_RASA_TOKEN must not be the secret key")
    return key, token


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    return int(env_number(env, name, default))


def load_settings(env: Mapping[str, str]) -> Settings:
    """Settings from `env`; raises ConfigError when the profile's requirements are not met."""
    profile = env.get("TANDEM_PROFILE", "").strip().lower() or "development"
    if profile not in PROFILES:
        raise ConfigError(f"TANDEM_PROFILE must be one of {', '.join(PROFILES)}, got {profile!r}")
    state_dir = Path(env.get("TANDEM_STATE_DIR", PROJECT_ROOT / ".tandem"))
    if profile == "production":
        secret_key, rasa_token = production_secrets(env)
    else:
        secret_key = explicit_secret(env, "TANDEM_SECRET_KEY") or _default_secret(state_dir)
        rasa_token = explicit_secret(env, "TANDEM_RASA_TOKEN") or ""
    try:
        limits = {
            "rate_per_customer": _int(env, "TANDEM_RATE_PER_CUSTOMER", 20),
            "rate_per_address": _int(env, "TANDEM_RATE_PER_ADDRESS", 60),
            "rate_login_per_address": _int(env, "TANDEM_RATE_LOGIN_PER_ADDRESS", 10),
        }
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    proxies = tuple(p.strip() for p in env.get("TANDEM_TRUSTED_PROXIES", "").split(",") if p.strip())
    try:
        parse_networks(proxies)
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    web_port = int(env.get("TANDEM_WEB_PORT", "8000"))
    console_port = int(env.get("TANDEM_CONSOLE_PORT", "8001"))
    return Settings(
        state_dir=state_dir,
        models_dir=Path(env.get("TANDEM_MODELS_DIR", PROJECT_ROOT / "models")),
        database_url=env.get("TANDEM_DATABASE_URL", f"sqlite:///{state_dir / 'tandem.db'}"),
        secret_key=secret_key,
        token_ttl_seconds=int(env.get("TANDEM_TOKEN_TTL_SECONDS", "43200")),
        rasa_url=env.get("TANDEM_RASA_URL", "http://127.0.0.1:5005"),
        rasa_public_url=env.get("TANDEM_RASA_PUBLIC_URL", "http://localhost:5005"),
        web_host=env.get("TANDEM_WEB_HOST", "127.0.0.1"),
        web_port=web_port,
        max_message_chars=int(env.get("TANDEM_MAX_MESSAGE_CHARS", "5000")),
        console_host=env.get("TANDEM_CONSOLE_HOST", "127.0.0.1"),
        console_port=console_port,
        console_url=env.get("TANDEM_CONSOLE_URL", f"http://127.0.0.1:{console_port}"),
        rasa_token=rasa_token,
        asset_base_url=env.get("TANDEM_ASSET_BASE_URL", f"http://localhost:{web_port}/static/"),
        profile=profile,
        redis_url=env.get("TANDEM_REDIS_URL", "").strip(),
        trusted_proxies=proxies,
        tracker_db_url=tracker_db_url(env, state_dir),
        conversation_retention_days=retention_days(env),
        erasure_due_days=erasure_due_days(env),
        **limits,
    )


def settings_or_exit() -> Settings:
    """For a process's start: its settings, or the reason it cannot start on stderr and exit status 2."""
    try:
        return get_settings()
    except ConfigError as exc:
        print(f"tandem: configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def tracker_db_url(env: Mapping[str, str], state_dir: Path) -> str:
    """The SQLAlchemy URL of Rasa's SQL tracker store, read from the variables the endpoints files read.

    `TANDEM_TRACKER_DB_URL` wins; else `TANDEM_TRACKER_DB_HOST` (config/endpoints.production.yml: PostgreSQL
    from `TANDEM_TRACKER_DB_*`); else the SQLite file of endpoints.yml (`TANDEM_TRACKER_DB`, which `tandem up`
    sets to `rasa_tracker.db` in the state folder).
    """
    if env.get("TANDEM_TRACKER_DB_URL"):
        return env["TANDEM_TRACKER_DB_URL"]
    if env.get("TANDEM_TRACKER_DB_HOST"):
        from sqlalchemy.engine import URL

        port = env.get("TANDEM_TRACKER_DB_PORT")
        return URL.create(
            "postgresql+psycopg2",
            username=env.get("TANDEM_TRACKER_DB_USER") or None,
            password=env.get("TANDEM_TRACKER_DB_PASSWORD") or None,
            host=env["TANDEM_TRACKER_DB_HOST"],
            port=int(port) if port else None,
            database=env.get("TANDEM_TRACKER_DB_NAME") or None,
        ).render_as_string(hide_password=False)
    return f"sqlite:///{env.get('TANDEM_TRACKER_DB') or state_dir / 'rasa_tracker.db'}"


def retention_days(env: Mapping[str, str]) -> float | None:
    """`TANDEM_CONVERSATION_RETENTION_DAYS`: conversations idle longer are purged; unset, empty or 0: kept."""
    try:
        days = env_number(env, "TANDEM_CONVERSATION_RETENTION_DAYS", 0.0)
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    return days or None


def erasure_due_days(env: Mapping[str, str]) -> int:
    """`TANDEM_ERASURE_DUE_DAYS`: whole days an admin has to carry out a customer's privacy request (default 30,
    what the chat promises; a larger number breaks that promise)."""
    try:
        days = env_number(env, "TANDEM_ERASURE_DUE_DAYS", DEFAULT_ERASURE_DUE_DAYS, positive=True)
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    if days != int(days):
        raise ConfigError(f"TANDEM_ERASURE_DUE_DAYS must be a whole number of days, got {days:g}")
    return int(days)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings(os.environ)
