"""`tandem audit`: known vulnerabilities in the pinned dependencies (requirements/lock.txt, requirements/rasa.txt).

    tandem audit                      pip-audit over both files, against the advisory snapshot kept in the repo
    tandem audit --refresh DIR        rebuild that snapshot from a checkout of the PyPA advisory database

pip-audit asks an OSV service about each pinned version. Here it asks one that this command serves on
127.0.0.1 from `requirements/advisories.json`: the PyPA advisory database (github.com/pypa/advisory-database),
cut down to the packages the lock pins, committed with the commit it was taken from. So the audit is the same
on every machine and in CI, with no network; refreshing the snapshot is a deliberate change that shows up in
review. Accepted advisories are listed, each with its reason, in `requirements/audit-accepted.toml`; an
accepted advisory that no longer applies is reported so that the list does not rot.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import tempfile
import threading
import tomllib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from bot.cli.common import EXIT_BAD_INPUT, CliError, set_handler
from bot.settings import PROJECT_ROOT

REQUIREMENTS = ("requirements/lock.txt", "requirements/rasa.txt")
SNAPSHOT = Path("requirements/advisories.json")
ACCEPTED = Path("requirements/audit-accepted.toml")
PIP_AUDIT = Path(".tandem/tools/bin/pip-audit")
_PIN = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*([^\s;#]+)")

# The PyPA advisory database is published under CC BY 4.0: the snapshot says where it comes from.
LICENSE = "CC-BY-4.0, https://github.com/pypa/advisory-database/blob/main/LICENSE"


def canonical(name: str) -> str:
    """PEP 503's normal form of a package name (what pip-audit sends)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(paths: Iterable[Path]) -> dict[str, str]:
    """{canonical name: version} of every `name==version` line."""
    found: dict[str, str] = {}
    for path in paths:
        for line in path.read_text().splitlines():
            match = _PIN.match(line)
            if match:
                found[canonical(match.group(1))] = match.group(2)
    return found


# --- the snapshot and its matching -------------------------------------------------------------------------------


def _version(text: str) -> Any:
    from packaging.version import InvalidVersion, Version

    try:
        return Version(text)
    except InvalidVersion:
        return None


def _in_ranges(version: str, ranges: list[dict[str, Any]]) -> bool:
    """OSV's ECOSYSTEM ranges: introduced/fixed/last_affected events, in order."""
    wanted = _version(version)
    if wanted is None:
        return False
    for entry in ranges:
        if entry.get("type") != "ECOSYSTEM":
            continue
        introduced = None
        for event in entry.get("events", []):
            if "introduced" in event:
                introduced = _version(event["introduced"])
            elif introduced is not None and ("fixed" in event or "last_affected" in event):
                bound = _version(event.get("fixed") or event["last_affected"])
                below = wanted < bound if "fixed" in event else wanted <= bound
                if bound is not None and introduced <= wanted and below:
                    return True
                introduced = None
        if introduced is not None and introduced <= wanted:
            return True
    return False


def affects(advisory: dict[str, Any], package: str, version: str) -> bool:
    """Whether an OSV record lists `version` of `package` (its explicit versions, else its ranges)."""
    for affected in advisory.get("affected", []):
        if canonical(affected.get("package", {}).get("name", "")) != package:
            continue
        if version in affected.get("versions", []) or _in_ranges(version, affected.get("ranges", [])):
            return True
    return False


def load_snapshot(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise CliError(f"cannot read the advisory snapshot {path}: {exc}") from exc


def query(snapshot: dict[str, Any], package: str, version: str) -> list[dict[str, Any]]:
    """What OSV's /v1/query would answer from the snapshot."""
    name = canonical(package)
    return [a for a in snapshot["advisories"].get(name, []) if not a.get("withdrawn") and affects(a, name, version)]


def _ecosystem(ranges: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in ranges if r.get("type") == "ECOSYSTEM"]


def build_snapshot(database: Path, wanted: Iterable[str]) -> dict[str, Any]:
    """The advisories of the `wanted` packages from a checkout of github.com/pypa/advisory-database."""
    import yaml

    folder = database / "vulns"
    if not folder.is_dir():
        raise CliError(f"{database} is not a checkout of the PyPA advisory database (no vulns/ folder)", code=2)
    names = {canonical(n) for n in wanted}
    advisories: dict[str, list[dict[str, Any]]] = {}
    for package_dir in sorted(folder.iterdir()):
        if canonical(package_dir.name) not in names:
            continue
        for file in sorted(package_dir.glob("*.yaml")):
            record = yaml.safe_load(file.read_text())
            if record.get("withdrawn"):
                continue
            keep = {k: record[k] for k in ("id", "aliases", "summary", "details", "affected") if k in record}
            # The ranges say which versions are affected; the listed versions only repeat them (90% of the size).
            # GIT ranges (commits) mean nothing to a pinned version.
            keep["affected"] = [
                {**{k: v for k, v in a.items() if k != "versions"}, "ranges": _ecosystem(a.get("ranges", []))}
                for a in keep.get("affected", [])
            ]
            if "details" in keep:  # what pip-audit shows when there is no summary
                keep["details"] = keep["details"][:300] if "summary" not in keep else ""
                keep = {k: v for k, v in keep.items() if v != ""}
            advisories.setdefault(canonical(package_dir.name), []).append(keep)
    commit = subprocess.run(["git", "-C", str(database), "rev-parse", "HEAD"], capture_output=True, text=True)
    date = subprocess.run(["git", "-C", str(database), "log", "-1", "--format=%cI"], capture_output=True, text=True)
    return {
        "source": "https://github.com/pypa/advisory-database",
        "license": LICENSE,
        "commit": commit.stdout.strip() or "unknown",
        "date": date.stdout.strip() or "unknown",
        "advisories": advisories,
    }


# --- a local OSV service for pip-audit ---------------------------------------------------------------------------


def _named(advisory: dict[str, Any]) -> dict[str, Any]:
    """The record with canonical package names, which pip-audit compares when it reads the fixed versions."""
    affected = [
        {**a, "package": {**a.get("package", {}), "name": canonical(a.get("package", {}).get("name", ""))}}
        for a in advisory.get("affected", [])
    ]
    return {**advisory, "affected": affected}


@contextmanager
def osv_service(snapshot: dict[str, Any]) -> Iterator[str]:
    """OSV's query endpoint on 127.0.0.1, answering from the snapshot; yields its URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
            package = body.get("package", {}).get("name", "")
            found = [_named(a) for a in query(snapshot, package, str(body.get("version", "")))]
            answer = json.dumps({"vulns": found}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1/query"
    finally:
        server.shutdown()
        server.server_close()


@dataclass(frozen=True)
class Accepted:
    id: str
    package: str
    reason: str


def load_accepted(path: Path) -> list[Accepted]:
    """`[[accepted]]` tables with `id`, `package` and a non-empty `reason` each."""
    if not path.exists():
        return []
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise CliError(f"{path}: {exc}", code=EXIT_BAD_INPUT) from exc
    accepted = []
    for entry in data.get("accepted", []):
        if not all(isinstance(entry.get(k), str) and entry[k].strip() for k in ("id", "package", "reason")):
            raise CliError(f"{path}: every [[accepted]] entry needs an id, a package and a reason", code=EXIT_BAD_INPUT)
        accepted.append(Accepted(entry["id"], canonical(entry["package"]), entry["reason"].strip()))
    return accepted


def run_pip_audit(root: Path, url: str, pip_audit: Path) -> dict[str, Any]:
    """pip-audit over the pinned files against the local service; its JSON report."""
    if not pip_audit.exists():
        raise CliError(f"{pip_audit} is missing: `./tandem audit` installs it (requirements/dev.txt)")
    with tempfile.TemporaryDirectory(prefix="tandem-audit-") as cache:
        command = [str(pip_audit), "--no-deps", "--disable-pip", "--progress-spinner", "off", "--format", "json"]
        command += ["--vulnerability-service", "osv", "--osv-url", url, "--cache-dir", cache, "--timeout", "30"]
        for requirements in REQUIREMENTS:
            command += ["--requirement", str(root / requirements)]
        done = subprocess.run(command, capture_output=True, text=True, cwd=root)
    try:
        return json.loads(done.stdout)
    except ValueError:
        raise CliError(f"pip-audit failed (exit {done.returncode}): {done.stderr.strip()[-2000:]}") from None


def findings(report: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(package, version, vulnerability) for every finding of a pip-audit JSON report."""
    return [
        (canonical(dep["name"]), dep.get("version", "?"), vuln)
        for dep in report.get("dependencies", [])
        for vuln in dep.get("vulns", [])
    ]


def audit(root: Path = PROJECT_ROOT, pip_audit: Path | None = None) -> int:
    snapshot = load_snapshot(root / SNAPSHOT)
    accepted = {(a.package, a.id): a for a in load_accepted(root / ACCEPTED)}
    with osv_service(snapshot) as url:
        report = run_pip_audit(root, url, pip_audit or root / PIP_AUDIT)
    skipped = [dep for dep in report.get("dependencies", []) if dep.get("skip_reason")]
    print(
        f"audited {len(report.get('dependencies', [])) - len(skipped)} pinned packages against the PyPA advisory "
        f"database at {snapshot['commit'][:12]} ({snapshot['date'][:10]})"
    )
    open_findings, used = [], set()
    for package, version, vuln in findings(report):
        ids = [vuln["id"], *vuln.get("aliases", [])]
        match = next((accepted[(package, i)] for i in ids if (package, i) in accepted), None)
        fixes = ", ".join(vuln.get("fix_versions", [])) or "none"
        line = (
            f"{package} {version}: {vuln['id']} ({', '.join(vuln.get('aliases', [])) or 'no alias'}); fixed in {fixes}"
        )
        if match is not None:
            used.add((match.package, match.id))
            print(f"  accepted  {line}\n            because: {match.reason}")
        else:
            open_findings.append(line)
            print(f"  OPEN      {line}\n            {vuln.get('description', '')[:200]}")
    for key, entry in accepted.items():
        if key not in used:
            print(f"  stale     {entry.package} {entry.id} is accepted but no longer found: remove it from {ACCEPTED}")
    for dep in skipped:
        print(f"  skipped   {dep['name']}: {dep['skip_reason']}")
    if open_findings:
        print(f"{len(open_findings)} advisories neither fixed nor accepted (see {ACCEPTED})")
        return 1
    print("no open advisories")
    return 0


def _cmd_audit(args: argparse.Namespace) -> int:
    root = Path(args.root) if args.root else PROJECT_ROOT
    if args.refresh:
        wanted = pins(root / r for r in REQUIREMENTS)
        snapshot = build_snapshot(Path(args.refresh), wanted)
        (root / SNAPSHOT).write_text(json.dumps(snapshot, indent=1, sort_keys=True) + "\n")
        count = sum(len(v) for v in snapshot["advisories"].values())
        print(
            f"{root / SNAPSHOT}: {count} advisories of {len(snapshot['advisories'])} pinned packages, "
            f"from {snapshot['commit'][:12]} ({snapshot['date'][:10]})"
        )
        return 0
    return audit(root)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("audit", help="known vulnerabilities in the pinned dependencies (pip-audit)")
    parser.add_argument("--refresh", metavar="DIR", help="rebuild the advisory snapshot from this checkout")
    parser.add_argument("--root", help=argparse.SUPPRESS)  # tests audit a copy of the requirements
    set_handler(parser, _cmd_audit)
