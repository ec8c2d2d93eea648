"""One long model job at a time (a check, a publish, a rollback) for the console: it runs in a worker thread, and
its progress and outcome are kept in a JSON file of the state folder, so a reload shows them and a console started
again knows that a job it did not finish was interrupted.

Why a file and a lock rather than a table: the job works on this machine's files (the models folder, the registry's
own lock) and processes (Rasa's command line as children), so whether it still runs is a question about a process,
which a database row cannot answer. The worker holds an exclusive `flock` on `model-job.lock` for the job's whole
life; the kernel releases it when the process dies, however it dies. A record that says "running" while nobody
holds the lock belongs to a dead console: it is marked "interrupted" at the next read. Holding the lock is also what
makes it one job at a time, across threads and processes.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from bot.model_release.progress import Progress, ProgressEvent

log = logging.getLogger(__name__)

JOB_FILE = "model-job.json"
LOCK_FILE = "model-job.lock"
HISTORY = 10  # finished jobs remembered besides the latest
WRITE_EVERY = 0.5  # seconds between progress writes within a step (training reports every epoch)
PLANS: dict[str, tuple[str, ...]] = {
    "check": ("validate", "train", "conversations", "regression"),
    "publish": ("publish",),
    "rollback": ("rollback",),
}
WEIGHTS = {"validate": 0.1, "train": 0.5, "conversations": 0.15, "regression": 0.25}  # of a check's time
FINISHED = ("passed", "failed", "done", "error", "interrupted")


class JobBusy(RuntimeError):
    """Another job runs; `job` is the one running (None: it has not written its record yet)."""

    def __init__(self, job: JobView | None) -> None:
        what = f"a {job.kind} started by {job.by} at {job.started_at}" if job else "another job"
        super().__init__(f"{what} is running: wait until it ends")
        self.job = job


@dataclass(frozen=True)
class StepProgress:
    step: str
    state: str  # waiting | running | passed | failed | skipped
    fraction: float | None  # of the step, when it can be told
    message: str


@dataclass(frozen=True)
class JobView:
    id: str
    kind: str  # check | publish | rollback
    state: str  # running | passed | failed (a check that refused the model) | done | error | interrupted
    by: str
    started_at: str  # ISO 8601, UTC
    finished_at: str | None
    model: str | None  # the model published or rolled back to, or the model checked
    previous: str | None  # what served when the job started
    steps: tuple[StepProgress, ...]
    message: str  # the latest line, for a person
    outcome: Mapping[str, Any] | None  # the check's result (CheckResult.to_json) or the publish's

    @property
    def running(self) -> bool:
        return self.state == "running"

    @property
    def percent(self) -> int:
        """Of the whole job: the steps done and the running step's share, weighted by how long each takes."""
        if self.state in ("passed", "done"):
            return 100
        weights = [WEIGHTS.get(s.step, 1.0) for s in self.steps]
        done = sum(w for w, s in zip(weights, self.steps) if s.state in ("passed", "failed", "skipped"))
        running = sum(w * (s.fraction or 0.0) for w, s in zip(weights, self.steps) if s.state == "running")
        total = sum(weights) or 1.0
        return min(100, int(100 * (done + running) / total))

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "state": self.state,
            "by": self.by,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "model": self.model,
            "previous": self.previous,
            "steps": [
                {"step": s.step, "state": s.state, "fraction": s.fraction, "message": s.message} for s in self.steps
            ],
            "message": self.message,
            "percent": self.percent,
            "outcome": dict(self.outcome) if self.outcome is not None else None,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> JobView:
        return cls(
            id=str(data["id"]),
            kind=str(data["kind"]),
            state=str(data["state"]),
            by=str(data["by"]),
            started_at=str(data["started_at"]),
            finished_at=data.get("finished_at"),
            model=data.get("model"),
            previous=data.get("previous"),
            steps=tuple(
                StepProgress(str(s["step"]), str(s["state"]), s.get("fraction"), str(s.get("message") or ""))
                for s in data.get("steps") or ()
            ),
            message=str(data.get("message") or ""),
            outcome=data.get("outcome"),
        )


@dataclass(frozen=True)
class Outcome:
    """What a job's work returns."""

    state: str  # passed | failed | done
    message: str
    outcome: Mapping[str, Any] | None = None
    model: str | None = None
    steps: Mapping[str, bool] | None = None  # each step run and whether it passed (a check's); None: all passed


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class JobStore:
    """The latest job and the few before it, in `<state dir>/model-job.json`."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = Path(state_dir)
        self.path = self.state_dir / JOB_FILE
        self._lock_path = self.state_dir / LOCK_FILE
        self._mutex = threading.Lock()  # the record file, between this process's threads

    # ------------------------------------------------------------------ the record file

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {"job": None, "history": []}
        except (OSError, ValueError) as exc:
            log.warning("the model job record %s cannot be read (%s): starting afresh", self.path, exc)
            return {"job": None, "history": []}
        return {"job": data.get("job"), "history": list(data.get("history") or [])}

    def _write(self, data: Mapping[str, Any]) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        staging = self.path.with_name(f"{self.path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        staging.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
        os.replace(staging, self.path)

    def _try_lock(self) -> IO[str] | None:
        """The job lock, held by the returned file until it is closed; None when a living job holds it."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        handle = open(self._lock_path, "a+")  # held for the job's life, closed by its end
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return None
        return handle

    @staticmethod
    def _interrupted(job: dict[str, Any]) -> dict[str, Any]:
        view = JobView.from_json(job)
        steps = tuple(replace(s, state="failed") if s.state == "running" else s for s in view.steps)
        return replace(
            view,
            state="interrupted",
            finished_at=view.finished_at or _now(),
            steps=steps,
            message="the console stopped while this job ran: it did not finish (start it again)",
        ).to_json()

    # ------------------------------------------------------------------ reading

    def latest(self) -> JobView | None:
        """The running job, else the last one; a job whose console died is marked interrupted (and so recorded)."""
        with self._mutex:
            data = self._read()
            job = data["job"]
            if job is None:
                return None
            if job.get("state") == "running":
                handle = self._try_lock()
                if handle is not None:  # nobody holds the lock: the job's process is gone
                    try:
                        data = self._read()  # it may have finished between the two reads
                        if data["job"] and data["job"].get("state") == "running":
                            data["job"] = self._interrupted(data["job"])
                            self._write(data)
                        job = data["job"]
                    finally:
                        handle.close()
            return JobView.from_json(job)

    def history(self) -> list[JobView]:
        """The finished jobs before the latest, the newest first."""
        with self._mutex:
            return [JobView.from_json(j) for j in self._read()["history"]]

    # ------------------------------------------------------------------ running

    def reserve(self, kind: str, by: str, *, model: str | None = None, previous: str | None = None) -> Job:
        """The next job, recorded as running and holding the lock; JobBusy when one runs. Call `run` or `abandon`."""
        if kind not in PLANS:
            raise ValueError(f"no model job {kind!r}")
        handle = self._try_lock()
        for _ in range(3):  # a reader that checks for a dead job holds the lock for a moment
            if handle is not None:
                break
            latest = self.latest()
            if latest is not None and latest.running:
                raise JobBusy(latest)
            time.sleep(0.05)
            handle = self._try_lock()
        if handle is None:
            raise JobBusy(self.latest())
        try:
            view = JobView(
                id=uuid.uuid4().hex[:12],
                kind=kind,
                state="running",
                by=by,
                started_at=_now(),
                finished_at=None,
                model=model,
                previous=previous,
                steps=tuple(StepProgress(step, "waiting", None, "") for step in PLANS[kind]),
                message="starting",
                outcome=None,
            )
            with self._mutex:
                data = self._read()
                last = data["job"]
                if last is not None:
                    last = self._interrupted(last) if last.get("state") == "running" else last
                    data["history"] = [last, *data["history"]][:HISTORY]
                data["job"] = view.to_json()
                self._write(data)
        except BaseException:
            handle.close()
            raise
        return Job(self, view, handle)

    def _save(self, view: JobView) -> None:
        with self._mutex:
            data = self._read()
            data["job"] = view.to_json()
            self._write(data)


class Job:
    """A reserved job: its progress callback, and its end."""

    def __init__(self, store: JobStore, view: JobView, handle: IO[str]) -> None:
        self.store = store
        self.view = view
        self._handle: IO[str] | None = handle
        self._written = 0.0
        self._mutex = threading.Lock()

    def progress(self, event: ProgressEvent) -> None:
        """The service's progress callback: steps before the event's are done, its own runs."""
        with self._mutex:
            names = [s.step for s in self.view.steps]
            steps = list(self.view.steps)
            changed = False
            if event.step in names:
                at = names.index(event.step)
                for i, s in enumerate(steps):
                    if i < at and s.state in ("waiting", "running"):
                        steps[i] = replace(s, state="passed", fraction=1.0)
                        changed = True
                changed = changed or steps[at].state != "running"
                steps[at] = replace(steps[at], state="running", fraction=event.fraction, message=event.message)
            self.view = replace(self.view, steps=tuple(steps), message=event.message)
            now = time.monotonic()
            if changed or now - self._written >= WRITE_EVERY:
                self._written = now
                self.store._save(self.view)

    def _finish(self, state: str, message: str, outcome: Outcome | None) -> JobView:
        with self._mutex:
            passed = (outcome.steps if outcome else None) or {}
            steps = []
            for s in self.view.steps:
                if s.step in passed:
                    steps.append(replace(s, state="passed" if passed[s.step] else "failed", fraction=1.0))
                elif state in ("passed", "done") and not passed:
                    steps.append(replace(s, state="passed", fraction=1.0))
                elif s.state == "running":
                    steps.append(replace(s, state="failed" if state == "error" else "passed"))
                else:
                    steps.append(replace(s, state="skipped") if s.state == "waiting" else s)
            self.view = replace(
                self.view,
                state=state,
                finished_at=_now(),
                steps=tuple(steps),
                message=message,
                outcome=outcome.outcome if outcome else None,
                model=(outcome.model if outcome and outcome.model else self.view.model),
            )
            return self.view

    def _release(self) -> None:
        handle, self._handle = self._handle, None
        if handle is not None:
            handle.close()

    def abandon(self, why: str) -> JobView:
        """The job does not start after all (its audit record could not be written): recorded as an error."""
        try:
            view = self._finish("error", why, None)
            self.store._save(view)
            return view
        finally:
            self._release()

    def run(self, work: Callable[[Progress], Outcome], on_end: Callable[[JobView], None] | None = None) -> None:
        """`work(progress)` in a daemon thread (a console that stops does not wait for a training), then `on_end`
        with the finished job (its audit record), then the job is recorded as finished and the lock released."""
        threading.Thread(target=self._run, args=(work, on_end), name=f"model-{self.view.kind}", daemon=True).start()

    def _run(self, work: Callable[[Progress], Outcome], on_end: Callable[[JobView], None] | None) -> None:
        try:
            try:
                outcome = work(self.progress)
            except Exception as exc:  # the job's failure is its record, not the thread's crash
                log.warning("the model %s job %s failed: %s", self.view.kind, self.view.id, exc, exc_info=True)
                view = self._finish("error", str(exc) or type(exc).__name__, None)
            else:
                view = self._finish(outcome.state, outcome.message, outcome)
            if on_end is not None:
                try:
                    on_end(view)
                except Exception as exc:
                    log.exception("recording the end of the model job %s failed", view.id)
                    view = replace(view, message=f"{view.message} (its audit record could not be written: {exc})")
            self.store._save(view)
        finally:
            self._release()
