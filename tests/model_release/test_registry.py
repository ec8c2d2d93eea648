"""The model registry: which file serves, which one a rollback brings back, what is kept, and what `tandem up`
serves at start and after a restart of a Rasa server. Real files in a real models folder; no training (a model
file here is any file: the registry never opens it)."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import pytest

from bot.model_release.registry import NothingToRollBack, Registry, RegistryError, UnknownModel
from bot.model_release.service import model_at_start, published_model


def a_model(models: Path, name: str) -> Path:
    """A model file whose content says which one it is."""
    models.mkdir(parents=True, exist_ok=True)
    path = models / f"{name}.tar.gz"
    path.write_bytes(f"model {name}".encode())
    return path


def content(path: Path | None) -> str:
    assert path is not None
    return path.read_bytes().decode()


def registered(registry: Registry, *names: str) -> None:
    for name in names:
        registry.register(a_model(registry.models_dir, name), trained_by="tests")


def test_a_registered_model_has_a_manifest_with_its_fingerprint_and_who_trained_it(tmp_path: Path):
    registry = Registry(tmp_path)
    view = registry.register(
        a_model(tmp_path, "tandem-abc"), trained_by="ana (tandem model train)", fingerprint="abc", training_seconds=61.5
    )
    manifest = json.loads((tmp_path / "registry" / "tandem-abc.json").read_text())
    assert manifest["fingerprint"] == "abc" and manifest["trained_by"] == "ana (tandem model train)"
    assert manifest["check"] is None and manifest["publications"] == []
    assert view.path == tmp_path / "tandem-abc.tar.gz" and content(view.path) == "model tandem-abc"
    assert not view.serving and not view.published


def test_registering_again_keeps_what_was_recorded_first(tmp_path: Path):
    registry = Registry(tmp_path)
    registry.register(a_model(tmp_path, "tandem-abc"), trained_by="first", fingerprint="abc")
    again = registry.register(tmp_path / "tandem-abc.tar.gz", trained_by="second")
    assert again.trained_by == "first" and again.fingerprint == "abc"


def test_only_model_files_of_the_models_folder_are_registered(tmp_path: Path):
    registry = Registry(tmp_path / "models")
    with pytest.raises(RegistryError, match="not a model file of"):
        registry.register(a_model(tmp_path / "elsewhere", "tandem-x"), trained_by="tests")
    with pytest.raises(RegistryError, match="no model file"):
        registry.register(tmp_path / "models" / "tandem-missing.tar.gz", trained_by="tests")
    with pytest.raises(UnknownModel, match="tandem-nope"):
        registry.get("tandem-nope")


def test_the_published_model_serves_and_the_one_before_is_previous_each_pointing_at_its_own_file(tmp_path: Path):
    registry = Registry(tmp_path)
    registered(registry, "tandem-a", "tandem-b", "tandem-c")
    assert registry.current() is None and registry.previous() is None
    registry.record_published("tandem-a", "tests")
    registry.record_published("tandem-b.tar.gz", "tests")  # a file name works as well as a model name
    current, previous = registry.current(), registry.previous()
    assert current is not None and previous is not None
    assert (current.name, content(current.path)) == ("tandem-b", "model tandem-b")
    assert (previous.name, content(previous.path)) == ("tandem-a", "model tandem-a")
    serving = [v.name for v in registry.models() if v.serving]
    assert serving == ["tandem-b"]
    assert not registry.get("tandem-c").published


def test_a_rollback_brings_back_what_served_before_and_withdraws_the_current_model(tmp_path: Path):
    registry = Registry(tmp_path)
    registered(registry, "tandem-a", "tandem-b", "tandem-c")
    for name in ("tandem-a", "tandem-b", "tandem-c"):
        registry.record_published(name, "tests")
    back = registry.record_rollback("ana")
    assert back.name == "tandem-b" and content(back.path) == "model tandem-b"
    assert registry.get("tandem-c").withdrawn and not registry.get("tandem-c").in_stack
    # A second rollback goes further back, never forward to the withdrawn model.
    assert registry.record_rollback("ana").name == "tandem-a"
    with pytest.raises(NothingToRollBack):
        registry.record_rollback("ana")
    assert [(p.model, p.action, p.by) for p in registry.log()][-4:] == [
        ("tandem-c", "withdraw", "ana"),
        ("tandem-b", "rollback", "ana"),
        ("tandem-b", "withdraw", "ana"),
        ("tandem-a", "rollback", "ana"),
    ]
    # Published again, a withdrawn model is no longer withdrawn.
    registry.record_published("tandem-c", "tests")
    assert not registry.get("tandem-c").withdrawn and registry.get("tandem-c").serving


def test_publishing_the_serving_model_again_records_nothing(tmp_path: Path):
    registry = Registry(tmp_path)
    registered(registry, "tandem-a")
    registry.record_published("tandem-a", "tests")
    registry.record_published("tandem-a", "tests")
    assert registry.stack() == ["tandem-a"] and len(registry.log()) == 1


def test_only_the_last_published_models_and_the_newest_others_are_kept(tmp_path: Path):
    registry = Registry(tmp_path, keep_published=2, keep_unpublished=1)
    names = [f"tandem-{i}" for i in range(6)]
    for i, name in enumerate(names):
        path = a_model(tmp_path, name)
        stamp = 1_700_000_000 + i * 60  # trained a minute apart, in this order
        os.utime(path, (stamp, stamp))
        registry.register(path, trained_by="tests")
    for name in names[:4]:
        registry.record_published(name, "tests")
    removed = registry.prune()
    # Kept: the last two published (2, 3) and the newest of the others (5); 0, 1 (published long ago) and 4 go.
    assert sorted(removed) == ["tandem-0", "tandem-1", "tandem-4"]
    assert sorted(p.name for p in tmp_path.glob("*.tar.gz")) == [
        "tandem-2.tar.gz",
        "tandem-3.tar.gz",
        "tandem-5.tar.gz",
    ]
    assert sorted(v.name for v in registry.models()) == ["tandem-2", "tandem-3", "tandem-5"]
    assert registry.stack() == ["tandem-2", "tandem-3"]


def test_a_change_waits_for_another_holder_of_the_lock(tmp_path: Path):
    """Two processes (here two registry objects, as two processes would have) never interleave a publish."""
    first, second = Registry(tmp_path), Registry(tmp_path)
    registered(first, "tandem-a", "tandem-b")
    held = threading.Event()

    def hold() -> None:
        with first.lock():
            held.set()
            time.sleep(0.5)
            first.record_published("tandem-a", "first")

    thread = threading.Thread(target=hold)
    thread.start()
    held.wait(5)
    second.record_published("tandem-b", "second")  # waits for the first to finish
    thread.join(5)
    assert second.stack() == ["tandem-a", "tandem-b"]


def test_tandem_up_publishes_a_model_of_new_data_but_a_refused_or_rolled_back_one_does_not_come_back(
    tmp_path: Path,
):
    models = tmp_path / "models"
    first = a_model(models, "tandem-first")
    assert model_at_start(models, first, by="tandem up") == first  # nothing published yet: it serves
    edited = a_model(models, "tandem-edited")
    assert model_at_start(models, edited, by="tandem up") == edited  # data the registry never saw: an engineer's edit
    registry = Registry(models)
    assert registry.current().name == "tandem-edited" and registry.previous().name == "tandem-first"

    registry.record_rollback("ana")  # the edited model was rolled back; the data still say "edited"
    assert model_at_start(models, edited, by="tandem up") == first
    assert published_model(models) == first

    refused = a_model(models, "tandem-refused")
    registry.register(refused, trained_by="check")  # checked, failed, never published
    assert model_at_start(models, refused, by="tandem up") == first
    assert content(published_model(models)) == "model tandem-first"


def test_a_restarted_rasa_gets_the_published_model_and_none_when_its_file_is_gone(tmp_path: Path):
    registry = Registry(tmp_path)
    assert published_model(tmp_path) is None
    registered(registry, "tandem-a")
    registry.record_published("tandem-a", "tests")
    assert published_model(tmp_path) == tmp_path / "tandem-a.tar.gz"
    (tmp_path / "tandem-a.tar.gz").unlink()
    assert published_model(tmp_path) is None


def test_a_rasa_server_that_tandem_up_starts_again_loads_the_model_published_meanwhile(tmp_path: Path):
    """`tandem model publish` runs in another process than `up`: a Rasa that crashes and is started again by `up`
    must not bring back the model `up` started with."""
    import sys

    from bot.stack import Service, launch, serve_published

    models = tmp_path / "models"
    registry = Registry(models)
    registered(registry, "tandem-started", "tandem-published")
    registry.record_published("tandem-started", "tandem up")
    command = [
        sys.executable,
        "-c",
        "import sys; print(sys.argv[-1])",
        "--model",
        str(models / "tandem-started.tar.gz"),
    ]
    rasa = Service("rasa", command, None, log=tmp_path / "rasa.log")
    serve_published([rasa], models)
    registry.record_published("tandem-published", "ana (tandem model publish)")
    launch(rasa, {})  # what `up` does when the process died
    assert rasa.process is not None and rasa.process.wait(30) == 0
    assert (tmp_path / "rasa.log").read_text().strip() == str(models / "tandem-published.tar.gz")
