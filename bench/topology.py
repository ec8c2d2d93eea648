"""Throughput, latency and memory of the production profile: one Rasa instance against two behind nginx.

Starts `tandem up --production` (tests/support/production.py: its own PostgreSQL, Redis and RabbitMQ, N Rasa and
N action servers behind nginx, the tests' trained model, 200 seeded customers) and drives conversations through
nginx's public address and the REST channel. Each conversation is one customer's short script
(bench/data/topology_conversations.yml: a greeting, the status of one of their own orders, a product question,
thanks), sent with the customer's signed token; a conversation's next message goes when its reply arrived.

Default: for 1 and then 2 instances, after a warm-up and 20 s with no load (what the idle processes cost), C
conversations at once for --duration seconds at each concurrency (20, 100): messages/s, p50 and p99 of the answered
messages, errors (not 200, an empty answer, no answer), and where the CPU went: each supervised process's CPU
seconds (from /proc, its children included), per message, and how busy the whole machine was, since on a shared
machine the share the profile got decides its throughput. `--profile DIR` also samples rasa 1 and action server 1
with py-spy (bench/stage_profile.py).

--soak-minutes M (or --soak, 30 minutes): the 2-instance profile under a steady paced load (10 conversations,
5 msg/s in all) for M minutes; every 30 s the resident memory of every supervised process with its children (VmRSS
summed, its anonymous part, and PSS); at the end each one's RSS at start, end and peak, its growth per 10
minutes (least squares), its mean CPU, and the load's p50/p99/errors.

    python bench/topology.py [--out topology.json] [--duration 60] [--logs DIR] [--profile DIR]
    python bench/topology.py --soak-minutes 30 [--out soak.json] [--chart soak.png]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import stage_profile  # noqa: E402

from bot import run_lock  # noqa: E402
from tests.support.production import Production, production_profile  # noqa: E402

SCRIPT = Path(__file__).resolve().parent / "data" / "topology_conversations.yml"
STEPS = ("greeting", "order_status", "product_question", "thanks")
WEBHOOK = "/webhooks/tandem/webhook"
TOKEN_TTL = 6 * 3600  # longer than any soak
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
EVENTS_QUEUE = "tandem_events"  # config/endpoints.production.yml
EXAMPLES = 10  # error descriptions kept per run, to say why without reading the logs


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


@dataclass(frozen=True)
class Customer:
    id: str
    token: str
    orders: tuple[str, ...]


def seeded_customers(production: Production, count: int) -> list[Customer]:
    """The seeded customers who have orders, each with a token the profile's secret signed."""
    from bot.db.session import dispose_engine, session_scope
    from bot.identity import sign_customer
    from bot.shop.orders import recent_orders

    url = production.database_url
    ids = [f"CUST-{i:05d}" for i in range(1, count + 1)]
    with session_scope(url) as session:
        numbers = {c: tuple(o.number for o in recent_orders(session, c, limit=5)) for c in ids}
    dispose_engine(url)  # an open connection would hold up PostgreSQL's shutdown when the profile stops
    found = [Customer(c, sign_customer(c, TOKEN_TTL, production.secret_key), numbers[c]) for c in ids if numbers[c]]
    if not found:
        raise RuntimeError("the profile's database has no customer with orders")
    return found


@dataclass(frozen=True)
class Sample:
    at: float  # time.monotonic() when the answer (or the failure) came
    seconds: float
    error: str | None


@dataclass
class Driver:
    """Sends the conversations and keeps every message's outcome."""

    session: aiohttp.ClientSession
    url: str
    customers: list[Customer]
    texts: dict[str, list[str]]
    rng: random.Random
    samples: list[Sample] = field(default_factory=list)
    examples: list[str] = field(default_factory=list)
    transcript: list[dict[str, Any]] | None = None  # what was said, when asked for (the warm-up's first conversation)

    def script(self, customer: Customer) -> list[str]:
        order = self.rng.choice(customer.orders)
        return [self.rng.choice(self.texts[step]).format(order=order) for step in STEPS]

    async def say(self, sender: str, customer: Customer, text: str) -> None:
        body = {"sender": sender, "message": text, "metadata": {"customer_token": customer.token}}
        started, raw, error = time.monotonic(), b"", None
        try:
            async with self.session.post(self.url, json=body) as reply:
                raw = await reply.read()
                if reply.status != 200:
                    error = f"HTTP {reply.status}"
                elif not (answer := json.loads(raw or b"[]")):
                    error = "empty answer"
                elif self.transcript is not None:
                    self.transcript.append({"customer": text, "bot": [m.get("text") for m in answer]})
        except TimeoutError:
            error = "client timeout"
        except aiohttp.ClientError as exc:
            error = type(exc).__name__
        except ValueError:
            error = "not JSON"
        now = time.monotonic()
        self.samples.append(Sample(now, now - started, error))
        if error and len(self.examples) < EXAMPLES:
            self.examples.append(f"{error} after {now - started:.1f} s: {sender} {text!r} -> {raw[:200]!r}")

    async def conversations(self, tag: str, worker: int, stride: int, go_on: Callable[[], Awaitable[bool]]) -> None:
        """One conversation after another, each a new sender and the next customer, while `go_on()` says so."""
        k = 0
        while True:
            customer = self.customers[(worker + k * stride) % len(self.customers)]
            for text in self.script(customer):
                if not await go_on():
                    return
                await self.say(f"{tag}-{worker}-{k}", customer, text)
            k += 1


def summary(samples: list[Sample], seconds: float) -> dict[str, Any]:
    """Percentiles over the answered messages; errors counted apart (a fast 502 would flatter the latency)."""
    answered = [s.seconds for s in samples if s.error is None]
    kinds = Counter(s.error for s in samples if s.error is not None)
    return {
        "messages": len(samples),
        "answered": len(answered),
        "errors": sum(kinds.values()),
        "error_kinds": dict(kinds),
        "msg_per_s": round(len(samples) / seconds, 2) if seconds > 0 else 0.0,
        "p50_ms": round(1000 * statistics.median(answered), 1) if answered else None,
        "p99_ms": round(1000 * percentile(answered, 0.99), 1) if answered else None,
        "mean_ms": round(1000 * statistics.fmean(answered), 1) if answered else None,
    }


def until(deadline: float) -> Callable[[], Awaitable[bool]]:
    async def go_on() -> bool:
        return time.monotonic() < deadline

    return go_on


async def closed_loop(driver: Driver, tag: str, concurrency: int, seconds: float) -> float:
    """`concurrency` conversations at once until the deadline; the wall time until the last answer came."""
    started = time.monotonic()
    go_on = until(started + seconds)
    await asyncio.gather(*(driver.conversations(tag, w, concurrency, go_on) for w in range(concurrency)))
    return time.monotonic() - started


class Pacer:
    """Hands out send times `1 / rate` seconds apart, to however many conversations ask."""

    def __init__(self, rate: float, stop: asyncio.Event) -> None:
        self.interval, self.stop, self.next = 1.0 / rate, stop, time.monotonic()

    async def go_on(self) -> bool:
        slot = max(time.monotonic(), self.next)
        self.next = slot + self.interval
        await asyncio.sleep(slot - time.monotonic())
        return not self.stop.is_set()


def client(concurrency: int, timeout: float) -> aiohttp.ClientSession:
    # A total timeout past nginx's 120 s read timeout: a stuck upstream shows as nginx's 504, not as ours.
    return aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(total=timeout), connector=aiohttp.TCPConnector(limit=concurrency + 10)
    )


def _once() -> Callable[[], Awaitable[bool]]:
    """Go on for exactly one conversation (its four messages)."""
    left = len(STEPS)

    async def go_on() -> bool:
        nonlocal left
        left -= 1
        return left >= 0

    return go_on


async def warm_up(driver: Driver, production: Production, seconds: float) -> dict[str, Any]:
    """One conversation straight to each instance, then a short load through nginx; not counted."""
    first: list[dict[str, Any]] | None = None
    for i in range(len(production.ports.rasa)):
        url = production.rasa_url(i) + WEBHOOK
        direct = Driver(driver.session, url, driver.customers, driver.texts, driver.rng, transcript=[])
        await direct.conversations(f"warm-direct-{i}", 0, 1, _once())
        driver.samples += direct.samples
        driver.examples += direct.examples
        first = first or direct.transcript
    await closed_loop(driver, "warm", 10, seconds)
    result = {**summary(driver.samples, seconds), "first_conversation": first}
    driver.samples.clear()
    return result


# --- memory and CPU of the supervised processes -----------------------------------------------------------------


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = defaultdict(list)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            tree[ppid].append(int(entry.name))
    return tree


def _descendants(pid: int, children: dict[int, list[int]]) -> list[int]:
    """The process and all below it: a service's PID may be a wrapper (rabbitmq's script, nginx's master)."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo += children.get(current, [])
    return found


def _kb(path: Path, key: str) -> int:
    try:
        for line in path.read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _cpu_seconds(pid: int) -> float:
    """User and system time of the process and of its children it has waited for (a postgres backend that ended)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return sum(int(fields[i]) for i in (11, 12, 13, 14)) / CLOCK_TICKS
    except (OSError, IndexError, ValueError):
        return 0.0


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine spent working (all cores, every program), from /proc/stat."""
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, Path("/proc/stat").read_text().split()[1:9])
    return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS


def processes(root: Path) -> dict[str, dict[str, Any]]:
    """Each supervised process (by name) with its children: summed VmRSS; its anonymous part (the heap: no shared
    library or shared memory pages, so a leak shows there); PSS (shared pages divided among their sharers, other
    programs mapping the same libraries included); CPU seconds."""
    record = run_lock.read(root)
    children = _children()
    found: dict[str, dict[str, Any]] = {}
    for service in record.services if record is not None else ():
        if service.pid is None:  # waiting for its restart
            found[service.name] = {"pid": None, "restarts": service.restarts}
            continue
        pids = _descendants(service.pid, children)
        proc = [Path(f"/proc/{p}") for p in pids]
        found[service.name] = {
            "pid": service.pid,
            "processes": len(pids),
            "restarts": service.restarts,
            "rss_mb": round(sum(_kb(p / "status", "VmRSS") for p in proc) / 1024, 1),
            "anon_mb": round(sum(_kb(p / "status", "RssAnon") for p in proc) / 1024, 1),
            "pss_mb": round(sum(_kb(p / "smaps_rollup", "Pss") for p in proc) / 1024, 1),
            "cpu_s": round(sum(_cpu_seconds(p) for p in pids), 2),
        }
    return found


def cpu_snapshot(root: Path) -> dict[str, Any]:
    times = os.times()
    return {
        "services": {name: one.get("cpu_s", 0.0) for name, one in processes(root).items()},
        "machine": machine_busy_seconds(),
        "client": times.user + times.system,
    }


def cpu_use(before: dict[str, Any], after: dict[str, Any], wall: float, messages: int) -> dict[str, Any]:
    """Where the CPU went during a level: each service's seconds, per message, and how busy the machine was."""
    services = {n: round(max(0.0, t - before["services"].get(n, 0.0)), 2) for n, t in after["services"].items()}
    profile = sum(services.values())
    rasa = sum(t for n, t in services.items() if n.startswith("rasa "))
    per_message = 1000 / messages if messages else 0.0
    return {
        "cpu_s": services,
        "profile_cpu_ms_per_msg": round(profile * per_message, 1),
        "rasa_cpu_ms_per_msg": round(rasa * per_message, 1),
        "profile_cores": round(profile / wall, 2),
        "rasa_cores": {n: round(t / wall, 2) for n, t in services.items() if n.startswith("rasa ")},
        "machine_cores_busy": round((after["machine"] - before["machine"]) / wall, 2),
        "client_cpu_s": round(after["client"] - before["client"], 2),
    }


def growth_per_10_min(minutes: list[float], values: list[float]) -> float | None:
    if len(values) < 3 or len(set(minutes)) < 2:
        return None
    return round(10 * statistics.linear_regression(minutes, values).slope, 2)


# --- the two runs -----------------------------------------------------------------------------------------------


def public_webhook(production: Production) -> str:
    return f"http://127.0.0.1:{production.ports.public}{WEBHOOK}"


def load_texts() -> dict[str, list[str]]:
    texts = yaml.safe_load(SCRIPT.read_text())
    missing = [step for step in STEPS if not texts.get(step)]
    if missing:
        raise ValueError(f"{SCRIPT} has no lines for {missing}")
    return texts


def keep_logs(production: Production, base: Path | None, label: str) -> Path:
    """The profile's logs (every service's, nginx's, `up`'s) and its run record, before the state folder goes."""
    target = (base or Path(tempfile.mkdtemp(prefix="topology-logs-"))) / label
    target.mkdir(parents=True, exist_ok=True)
    if (production.root / "logs").is_dir():
        shutil.copytree(production.root / "logs", target / "logs", dirs_exist_ok=True)
    for path in (production.root / "production").rglob("*.log"):
        destination = target / path.relative_to(production.root)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, destination)
    for path in (production.log, production.root / "up.json"):
        if path.exists():
            shutil.copy2(path, target / path.name)
    return target


def machine() -> dict[str, Any]:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    return {
        "cpu_cores": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "commit": commit.stdout.strip(),
    }


def core_note(cores: int | None) -> str:
    return (
        f"This machine has {cores} CPU cores, shared by every process of the profile and by whatever else ran"
        " (machine cores: how busy it was in all; the load averages are in the JSON). Two instances cannot add"
        " cores; what they can add on so few is a second process to run Rasa's work, which one Rasa process does on"
        " one event loop. CPU ms/msg: CPU time of all the profile's processes per message; Rasa cores: each Rasa"
        " process's CPU seconds per second."
    )


async def levels(production: Production, instances: int, args: argparse.Namespace) -> tuple[dict, list[dict]]:
    customers = seeded_customers(production, args.customers)
    async with client(max(args.concurrency), args.timeout) as session:
        driver = Driver(session, public_webhook(production), customers, load_texts(), random.Random(args.seed))
        warm = await warm_up(driver, production, args.warmup)
        print(f"  warm-up ({instances} instance(s)): {warm['messages']} messages, {warm['errors']} errors", flush=True)
        warm["idle"] = await idle(production, args.idle)
        print(f"  idle: the profile's processes busy {warm['idle']['profile_cores']} cores", flush=True)
        rows = []
        for concurrency in args.concurrency:
            driver.samples, driver.examples = [], []
            before = [round(x, 2) for x in os.getloadavg()]
            cpu_before = await asyncio.to_thread(cpu_snapshot, production.root)
            recordings = start_profile(production, args, f"i{instances}-c{concurrency}")
            wall = await closed_loop(driver, f"i{instances}-c{concurrency}", concurrency, args.duration)
            cpu_after = await asyncio.to_thread(cpu_snapshot, production.root)
            if recordings:
                stage_profile.stop(recordings)
                print(stage_profile.report(recordings, len(driver.samples)), flush=True)
            row = {
                "instances": instances,
                "concurrency": concurrency,
                **summary(driver.samples, wall),
                **cpu_use(cpu_before, cpu_after, wall, len(driver.samples)),
                "wall_s": round(wall, 1),
                "load_average_before": before,
                "load_average_after": [round(x, 2) for x in os.getloadavg()],
                "error_examples": driver.examples,
            }
            rows.append(row)
            print("  " + row_line(row), flush=True)
            for example in driver.examples:
                print("    " + example, flush=True)
    return warm, rows


def start_profile(production: Production, args: argparse.Namespace, label: str) -> list[Any]:
    """py-spy on the first Rasa instance and the first action server during a level (`--profile DIR`)."""
    if args.profile is None:
        return []
    record = run_lock.read(production.root)
    pids = {s.name: s.pid for s in record.services if s.pid is not None} if record is not None else {}
    targets = {"rasa": pids.get("rasa 1"), "actions": pids.get("action server 1")}
    return stage_profile.start(args.py_spy, {k: v for k, v in targets.items() if v}, args.profile / label)


async def idle(production: Production, seconds: float) -> dict[str, Any]:
    """What the profile's processes cost with no customer at all (pollers, heartbeats, schedulers)."""
    before = await asyncio.to_thread(cpu_snapshot, production.root)
    await asyncio.sleep(seconds)
    after = await asyncio.to_thread(cpu_snapshot, production.root)
    use = cpu_use(before, after, seconds, 0)
    cores = {name: round(t / seconds, 3) for name, t in use["cpu_s"].items()}
    return {"seconds": seconds, "profile_cores": use["profile_cores"], "cores": cores}


HEADER = (
    f"{'instances':>9} {'conc.':>5} {'messages':>8} {'msg/s':>6} {'p50 ms':>8} {'p99 ms':>8} {'errors':>6}"
    f" {'CPU ms/msg':>10} {'Rasa ms/msg':>11} {'Rasa cores':>10} {'profile cores':>13} {'machine cores':>13}"
)


def row_line(row: dict[str, Any]) -> str:
    def ms(value: float | None) -> str:
        return f"{value:8.1f}" if value is not None else f"{'-':>8}"

    return (
        f"{row['instances']:9d} {row['concurrency']:5d} {row['messages']:8d} {row['msg_per_s']:6.2f} "
        f"{ms(row['p50_ms'])} {ms(row['p99_ms'])} {row['errors']:6d} {row['profile_cpu_ms_per_msg']:10.1f} "
        f"{row['rasa_cpu_ms_per_msg']:11.1f} {'+'.join(f'{c:.2f}' for c in row['rasa_cores'].values()):>10} "
        f"{row['profile_cores']:13.2f} {row['machine_cores_busy']:13.2f}"
    )


def throughput(args: argparse.Namespace) -> dict[str, Any]:
    result: dict[str, Any] = {"mode": "throughput", "machine": machine(), "duration_s": args.duration, "rows": []}
    for instances in args.instances:
        started = time.monotonic()
        with production_profile(instances=instances, customers=args.customers) as production:
            print(f"profile with {instances} instance(s) up in {time.monotonic() - started:.0f} s", flush=True)
            failed = True  # until the load ran through: a run that raised keeps its logs too
            try:
                warm, rows = asyncio.run(levels(production, instances, args))
                result["rows"] += rows
                result.setdefault("warm_up", {})[str(instances)] = warm
                failed = any(row["errors"] for row in rows)
            finally:
                if args.logs or failed:
                    print(f"  logs kept in {keep_logs(production, args.logs, f'instances-{instances}')}", flush=True)
    result["note"] = core_note(os.cpu_count())
    print(f"\nREST channel through nginx, closed loop, {args.duration:.0f} s per level")
    print(HEADER)
    for row in result["rows"]:
        print(row_line(row))
    print(result["note"])
    return result


async def soak_load(production: Production, args: argparse.Namespace) -> dict[str, Any]:
    customers = seeded_customers(production, args.customers)
    async with client(args.soak_conversations, args.timeout) as session:
        driver = Driver(session, public_webhook(production), customers, load_texts(), random.Random(args.seed))
        warm = await warm_up(driver, production, args.warmup)
        driver.examples = []
        stop = asyncio.Event()
        pacer = Pacer(args.soak_rate, stop)
        n = args.soak_conversations
        workers = [asyncio.create_task(driver.conversations("soak", w, n, pacer.go_on)) for w in range(n)]
        started = time.monotonic()
        end, series, last = started + 60 * args.soak_minutes, [], started
        while True:
            now = time.monotonic()
            window = [s for s in driver.samples if last <= s.at < now]
            point = {
                "minute": round((now - started) / 60, 2),
                "processes": await asyncio.to_thread(processes, production.root),
            }
            point["load"] = summary(window, now - last) if now > last else summary([], 0)
            point["events_queued"] = await events_queued(production)
            series.append(point)
            if args.out:  # as it grows: a soak that is cut short keeps what it measured
                args.out.write_text(json.dumps({"partial": True, "series": series}) + "\n")
            last = now
            print(f"  {soak_line(point)}", flush=True)
            if now >= end:
                break
            await asyncio.sleep(min(args.sample_seconds, end - now))
        stop.set()
        await asyncio.gather(*workers)
        load = summary([s for s in driver.samples if s.at < last], last - started)
        return {"warm_up": warm, "series": series, "load": load, "error_examples": driver.examples}


async def events_queued(production: Production) -> int | None:
    """Tracker events waiting in RabbitMQ's `tandem_events` queue: how far the insights consumer lags behind."""
    import aio_pika

    try:
        connection = await aio_pika.connect(f"amqp://guest:guest@127.0.0.1:{production.ports.rabbitmq}/", timeout=10)
        async with connection:
            channel = await connection.channel()
            queue = await channel.declare_queue(EVENTS_QUEUE, durable=True, passive=True)
            return queue.declaration_result.message_count
    except Exception as exc:  # a figure missing from one sample must not end a half-hour soak
        print(f"  could not read {EVENTS_QUEUE}'s depth: {exc!r}", flush=True)
        return None


def soak_line(point: dict[str, Any]) -> str:
    load = point["load"]
    memory_mb = sum(p.get("rss_mb", 0) for p in point["processes"].values())
    return (
        f"{point['minute']:6.1f} min: RSS {memory_mb:7.1f} MB in all; {load['messages']} messages "
        f"({load['msg_per_s']:.1f}/s), p50 {load['p50_ms']} ms, {load['errors']} errors; "
        f"{point.get('events_queued')} events queued in RabbitMQ"
    )


def per_process(series: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for name in series[0]["processes"]:
        points = [(p["minute"], p["processes"].get(name, {})) for p in series]
        points = [(minute, one) for minute, one in points if "rss_mb" in one]
        if not points:
            continue
        minutes = [minute for minute, _ in points]
        rss, anon = [one["rss_mb"] for _, one in points], [one["anon_mb"] for _, one in points]
        span = 60 * (minutes[-1] - minutes[0])
        cpu = points[-1][1]["cpu_s"] - points[0][1]["cpu_s"]
        found[name] = {
            "rss_start_mb": rss[0],
            "rss_end_mb": rss[-1],
            "rss_max_mb": max(rss),
            "rss_growth_mb_per_10_min": growth_per_10_min(minutes, rss),
            "anon_start_mb": anon[0],
            "anon_end_mb": anon[-1],
            "anon_growth_mb_per_10_min": growth_per_10_min(minutes, anon),
            "cpu_cores_mean": round(cpu / span, 3) if span > 0 and cpu >= 0 else None,
            "processes_end": points[-1][1]["processes"],
            "restarts": points[-1][1]["restarts"],
        }
    return found


def chart(result: dict[str, Any], path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no chart", flush=True)
        return False
    series = result["series"]
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(10, 8), sharex=True, height_ratios=(3, 1))
    minutes = [p["minute"] for p in series]
    for name in result["processes"]:
        top.plot(minutes, [p["processes"].get(name, {}).get("rss_mb") for p in series], label=name)
    top.set_ylabel("RSS with children (MB)")
    top.set_title(f"tandem up --production, {result['instances']} instances, {result['rate']} msg/s")
    top.legend(fontsize="small", ncol=2)
    bottom.plot(minutes, [p["load"]["p50_ms"] for p in series], label="p50")
    bottom.plot(minutes, [p["load"]["p99_ms"] for p in series], label="p99")
    bottom.set_ylabel(f"latency, {result['sample_seconds']:g} s windows (ms)")
    bottom.set_xlabel("minutes")
    bottom.legend(fontsize="small")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    return True


def soak(args: argparse.Namespace) -> dict[str, Any]:
    result: dict[str, Any] = {
        "mode": "soak",
        "machine": machine(),
        "instances": args.soak_instances,
        "minutes": args.soak_minutes,
        "conversations": args.soak_conversations,
        "rate": args.soak_rate,
        "sample_seconds": args.sample_seconds,
    }
    with production_profile(instances=args.soak_instances, customers=args.customers) as production:
        failed = True
        try:
            result.update(asyncio.run(soak_load(production, args)))
            failed = result["load"]["errors"] > 0
        finally:
            if args.logs or failed:
                print(f"logs kept in {keep_logs(production, args.logs, 'soak')}", flush=True)
    result["processes"] = per_process(result["series"])
    result["note"] = core_note(os.cpu_count())
    print(
        f"\nSoak: {args.soak_instances} instances, {args.soak_minutes:g} min, {args.soak_conversations} conversations"
    )
    print(
        f"{'process':22} {'start MB':>9} {'end MB':>8} {'max MB':>8} {'MB/10 min':>9} {'anon MB/10 min':>14}"
        f" {'CPU cores':>9} restarts"
    )
    for name, one in result["processes"].items():
        growth, anon_growth = one["rss_growth_mb_per_10_min"], one["anon_growth_mb_per_10_min"]
        print(
            f"{name:22} {one['rss_start_mb']:9.1f} {one['rss_end_mb']:8.1f} {one['rss_max_mb']:8.1f} "
            f"{growth if growth is not None else '-':>9} {anon_growth if anon_growth is not None else '-':>14} "
            f"{one['cpu_cores_mean'] if one['cpu_cores_mean'] is not None else '-':>9} {one['restarts']:8d}"
        )
    load = result["load"]
    print(
        f"load: {load['messages']} messages ({load['msg_per_s']} msg/s), p50 {load['p50_ms']} ms, "
        f"p99 {load['p99_ms']} ms, {load['errors']} errors {load['error_kinds'] or ''}"
    )
    queued = [(p["minute"], p["events_queued"]) for p in result["series"] if p.get("events_queued") is not None]
    if queued:
        growth = growth_per_10_min([m for m, _ in queued], [float(n) for _, n in queued])
        print(f"RabbitMQ {EVENTS_QUEUE}: {queued[-1][1]} events queued at the end, {growth} more per 10 minutes")
    print(result["note"])
    return result


def integers(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=None, help="write the results (and the soak's series) as JSON")
    parser.add_argument("--logs", type=Path, default=None, help="copy the profile's logs here (always kept on errors)")
    parser.add_argument("--instances", type=integers, default=[1, 2], help="comma-separated (default 1,2)")
    parser.add_argument("--concurrency", type=integers, default=[20, 100], help="comma-separated (default 20,100)")
    parser.add_argument("--duration", type=float, default=60, help="seconds of load per level")
    parser.add_argument("--warmup", type=float, default=15, help="seconds of load before measuring")
    parser.add_argument("--idle", type=float, default=20, help="seconds of CPU measured with no load, after warm-up")
    parser.add_argument("--customers", type=int, default=200, help="seeded customers")
    parser.add_argument("--timeout", type=float, default=150, help="seconds the client waits for one answer")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--soak", action="store_true", help="run the soak (as --soak-minutes 30)")
    parser.add_argument("--soak-minutes", type=float, default=None, help="run the soak for this long (default 30)")
    parser.add_argument("--soak-instances", type=int, default=2)
    parser.add_argument("--soak-conversations", type=int, default=10)
    parser.add_argument("--soak-rate", type=float, default=5.0, help="messages per second in all")
    parser.add_argument("--sample-seconds", type=float, default=30)
    parser.add_argument(
        "--profile", type=Path, default=None, help="sample rasa 1 and action server 1 with py-spy during each level"
    )
    parser.add_argument("--py-spy", default="py-spy", help="the py-spy executable (not a Tandem dependency)")
    parser.add_argument("--chart", type=Path, default=None, help="the soak's memory and latency as a PNG")
    args = parser.parse_args(argv)
    if args.soak or args.soak_minutes is not None:
        args.soak_minutes = args.soak_minutes or 30.0
        result = soak(args)
        if args.chart and chart(result, args.chart):
            print(f"chart: {args.chart}")
    else:
        result = throughput(args)
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n")
        print(f"results: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
