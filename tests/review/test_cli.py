"""`tandem review inbox` and `tandem review annotate`: a CX user lists what the bot was unsure about (personal data
redacted), accepts a message under an intent and sees the training data gain exactly that line (a new intent in the
domain too), or discards it; refusals exit 1 and change nothing. On SQLite and PostgreSQL."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from bot.cli import main
from bot.db.session import dispose_engine, session_scope
from bot.review.annotations import list_annotations
from tests.review.rows import Msg, conversation, unsure
from tests.review.test_nlu_files import changes

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def url(db_factory) -> Iterator[str]:
    """A fresh database with a day of conversations; ids of the messages are printed by the inbox."""
    made = db_factory.create()
    with session_scope(made) as session:
        conversation(
            session,
            "a",
            [
                unsure("hiya where has TD104233 got to"),
                unsure("hiya where has td-220001 got to", 1),
                Msg("do you sell gift cards", "product_question", 0.4, 0.02, True, 2),
                Msg("ring me on 07700 900123", "ask_human", 0.55, 0.3, False, 3),
            ],
        )
    yield made
    dispose_engine(made)


@pytest.fixture
def data(tmp_path: Path) -> tuple[Path, Path]:
    shutil.copytree(ROOT / "data" / "nlu", tmp_path / "nlu")
    shutil.copytree(ROOT / "domain", tmp_path / "domain")
    return tmp_path / "nlu", tmp_path / "domain"


def inbox(capsys, url: str, *args: str) -> tuple[int, str]:
    code = main(["review", "inbox", "--database-url", url, "--no-groups", *args])
    return code, capsys.readouterr().out


def message_id(out: str, text: str) -> int:
    line = next(line for line in out.splitlines() if line.endswith(text))
    return int(re.search(r"#(\d+)", line).group(1))


def annotate(url: str, data: tuple[Path, Path], *args: str) -> int:
    nlu, domain = data
    return main(
        ["review", "annotate", *args, "--by", "cx.anna", "--nlu-dir", str(nlu), "--domain-dir", str(domain)]
        + ["--database-url", url]
    )


def test_the_inbox_lists_redacted_messages_most_frequent_first(capsys, url):
    code, out = inbox(capsys, url)
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == (
        "4 messages, 3 distinct (page 1 of 1); fallback 1, low_confidence 4, narrow_margin 1, handoff 0"
    )
    assert re.fullmatch(r"  #\d+  x2  low_confidence  order_status 0\.50  hiya where has TD010001 got to", lines[1])
    assert "07700" not in out and "104233" not in out
    assert any(line.endswith("ask_human 0.55  ring me on <phone>") for line in lines)


def test_the_inbox_filters_by_reason_and_day(capsys, url):
    code, out = inbox(capsys, url, "--reason", "narrow_margin", "--reason", "fallback", "--since", "2026-11-02")
    assert code == 0
    assert out.splitlines()[1].endswith("do you sell gift cards")
    assert len(out.splitlines()) == 2
    code, out = inbox(capsys, url, "--since", "2026-11-03")
    assert out.splitlines()[0].startswith("0 messages, 0 distinct")


def test_the_inbox_groups_by_meaning_with_the_encoder(capsys, url):
    assert main(["review", "inbox", "--database-url", url]) == 0
    out = capsys.readouterr().out
    assert "hiya where has TD010001 got to" in out


def test_accepting_a_message_adds_exactly_its_line_to_the_intents_file(capsys, url, data):
    nlu, _ = data
    _, out = inbox(capsys, url)
    before = (nlu / "orders.yml").read_text()
    assert annotate(url, data, str(message_id(out, "hiya where has TD010001 got to")), "--intent", "order_status") == 0
    printed = capsys.readouterr().out
    assert printed.startswith("annotation 1: confirmed as order_status, written to ")
    assert "+    - hiya where has [TD010001](order_id) got to" in printed
    assert changes(before, (nlu / "orders.yml").read_text()) == (
        [],
        ["    - hiya where has [TD010001](order_id) got to\n"],
    )
    with session_scope(url) as session:
        [view] = list_annotations(session)
    assert (view.annotated_by, view.nlu_file) == ("cx.anna", str(nlu / "orders.yml"))
    _, out = inbox(capsys, url)
    assert "hiya where has" not in out  # both messages left the inbox


def test_a_new_intent_goes_into_the_chosen_topic_and_the_domain(capsys, url, data):
    nlu, domain = data
    _, out = inbox(capsys, url)
    ident = str(message_id(out, "do you sell gift cards"))
    args = ["--intent", "gift_cards", "--new-intent-file", "products"]
    assert annotate(url, data, ident, *args) == 0
    assert {"intent": "gift_cards", "examples": "- do you sell gift cards\n"} in yaml.safe_load(
        (nlu / "products.yml").read_text()
    )["nlu"]
    assert "gift_cards" in yaml.safe_load((domain / "products.yml").read_text())["intents"]


def test_an_unknown_intent_without_a_file_is_refused_and_nothing_is_recorded(capsys, url, data):
    _, out = inbox(capsys, url)
    ident = str(message_id(out, "do you sell gift cards"))
    assert annotate(url, data, ident, "--intent", "gift_cardz") == 1
    assert "'gift_cardz' is not an intent of the domain" in capsys.readouterr().err
    with session_scope(url) as session:
        assert list_annotations(session) == ()


def test_an_example_the_data_has_is_refused_and_no_file_or_row_changes(capsys, url, data, tmp_path):
    nlu, _ = data
    with session_scope(url) as session:
        [ident] = conversation(session, "b", [unsure("where is my order")])
    snapshot = {p: p.read_text() for p in nlu.glob("*.yml")}
    assert annotate(url, data, str(ident), "--intent", "order_status") == 1
    assert "already an example of order_status in orders.yml" in capsys.readouterr().err
    assert {p: p.read_text() for p in nlu.glob("*.yml")} == snapshot
    with session_scope(url) as session:
        assert list_annotations(session) == ()


def test_a_discarded_message_leaves_the_inbox_without_touching_the_data(capsys, url, data):
    nlu, _ = data
    snapshot = {p: p.read_text() for p in nlu.glob("*.yml")}
    _, out = inbox(capsys, url)
    assert annotate(url, data, str(message_id(out, "ring me on <phone>")), "--discard") == 0
    assert capsys.readouterr().out == "annotation 1: discarded 'ring me on <phone>'\n"
    assert {p: p.read_text() for p in nlu.glob("*.yml")} == snapshot
    _, out = inbox(capsys, url)
    assert "ring me" not in out


def test_bad_input_exits_2_and_an_unknown_message_exits_1(capsys, url, data):
    with pytest.raises(SystemExit) as bad_reason:
        main(["review", "inbox", "--reason", "sad", "--database-url", url])
    assert bad_reason.value.code == 2
    with pytest.raises(SystemExit) as bad_entity:
        main(["review", "annotate", "1", "--intent", "greet", "--entity", "a:b", "--database-url", url])
    assert bad_entity.value.code == 2
    assert main(["review", "inbox", "--page-size", "100000", "--database-url", url]) == 2
    assert annotate(url, data, "999999", "--discard") == 1
    assert "no message 999999 in the inbox" in capsys.readouterr().err
