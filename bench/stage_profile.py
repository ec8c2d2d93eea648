"""Where a message's CPU goes, process by process and stage by stage: py-spy samples the running stack.

Used by `bench/latency.py --profile DIR` around its load. py-spy (not a dependency of Tandem: `pip install
py-spy` anywhere, or pass its path with `--py-spy`) attaches to the Rasa server and the action server, samples
their Python stacks 100 times a second while they are on the CPU, and writes collapsed stacks; each sample is
put into the first stage whose marker its stack contains (most specific first). Each process's whole CPU time
(native threads too: TensorFlow's and ONNX Runtime's) comes from /proc.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

RATE = 100  # samples per second

# (stage, markers in a stack's file paths and function names), checked in order: the first match wins.
STAGES: dict[str, list[tuple[str, tuple[str, ...]]]] = {
    "rasa": [
        ("NLU: sentence encoder", ("sentence_encoder.py",)),
        ("NLU: sentiment", ("sentiment_analyzer.py", "bot/sentiment/")),
        ("NLU: intent classifier", ("linear_intent_classifier.py",)),
        ("NLU: tokens, count vectors, regex, CRF entities", ("rasa/nlu/",)),
        ("policies: TED", ("ted_policy.py",)),
        ("policies: Tandem's (journey, sentiment, turn end)", ("bot/policies/",)),
        ("policies: rules, memoization, ensemble", ("rule_policy.py", "memoization.py", "ensemble.py", "policy.py")),
        ("featurizing the tracker for policies", ("rasa/core/featurizers/", "rasa/shared/core/trackers.py")),
        ("tracker store (SQL)", ("tracker_store.py",)),
        ("calling the action server", ("rasa/core/actions/action.py", "aiohttp/")),
        ("lock store", ("lock_store.py",)),
        ("channel and web server", ("sanic/", "bot/channels/", "rasa/core/channels/")),
    ],
    "actions": [
        ("actions: journeys", ("bot/journeys/",)),
        ("actions: personalization", ("bot/personalization/",)),
        ("actions: shop queries", ("bot/shop/",)),
        ("SQLAlchemy (all queries)", ("sqlalchemy/",)),
        ("actions (our code)", ("actions/",)),
        ("rasa-sdk: reading the tracker payload", ("rasa_sdk/",)),
        ("web server", ("sanic/",)),
    ],
}


@dataclass
class Recording:
    process: subprocess.Popen
    name: str
    output: Path
    pid: int
    cpu_at_start: float
    cpu_seconds: float = 0.0  # the whole process's, native threads included (/proc), over the recording


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and all its threads (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start(py_spy: str, pids: dict[str, int], out_dir: Path) -> list[Recording]:
    out_dir.mkdir(parents=True, exist_ok=True)
    recordings = []
    for name, pid in pids.items():
        output = out_dir / f"{name}.txt"
        process = subprocess.Popen(
            [
                py_spy,
                "record",
                "--pid",
                str(pid),
                "--rate",
                str(RATE),
                "--format",
                "raw",
                "--output",
                str(output),
                "--nonblocking",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        recordings.append(Recording(process, name, output, pid, process_cpu_seconds(pid)))
    return recordings


def stop(recordings: list[Recording]) -> None:
    for recording in recordings:
        recording.cpu_seconds = process_cpu_seconds(recording.pid) - recording.cpu_at_start
        recording.process.send_signal(signal.SIGINT)  # py-spy writes its file when interrupted
    for recording in recordings:
        recording.process.wait(timeout=60)


def stages(recording: Recording) -> Counter:
    """Samples per stage (collapsed stacks: `frame;frame;... count` per line)."""
    counts: Counter = Counter()
    for line in recording.output.read_text().splitlines():
        stack, _, number = line.rpartition(" ")
        if not number.isdigit():
            continue
        stage = next(
            (name for name, markers in STAGES[recording.name] if any(m in stack for m in markers)),
            "other (asyncio, logging, json, ...)",
        )
        counts[stage] += int(number)
    return counts


def report(recordings: list[Recording], messages: int) -> str:
    lines = [f"CPU per message by stage (py-spy, {RATE} samples/s while on the CPU, {messages} messages):"]
    for recording in recordings:
        counts = stages(recording)
        total = sum(counts.values())
        lines.append(
            f"  {recording.name}: {recording.cpu_seconds / messages * 1000:.1f} ms of CPU per message in all "
            f"(/proc, native threads included); Python stacks sampled: "
            f"{total / RATE / messages * 1000:.1f} ms"
        )
        for stage, samples in counts.most_common():
            lines.append(f"    {stage:<50} {samples / RATE / messages * 1000:7.1f} ms  {samples / total:6.1%}")
    return "\n".join(lines)
