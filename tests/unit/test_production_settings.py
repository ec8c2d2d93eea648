"""The production profile starts only with a secret key and a Rasa API token given explicitly, from the
environment or from files only their owner can read; every process that holds them checks at its start."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot import rasa_cli
from bot.cli import main as tandem_main
from bot.settings import ConfigError, get_settings, load_settings

ROOT = Path(__file__).resolve().parents[2]
KEY = "k" * 48
TOKEN = "rasa-token-0123456789"


def production(tmp_path: Path, **env: str) -> dict[str, str]:
    return {"TANDEM_PROFILE": "production", "TANDEM_STATE_DIR": str(tmp_path), **env}


def secret_file(tmp_path: Path, name: str, text: str, mode: int) -> str:
    path = tmp_path / name
    path.write_text(text + "\n")
    path.chmod(mode)
    return str(path)


def test_production_without_secrets_refuses_and_says_which(tmp_path):
    with pytest.raises(ConfigError) as refused:
        load_settings(production(tmp_path))
    assert "TANDEM_SECRET_KEY or TANDEM_SECRET_KEY_FILE" in str(refused.value)
    assert "TANDEM_RASA_TOKEN or TANDEM_RASA_TOKEN_FILE" in str(refused.value)
    assert not (tmp_path / "secret_key").exists()  # nothing made up on disk


@pytest.mark.parametrize(
    ("env", "reason"),
    [
        ({"TANDEM_SECRET_KEY": KEY}, "a Rasa API token"),
        ({"TANDEM_RASA_TOKEN": TOKEN}, "a secret key"),
        ({"TANDEM_SECRET_KEY": "short", "TANDEM_RASA_TOKEN": TOKEN}, "at least 32 characters"),
        ({"TANDEM_SECRET_KEY": KEY, "TANDEM_RASA_TOKEN": "short"}, "at least 16 characters"),
        ({"TANDEM_SECRET_KEY": KEY, "TANDEM_RASA_TOKEN": KEY}, "must not be the secret key"),
    ],
)
def test_production_needs_both_secrets_strong_and_distinct(tmp_path, env, reason):
    with pytest.raises(ConfigError, match=reason):
        load_settings(production(tmp_path, **env))


def test_production_takes_secrets_from_the_environment_and_uses_them_as_given(tmp_path):
    settings = load_settings(production(tmp_path, TANDEM_SECRET_KEY=KEY, TANDEM_RASA_TOKEN=TOKEN))
    assert settings.profile == "production"
    assert settings.secret_key == KEY and settings.rasa_api_token == TOKEN


def test_production_takes_secrets_from_files_only_their_owner_can_read(tmp_path):
    env = production(
        tmp_path,
        TANDEM_SECRET_KEY_FILE=secret_file(tmp_path, "key", KEY, 0o600),
        TANDEM_RASA_TOKEN_FILE=secret_file(tmp_path, "token", TOKEN, 0o400),
    )
    settings = load_settings(env)
    assert settings.secret_key == KEY and settings.rasa_api_token == TOKEN  # the newline is not part of it


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o660, 0o610])
def test_a_secret_file_open_to_group_or_others_is_refused(tmp_path, mode):
    path = secret_file(tmp_path, "key", KEY, mode)
    env = production(tmp_path, TANDEM_SECRET_KEY_FILE=path, TANDEM_RASA_TOKEN=TOKEN)
    with pytest.raises(ConfigError, match=f"open to group or others.*chmod 600 {path}"):
        load_settings(env)


def test_a_missing_or_empty_secret_file_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        load_settings(production(tmp_path, TANDEM_SECRET_KEY_FILE=str(tmp_path / "nope"), TANDEM_RASA_TOKEN=TOKEN))
    empty = secret_file(tmp_path, "empty", "", 0o600)
    with pytest.raises(ConfigError, match="is empty"):
        load_settings(production(tmp_path, TANDEM_SECRET_KEY_FILE=empty, TANDEM_RASA_TOKEN=TOKEN))


def test_the_laptop_profile_still_makes_up_its_secrets(tmp_path):
    settings = load_settings({"TANDEM_STATE_DIR": str(tmp_path)})
    assert settings.profile == "development"
    assert (tmp_path / "secret_key").read_text() == settings.secret_key
    assert settings.rasa_api_token == settings.service_token("rasa-api")  # derived from the key


def test_an_unknown_profile_or_bad_setting_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="TANDEM_PROFILE must be one of development, production"):
        load_settings({"TANDEM_PROFILE": "prod", "TANDEM_STATE_DIR": str(tmp_path)})
    with pytest.raises(ConfigError, match="TANDEM_RATE_PER_ADDRESS must be a number"):
        load_settings({"TANDEM_RATE_PER_ADDRESS": "lots", "TANDEM_SECRET_KEY": KEY})
    with pytest.raises(ConfigError, match="'nginx' is not an IP address"):
        load_settings({"TANDEM_TRUSTED_PROXIES": "127.0.0.1, nginx", "TANDEM_SECRET_KEY": KEY})


def test_rate_limits_and_proxies_come_from_the_environment():
    settings = load_settings(
        {
            "TANDEM_SECRET_KEY": KEY,
            "TANDEM_RATE_PER_CUSTOMER": "5",
            "TANDEM_RATE_PER_ADDRESS": "0",
            "TANDEM_TRUSTED_PROXIES": "127.0.0.1, 10.0.0.0/8",
            "TANDEM_REDIS_URL": "redis://127.0.0.1:6379/2",
        }
    )
    assert (settings.rate_per_customer, settings.rate_per_address, settings.rate_login_per_address) == (5, 0, 10)
    assert settings.trusted_proxies == ("127.0.0.1", "10.0.0.0/8")
    assert settings.redis_url == "redis://127.0.0.1:6379/2"
    defaults = load_settings({"TANDEM_SECRET_KEY": KEY})
    assert (defaults.rate_per_customer, defaults.rate_per_address, defaults.rate_login_per_address) == (20, 60, 10)


@pytest.fixture
def production_env(monkeypatch, tmp_path):
    monkeypatch.setenv("TANDEM_PROFILE", "production")
    monkeypatch.setenv("TANDEM_STATE_DIR", str(tmp_path))
    monkeypatch.delenv("TANDEM_SECRET_KEY", raising=False)
    monkeypatch.delenv("TANDEM_RASA_TOKEN", raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.mark.parametrize("argv", [["run"], ["run", "actions"]])
def test_rasa_and_the_action_server_refuse_to_start_without_production_secrets(production_env, argv, capsys):
    with pytest.raises(SystemExit) as stopped:
        rasa_cli.main(argv)
    assert stopped.value.code == 2
    assert "configuration error: the production profile needs a secret key" in capsys.readouterr().err


def test_tandem_commands_refuse_with_the_reason_not_a_traceback(production_env, capsys):
    assert tandem_main(["journeys", "scheduler"]) == 2
    assert "error: configuration: the production profile needs" in capsys.readouterr().err


@pytest.mark.parametrize("module", ["bot.console", "bot.web.shop_site"])
def test_the_console_and_the_shop_page_refuse_to_start_without_production_secrets(tmp_path, module):
    env = {k: v for k, v in os.environ.items() if k not in ("TANDEM_SECRET_KEY", "TANDEM_RASA_TOKEN")}
    env.update(TANDEM_PROFILE="production", TANDEM_STATE_DIR=str(tmp_path), TANDEM_RASA_TOKEN=TOKEN)
    done = subprocess.run(
        [sys.executable, "-m", module], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2, done.stderr
    assert "configuration error: the production profile needs a secret key" in done.stderr
    assert "Traceback" not in done.stderr
