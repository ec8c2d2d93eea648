"""A seeded fuzz of Tandem's public surfaces: the REST and socket.io channels, the shop's API, the agent console.

Every request is built from one `random.Random(seed)`, so a failure replays with the same seed. What counts:
no answer of 500 or more (also inside socket.io acknowledgements and `session_error`s), no request that hangs or
drops the connection, no traceback in the servers' logs, and every server still answering afterwards.
`tests/e2e/test_fuzz.py` runs a short form in CI; `bench/fuzz.py` the long one.
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
from pathlib import Path
from typing import Any

import jwt
import requests
import socketio

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


@dataclass
class Surfaces:
    """Where the stack under test answers, and what the fuzz may use there."""

    rasa_url: str
    shop_url: str
    console_url: str
    console_username: str
    console_password: str
    customers: Sequence[str]
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


GENERATORS: dict[str, tuple[float, Callable[[Hostile, Surfaces], Request]]] = {
    "rest": (0.35, _rest),
    "engineio": (0.1, _engineio),
    "shop": (0.2, _shop),
    "console": (0.35, _console),
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

    def record(self, target: str, status: int, detail: str) -> None:
        self.tried[target] += 1
        self.statuses[target][status] += 1
        if status >= 500 or status == 0:
            self.failures.append(f"{target}: {status or 'no answer'}: {detail}"[:600])

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
    """Send `requests_total` hostile requests (a tenth of them socket.io events), then check logs and health."""
    rng = random.Random(seed)
    hostile = Hostile(rng, surfaces.customers, secret_key)
    report = FuzzReport(seed)
    marks = log_marks(logs)
    started = time.monotonic()
    console = ConsoleSession(surfaces)
    http = requests.Session()
    socket_events = requests_total // 10
    names = list(GENERATORS)
    weights = [GENERATORS[n][0] for n in names]
    for i in range(requests_total - socket_events):
        request = GENERATORS[rng.choices(names, weights)[0]][1](hostile, surfaces)
        status, detail = _send(http, console, request)
        report.record(
            request.target,
            status,
            f"{request.method} {request.url} {request.params or ''} body={(request.body or b'')[:120]!r} -> {detail}",
        )
        if progress:
            progress(i + 1, requests_total)
    asyncio.run(_socket_events(hostile, surfaces, socket_events, report))
    if progress:
        progress(requests_total, requests_total)
    time.sleep(1.0)  # let the servers finish writing their logs
    report.seconds = time.monotonic() - started
    _healthy(surfaces, report)
    report.tracebacks = new_tracebacks(marks)
    return report
