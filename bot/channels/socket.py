"""The widget's socket.io channel: Rasa's socket.io protocol with verified customers, acks, history and handoff.

docs/widget-protocol.md is the contract. Differences from Rasa's own `SocketIOInput`:
- a socket joins a conversation only through `session_request`, with the customer's signed token; a
  conversation that belongs to one customer cannot be joined by anyone else (`chat_conversations`);
- `user_uttered` is answered with an acknowledgement once the message is stored, or with the reason it
  was refused (empty, too long, bad token);
- while a person has the conversation the message goes to the handoff log first (`bot.handoff.relay`);
- a (re)connecting widget gets what it missed (`conversation_state`), read from Rasa's tracker store once no
  turn is in progress; after a lost Redis subscription the instance asks its widgets to `resync`;
- bot messages keep their metadata (`from: agent`, the agent's name) and custom payloads whole;
- too many events from one address, or messages from one customer, are refused with status 429 and
  `retry_after` seconds (`bot.channels.limits`).

Several Rasa instances: set `redis_url` in credentials.yml so a message to a customer reaches whichever
instance holds their socket (python-socketio's Redis manager).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.shared.core.constants import EXTERNAL_MESSAGE_PREFIX
from sanic import Blueprint, Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse
from socketio import AsyncManager, AsyncRedisManager, AsyncServer

from bot.channels import admission, no_answer
from bot.channels.accept import ChannelBlueprint
from bot.channels.inbound import NO_ANSWER_TEXT, ChannelError, check_message_id, check_sender, check_text, verify
from bot.channels.limits import ChannelLimits
from bot.handoff.relay import HandoffRelay, default_relay
from bot.handoff.store import HandoffView
from bot.identity import METADATA_KEY
from bot.payloads import PREFIX as PAYLOAD_PREFIX
from bot.settings import get_settings

logger = logging.getLogger(__name__)

CHANNEL = "tandem_socket"
HISTORY_LIMIT = 200
HISTORY_UNAVAILABLE = "the conversation cannot be loaded right now"
HISTORY_RETRY_SECONDS = 2
RESYNC_EVENT = "resync"  # the server lost messages it may have sent: ask for history since the newest shown
LISTEN_RETRY_FIRST_SECONDS = 0.5
LISTEN_RETRY_MAX_SECONDS = 5.0
BOT_EVENT = "bot_uttered"
_MESSAGE_KEYS = ("text", "image", "custom", "buttons")


def outgoing(message: dict[str, Any]) -> dict[str, Any]:
    """A Rasa bot message (BotUttered.message() or a dispatcher dict) as the widget's Message."""
    out: dict[str, Any] = {"from": "agent" if message.get("from") == "agent" else "bot"}
    for key in _MESSAGE_KEYS:
        if message.get(key):
            out[key] = message[key]
    if not out.get("buttons") and message.get("quick_replies"):
        out["buttons"] = message["quick_replies"]
    if out.get("buttons"):
        out["buttons"] = [
            {"title": str(b.get("title") or b.get("payload")), "payload": str(b.get("payload"))}
            for b in out["buttons"]
            if isinstance(b, dict) and b.get("payload")
        ]
    if out["from"] == "agent" and message.get("agent_name"):
        out["agent_name"] = str(message["agent_name"])
    out["timestamp"] = float(message.get("timestamp") or time.time())
    return out


def handoff_state(handoff: HandoffView | None) -> dict[str, Any] | None:
    """The widget's view of a handoff (docs/widget-protocol.md, Handoff)."""
    if handoff is None:
        return None
    state: dict[str, Any] = {"status": handoff.status, "queue": handoff.queue}
    if handoff.status == "assigned" and handoff.agent_name:
        state["agent_name"] = handoff.agent_name
    if handoff.status == "waiting" and handoff.expected_wait_seconds:
        state["expected_wait_minutes"] = max(1, round(handoff.expected_wait_seconds / 60))
    return state


def _typed_by_customer(text: Any) -> bool:
    """Words the customer wrote: not a button's payload, nor an intent the scheduler or the console triggered
    through Rasa's HTTP API (stored as "EXTERNAL: journey_follow_up")."""
    return bool(text) and not str(text).startswith((PAYLOAD_PREFIX, EXTERNAL_MESSAGE_PREFIX))


def history(events: Iterable[dict[str, Any]], since: float | None, limit: int = HISTORY_LIMIT) -> list[dict[str, Any]]:
    """The conversation's messages after `since`, as the widget shows them (customer, bot and agent)."""
    messages: list[dict[str, Any]] = []
    for event in events:
        timestamp = event.get("timestamp") or 0
        if since is not None and timestamp <= since:
            continue
        if event.get("event") == "user" and _typed_by_customer(event.get("text")):
            messages.append({"from": "customer", "text": event["text"], "timestamp": timestamp})
        elif event.get("event") == "bot":
            message = {
                **(event.get("data") or {}),
                **(event.get("metadata") or {}),
                "text": event.get("text"),
                "timestamp": timestamp,
            }
            shown = outgoing(message)
            if any(shown.get(k) for k in _MESSAGE_KEYS):
                messages.append(shown)
    return messages[-limit:]


class TandemSocketOutput(OutputChannel):
    """Sends each bot message whole (text, buttons, custom payload, who wrote it) to the conversation's room."""

    @classmethod
    def name(cls) -> str:
        return CHANNEL

    def __init__(self, sio: AsyncServer) -> None:
        self.sio = sio
        self.sent = 0

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        payload = outgoing(message)
        if not any(payload.get(k) for k in _MESSAGE_KEYS):
            return
        self.sent += 1
        await self.sio.emit(BOT_EVENT, payload, room=recipient_id)

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self.send_response(recipient_id, {"text": text})


class _AppCapturingBlueprint(ChannelBlueprint):
    """Attaches the socket.io server to Rasa's Sanic app and remembers the app (for its tracker store)."""

    def __init__(self, sio: AsyncServer, socketio_path: str, on_app: Callable[[Sanic], None], *args: Any) -> None:
        super().__init__(*args)
        self.ctx.sio = sio  # Sanic blueprints only take new attributes on `ctx`
        self.ctx.socketio_path = socketio_path
        self.ctx.on_app = on_app

    def register(self, app: Sanic, options: dict[str, Any]) -> None:
        self.ctx.sio.attach(app, self.ctx.socketio_path)
        self.ctx.on_app(app)
        super().register(app, options)


class DeliveryFailed(ConnectionError):
    """A message for a customer could not be handed to the other instances (Redis is away)."""


class DeliveringRedisManager(AsyncRedisManager):
    """python-socketio's Redis manager, made to lose nothing while Redis restarts.

    - It logs and drops a message it cannot publish, and Rasa then stores a bot message nobody received. This one
      raises instead: Rasa answers an error and stores nothing, and the sender tries again (the console redelivers
      an agent's reply, the scheduler a follow-up, the widget its message).
    - Every message, even one for a socket of this instance, reaches the sockets through the instance's Redis
      subscription. Once Redis is back, a message may be published before the subscription is made again, and
      nobody hears it. So when the subscription comes back after a loss, the instance tells its sockets to
      `resync`: each widget asks for what it missed (`session_request` with `since`), read from the tracker store.
    """

    connected: bool
    pubsub: Any

    async def _redis_listen_with_retries(self) -> AsyncIterator[dict[str, Any]]:
        delay = LISTEN_RETRY_FIRST_SECONDS
        lost = False
        while True:
            try:
                self._redis_connect()
                await self.pubsub.subscribe(self.channel)
                if lost:
                    logger.warning("socket: Redis subscription back; asking this instance's widgets to resync")
                    await self._resync_local_sockets()
                    lost = False
                delay = LISTEN_RETRY_FIRST_SECONDS
                async for message in self.pubsub.listen():
                    yield message
            except Exception as exc:
                lost = True
                logger.warning("socket: Redis subscription lost (%s); trying again in %.0f s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, LISTEN_RETRY_MAX_SECONDS)

    async def _resync_local_sockets(self) -> None:
        """To the sockets of this instance only (the base manager's emit does not go through Redis)."""
        try:
            await AsyncManager.emit(self, RESYNC_EVENT, {}, namespace="/")
        except Exception:
            logger.exception("socket: could not ask the widgets to resync")

    async def _publish(self, data: Any) -> Any:
        for attempt in (1, 2):  # a dropped connection is made again once
            try:
                if not self.connected:
                    self._redis_connect()
                return await self.redis.publish(self.channel, self.json.dumps(data))
            except Exception as exc:
                self.connected = False
                if attempt == 2:
                    raise DeliveryFailed(f"could not publish to Redis: {exc}") from exc
        return None


async def _best_effort(delivery: Awaitable[Any]) -> None:
    """A notice the widget can do without, or asks for again (typing, an apology, a session's confirmation)."""
    try:
        await delivery
    except DeliveryFailed as exc:
        logger.warning("socket: a notice was not delivered: %s", exc)


class TandemSocketInput(InputChannel):
    """`bot.channels.socket.TandemSocketInput` in credentials.yml (keys: socketio_path, redis_url). Which pages
    may connect is `rasa run --cors`."""

    @classmethod
    def name(cls) -> str:
        return CHANNEL

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> TandemSocketInput:
        credentials = credentials or {}
        return cls(
            socketio_path=credentials.get("socketio_path") or "/socket.io",
            cors_allowed_origins=credentials.get("cors_allowed_origins", []),
            redis_url=credentials.get("redis_url") or None,
        )

    def __init__(
        self,
        socketio_path: str = "/socket.io",
        cors_allowed_origins: Any = (),
        redis_url: str | None = None,
        relay: HandoffRelay | None = None,
        limits: ChannelLimits | None = None,
    ) -> None:
        self.socketio_path = socketio_path
        self.cors_allowed_origins = cors_allowed_origins
        self.redis_url = redis_url
        self.sio: AsyncServer | None = None
        self.app: Sanic | None = None
        self.relay = relay or default_relay()
        self.limits = limits

    def get_output_channel(self) -> OutputChannel | None:
        """For Rasa's HTTP API (`output_channel=latest`): the agent console's messages and follow-ups."""
        return TandemSocketOutput(self.sio) if self.sio is not None else None

    def _server(self) -> AsyncServer:
        manager = DeliveringRedisManager(self.redis_url) if self.redis_url else None
        max_chars = get_settings().max_message_chars
        return AsyncServer(
            async_mode="sanic",
            # Rasa 3.6 runs on Sanic 21.12, whose websockets python-engineio 4.15 cannot drive (the socket
            # closes right after the open packet); HTTP long-polling works, through any proxy, and pushes
            # as soon as a message is emitted.
            transports=["polling"],
            # Empty: engine.io adds no CORS headers of its own, `rasa run --cors` does (both would send two
            # Access-Control-Allow-Origin headers, which browsers refuse).
            cors_allowed_origins=list(self.cors_allowed_origins),
            client_manager=manager,
            # a message of max_chars characters (4 bytes each at worst) plus its envelope and token
            max_http_buffer_size=max(100_000, max_chars * 4 + 16_384),
        )

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        sio = self._server()
        self.sio = sio
        self.limits = self.limits or ChannelLimits.from_settings(get_settings())
        blueprint = _AppCapturingBlueprint(sio, self.socketio_path, self._set_app, "tandem_socket", __name__)

        @blueprint.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @sio.on("connect")
        async def connect(sid: str, environ: dict, auth: dict | None = None) -> bool:
            await sio.save_session(sid, {"address": self._address(environ)})
            return True

        # `data` is optional: a client may emit an event with no argument at all, and must still get an answer.
        @sio.on("session_request")
        async def session_request(sid: str, data: Any = None, *_: Any) -> None:
            await self._session_request(sid, data)

        @sio.on("user_uttered")
        async def user_uttered(sid: str, data: Any = None, *_: Any) -> dict[str, Any]:
            return await self._user_uttered(sid, data, on_new_message)

        return blueprint

    def _set_app(self, app: Sanic) -> None:
        self.app = app

    def _address(self, environ: dict[str, Any]) -> str:
        """The client's address from the socket's first request (engine.io's own REMOTE_ADDR is a constant)."""
        assert self.limits is not None
        request = environ.get("sanic.request")
        peer = getattr(request, "ip", None) or environ.get("REMOTE_ADDR")
        return self.limits.address_of(peer, environ.get("HTTP_X_FORWARDED_FOR"))

    async def _check_address(self, session: dict[str, Any]) -> None:
        assert self.limits is not None
        await self.limits.check_address(session.get("address") or "unknown")

    async def _session_request(self, sid: str, data: Any) -> None:
        assert self.sio is not None
        data = data if isinstance(data, dict) else {}
        session = await self.sio.get_session(sid) or {}
        try:
            await self._check_address(session)
            session_id = check_sender(data.get("session_id") or uuid.uuid4().hex, strict=True)
            token = data.get("customer_token")
            customer = verify(token) if token else None
            await admission.admit(self.relay.database_url, session_id, customer, CHANNEL)
        except ChannelError as exc:
            await _best_effort(self.sio.emit("session_error", {"status": exc.status, **exc.body()}, to=sid))
            return
        previous = session.get("session_id")
        if previous and previous != session_id:
            await self.sio.leave_room(sid, previous)
        await self.sio.enter_room(sid, session_id)
        await self.sio.save_session(sid, {**session, "session_id": session_id, "customer": customer, "token": token})
        try:
            state = await self._state(session_id, customer, data.get("since"))
        except ChannelError as exc:  # the history cannot be read: the widget asks again rather than show a gap
            await _best_effort(self.sio.emit("session_error", {"status": exc.status, **exc.body()}, to=sid))
            return
        await _best_effort(self.sio.emit("session_confirm", session_id, to=sid))  # unanswered, the widget asks again
        await _best_effort(self.sio.emit("conversation_state", state, to=sid))

    async def _state(self, session_id: str, customer: str | None, since: Any) -> dict[str, Any]:
        since = float(since) if isinstance(since, (int, float)) and not isinstance(since, bool) else None
        handoff: HandoffView | None = None
        messages: list[dict[str, Any]] = []
        try:
            handoff = await asyncio.to_thread(self.relay.customer_handoff, session_id)
        except Exception:
            logger.exception("socket: could not read the handoff of %s", session_id)
        try:
            messages = history(await admission.settled_events(self.app, session_id), since)
        except Exception as exc:
            logger.exception("socket: could not read the history of %s", session_id)
            raise ChannelError(503, HISTORY_UNAVAILABLE, retry_after=HISTORY_RETRY_SECONDS) from exc
        return {
            "session_id": session_id,
            "customer_id": customer,
            "handoff": handoff_state(handoff),
            "messages": messages,
        }

    async def _user_uttered(
        self, sid: str, data: Any, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> dict[str, Any]:
        assert self.sio is not None
        session = await self.sio.get_session(sid) or {}
        session_id = session.get("session_id")
        try:
            await self._check_address(session)
            if not session_id:
                raise ChannelError(400, "no conversation yet: send session_request first")
            if not isinstance(data, dict):
                raise ChannelError(400, "expected an object with 'message'")
            if data.get("session_id") not in (None, session_id):
                raise ChannelError(400, "this socket is in another conversation: send session_request first")
            text = check_text(data.get("message"), get_settings().max_message_chars)
            message_id = check_message_id(data.get("message_id"))
            metadata = self._metadata(session, data.get("metadata"))
            assert self.limits is not None
            await self.limits.check_customer(metadata.get("customer_id"), session_id)
        except ChannelError as exc:
            return {"ok": False, "status": exc.status, **exc.body()}
        output = TandemSocketOutput(self.sio)
        if not await admission.offered(self.app, session_id, text):
            await output.send_text_message(session_id, admission.NOT_OFFERED_TEXT)
            return {"ok": True, "refused": "not_offered"}
        if message_id is not None and await admission.already_stored(self.app, session_id, message_id):
            return {"ok": True, "duplicate": True}  # stored and answered the first time; its ack was lost

        handoff = await self.relay.take_customer_message(session_id, text)
        if handoff is None:
            await _best_effort(self.sio.emit("typing", {"on": True, "from": "bot"}, room=session_id))
        try:
            await on_new_message(
                UserMessage(text, output, session_id, input_channel=CHANNEL, message_id=message_id, metadata=metadata)
            )
        except Exception:
            logger.exception("socket: message from %s failed", session_id)
            await _best_effort(output.send_text_message(session_id, NO_ANSWER_TEXT))
            return {"ok": False, "status": 503, "error": "the assistant could not take the message; try again"}
        finally:
            if handoff is None:
                await _best_effort(self.sio.emit("typing", {"on": False, "from": "bot"}, room=session_id))
        if handoff is None and output.sent == 0:
            # Rasa swallows action-server failures and answers nothing; the customer must still hear back
            # (unless a person has the conversation, when the bot is meant to be quiet).
            if not await asyncio.to_thread(self._paused, session_id):
                await _best_effort(
                    output.send_response(session_id, await no_answer.record_apology(self.app, session_id))
                )
        return {"ok": True}

    def _paused(self, session_id: str) -> bool:
        try:
            handoff = self.relay.customer_handoff(session_id)
        except Exception:
            return False
        return handoff is not None and handoff.pauses_bot

    @staticmethod
    def _metadata(session: dict[str, Any], raw: Any) -> dict[str, Any]:
        """The verified customer: a renewed token must be the same customer the conversation was opened for."""
        raw = raw if isinstance(raw, dict) else {}
        token = raw.get(METADATA_KEY) or session.get("token")
        customer = session.get("customer")
        if not token:
            if customer:
                raise ChannelError(401, "this conversation needs the customer's token")
            return {}
        verified = verify(token)
        if verified != customer:
            raise ChannelError(403, "this conversation belongs to another customer: send session_request again")
        return {"customer_id": verified, METADATA_KEY: token}
