"""Publishing a model into a running Rasa and rolling it back while a customer's conversation goes on: the message
sent while Rasa loads the new model is answered, by the new model, in the same conversation (the confirmation the
old model asked for is honoured), and after the rollback the conversation still goes on.

The stack's Rasa serves the tests' cached model; the "new" model is the same file copied under another name (training
a second one would take minutes): what is protected is the swap, and that the registry and every server agree on
which file serves (tests/model_release/test_registry.py shows the registry points at the right files).
"""

from __future__ import annotations

import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.db.models import Customer, Order
from bot.db.session import session_scope
from bot.identity import sign_customer
from bot.model_release.config import load_config
from bot.model_release.instances import RasaInstance, served_model
from bot.model_release.progress import ProgressEvent
from bot.model_release.registry import Registry
from bot.model_release.service import Workspace, publish, rollback
from tests.e2e.test_rest_end_to_end import say, texts
from tests.support.rasa_model import trained_model

pytestmark = pytest.mark.slow


def a_processing_order(url: str) -> tuple[str, str]:
    """(customer, order number): the last one still processing (other tests cancel the first)."""
    with session_scope(url) as session:
        number, customer = session.execute(
            select(Order.order_number, Customer.external_id)
            .join(Customer)
            .where(Order.status == "processing")
            .order_by(Order.order_number.desc())
        ).first()
        return customer, number


def while_loading(swap, say_something):  # -> (the swap's result, the reply, whether it was sent mid-swap)
    """Start `swap(progress)`, and once a server begins loading, send a message; both results."""
    loading = threading.Event()

    def progress(event: ProgressEvent) -> None:
        if " loads " in event.message:
            loading.set()

    with ThreadPoolExecutor(max_workers=1) as pool:
        running = pool.submit(swap, progress)
        assert loading.wait(60), "the swap never started loading"
        time.sleep(0.5)  # the PUT /model is on its way: Rasa is loading and answers nothing else meanwhile
        sent_during_swap = not running.done()
        reply = say_something()
        return running.result(timeout=600), reply, sent_during_swap


def test_a_conversation_goes_on_across_a_publish_and_a_rollback(stack, postgres_shop, tmp_path: Path):
    models = tmp_path / "models"
    models.mkdir()
    cached = trained_model()
    serving, candidate = models / cached.name, models / "tandem-candidate.tar.gz"
    shutil.copy(cached, serving)  # what the stack's Rasa serves, byte for byte
    shutil.copy(cached, candidate)
    registry = Registry(models)
    registry.register(serving, trained_by="tests")
    registry.record_published(serving.name, "tests")
    registry.register(candidate, trained_by="tests")
    registry.save_check("tandem-candidate", {"passed": True, "reasons": []})
    ws = Workspace(models, tmp_path / "state", stack["rasa_token"], load_config(), (stack["rasa_base"],))
    rasa = RasaInstance("rasa", stack["rasa_base"])

    customer, order = a_processing_order(postgres_shop)
    token, sender = sign_customer(customer), "e2e-model-swap"
    status, reply = say(stack["url"], sender, f"please cancel order {order}", token)
    assert status == 200 and [b["payload"] for b in reply[-1]["buttons"]] == ["/affirm", "/deny"]

    (_, published), (status, reply), mid_swap = while_loading(
        lambda progress: publish(ws, "tandem-candidate", by="e2e", progress=progress),
        lambda: say(stack["url"], sender, "/affirm", token),
    )
    assert mid_swap, "the message was sent after the swap: this test would prove nothing"
    assert status == 200 and order in texts(reply) and "cancelled" in texts(reply), reply
    assert published.model == "tandem-candidate" and published.previous == cached.name[: -len(".tar.gz")]
    assert served_model(rasa, stack["rasa_token"]) == "tandem-candidate.tar.gz"
    assert registry.current().path == candidate
    with session_scope(postgres_shop) as session:
        assert session.execute(select(Order.status).where(Order.order_number == order)).scalar_one() == "cancelled"

    back, (status, reply), mid_swap = while_loading(
        lambda progress: rollback(ws, by="e2e", progress=progress),
        lambda: say(stack["url"], sender, f"where is my order {order}?", token),
    )
    assert mid_swap
    assert status == 200 and order in texts(reply), reply
    assert back.model == cached.name[: -len(".tar.gz")] and back.previous == "tandem-candidate"
    assert served_model(rasa, stack["rasa_token"]) == cached.name
    assert registry.current().path == serving and registry.get("tandem-candidate").withdrawn
