"""Edits in place (bot.review.yaml_spans, bot.review.responses.plan): a scalar keeps its quoting where it can, a
comment after it on its line stays, a block scalar becomes one quoted line, and every variation of the project's
own domain can be edited as exactly one changed line."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.review import yaml_spans
from bot.review.responses import ResponseError, VariationEdit, list_responses, plan
from tests.review.test_nlu_files import changes

ROOT = Path(__file__).resolve().parents[2]
DOC = """# a header comment
responses:
  utter_plain:
    - text: Hello there  # says hello
  utter_single:
    - text: 'It''s here'
  utter_block:
    - text: |
        Two
        lines
    - text: "Ünïcode 🙂"
      buttons: [{title: Yes, payload: /affirm}]
"""


@pytest.mark.parametrize(
    ("name", "index", "new", "line"),
    [
        ("utter_plain", 0, "Hi again", "    - text: Hi again  # says hello\n"),
        ("utter_plain", 0, "Hi: #1", '    - text: "Hi: #1"  # says hello\n'),
        ("utter_single", 0, "It's 'there'", "    - text: 'It''s ''there'''\n"),
        ("utter_block", 1, 'Ça va 🙂 "ok"', '    - text: "Ça va 🙂 \\"ok\\""\n'),
    ],
)
def test_a_text_keeps_its_style_and_the_comment_after_it(name, index, new, line):
    after, _ = plan(DOC, name, VariationEdit("change", index, new), "x.yml")
    removed, added = changes(DOC, after)
    assert added == [line] and len(removed) == 1
    assert yaml.safe_load(after)["responses"][name][index]["text"] == new


def test_a_block_text_becomes_one_quoted_line():
    after, _ = plan(DOC, "utter_block", VariationEdit("change", 0, "One line\nand a break"), "x.yml")
    assert changes(DOC, after) == (
        ["    - text: |\n", "        Two\n", "        lines\n"],
        ['    - text: "One line\\nand a break"\n'],
    )
    assert "# a header comment" in after


def test_a_flow_list_of_variations_is_refused_rather_than_rewritten():
    doc = 'responses:\n  utter_x: [{text: "a"}, {text: "b"}]\n'
    with pytest.raises(ResponseError, match="not a block list"):
        plan(doc, "utter_x", VariationEdit("change", 0, "c"), "x.yml")


def test_every_variation_of_the_domain_can_be_edited_as_one_line():
    for response in list_responses(ROOT / "domain", ROOT):
        text = (ROOT / response.file).read_text()
        for v in response.variations:
            if v.text is None or "\n" in v.text:
                continue
            after, _ = plan(text, response.name, VariationEdit("change", v.index, v.text + " (edited)"), response.file)
            removed, added = changes(text, after)
            assert (len(removed), len(added)) == (1, 1), (response.name, v.index)


def test_a_version_names_the_content():
    assert yaml_spans.version("a") == yaml_spans.version("a") != yaml_spans.version("b")
