"""Training a candidate with progress: `bot.training.train_if_changed` (the same model `tandem up` would train,
reused when it exists), with Rasa's log read as it grows and told as progress events (each component it starts,
the dialogue policy's epochs)."""

from __future__ import annotations

import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from bot.model_release.progress import Progress, ProgressEvent
from bot.training import fingerprint, train_if_changed

POLL_SECONDS = 0.5
_COMPONENT = re.compile(r"Starting to train component '(?P<name>[^']+)'")
_EPOCHS = re.compile(r"Epochs:\s*\d+%\|[^|]*\|\s*(?P<done>\d+)/(?P<total>\d+)")


class TrainingFailed(RuntimeError):
    """`rasa train` failed or ran out of time; the message ends with the end of its log."""


@dataclass(frozen=True)
class Trained:
    path: Path
    fingerprint: str
    seconds: float | None  # None: it existed already (trained earlier from the same inputs)


class _LogWatcher:
    """Turns what Rasa adds to its log into progress events (a component once, epochs every tenth)."""

    def __init__(self, log: Path, progress: Progress) -> None:
        self.log = log
        self.progress = progress
        self.offset = 0
        self.components = 0
        self.reported_tenth = -1
        self.buffer = ""

    def poll(self) -> None:
        try:
            with self.log.open("r", errors="replace") as file:
                file.seek(self.offset)
                chunk = file.read()
                self.offset = file.tell()
        except OSError:
            return
        text = self.buffer + chunk
        # tqdm redraws its line with carriage returns: the last piece may be half written.
        cut = max(text.rfind("\n"), text.rfind("\r"))
        self.buffer = text[cut + 1 :]
        for piece in re.split(r"[\r\n]", text[: cut + 1]):
            component = _COMPONENT.search(piece)
            if component:
                self.components += 1
                self.reported_tenth = -1
                self.progress(ProgressEvent("train", f"component {self.components}: {component.group('name')}"))
                continue
            for epochs in _EPOCHS.finditer(piece):
                done, total = int(epochs.group("done")), int(epochs.group("total"))
                tenth = done * 10 // total if total else 0
                if tenth > self.reported_tenth:
                    self.reported_tenth = tenth
                    self.progress(ProgressEvent("train", f"dialogue policy: epoch {done}/{total}", done / total))


def train_candidate(
    models_dir: Path,
    log: Path,
    progress: Progress,
    *,
    sentiment_model: Path | None = None,
    env: dict[str, str] | None = None,
) -> Trained:
    """The model of the data as it is now (trained unless it exists), with progress."""
    key = fingerprint(sentiment_model=sentiment_model)
    path = models_dir / f"tandem-{key}.tar.gz"
    if path.exists():
        progress(ProgressEvent("train", f"{path.name} is up to date (trained earlier from the same data)", 1.0))
        return Trained(path, key, None)
    progress(ProgressEvent("train", f"training {path.name} (a few minutes; Rasa's log: {log})", 0.0))
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("")
    watcher = _LogWatcher(log, progress)
    started = time.monotonic()
    done = threading.Event()  # no time limit: `rasa train` cannot be stopped from here, and it does finish
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="train") as pool:
        # At low CPU priority: Rasa may be serving customers on this machine meanwhile.
        future = pool.submit(train_if_changed, models_dir, env, log, sentiment_model, True)
        future.add_done_callback(lambda _: done.set())
        while not done.wait(POLL_SECONDS):
            watcher.poll()
        watcher.poll()
        try:
            trained = future.result()
        except RuntimeError as exc:
            raise TrainingFailed(str(exc)) from exc
    seconds = time.monotonic() - started
    progress(ProgressEvent("train", f"trained {trained.name} in {seconds:.0f} s", 1.0))
    return Trained(trained, key, seconds)
