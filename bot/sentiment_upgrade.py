"""Builds the better sentiment model behind a running assistant, then swaps it in without a restart.

A first `tandem up` serves a quick build (`bot.sentiment.training.INTERIM`) so that the assistant answers within
minutes. This builds the recipe asked for at low CPU priority, trains the Rasa model with it, and publishes that
model as `tandem model publish` does (bot.model_release): every running Rasa server loads it through `PUT /model`,
Rasa's own way to replace a model live (messages in flight finish on the old one, the next ones get the new one),
and the registry records it, so a rollback can go back to the quick one.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from bot import run_lock
from bot.model_release.service import publish_trained
from bot.sentiment.model import describe
from bot.sentiment.progress import ProgressFile
from bot.sentiment.training import Recipe, model_dir
from bot.settings import PROJECT_ROOT, Settings
from bot.training import train_if_changed

POLL_SECONDS = 2.0  # a line in the terminal at each tenth of the build, looked for this often


class UpgradeFailed(RuntimeError):
    """The better model was not built, trained or loaded; the quick one keeps serving."""


class _Stopped(Exception):
    pass


class SentimentUpgrade:
    """One background job: build `recipe`, train the Rasa model with it, load that into each Rasa, then `on_swapped`."""

    def __init__(
        self,
        settings: Settings,
        recipe: Recipe,
        env: dict[str, str],
        rasa_urls: Sequence[str],
        on_swapped: Callable[[Path], None],
        say: Callable[[str], None] = print,
    ) -> None:
        self.settings = settings
        self.recipe = recipe
        self.env = env
        self.rasa_urls = tuple(rasa_urls)  # every instance serves the new model (the production profile runs two)
        self.on_swapped = on_swapped
        self.say = say
        self.build_log = settings.state_dir / "sentiment-build.log"
        self.progress = ProgressFile(settings.state_dir / "sentiment-build.json")
        self._stopping = threading.Event()
        self._process: subprocess.Popen | None = None
        self._thread = threading.Thread(target=self._run, name="sentiment-upgrade", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        process = self._process
        if process is not None and process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
        self._thread.join(timeout=15)

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def _run(self) -> None:
        try:
            built = self._build()
            model = train_if_changed(
                self.settings.models_dir,
                env=self.env,
                log=self.settings.state_dir / "train.log",
                sentiment_model=built,
                background=True,
            )
            if self._stopping.is_set():
                return
            # Published as `tandem model publish` does (one server after the other, recorded for a rollback).
            publish_trained(
                self.settings.models_dir, model, self.rasa_urls, self.settings.rasa_api_token, by="sentiment upgrade"
            )
            self.on_swapped(model)
            self.say(f"sentiment: the better model {describe(built)} serves now (Rasa model {model.name}, no restart)")
        except _Stopped:
            return
        except Exception as exc:  # a thread has no caller to raise to: say it, and the quick model keeps serving
            self.say(
                f"sentiment: the better model could not take over ({exc}); the quick one keeps serving. "
                f"Build log: {self.build_log}"
            )

    def _build(self) -> Path:
        """Builds in a child process at low priority (PyTorch and its memory stay out of `up`)."""
        self.say(
            f"sentiment: building the better model '{self.recipe.name}' in the background "
            f"(progress below; log {self.build_log})"
        )
        command = [
            "nice",
            "-n",
            "10",
            sys.executable,
            "-m",
            "bot.cli",
            "sentiment",
            "build",
            "--recipe",
            self.recipe.name,
            "--models-dir",
            str(self.settings.models_dir),
            "--progress-file",
            str(self.progress.path),
        ]
        self.progress.path.unlink(missing_ok=True)
        with self.build_log.open("w") as log:
            self._process = subprocess.Popen(
                command,
                cwd=PROJECT_ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=run_lock.die_with_parent,
            )
        reported = 0  # tenths of the build said so far
        while self._process.poll() is None:
            if self._stopping.wait(POLL_SECONDS):
                raise _Stopped
            progress = self.progress.read()
            if progress is not None and int(progress.fraction * 10) > reported:
                reported = int(progress.fraction * 10)
                left = progress.seconds_left()
                eta = ""
                if left is not None and progress.done < progress.total:
                    eta = f", about {round(left / 60)} min left" if left >= 90 else ", under two minutes left"
                self.say(
                    f"sentiment: building '{self.recipe.name}': {progress.fraction:.0%} "
                    f"({progress.done}/{progress.total} steps{eta})"
                )
        if self._stopping.is_set():
            raise _Stopped
        if self._process.returncode != 0:
            raise UpgradeFailed(f"the build exited with code {self._process.returncode}")
        return model_dir(self.settings.models_dir, self.recipe)
