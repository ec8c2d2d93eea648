"""`tandem up`, the README's run command: it prepares everything, starts every process, and stops them all."""

from __future__ import annotations

import json
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from bot.identity import sign_customer
from tests.support.rasa_model import CACHE, ROOT, rasa_env, trained_model
from tests.support.servers import free_port

pytestmark = pytest.mark.slow


def _wait_for_line(log: Path, text: str, process: subprocess.Popen, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in log.read_text():
            return
        if process.poll() is not None:
            break
        time.sleep(0.5)
    raise AssertionError(f"`tandem up` never printed {text!r}:\n{log.read_text()[-4000:]}")


def _shows(cmdline: Path, text: str) -> bool:
    try:
        return text.encode() in cmdline.read_bytes()
    except OSError:  # the process ended meanwhile
        return False


def _up_env(state: Path, web_port: int, console_port: int, **extra: str) -> dict:
    """The environment of an `up` with its own state folder and ports, and the tests' trained models."""
    return rasa_env(
        {
            "TANDEM_STATE_DIR": str(state),
            "TANDEM_MODELS_DIR": str(CACHE),
            "TANDEM_DATABASE_URL": f"sqlite:///{state / 'shop.db'}",
            "TANDEM_WEB_PORT": str(web_port),
            "TANDEM_CONSOLE_PORT": str(console_port),
            **extra,
        }
    )


def _start_up(env: dict, log: Path, rasa_port: int, actions_port: int, **popen: object) -> subprocess.Popen:
    with log.open("w") as out:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bot.cli",
                "up",
                "--customers",
                "30",
                "--rasa-port",
                str(rasa_port),
                "--actions-port",
                str(actions_port),
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            **popen,
        )


def test_tandem_up_runs_the_assistant_and_stops_cleanly(tmp_path: Path):
    trained_model()  # `up` finds the model by fingerprint and skips training
    rasa_port, actions_port, web_port, console_port = free_port(), free_port(), free_port(), free_port()
    state = tmp_path / "state"  # the project's own endpoints.yml, as a user runs it
    env = _up_env(state, web_port, console_port, TANDEM_RASA_PUBLIC_URL=f"http://127.0.0.1:{rasa_port}")
    log = tmp_path / "up.log"
    # as `./tandem up &` starts it: a background job's SIGINT is ignored until `up` takes it back
    process = _start_up(
        env, log, rasa_port, actions_port, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)
    )
    try:
        _wait_for_line(log, "Tandem is running", process)
        output = log.read_text()
        assert "seeded the demo shop" in output and "is up to date" in output
        assert f"http://127.0.0.1:{web_port}/" in output
        # The agent console runs too, with a first admin whose password is printed once and kept.
        assert "agent console: sign in as `admin`" in output
        assert len((state / "console-admin-password").read_text().strip()) >= 10
        with urllib.request.urlopen(f"http://127.0.0.1:{console_port}/login") as login:
            assert "password" in login.read().decode().lower()
        # Rasa's HTTP API needs the token `up` gave it.
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"http://127.0.0.1:{rasa_port}/conversations/x/tracker", timeout=10)
        assert refused.value.code == 401
        # `tandem rasa-token` prints the one it takes, and no process's arguments show it.
        token = subprocess.run(
            [sys.executable, "-m", "bot.cli", "rasa-token"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        with urllib.request.urlopen(
            f"http://127.0.0.1:{rasa_port}/conversations/x/tracker?token={token}", timeout=10
        ) as tracker:
            assert tracker.status == 200
        assert not [p for p in Path("/proc").glob("[0-9]*/cmdline") if _shows(p, token)]

        with urllib.request.urlopen(f"http://127.0.0.1:{web_port}/") as page:
            assert "CUST-00001" in page.read().decode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{rasa_port}/webhooks/tandem/webhook",
            data=json.dumps(
                {
                    "sender": "up-smoke",
                    "message": "where is my order TD000001?",
                    "metadata": {"customer_token": sign_customer("CUST-00001")},
                }
            ).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as reply:
            answer = " ".join(m.get("text", "") for m in json.loads(reply.read()))
        assert "TD000001" in answer
        # The conversation is kept in the state folder's tracker database, not only in memory.
        with sqlite3.connect(state / "rasa_tracker.db") as db:
            assert db.execute("SELECT count(*) FROM events WHERE sender_id = 'up-smoke'").fetchone()[0] > 0
    finally:
        process.send_signal(signal.SIGINT)  # what Ctrl-C or a supervisor sends
        assert process.wait(timeout=60) == 0
    # Every child went down with it: nothing answers on the ports any more.
    for port in (rasa_port, actions_port, web_port, console_port):
        with pytest.raises(OSError):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2)


def _json(url: str, payload: dict | None = None, timeout: float = 60) -> dict:
    data = json.dumps(payload).encode() if payload is not None else None
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


def test_a_first_run_answers_with_the_quick_sentiment_model_and_the_better_one_takes_over_live(tmp_path: Path):
    """No build of the sentiment recipe asked for yet (here `tiny`, seconds to build): `up` serves the quick one,
    builds the asked-for one in the background with progress in the terminal, and swaps it into the running Rasa
    (same process, same port) by itself."""
    from bot.sentiment.defaults import ENV as SENTIMENT_ENV
    from bot.sentiment.defaults import RECIPE_ENV
    from bot.sentiment.training import RECIPES, model_dir

    first = trained_model()  # the Rasa model with the quick (`small`) build: `up` starts without training
    shutil.rmtree(model_dir(CACHE, RECIPES["tiny"]), ignore_errors=True)
    rasa_port, actions_port, web_port, console_port = free_port(), free_port(), free_port(), free_port()
    state = tmp_path / "state"
    env = _up_env(state, web_port, console_port, **{RECIPE_ENV: "tiny"})
    del env[SENTIMENT_ENV]  # nothing named: `up` chooses
    log = tmp_path / "up.log"
    process = _start_up(env, log, rasa_port, actions_port)
    try:
        _wait_for_line(log, "Tandem is running", process)
        output = log.read_text()
        assert "sentiment: serving the quick model 'small' (held-out macro-F1" in output
        # Short and readable: a line per stage and per service; the processes' own output goes to their logs.
        assert len(output.splitlines()) < 40 and "Warning" not in output, output
        assert "Starting action endpoint server" in (state / "logs" / "action-server.log").read_text()
        token = subprocess.run(
            [sys.executable, "-m", "bot.cli", "rasa-token"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        api = f"http://127.0.0.1:{rasa_port}"
        assert _json(f"{api}/status?token={token}")["model_file"].endswith(first.name)
        assert _json(f"{api}/model/parse?token={token}", {"text": "this is awful"})["sentiment"]["label"]

        _wait_for_line(log, "sentiment: the better model 'tiny'", process, timeout=420)
        output = log.read_text()
        assert "sentiment: building 'tiny': " in output and "steps" in output  # progress, in the terminal
        assert "serves now" in output, output[-3000:]
        swapped = _json(f"{api}/status?token={token}")["model_file"]
        assert not swapped.endswith(first.name)  # the same server serves another model: no restart
        assert (CACHE / Path(swapped).name).exists()
        assert "label" in _json(f"{api}/model/parse?token={token}", {"text": "thanks, great help"})["sentiment"]
        assert process.poll() is None
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0
