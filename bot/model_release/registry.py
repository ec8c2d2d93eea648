"""Every trained Rasa model under the models folder, each with a JSON manifest, and which one serves.

A model is `<models dir>/<name>.tar.gz` (as `bot.training` names it: `tandem-<fingerprint>`); its manifest is
`<models dir>/registry/<name>.json`: its fingerprint, when and by whom (or what) it was trained, the latest check's
result, the NLU evaluations the check cached, and when it was published or withdrawn. `registry/published.json`
holds the published models as a stack, the serving one on top: a publish pushes, a rollback pops, so `previous`
is always what served before. Only the last `keep_published` of the stack and the newest `keep_unpublished` other
models are kept; older files go with their manifests.

Every change happens under one lock file (a publish holds it while it loads the model into each Rasa), and every
file is replaced whole, so a reader in another process never sees half a manifest.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

FOLDER = "registry"
PUBLISHED = "published.json"
SUFFIX = ".tar.gz"
LOG_ENTRIES = 500  # publishes and rollbacks remembered in published.json


class RegistryError(RuntimeError):
    """The registry cannot do what was asked; the message says why (safe to show)."""


class UnknownModel(RegistryError):
    """No model of that name is registered."""


class NothingToRollBack(RegistryError):
    """No model served before the one serving now."""


@dataclass(frozen=True)
class Publication:
    model: str
    at: datetime
    by: str
    action: str  # publish | rollback (the model came back) | withdraw (a rollback took it off)


@dataclass(frozen=True)
class ModelView:
    name: str
    path: Path
    fingerprint: str | None
    trained_at: datetime
    trained_by: str
    training_seconds: float | None
    sentiment_model: str | None  # the sentiment model it was trained with (a folder or hub id)
    check: Mapping[str, Any] | None  # the latest check's result (bot.model_release.check.CheckResult.to_json)
    publications: tuple[Publication, ...]
    serving: bool  # on top of the published stack
    in_stack: bool  # published and kept for a rollback

    @property
    def published(self) -> bool:
        return any(p.action != "withdraw" for p in self.publications)

    @property
    def withdrawn(self) -> bool:
        """Taken off by a rollback and not published since."""
        return bool(self.publications) and self.publications[-1].action == "withdraw"

    @property
    def exists(self) -> bool:
        return self.path.exists()


def model_name(path_or_name: Path | str) -> str:
    """`tandem-abc` for `tandem-abc`, `tandem-abc.tar.gz` or `/x/models/tandem-abc.tar.gz`."""
    name = Path(path_or_name).name
    return name[: -len(SUFFIX)] if name.endswith(SUFFIX) else name


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _write_json(path: Path, data: Any) -> None:
    staging = path.with_name(path.name + ".tmp")
    staging.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(staging, path)


class Registry:
    def __init__(self, models_dir: Path, keep_published: int = 5, keep_unpublished: int = 3) -> None:
        self.models_dir = Path(models_dir)
        self.folder = self.models_dir / FOLDER
        self.keep_published = keep_published
        self.keep_unpublished = keep_unpublished
        self._mutex = threading.RLock()
        self._depth = 0
        self._lock_file: Any = None

    # ------------------------------------------------------------------ locking

    @contextmanager
    def lock(self) -> Iterator[None]:
        """Held across a whole change (re-entrant in this process; other processes wait)."""
        with self._mutex:
            if self._depth == 0:
                self.folder.mkdir(parents=True, exist_ok=True)
                self._lock_file = open(self.folder / ".lock", "a+")  # closed on the last release
                fcntl.flock(self._lock_file, fcntl.LOCK_EX)
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if self._depth == 0:
                    fcntl.flock(self._lock_file, fcntl.LOCK_UN)
                    self._lock_file.close()
                    self._lock_file = None

    # ------------------------------------------------------------------ reading

    def model_path(self, name: str) -> Path:
        return self.models_dir / f"{model_name(name)}{SUFFIX}"

    def _manifest_path(self, name: str) -> Path:
        return self.folder / f"{model_name(name)}.json"

    def _manifest(self, name: str) -> dict[str, Any] | None:
        path = self._manifest_path(name)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise RegistryError(f"the manifest {path} cannot be read: {exc}") from exc
        if not isinstance(data, dict):
            raise RegistryError(f"the manifest {path} is not a JSON object")
        return data

    def _published(self) -> dict[str, Any]:
        path = self.folder / PUBLISHED
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {"stack": [], "log": []}
        except (OSError, ValueError) as exc:
            raise RegistryError(f"{path} cannot be read: {exc}") from exc
        return {"stack": list(data.get("stack") or []), "log": list(data.get("log") or [])}

    def stack(self) -> list[str]:
        """The published models, oldest first; the last one serves."""
        return self._published()["stack"]

    def _view(self, name: str, data: Mapping[str, Any], stack: list[str]) -> ModelView:
        publications = tuple(
            Publication(name, _time(p["at"]), str(p["by"]), str(p["action"])) for p in data.get("publications") or ()
        )
        seconds = data.get("training_seconds")
        return ModelView(
            name=name,
            path=self.model_path(name),
            fingerprint=data.get("fingerprint"),
            trained_at=_time(data["trained_at"]),
            trained_by=str(data.get("trained_by") or "unknown"),
            training_seconds=float(seconds) if seconds is not None else None,
            sentiment_model=data.get("sentiment_model"),
            check=data.get("check"),
            publications=publications,
            serving=bool(stack) and stack[-1] == name,
            in_stack=name in stack,
        )

    def find(self, name: str) -> ModelView | None:
        data = self._manifest(name)
        return None if data is None else self._view(model_name(name), data, self.stack())

    def get(self, name: str) -> ModelView:
        view = self.find(name)
        if view is None:
            raise UnknownModel(f"no model {model_name(name)!r} in {self.models_dir} (`tandem model list` shows them)")
        return view

    def models(self) -> list[ModelView]:
        """Every registered model, the newest first."""
        if not self.folder.is_dir():
            return []
        stack = self.stack()
        views = []
        for path in self.folder.glob("*.json"):
            if path.name == PUBLISHED:
                continue
            data = self._manifest(path.stem)
            if data is not None:
                views.append(self._view(path.stem, data, stack))
        return sorted(views, key=lambda v: (v.trained_at, v.name), reverse=True)

    def current(self) -> ModelView | None:
        """The published model that serves."""
        stack = self.stack()
        return self.find(stack[-1]) if stack else None

    def previous(self) -> ModelView | None:
        """What a rollback would publish: the model that served before the current one."""
        stack = self.stack()
        return self.find(stack[-2]) if len(stack) >= 2 else None

    def log(self) -> list[Publication]:
        """Every publish, rollback and withdrawal, the oldest first."""
        return [
            Publication(str(e["model"]), _time(e["at"]), str(e["by"]), str(e["action"]))
            for e in self._published()["log"]
        ]

    def evaluation(self, name: str, key: str) -> Any:
        """What the check cached for this model under `key` (None: nothing yet)."""
        data = self._manifest(name) or {}
        return (data.get("evaluations") or {}).get(key)

    # ------------------------------------------------------------------ changing

    def register(
        self,
        path: Path,
        *,
        trained_by: str,
        fingerprint: str | None = None,
        sentiment_model: str | None = None,
        training_seconds: float | None = None,
    ) -> ModelView:
        """Add a model file of the models folder (a second call keeps what the first recorded)."""
        path = Path(path)
        if path.resolve().parent != self.models_dir.resolve() or not path.name.endswith(SUFFIX):
            raise RegistryError(f"{path} is not a model file of {self.models_dir} (<name>{SUFFIX})")
        if not path.exists():
            raise RegistryError(f"there is no model file {path}")
        name = model_name(path)
        with self.lock():
            data = self._manifest(name)
            if data is None:
                trained_at = datetime.fromtimestamp(path.stat().st_mtime, UTC).isoformat(timespec="seconds")
                data = {
                    "name": name,
                    "file": path.name,
                    "fingerprint": fingerprint,
                    "trained_at": trained_at,
                    "trained_by": trained_by,
                    "training_seconds": training_seconds,
                    "sentiment_model": sentiment_model,
                    "check": None,
                    "evaluations": {},
                    "publications": [],
                }
                _write_json(self._manifest_path(name), data)
            return self._view(name, data, self.stack())

    def _update(self, name: str, change: Mapping[str, Any]) -> None:
        with self.lock():
            data = self._manifest(name)
            if data is None:
                raise UnknownModel(f"no model {model_name(name)!r} in {self.models_dir}")
            data.update(change)
            _write_json(self._manifest_path(name), data)

    def save_check(self, name: str, result: Mapping[str, Any]) -> None:
        self._update(name, {"check": dict(result)})

    def save_evaluation(self, name: str, key: str, value: Any) -> None:
        with self.lock():
            evaluations = dict((self._manifest(name) or {}).get("evaluations") or {})
            evaluations[key] = value
            self._update(name, {"evaluations": evaluations})

    def _note(self, name: str, by: str, action: str, published: dict[str, Any]) -> None:
        entry = {"model": name, "at": _now(), "by": by, "action": action}
        data = self._manifest(name) or {}
        self._update(
            name, {"publications": [*(data.get("publications") or []), {k: entry[k] for k in ("at", "by", "action")}]}
        )
        published["log"] = [*published["log"], entry][-LOG_ENTRIES:]

    def record_published(self, name: str, by: str) -> ModelView:
        """`name` serves from now on (its file was loaded into every Rasa): on top of the stack."""
        with self.lock():
            view = self.get(name)
            published = self._published()
            if published["stack"][-1:] != [view.name]:
                published["stack"].append(view.name)
                self._note(view.name, by, "publish", published)
                published["stack"] = published["stack"][-self.keep_published :]
                _write_json(self.folder / PUBLISHED, published)
            return self.get(name)

    def record_rollback(self, by: str) -> ModelView:
        """The serving model is withdrawn and the one before serves again; that one is returned."""
        with self.lock():
            published = self._published()
            if len(published["stack"]) < 2:
                raise NothingToRollBack("no model served before the one serving now: there is nothing to roll back to")
            withdrawn = published["stack"].pop()
            self._note(withdrawn, by, "withdraw", published)
            self._note(published["stack"][-1], by, "rollback", published)
            _write_json(self.folder / PUBLISHED, published)
            return self.get(published["stack"][-1])

    def prune(self) -> list[str]:
        """Delete the models (file and manifest) beyond what is kept; their names."""
        with self.lock():
            stack = self.stack()
            kept = set(stack[-self.keep_published :])
            others = [v for v in self.models() if v.name not in kept]  # newest first
            removed = []
            for view in others[self.keep_unpublished :]:
                view.path.unlink(missing_ok=True)
                self._manifest_path(view.name).unlink(missing_ok=True)
                removed.append(view.name)
            return removed
