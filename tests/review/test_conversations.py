"""The conversation review's services on SQLite and PostgreSQL: filters find exactly the conversations they name; a
transcript shows each message's NLU and each action's policy, redacted, from Rasa's tracker store or, without it, the
analytics turns; tags, "reviewed" and notes persist with an audit record each; Save as test appends a story Rasa reads
(corrected intents included), unique by name, redacted, and refuses what Rasa would not read without writing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from bot.db.session import dispose_engine, session_scope
from bot.review import audit
from bot.review.conversation_marks import mark_reviewed, review_state, set_note, set_tags
from bot.review.conversations import ConversationError, ConversationFilter, NoSuchConversation, search
from bot.review.saved_tests import HEADER, StoryError, StoryFile, save_test
from bot.review.transcript import TRACKER, TURNS, transcript
from tests.review.conversation_rows import (
    NAMED_REDACTED,
    PERSONAL_REDACTED,
    PERSONAL_VALUES,
    T0,
    Seeded,
    clear,
    seed,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def _module_db(db_factory) -> Iterator[str]:
    url = db_factory.create()
    yield url
    dispose_engine(url)


@pytest.fixture
def seeded(_module_db: str, tmp_path: Path) -> tuple[str, Seeded]:
    clear(_module_db)
    return _module_db, seed(_module_db, tmp_path)


def ids(url: str, f: ConversationFilter, **kw) -> list[int]:
    with session_scope(url) as session:
        return [c.id for c in search(session, f, **kw).items]


def test_filters_find_exactly_the_conversations_they_name(seeded):
    url, s = seeded
    assert ids(url, ConversationFilter()) == [s.fallback, s.returns, s.greeting]  # newest first
    assert ids(url, ConversationFilter(since=T0 - timedelta(days=1), until=T0 + timedelta(hours=1))) == [s.returns]
    assert ids(url, ConversationFilter(channel="rest")) == [s.fallback]
    assert ids(url, ConversationFilter(intent="greet")) == [s.greeting]
    assert ids(url, ConversationFilter(fallback=True)) == [s.fallback]
    assert ids(url, ConversationFilter(fallback=False)) == [s.returns, s.greeting]
    assert ids(url, ConversationFilter(handoff=True)) == [s.fallback]
    assert ids(url, ConversationFilter(sentiment_below=-0.5)) == [s.returns]
    assert ids(url, ConversationFilter(csat_max=2)) == [s.returns]
    assert ids(url, ConversationFilter(csat_min=3)) == []
    assert ids(url, ConversationFilter(outcome="refund_issued")) == [s.returns]
    assert ids(url, ConversationFilter(outcome="resolved")) == [s.returns]
    assert ids(url, ConversationFilter(reviewed=True)) == []
    with session_scope(url) as session:
        set_tags(session, s.greeting, ["good_example"], by="cara")
        mark_reviewed(session, s.greeting, by="cara")
    assert ids(url, ConversationFilter(tags=("good_example",))) == [s.greeting]
    assert ids(url, ConversationFilter(reviewed=True)) == [s.greeting]
    assert ids(url, ConversationFilter(reviewed=False)) == [s.fallback, s.returns]
    assert ids(url, ConversationFilter(), page=2, page_size=2) == [s.greeting]


def test_the_list_shows_each_conversation_redacted_with_its_facts(seeded):
    url, s = seeded
    with session_scope(url) as session:
        page = search(session, ConversationFilter(), page_size=2)
    assert (page.total, page.pages) == (3, 2)
    returns = next(c for c in page.items if c.id == s.returns)
    assert returns.first_message == PERSONAL_REDACTED
    assert returns.intents == ("return_item", "thank")
    assert returns.journeys == ("return_item: refund_issued",)
    assert returns.csat == 2


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"sentiment_below": 2.0}, "between -1 and 1"),
        ({"csat_max": 9}, "from 1 to 5"),
        ({"csat_min": 4, "csat_max": 2}, "not be above"),
        ({"tags": ("Not A Tag",)}, "is not a tag"),
        ({"since": T0, "until": T0}, "after `since`"),
    ],
)
def test_bad_filters_are_refused_with_a_sentence(kwargs, message):
    with pytest.raises(ConversationError, match=message):
        ConversationFilter(**kwargs)


def test_the_transcript_shows_nlu_and_policies_from_the_tracker_redacted(seeded):
    url, s = seeded
    with session_scope(url) as session:
        t = transcript(session, s.returns, s.tracker_url)
    assert t.source == TRACKER
    kinds = [(line.kind, line.action) for line in t.lines]
    assert kinds == [
        ("user", None),
        ("action", "action_journey_start"),
        ("bot", "utter_return_started"),
        ("user", None),
        ("action", "utter_goodbye"),
        ("bot", "utter_goodbye"),
    ]
    first, action = t.lines[0], t.lines[1]
    assert (first.text, first.intent, first.confidence, first.sentiment) == (
        PERSONAL_REDACTED,
        "return_item",
        0.81,
        -0.6,
    )
    assert [(e.entity, e.value) for e in first.entities] == [("order_id", "TD010001")]
    assert (action.policy, action.action_confidence) == ("RulePolicy", 1.0)
    assert t.lines[2].text == "I've started a return for TD010001."
    assert t.lines[3].text == NAMED_REDACTED
    shown = repr(t)
    assert not any(value in shown for value in PERSONAL_VALUES)


def test_without_the_tracker_the_analytics_turns_stand_in(seeded):
    url, s = seeded
    with session_scope(url) as session:
        t = transcript(session, s.fallback, s.tracker_url)  # the tracker holds only review-a
        assert t.source == TURNS
        assert [(line.kind, line.intent or line.action, line.policy) for line in t.lines] == [
            ("user", "nlu_fallback", None),
            ("action", "action_default_fallback", "RulePolicy"),
            ("user", "ask_human", None),
            ("action", "action_handoff", "RulePolicy"),
        ]
        with pytest.raises(NoSuchConversation):
            transcript(session, 999_999, s.tracker_url)


def test_tags_reviewed_and_notes_persist_with_an_audit_record_each(seeded):
    url, s = seeded
    with session_scope(url) as session:
        set_tags(session, s.returns, ["misunderstood", "Bug"], by="cara")
        set_tags(session, s.returns, ["bug", "good_example"], by="root")
        mark_reviewed(session, s.returns, by="cara")
        set_note(session, s.returns, "Asked for a return; the bot got it.", by="cara")
        with pytest.raises(ConversationError, match="not a tag"):
            set_tags(session, s.returns, ["no spaces please"], by="cara")
    with session_scope(url) as session:
        state = review_state(session, s.returns)
        trail = audit.trail(session, "conversation", s.returns)
    assert state.tags == ("bug", "good_example")
    assert (state.reviewed, state.reviewed_by, state.note) == (True, "cara", "Asked for a return; the bot got it.")
    assert [(e.action, e.actor) for e in reversed(trail)] == [
        ("conversation.tagged", "cara"),
        ("conversation.tagged", "root"),
        ("conversation.reviewed", "cara"),
        ("conversation.noted", "cara"),
    ]
    assert trail[-2].changes["added"] == ["good_example"] and trail[-2].changes["removed"] == ["misunderstood"]


def test_save_as_test_appends_a_story_rasa_reads_corrected_and_redacted(seeded, tmp_path):
    url, s = seeded
    file = StoryFile(tmp_path / "tests" / "conversations" / "test_reviewed.yml", ROOT / "domain", tmp_path)
    with session_scope(url) as session:
        saved = save_test(
            session, s.returns, by="cara", tracker_url=s.tracker_url, file=file, corrections={3: "goodbye"}
        )
        again = save_test(session, s.returns, by="cara", tracker_url=s.tracker_url, file=file)
    written = file.path.read_text()
    assert written.startswith(HEADER)
    assert not any(value in written for value in PERSONAL_VALUES)
    assert (saved.story, again.story) == (
        f"reviewed conversation {s.returns}",
        f"reviewed conversation {s.returns} (2)",
    )
    assert saved.file == "tests/conversations/test_reviewed.yml"
    stories = yaml.safe_load(written)["stories"]
    assert stories[0]["steps"] == [
        {
            "user": "pls send back [TD010001](order_id), mail [customer1@example.com](email) or ring <phone>\n",
            "intent": "return_item",
        },
        {"action": "action_journey_start"},
        {"user": "thanks, my name is <name> <name>\n", "intent": "goodbye"},
        {"action": "utter_goodbye"},
    ]
    assert stories[1]["steps"][2]["intent"] == "thank"
    with session_scope(url) as session:
        assert [e.action for e in audit.trail(session, "conversation", s.returns)] == ["conversation.saved_as_test"] * 2
        assert len(review_state(session, s.returns).saved_tests) == 2


def test_save_as_test_keeps_the_files_comments_and_refuses_what_rasa_would_not_read(seeded, tmp_path):
    url, s = seeded
    path = tmp_path / "test_reviewed.yml"
    before = '# kept\nversion: "3.1"\nstories:\n# also kept\n- story: old one\n  steps:\n  - intent: greet\n  - action: utter_greet\n'
    path.write_text(before)
    file = StoryFile(path, ROOT / "domain", tmp_path)
    with session_scope(url) as session:
        save_test(session, s.returns, by="cara", tracker_url=s.tracker_url, file=file)
    after = path.read_text()
    assert after.startswith(before)
    assert "\n- story: reviewed conversation" in after  # the file's own indentation
    with session_scope(url) as session:
        with pytest.raises(StoryError, match="not an intent of the domain"):
            save_test(session, s.returns, by="cara", tracker_url=s.tracker_url, file=file, corrections={0: "nope"})
        with pytest.raises(StoryError, match="not a customer message"):
            save_test(session, s.returns, by="cara", tracker_url=s.tracker_url, file=file, corrections={1: "greet"})
    broken = StoryFile(path, tmp_path / "empty-domain", tmp_path)  # a domain without these intents: Rasa objects
    (tmp_path / "empty-domain").mkdir()
    (tmp_path / "empty-domain" / "d.yml").write_text('version: "3.1"\nintents: [greet]\n')
    with session_scope(url) as session:
        with pytest.raises(StoryError):
            save_test(session, s.greeting, by="cara", tracker_url=s.tracker_url, file=broken)
    assert path.read_text() == after


def test_the_cli_lists_and_saves_as_test(seeded, tmp_path, capsys):
    from bot.cli import main

    url, s = seeded
    assert main(["review", "conversations", "--fallback", "no", "--csat-max", "2", "--database-url", url]) == 0
    out = capsys.readouterr().out
    assert out.startswith("1 conversations") and f"#{s.returns}" in out and PERSONAL_REDACTED in out
    assert not any(value in out for value in PERSONAL_VALUES)
    assert main(["review", "conversations", "--sentiment-below", "5", "--database-url", url]) == 2
    file = tmp_path / "test_cli.yml"
    argv = ["review", "save-test", str(s.returns), "--correct", "3:goodbye", "--file", str(file), "--by", "cara"]
    assert main([*argv, "--tracker-url", s.tracker_url, "--database-url", url]) == 0
    assert "+        intent: goodbye" in capsys.readouterr().out
    assert yaml.safe_load(file.read_text())["stories"][0]["steps"][2] == {
        "user": "thanks, my name is <name> <name>\n",
        "intent": "goodbye",
    }
    assert main(["review", "save-test", "999999", "--file", str(file), "--by", "cara", "--database-url", url]) == 1


@pytest.mark.parametrize(
    ("conversations", "message"),
    [
        ({"tag_suggestions": ["Not A Tag"]}, "is not a tag"),
        ({"test_file": "../elsewhere/test_x.yml"}, "inside the project"),
        ({"test_file": "tests/conversations/reviewed.yml"}, "test_"),
        ({"page_size": 500}, "max_page_size"),
        ({"colour": "blue"}, "unknown key conversations.colour"),
    ],
)
def test_config_review_yml_refuses_a_bad_conversations_section(conversations, message):
    from bot.review.config import REVIEW_FILE, ReviewConfigError, parse_config

    raw = yaml.safe_load(REVIEW_FILE.read_text())
    raw["conversations"] = conversations
    with pytest.raises(ReviewConfigError, match=message):
        parse_config(raw)
