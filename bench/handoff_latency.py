"""Handoff latency: a customer's message to the agent's screen, and an agent's reply to the widget.

Runs the real stack on a fresh PostgreSQL database: Rasa (socket.io channel), the action server and the
agent console. C customers (socket.io clients speaking the widget's protocol) each ask for a person at the
same time; C agents (signed in to the console, each with its live websocket open) each claim one. Then
every pair talks at once, M rounds:

- customer -> agent: from the customer emitting `user_uttered` to the message arriving on the agent's
  console websocket (what the console's page renders);
- agent -> customer: from the agent's `POST /api/handoffs/{id}/messages` to the `bot_uttered` event
  arriving at the customer's socket.

Both ends live in this process, so one clock times both.

    python bench/handoff_latency.py [--conversations 20] [--rounds 10] [--model PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RASA = str(Path(sys.executable).with_name("rasa"))
POSTGRES = os.environ.get("TANDEM_TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")

from bot.processes import free_port, wait_until_answers  # noqa: E402

PASSWORD = "bench-password-123"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def summary(values: list[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "p50_ms": round(1000 * statistics.median(values), 1),
        "p99_ms": round(1000 * percentile(values, 0.99), 1),
        "mean_ms": round(1000 * statistics.fmean(values), 1),
        "max_ms": round(1000 * max(values), 1),
    }


def create_database() -> str:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"tandem_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(POSTGRES).set(database=name).render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from bot.db.session import dispose_engine

    dispose_engine(url)
    admin = create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    admin.dispose()


async def run_load(rasa_url: str, console_url: str, customers: list[str], agents: list[str], rounds: int) -> dict:
    from bot.identity import sign_customer
    from tests.console.console_support import AgentClient
    from tests.support.widget_client import WidgetClient

    widgets = [WidgetClient(rasa_url, token=sign_customer(c)) for c in customers]
    consoles = [AgentClient(console_url) for _ in agents]
    inbound: list[float] = []
    outbound: list[float] = []
    failures: list[str] = []
    try:
        for client, username in zip(consoles, agents):
            await client.login(username, PASSWORD)
            assert client.csrf, f"{username} could not sign in"
        sockets = [await client.ws() for client in consoles]
        arrivals: dict[str, asyncio.Future] = {}

        async def listen(ws) -> None:
            async for frame in ws:
                data = json.loads(frame.data)
                if data.get("type") == "message" and data["message"]["kind"] == "customer":
                    waiter = arrivals.get(data["message"]["text"])
                    if waiter is not None and not waiter.done():
                        waiter.set_result(time.perf_counter())

        listeners = [asyncio.create_task(listen(ws)) for ws in sockets]
        await asyncio.sleep(1.5)  # the consoles' presence is recorded: the customers are queued, not deferred

        async def ask(widget: WidgetClient) -> str:
            assert await widget.connect(), f"the channel refused the customer: {widget.session_error}"
            ack = await widget.send("I want to talk to a person")
            assert ack.get("ok"), ack
            await widget.next_message(lambda m: (m.get("custom") or {}).get("type") == "handoff", timeout=120)
            return widget.session_id

        started = time.perf_counter()
        conversations = await asyncio.gather(*(ask(w) for w in widgets))
        print(f"{len(conversations)} handoffs requested at once in {time.perf_counter() - started:.1f} s", flush=True)

        queue = await (await consoles[0].get("/api/queue")).json()
        ids = {h["conversation_id"]: h["id"] for h in queue["handoffs"]}
        missing = [c for c in conversations if c not in ids]
        assert not missing, f"not in the queue: {missing}"
        claims = await asyncio.gather(
            *(client.post(f"/api/handoffs/{ids[c]}/claim") for client, c in zip(consoles, conversations))
        )
        assert all(r.status == 200 for r in claims), [r.status for r in claims]
        for widget in widgets:
            await widget.next_message(lambda m: (m.get("custom") or {}).get("status") == "assigned", timeout=60)

        async def talk(widget: WidgetClient, client: AgentClient, handoff_id: int) -> None:
            for r in range(rounds):
                text = f"customer {widget.session_id[:8]} round {r} {uuid.uuid4().hex[:6]}"
                arrivals[text] = asyncio.get_running_loop().create_future()
                sent = time.perf_counter()
                ack = await widget.send(text)
                if not ack.get("ok"):
                    failures.append(f"customer message refused: {ack}")
                    continue
                try:
                    inbound.append(await asyncio.wait_for(arrivals[text], 30) - sent)
                except TimeoutError:
                    failures.append("a customer message never reached the console")
                reply = f"agent reply {r} {uuid.uuid4().hex[:6]}"
                sent = time.perf_counter()
                answer = await client.post(f"/api/handoffs/{handoff_id}/messages", {"text": reply})
                if answer.status not in (200, 201, 202):  # 202: kept, delivered once Rasa takes it
                    failures.append(f"agent reply: HTTP {answer.status}")
                    continue
                try:
                    message = await widget.next_message(lambda m, reply=reply: m.get("text") == reply, timeout=30)
                    outbound.append(message["received_at"] - sent)
                except AssertionError:
                    failures.append("an agent reply never reached the widget")

        started = time.perf_counter()
        await asyncio.gather(*(talk(w, client, ids[c]) for w, client, c in zip(widgets, consoles, conversations)))
        wall = time.perf_counter() - started
        for task in listeners:
            task.cancel()
    finally:
        for widget in widgets:
            await widget.close()
        for client in consoles:
            await client.close()
    return {
        "customer_to_agent": summary(inbound) if inbound else None,
        "agent_to_customer": summary(outbound) if outbound else None,
        "failures": failures,
        "wall_s": round(wall, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conversations", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--model", type=Path, default=None, help="a trained Tandem model (default: the tests' one)")
    args = parser.parse_args(argv)

    from bot.console.agents import create_agent
    from bot.db.migrate import upgrade
    from bot.db.session import session_scope
    from bot.handoff.routing import default_rules
    from bot.shop.seed import seed_shop
    from tests.support.rasa_model import rasa_env, trained_model

    workdir = Path(tempfile.mkdtemp(prefix="tandem-handoff-bench-"))
    url = create_database()
    procs: list[subprocess.Popen] = []
    try:
        upgrade(url)
        with session_scope(url) as session:
            seed_shop(session, customers=max(50, args.conversations + 5), progress=False)
        agents = [f"agent{i:02d}" for i in range(args.conversations)]
        with session_scope(url) as session:
            for name in agents:
                create_agent(
                    session, name, name.title(), PASSWORD, role="admin", known_queues=default_rules().queue_keys
                )
        model = args.model or trained_model()
        actions_port, rasa_port, console_port = free_port(), free_port(), free_port()
        from bot.settings import get_settings

        env = rasa_env(
            {
                "TANDEM_DATABASE_URL": url,
                "TANDEM_STATE_DIR": str(workdir),
                "TANDEM_SECRET_KEY": get_settings().secret_key,  # the tokens this process signs must verify there
                "TANDEM_CONSOLE_PORT": str(console_port),
                "TANDEM_CONSOLE_URL": f"http://127.0.0.1:{console_port}",
                "TANDEM_RASA_URL": f"http://127.0.0.1:{rasa_port}",
            }
        )
        endpoints = workdir / "endpoints.yml"
        endpoints.write_text(
            f"action_endpoint:\n  url: http://127.0.0.1:{actions_port}/webhook\n"
            f"tracker_store:\n  type: SQL\n  dialect: sqlite\n  db: {workdir / 'tracker.db'}\n"
            "lock_store:\n  type: in_memory\n"
        )
        logs = {name: (workdir / f"{name}.log").open("w") for name in ("actions", "rasa", "console")}
        procs = [
            subprocess.Popen(
                [RASA, "run", "actions", "--actions", "actions", "--port", str(actions_port)],
                cwd=ROOT,
                env=env,
                stdout=logs["actions"],
                stderr=subprocess.STDOUT,
            ),
            subprocess.Popen(
                [
                    RASA,
                    "run",
                    "--model",
                    str(model),
                    "--port",
                    str(rasa_port),
                    "--enable-api",
                    "--credentials",
                    "credentials.yml",
                    "--endpoints",
                    str(endpoints),
                ],
                cwd=ROOT,
                env=env,
                stdout=logs["rasa"],
                stderr=subprocess.STDOUT,
            ),
            subprocess.Popen(
                [sys.executable, "-m", "bot.console"],
                cwd=ROOT,
                env=env,
                stdout=logs["console"],
                stderr=subprocess.STDOUT,
            ),
        ]
        wait_until_answers(f"http://127.0.0.1:{actions_port}/health", timeout=300)
        wait_until_answers(f"http://127.0.0.1:{rasa_port}/webhooks/tandem_socket/", timeout=300)
        wait_until_answers(f"http://127.0.0.1:{console_port}/healthz", timeout=60)
        customers = [f"CUST-{i:05d}" for i in range(1, args.conversations + 1)]
        result = asyncio.run(
            run_load(
                f"http://127.0.0.1:{rasa_port}", f"http://127.0.0.1:{console_port}", customers, agents, args.rounds
            )
        )
        result.update(conversations=args.conversations, rounds=args.rounds, cpus=os.cpu_count())
        print(json.dumps(result, indent=2))
        return 1 if result["failures"] else 0
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
        drop_database(url)
        print(f"logs: {workdir}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
