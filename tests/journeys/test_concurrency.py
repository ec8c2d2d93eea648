"""Two messages of one customer at the same moment never corrupt their journey (SQLite and PostgreSQL).

Each thread is one action-server worker with its own session: it reads the journey, the runner decides (here:
a hand-built result), then both record their turn at once (a barrier lines them up).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import select

from bot.db.models import Journey, JourneyStep
from bot.db.session import session_scope
from bot.journeys import store
from bot.journeys.store import JourneyConflict
from bot.journeys.types import StepResult
from tests.journeys.test_store import T0, customer_id, open_one, said, step_result


def run_together(*workers: Callable[[threading.Barrier], object]) -> list[object]:
    """Run the workers in threads released at the same moment; their results or the exceptions they raised."""
    barrier = threading.Barrier(len(workers))
    results: list[object] = [None] * len(workers)

    def run(i: int) -> None:
        try:
            results[i] = workers[i](barrier)
        except BaseException as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(workers))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a writer is stuck"
    return results


def opened(url: str) -> tuple[int, int]:
    with session_scope(url) as session:
        cid = customer_id(session)
        return cid, open_one(session, cid).id


def answer(url: str, journey_id: int, cid: int, result: StepResult, *, text: str, pass_version: bool = True):
    """An action-server worker: read the journey, wait for the other one, record the turn."""

    def worker(barrier: threading.Barrier):
        with session_scope(url) as session:
            seen = store.get(session, journey_id, cid)
            session.commit()  # the read transaction ends, as it does while the runner works
            barrier.wait(timeout=10)
            return store.record_turn(
                session,
                journey_id,
                result,
                user_input=said(text, "inform"),
                channel="web",
                conversation_id="conv-1",
                now=T0 + timedelta(minutes=1),
                expected_version=seen.version if pass_version else None,
            )

    return worker


def consistent(url: str, journey_id: int) -> tuple[Journey, list[JourneyStep]]:
    with session_scope(url) as session:
        journey = session.get(Journey, journey_id)
        steps = list(
            session.execute(
                select(JourneyStep).where(JourneyStep.journey_id == journey_id).order_by(JourneyStep.seq)
            ).scalars()
        )
    assert [s.seq for s in steps] == list(range(1, len(steps) + 1))
    assert journey.step_count == len(steps)
    return journey, steps


def test_two_turns_from_the_same_version_one_wins_and_the_other_gets_a_conflict(fresh_shop_db) -> None:
    cid, journey_id = opened(fresh_shop_db)
    restart = step_result("waiting_for_customer", "ask_restart", ("check_lights", "ask_restart"))
    cable = step_result("waiting_for_customer", "ask_cable", ("check_cable", "ask_cable"))
    results = run_together(
        answer(fresh_shop_db, journey_id, cid, restart, text="lights are red"),
        answer(fresh_shop_db, journey_id, cid, cable, text="the cable is loose"),
    )
    winners = [r for r in results if isinstance(r, store.JourneyView)]
    conflicts = [r for r in results if isinstance(r, JourneyConflict)]
    assert (len(winners), len(conflicts)) == (1, 1), results
    journey, steps = consistent(fresh_shop_db, journey_id)
    (winner,) = winners
    assert (journey.version, journey.current_step, len(steps)) == (2, winner.current_step, 4)
    # Only the winner's turn is there, whole: its message on its first step, its steps in order.
    expected = (
        ("lights are red", ["check_lights", "ask_restart"])
        if winner.current_step == "ask_restart"
        else ("the cable is loose", ["check_cable", "ask_cable"])
    )
    assert (steps[2].text, [s.step for s in steps[2:]]) == expected


def test_the_losing_turn_re_runs_on_the_fresh_state_and_both_are_kept(fresh_shop_db) -> None:
    cid, journey_id = opened(fresh_shop_db)
    one = step_result("waiting_for_customer", "ask_restart", ("ask_restart",))

    def patient(text: str):
        def worker(barrier: threading.Barrier):
            for attempt in range(5):  # what the action does on JourneyConflict
                try:
                    with session_scope(fresh_shop_db) as session:
                        seen = store.get(session, journey_id, cid)
                        if attempt == 0:
                            barrier.wait(timeout=10)
                        return store.record_turn(
                            session,
                            journey_id,
                            one,
                            user_input=said(text, "inform"),
                            channel="web",
                            conversation_id="conv-1",
                            now=T0,
                            expected_version=seen.version,
                        )
                except JourneyConflict:
                    continue
            raise AssertionError("never got through")

        return worker

    results = run_together(patient("first"), patient("second"))
    assert all(isinstance(r, store.JourneyView) for r in results), results
    journey, steps = consistent(fresh_shop_db, journey_id)
    assert (journey.version, len(steps)) == (3, 4)
    assert sorted(s.text for s in steps[2:]) == ["first", "second"]  # one step per turn here


def test_turns_without_an_expected_version_are_serialized_and_none_is_lost(fresh_shop_db) -> None:
    cid, journey_id = opened(fresh_shop_db)
    one = step_result("waiting_for_customer", "ask_restart", ("ask_restart",))
    results = run_together(
        *(answer(fresh_shop_db, journey_id, cid, one, text=f"message {i}", pass_version=False) for i in range(3))
    )
    assert all(isinstance(r, store.JourneyView) for r in results), results
    journey, steps = consistent(fresh_shop_db, journey_id)
    assert (journey.version, len(steps)) == (4, 5)
    assert sorted(s.text for s in steps[2:]) == ["message 0", "message 1", "message 2"]


def test_two_messages_opening_the_same_problem_make_one_journey(fresh_shop_db) -> None:
    with session_scope(fresh_shop_db) as session:
        cid = customer_id(session)

    def opener(conversation: str):
        def worker(barrier: threading.Barrier):
            with session_scope(fresh_shop_db) as session:
                barrier.wait(timeout=10)
                return open_one(session, cid, conversation_id=conversation)

        return worker

    results = run_together(opener("conv-a"), opener("conv-b"))
    assert sorted(type(r).__name__ for r in results) == ["JourneyConflict", "JourneyView"], results
    with session_scope(fresh_shop_db) as session:
        assert len(store.open_journeys(session, cid)) == 1
