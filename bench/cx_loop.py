"""From "accept" in the NLU inbox to the new model serving: the CX loop of issue 18 timed end to end, on a copy.

A message the serving model gets wrong is put in the inbox (as the insights consumer leaves it), a CX user accepts
it under the right intent (bot.review: written into data/nlu/, audited), the check runs (rasa data validate, training,
every conversation test, the per-intent regression check on the held-out paraphrases), the new model is published
into a running Rasa (tests/support/stack.py, SQLite shop) and the message is asked again in a new conversation.
Everything happens in a git worktree of HEAD, so the project's own data is untouched; the diff the annotation made
is printed. The serving model is the tests' cached one (its training is not counted: it serves already).

With `--console` a CX user does it in the console, in Chromium, as a new user would: signs in, opens the NLU inbox,
annotates the message with the right intent, opens Models, presses "Check the current data", waits for the verdict,
and presses Publish on the checked model.

    python bench/cx_loop.py [--console] [--text "..."] [--intent X] [--json out.json] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_TEXT = "how do i get compensated for the broken lamp"
DEFAULT_INTENT = "want_refund"


def parse(rasa: str, token: str, text: str) -> tuple[str, float]:
    body = json.dumps({"text": text}).encode()
    request = urllib.request.Request(
        f"{rasa}/model/parse?token={token}", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=120) as reply:
        intent = json.loads(reply.read())["intent"]
    return intent["name"], float(intent["confidence"])


def say(url: str, sender: str, text: str) -> list[dict]:
    body = json.dumps({"sender": sender, "message": text}).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=300) as reply:
        return json.loads(reply.read())


def inside(args: argparse.Namespace) -> int:
    """Runs in the worktree: its data is the one annotated, checked and trained."""
    from bot.db.migrate import upgrade
    from bot.db.session import session_scope
    from bot.model_release.config import load_config
    from bot.model_release.registry import Registry
    from bot.model_release.service import Workspace
    from bot.review.messages import refresh
    from tests.review.rows import Msg, conversation
    from tests.support.rasa_model import trained_model
    from tests.support.stack import seed_test_shop, tandem_stack

    work = Path(args.workdir)
    serving = trained_model()  # the cache copied in: no training
    models = work / "models"
    models.mkdir(parents=True)
    registry = Registry(models)
    shutil.copy(serving, models / "tandem-serving.tar.gz")
    registry.register(models / "tandem-serving.tar.gz", trained_by="bench")
    registry.record_published("tandem-serving", "bench")

    database = f"sqlite:///{work / 'shop.db'}"
    upgrade(database)
    seed_test_shop(database, customers=20)
    figures: dict = {"text": args.text, "intent": args.intent}
    (work / "stack").mkdir()
    with tandem_stack(database, work / "stack") as state:
        rasa, token = state["rasa_base"], state["rasa_token"]
        before = parse(rasa, token, args.text)
        figures["before"] = {"intent": before[0], "confidence": round(before[1], 3)}
        print(f"serving model: {args.text!r} -> {before[0]} ({before[1]:.2f})", flush=True)
        if before[0] == args.intent:
            print(f"the serving model already answers {args.intent}: choose a message it gets wrong", flush=True)
            return 2
        with session_scope(database) as session:
            (message_id,) = conversation(
                session, "bench-cx", [Msg(args.text, intent=before[0], confidence=before[1], fallback=True)]
            )
        with session_scope(database) as session:
            refresh(session)

        ws = Workspace(models, work / "state", token, load_config(), (rasa,))
        if args.console:
            figures.update(through_the_console(state, database, models, message_id, args.intent, work))
        else:
            figures.update(through_the_services(ws, database, message_id, args.intent))
        if not figures.get("check_passed"):
            return 1
        after = parse(rasa, token, args.text)
        answer = say(state["url"], "bench-cx-new", args.text)
        figures["after"] = {"intent": after[0], "confidence": round(after[1], 3)}
        figures["answer"] = " ".join(m.get("text", "") for m in answer)
        print(f"new model: {args.text!r} -> {after[0]} ({after[1]:.2f}); the bot says: {figures['answer'][:200]}")
    steps = figures.get("check")
    check = f"{sum(steps.values()):.1f} s: {steps}" if steps else f"{figures['check_seconds']} s from the Save click"
    print(
        f"accept -> serving: {figures['accept_to_serving_seconds']} s (check {check}; publish {figures['publish_seconds']} s)"
    )
    Path(args.json_out).write_text(json.dumps(figures, indent=1))
    return 0 if after[0] == args.intent else 1


def _diff() -> list[str]:
    diff = subprocess.run(["git", "diff", "--", "data", "domain"], capture_output=True, text=True).stdout
    print(diff, flush=True)
    return [line for line in diff.splitlines() if line.startswith(("+", "-")) and not line.startswith(("+++", "---"))]


def through_the_services(ws, database: str, message_id: int, intent: str) -> dict:  # type: ignore[no-untyped-def]
    """What `tandem review annotate` and `tandem model check|publish` call."""
    from bot.db.session import session_scope
    from bot.model_release.progress import ProgressEvent, as_line
    from bot.model_release.service import publish, run_check
    from bot.review.service import annotate_message

    figures: dict = {}
    started = time.monotonic()

    def show(event: ProgressEvent) -> None:
        print(f"  {time.monotonic() - started:6.1f} s {as_line(event)}", flush=True)

    with session_scope(database) as session:
        done = annotate_message(session, message_id, by="bench-cx", intent=intent)
    figures["annotated_seconds"] = round(time.monotonic() - started, 1)
    print(f"accepted as {intent} into {', '.join(map(str, done.files))}", flush=True)
    figures["diff_lines"] = _diff()
    result = run_check(ws, by="bench-cx", progress=show)
    figures["check"] = {s.step: round(s.seconds, 1) for s in result.steps}
    figures["check_passed"] = result.passed
    for step in result.steps:
        print(f"  {step.step:<14} {step.seconds:6.1f} s  {'ok' if step.passed else 'FAILED'}  {step.summary}")
    if not result.passed or result.model is None:
        print("the check refused the model:\n  " + "\n  ".join(result.reasons), flush=True)
        return figures
    checked = time.monotonic()
    publish(ws, result.model, by="bench-cx", progress=show)
    figures["publish_seconds"] = round(time.monotonic() - checked, 1)
    figures["accept_to_serving_seconds"] = round(time.monotonic() - started, 1)
    return figures


def through_the_console(state: dict, database: str, models: Path, message_id: int, intent: str, work: Path) -> dict:
    """A CX user in Chromium: inbox, annotate, Models, check, publish. Times from the Save click."""
    from playwright.sync_api import expect, sync_playwright

    from bot.console.agents import create_agent
    from bot.db.session import session_scope
    from bot.handoff.routing import default_rules
    from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS
    from tests.support.servers import free_port, running

    port, password = free_port(), "a long cx password"
    env = dict(
        state["env"],
        TANDEM_MODELS_DIR=str(models),
        TANDEM_MODEL_RASA_URLS=state["rasa_base"],
        TANDEM_CONSOLE_PORT=str(port),
    )
    with session_scope(database) as session:
        create_agent(session, "cx.bench", "Casey (CX)", password, role="cx", known_queues=default_rules().queue_keys)
    base = f"http://127.0.0.1:{port}"
    figures: dict = {"through": "console"}
    long_job = 30 * 60 * 1000  # ms: a check trains a model
    with running([sys.executable, "-m", "bot.console"], f"{base}/healthz", env, work / "console.log"):
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            page = browser.new_page()
            page.goto(base + "/")
            page.get_by_label("Username").fill("cx.bench")
            page.get_by_label("Password").fill(password)
            page.get_by_role("button", name="Sign in").click()
            page.get_by_role("navigation", name="Console").get_by_role("link", name="NLU inbox").click()
            item = page.locator(f'.inbox-item[data-message-id="{message_id}"]')
            item.get_by_role("button", name="Annotate").click()
            dialog = page.locator("#annotate-dialog")
            dialog.get_by_label("Another intent").check()
            dialog.get_by_label("The right intent").select_option(intent)
            started = time.monotonic()
            dialog.get_by_role("button", name="Save").click()
            expect(page.locator("#review-notice")).to_contain_text(f"as an example of {intent}")
            print(page.locator("#review-notice").inner_text(), flush=True)
            figures["diff_lines"] = _diff()

            page.get_by_role("navigation", name="Console").get_by_role("link", name="Models").click()
            page.get_by_role("button", name="Check the current data").click()
            summary = page.locator("#job-summary")
            expect(summary).to_contain_text("Check of the current data")
            expect(summary).not_to_contain_text("running", timeout=long_job)
            page.wait_for_load_state()
            verdict = summary.inner_text()
            checked = time.monotonic()
            figures["check_seconds"] = round(checked - started, 1)
            figures["check_passed"] = "passed" in verdict
            print(f"  {checked - started:6.1f} s {verdict}", flush=True)
            if not figures["check_passed"]:
                print(page.locator("#job-outcome").inner_text(), flush=True)
                browser.close()
                return figures
            candidate = page.locator(".model-card", has=page.locator(".model-state", has_text="Check passed"))
            candidate.get_by_role("button", name="Publish").click()
            expect(summary).to_contain_text("Publish")
            expect(summary).to_contain_text(": done", timeout=long_job)
            serving = time.monotonic()
            page.reload()
            expect(candidate).to_have_count(0)  # it is the serving one now
            figures["publish_seconds"] = round(serving - checked, 1)
            figures["accept_to_serving_seconds"] = round(serving - started, 1)
            page.screenshot(path=str(work / "models-page.png"), full_page=True)
            browser.close()
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--text", default=DEFAULT_TEXT, help="a message the serving model gets wrong")
    parser.add_argument("--intent", default=DEFAULT_INTENT, help="the intent it should have")
    parser.add_argument("--console", action="store_true", help="a CX user in the console (Chromium), not the services")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--keep", action="store_true", help="keep the worktree (to look at the diff and the logs)")
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    parser.add_argument("--json-out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inside:
        return inside(args)

    tmp = Path(tempfile.mkdtemp(prefix="tandem-cx-loop-"))
    tree = tmp / "tree"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), "HEAD"], check=True)
    try:
        # The serving model and its sentiment model, cached by the tests: the copy's data is the same until annotated.
        shutil.copytree(ROOT / ".tandem" / "test-models", tree / ".tandem" / "test-models")
        out = tmp / "figures.json"
        code = subprocess.run(
            [
                sys.executable,
                "bench/cx_loop.py",
                *(["--console"] if args.console else []),
                "--inside",
                "--text",
                args.text,
                "--intent",
                args.intent,
                "--workdir",
                str(tmp / "work"),
                "--json-out",
                str(out),
            ],
            cwd=tree,
            env={**os.environ, "PYTHONPATH": str(tree)},
        ).returncode
        if out.exists() and args.json:
            shutil.copy(out, args.json)
        return code
    finally:
        if args.keep:
            print(f"kept: {tree}")
        else:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=False)
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
