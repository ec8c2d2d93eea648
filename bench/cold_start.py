"""Time from a fresh clone to the first answered message with sentiment, split into stages (issue 14).

Clones this repository (what is committed: commit first) into a temporary folder and runs the README's
`./tandem up` there, with nothing under `models/`, `.tandem/`, `.venv` or the user's cache, on ports of its own. Stages are
timed by the lines `up` prints as they appear; then one message goes through the REST channel, and the
parse of a message must carry a sentiment. `--wait-for-upgrade` also times the better sentiment model
taking over in the background.

    python bench/cold_start.py [--wait-for-upgrade] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.processes import free_port  # noqa: E402

# (stage, the line of `tandem up` that ends it); in the order they happen.
STAGES: list[tuple[str, str]] = [
    ("install (venv, dependencies)", "database: "),
    ("database, demo shop, recommender", "agent console: sign in"),
    ("sentiment model build", "sentiment: serving"),
    ("rasa train", "trained in"),
    ("start-up (all processes healthy)", "Tandem is running"),
]
UPGRADED = "serves now"


class Watched:
    """The lines of a running process with the time each appeared, read in a thread."""

    def __init__(self, process: subprocess.Popen, started: float) -> None:
        self.lines: list[tuple[float, str]] = []
        self._started = started
        self._thread = threading.Thread(target=self._read, args=(process,), daemon=True)
        self._thread.start()

    def _read(self, process: subprocess.Popen) -> None:
        for raw in process.stdout:  # type: ignore[union-attr]
            line = raw.decode(errors="replace").rstrip()
            self.lines.append((time.monotonic() - self._started, line))
            print(f"  | {line}", flush=True)

    def when(self, text: str) -> float | None:
        return next((at for at, line in self.lines if text in line), None)


def _post(url: str, payload: dict, timeout: float = 60) -> object:
    request = urllib.request.Request(
        url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


def first_answer(rasa_port: int, deadline: float) -> str:
    url = f"http://127.0.0.1:{rasa_port}/webhooks/tandem/webhook"
    while time.monotonic() < deadline:
        try:
            messages = _post(url, {"sender": "cold-start", "message": "hi, where is my order?", "metadata": {}})
            if messages:
                return " ".join(m.get("text") or "" for m in messages)  # type: ignore[union-attr]
        except (urllib.error.URLError, OSError, ValueError):
            pass
        time.sleep(1.0)
    raise SystemExit("no answer before the deadline")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--wait-for-upgrade", action="store_true", help="also time the better sentiment model")
    parser.add_argument("--keep", action="store_true", help="keep the clone (its .tandem/ has the logs)")
    parser.add_argument("--timeout", type=float, default=3600.0)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="tandem-cold-"))
    clone = workdir / "tandem"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=clone, capture_output=True, text=True
    ).stdout.strip()
    ports = {"rasa": free_port(), "actions": free_port()}
    env: dict[str, str] = {k: v for k, v in os.environ.items() if not k.startswith(("TANDEM_", "VIRTUAL_ENV"))}
    # A cache of its own too, as a fresh machine has (pip's, and the sentence encoder's ONNX export).
    env.update(
        {
            "TANDEM_WEB_PORT": str(free_port()),
            "TANDEM_CONSOLE_PORT": str(free_port()),
            "PYTHONUNBUFFERED": "1",
            "XDG_CACHE_HOME": str(workdir / "cache"),
        }
    )
    print(f"cold start of {commit} in {clone}", flush=True)
    started = time.monotonic()
    process = subprocess.Popen(
        ["./tandem", "up", "--rasa-port", str(ports["rasa"]), "--actions-port", str(ports["actions"])],
        cwd=clone,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    watched = Watched(process, started)
    try:
        deadline = started + args.timeout
        while watched.when("Tandem is running") is None:
            if process.poll() is not None:
                raise SystemExit(f"`tandem up` exited with {process.returncode}")
            if time.monotonic() > deadline:
                raise SystemExit("`tandem up` did not come up before the deadline")
            time.sleep(0.5)
        answer = first_answer(ports["rasa"], deadline)
        answered = time.monotonic() - started
        lines_seen = len(watched.lines)
        token = subprocess.run(
            ["./tandem", "rasa-token"], cwd=clone, env=env, capture_output=True, text=True, check=True
        ).stdout.strip()
        parse = _post(f"http://127.0.0.1:{ports['rasa']}/model/parse?token={token}", {"text": "this is a disgrace"})
        sentiment = parse.get("sentiment")  # type: ignore[union-attr]
        upgraded = None
        if args.wait_for_upgrade:
            while watched.when(UPGRADED) is None and "could not take over" not in " ".join(
                line for _, line in watched.lines
            ):
                if time.monotonic() > deadline or process.poll() is not None:
                    break
                time.sleep(2.0)
            upgraded = watched.when(UPGRADED)

        print(f"\ncold start, commit {commit}, {os.cpu_count()} CPUs")
        previous = 0.0
        for stage, marker in STAGES:
            at = watched.when(marker)
            if at is None:
                print(f"  {stage:<34} (skipped: no `{marker}` line)")
                continue
            print(f"  {stage:<34} {at - previous:7.1f} s   (at {at:6.1f} s)")
            previous = at
        print(f"  {'first answer':<34} {answered - previous:7.1f} s   (at {answered:6.1f} s)  -> {answer[:60]!r}")
        print(f"  sentiment active: {sentiment}")
        print(f"  terminal lines until the first answer: {lines_seen}")
        if args.wait_for_upgrade:
            print(f"  better sentiment model serving at: {f'{upgraded:.1f} s' if upgraded else 'never (see log)'}")
        return 0 if sentiment and answered <= 300 else 1
    finally:
        process.terminate()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
