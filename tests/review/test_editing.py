"""Editing responses and workflow texts (bot.review.editing): each edit changes exactly its lines of (a copy of) the
domain or workflow file, keeping every comment; the sentiment-conditioned variations are edited like the others;
an edit that would break the bot is refused with a reason and changes nothing; an edit of a file changed since it
was read is refused (409 in the console); each saved edit leaves its audit row (who, what before and after), in the
same transaction. On SQLite and PostgreSQL."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from bot.review import audit, editing, workflow_texts
from bot.review.editing import EditConflict
from bot.review.response_checks import ValidationError
from bot.review.responses import Condition, NoSuchResponse, VariationEdit, find, list_responses
from bot.review.service import TrainingData
from bot.review.workflow_texts import WorkflowTextError
from bot.review.yaml_spans import SpanError, version
from tests.review.test_nlu_files import changes

ROOT = Path(__file__).resolve().parents[2]
NEGATIVE = Condition("sentiment", "negative")


def content_copy(tmp_path: Path) -> TrainingData:
    """domain/, workflows/ and data/ copied under `tmp_path` (never the checkout's own: the model depends on them)."""
    for folder in ("domain", "workflows", "data"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    return TrainingData(nlu_dir=tmp_path / "data" / "nlu", domain_dir=tmp_path / "domain", root=tmp_path)


@pytest.fixture
def data(tmp_path: Path) -> Iterator[TrainingData]:
    yield content_copy(tmp_path)


def _save(session, data, name, edit, **kwargs):  # type: ignore[no-untyped-def]
    _, path = find(data.domain_dir, data.root, name)
    current = version(path.read_text())
    return editing.save_response(
        session, name, edit, expected_version=kwargs.pop("expected", current), by="cara", data=data, **kwargs
    )


def comments(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.lstrip().startswith("#")]


def test_the_domain_is_listed_with_variations_conditions_and_buttons(data):
    found = {r.name: r for r in list_responses(data.domain_dir, data.root)}
    which = found["utter_which_order"]
    assert which.file == "domain/orders.yml"
    assert [v.condition for v in which.variations] == [(NEGATIVE,), (), ()]
    assert which.variations[1].text == "Which order do you mean?"
    refund = found["utter_wf_refund_confirm"]
    assert refund.variations[0].buttons == ("Yes, thanks", "No")
    assert refund.placeholders() == {"refund_amount", "order_id", "refund_reference", "refund_expected_by"}


def test_a_sentiment_conditioned_variation_is_edited_in_its_one_line_with_every_comment_kept(session, data):
    path = data.domain_dir / "orders.yml"
    before = path.read_text()
    saved = _save(session, data, "utter_which_order", VariationEdit("change", 0, "So sorry! Which order is it?"))
    after = path.read_text()
    assert changes(before, after) == (
        ["      text: \"I'm sorry about the trouble. Let's sort it out: which order is it?\"\n"],
        ['      text: "So sorry! Which order is it?"\n'],
    )
    assert comments(after) == comments(before) and comments(before)
    assert saved.message == "Saved: 1 line changed in domain/orders.yml."
    assert saved.version == version(after)
    variations = yaml.safe_load(after)["responses"]["utter_which_order"]
    assert variations[0]["condition"] == [{"type": "slot", "name": "sentiment", "value": "negative"}]
    [entry] = audit.trail(session, "response", "utter_which_order")
    assert (entry.actor, entry.action) == ("cara", "response_edited")
    assert entry.changes == {
        "op": "change",
        "variation": 1,
        "text": {
            "before": "I'm sorry about the trouble. Let's sort it out: which order is it?",
            "after": "So sorry! Which order is it?",
        },
        "file": "domain/orders.yml",
    }


def test_a_condition_is_added_changed_and_removed_and_a_variation_added_and_removed(session, data):
    path = data.domain_dir / "orders.yml"
    start = path.read_text()
    _save(
        session, data, "utter_which_order", VariationEdit("change", 1, None, True, Condition("sentiment", "positive"))
    )
    assert changes(start, path.read_text())[1] == [
        "      condition:\n",
        "        - type: slot\n",
        "          name: sentiment\n",
        "          value: positive\n",
    ]
    _save(session, data, "utter_which_order", VariationEdit("change", 1, None, True, None))
    assert path.read_text() == start
    _save(session, data, "utter_which_order", VariationEdit("add", None, "Which order, {order_id}?", False, NEGATIVE))
    added = changes(start, path.read_text())
    assert added == (
        [],
        [
            "    - condition:\n",
            "        - type: slot\n",
            "          name: sentiment\n",
            "          value: negative\n",
            '      text: "Which order, {order_id}?"\n',
        ],
    )
    _save(session, data, "utter_which_order", VariationEdit("remove", 3))
    assert path.read_text() == start
    kinds = [
        (e.changes["op"], e.changes.get("condition")) for e in audit.trail(session, "response", "utter_which_order")
    ]
    assert kinds == [
        ("remove", {"before": "sentiment = negative", "after": None}),
        ("add", {"before": None, "after": "sentiment = negative"}),
        ("change", {"before": "sentiment = positive", "after": None}),
        ("change", {"before": None, "after": "sentiment = positive"}),
    ]


@pytest.mark.parametrize(
    ("name", "edit", "reason"),
    [
        ("utter_which_order", VariationEdit("change", 1, "   "), "a variation needs a text"),
        (
            "utter_order_not_found",
            VariationEdit("change", 1, "No order {order_number}"),
            "{order_number} is neither a slot",
        ),
        ("utter_which_order", VariationEdit("change", 1, "Which {} order"), "{} is not a placeholder"),
        (
            "utter_which_order",
            VariationEdit("change", 1, None, True, Condition("sentiment", "furious")),
            "is not a condition",
        ),
        ("utter_which_order", VariationEdit("change", 7, "x"), "has 3 variations: there is no number 8"),
        (
            "utter_wf_ask_order",
            VariationEdit("remove", 0),
            "a response keeps at least one variation: utter_wf_ask_order is",
        ),
        ("utter_which_order", VariationEdit("change", 1, "Which order do you mean?"), "nothing to save"),
    ],
)
def test_an_edit_that_would_break_the_bot_is_refused_and_changes_nothing(session, data, name, edit, reason):
    before = {p: p.read_text() for p in data.domain_dir.glob("*.yml")}
    with pytest.raises(SpanError) as refused:  # each a sentence the console answers with a 400
        _save(session, data, name, edit, rasa=False)
    assert reason in str(refused.value)
    assert {p: p.read_text() for p in data.domain_dir.glob("*.yml")} == before
    assert audit.trail(session, "response", name) == ()


def test_a_placeholder_a_workflow_never_fills_is_refused_by_the_workflows_validator(session, data):
    edit = VariationEdit("change", 0, "I can't find {order_id} for {product}. Check it?")
    with pytest.raises(ValidationError, match="which this workflow never fills") as refused:
        _save(session, data, "utter_wf_order_not_found", edit, rasa=False)
    assert "late_delivery.yml" in str(refused.value) or "wrong_charge.yml" in str(refused.value)


def test_rasa_loads_the_edited_domain_before_it_is_saved(session, data):
    """A text Rasa refuses (here: its schema; the editor cannot write one, so the file is broken by hand first)."""
    path = data.domain_dir / "orders.yml"
    path.write_text(path.read_text().replace("utter_which_order:\n", "utter_which_order:\n    - image: 5\n", 1))
    with pytest.raises(ValidationError, match="Rasa would not load the domain"):
        _save(session, data, "utter_which_order", VariationEdit("change", 2, "Which one?"))
    fine = _save(
        session, data, "utter_order_not_found", VariationEdit("change", 1, "No order {order_id} here."), rasa=False
    )
    assert fine.summary == "1 line changed"


def test_an_edit_of_a_file_changed_since_it_was_read_is_refused(session, data):
    path = data.domain_dir / "orders.yml"
    old = version(path.read_text())
    _save(session, data, "utter_which_order", VariationEdit("change", 1, "Which order?"), rasa=False)
    with pytest.raises(EditConflict, match="domain/orders.yml changed since you opened it"):
        _save(session, data, "utter_order_not_found", VariationEdit("change", 1, "x {order_id}"), expected=old)
    assert len(audit.trail(session, "response")) == 1


def test_an_unknown_response_is_its_own_error(session, data):
    with pytest.raises(NoSuchResponse):
        _save(session, data, "utter_nothing", VariationEdit("change", 0, "x"))


def test_a_workflow_button_and_title_are_edited_in_place_and_audited(session, data):
    path = data.root / "workflows" / "late_delivery.yml"
    before = path.read_text()
    texts = workflow_texts.read(data.root / "workflows", data.root, "late_delivery")
    assert texts.title.text == "Late or missing delivery"
    slightly = next(s for s in texts.steps if s.id == "slightly_late")
    assert [b.text for b in slightly.buttons][:2] == ["I'll wait", "Send a replacement"]
    assert slightly.responses == ("utter_wf_delivery_slightly_late",)
    saved = editing.save_workflow_text(
        session,
        "late_delivery",
        "steps.slightly_late.buttons.0.title",
        "I'll wait a couple of days",
        expected_version=texts.version,
        by="cara",
        data=data,
    )
    assert saved.message == "Saved: 1 line changed in workflows/late_delivery.yml."
    assert changes(before, path.read_text()) == (
        ['        - {title: "I\'ll wait", value: wait, next: wait_slightly_late, means: [wait_longer, affirm]}\n'],
        [
            '        - {title: "I\'ll wait a couple of days", value: wait, next: wait_slightly_late, means: [wait_longer, affirm]}\n'
        ],
    )
    assert comments(path.read_text()) == comments(before)
    [entry] = audit.trail(session, "workflow", "late_delivery")
    assert entry.changes == {
        "text": "steps.slightly_late.buttons.0.title",
        "before": "I'll wait",
        "after": "I'll wait a couple of days",
        "file": "workflows/late_delivery.yml",
    }
    with pytest.raises(EditConflict):
        editing.save_workflow_text(
            session, "late_delivery", "title", "Late", expected_version=texts.version, by="cara", data=data
        )


@pytest.mark.parametrize(
    ("key", "text", "reason"),
    [
        ("steps.nowhere.buttons.0.title", "Hi", "has no text steps.nowhere.buttons.0.title"),
        ("start", "trace", "is not a text of a workflow"),
        ("title", " ", "a workflow text is one line, not empty"),
        ("steps.slightly_late.buttons.0.title", "x" * 201, "at most 200 characters"),
    ],
)
def test_a_workflow_edit_that_is_not_a_text_is_refused(session, data, key, text, reason):
    path = data.root / "workflows" / "late_delivery.yml"
    before = path.read_text()
    with pytest.raises(WorkflowTextError, match=reason.replace("(", r"\(")):
        editing.save_workflow_text(
            session, "late_delivery", key, text, expected_version=version(before), by="cara", data=data
        )
    assert path.read_text() == before


def test_a_workflow_text_the_validator_refuses_is_not_saved(session, data):
    """The validator is the one of `tandem workflows validate`: a duplicate title is fine, a broken file is not."""
    path = data.root / "workflows" / "late_delivery.yml"
    path.write_text(path.read_text().replace("title: Late or missing delivery", "title: Late or missing delivery", 1))
    before = path.read_text()
    workflows = data.root / "workflows"
    broken = before.replace("    on_fail: order_not_identified\n", "    on_fail: order_not_identified_x\n", 1)
    with pytest.raises(WorkflowTextError, match="points to unknown step 'order_not_identified_x'"):
        workflow_texts.check(workflows, data.domain_dir, path, broken)
    workflow_texts.check(workflows, data.domain_dir, path, before)  # the copy as it is: no new problem


def test_a_condition_the_editor_does_not_offer_is_kept_when_the_text_changes(session, data):
    """config/response_conditions.yml offers `sentiment` only: the handoff offer's variant per reason keeps its
    condition (shown, not editable), and a request to change it is refused."""
    offer, path = find(data.domain_dir, data.root, "utter_offer_human")
    special = next(v for v in offer.variations if v.condition and v.condition[0].slot == "handoff_offer_reason")
    assert not special.condition_editable
    before = path.read_text()
    _save(
        session,
        data,
        "utter_offer_human",
        VariationEdit("change", special.index, "Shall I get you a person?"),
        rasa=False,
    )
    removed, added = changes(before, path.read_text())
    assert len(removed) == len(added) == 1 and "Shall I get you a person?" in added[0]
    kept = yaml.safe_load(path.read_text())["responses"]["utter_offer_human"][special.index]["condition"]
    assert kept[0]["name"] == "handoff_offer_reason"
    with pytest.raises(SpanError, match="has a condition the editor keeps as it is"):
        _save(
            session, data, "utter_offer_human", VariationEdit("change", special.index, None, True, NEGATIVE), rasa=False
        )
