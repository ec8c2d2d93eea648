"""How long `tandem model check` and `tandem model publish`/`rollback` take, step by step, on this machine.

The check runs on the project as it is (rasa data validate, every conversation test, the held-out messages) with
the tests' cached model as the candidate (nothing is trained: training's own time is read from the log of that
model's training) against a copy of it as the serving model; then a second check, which finds the serving model's
held-out predictions and the unchanged tests' result in the registry. The publish and the rollback go into a real
Rasa server (tests/support/stack.py, on a SQLite shop) while a customer's message is sent mid-swap: how long each
server took to load, and how long that message waited for its answer.

    python bench/model_publish.py [--json results.json] [--skip-check]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.model_release.check import check  # noqa: E402
from bot.model_release.config import load_config  # noqa: E402
from bot.model_release.progress import ProgressEvent, as_line  # noqa: E402
from bot.model_release.registry import Registry  # noqa: E402
from bot.model_release.service import Workspace, publish, rollback  # noqa: E402
from tests.support.rasa_model import CACHE, trained_model  # noqa: E402

STAMP = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) ")


def training_seconds(log: Path) -> float | None:
    """From the first to the last timestamped line of a `rasa train` log."""
    stamps = [m.group(1) for line in log.read_text(errors="replace").splitlines() if (m := STAMP.match(line))]
    if len(stamps) < 2:
        return None
    first, last = (datetime.fromisoformat(s) for s in (stamps[0], stamps[-1]))
    return (last - first).total_seconds()


def say(url: str, sender: str, text: str) -> tuple[float, list]:
    body = json.dumps({"sender": sender, "message": text}).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    started = time.monotonic()
    with urllib.request.urlopen(request, timeout=600) as reply:
        answer = json.loads(reply.read())
    return time.monotonic() - started, answer


def timed_progress(started: float):
    def show(event: ProgressEvent) -> None:
        print(f"  {time.monotonic() - started:6.1f} s {as_line(event)}", flush=True)

    return show


def run_check(registry: Registry, workdir: Path, label: str) -> dict:
    print(f"{label}:", flush=True)
    started = time.monotonic()
    result = check(registry, load_config(), workdir, trained_by="bench", progress=timed_progress(started))
    total = time.monotonic() - started
    for step in result.steps:
        print(f"  {step.step:<14} {step.seconds:6.1f} s  {'ok' if step.passed else 'FAILED'}  {step.summary}")
    print(f"  total {total:.1f} s, passed: {result.passed}")
    return {"total": total, "passed": result.passed, "steps": {s.step: round(s.seconds, 1) for s in result.steps}}


def swap_with_a_message(swap, url: str, sender: str) -> dict:
    """`swap(progress)` in a thread; a message sent once a server is loading. Times of both."""
    loading = threading.Event()

    def progress(event: ProgressEvent) -> None:
        if " loads " in event.message:
            loading.set()

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=1) as pool:
        running = pool.submit(swap, progress)
        loading.wait(120)
        time.sleep(0.5)
        waited, answer = say(url, sender, "thanks")
        result = running.result()
    total = time.monotonic() - started
    return {
        "total": round(total, 1),
        "loads": {loaded.instance: round(loaded.seconds, 1) for loaded in result.loaded},
        "message_wait": round(waited, 1),
        "answered": bool(answer),
    }


def run_publish(models: Path, workdir: Path) -> dict:
    from bot.db.migrate import upgrade
    from tests.support.stack import seed_test_shop, tandem_stack

    database = f"sqlite:///{workdir / 'shop.db'}"
    upgrade(database)
    seed_test_shop(database, customers=20)
    (workdir / "stack").mkdir()
    with tandem_stack(database, workdir / "stack") as state:
        ws = Workspace(models, workdir / "state", state["rasa_token"], load_config(), (state["rasa_base"],))
        rest = state["url"]
        say(rest, "bench-swap", "hello")
        published = swap_with_a_message(
            lambda p: publish(ws, "tandem-candidate", by="bench", progress=p)[1], rest, "bench-swap"
        )
        back = swap_with_a_message(lambda p: rollback(ws, by="bench", progress=p), rest, "bench-swap")
    for name, figures in (("publish", published), ("rollback", back)):
        print(
            f"{name}: {figures['total']} s in all; loads {figures['loads']}; a message sent mid-swap waited "
            f"{figures['message_wait']} s and was answered: {figures['answered']}"
        )
    return {"publish": published, "rollback": back}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--skip-check", action="store_true", help="only the publish and the rollback")
    args = parser.parse_args(argv)
    cached = trained_model()
    figures: dict = {"training_seconds_from_log": training_seconds(CACHE / "train.log")}
    print(f"training (the tests' model, from its log): {figures['training_seconds_from_log']} s")
    with tempfile.TemporaryDirectory(prefix="tandem-bench-models-") as tmp:
        workdir = Path(tmp)
        models = workdir / "models"
        models.mkdir()
        registry = Registry(models)
        serving = models / "tandem-serving.tar.gz"
        shutil.copy(cached, serving)
        registry.register(serving, trained_by="bench")
        registry.record_published("tandem-serving", "bench")
        shutil.copy(cached, models / cached.name)  # the model of the data: up to date
        if not args.skip_check:
            figures["first_check"] = run_check(registry, workdir / "work", "first check")
            figures["second_check"] = run_check(registry, workdir / "work", "second check (cached)")
        shutil.copy(cached, models / "tandem-candidate.tar.gz")
        registry.register(models / "tandem-candidate.tar.gz", trained_by="bench")
        registry.save_check("tandem-candidate", {"passed": True, "reasons": []})
        figures.update(run_publish(models, workdir))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
