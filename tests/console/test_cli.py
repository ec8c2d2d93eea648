"""`tandem agents ...` as an operator runs it, against the real databases."""

from __future__ import annotations

import io

import pytest

from bot.cli import main
from bot.console.agents import authenticate, get_agent
from bot.db.session import dispose_engine, session_scope

PASSWORD = "a long enough password"


@pytest.fixture
def url(db_factory):
    url = db_factory.create()
    yield url
    dispose_engine(url)


@pytest.fixture(scope="module")
def untouched_url(db_factory):
    """A database the refused commands share: they must leave it as it was."""
    url = db_factory.create()
    yield url
    dispose_engine(url)


def tandem(url: str, *argv: str, stdin: str | None = None, monkeypatch=None) -> int:
    if stdin is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return main(["agents", *argv, "--database-url", url])


def signs_in(url: str, username: str, password: str) -> bool:
    with session_scope(url) as session:
        return authenticate(session, username, password) is not None


def test_create_list_set_password_and_deactivate(url, monkeypatch, capsys):
    assert (
        tandem(
            url,
            "create",
            "Alice",
            "--name",
            "Alice Smith",
            "--queues",
            "billing,delivery",
            "--password-stdin",
            stdin=PASSWORD + "\n",
            monkeypatch=monkeypatch,
        )
        == 0
    )
    assert "Created agent alice (Alice Smith): billing, delivery." in capsys.readouterr().out
    assert (
        tandem(
            url,
            "create",
            "root",
            "--name",
            "Root",
            "--role",
            "admin",
            "--password-stdin",
            stdin=PASSWORD + "\n",
            monkeypatch=monkeypatch,
        )
        == 0
    )
    assert "every queue" in capsys.readouterr().out
    assert signs_in(url, "alice", PASSWORD)

    assert tandem(url, "list") == 0
    listing = capsys.readouterr().out.splitlines()
    assert listing[0].split()[:4] == ["USERNAME", "NAME", "ROLE", "QUEUES"]
    assert listing[1].split() == ["alice", "Alice", "Smith", "agent", "billing,delivery", "yes", "never"]
    assert listing[2].split() == ["root", "Root", "admin", "(all)", "yes", "never"]

    assert (
        tandem(
            url, "set-password", "alice", "--password-stdin", stdin="another fine password\n", monkeypatch=monkeypatch
        )
        == 0
    )
    assert not signs_in(url, "alice", PASSWORD) and signs_in(url, "alice", "another fine password")

    assert tandem(url, "deactivate", "alice") == 0
    assert "can no longer sign in" in capsys.readouterr().out
    assert not signs_in(url, "alice", "another fine password")
    tandem(url, "list")
    assert capsys.readouterr().out.splitlines()[1].split()[-2] == "no"

    assert tandem(url, "activate", "alice") == 0
    assert "can sign in again" in capsys.readouterr().out
    assert signs_in(url, "alice", "another fine password")


def test_an_interactive_password_is_asked_twice(url, monkeypatch, capsys):
    answers = iter([PASSWORD, PASSWORD + "typo"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    assert tandem(url, "create", "bob", "--name", "Bob", "--queues", "general") == 1
    assert "do not match" in capsys.readouterr().err
    answers = iter([PASSWORD, PASSWORD])
    assert tandem(url, "create", "bob", "--name", "Bob", "--queues", "general") == 0
    assert signs_in(url, "bob", PASSWORD)


@pytest.mark.parametrize(
    "argv, stdin, error",
    [
        (
            ["create", "carol", "--name", "Carol", "--queues", "billing,payroll"],
            PASSWORD,
            "unknown queue 'payroll'; the queues in config/handoff.yml are: technical, delivery, returns, billing, general",
        ),
        (["create", "carol", "--name", "Carol", "--queues", "billing"], "short", "at least 10 characters"),
        (["create", "carol", "--name", "Carol"], PASSWORD, "an agent needs at least one queue"),
        (["create", "no way", "--name", "Carol", "--queues", "billing"], PASSWORD, "a username has 2 to 64 characters"),
        (["create", "carol", "--name", "   ", "--queues", "billing"], PASSWORD, "a display name has 1 to 100"),
        (["set-password", "nobody"], PASSWORD, "no agent 'nobody'"),
        (["deactivate", "nobody"], None, "no agent 'nobody'"),
        (["activate", "nobody"], None, "no agent 'nobody'"),
    ],
)
def test_bad_input_gets_a_clear_error_and_changes_nothing(untouched_url, monkeypatch, capsys, argv, stdin, error):
    url = untouched_url
    if stdin is not None:
        argv = [*argv, "--password-stdin"]
    assert tandem(url, *argv, stdin=(stdin + "\n") if stdin is not None else None, monkeypatch=monkeypatch) == 1
    assert error in capsys.readouterr().err
    with session_scope(url) as session:
        assert get_agent(session, "carol") is None


def test_a_username_is_taken_once(url, monkeypatch, capsys):
    assert (
        tandem(
            url,
            "create",
            "dave",
            "--name",
            "Dave",
            "--queues",
            "billing",
            "--password-stdin",
            stdin=PASSWORD + "\n",
            monkeypatch=monkeypatch,
        )
        == 0
    )
    assert (
        tandem(
            url,
            "create",
            "DAVE",
            "--name",
            "Other Dave",
            "--queues",
            "returns",
            "--password-stdin",
            stdin=PASSWORD + "\n",
            monkeypatch=monkeypatch,
        )
        == 1
    )
    assert "there is already an agent 'dave'" in capsys.readouterr().err
    with session_scope(url) as session:
        assert get_agent(session, "dave").display_name == "Dave"
