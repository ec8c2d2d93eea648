"""Publishing on the production profile: every Rasa instance behind nginx loads the new model, one after the other,
a conversation going on through nginx continues across the swap, and a rollback puts the old model back on each."""

from __future__ import annotations

import json
import shutil
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bot.model_release.config import load_config
from bot.model_release.registry import Registry
from bot.model_release.service import Workspace, publish, rollback
from tests.support.production import Production
from tests.support.rasa_model import trained_model


def _serving_file(production: Production, instance: int) -> str:
    url = f"{production.rasa_url(instance)}/status?token={production.rasa_token}"
    with urllib.request.urlopen(url, timeout=60) as answer:
        return Path(json.loads(answer.read())["model_file"]).name


def _say(production: Production, sender: str, text: str) -> list[dict]:
    body = json.dumps({"sender": sender, "message": text}).encode()
    request = urllib.request.Request(
        f"{production.public_url}/webhooks/tandem/webhook", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=300) as answer:
        return json.loads(answer.read())


def test_every_instance_loads_the_published_model_and_a_rollback_restores_the_old_one(
    production: Production, tmp_path: Path
):
    # A registry of its own (the profile's is the tests' model cache): the serving model and a checked candidate.
    models = tmp_path / "models"
    models.mkdir()
    registry = Registry(models)
    for name in ("tandem-serving", "tandem-candidate"):
        shutil.copy(trained_model(), models / f"{name}.tar.gz")
        registry.register(models / f"{name}.tar.gz", trained_by="test")
    registry.record_published("tandem-serving", "test")
    registry.save_check("tandem-candidate", {"passed": True, "reasons": []})
    ws = Workspace(
        models,
        tmp_path / "state",
        production.rasa_token,
        load_config(),
        (production.rasa_url(0), production.rasa_url(1)),
    )
    assert _say(production, "publish-conversation", "hello")

    with ThreadPoolExecutor(max_workers=1) as pool:
        swapping = pool.submit(publish, ws, "tandem-candidate", by="test")
        during = _say(production, "publish-conversation", "where is my order?")  # one instance may be loading
        _, published = swapping.result()
    after = _say(production, "publish-conversation", "thanks")

    assert len(published.loaded) == 2  # one after the other
    assert [_serving_file(production, i) for i in (0, 1)] == ["tandem-candidate.tar.gz"] * 2
    assert during and after, "the conversation went on while the model was swapped"
    assert registry.current().name == "tandem-candidate"

    rollback(ws, by="test")
    assert [_serving_file(production, i) for i in (0, 1)] == ["tandem-serving.tar.gz"] * 2
    assert registry.current().name == "tandem-serving"
