"""`python -m bot.console` (what `tandem up` starts): serves on TANDEM_CONSOLE_HOST:TANDEM_CONSOLE_PORT."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request
from pathlib import Path

from bot.processes import free_port, wait_until_answers

ROOT = Path(__file__).resolve().parents[2]


def test_the_module_serves_the_console_on_the_configured_port(tmp_path):
    db_url = f"sqlite:///{tmp_path / 'console.db'}"  # no schema needed for the login form
    port = free_port()
    env = {
        **os.environ,
        "TANDEM_CONSOLE_HOST": "127.0.0.1",
        "TANDEM_CONSOLE_PORT": str(port),
        "TANDEM_DATABASE_URL": db_url,
        "TANDEM_STATE_DIR": str(tmp_path),
    }
    log = tmp_path / "console.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot.console"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        wait_until_answers(f"http://127.0.0.1:{port}/healthz", process, timeout=30)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=5) as page:
            assert page.status == 200 and b"Sign in" in page.read()
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert "Traceback" not in log.read_text()
