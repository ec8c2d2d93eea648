"""`tandem audit`: pip-audit over pinned requirement files against the committed advisory snapshot, served
locally (no network); accepted advisories need a reason, and stale acceptances are reported."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from bot.cli import main as tandem_main
from bot.cli.audit import PIP_AUDIT, SNAPSHOT, affects, build_snapshot, pins, query
from bot.settings import PROJECT_ROOT

ADVISORY = {
    "id": "PYSEC-2099-1",
    "aliases": ["CVE-2099-0001"],
    "details": "demo-pkg before 1.5 lets anyone in.",
    "affected": [
        {
            "package": {"name": "Demo_Pkg", "ecosystem": "PyPI"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "1.0"}, {"fixed": "1.5"}]}],
        }
    ],
}


def test_ranges_decide_which_versions_an_advisory_affects():
    assert affects(ADVISORY, "demo-pkg", "1.0") and affects(ADVISORY, "demo-pkg", "1.4.9")
    assert not affects(ADVISORY, "demo-pkg", "0.9") and not affects(ADVISORY, "demo-pkg", "1.5")
    assert not affects(ADVISORY, "other", "1.0")
    open_ended = {
        "affected": [{"package": {"name": "x"}, "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}]}]
    }
    assert affects(open_ended, "x", "99.0")
    last = {
        "affected": [
            {
                "package": {"name": "x"},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "2.0"}, {"last_affected": "2.3"}]}],
            }
        ]
    }
    assert affects(last, "x", "2.3") and not affects(last, "x", "2.4") and not affects(last, "x", "1.9")


def test_withdrawn_advisories_are_not_findings():
    snapshot = {"advisories": {"demo-pkg": [ADVISORY, {**ADVISORY, "id": "PYSEC-2099-2", "withdrawn": "2099-02-01"}]}}
    assert [a["id"] for a in query(snapshot, "Demo.Pkg", "1.2")] == ["PYSEC-2099-1"]


def test_the_snapshot_keeps_only_the_pinned_packages_advisories(tmp_path):
    (tmp_path / "vulns" / "demo-pkg").mkdir(parents=True)
    (tmp_path / "vulns" / "unpinned").mkdir(parents=True)
    record = {**ADVISORY, "affected": [{**ADVISORY["affected"][0], "versions": ["1.0", "1.1"]}]}
    (tmp_path / "vulns" / "demo-pkg" / "PYSEC-2099-1.yaml").write_text(json.dumps(record))  # JSON is YAML
    (tmp_path / "vulns" / "unpinned" / "PYSEC-2099-3.yaml").write_text(json.dumps({**ADVISORY, "id": "X"}))
    snapshot = build_snapshot(tmp_path, ["Demo_Pkg"])
    assert list(snapshot["advisories"]) == ["demo-pkg"]
    assert "versions" not in snapshot["advisories"]["demo-pkg"][0]["affected"][0]


def test_every_pin_of_the_real_lock_is_read():
    found = pins([PROJECT_ROOT / "requirements/lock.txt", PROJECT_ROOT / "requirements/rasa.txt"])
    assert found["rasa"] == "3.6.21" and found["redis"] == "4.6.0" and len(found) > 150
    snapshot = json.loads((PROJECT_ROOT / SNAPSHOT).read_text())
    assert len(snapshot["commit"]) == 40 and snapshot["advisories"]


@pytest.fixture
def project(tmp_path):
    """A copy of the audit's inputs with one vulnerable pin (demo-pkg 1.2), audited by the real pip-audit."""
    pip_audit = PROJECT_ROOT / PIP_AUDIT
    if not pip_audit.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{pip_audit} is missing: CI runs `./tandem check`, which installs it, first")
        pytest.skip("pip-audit is not installed yet: `./tandem audit` installs it into .tandem/tools")
    (tmp_path / "requirements").mkdir()
    (tmp_path / "requirements/lock.txt").write_text("demo-pkg==1.2\nsafe-pkg==2.0\n")
    (tmp_path / "requirements/rasa.txt").write_text("# nothing\n")
    snapshot = {"source": "test", "commit": "0" * 40, "date": "2099-01-01", "advisories": {"demo-pkg": [ADVISORY]}}
    (tmp_path / SNAPSHOT).write_text(json.dumps(snapshot))
    (tmp_path / ".tandem/tools/bin").mkdir(parents=True)
    (tmp_path / PIP_AUDIT).symlink_to(pip_audit)
    return tmp_path


def test_an_open_advisory_fails_the_audit_and_names_the_fix(project, capsys):
    assert tandem_main(["audit", "--root", str(project)]) == 1
    out = capsys.readouterr().out
    assert "OPEN      demo-pkg 1.2: PYSEC-2099-1 (CVE-2099-0001); fixed in 1.5" in out
    assert "audited 2 pinned packages" in out


def test_an_accepted_advisory_passes_with_its_reason_and_a_stale_one_is_reported(project, capsys):
    (project / "requirements/audit-accepted.toml").write_text(
        '[[accepted]]\nid = "CVE-2099-0001"\npackage = "demo_pkg"\nreason = "the demo never runs in production"\n'
        '[[accepted]]\nid = "PYSEC-1999-9"\npackage = "safe-pkg"\nreason = "was fixed long ago"\n'
    )
    assert tandem_main(["audit", "--root", str(project)]) == 0
    out = capsys.readouterr().out
    assert "accepted  demo-pkg 1.2: PYSEC-2099-1" in out and "because: the demo never runs in production" in out
    assert "stale     safe-pkg PYSEC-1999-9 is accepted but no longer found" in out


def test_an_acceptance_without_a_reason_is_refused(project, capsys):
    (project / "requirements/audit-accepted.toml").write_text(
        '[[accepted]]\nid = "PYSEC-2099-1"\npackage = "demo-pkg"\n'
    )
    assert tandem_main(["audit", "--root", str(project)]) == 2
    assert "needs an id, a package and a reason" in capsys.readouterr().err


def test_the_audit_needs_no_network(project):
    """The same result with every proxy pointing nowhere: nothing but the local service is asked."""
    env = {
        **os.environ,
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "HTTP_PROXY": "http://127.0.0.1:9",
        "NO_PROXY": "127.0.0.1",
    }
    done = subprocess.run(
        [str(PROJECT_ROOT / ".venv/bin/python"), "-m", "bot.cli", "audit", "--root", str(project)],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1 and "PYSEC-2099-1" in done.stdout, done.stderr
