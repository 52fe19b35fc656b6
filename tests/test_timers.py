"""One timer for every link: the deadline bookkeeping on a simulated clock, then the service.

:class:`~pyppp.deadlines.DeadlineQueue` is driven by hypothesis through arbitrary sets, moves,
clears and clock steps, with a shell that wakes exactly when asked (or later): every deadline
armed and not cleared or moved fires exactly once, in deadline order, never early and at most a
tick late. :class:`~pyppp.aio.timers.TimerService` is then run on a real loop: one loop handle
for many alarms, alarms re-arming themselves and others, a removed alarm never running, a
raising alarm not stopping the rest, and no handle left after close.
"""

from __future__ import annotations

import asyncio
import functools
import logging

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyppp.aio.timers import Alarm, TimerService
from pyppp.deadlines import DeadlineQueue

TICK = 0.004

# One step: ("set", key, offset from now) | ("clear", key) | ("advance", seconds, lateness,
# reactions): while the clock advances, the callback of a key in ``reactions`` sets (offset) or
# clears (None) the deadline of another key, or its own.
_step = st.one_of(
    st.tuples(st.just("set"), st.integers(0, 7), st.floats(-0.01, 0.05)),
    st.tuples(st.just("clear"), st.integers(0, 7)),
    st.tuples(
        st.just("advance"),
        st.floats(0, 0.05),
        st.floats(0, 0.003),
        st.dictionaries(
            st.integers(0, 7),
            st.tuples(st.integers(0, 7), st.none() | st.floats(-0.01, 0.05)),
            max_size=4,
        ),
    ),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_step, max_size=60), st.sampled_from([0.0, TICK]))
def test_queue_fires_each_deadline_once_in_order_never_early(
    steps: list[tuple[object, ...]], tick: float
) -> None:
    queue: DeadlineQueue[int] = DeadlineQueue(tick)
    now = 100.0
    armed: dict[int, float] = {}  # the model: what must still fire
    since: dict[int, float] = {}  # when each was armed (one armed in the past is due then)
    fired: list[tuple[float, int, float]] = []  # (deadline, key, when)

    def arm(key: int, deadline: float | None) -> None:
        queue.set(key, deadline)
        if deadline is None:
            armed.pop(key, None)
        elif armed.get(key) != deadline:  # an unchanged deadline stays as it was
            armed[key] = deadline
            since[key] = now

    def run_until(
        end: float, lateness: float, reactions: dict[int, tuple[int, float | None]]
    ) -> None:
        nonlocal now
        while (wake := queue.wake_time()) is not None and wake <= end:
            assert wake >= queue.earliest()  # type: ignore[operator]
            # The shell wakes when asked, or late (the loop was busy), never before.
            now = max(now, wake + lateness)
            mark = queue.mark()
            in_pass: list[float] = []
            while (key := queue.pop_due(mark, now=now)) is not None:
                deadline = armed.pop(key)
                assert deadline <= now, "fired early"
                if not lateness:
                    due = max(deadline, since[key])
                    assert now - due <= tick + 1e-9, "more than a tick late"
                in_pass.append(deadline)
                fired.append((deadline, key, now))
                if key in reactions:  # a callback re-arming itself or another, or clearing
                    target, offset = reactions.pop(key)  # once: the simulated clock stands
                    arm(target, None if offset is None else now + offset)
            assert in_pass == sorted(in_pass)
        now = max(now, end)

    for step in steps:
        match step:
            case ("set", int(key), float(offset)):
                # A deadline in the past is due at once (a fresh call_at would be, too).
                arm(key, now + offset)
            case ("clear", int(key)):
                queue.clear(key)
                armed.pop(key, None)
            case ("advance", float(seconds), float(lateness), dict(reactions)):
                run_until(now + seconds, lateness, dict(reactions))
        assert {k: queue.get(k) for k in armed} == armed
        assert len(queue) == len(armed)
    run_until(now + 1.0, 0.0, {})
    assert not armed
    assert len(queue) == 0
    assert queue.wake_time() is None


def test_wake_time_rounds_up_to_the_tick_and_coalesces() -> None:
    queue: DeadlineQueue[str] = DeadlineQueue(0.004)
    queue.set("a", 1.0001)
    queue.set("b", 1.0035)
    queue.set("c", 1.0041)
    wake = queue.wake_time()
    assert wake is not None
    assert 1.0035 <= wake <= 1.004 + 1e-12
    assert [queue.pop_due(now=wake), queue.pop_due(now=wake), queue.pop_due(now=wake)] == [
        "a",
        "b",
        None,
    ]
    assert queue.wake_time() == pytest.approx(1.008)


def test_moves_and_clears_leave_no_stale_entry_behind() -> None:
    queue: DeadlineQueue[int] = DeadlineQueue()
    for round_ in range(10_000):  # a deadline pushed later on every event
        queue.set(round_ % 3, 10.0 + round_)
    assert len(queue._heap) <= 2 * len(queue) + 64
    queue.set(1, 5.0)  # moved earlier
    queue.set(1, 5.0)  # unchanged: free
    queue.clear(0)
    assert queue.earliest() == 5.0
    assert queue.pop_due(now=4.999) is None
    assert queue.pop_due(now=5.0) == 1
    assert queue.get(1) is None
    assert queue.get(2) == 10.0 + 9998


def test_a_deadline_armed_during_a_pass_waits_for_the_next() -> None:
    queue: DeadlineQueue[str] = DeadlineQueue()
    queue.set("a", 1.0)
    mark = queue.mark()
    assert queue.pop_due(mark, now=2.0) == "a"
    queue.set("a", 0.5)  # re-armed in the past by its own callback
    assert queue.pop_due(mark, now=2.0) is None
    assert queue.pop_due(queue.mark(), now=2.0) == "a"


def test_negative_tick_refused() -> None:
    with pytest.raises(ValueError):
        DeadlineQueue(-1.0)


async def _service_run() -> tuple[list[str], int, bool, int]:
    loop = asyncio.get_running_loop()
    service = TimerService(tick=TICK, logger=logging.getLogger("test.timers"))
    order: list[str] = []
    handles = 0
    real_call_at = loop.call_at

    def counting_call_at(
        when: float, callback: object, *args: object, **kwargs: object
    ) -> asyncio.TimerHandle:
        nonlocal handles
        handles += 1
        return real_call_at(when, callback, *args, **kwargs)  # type: ignore[arg-type]

    loop.call_at = counting_call_at  # type: ignore[method-assign]
    try:
        alarms: dict[str, Alarm] = {}
        start = loop.time()

        def ring(name: str) -> None:
            if loop.time() < deadlines[name]:
                order.append(f"{name} early")  # (an assert here would be caught and logged)
            order.append(name)
            if name == "a" and order.count("a") == 1:
                alarms["victim"].clear()  # due in this very pass (same deadline, armed later)
                alarms["a"].set(loop.time() + 0.01)  # re-arms itself (once)
                deadlines["a"] = loop.time() + 0.01
                alarms["b"].set(loop.time())  # and another one, due now
                deadlines["b"] = loop.time()
            if name == "boom":
                raise RuntimeError("a link's bug")

        names = ["a", "b", "boom", "c", "gone", "late"]
        deadlines = {n: start + 0.02 + 0.001 * i for i, n in enumerate(names)}
        names.insert(1, "victim")
        deadlines["victim"] = deadlines["a"]
        for name in names:
            alarms[name] = service.alarm(functools.partial(ring, name), name)
        for name in names:
            alarms[name].set(deadlines[name])
        for _ in range(50):  # many re-arms, moved later: no handle for any of them
            deadlines["late"] += 0.0001
            alarms["late"].set(deadlines["late"])
        alarms["gone"].clear()
        await asyncio.sleep(0.08)
        ran_a_again = order.count("a") == 2
        alarms["a"].set(loop.time() + 60)
        assert service.armed
        service.close()
        return order, handles, ran_a_again and not service.armed, service.wakeups
    finally:
        loop.call_at = real_call_at  # type: ignore[method-assign]


def test_service_one_handle_for_many_alarms(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, "test.timers"):
        order, handles, clean, wakeups = asyncio.run(_service_run())
    # "b" was moved by "a" before it was due, so it runs once; "gone" was removed, and
    # "victim" too, by "a" in the pass where both were due; "boom"
    # raised and the rest still ran, in deadline order; "a" re-armed itself and ran again.
    assert sorted(order) == ["a", "a", "b", "boom", "c", "late"], order
    assert order[0] == "a"
    assert order.index("boom") < order.index("c") < order.index("late")
    assert clean
    assert "error in the timer of boom" in caplog.text
    # Six alarms, one of them moved 50 times: a handful of loop handles, not one per set.
    assert handles <= wakeups + 2, (handles, wakeups)
    assert handles < 10, (handles, wakeups)


def test_service_close_without_loop_is_harmless() -> None:
    service = TimerService()
    service.close()
    assert not service.armed
