"""An accepted example lands in Rasa's training data as a person would add it: in the file that holds its intent,
so that a git diff shows exactly the added line, comments, order, quoting and block style untouched; a new intent in
the file and domain topic chosen; an example the data has already is refused, and a refusal changes no file."""

from __future__ import annotations

import difflib
import shutil
from pathlib import Path

import pytest
import yaml

from bot.review import nlu_files
from bot.review.nlu_files import DuplicateExample, NluFileError, apply, plan_domain_intent, plan_example

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def data(tmp_path: Path) -> tuple[Path, Path]:
    """Copies of the project's data/nlu and domain folders."""
    shutil.copytree(ROOT / "data" / "nlu", tmp_path / "nlu")
    shutil.copytree(ROOT / "domain", tmp_path / "domain")
    return tmp_path / "nlu", tmp_path / "domain"


def changes(before: str, after: str) -> tuple[list[str], list[str]]:
    """(removed lines, added lines) between two texts, as git would show them."""
    removed, added = [], []
    diff = difflib.ndiff(before.splitlines(keepends=True), after.splitlines(keepends=True))
    for line in diff:
        if line.startswith("- "):
            removed.append(line[2:])
        elif line.startswith("+ "):
            added.append(line[2:])
    return removed, added


def test_an_example_is_one_added_line_under_its_intent_in_the_file_that_holds_it(data):
    nlu, _ = data
    before = (nlu / "orders.yml").read_text()
    edit = plan_example("order_status", "hiya where has [TD010001](order_id) got to", nlu_dir=nlu)
    assert edit.path == nlu / "orders.yml"
    apply([edit])
    after = (nlu / "orders.yml").read_text()
    assert changes(before, after) == ([], ["    - hiya where has [TD010001](order_id) got to\n"])
    examples = next(i for i in yaml.safe_load(after)["nlu"] if i.get("intent") == "order_status")["examples"]
    assert examples.endswith("- what stage is my order at\n- hiya where has [TD010001](order_id) got to\n")
    assert "# Orders: asking where an order is" in after  # the file's comments are kept


@pytest.mark.parametrize("path", sorted((ROOT / "data" / "nlu").glob("*.yml")), ids=lambda p: p.name)
def test_every_intent_file_of_the_project_takes_an_example_as_exactly_one_line(data, path):
    nlu, _ = data
    intents = [i["intent"] for i in yaml.safe_load(path.read_text())["nlu"] if "intent" in i]
    if not intents:  # entities.yml: synonyms, lookups and regexes only
        return
    for intent in dict.fromkeys((intents[0], intents[-1])):  # the first and the last (one, if they are one)
        before = (nlu / path.name).read_text()
        edit = plan_example(intent, f"a brand new way to say {intent} zq", nlu_dir=nlu)
        assert edit.path.name == path.name
        assert changes(before, edit.after)[0] == []
        assert len(changes(before, edit.after)[1]) == 1
        apply([edit])


def test_a_new_intent_goes_at_the_end_of_the_chosen_file_and_into_the_domain_topic(data):
    nlu, domain = data
    nlu_before, domain_before = (nlu / "shop_policies.yml").read_text(), (domain / "shop_policies.yml").read_text()
    edit = plan_example(
        "store_hours", "when does your shop in leeds open on sundays", nlu_dir=nlu, new_file="shop_policies"
    )
    listed = plan_domain_intent("store_hours", domain / "shop_policies.yml")
    assert listed is not None
    apply([edit, listed])
    assert changes(nlu_before, (nlu / "shop_policies.yml").read_text()) == (
        [],
        ["\n", "- intent: store_hours\n", "  examples: |\n", "    - when does your shop in leeds open on sundays\n"],
    )
    assert changes(domain_before, (domain / "shop_policies.yml").read_text()) == ([], ["  - store_hours\n"])
    assert plan_domain_intent("store_hours", domain / "shop_policies.yml") is None  # listed once


def test_the_domain_keeps_its_emoji_and_quoting_when_an_intent_is_added(data):
    _, domain = data
    before = (domain / "chitchat.yml").read_text()
    assert "👋" in before
    edit = plan_domain_intent("store_hours", domain / "chitchat.yml")
    assert edit is not None
    assert changes(before, edit.after) == ([], ["  - store_hours\n"])


def test_a_new_intent_may_open_a_new_topic_file(data):
    nlu, _ = data
    edit = plan_example("store_hours", "are you open on bank holidays", nlu_dir=nlu, new_file="stores.yml")
    apply([edit])
    assert yaml.safe_load((nlu / "stores.yml").read_text()) == {
        "version": "3.1",
        "nlu": [{"intent": "store_hours", "examples": "- are you open on bank holidays\n"}],
    }


def test_a_new_intent_without_a_chosen_file_is_refused(data):
    nlu, _ = data
    with pytest.raises(NluFileError, match="choose the file"):
        plan_example("store_hours", "are you open on bank holidays", nlu_dir=nlu)
    with pytest.raises(NluFileError, match="not a topic file name"):
        plan_example("store_hours", "are you open on bank holidays", nlu_dir=nlu, new_file="../../etc/passwd")


@pytest.mark.parametrize(
    "example",
    [
        "where is my order",  # as it is in orders.yml
        "Where is my order?",  # case and end punctuation do not count
        "where  is my order !",
    ],
)
def test_an_example_already_in_any_file_is_refused_with_where_it_is(data, example):
    nlu, _ = data
    with pytest.raises(DuplicateExample, match=r"already an example of order_status in orders.yml"):
        plan_example("greet", example, nlu_dir=nlu)


def test_an_annotated_duplicate_is_found_by_its_text(data):
    nlu, _ = data
    with pytest.raises(DuplicateExample):
        plan_example("order_status", "track order [TD104233](order_id)", nlu_dir=nlu)
    with pytest.raises(DuplicateExample):  # the same words without the annotation
        plan_example("order_status", "track order TD104233", nlu_dir=nlu)


def test_a_refused_edit_writes_no_file(data):
    nlu, domain = data
    snapshot = {p: p.read_text() for p in [*nlu.glob("*.yml"), *domain.glob("*.yml")]}
    with pytest.raises(NluFileError):
        plan_example("order_status", "two\nlines", nlu_dir=nlu)
    with pytest.raises(NluFileError, match="no domain file"):
        plan_domain_intent("store_hours", domain / "nowhere.yml")
    assert {p: p.read_text() for p in snapshot} == snapshot


def test_a_file_whose_examples_are_not_a_literal_block_is_refused(tmp_path):
    (tmp_path / "odd.yml").write_text('version: "3.1"\nnlu:\n- intent: greet\n  examples: "- hi\\n- hello\\n"\n')
    with pytest.raises(NluFileError, match="literal block"):
        plan_example("greet", "hiya", nlu_dir=tmp_path)


def test_an_intent_with_an_empty_block_and_a_file_with_a_comment_after_it(tmp_path):
    text = 'version: "3.1"\nnlu:\n- intent: greet\n  examples: |\n    - hi\n# the end\n'
    (tmp_path / "small.yml").write_text(text)
    edit = plan_example("greet", "hiya", nlu_dir=tmp_path)
    assert changes(text, edit.after) == ([], ["    - hiya\n"])
    assert edit.after.endswith("    - hi\n    - hiya\n# the end\n")


def test_the_diff_names_the_file_and_the_added_line(data):
    nlu, _ = data
    edit = plan_example("order_status", "any news on my laptop order", nlu_dir=nlu)
    assert "+    - any news on my laptop order" in edit.diff()
    assert str(nlu / "orders.yml") in edit.diff()


def test_intent_examples_reads_every_intent_of_the_training_data():
    found = {(p.name, intent) for p, intent, _ in nlu_files.intent_examples()}
    assert ("orders.yml", "order_status") in found
    assert not any(name == "entities.yml" for name, _ in found)


def test_an_intent_in_two_files_gets_its_example_where_most_of_its_examples_are(data):
    nlu, _ = data
    assert {p.name for p, intent, _ in nlu_files.intent_examples(nlu) if intent == "inform"} == {
        "answers.yml",
        "inform.yml",
    }
    assert plan_example("inform", "its the [pixel 9](product) i think", nlu_dir=nlu).path.name == "inform.yml"
