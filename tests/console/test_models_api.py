"""The model page's JSON API (`/api/review/models...`): a CX user sees each model's state and a refused model's
reasons, cannot publish a refused model (409 with the reasons), publishes a checked one into the Rasa servers and
rolls back as background jobs whose progress is JSON, every start and end audited; one job at a time (409 with the
running one); a job left running by a console that died reads as interrupted; agents get 403. On SQLite and
PostgreSQL. No model is trained: the registry holds recorded check results (tests/console/models_support.py)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.console.model_jobs import ModelRelease
from bot.db.session import dispose_engine, session_scope
from bot.model_release.check import CheckResult, StepResult
from bot.model_release.jobs import JobBusy, JobStore
from bot.model_release.progress import Progress, ProgressEvent
from bot.model_release.service import Workspace
from bot.review import audit
from tests.console.console_support import AgentClient, add_agent, until
from tests.console.models_support import PASSED, REFUSED, SERVED_BEFORE, SERVING, models_console, workspace
from tests.console.review_support import clear
from tests.model_release.test_publish import StandIn, servers

ROUTES = (
    ("GET", "/review/models"),
    ("GET", "/api/review/models"),
    ("GET", "/api/review/models/job"),
    ("POST", "/api/review/models/check"),
    ("POST", "/api/review/models/publish"),
    ("POST", "/api/review/models/rollback"),
)


@pytest.fixture(scope="module")
def _module_db(db_factory) -> Iterator[str]:
    url = db_factory.create()
    yield url
    dispose_engine(url)


@pytest.fixture
def models_db(_module_db: str) -> str:
    """No audit rows; a CX user `cara`, an admin `root` and an agent `alice`."""
    clear(_module_db)
    add_agent(_module_db, "cara", role="cx", queues=(), name="Cara Lee")
    add_agent(_module_db, "root", role="admin", queues=())
    add_agent(_module_db, "alice", role="agent", queues=("billing",))
    return _module_db


async def _signed_in(base: str, clients: list[AgentClient], username: str) -> AgentClient:
    client = AgentClient(base)
    clients.append(client)
    await client.login(username)
    assert client.csrf, f"{username} could not sign in"
    return client


async def _finished(client: AgentClient, timeout: float = 20.0) -> dict:
    async def done():
        body = await (await client.get("/api/review/models/job")).json()
        return body["job"] if body["job"] and body["job"]["state"] != "running" else None

    return await until(done, timeout=timeout, interval=0.1)


def _trail(url: str) -> list[audit.AuditEntry]:
    with session_scope(url) as session:
        return list(reversed(audit.trail(session, "model")))


class HeldCheck:
    """A check that reports validation and a third of the training, then waits until the test lets it finish: the
    runner, the job record and the API are real; only the minutes of a real check are not spent."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.reported = threading.Event()

    def __call__(self, ws: Workspace, by: str, progress: Progress) -> CheckResult:
        progress(ProgressEvent("validate", "rasa data validate and the workflows' validator"))
        progress(ProgressEvent("train", "TEDPolicy: epoch 10/30", 1 / 3))
        self.reported.set()
        assert self.release.wait(20), "the test never let the check finish"
        steps = (
            StepResult("validate", True, 1.0, "the data and workflows validate"),
            StepResult("train", False, 2.0, "training failed", ("rasa train exited with code 1",)),
        )
        return CheckResult(None, False, steps, {}, None, "2026-12-04T02:00:00+00:00")


async def test_the_list_shows_each_models_state_and_a_refused_models_failing_story_and_intents(models_db, tmp_path):
    release = ModelRelease.of(workspace(tmp_path))
    async with models_console(models_db, release) as (base, clients):
        cara = await _signed_in(base, clients, "cara")
        response = await cara.get("/api/review/models")
        assert response.status == 200
        body = await response.json()
        page = await cara.get("/review/models")
        html = await page.text()
    models = {m["name"]: m for m in body["models"]}
    assert {name: m["state"] for name, m in models.items()} == {
        SERVED_BEFORE: "previous",
        SERVING: "serving",
        PASSED: "passed",
        REFUSED: "refused",
    }
    assert (body["serving"], body["rollback_to"], body["instances"], body["job"]) == (SERVING, SERVED_BEFORE, [], None)
    assert [name for name, m in models.items() if m["can_publish"]] == [PASSED]
    refused = models[REFUSED]["check"]
    assert refused["passed"] is False
    assert refused["failing_stories"] == [
        {
            "name": "cancel then keep it",
            "file": "test_orders.yml",
            "steps": [
                {"expected": "action: utter_keep_order", "predicted": "utter_goodbye"},
                {"expected": "action: action_listen", "predicted": "utter_anything_else"},
            ],
        }
    ]
    rows = refused["intents"]["rows"]
    assert rows[0]["intent"] == "order_status" and rows[0]["worse"] and rows[0]["delta"] < -0.05
    assert {"text": "wheres my stuff", "predicted": "cancel_order"} in rows[0]["newly_wrong"]
    assert models[REFUSED]["why_not_publish"] == f"{REFUSED} failed its check, so it may not be published."
    assert models[SERVED_BEFORE]["why_not_publish"] == f"{SERVED_BEFORE} served before: a rollback brings it back."
    assert page.status == 200 and "cancel then keep it" in html and "Roll back to tandem-a" in html


async def test_publishing_a_refused_model_is_409_with_its_reasons_and_changes_nothing(models_db, tmp_path):
    ws = workspace(tmp_path)
    async with models_console(models_db, ModelRelease.of(ws)) as (base, clients):
        cara = await _signed_in(base, clients, "cara")
        refused = await cara.post("/api/review/models/publish", {"model": REFUSED})
        body = await refused.json()
        unknown = await cara.post("/api/review/models/publish", {"model": "tandem-zzz"})
        serving = await cara.post("/api/review/models/publish", {"model": SERVING})
        nameless = await cara.post("/api/review/models/publish", {"model": 3})
        not_json = await cara.http.post(
            "/api/review/models/publish", data="model=x", headers={"X-CSRF-Token": cara.csrf or ""}
        )
        job = await (await cara.get("/api/review/models/job")).json()
    assert refused.status == 409
    assert body["error"].startswith(f"{REFUSED} failed its check, so it may not be published: 1 conversation test")
    assert "story 'cancel then keep it' (test_orders.yml): action: utter_keep_order (predicted: utter_goodbye)" in (
        "; ".join(body["reasons"])
    )
    assert any(r.startswith("order_status: f1 1.00 -> 0.67") for r in body["reasons"])
    assert body["check"]["failing_stories"][0]["name"] == "cancel then keep it"
    assert (unknown.status, serving.status, nameless.status, not_json.status) == (404, 409, 400, 400)
    assert (await serving.json())["error"] == f"{SERVING} serves already."
    assert ws.registry.current().name == SERVING and job == {"job": None} and _trail(models_db) == []


async def test_publish_and_rollback_run_as_jobs_into_every_rasa_server_and_are_audited(models_db, tmp_path):
    first, second = StandIn("rasa 1", serving=f"{SERVING}.tar.gz"), StandIn("rasa 2", serving=f"{SERVING}.tar.gz")
    with servers(first, second):
        ws = workspace(tmp_path, rasa_urls=(first.url, second.url))
        async with models_console(models_db, ModelRelease.of(ws)) as (base, clients):
            cara = await _signed_in(base, clients, "cara")
            listing = await (await cara.get("/api/review/models")).json()
            started = await cara.post("/api/review/models/publish", {"model": PASSED})
            assert started.status == 202, await started.text()
            job = (await started.json())["job"]
            assert (job["kind"], job["state"], job["model"], job["previous"]) == ("publish", "running", PASSED, SERVING)
            published = await _finished(cara)
            served = (first.serving, second.serving)
            back = await cara.post("/api/review/models/rollback")
            assert back.status == 202
            rolled_back = await _finished(cara)
    assert [i["url"] for i in listing["instances"]] == [first.url, second.url]
    assert published["state"] == "done" and published["percent"] == 100
    assert published["steps"] == [
        {
            "step": "publish",
            "label": "Load into each Rasa server",
            "state": "passed",
            "fraction": 1.0,
            "message": f"rasa at {second.url} serves {PASSED}.tar.gz",
        }
    ]
    assert published["message"] == f"published {PASSED} (before: {SERVING}); 2 Rasa server(s) serve it now"
    assert served == (f"{PASSED}.tar.gz", f"{PASSED}.tar.gz")
    assert rolled_back["state"] == "done" and rolled_back["model"] == SERVING
    assert (first.serving, second.serving) == (f"{SERVING}.tar.gz", f"{SERVING}.tar.gz")
    assert ws.registry.current().name == SERVING and ws.registry.get(PASSED).withdrawn
    assert ws.registry.get(PASSED).publications[0].by == "cara (console)"
    trail = [(e.actor, e.action, e.subject_id, e.changes.get("serving")) for e in _trail(models_db)]
    assert trail == [
        ("cara", "model.publish_started", PASSED, {"before": SERVING, "after": PASSED}),
        ("cara", "model.published", PASSED, {"before": SERVING, "after": PASSED}),
        ("cara", "model.rollback_started", SERVING, {"before": PASSED, "after": SERVING}),
        ("cara", "model.rolled_back", SERVING, {"before": PASSED, "after": SERVING}),
    ]


async def test_a_check_reports_its_progress_and_a_second_job_meanwhile_is_409(models_db, tmp_path):
    held = HeldCheck()
    ws = workspace(tmp_path)
    async with models_console(models_db, ModelRelease.of(ws, held)) as (base, clients):
        cara = await _signed_in(base, clients, "cara")
        root = await _signed_in(base, clients, "root")
        started = await cara.post("/api/review/models/check")
        assert started.status == 202, await started.text()
        assert await asyncio.to_thread(held.reported.wait, 10)
        running = (await (await root.get("/api/review/models/job")).json())["job"]
        second = await root.post("/api/review/models/check")
        publish = await root.post("/api/review/models/publish", {"model": PASSED})
        held.release.set()
        finished = await _finished(cara)
    assert (running["kind"], running["state"], running["by"], running["previous"]) == (
        "check",
        "running",
        "cara",
        SERVING,
    )
    assert [(s["step"], s["state"], s["fraction"]) for s in running["steps"]] == [
        ("validate", "passed", 1.0),
        ("train", "running", pytest.approx(1 / 3)),
        ("conversations", "waiting", None),
        ("regression", "waiting", None),
    ]
    assert running["percent"] == 26 and running["message"] == "TEDPolicy: epoch 10/30"
    assert [s["label"] for s in running["steps"]] == [
        "Validate the data",
        "Train",
        "Conversation tests",
        "NLU regression check",
    ]
    for refused in (second, publish):
        assert refused.status == 409
        body = await refused.json()
        assert body["error"].startswith("Another job is running: a check started by cara at ")
        assert body["job"]["id"] == running["id"] and body["job"]["state"] == "running"
    assert (
        finished["state"] == "failed" and finished["message"] == "the check of the data failed: it may not be published"
    )
    assert [s["state"] for s in finished["steps"]] == ["passed", "failed", "skipped", "skipped"]
    assert finished["check"]["reasons"] == ["training failed", "rasa train exited with code 1"]
    trail = [(e.actor, e.action, e.changes.get("passed")) for e in _trail(models_db)]
    assert trail == [("cara", "model.check_started", None), ("cara", "model.checked", False)]


RESERVE_AND_WAIT = """
import sys
from pathlib import Path
from bot.model_release.jobs import JobStore
job = JobStore(Path(sys.argv[1])).reserve("check", "cara")
job.progress(__import__("bot.model_release.progress", fromlist=["x"]).ProgressEvent("train", "epoch 3/30", 0.1))
print("reserved", flush=True)
sys.stdin.readline()
"""


def test_a_job_of_a_console_that_died_reads_as_interrupted_and_frees_the_next_job(tmp_path: Path):
    store = JobStore(tmp_path / "state")
    console = subprocess.Popen(
        [sys.executable, "-c", RESERVE_AND_WAIT, str(tmp_path / "state")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert console.stdout is not None and console.stdout.readline().strip() == "reserved"
        assert store.latest().state == "running"  # its console lives: it holds the job's lock
        with pytest.raises(JobBusy) as busy:
            store.reserve("publish", "root", model=PASSED)
        assert busy.value.job is not None and busy.value.job.by == "cara"
    finally:
        console.kill()
        console.wait()
    latest = store.latest()
    assert latest.state == "interrupted" and latest.finished_at
    assert latest.message == "the console stopped while this job ran: it did not finish (start it again)"
    assert [s.state for s in latest.steps] == ["passed", "failed", "waiting", "waiting"]
    job = store.reserve("publish", "root", model=PASSED)
    job.abandon("not needed")
    assert [j.state for j in store.history()] == ["interrupted"]


async def test_the_page_shows_a_job_left_running_by_a_dead_console_as_interrupted(models_db, tmp_path):
    ws = workspace(tmp_path)
    JobStore(ws.state_dir).reserve("check", "cara")._release()  # recorded as running; its lock went with it
    async with models_console(models_db, ModelRelease.of(ws)) as (base, clients):
        cara = await _signed_in(base, clients, "cara")
        job = (await (await cara.get("/api/review/models/job")).json())["job"]
        html = await (await cara.get("/review/models")).text()
    assert job["state"] == "interrupted" and job["finished_at"]
    assert '"state": "interrupted"' in html


async def test_agents_get_403_and_the_anonymous_are_asked_to_sign_in(models_db, tmp_path):
    async with models_console(models_db, ModelRelease.of(workspace(tmp_path))) as (base, clients):
        alice = await _signed_in(base, clients, "alice")
        anonymous = AgentClient(base)
        clients.append(anonymous)
        for method, path in ROUTES:
            call = alice.get(path) if method == "GET" else alice.post(path, {"model": PASSED})
            response = await call
            assert response.status == 403, (method, path)
            if path.startswith("/api/"):
                assert (await response.json())["error"] == (
                    "Checking and publishing models is for the customer-experience team and admins."
                )
            response = await (
                anonymous.get(path, allow_redirects=False) if method == "GET" else anonymous.post(path, csrf=False)
            )
            assert response.status in (302, 303, 401, 403), (method, path, response.status)
    assert _trail(models_db) == []
