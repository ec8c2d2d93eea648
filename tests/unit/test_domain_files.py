"""The domain read as plain data: a file or the folder of topic files, merged as Rasa merges them."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.domain_files import DEFAULT_DOMAIN, DomainFileError, domain_files, load_domain
from tests.conftest import ROOT

ORDERS = """\
version: "3.1"
intents:
  - order_status
slots:
  order_id:
    type: text
    mappings: [{type: from_entity, entity: order_id}]
actions:
  - action_order_status
responses:
  utter_which_order:
    - text: "Which order?"
"""
CHITCHAT = """\
version: "3.1"
intents:
  - greet: {use_entities: []}
responses:
  utter_greet:
    - text: "Hi!"
"""


def test_a_folder_is_merged_across_its_topic_files(tmp_path: Path) -> None:
    (tmp_path / "orders.yml").write_text(ORDERS)
    (tmp_path / "more").mkdir()
    (tmp_path / "more" / "chitchat.yml").write_text(CHITCHAT)
    (tmp_path / "notes.txt").write_text("not a domain file")
    domain = load_domain(tmp_path)
    assert domain["intents"] == [{"greet": {"use_entities": []}}, "order_status"]  # files by path: more/ first
    assert set(domain["responses"]) == {"utter_which_order", "utter_greet"}
    assert domain["slots"]["order_id"]["type"] == "text" and domain["actions"] == ["action_order_status"]
    assert domain_files(tmp_path) == [tmp_path / "more" / "chitchat.yml", tmp_path / "orders.yml"]


def test_a_single_file_is_read_as_it_is(tmp_path: Path) -> None:
    (tmp_path / "domain.yml").write_text(ORDERS)
    assert load_domain(tmp_path / "domain.yml")["responses"] == {"utter_which_order": [{"text": "Which order?"}]}


def test_a_name_defined_in_two_files_names_both(tmp_path: Path) -> None:
    (tmp_path / "a.yml").write_text(ORDERS)
    (tmp_path / "b.yml").write_text(ORDERS.replace("order_status", "cancel_order"))
    with pytest.raises(DomainFileError, match=r"b\.yml: 'order_id' in slots is already defined in .*a\.yml"):
        load_domain(tmp_path)


def test_a_missing_domain_is_an_os_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_domain(tmp_path / "nowhere")


def test_the_shipped_domain_reads_as_rasa_reads_it() -> None:
    from rasa.shared.core.domain import Domain

    assert DEFAULT_DOMAIN == ROOT / "domain"
    ours, rasa = load_domain(), Domain.load(str(DEFAULT_DOMAIN))
    assert {i if isinstance(i, str) else next(iter(i)) for i in ours["intents"]} <= set(rasa.intents)
    assert set(ours["entities"]) == set(rasa.entities)
    assert set(ours["actions"]) == set(rasa.user_actions) - set(rasa.responses)
    assert ours["responses"] == rasa.responses
    assert set(ours["slots"]) <= {slot.name for slot in rasa.slots} and set(ours["forms"]) == set(rasa.form_names)
