"""The response and workflow editors' JSON API (`/api/review/responses...`, `/api/review/workflows...`) and pages: a
CX user or an admin lists and searches the responses, edits a variation and a workflow button in (a copy of) the
domain and workflow files, each edit audited; a file changed meanwhile is a 409, an invalid edit a 400 with its
reason, a malformed body a 400 with a sentence (never a 500), an unknown name a 404; agents get 403 on every route and
the anonymous are sent to sign in. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.db.session import dispose_engine, session_scope
from bot.review import audit
from bot.review.service import TrainingData
from tests.console.console_support import add_agent, running_console
from tests.console.review_support import clear
from tests.review.test_editing import content_copy
from tests.review.test_nlu_files import changes

ROUTES = (
    ("GET", "/review/responses"),
    ("GET", "/review/responses/utter_which_order"),
    ("GET", "/review/workflows/late_delivery"),
    ("GET", "/api/review/responses"),
    ("GET", "/api/review/responses/utter_which_order"),
    ("POST", "/api/review/responses/utter_which_order"),
    ("GET", "/api/review/workflows"),
    ("GET", "/api/review/workflows/late_delivery"),
    ("POST", "/api/review/workflows/late_delivery"),
)


@pytest.fixture(scope="module")
def _module_db(db_factory) -> Iterator[str]:
    url = db_factory.create()
    yield url
    dispose_engine(url)


@pytest.fixture
def editor_db(_module_db: str) -> str:
    """No audit rows; a CX user `cara`, an admin `root` and an agent `alice`."""
    clear(_module_db)
    add_agent(_module_db, "cara", role="cx", queues=(), name="Cara Lee")
    add_agent(_module_db, "root", role="admin", queues=())
    add_agent(_module_db, "alice", role="agent", queues=("billing",))
    return _module_db


@pytest.fixture
def data(tmp_path: Path) -> TrainingData:
    return content_copy(tmp_path)


async def test_responses_are_listed_searched_and_a_variation_edited_and_audited(editor_db, data):
    path = data.domain_dir / "orders.yml"
    before = path.read_text()
    async with running_console(editor_db, review_data=data) as console:
        cara = await console.agent("cara")
        listing = await (await cara.get("/api/review/responses?q=which order")).json()
        found = {r["name"]: r for f in listing["files"] for r in f["responses"]}
        assert "utter_which_order" in found and listing["total"] > 200
        assert all(
            "which order" in (r["name"] + " ".join(v["text"] or "" for v in r["variations"])).lower()
            for r in found.values()
        )
        assert found["utter_which_order"]["variations"][0]["condition_label"] == "sentiment = negative"
        assert "late_delivery" in [w["name"] for w in listing["workflows"]]
        one = await (await cara.get("/api/review/responses/utter_which_order")).json()
        assert {"slot": "sentiment", "value": "negative"} in one["conditions"]
        body = {"version": one["response"]["version"], "op": "change", "index": 2, "text": "Which one is it?"}
        saved = await cara.post("/api/review/responses/utter_which_order", body)
        assert saved.status == 200
        result = await saved.json()
        again = await cara.post("/api/review/responses/utter_which_order", {**body, "text": "Which order?"})
        conflict = (again.status, (await again.json())["error"])
        page = await (await cara.get("/review/responses/utter_which_order")).text()
        listing_page = await (await cara.get("/review/responses?q=which")).text()
    assert result["message"] == "Saved: 1 line changed in domain/orders.yml."
    assert result["response"]["variations"][2]["text"] == "Which one is it?"
    assert result["recent"][0]["actor"] == "cara"
    assert changes(before, path.read_text()) == (
        ['    - text: "Which of your orders is it about?"\n'],
        ['    - text: "Which one is it?"\n'],
    )
    assert conflict[0] == 409 and conflict[1].startswith("The file domain/orders.yml changed since you opened it")
    assert "Which one is it?" in page
    recent = page.split("Recent changes")[1]
    assert "<td>cara</td><td>change variation 3</td><td>Which of your orders is it about?</td>" in recent
    assert 'href="/review/responses/utter_which_order"' in listing_page
    with session_scope(editor_db) as session:
        [entry] = audit.trail(session, "response", "utter_which_order")
        assert entry.changes["text"] == {"before": "Which of your orders is it about?", "after": "Which one is it?"}


async def test_an_admin_edits_a_workflow_button_and_an_invalid_edit_is_refused_with_its_reason(editor_db, data):
    path = data.root / "workflows" / "late_delivery.yml"
    before = path.read_text()
    async with running_console(editor_db, review_data=data) as console:
        root = await console.agent("root")
        workflow = (await (await root.get("/api/review/workflows/late_delivery")).json())["workflow"]
        assert workflow["title"]["text"] == "Late or missing delivery"
        key = "steps.choose_remedy.buttons.1.title"
        saved = await root.post(
            "/api/review/workflows/late_delivery",
            {"version": workflow["version"], "key": key, "text": "Refund, please"},
        )
        assert saved.status == 200
        result = await saved.json()
        refused = await root.post(
            "/api/review/workflows/late_delivery", {"version": result["version"], "key": "start", "text": "trace"}
        )
        one = await (await root.get("/api/review/responses/utter_wf_ask_order")).json()
        last = await root.post(
            "/api/review/responses/utter_wf_ask_order",
            {"version": one["response"]["version"], "op": "remove", "index": 0},
        )
        page = await (await root.get("/review/workflows/late_delivery")).text()
        missing = await root.get("/api/review/workflows/nothing_here")
        missing_response = await root.get("/review/responses/utter_nothing")
    assert result["message"] == "Saved: 1 line changed in workflows/late_delivery.yml."
    assert changes(before, path.read_text())[1] == [
        '        - {title: "Refund, please", value: refund, next: refund, means: [want_refund]}\n'
    ]
    assert refused.status == 400
    assert (await refused.json())["error"].startswith("'start' is not a text of a workflow")
    assert last.status == 400
    assert (await last.json())["error"] == (
        "A response keeps at least one variation: utter_wf_ask_order is what the bot says wherever it is used."
    )
    assert 'value="Refund, please"' in page and "utter_wf_delivery_choose_remedy" in page
    assert (missing.status, missing_response.status) == (404, 404)


MALFORMED = [
    ("not json", "The request body must be JSON"),
    ("[1]", "The request body must be a JSON object"),
    ("{}", '"version" must be a string.'),
    ('{"version": "x", "op": "rename"}', '"op" must be one of change, add, remove.'),
    (
        '{"version": "x", "op": "change", "index": "1", "text": "a"}',
        '"index" must be the number of the variation, from 0.',
    ),
    ('{"version": "x", "op": "change", "index": true, "text": "a"}', '"index" must be the number of the variation'),
    ('{"version": "x", "op": "change", "index": 0}', "Give the new text, the new condition, or both."),
    (
        '{"version": "x", "op": "add", "index": 0, "text": "a"}',
        'A new variation goes after the others: leave out "index".',
    ),
    ('{"version": "x", "op": "add"}', '"text" must be a string.'),
    ('{"version": "x", "op": "remove", "index": 0, "text": "a"}', "A variation is removed whole"),
    ('{"version": "x", "op": "change", "index": 0, "condition": "negative"}', '"condition" must be null or'),
    ('{"version": "x", "op": "change", "index": 0, "condition": {"slot": 1, "value": "x"}}', "A condition's slot"),
    ('{"version": "x", "op": "change", "index": 0, "text": 5}', '"text" must be a string.'),
    ('{"version": "x", "colour": 1}', 'Unknown field "colour"; the fields are version, op, index, text, condition.'),
]
MALFORMED_WORKFLOW = [
    ("{}", '"version" must be a string.'),
    ('{"version": "x", "key": "title"}', '"text" must be a string.'),
    ('{"version": "x", "key": 3, "text": "a"}', '"key" must be a string.'),
    ('{"version": " ", "key": "title", "text": "a"}', '"version" must be the version the editor was given.'),
]


async def test_malformed_requests_are_400_with_a_sentence_never_a_500(editor_db, data):
    async with running_console(editor_db, review_data=data) as console:
        cara = await console.agent("cara")
        headers = {"X-CSRF-Token": cara.csrf, "Content-Type": "application/json"}
        for path, cases in (
            ("/api/review/responses/utter_which_order", MALFORMED),
            ("/api/review/workflows/late_delivery", MALFORMED_WORKFLOW),
        ):
            for raw, message in cases:
                response = await cara.http.post(path, data=raw.encode(), headers=headers)
                body = await response.json()
                assert (response.status, body["error"][: len(message)]) == (400, message), raw
        stale = await cara.post(
            "/api/review/responses/utter_which_order", {"version": "x", "op": "change", "index": 0, "text": "Hi"}
        )
        assert stale.status == 409
        long_query = await cara.get("/api/review/responses?q=" + "x" * 101)
        assert long_query.status == 400
    with session_scope(editor_db) as session:
        assert audit.trail(session) == ()


@pytest.mark.parametrize(("method", "path"), ROUTES)
async def test_an_agent_gets_403_and_the_anonymous_are_sent_to_sign_in(editor_db, data, method, path):
    async with running_console(editor_db, review_data=data) as console:
        alice = await console.agent("alice")
        response = await (
            alice.get(path) if method == "GET" else alice.post(path, {"version": "x", "op": "add", "text": "a"})
        )
        assert response.status == 403
        assert (
            "Editing responses and workflows is for the customer-experience team and admins." in await response.text()
        )
        assert 'href="/review/responses"' not in await (await alice.get("/")).text()
        anonymous = console.client()
        if method == "GET":
            response = await anonymous.get(path, allow_redirects=False)
        else:
            response = await anonymous.post(path, {}, allow_redirects=False)
        if path.startswith("/api/"):
            assert response.status == 401
        else:
            assert response.status == 302 and response.headers["Location"] == f"/login?next={path}"
    with session_scope(editor_db) as session:
        assert audit.trail(session) == ()
