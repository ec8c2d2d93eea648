"""The socket channel's translations: Rasa's bot messages and tracker events into the widget's Messages."""

from __future__ import annotations

from socketio import AsyncRedisManager

from bot.channels.socket import TandemSocketInput, handoff_state, history, outgoing


def test_a_persons_message_keeps_who_wrote_it_and_a_bots_keeps_its_payloads():
    agent = outgoing({"text": "Hi, Alice here", "from": "agent", "agent_name": "Alice", "timestamp": 5.0})
    assert agent == {"from": "agent", "text": "Hi, Alice here", "agent_name": "Alice", "timestamp": 5.0}
    bot = outgoing(
        {
            "text": "Pick one",
            "buttons": [{"title": "A", "payload": "/a"}, {"title": "no payload"}],
            "custom": {"type": "csat"},
            "agent_name": "spoofed",
            "timestamp": 6.0,
        }
    )
    assert bot == {
        "from": "bot",
        "text": "Pick one",
        "buttons": [{"title": "A", "payload": "/a"}],
        "custom": {"type": "csat"},
        "timestamp": 6.0,
    }
    assert outgoing({"quick_replies": [{"payload": "/b"}]})["buttons"] == [{"title": "/b", "payload": "/b"}]


def test_history_is_what_the_customer_saw_after_since():
    events = [
        {"event": "user", "text": "old", "timestamp": 1.0},
        {"event": "user", "text": "hello", "timestamp": 2.0},
        {"event": "user", "text": '/rate_journey{"score": 5}', "timestamp": 2.5},
        {"event": "user", "text": "EXTERNAL: journey_follow_up", "timestamp": 2.55},  # the scheduler, not the customer
        {"event": "action", "name": "action_listen", "timestamp": 2.6},
        {"event": "bot", "text": "Hi!", "data": {"buttons": None}, "metadata": {}, "timestamp": 3.0},
        {"event": "bot", "text": "Alice here", "metadata": {"from": "agent", "agent_name": "Alice"}, "timestamp": 4.0},
        {"event": "bot", "text": None, "data": {}, "metadata": {}, "timestamp": 5.0},
    ]
    assert history(events, since=1.0) == [
        {"from": "customer", "text": "hello", "timestamp": 2.0},
        {"from": "bot", "text": "Hi!", "timestamp": 3.0},
        {"from": "agent", "text": "Alice here", "agent_name": "Alice", "timestamp": 4.0},
    ]
    assert len(history(events * 100, since=None, limit=7)) == 7


def test_the_widget_sees_a_handoffs_state_but_not_its_internals():
    class View:
        status, queue, agent_name, expected_wait_seconds = "waiting", "billing", None, 200

    assert handoff_state(View()) == {"status": "waiting", "queue": "billing", "expected_wait_minutes": 3}
    assert handoff_state(None) is None


def test_several_rasa_instances_share_sockets_through_redis():
    channel = TandemSocketInput.from_credentials({"redis_url": "redis://127.0.0.1:6379/3"})
    server = channel._server()
    assert isinstance(server.manager, AsyncRedisManager)
    assert TandemSocketInput.from_credentials(None)._server().manager.__class__.__name__ == "AsyncManager"
