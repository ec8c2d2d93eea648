"""Helpers of the model page's tests: a registry in a temporary folder with the models a CX team meets (one served
before, one serving, a candidate whose check passed, one refused by its check with a failing conversation test and an
intent that got worse), their check results built by the real check's types and the real regression comparison (no
training), a console serving that registry, and a copy of the data whose validation fails (a real check that stops
after `rasa data validate`, seconds long, never training)."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from aiohttp.test_utils import TestServer

from bot.console.app import create_app
from bot.console.model_jobs import ModelRelease
from bot.console.throttle import LoginThrottle
from bot.model_release.check import CheckResult, StepResult, check
from bot.model_release.config import ReleaseConfig
from bot.model_release.conversations import FailedStory
from bot.model_release.heldout import Example
from bot.model_release.progress import Progress
from bot.model_release.registry import Registry
from bot.model_release.regression import compare
from bot.model_release.service import Workspace
from bot.rasa_api import RasaApi
from tests.console.console_support import AgentClient, make_settings
from tests.model_release.test_registry import a_model

ROOT = Path(__file__).resolve().parents[2]
SERVED_BEFORE, SERVING, PASSED, REFUSED = "tandem-a", "tandem-b", "tandem-c", "tandem-d"
FAILED_STORY = FailedStory(
    "cancel then keep it",
    str(ROOT / "tests" / "conversations" / "test_orders.yml"),
    ("action: utter_keep_order (predicted: utter_goodbye)", "action: action_listen (predicted: utter_anything_else)"),
)
# Held-out messages: the refused candidate takes two of order_status's four for cancel_order.
EXAMPLES = [
    Example("where is my parcel", "order_status"),
    Example("has my order shipped yet", "order_status"),
    Example("wheres my stuff", "order_status"),
    Example("track my order pls", "order_status"),
    Example("hi there", "greet"),
    Example("hello", "greet"),
    Example("i want to send it back", "return_item"),
    Example("can i return this", "return_item"),
]
BROKEN_STORY = 'version: "3.1"\nstories:\n- story: broken\n  steps:\n  - intent: greet\n   - action: utter_greet\n'


def _predictions(wrong: dict[str, str]) -> dict[tuple[str, str], str]:
    return {(e.text, e.intent): wrong.get(e.text, e.intent) for e in EXAMPLES}


def check_result(model: str, *, refused: bool) -> CheckResult:
    """What the check records for `model`, compared with the serving model."""
    serving = _predictions({"can i return this": "cancel_order"})
    candidate = _predictions(
        {"wheres my stuff": "cancel_order", "track my order pls": "cancel_order"} if refused else {}
    )
    report = compare(
        EXAMPLES, candidate, serving, metric="f1", tolerance=0.05, candidate_model=model, serving_model=SERVING
    )
    conversations = (
        StepResult("conversations", False, 41.0, "1 conversation test(s) failed", (str(FAILED_STORY),))
        if refused
        else StepResult("conversations", True, 38.0, "every conversation test passes")
    )
    summary = (
        f"{len(report.worse)} intent(s) worse than the serving {SERVING} by more than 0.05 f1"
        if not report.passed
        else f"no intent worse than {SERVING} by more than 0.05 f1"
    )
    steps = (
        StepResult("validate", True, 28.0, "the data and workflows validate"),
        StepResult("train", True, 160.0, f"trained {model}"),
        conversations,
        StepResult("regression", report.passed, 95.0, summary, tuple(report.reasons())),
    )
    return CheckResult(
        model,
        all(s.passed for s in steps),
        steps,
        {"serving": SERVING},
        report.to_json(),
        "2026-12-04T01:30:00+00:00",
    )


def build_registry(models: Path) -> Registry:
    """tandem-a served before tandem-b, which serves; tandem-c passed its check, tandem-d was refused."""
    registry = Registry(models)
    for name in (SERVED_BEFORE, SERVING, PASSED, REFUSED):
        registry.register(a_model(models, name), trained_by="ana (tandem model check)")
    registry.record_published(SERVED_BEFORE, "tandem up")
    registry.record_published(SERVING, "ana (tandem model publish)")
    registry.save_check(PASSED, check_result(PASSED, refused=False).to_json())
    registry.save_check(REFUSED, check_result(REFUSED, refused=True).to_json())
    return registry


def workspace(tmp_path: Path, rasa_urls: tuple[str, ...] = (), token: str = "tok") -> Workspace:
    """The registry above, and a state folder where no `tandem up` runs (no Rasa unless `rasa_urls`)."""
    build_registry(tmp_path / "models")
    return Workspace(tmp_path / "models", tmp_path / "state", token, ReleaseConfig(), rasa_urls)


def broken_data(tmp_path: Path) -> Path:
    """A copy of the project's data with a story file that is not valid YAML: `rasa data validate` refuses it."""
    root = tmp_path / "broken"
    root.mkdir()
    shutil.copy(ROOT / "config.yml", root / "config.yml")
    shutil.copytree(ROOT / "domain", root / "domain")
    shutil.copytree(ROOT / "data", root / "data")
    (root / "data" / "stories" / "broken.yml").write_text(BROKEN_STORY)
    return root


def check_of(root: Path):  # type: ignore[no-untyped-def]
    """The real check (bot.model_release.check.check) of the data under `root`; its validation fails, so it never
    trains."""

    def run(ws: Workspace, by: str, progress: Progress) -> CheckResult:
        return check(ws.registry, ws.config, ws.workdir, trained_by=by, progress=progress, root=root)

    return run


@asynccontextmanager
async def models_console(url: str, release: ModelRelease) -> AsyncIterator[tuple[str, list[AgentClient]]]:
    """A console over `release`; yields its address and a list to put clients in (closed on the way out)."""
    rasa = RasaApi("http://127.0.0.1:9", "rasa-test-token", timeout=1.0)  # the handoff side: not used here
    app = create_app(
        make_settings(url),
        rasa=rasa,
        database_url=url,
        throttle=LoginThrottle(delay_seconds=0.0),
        model_release=release,
    )
    server = TestServer(app)
    await server.start_server()
    clients: list[AgentClient] = []
    try:
        yield str(server.make_url("")).rstrip("/"), clients
    finally:
        for client in clients:
            await client.close()
        await server.close()
        await rasa.close()
