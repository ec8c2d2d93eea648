"""The console's API against a real database and a stand-in Rasa: who sees what, claims, replies, notes,
resolving and handing back, and what happens to each when Rasa is down."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from bot.console.timeline import epoch
from bot.db.models import Journey
from bot.db.session import session_scope
from tests.console.console_support import (
    add_agent,
    bot_event,
    customer_pk,
    customer_says,
    handoff,
    messages,
    open_handoff,
    running_console,
    until,
    user_event,
)
from tests.journeys.test_store import open_one


def journey_of(url: str, journey_id: int) -> Journey:
    with session_scope(url) as session:
        return session.execute(select(Journey).where(Journey.id == journey_id)).scalar_one()


def an_open_journey(url: str, external_id: str = "CUST-00001") -> int:
    cid = customer_pk(url, external_id)
    with session_scope(url) as session:
        return open_one(session, cid, conversation_id="conv-journey").id


async def test_an_agent_sees_and_acts_only_on_their_queues_while_an_admin_sees_all(console_db):
    add_agent(console_db, "bill", queues=("billing",))
    add_agent(console_db, "root", role="admin", queues=())
    mine = open_handoff(console_db, "c-billing", queue="billing")
    theirs = open_handoff(console_db, "c-delivery", queue="delivery", customer="CUST-00002")
    async with running_console(console_db) as console:
        bill = await console.agent("bill")
        queue = await (await bill.get("/api/queue")).json()
        assert [h["id"] for h in queue["handoffs"]] == [mine.id]
        assert queue["handoffs"][0]["queue_name"] == "Billing"
        for method, path in (
            ("GET", f"/api/handoffs/{theirs.id}"),
            ("GET", f"/api/handoffs/{theirs.id}/timeline"),
            ("POST", f"/api/handoffs/{theirs.id}/claim"),
            ("POST", f"/api/handoffs/{theirs.id}/notes"),
        ):
            response = await (bill.get(path) if method == "GET" else bill.post(path, {"text": "hello"}))
            assert response.status == 403, path
            assert "queue you do not work" in (await response.json())["error"]
        page = await bill.get(f"/handoffs/{theirs.id}")
        assert page.status == 403
        body = await page.text()
        assert "queue you do not work" in body and theirs.conversation_id not in body
        assert (await bill.get("/api/handoffs/999999")).status == 404
        assert (await bill.get("/handoffs/999999")).status == 404

        root = await console.agent("root")
        queue = await (await root.get("/api/queue")).json()
        assert {h["id"] for h in queue["handoffs"]} == {mine.id, theirs.id}
        assert (await root.post(f"/api/handoffs/{theirs.id}/claim")).status == 200
        # and the agent still cannot reply to it
        reply = await bill.post(f"/api/handoffs/{theirs.id}/messages", {"text": "hi"})
        assert reply.status == 403
        assert [m.kind for m in messages(console_db, theirs.id)] == []


async def test_two_agents_claiming_at_once_one_wins_the_other_is_told_who(console_db):
    add_agent(console_db, "alice", name="Alice Smith")
    add_agent(console_db, "bob", name="Bob Jones")
    h = open_handoff(console_db, "c-race")
    async with running_console(console_db) as console:
        alice, bob = await console.agent("alice"), await console.agent("bob")
        answers = await asyncio.gather(
            alice.post(f"/api/handoffs/{h.id}/claim"), bob.post(f"/api/handoffs/{h.id}/claim")
        )
        statuses = sorted(a.status for a in answers)
        assert statuses == [200, 409]
        won = next(a for a in answers if a.status == 200)
        lost = next(a for a in answers if a.status == 409)
        winner = (await won.json())["handoff"]["agent_name"]
        refused = await lost.json()
        assert refused["agent_name"] == winner
        assert refused["error"] == f"{winner} has already claimed this conversation."
        assert handoff(console_db, h.id).agent_name == winner
        # Rasa: the bot paused and the customer told once, by the winner
        assert len(console.rasa.appended) == 1
        conversation, events = console.rasa.appended[0]
        assert conversation == "c-race"
        assert events[0] == {"event": "pause"}
        assert events[1]["text"] == f"{winner} from our team has joined the chat."
        assert events[1]["data"]["custom"] == {
            "type": "handoff",
            "status": "assigned",
            "queue": "Billing",
            "agent_name": winner,
        }


async def test_claiming_when_rasa_is_down_keeps_the_claim_and_says_the_customer_was_not_told(console_db):
    add_agent(console_db, "alice")
    h = open_handoff(console_db, "c-claim-down")
    async with running_console(console_db) as console:
        alice = await console.agent("alice")
        console.rasa.fail = True
        answer = await alice.post(f"/api/handoffs/{h.id}/claim")
        assert answer.status == 200
        body = await answer.json()
        assert body["notified"] is False and "not been told" in body["warning"]
        assert handoff(console_db, h.id).status == "assigned"


async def test_a_reply_is_stored_before_rasa_and_delivered_in_order_once_rasa_is_back(console_db):
    add_agent(console_db, "alice", name="Alice Smith")
    h = open_handoff(console_db, "c-reply")
    async with running_console(console_db) as console:
        alice = await console.agent("alice")
        assert (await alice.post(f"/api/handoffs/{h.id}/messages", {"text": "hi"})).status == 409  # claim first
        await alice.post(f"/api/handoffs/{h.id}/claim")
        console.rasa.appended.clear()

        sent = await alice.post(f"/api/handoffs/{h.id}/messages", {"text": "  Hello, I'm looking into it.  "})
        assert sent.status == 201
        body = await sent.json()
        assert body["delivered"] is True and body["message"]["text"] == "Hello, I'm looking into it."
        assert console.rasa.events_for("c-reply") == [
            {
                "event": "bot",
                "text": "Hello, I'm looking into it.",
                "metadata": {
                    "from": "agent",
                    "agent_name": "Alice Smith",
                    "reply_id": messages(console_db, h.id)[-1].id,
                },
            }
        ]
        assert messages(console_db, h.id)[-1].delivered_at is not None

        console.rasa.fail = True
        console.rasa.appended.clear()
        for text in ("First while down", "Second while down"):
            down = await alice.post(f"/api/handoffs/{h.id}/messages", {"text": text})
            assert down.status == 202
            assert (await down.json())["delivered"] is False
        stored = messages(console_db, h.id)
        assert [m.text for m in stored[-2:]] == ["First while down", "Second while down"]
        assert all(m.delivered_at is None for m in stored[-2:])

        console.rasa.fail = False
        await until(lambda: console.rasa.appended)
        await until(lambda: all(m.delivered_at for m in messages(console_db, h.id)))
        assert [e["text"] for e in console.rasa.events_for("c-reply")] == ["First while down", "Second while down"]
        assert len(console.rasa.appended) == 1  # one call, in order, not one per retry tick


async def test_texts_are_checked_empty_too_long_not_json(console_db):
    add_agent(console_db, "alice")
    h = open_handoff(console_db, "c-texts")
    async with running_console(console_db) as console:
        alice = await console.agent("alice")
        await alice.post(f"/api/handoffs/{h.id}/claim")
        empty = await alice.post(f"/api/handoffs/{h.id}/messages", {"text": "   "})
        assert empty.status == 400 and (await empty.json())["error"] == "Write a reply first."
        long = await alice.post(f"/api/handoffs/{h.id}/notes", {"text": "x" * 5001})
        assert long.status == 413 and (await long.json())["limit"] == 5000
        assert (await alice.post(f"/api/handoffs/{h.id}/messages", {"text": "x" * 5000})).status == 201
        wrong_type = await alice.post(f"/api/handoffs/{h.id}/messages", {"text": 5})
        assert wrong_type.status == 400
        not_json = await alice.http.post(
            f"/api/handoffs/{h.id}/messages",
            data="{nope",
            headers={"X-CSRF-Token": alice.csrf, "Content-Type": "application/json"},
        )
        assert not_json.status == 400 and "JSON" in (await not_json.json())["error"]
        huge = await alice.http.post(
            f"/api/handoffs/{h.id}/messages",
            data="x" * 100_000,
            headers={"X-CSRF-Token": alice.csrf, "Content-Type": "application/json"},
        )
        assert huge.status == 413 and "error" in await huge.json()
        missing = await alice.post("/api/handoffs/12x/claim")
        assert missing.status == 404 and "error" in await missing.json()


async def test_notes_stay_with_the_agents_and_never_reach_rasa(console_db):
    add_agent(console_db, "alice", name="Alice Smith")
    h = open_handoff(console_db, "c-notes")
    async with running_console(console_db) as console:
        alice = await console.agent("alice")
        await alice.post(f"/api/handoffs/{h.id}/claim")
        console.rasa.appended.clear()
        note = await alice.post(f"/api/handoffs/{h.id}/notes", {"text": "VIP, be gentle"})
        assert note.status == 201
        assert (await note.json())["message"]["kind"] == "note"
        await asyncio.sleep(0.5)  # a few feed ticks and redelivery rounds
        assert console.rasa.appended == []
        detail = await (await alice.get(f"/api/handoffs/{h.id}")).json()
        assert [(m["kind"], m["author"], m["text"]) for m in detail["messages"]] == [
            ("note", "Alice Smith", "VIP, be gentle")
        ]


async def test_resolving_a_journey_resumes_the_bot_asks_for_a_rating_and_commits(console_db):
    add_agent(console_db, "alice", name="Alice Smith")
    journey_id = an_open_journey(console_db)
    h = open_handoff(console_db, "c-resolve")
    async with running_console(console_db) as console:
        alice = await console.agent("alice")
        detail = await (await alice.get(f"/api/handoffs/{h.id}")).json()
        assert [j["id"] for j in detail["context"]["journeys"]] == [journey_id]
        await alice.post(f"/api/handoffs/{h.id}/claim")
        console.rasa.appended.clear()

        other = await alice.post(f"/api/handoffs/{h.id}/resolve", {"journey_id": journey_id + 999, "summary": "x"})
        assert other.status == 400
        no_summary = await alice.post(f"/api/handoffs/{h.id}/resolve", {"journey_id": journey_id, "summary": ""})
        assert no_summary.status == 400
        assert console.rasa.appended == []

        done = await alice.post(f"/api/handoffs/{h.id}/resolve", {"journey_id": journey_id, "summary": "Refund issued"})
        assert done.status == 200
        assert (await done.json())["handoff"]["status"] == "resolved"
        events = console.rasa.events_for("c-resolve")
        assert events[0] == {"event": "resume"}
        assert events[1] == {"event": "action", "name": "action_listen"}, "the bot answers the next message"
        assert events[2] == {"event": "slot", "name": "handoff_reason", "value": None}
        assert events[3]["data"]["custom"] == {"type": "handoff", "status": "ended", "queue": "Billing"}
        assert "Alice Smith" in events[3]["text"]
        csat = events[4]["data"]["custom"]
        assert csat["type"] == "csat" and csat["question"]
        assert [o["score"] for o in csat["options"]] == [5, 4, 3, 2, 1]
        assert csat["options"][0]["payload"] == f'/rate_journey{{"journey_id": {journey_id}, "score": 5}}'
        assert len(events) == 5

        closed = handoff(console_db, h.id)
        assert (closed.status, closed.summary) == ("resolved", "Refund issued")
        journey = journey_of(console_db, journey_id)
        assert (journey.state, journey.resolved_by, journey.outcome) == ("resolved", "agent:alice", "resolved_by_agent")
        again = await alice.post(f"/api/handoffs/{h.id}/resolve", {"journey_id": None, "summary": "again"})
        assert again.status == 409


async def test_resolving_while_rasa_is_down_changes_nothing(console_db):
    add_agent(console_db, "alice")
    journey_id = an_open_journey(console_db)
    h = open_handoff(console_db, "c-resolve-down")
    async with running_console(console_db) as console:
        alice = await console.agent("alice")
        await alice.post(f"/api/handoffs/{h.id}/claim")
        console.rasa.fail = True
        down = await alice.post(f"/api/handoffs/{h.id}/resolve", {"journey_id": journey_id, "summary": "Fixed"})
        assert down.status == 503
        assert (await down.json())["error"] == "Rasa is unreachable; nothing changed, try again."
        still = handoff(console_db, h.id)
        assert (still.status, still.summary, still.closed_at) == ("assigned", None, None)
        assert journey_of(console_db, journey_id).state != "resolved"
        console.rasa.fail = False
        fixed = await alice.post(f"/api/handoffs/{h.id}/resolve", {"journey_id": None, "summary": "Fixed"})
        assert fixed.status == 200
        assert journey_of(console_db, journey_id).state != "resolved"  # none chosen: the journey stays open
        assert not any(
            e.get("data", {}).get("custom", {}).get("type") == "csat" for e in console.rasa.events_for("c-resolve-down")
        )


async def test_handing_back_resumes_the_bot_with_a_notice_and_delivers_pending_replies_first(console_db):
    add_agent(console_db, "alice", name="Alice Smith")
    h = open_handoff(console_db, "c-back")
    async with running_console(console_db) as console:
        alice = await console.agent("alice")
        await alice.post(f"/api/handoffs/{h.id}/claim")
        console.rasa.fail = True
        assert (await alice.post(f"/api/handoffs/{h.id}/messages", {"text": "One moment"})).status == 202
        down = await alice.post(f"/api/handoffs/{h.id}/hand-back", {"summary": "Asked about plans"})
        assert down.status == 503
        assert handoff(console_db, h.id).status == "assigned"
        console.rasa.appended.clear()
        console.rasa.fail = False
        # the redelivery loop may send "One moment" first, or the hand-back carries it: either way once, first
        back = await alice.post(f"/api/handoffs/{h.id}/hand-back", {"summary": "Asked about plans"})
        assert back.status == 200
        events = console.rasa.events_for("c-back")
        texts = [e.get("text") for e in events]
        assert texts.count("One moment") == 1
        tail = events[texts.index("One moment") + 1 :]
        assert tail[0] == {"event": "resume"}
        assert tail[1] == {"event": "action", "name": "action_listen"}
        assert tail[2] == {"event": "slot", "name": "handoff_reason", "value": None}
        assert tail[3]["text"].startswith("You're back with our assistant.")
        assert tail[3]["data"]["custom"] == {"type": "handoff", "status": "ended", "queue": "Billing"}
        assert not any(e.get("name") == "handoff_summary" for e in events)
        closed = handoff(console_db, h.id)
        assert (closed.status, closed.summary) == ("handed_back", "Asked about plans")
        assert all(m.delivered_at for m in messages(console_db, h.id) if m.kind == "agent")


async def test_another_agents_conversation_cannot_be_closed(console_db):
    add_agent(console_db, "alice", name="Alice Smith")
    add_agent(console_db, "bob")
    h = open_handoff(console_db, "c-others")
    async with running_console(console_db) as console:
        alice, bob = await console.agent("alice"), await console.agent("bob")
        await alice.post(f"/api/handoffs/{h.id}/claim")
        console.rasa.appended.clear()
        refused = await bob.post(f"/api/handoffs/{h.id}/hand-back", {"summary": "mine now"})
        assert refused.status == 409
        assert (await refused.json())["agent_name"] == "Alice Smith"
        assert console.rasa.appended == []


async def test_the_timeline_merges_rasa_and_the_log_and_survives_rasa_being_down(console_db):
    add_agent(console_db, "alice")
    h = open_handoff(console_db, "c-timeline")
    said = customer_says(console_db, h.id, "Still broken!")
    ts = epoch(h.requested_at)
    async with running_console(console_db) as console:
        console.rasa.trackers["c-timeline"] = [
            user_event("my router is dead", -0.7, ts - 60),
            bot_event("Let's restart it", ts - 55),
            user_event("Still broken!", -0.9, epoch(said.at)),
        ]
        alice = await console.agent("alice")
        await alice.post(f"/api/handoffs/{h.id}/notes", {"text": "checked the line"})
        body = await (await alice.get(f"/api/handoffs/{h.id}/timeline")).json()
        assert body["transcript_available"] is True
        texts = [(e["from"], e["text"]) for e in body["entries"]]
        assert texts.count(("customer", "Still broken!")) == 1
        assert ("bot", "Let's restart it") in texts and ("note", "checked the line") in texts
        assert [p["score"] for p in body["sentiments"]] == [-0.7, -0.9]
        assert console.rasa.tokens[-1] == "rasa-test-token"

        console.rasa.fail = True
        body = await (await alice.get(f"/api/handoffs/{h.id}/timeline")).json()
        assert body["transcript_available"] is False and "unavailable" in body["notice"]
        assert [(e["from"], e["text"]) for e in body["entries"]] == [
            ("customer", "Still broken!"),
            ("note", "checked the line"),
        ]
        page = await alice.get(f"/handoffs/{h.id}")  # the page itself never waits for Rasa
        assert page.status == 200


async def test_the_conversation_shows_the_customers_context_and_a_visitor_has_none(console_db):
    from datetime import timedelta

    from bot.db.models import BehaviourEvent, CustomerSegment, Product, utcnow

    add_agent(console_db, "alice")
    cid = customer_pk(console_db, "CUST-00002")
    journey_id = an_open_journey(console_db, "CUST-00002")
    with session_scope(console_db) as session:
        product = session.execute(select(Product).order_by(Product.id).limit(1)).scalar_one()
        session.add(
            BehaviourEvent(
                customer_id=cid,
                product_id=product.id,
                kind="impression",
                strategy="co_purchase",
                occurred_at=utcnow() - timedelta(hours=1),
                source="chat",
            )
        )
        session.merge(
            CustomerSegment(
                customer_id=cid,
                recency_score=5,
                frequency_score=4,
                monetary_score=5,
                rfm_segment="champions",
                cluster=1,
                cluster_label="gadget fans",
                churn_risk=0.12,
                next_best_action="upsell",
                next_best_action_reason="",
                model_version="t",
            )
        )
        product_name = product.name
    known = open_handoff(console_db, "c-context", customer="CUST-00002")
    visitor = open_handoff(console_db, "c-visitor", customer=None)
    async with running_console(console_db) as console:
        alice = await console.agent("alice")
        context = (await (await alice.get(f"/api/handoffs/{known.id}")).json())["context"]
        assert context["profile"]["external_id"] == "CUST-00002"
        assert context["profile"]["segment"] == "champions" and context["profile"]["next_best_action"] == "upsell"
        assert context["orders"] and all(o["number"].startswith("TD") for o in context["orders"])
        assert [(j["id"], j["workflow"], j["current_step"]) for j in context["journeys"]] == [
            (journey_id, "no_internet", "ask_router_lights")
        ]
        assert [(r["product"], r["strategy"]) for r in context["recommendations"]] == [(product_name, "co_purchase")]
        page = await (await alice.get(f"/handoffs/{known.id}")).text()
        for shown in ("champions", product_name, "co purchase", context["orders"][0]["number"]):
            assert shown in page or shown.replace("&", "&amp;") in page
        assert (await (await alice.get(f"/api/handoffs/{visitor.id}")).json())["context"] == {
            "profile": None,
            "orders": [],
            "journeys": [],
            "recommendations": [],
        }
        page = await (await alice.get(f"/handoffs/{visitor.id}")).text()
        assert "Visitor" in page and "no account to show" in page
        queue = await (await alice.get("/api/queue")).json()
        assert {h["id"]: h["customer_label"] for h in queue["handoffs"]}[visitor.id] == "Visitor"
