"""A conversation saved as a test from the review runs under `rasa test` with the trained model, as `./tandem test`
runs every tests/conversations/test_*.yml (needs the trained model: tests/support/rasa_model.trained_model)."""

from __future__ import annotations

import subprocess
from datetime import timedelta
from pathlib import Path

import pytest

from bot.db.migrate import upgrade
from bot.db.models import InsightConversation, InsightTurn
from bot.db.session import dispose_engine, session_scope
from bot.review.saved_tests import StoryFile, save_test
from tests.review.conversation_rows import T0
from tests.support.rasa_model import RASA, ROOT, rasa_env, trained_model

pytestmark = pytest.mark.slow


def test_a_saved_conversation_runs_under_rasa_test(tmp_path: Path):
    model = trained_model()
    url = f"sqlite:///{tmp_path / 'review.db'}"
    upgrade(url)
    with session_scope(url) as session:
        conv = InsightConversation(
            sender_id="saved-1",
            channel="socketio",
            started_at=T0,
            last_event_at=T0 + timedelta(seconds=2),
            user_turns=1,
        )
        session.add(conv)
        session.flush()
        session.add(
            InsightTurn(
                conversation_id=conv.id,
                at=T0,
                text="i want to send back the headphones i bought",
                intent="return_item",
                confidence=0.97,
                entities=[],
                action="action_journey_start",
                policy="RulePolicy",
            )
        )
        conversation_id = conv.id
    folder = tmp_path / "conversations"
    file = StoryFile(folder / "test_reviewed.yml", ROOT / "domain", tmp_path)
    with session_scope(url) as session:
        save_test(session, conversation_id, by="cara", tracker_url="", file=file)
    dispose_engine(url)
    out = tmp_path / "results"
    result = subprocess.run(
        [
            RASA,
            "test",
            "core",
            "--model",
            str(model),
            "--stories",
            str(folder),
            "--out",
            str(out),
            "--fail-on-prediction-errors",
        ],
        cwd=ROOT,
        env=rasa_env(),
        capture_output=True,
        text=True,
        timeout=900,
    )
    failed = out / "failed_test_stories.yml"
    details = failed.read_text() if failed.exists() else ""
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:] + details
