"""The conversation review's pages and JSON API (`/review/conversations`, `/api/review/conversations/...`): a CX user
filters conversations, reads a transcript redacted with its NLU and policies, tags it, marks it reviewed, notes it and
saves it as a test story into (a copy of) tests/conversations/, each change audited; bad filters and bodies are 400s
with a sentence, an unknown conversation 404, agents 403 on every route. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from bot.console.conversations import story_file
from bot.db.session import dispose_engine, session_scope
from bot.review import audit
from bot.review.service import TrainingData
from tests.console.console_support import add_agent, make_settings, running_console
from tests.review.conversation_rows import PERSONAL_REDACTED, PERSONAL_VALUES, Seeded, clear, seed

ROOT = Path(__file__).resolve().parents[2]
ROUTES = (
    ("GET", "/review/conversations"),
    ("GET", "/review/conversations/1"),
    ("GET", "/api/review/conversations"),
    ("GET", "/api/review/conversations/1"),
    ("POST", "/api/review/conversations/1/tags"),
    ("POST", "/api/review/conversations/1/reviewed"),
    ("POST", "/api/review/conversations/1/note"),
    ("POST", "/api/review/conversations/1/save-test"),
)


@pytest.fixture(scope="module")
def _module_db(db_factory) -> Iterator[str]:
    url = db_factory.create()
    yield url
    dispose_engine(url)


@pytest.fixture
def seeded(_module_db: str, tmp_path: Path) -> tuple[str, Seeded]:
    clear(_module_db)
    add_agent(_module_db, "cara", role="cx", queues=(), name="Cara Lee")
    add_agent(_module_db, "root", role="admin", queues=())
    add_agent(_module_db, "alice", role="agent", queues=("billing",))
    return _module_db, seed(_module_db, tmp_path)


def console(url: str, s: Seeded, root: Path):  # type: ignore[no-untyped-def]
    """The console reading `s`'s tracker store; Save as test writes under `root` (the project's domain is read)."""
    data = TrainingData(nlu_dir=ROOT / "data" / "nlu", domain_dir=ROOT / "domain", root=root)
    return running_console(url, settings=make_settings(url, tracker_db_url=s.tracker_url), review_data=data)


async def test_a_cx_user_filters_reads_and_reviews_a_conversation(seeded, tmp_path):
    url, s = seeded
    async with console(url, s, tmp_path) as c:
        file = story_file(c.app)
        assert file.path == tmp_path / "tests" / "conversations" / "test_reviewed.yml"
        cara = await c.agent("cara")
        listed = await cara.get("/api/review/conversations?fallback=no&sentiment_below=-0.5&csat_max=2")
        assert listed.status == 200
        body = await listed.json()
        assert [x["id"] for x in body["conversations"]] == [s.returns]
        assert body["conversations"][0]["first_message"] == PERSONAL_REDACTED
        page = await cara.get("/review/conversations?handoff=yes")
        html = await page.text()
        assert page.status == 200 and f'data-conversation-id="{s.fallback}"' in html
        assert f'data-conversation-id="{s.returns}"' not in html

        shown = await cara.get(f"/api/review/conversations/{s.returns}")
        raw = await shown.text()
        t = await shown.json()
        assert not any(v in raw for v in PERSONAL_VALUES)
        assert t["source"] == "tracker"
        assert (t["lines"][0]["intent"], t["lines"][0]["confidence"]) == ("return_item", 0.81)
        assert t["lines"][1]["policy"] == "RulePolicy"
        page = await cara.get(f"/review/conversations/{s.returns}")
        html = await page.text()
        assert page.status == 200 and "return_item" in html and "RulePolicy" in html
        assert not any(v in html for v in PERSONAL_VALUES)

        tagged = await cara.post(f"/api/review/conversations/{s.returns}/tags", {"tags": ["misunderstood"]})
        assert tagged.status == 200 and (await tagged.json())["review"]["tags"] == ["misunderstood"]
        done = await cara.post(f"/api/review/conversations/{s.returns}/reviewed", {"reviewed": True})
        assert (await done.json())["review"]["reviewed_by"] == "cara"
        noted = await cara.post(f"/api/review/conversations/{s.returns}/note", {"note": "Return understood."})
        assert (await noted.json())["review"]["note"] == "Return understood."
        saved = await cara.post(f"/api/review/conversations/{s.returns}/save-test", {"corrections": {"3": "goodbye"}})
        answer = await saved.json()
        assert saved.status == 200, answer
        assert answer["file"] == "tests/conversations/test_reviewed.yml"
        story = yaml.safe_load(file.path.read_text())["stories"][0]
        assert story["steps"][2]["intent"] == "goodbye"
        assert not any(v in file.path.read_text() for v in PERSONAL_VALUES)
        filtered = await (await cara.get("/api/review/conversations?reviewed=yes&tag=misunderstood")).json()
        assert [x["id"] for x in filtered["conversations"]] == [s.returns]
    with session_scope(url) as session:
        actions = [e.action for e in reversed(audit.trail(session, "conversation", s.returns))]
    assert actions == [
        "conversation.tagged",
        "conversation.reviewed",
        "conversation.noted",
        "conversation.saved_as_test",
    ]


@pytest.mark.parametrize(
    "query",
    [
        "since=yesterday",
        "fallback=maybe",
        "sentiment_below=-3",
        "sentiment_below=nan",
        "csat_min=0",
        "csat_min=4&csat_max=2",
        "tag=Not%20A%20Tag",
        "page=0",
        "page_size=100000",
        "since=2026-11-03&until=2026-11-01",
    ],
)
async def test_bad_filters_are_400_with_a_sentence(seeded, query, tmp_path):
    url, s = seeded
    async with console(url, s, tmp_path) as c:
        cara = await c.agent("cara")
        response = await cara.get("/api/review/conversations?" + query)
        assert response.status == 400
        assert (await response.json())["error"].endswith(".")
        page = await cara.get("/review/conversations?" + query)
        assert page.status == 400


async def test_bad_bodies_are_400_and_an_unknown_conversation_404(seeded, tmp_path):
    url, s = seeded
    async with console(url, s, tmp_path) as c:
        root = await c.agent("root")
        base = f"/api/review/conversations/{s.returns}"
        for path, body in [
            ("/tags", {"tags": "bug"}),
            ("/tags", {"tags": ["Not A Tag"]}),
            ("/tags", {"labels": []}),
            ("/reviewed", {"reviewed": "yes"}),
            ("/note", {"note": 3}),
            ("/note", {"note": "x" * 5000}),
            ("/save-test", {"corrections": {"x": "greet"}}),
            ("/save-test", {"corrections": {"0": "no_such_intent"}}),
            ("/save-test", {"corrections": {"1": "greet"}}),
        ]:
            response = await root.post(base + path, body)
            assert response.status == 400, (path, body, await response.text())
            assert (await response.json())["error"]
        assert not story_file(c.app).path.exists()
        for method, path in [
            ("GET", "/api/review/conversations/999999"),
            ("POST", "/api/review/conversations/999999/tags"),
        ]:
            response = await (root.get(path) if method == "GET" else root.post(path, {"tags": ["bug"]}))
            assert response.status == 404
            assert "no conversation 999999" in (await response.json())["error"]
        assert (await root.get("/review/conversations/999999")).status == 404


async def test_an_agent_gets_403_on_every_route(seeded, tmp_path):
    url, s = seeded
    async with console(url, s, tmp_path) as c:
        alice = await c.agent("alice")
        for method, path in ROUTES:
            response = await (alice.get(path) if method == "GET" else alice.post(path, {}))
            assert response.status == 403, (method, path)
