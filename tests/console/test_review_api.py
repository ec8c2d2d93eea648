"""The NLU inbox's JSON API (`/api/review/...`): a CX user reads the inbox redacted, confirms, relabels, creates an
intent, marks entities, discards, one message or a group, and each decision lands in (a copy of) the training data
and the audit trail; refusals are clear 4xx answers, malformed requests 400 (never a 500), agents 403 on every route,
and the anonymous are sent to sign in. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from bot.db.session import dispose_engine, session_scope
from bot.review import audit
from bot.review.service import TrainingData
from tests.console.console_support import add_agent, running_console
from tests.console.review_support import (
    PERSONAL_REDACTED,
    PERSONAL_VALUES,
    clear,
    seed_inbox,
    training_copy,
)
from tests.review.test_nlu_files import changes

ROUTES = (
    ("GET", "/review/inbox"),
    ("GET", "/api/review/inbox"),
    ("POST", "/api/review/messages/1/annotate"),
    ("POST", "/api/review/groups/annotate"),
)


@pytest.fixture(scope="module")
def _module_db(db_factory) -> Iterator[str]:
    url = db_factory.create()
    yield url
    dispose_engine(url)


@pytest.fixture
def review_db(_module_db: str) -> str:
    """An empty inbox, a CX user `cara`, an admin `root` and an agent `alice`."""
    clear(_module_db)
    add_agent(_module_db, "cara", role="cx", queues=(), name="Cara Lee")
    add_agent(_module_db, "root", role="admin", queues=())
    add_agent(_module_db, "alice", role="agent", queues=("billing",))
    return _module_db


@pytest.fixture
def data(tmp_path: Path) -> Iterator[TrainingData]:
    with training_copy(tmp_path) as copy:
        yield copy


def examples_of(path: Path, intent: str) -> list[str]:
    items = yaml.safe_load(path.read_text())["nlu"]
    return [line[2:] for i in items if i.get("intent") == intent for line in i["examples"].splitlines() if line.strip()]


async def test_the_inbox_reads_as_redacted_json_with_its_groups_counts_and_choices(review_db, data):
    ids = seed_inbox(review_db)
    async with running_console(review_db, review_data=data) as console:
        cara = await console.agent("cara")
        response = await cara.get("/api/review/inbox")
        assert response.status == 200
        raw = await response.text()
        body = await response.json()
    assert not any(value in raw for value in PERSONAL_VALUES)
    items = {i["message_id"]: i for g in body["groups"] for i in g["items"]}
    assert items[ids["personal"]]["text"] == PERSONAL_REDACTED
    assert items[ids["where"]]["count"] == 2  # "where has TD220001 got to" and "where has td-330001 got to?"
    assert items[ids["blorp"]]["reasons"] == ["fallback", "low_confidence"]
    assert (body["messages"], body["distinct"], body["page"], body["pages"]) == (8, 7, 1, 1)
    assert body["reason_counts"] == {"fallback": 1, "low_confidence": 8, "narrow_margin": 0, "handoff": 0}
    headphones = next(g for g in body["groups"] if ids["headphones"] in [i["message_id"] for i in g["items"]])
    assert sorted(i["message_id"] for i in headphones["items"]) == [ids["headphones"], ids["headphones_back"]]
    assert "return_item" in body["choices"]["intents"] and "device" in body["choices"]["entities"]
    assert "returns_refunds" in body["choices"]["nlu_files"] and "orders" in body["choices"]["domain_files"]


async def test_the_filters_narrow_the_inbox(review_db, data):
    ids = seed_inbox(review_db)
    async with running_console(review_db, review_data=data) as console:
        cara = await console.agent("cara")
        fallback = await (await cara.get("/api/review/inbox?reason=fallback")).json()
        product = await (await cara.get("/api/review/inbox?intent=product_question")).json()
        day = await (await cara.get("/api/review/inbox?since=2026-11-02&until=2026-11-02&page_size=2")).json()
        later = await (await cara.get("/api/review/inbox?since=2026-11-03")).json()
        past = await (await cara.get("/review/inbox?page=9")).text()
    assert [i["message_id"] for g in fallback["groups"] for i in g["items"]] == [ids["blorp"]]
    assert [i["message_id"] for g in product["groups"] for i in g["items"]] == [ids["pixel"]]
    assert (day["distinct"], day["pages"], sum(len(g["items"]) for g in day["groups"])) == (7, 4, 2)
    assert later["groups"] == [] and later["messages"] == 0
    assert "There is no page 9: the inbox has 1." in past


async def test_relabelling_writes_exactly_that_example_into_the_copy_and_audits_who_did_it(review_db, data):
    ids = seed_inbox(review_db)
    path = data.nlu_dir / "returns_refunds.yml"
    before = path.read_text()
    async with running_console(review_db, review_data=data) as console:
        cara = await console.agent("cara")
        response = await cara.post(f"/api/review/messages/{ids['personal']}/annotate", {"intent": "return_item"})
        assert response.status == 200
        body = await response.json()
        again = await (await cara.get("/api/review/inbox")).json()
    example = "pls send back [TD010001](order_id), mail [customer1@example.com](email) or ring <phone>"
    assert body["message"] == f"Added “{example}” to data/nlu/returns_refunds.yml as an example of return_item."
    assert body["annotation"]["action"] == "relabelled" and body["annotation"]["annotated_by"] == "cara"
    assert changes(before, path.read_text()) == ([], [f"    - {example}\n"])
    assert not any(value in path.read_text() for value in PERSONAL_VALUES)
    assert ids["personal"] not in [i["message_id"] for g in again["groups"] for i in g["items"]]
    with session_scope(review_db) as session:
        trail = audit.trail(session, "annotation", body["annotation"]["id"])
    assert [(e.actor, e.action) for e in trail] == [("cara", "annotation.written"), ("cara", "annotation.created")]
    assert trail[0].changes["nlu_file"] == {"before": None, "after": "data/nlu/returns_refunds.yml"}


async def test_a_confirmation_with_a_marked_entity_and_a_discard(review_db, data):
    ids = seed_inbox(review_db)
    async with running_console(review_db, review_data=data) as console:
        root = await console.agent("root")
        marked = await root.post(
            f"/api/review/messages/{ids['pixel']}/annotate",
            {"intent": None, "entities": [{"start": 14, "end": 21, "entity": "device"}]},
        )
        discarded = await root.post(f"/api/review/messages/{ids['blorp']}/annotate", {"discard": True})
        assert (marked.status, discarded.status) == (200, 200)
        done, thrown = await marked.json(), await discarded.json()
    assert done["annotation"]["action"] == "confirmed"
    assert (
        examples_of(data.nlu_dir / "products.yml", "product_question")[-1] == "do u have the [pixel 9](device) in blue"
    )
    assert thrown["annotation"]["action"] == "discarded" and thrown["annotation"]["nlu_file"] is None
    assert thrown["message"].startswith("Discarded “blorp zzz”")


async def test_a_new_intent_goes_into_the_chosen_file_and_the_domain(review_db, data):
    ids = seed_inbox(review_db)
    async with running_console(review_db, review_data=data) as console:
        cara = await console.agent("cara")
        response = await cara.post(
            f"/api/review/messages/{ids['blorp']}/annotate", {"intent": "gibberish", "nlu_file": "chitchat"}
        )
        assert response.status == 200
        body = await response.json()
    assert body["annotation"]["files"] == ["data/nlu/chitchat.yml", "domain/chitchat.yml"]
    assert body["message"].endswith("; the new intent is listed in domain/chitchat.yml.")
    assert examples_of(data.nlu_dir / "chitchat.yml", "gibberish") == ["blorp zzz"]
    assert "gibberish" in yaml.safe_load((data.domain_dir / "chitchat.yml").read_text())["intents"]


async def test_refusals_say_why_and_change_no_file(review_db, data):
    ids = seed_inbox(review_db)
    before = {p.name: p.read_text() for p in data.nlu_dir.glob("*.yml")}
    async with running_console(review_db, review_data=data) as console:
        cara = await console.agent("cara")

        async def annotate(message_id: int, body: dict) -> tuple[int, str]:
            response = await cara.post(f"/api/review/messages/{message_id}/annotate", body)
            return response.status, (await response.json()).get("error", "")

        assert await annotate(ids["known"], {}) == (
            409,
            "'where is my order' is already an example of order_status in orders.yml.",
        )
        assert await annotate(ids["blorp"], {"intent": "Store Hours!", "nlu_file": "chitchat"}) == (
            400,
            "'Store Hours!' is not an intent name (lower case letters, digits and _).",
        )
        assert await annotate(ids["blorp"], {"intent": "store_hours"}) == (
            400,
            "'store_hours' is not an intent of the domain; to create it, choose the data/nlu file it goes into.",
        )
        status, error = await annotate(ids["blorp"], {"intent": "store_hours", "nlu_file": "../../etc/passwd"})
        assert status == 400 and "is not a topic file name" in error
        status, error = await annotate(ids["pixel"], {"entities": [{"start": 0, "end": 99, "entity": "device"}]})
        assert status == 400 and "is not inside the text" in error
        assert await annotate(999_999_999, {}) == (404, "No message 999999999 in the inbox.")
        assert (await annotate(ids["where"], {}))[0] == 200
        status, error = await annotate(ids["where_first"], {})  # its duplicate: the same text, annotated
        assert status == 409 and error.startswith("This text was annotated already (confirmed, by cara")
    after = {p.name: p.read_text() for p in data.nlu_dir.glob("*.yml")}
    assert [name for name in before if before[name] != after[name]] == ["orders.yml"]  # the one accepted


async def test_a_group_is_annotated_together_and_what_is_refused_is_listed(review_db, data):
    ids = seed_inbox(review_db)
    async with running_console(review_db, review_data=data) as console:
        cara = await console.agent("cara")
        response = await cara.post(
            "/api/review/groups/annotate", {"message_ids": [ids["where"], ids["known"]], "intent": "order_status"}
        )
        assert response.status == 200
        body = await response.json()
        response = await cara.post("/api/review/groups/annotate", {"message_ids": [ids["where"]], "discard": True})
        assert response.status == 409
        nothing = await response.json()
    assert [a["message_id"] for a in body["annotations"]] == [ids["where"]]
    assert body["refused"] == [
        {"message_id": ids["known"], "error": "'where is my order' is already an example of order_status in orders.yml"}
    ]
    assert body["message"] == (
        "Added 1 example of order_status to data/nlu/orders.yml. 1 not annotated: "
        "'where is my order' is already an example of order_status in orders.yml"
    )
    assert examples_of(data.nlu_dir / "orders.yml", "order_status")[-1] == "where has [TD010001](order_id) got to?"
    assert nothing["error"].startswith("None of the messages was annotated: this text was annotated already")
    assert [r["message_id"] for r in nothing["refused"]] == [ids["where"]]


MALFORMED_BODIES = [
    ("not json", "The request body must be JSON"),
    ("[1, 2]", "The request body must be a JSON object"),
    ('{"intent": 5}', '"intent" must be a string or null.'),
    ('{"intent": ""}', '"intent" must not be empty (null when there is none).'),
    ('{"intent": "' + "x" * 65 + '"}', '"intent" must be at most 64 characters.'),
    ('{"discard": "yes"}', '"discard" must be true or false.'),
    ('{"discard": true, "intent": "greet"}', "Discard, or give an intent: not both."),
    ('{"colour": "blue"}', 'Unknown field "colour"; the fields are intent, discard, entities, nlu_file, domain_file.'),
    ('{"entities": "device"}', '"entities" must be a list of at most 50 {"start", "end", "entity"}.'),
    ('{"entities": [[0, 3, "device"]]}', 'entities[0] must be an object with "start", "end" and "entity".'),
    ('{"entities": [{"start": "0", "end": 3, "entity": "device"}]}', "entities[0].start must be a whole number."),
    ('{"entities": [{"start": true, "end": 3, "entity": "device"}]}', "entities[0].start must be a whole number."),
    ('{"entities": [{"start": 0, "end": 3, "entity": 7}]}', "entities[0].entity must be an entity's name."),
    ('{"nlu_file": ["a"]}', '"nlu_file" must be a string or null.'),
    (
        '{"entities": [{"start": 0, "end": 3, "entity": "no such"}]}',
        "'no such' is not an entity of the domain; the entities are ",
    ),
    ('{"entities": [{"start": 3, "end": 3, "entity": "device"}]}', "The span 3-3 is not inside the text"),
]
MALFORMED_GROUPS = [
    ("{}", '"message_ids" must be a list of 1 to 200 message ids.'),
    ('{"message_ids": []}', '"message_ids" must be a list of 1 to 200 message ids.'),
    ('{"message_ids": "1,2"}', '"message_ids" must be a list of 1 to 200 message ids.'),
    ('{"message_ids": [1.5]}', "each of message_ids must be a whole number."),
    ('{"message_ids": [-1]}', "each of message_ids must be a whole number."),
    ('{"message_ids": [' + ", ".join(["1"] * 201) + "]}", '"message_ids" must be a list of 1 to 200 message ids.'),
    ('{"message_ids": [1], "entities": []}', 'Unknown field "entities"'),
    ('{"message_ids": [1], "intent": "Bad Name"}', "'Bad Name' is not an intent name"),
    ('{"message_ids": [1], "intent": "x_y", "nlu_file": "a/b"}', "'a/b' is not a topic file name"),
]
MALFORMED_QUERIES = [
    ("since=yesterday", "since must be a date (YYYY-MM-DD), not 'yesterday'."),
    ("until=2026-13-01", "until must be a date (YYYY-MM-DD), not '2026-13-01'."),
    ("since=2026-11-05&until=2026-11-01", "`until` must be after `since`."),
    ("reason=angry", "Unknown reason 'angry'; the reasons are fallback, low_confidence, narrow_margin, handoff."),
    ("page=0", "page must be a whole number from 1 to 1,000,000."),
    ("page=two", "page must be a whole number from 1 to 1,000,000."),
    ("page_size=100000", "A page holds 1 to 200 messages, not 100000."),
    ("intent=" + "x" * 65, "intent must be at most 64 characters."),
]


async def test_malformed_requests_are_400_with_a_sentence_never_a_500(review_db, data):
    ids = seed_inbox(review_db)
    async with running_console(review_db, review_data=data) as console:
        cara = await console.agent("cara")
        headers = {"X-CSRF-Token": cara.csrf, "Content-Type": "application/json"}
        for path, cases in (
            (f"/api/review/messages/{ids['pixel']}/annotate", MALFORMED_BODIES),
            ("/api/review/groups/annotate", MALFORMED_GROUPS),
        ):
            for raw, message in cases:
                response = await cara.http.post(path, data=raw.encode(), headers=headers)
                body = await response.json()
                assert (response.status, body["error"][: len(message)]) == (400, message), raw
        bad_utf8 = await cara.http.post(
            f"/api/review/messages/{ids['pixel']}/annotate", data=b'{"intent": "\xff"}', headers=headers
        )
        assert bad_utf8.status == 400
        empty = await cara.http.post(f"/api/review/messages/{ids['pixel']}/annotate", headers=headers)
        assert empty.status == 400
        for query, message in MALFORMED_QUERIES:
            response = await cara.get("/api/review/inbox?" + query)
            assert (response.status, (await response.json())["error"]) == (400, message), query
            page = await cara.get("/review/inbox?" + query)
            assert page.status == 400 and "Not yours" not in await page.text(), query
    with session_scope(review_db) as session:
        assert audit.trail(session) == ()  # nothing was annotated


@pytest.mark.parametrize(("method", "path"), ROUTES)
async def test_an_agent_gets_403_and_the_anonymous_are_sent_to_sign_in(review_db, data, method, path):
    seed_inbox(review_db)
    async with running_console(review_db, review_data=data) as console:
        alice = await console.agent("alice")
        if method == "GET":
            response = await alice.get(path)
        else:
            response = await alice.post(path, {"message_ids": [1], "discard": True} if "groups" in path else {})
        assert response.status == 403
        text = await response.text()
        assert "The NLU inbox is for the customer-experience team and admins." in text
        assert 'href="/review/inbox"' not in await (await alice.get("/")).text()  # no link in the navigation
        anonymous = console.client()
        if method == "GET":
            response = await anonymous.get(path, allow_redirects=False)
        else:
            response = await anonymous.post(path, {}, allow_redirects=False)
        if path.startswith("/api/"):
            assert response.status == 401
        else:
            assert response.status == 302 and response.headers["Location"] == "/login?next=/review/inbox"
    with session_scope(review_db) as session:
        assert audit.trail(session) == ()


async def test_annotating_needs_the_csrf_token(review_db, data):
    ids = seed_inbox(review_db)
    async with running_console(review_db, review_data=data) as console:
        cara = await console.agent("cara")
        response = await cara.post(f"/api/review/messages/{ids['pixel']}/annotate", {}, csrf=False)
        assert response.status == 403
        page = await (await cara.get("/review/inbox")).text()
    assert 'href="/review/inbox">NLU inbox</a>' in page
    with session_scope(review_db) as session:
        assert audit.trail(session) == ()
