"""A seeded fuzz of Tandem's public surfaces: the REST and socket.io channels, the shop's API, the agent console.

The surfaces: the REST channel; engine.io's HTTP transport and socket.io events (a real client); the shop
page's API; the agent console's HTTP API and its websocket (`/ws`: handshakes without a session or from another
site, hostile frames, rapid opens and closes); and Rasa's HTTP API as production runs it, behind
`--auth-token`, with no token, a wrong one and the right one. Every request is built from one
`random.Random(seed)`, so a failure replays with the same seed. What counts: no answer of 500 or more (also
inside socket.io acknowledgements and `session_error`s), a request without valid credentials refused (401 or
403), no request that hangs or drops the connection, no traceback in the servers' logs, and every server (and an
open console socket) still answering afterwards. `tests/e2e/test_fuzz.py` runs a short form in CI;
`bench/fuzz.py` the long one.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import string
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import jwt
import requests
import socketio

from bot.domain_files import load_domain
from bot.identity import ALGORITHM, ISSUER, sign_customer

TIMEOUT = 90.0  # a request that takes longer counts as a hang


# --- hostile values ---------------------------------------------------------------------------------------------

_WEIRD = [
    "",
    " ",
    "\t\n",
    "\x00",
    "\u202e",
    "\ufeff",
    "\ud800",
    "\udfff",
    "💥" * 3,
    "ß\u0301",
    "null",
    "None",
    "NaN",
    "<script>alert(1)</script>",
    "'; DROP TABLE customers; --",
    "{{7*7}}",
    "%s%n%x",
    "${TANDEM_SECRET_KEY}",
    "../../../../etc/passwd",
    "..\\..\\windows\\win.ini",
    "\r\nSet-Cookie: x=y",
    "javascript:alert(1)",
    "/",
    "/restart",
    "/session_start",
    "/{}",
    '/x{"a":',
    "/affirm@1.5",
    "EXTERNAL: journey_follow_up",
    '/recommendation_clicked{"product_sku": "PHN-0001"}',
    '/rate_journey{"score": 5, "journey_id": 1}',
    '/close_issue{"journey_id": 99999999999999999999}',
    '/journey_follow_up{"journey_id": 1, "follow_up_id": 1}',
    '/not_interested{"product_sku": ["a"]}',
    '/order_status{"order_id": "TD000001"}',
    "/ask_human",
    "where is my order TD000001?",
    "I want a refund!!!",
    "hola, ¿dónde está mi pedido?",
    "ok",
    "no",
    "yes",
]


class Hostile:
    """Values and bodies that a careless or malicious client sends."""

    def __init__(self, rng: random.Random, customers: Sequence[str], secret_key: str) -> None:
        self.rng = rng
        self.customers = list(customers)
        self.secret_key = secret_key

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def hex_id(self) -> str:
        """A fresh conversation id, from the seed (so a run replays exactly)."""
        return f"{self.rng.getrandbits(128):032x}"

    def text(self) -> str:
        r = self.rng.random()
        if r < 0.45:
            return self.rng.choice(_WEIRD)
        if r < 0.7:
            alphabet = string.printable + "éüñçøß漢字😀\u200b\u0000\u202e"
            return "".join(self.rng.choice(alphabet) for _ in range(self.rng.randint(1, 80)))
        if r < 0.8:
            return self.rng.choice('ab/{}"\\') * self.rng.choice([4_999, 5_000, 5_001, 20_000, 70_000])
        if r < 0.9:  # any code point, lone surrogates included (a broken client's JSON carries them)
            return "".join(chr(self.rng.randint(1, 0x2FFFF)) for _ in range(self.rng.randint(1, 40)))
        return json.dumps(self.value(depth=3))

    def value(self, depth: int = 4) -> Any:
        kinds = ["none", "bool", "int", "float", "str", "list", "dict"] if depth > 0 else ["none", "bool", "int", "str"]
        kind = self.rng.choice(kinds)
        if kind == "none":
            return None
        if kind == "bool":
            return self.chance(0.5)
        if kind == "int":
            return self.rng.choice([0, -1, 1, 2**31, 2**63, 10**30, -(10**30), self.rng.randint(-1000, 10**12)])
        if kind == "float":
            return self.rng.choice([0.5, -1e308, 1e308, 3.14])
        if kind == "str":
            return self.text()
        if kind == "list":
            return [self.value(depth - 1) for _ in range(self.rng.randint(0, 4))]
        return {
            self.rng.choice(
                ["sender", "message", "metadata", "customer_id", "text", "journey_id", "x", ""]
            ): self.value(depth - 1)
            for _ in range(self.rng.randint(0, 4))
        }

    def token(self) -> Any:
        r = self.rng.random()
        customer = self.rng.choice(self.customers)
        if r < 0.45:
            return sign_customer(customer, secret=self.secret_key)
        if r < 0.55:
            return sign_customer(customer, ttl_seconds=-10, secret=self.secret_key)
        if r < 0.65:
            return sign_customer(customer, secret="another-secret-key-that-is-long-enough-for-hs256")
        if r < 0.75:  # a shop server that signs whatever it was given
            claims = {"sub": self.text(), "iss": ISSUER, "iat": int(time.time()), "exp": int(time.time()) + 600}
            return jwt.encode(claims, self.secret_key, algorithm=ALGORITHM)
        return self.value(depth=1)

    def nested(self) -> bytes:
        depth = self.rng.choice([50, 1_000, 30_000])
        opener, closer = self.rng.choice([(b"[", b"]"), (b'{"a":', b"}")])
        return opener * depth + b"1" + closer * depth

    def raw_body(self) -> bytes:
        r = self.rng.random()
        if r < 0.2:
            return self.nested()
        if r < 0.35:
            return bytes(self.rng.randint(0, 255) for _ in range(self.rng.randint(0, 300)))
        if r < 0.45:
            return b"\xff\xfe" + json.dumps({"message": "hi"}).encode("utf-16-le")
        if r < 0.55:
            return b"{" * self.rng.randint(1, 5) + b'"sender": '
        if r < 0.62:
            return b"x" * self.rng.choice([65_536, 70_000, 300_000])
        if r < 0.7:
            return b""
        return json.dumps(self.value()).encode("utf-8", "surrogatepass")


def _json_bytes(value: Any) -> bytes:
    # surrogatepass: lone surrogates are written as raw (invalid UTF-8) bytes, as a broken client would
    return json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")


# --- requests ---------------------------------------------------------------------------------------------------


@dataclass
class Request:
    target: str  # how the report names the endpoint
    method: str
    url: str
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] | None = None
    refused: bool = False  # it carries no valid credentials: only a refusal will do (`FuzzReport.record`)


@dataclass
class Surfaces:
    """Where the stack under test answers, and what the fuzz may use there."""

    rasa_url: str
    shop_url: str
    console_url: str
    console_username: str
    console_password: str
    customers: Sequence[str]
    rasa_token: str  # Rasa's HTTP API token (`Settings.rasa_api_token` of the stack's environment)
    handoff_ids: Sequence[int] = ()
    conversation_ids: Sequence[str] = ()


def _rest(h: Hostile, s: Surfaces) -> Request:
    url = f"{s.rasa_url}/webhooks/tandem/webhook"
    if h.chance(0.25):
        return Request(
            "rest POST /webhooks/tandem/webhook",
            "POST",
            url,
            h.raw_body(),
            {"Content-Type": h.rng.choice(["application/json", "text/plain", "multipart/form-data"])},
        )
    sender: Any = h.rng.choice(list(s.conversation_ids) or ["fuzz"]) if h.chance(0.5) else f"fuzz-{h.hex_id()}"
    if h.chance(0.15):
        sender = h.value(depth=1)
    metadata: Any = {"customer_token": h.token()} if h.chance(0.7) else h.rng.choice([{}, None, h.value(depth=2)])
    message: Any = h.text() if h.chance(0.85) else h.value(depth=2)
    body = {"sender": sender, "message": message, "metadata": metadata}
    if h.chance(0.1):
        body[h.text()[:20]] = h.value(depth=2)
    return Request(
        "rest POST /webhooks/tandem/webhook", "POST", url, _json_bytes(body), {"Content-Type": "application/json"}
    )


def _engineio(h: Hostile, s: Surfaces) -> Request:
    params = {"EIO": h.rng.choice(["4", "3", "x", ""]), "transport": h.rng.choice(["polling", "websocket", "x"])}
    if h.chance(0.6):
        params["sid"] = h.rng.choice([h.hex_id(), h.text()[:40], ""])
    method = h.rng.choice(["GET", "POST", "OPTIONS"])
    body = h.raw_body() if method == "POST" else None
    return Request(
        "socket.io HTTP /socket.io/",
        method,
        f"{s.rasa_url}/socket.io/",
        body,
        {"Content-Type": "text/plain;charset=UTF-8"},
        params,
    )


def _shop(h: Hostile, s: Surfaces) -> Request:
    r = h.rng.random()
    if r < 0.6:
        body = (
            h.raw_body()
            if h.chance(0.4)
            else _json_bytes({"customer_id": h.value(depth=2)} if h.chance(0.7) else h.value())
        )
        return Request(
            "shop POST /api/session", "POST", f"{s.shop_url}/api/session", body, {"Content-Type": "application/json"}
        )
    if r < 0.7:
        return Request("shop GET /api/config", "GET", f"{s.shop_url}/api/config", params={"x": h.text()[:200]})
    if r < 0.8:
        return Request("shop GET /", "GET", f"{s.shop_url}/", params={h.text()[:20] or "q": h.text()[:500]})
    if r < 0.9:
        path = h.rng.choice(
            [
                "../../etc/passwd",
                "%2e%2e/%2e%2e/etc/passwd",
                "widget.js%00",
                "..%5c..%5cx",
                "products/" + "a" * 3000,
                "\u202e.js",
                "widget.js",
            ]
        )
        return Request("shop GET /static/*", "GET", f"{s.shop_url}/static/{path}")
    return Request(
        "shop * /api/session",
        h.rng.choice(["GET", "PUT", "DELETE", "PATCH"]),
        f"{s.shop_url}/api/session",
        h.raw_body(),
    )


class ConsoleSession:
    """A signed-in agent's cookie and CSRF token (the fuzz also sends requests without them)."""

    def __init__(self, surfaces: Surfaces) -> None:
        self.http = requests.Session()
        base = surfaces.console_url
        form = self.http.get(f"{base}/login", timeout=TIMEOUT).text
        token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
        page = self.http.post(
            f"{base}/login",
            timeout=TIMEOUT,
            data={
                "username": surfaces.console_username,
                "password": surfaces.console_password,
                "csrf_token": token,
                "next": "/",
            },
        )
        found = re.search(r'<meta name="csrf-token" content="([^"]+)"', page.text)
        if not found:
            raise RuntimeError(f"the fuzz could not sign in to the console: HTTP {page.status_code}")
        self.csrf = found.group(1)


_ACTIONS = ("claim", "messages", "notes", "resolve", "hand-back")
_ID_SEGMENT = re.compile(r"(?<=/handoffs)/[^/]+")  # the id in a path, so the report groups by endpoint


def _console(h: Hostile, s: Surfaces) -> Request:
    base = s.console_url
    r = h.rng.random()
    if r < 0.15:
        return Request("console GET /login", "GET", f"{base}/login", params={"next": h.text()[:3000]})
    if r < 0.35:
        r2 = h.rng.random()
        if r2 < 0.4:
            body = h.raw_body()
        else:
            fields = {
                k: (h.text() if h.chance(0.8) else "x" * 70_000)[:80_000]
                for k in h.rng.sample(["username", "password", "csrf_token", "next", "x"], h.rng.randint(0, 5))
            }
            body = "&".join(f"{k}={v}" for k, v in fields.items()).encode("utf-8", "surrogatepass")
        content_type = h.rng.choice(
            [
                "application/x-www-form-urlencoded",
                "multipart/form-data; boundary=xyz",
                "multipart/form-data",
                "application/json",
            ]
        )
        return Request("console POST /login", "POST", f"{base}/login", body, {"Content-Type": content_type})
    if r < 0.42:
        return Request(
            "console POST /internal/wake",
            "POST",
            f"{base}/internal/wake",
            h.raw_body(),
            {"Authorization": h.rng.choice(["", "Bearer ", "Bearer " + h.text()[:200], "Basic x"])},
        )
    ids = list(s.handoff_ids) + [0, 1, 999_999_999_999]
    handoff = str(h.rng.choice(ids)) if h.chance(0.9) else h.rng.choice(["x", "-1", "1" * 13, "%00", "1.5"])
    if r < 0.55:
        path = h.rng.choice(
            [
                "/api/queue",
                "/api/me",
                f"/api/handoffs/{handoff}",
                f"/api/handoffs/{handoff}/timeline",
                f"/handoffs/{handoff}",
                "/",
                "/ws",
            ]
        )
        name = _ID_SEGMENT.sub("/{id}", path)
        return Request(f"console GET {name}", "GET", f"{base}{path}", None, {"X-Fuzz-Auth": "session"})
    action = h.rng.choice(_ACTIONS)
    if h.chance(0.3):
        body = h.raw_body()
    else:
        fields = ["text", "journey_id", "summary", "outcome"]
        body = _json_bytes(
            {h.rng.choice(fields): h.value(depth=2) for _ in range(h.rng.randint(0, 3))} if h.chance(0.8) else h.value()
        )
    headers = {
        "Content-Type": "application/json",
        "X-Fuzz-Auth": h.rng.choice(["session", "session", "nocsrf", "none"]),
    }
    if h.chance(0.1):
        headers["Origin"] = "https://evil.example"
    return Request(
        f"console POST /api/handoffs/{{id}}/{action}", "POST", f"{base}/api/handoffs/{handoff}/{action}", body, headers
    )


# --- Rasa's HTTP API (`rasa run --enable-api --auth-token`, as production runs it) -------------------------------
#
# Without a valid token anything goes: Rasa checks the token before it reads the request. With the token, half
# the requests are well formed ("typed": the fields Rasa needs, in the types it needs, naming the domain's intents
# and actions, texts without lone surrogates), so that they reach the bot's own code; the other half are as
# hostile as those without it: bodies that are not JSON or not objects, JSON nested deep, events lists from which
# no event comes, events without the fields Rasa needs or naming no action of the domain, texts and values of any
# type, lone surrogates. Rasa 3.6.21's handlers answer many of those with a 500; bot/channels/api_requests.py
# checks those bodies first and answers 400. Still never sent with the token: a request that would unload the
# model (DELETE /model), load one from a path that exists, or train on anything but data that Rasa's schema
# refuses (below).
# (One the fuzz found that was Tandem's own is fixed: LinearIntentClassifier failed on a message without a single
# token, empty or only whitespace, which the channels refuse but Rasa's API passes on; such texts are sent.)

# Query parameters the fuzz never sends, even as hostile ones: Rasa would post its answer to `callback_url` (a
# request to anywhere), load a model from the path in `model`, or train models for `cross_validation_folds`.
_RASA_UNSAFE_PARAMS = frozenset({"callback_url", "model", "cross_validation_folds", "token"})
_EVENT_NAMES = (
    "user", "bot", "slot", "action", "restart", "rewind", "undo", "followup", "active_loop", "pause", "resume",
    "session_started", "user_featurization", "entities", "reset_slots", "export", "agent", "form_validation",
    "loop_interrupted", "action_execution_rejected", "cancel_reminder",
)  # fmt: skip
_SURROGATES = re.compile("[\ud800-\udfff]")
_JSON = "application/json"


@dataclass(frozen=True)
class _DomainNames:
    intents: tuple[str, ...]
    actions: tuple[str, ...]  # actions and responses: what `/execute` runs
    slots: tuple[str, ...]


@lru_cache(maxsize=1)
def _domain_names() -> _DomainNames:
    """The served domain's names, so that a fuzzed request reaches the bot's own code as well as Rasa's checks."""
    domain = load_domain(Path(__file__).resolve().parents[2] / "domain")
    intents = tuple(sorted(i if isinstance(i, str) else next(iter(i)) for i in domain["intents"]))
    actions = tuple(sorted({*domain["actions"], *domain["responses"], "action_restart", "action_listen"}))
    return _DomainNames(intents, actions, tuple(sorted(domain["slots"])))


def _rasa_auth(h: Hostile, s: Surfaces) -> tuple[bool, dict[str, str], dict[str, str]]:
    """(valid?, query parameters, headers): the API token, none at all, or a wrong one."""
    r = h.rng.random()
    if r < 0.55:
        return True, {"token": s.rasa_token}, {}
    if r < 0.75:
        # No token; sometimes a customer's JWT instead (Rasa checks JWTs only where it is given a JWT secret).
        return False, {}, {"Authorization": f"Bearer {h.token()}"} if h.chance(0.3) else {}
    wrong = h.rng.choice(
        [h.text()[:200], "", s.rasa_token[:-1], s.rasa_token.upper(), s.rasa_token + " ", h.secret_key, str(h.token())]
    )
    return False, {"token": wrong if wrong != s.rasa_token else wrong + "x"}, {}


def _conversation(h: Hostile, s: Surfaces) -> str:
    r = h.rng.random()
    cid = h.rng.choice(list(s.conversation_ids) or ["fuzz"]) if r < 0.4 else f"fuzz-{h.hex_id()}"
    if r >= 0.8:
        cid = h.text()[:200]
    return quote(cid.encode("utf-8", "surrogatepass"), safe="")


def _clean(text: str) -> str:
    """`text` with its lone surrogates replaced (Rasa's API refuses them: bot/channels/api_requests.py)."""
    return _SURROGATES.sub("\ufffd", text)


def _utterance(h: Hostile, typed: bool) -> str:
    """Hostile text for the NLU; `typed`, without the lone surrogates that Rasa's API refuses (above)."""
    text = h.text()
    return _clean(text) if typed else text


def _not_json(h: Hostile) -> bytes:
    """A body that no JSON parser takes (Sanic answers 400 before Rasa's handler runs)."""
    if h.chance(0.5):
        return b"{" * h.rng.randint(1, 5) + b'"text": '
    return b"\xff" + bytes(h.rng.randint(0, 255) for _ in range(h.rng.randint(0, 300)))


def _event(h: Hostile, typed: bool) -> Any:
    """One tracker event, of a kind Rasa knows; `typed`, with the fields Rasa needs in the types it needs."""
    names = _domain_names()
    kind = h.rng.choice(_EVENT_NAMES) if typed or h.chance(0.9) else h.text()[:30]
    event: dict[str, Any] = {"event": kind}
    if kind in ("user", "bot", "agent"):
        event["text"] = _clean(h.text()) if typed else h.text() if h.chance(0.85) else h.value(depth=1)
    if kind == "user" and (typed or h.chance(0.7)):
        intent = h.rng.choice(names.intents) if h.chance(0.8) else h.text()[:40]
        confidence = h.rng.choice([0.0, 1.0, 0.5, -1.0, 1e308]) if typed else h.value(depth=0)
        event["parse_data"] = {"intent": {"name": intent, "confidence": confidence}, "entities": []}
    if kind == "slot":
        event["name"] = h.rng.choice(names.slots) if h.chance(0.8) else h.text()[:40]
        event["value"] = h.value(depth=2)
    if kind in ("action", "followup", "active_loop") and (typed or h.chance(0.9)):
        event["name"] = h.rng.choice(names.actions) if typed or h.chance(0.7) else h.value(depth=0)
    if h.chance(0.2):
        event["timestamp"] = h.rng.choice([0, -1, 1e308, time.time()]) if typed else h.value(depth=0)
    if h.chance(0.2):
        event["metadata"] = h.value(depth=2) if not typed else {"x": h.value(depth=2)}
    return event


def _events(h: Hostile, typed: bool) -> bytes:
    if typed:
        return _json_bytes([_event(h, typed) for _ in range(h.rng.randint(1, 5))])
    if h.chance(0.15):
        return h.raw_body()
    return _json_bytes([_event(h, typed) for _ in range(h.rng.randint(0, 5))] if h.chance(0.85) else _event(h, typed))


def _json_or_garbage(h: Hostile, typed: bool, body: dict[str, Any]) -> bytes:
    """`body`, or now and then what a broken client sends instead (`typed`, only what is not JSON)."""
    if h.chance(0.15):
        return _not_json(h) if typed else h.raw_body()
    return _json_bytes(body if typed or h.chance(0.9) else h.value())


def _nlu_test_data(h: Hostile, typed: bool) -> tuple[bytes, str]:
    """A test set for `/model/test/intents` (YAML or Rasa's JSON format) with hostile examples."""
    intent = h.rng.choice(_domain_names().intents) if h.chance(0.8) else h.text()[:40]

    def example() -> str:
        return _utterance(h, typed)[:200]

    if h.chance(0.5):
        examples = "".join(f"    - {json.dumps(example())}\n" for _ in range(h.rng.randint(1, 3)))
        return (
            f'version: "3.1"\nnlu:\n- intent: {json.dumps(intent)}\n  examples: |\n{examples}'.encode(),
            "application/x-yaml",
        )
    examples_json = [{"text": example(), "intent": intent, "entities": []} for _ in range(h.rng.randint(1, 3))]
    return _json_bytes({"rasa_nlu_data": {"common_examples": examples_json}}), _JSON


@dataclass
class _Call:
    """One request to Rasa's API, before its credentials are added."""

    method: str
    path: str
    body: bytes | None = None
    params: dict[str, str] = field(default_factory=dict)
    content_type: str = ""
    target: str = ""  # how the report names it, when not by its method and path
    open: bool = False  # answered without the token: a public path, or a method that no route takes


def _conversation_call(h: Hostile, conversation: str, typed: bool) -> _Call:
    """A call on one conversation: read it, add events or a message, run an action or an intent, predict."""
    names = _domain_names()
    r = h.rng.random()
    if r < 0.2:
        params = {"include_events": h.rng.choice(["ALL", "APPLIED", "AFTER_RESTART", "NONE", h.text()[:20]])}
        if h.chance(0.3):
            params["until"] = h.rng.choice([str(time.time()), "0", "-1", "1e400", "nan", h.text()[:20]])
        return _Call("GET", f"{conversation}/tracker", params=params)
    if r < 0.45:
        params = {
            "output_channel": h.rng.choice(["latest", "tandem", "tandem_socket", "collector", h.text()[:20]]),
            "execute_side_effects": h.rng.choice(["true", "false", h.text()[:10]]),
        }
        return _Call(h.rng.choice(["POST", "PUT"]), f"{conversation}/tracker/events", _events(h, typed), params, _JSON)
    if r < 0.52:
        return _Call("GET", f"{conversation}/story", params={"all_sessions": h.rng.choice(["true", "false", "x"])})
    if r < 0.65:
        body: dict[str, Any] = {"name": h.rng.choice(names.actions) if typed or h.chance(0.8) else h.value(1)}
        if h.chance(0.3):
            confidence = h.rng.choice([None, 0.0, 1.0, -1.0, 1e308]) if typed else h.value(depth=0)
            body.update(policy=h.text()[:100] if typed else h.value(depth=0), confidence=confidence)
        return _Call("POST", f"{conversation}/execute", _json_or_garbage(h, typed, body), content_type=_JSON)
    if r < 0.8:
        body = {"name": h.rng.choice(names.intents) if h.chance(0.8) else h.text()[:40]}
        if h.chance(0.5):
            if typed and h.chance(0.4):
                body["entities"] = [{"entity": h.text()[:40], "value": h.value(depth=1)}]
            else:
                body["entities"] = {"journey_id": h.value(depth=1)} if typed or h.chance(0.6) else h.value(depth=2)
        params = {"output_channel": h.rng.choice(["latest", "collector", h.text()[:20]])}
        return _Call("POST", f"{conversation}/trigger_intent", _json_or_garbage(h, typed, body), params, _JSON)
    if r < 0.86:
        return _Call("POST", f"{conversation}/predict")
    body = {"text": _utterance(h, typed) if typed or h.chance(0.85) else h.value(1), "sender": "user"}
    if h.chance(0.2):
        body["sender"] = h.text()
    if h.chance(0.3):
        intent = {"name": h.rng.choice(names.intents), "confidence": 1.0}
        body["parse_data"] = {"intent": intent, "entities": []} if typed else h.value(depth=2)
    return _Call("POST", f"{conversation}/messages", _json_or_garbage(h, typed, body), content_type=_JSON)


def _model_call(h: Hostile, typed: bool, valid: bool) -> _Call:
    """A call on the served model: parse, predict, test; never one that could load, unload or train a model."""
    r = h.rng.random()
    if r < 0.5:
        body = {"text": _utterance(h, typed) if typed or h.chance(0.85) else h.value(depth=1)}
        params = {"emulation_mode": h.rng.choice(["wit", "luis", "dialogflow", h.text()[:20]])} if h.chance(0.2) else {}
        data = _json_bytes(body) if typed else _json_or_garbage(h, typed, body)
        return _Call("POST", "/model/parse", data, params, _JSON)
    if r < 0.65:
        return _Call("POST", "/model/predict", _events(h, typed), content_type=_JSON)
    if r < 0.77:
        test_set, content_type = _nlu_test_data(h, typed)
        if not typed and h.chance(0.2):
            test_set = h.raw_body()
        return _Call("POST", "/model/test/intents", test_set, content_type=content_type)
    if r < 0.88:
        # A path that does not exist, so nothing loads; never a model server or remote storage (Rasa would fetch).
        body = {"model_file": f"/nonexistent/fuzz-{h.hex_id()}/{h.text()[:100]}"}
        data = _json_bytes(body) if typed or h.chance(0.7) else h.rng.choice([_not_json(h), _json_bytes(h.value())])
        return _Call("PUT", "/model", data, content_type=_JSON)
    if r < 0.96 or valid:
        # YAML whose top level is a list, which Rasa's training-data schema refuses, so nothing trains; or what is
        # not YAML at all (nor UTF-8).
        data = f"- {json.dumps(h.text()[:500])}\n".encode() if typed or h.chance(0.7) else _not_json(h)
        return _Call("POST", "/model/train", data, content_type="application/x-yaml")
    return _Call("DELETE", "/model")  # never with the token: it would unload the model


def _rasa_call(h: Hostile, s: Surfaces, typed: bool, valid: bool) -> _Call:
    r = h.rng.random()
    if r < 0.04:
        return _Call("GET", h.rng.choice(["/", "/version"]), open=True)
    if r < 0.1:
        return _Call("GET", "/status")
    if r < 0.14:
        return _Call("GET", "/domain")
    if r < 0.65:
        return _conversation_call(h, f"/conversations/{_conversation(h, s)}", typed)
    if r < 0.97:
        return _model_call(h, typed, valid)
    paths = ["/status", "/domain", f"/conversations/{_conversation(h, s)}/tracker", "/model/parse"]
    method = h.rng.choice(["PATCH", "DELETE", "PUT", "OPTIONS"])
    return _Call(method, h.rng.choice(paths), target="rasa API * (a method the path does not take)", open=True)


_CONVERSATION_SEGMENT = re.compile(r"(?<=^/conversations)/[^/]*")
# What /domain reads, and headers Sanic cannot parse (which it once answered with a 500: bot/channels/accept.py).
_ACCEPT = ["application/json", "application/x-yml", "text/yaml", "*/*", "x", "*", "text/*;q=abc", "text/html;q=2"]


def _rasa_api(h: Hostile, s: Surfaces) -> Request:
    valid, params, headers = _rasa_auth(h, s)
    call = _rasa_call(h, s, typed=valid and h.chance(0.5), valid=valid)
    params.update(call.params)
    if h.chance(0.1):
        key = h.text()[:20]
        if key not in _RASA_UNSAFE_PARAMS:
            params[key] = h.text()[:500]
    if call.content_type:
        headers["Content-Type"] = call.content_type
    if call.path == "/domain" or h.chance(0.1):
        headers["Accept"] = h.rng.choice(_ACCEPT + [h.text()[:50]])
    target = call.target or f"rasa API {call.method} {_CONVERSATION_SEGMENT.sub('/{id}', call.path)}"
    url = f"{s.rasa_url}{call.path}"
    return Request(target, call.method, url, call.body, headers, params, refused=not (valid or call.open))


GENERATORS: dict[str, tuple[float, Callable[[Hostile, Surfaces], Request]]] = {
    "rest": (0.3, _rest),
    "engineio": (0.1, _engineio),
    "shop": (0.15, _shop),
    "console": (0.3, _console),
    "rasa_api": (0.15, _rasa_api),
}


# --- running ----------------------------------------------------------------------------------------------------


@dataclass
class FuzzReport:
    seed: int
    tried: Counter = field(default_factory=Counter)  # per endpoint
    statuses: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    failures: list[str] = field(default_factory=list)  # 5xx, hangs, dropped connections
    tracebacks: list[str] = field(default_factory=list)
    unhealthy: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.tried.values())

    @property
    def ok(self) -> bool:
        return not (self.failures or self.tracebacks or self.unhealthy)

    def record(self, target: str, status: int, detail: str, *, refused: bool = False) -> None:
        """`refused`: the request carried no valid credentials, so anything but a refusal is a failure (401 or 403;
        400, 413 or 414 when it is malformed or too large to be read at all)."""
        self.tried[target] += 1
        self.statuses[target][status] += 1
        if status >= 500 or status == 0:
            self.failures.append(f"{target}: {status or 'no answer'}: {detail}"[:600])
        elif refused and status not in (400, 401, 403, 413, 414):
            self.failures.append(f"{target}: {status} without valid credentials: {detail}"[:600])

    def table(self) -> str:
        lines = [f"{'endpoint':52} {'requests':>8}  statuses"]
        for target in sorted(self.tried):
            statuses = ", ".join(f"{code}: {n}" for code, n in sorted(self.statuses[target].items()))
            lines.append(f"{target:52} {self.tried[target]:>8}  {statuses}")
        lines.append(f"{'all':52} {self.total:>8}  in {self.seconds:.0f} s, seed {self.seed}")
        return "\n".join(lines)


def _send(http: requests.Session, console: ConsoleSession | None, request: Request) -> tuple[int, str]:
    headers = dict(request.headers)
    auth = headers.pop("X-Fuzz-Auth", None)
    session = http
    if auth in ("session", "nocsrf") and console is not None:
        session = console.http
        if auth == "session":
            headers["X-CSRF-Token"] = console.csrf
    params = {
        k.encode("utf-8", "surrogatepass"): v.encode("utf-8", "surrogatepass")
        for k, v in (request.params or {}).items()
    }
    # raw bytes, as a client sends them (HTTP itself cannot carry CR or LF in a header value)
    headers = {k: re.sub(r"[\r\n\x00]", "", v).strip().encode("utf-8", "surrogatepass") for k, v in headers.items()}
    headers["Connection"] = b"close"  # a server may close after refusing a request: each request on its own
    try:
        reply = session.request(
            request.method,
            request.url,
            data=request.body,
            headers=headers,
            params=params,
            timeout=TIMEOUT,
            allow_redirects=False,
        )
    except requests.RequestException as exc:
        return 0, f"{type(exc).__name__}: {exc}"
    return reply.status_code, reply.text[:200]


# engine.io refuses a packet over the server's buffer (100 KB) and drops that socket; the widget reconnects.
OVERSIZE_BYTES = 90_000
_DROPPED = (
    asyncio.TimeoutError,
    socketio.exceptions.TimeoutError,
    socketio.exceptions.BadNamespaceError,
    socketio.exceptions.DisconnectedError,
)


async def _socket_events(h: Hostile, s: Surfaces, count: int, report: FuzzReport) -> None:
    """socket.io events through a real client: hostile session_requests and messages, acks checked."""
    client = socketio.AsyncClient(reconnection=False)
    answers: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
    client.on("session_error", lambda data: answers.put_nowait(("error", data)))
    client.on("session_confirm", lambda data: answers.put_nowait(("confirm", data)))

    async def session_request(data: Any, timeout: float) -> tuple[int, str]:
        while not answers.empty():
            answers.get_nowait()
        await client.emit("session_request", data)
        kind, answer = await asyncio.wait_for(answers.get(), timeout)
        status = int(answer.get("status", 0)) if kind == "error" and isinstance(answer, dict) else 200
        return status, json.dumps(answer)[:200]

    async def user_uttered(data: Any, timeout: float) -> tuple[int, str]:
        ack = await client.call("user_uttered", data, timeout=timeout)
        status = ack.get("status", 200) if isinstance(ack, dict) and not ack.get("ok") else 200
        return int(status), json.dumps(ack)[:200]

    try:
        for _ in range(count):
            if h.chance(0.3):
                event, send = "session_request", session_request
                data: Any = {
                    "session_id": h.rng.choice([h.hex_id(), *s.conversation_ids, h.text()[:200]]),
                    "customer_token": h.token() if h.chance(0.7) else None,
                    "since": h.value(depth=1),
                }
            else:
                event, send = "user_uttered", user_uttered
                data = {
                    "message": h.text() if h.chance(0.85) else h.value(depth=2),
                    "metadata": {"customer_token": h.token()} if h.chance(0.5) else h.value(depth=1),
                }
            if h.chance(0.12):
                data = h.value()
            oversize = len(_json_bytes(data)) > OVERSIZE_BYTES
            if not client.connected:
                await client.connect(s.rasa_url, socketio_path="/socket.io", transports=["polling"])
            try:
                status, detail = await send(data, 15.0 if oversize else TIMEOUT)
            except _DROPPED as exc:
                # Only an oversized packet may cost the socket (refused by the transport, like a 413).
                status, detail = (413 if oversize else 0), f"socket dropped: {exc!r}"
                await client.disconnect()
            report.record(f"socket.io event {event}", status, detail)
    finally:
        await client.disconnect()


# --- the agent console's live connection (`GET /ws`) -------------------------------------------------------------

WS_MAX_FRAME = 4096  # bot/console/websocket.py: a frame this long or longer costs the socket (close 1009)
WS_TIMEOUT = 15.0
# How a socket that the console closed counts: too big a frame is refused like a 413, a frame that is not valid
# UTF-8 text (close 1007) or breaks the protocol (1002) like a 400; any other close is a failure.
_CLOSE_STATUS = {1009: 413, 1007: 400, 1002: 400}


_FOREIGN_ORIGINS = ["https://evil.example", "null", "http://127.0.0.1.evil.example", "file://"]


def _header_text(h: Hostile) -> str:
    """Hostile text that an HTTP header can carry (ASCII, no line breaks)."""
    return re.sub(r"[\r\n\x00]", "", h.text()[:80]).encode("ascii", "ignore").decode()


class _WsClosed(Exception):
    def __init__(self, code: int | None) -> None:
        super().__init__(f"closed by the console with code {code}")
        self.code = code


async def _ws_alive(ws: aiohttp.ClientWebSocketResponse, probe: bytes) -> None:
    """Ping with `probe` and wait for its pong (news pushed meanwhile and the server's own pings are answered)."""
    await ws.ping(probe)
    deadline = time.monotonic() + WS_TIMEOUT
    while True:
        message = await ws.receive(timeout=max(0.1, deadline - time.monotonic()))
        if message.type == aiohttp.WSMsgType.PONG and message.data == probe:
            return
        if message.type == aiohttp.WSMsgType.PING:
            await ws.pong(message.data)
        elif message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
            raise _WsClosed(ws.close_code)


def _ws_frame(h: Hostile) -> tuple[str, bytes, bool]:
    """(kind, payload, text?) of one frame a careless or malicious console page could send."""
    r = h.rng.random()
    if r < 0.3:
        return "text", h.text().encode("utf-8", "surrogatepass"), True  # lone surrogates: not valid UTF-8
    if r < 0.55:
        shapes = [
            h.value(),
            {"type": h.rng.choice(["claim", "reply", "subscribe", "ping", h.text()[:20]]), "id": h.value(depth=1)},
            [h.value(depth=1)],
        ]
        return "json", _json_bytes(h.rng.choice(shapes)), True
    if r < 0.75:
        return "binary", bytes(h.rng.randint(0, 255) for _ in range(h.rng.randint(0, 2000))), False
    if r < 0.85:
        return "oversize", h.rng.choice([b"x", b"{"]) * h.rng.choice([WS_MAX_FRAME + 1, 70_000, 300_000]), h.chance(0.5)
    return "nested", h.nested()[: WS_MAX_FRAME - 1] if h.chance(0.7) else h.nested(), True


async def _console_websocket(h: Hostile, s: Surfaces, console: ConsoleSession, count: int, report: FuzzReport) -> None:
    """`count` steps against the console's websocket: handshakes with and without a session or from another
    site, hostile frames on a signed-in socket (each followed by a ping that must be answered), rapid opens and
    closes; an observer socket stays open throughout and must still answer at the end."""
    url = s.console_url.replace("http://", "ws://", 1) + "/ws"
    cookie = "; ".join(f"{c.name}={c.value}" for c in console.http.cookies)
    own = {"Cookie": cookie, "Origin": s.console_url}

    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http:

        async def connect(headers: dict[str, str]) -> aiohttp.ClientWebSocketResponse:
            return await http.ws_connect(url, headers=headers, autoping=False, timeout=WS_TIMEOUT, max_msg_size=0)

        async def handshake(kind: str, headers: dict[str, str], refused: bool) -> None:
            try:
                ws = await connect(headers)
            except aiohttp.WSServerHandshakeError as exc:
                status, detail = exc.status, exc.message
            except (aiohttp.ClientError, TimeoutError) as exc:
                status, detail = 0, f"{type(exc).__name__}: {exc}"
            else:
                status, detail = 101, "open"
                if h.chance(0.5):
                    await ws.close(
                        code=h.rng.choice([1000, 1001, 3000, 4999]),
                        message=h.text()[:20].encode("utf-8", "surrogatepass")[:100],
                    )
                await ws.close()
            report.record(f"console WS /ws connect ({kind})", status, detail, refused=refused)

        observer = await connect(own)
        current: aiohttp.ClientWebSocketResponse | None = None
        try:
            for step in range(count):
                r = h.rng.random()
                if r < 0.25:
                    kind = h.rng.choice(["no session", "stale session", "other site", "no origin"])
                    headers = {
                        "no session": {"Origin": s.console_url},
                        "stale session": {"Origin": s.console_url, "Cookie": f"tandem_console={h.hex_id()}"},
                        "other site": {**own, "Origin": h.rng.choice(_FOREIGN_ORIGINS + [_header_text(h)])},
                        "no origin": {"Cookie": cookie},
                    }[kind]
                    await handshake(kind, headers, refused=True)
                    continue
                if r < 0.35:
                    await handshake("session, open and close", own, refused=False)
                    continue
                if current is None or current.closed:
                    try:
                        current = await connect(own)
                    except (aiohttp.ClientError, TimeoutError) as exc:
                        report.record("console WS /ws connect (session)", 0, f"{type(exc).__name__}: {exc}")
                        continue
                kind, payload, text = _ws_frame(h)
                oversize = len(payload) >= WS_MAX_FRAME
                try:
                    # aiohttp's client sends only valid UTF-8 text; a broken page's text frame goes to its writer.
                    await current._writer.send(payload, binary=not text)
                    await _ws_alive(current, f"fuzz-{step}".encode())
                    status, detail = 200, "still open, answered a ping"
                except _WsClosed as closed:
                    status = _CLOSE_STATUS.get(closed.code or 0, 0)
                    if status == 413 and not oversize:
                        status = 0
                    detail = f"{closed}; frame {kind} of {len(payload)} bytes: {payload[:80]!r}"
                except (aiohttp.ClientError, ConnectionError, TimeoutError) as exc:
                    status, detail = 0, f"{type(exc).__name__}: {exc}; frame {kind}: {payload[:80]!r}"
                report.record(f"console WS /ws frame ({kind})", status, detail)
            try:
                await _ws_alive(observer, b"observer")
            except (_WsClosed, aiohttp.ClientError, ConnectionError, TimeoutError) as exc:
                report.unhealthy.append(f"the console's observer socket stopped answering: {exc!r}")
        finally:
            if current is not None:
                await current.close()
            await observer.close()


def log_marks(logs: Iterable[Path]) -> dict[Path, int]:
    return {log: log.stat().st_size if log.exists() else 0 for log in logs}


def new_tracebacks(marks: dict[Path, int]) -> list[str]:
    found = []
    for log, start in marks.items():
        if not log.exists():
            continue
        with log.open("rb") as f:
            f.seek(start)
            text = f.read().decode("utf-8", "replace")
        for match in re.finditer(r"Traceback \(most recent call last\)", text):
            found.append(f"{log.name}: {text[max(0, match.start() - 300) : match.start() + 1500]}")
    return found


def _healthy(s: Surfaces, report: FuzzReport) -> None:
    http = requests.Session()
    for url in (f"{s.rasa_url}/webhooks/tandem/", f"{s.shop_url}/healthz", f"{s.console_url}/healthz"):
        try:
            if http.get(url, timeout=30).status_code != 200:
                report.unhealthy.append(url)
        except requests.RequestException as exc:
            report.unhealthy.append(f"{url}: {exc}")
    status = f"{s.rasa_url}/status"
    if http.get(status, params={"token": s.rasa_token}, timeout=30).status_code != 200:
        report.unhealthy.append(f"{status}: Rasa's HTTP API does not answer with its token")
    if http.get(status, timeout=30).status_code != 401:
        report.unhealthy.append(f"{status}: Rasa's HTTP API answers without its token")
    token = sign_customer(s.customers[0])
    reply = http.post(
        f"{s.rasa_url}/webhooks/tandem/webhook",
        timeout=TIMEOUT,
        json={"sender": f"after-fuzz-{uuid.uuid4().hex}", "message": "hello", "metadata": {"customer_token": token}},
    )
    if reply.status_code != 200 or not reply.json():
        report.unhealthy.append(
            f"the bot did not answer 'hello' after the fuzz: {reply.status_code} {reply.text[:200]}"
        )


def run_fuzz(
    surfaces: Surfaces,
    *,
    seed: int,
    requests_total: int,
    secret_key: str,
    logs: Sequence[Path],
    progress: Callable[[int, int], None] | None = None,
) -> FuzzReport:
    """Send `requests_total` hostile requests (a tenth of them socket.io events, a twentieth steps on the console's
    websocket), then check logs and health."""
    rng = random.Random(seed)
    hostile = Hostile(rng, surfaces.customers, secret_key)
    report = FuzzReport(seed)
    marks = log_marks(logs)
    started = time.monotonic()
    console = ConsoleSession(surfaces)
    http = requests.Session()
    socket_events = requests_total // 10
    websocket_steps = requests_total // 20
    names = list(GENERATORS)
    weights = [GENERATORS[n][0] for n in names]
    for i in range(requests_total - socket_events - websocket_steps):
        request = GENERATORS[rng.choices(names, weights)[0]][1](hostile, surfaces)
        status, detail = _send(http, console, request)
        report.record(
            request.target,
            status,
            f"{request.method} {request.url} {request.params or ''} body={(request.body or b'')[:120]!r} -> {detail}",
            refused=request.refused,
        )
        if progress:
            progress(i + 1, requests_total)
    asyncio.run(_socket_events(hostile, surfaces, socket_events, report))
    asyncio.run(_console_websocket(hostile, surfaces, console, websocket_steps, report))
    if progress:
        progress(requests_total, requests_total)
    time.sleep(1.0)  # let the servers finish writing their logs
    report.seconds = time.monotonic() - started
    _healthy(surfaces, report)
    report.tracebacks = new_tracebacks(marks)
    return report
