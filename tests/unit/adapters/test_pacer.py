"""The SES pacer on a fake clock: slots at 1/max_rps apart, shared fairly by concurrent callers, no sockets."""

from __future__ import annotations

import threading

from core.adapters.ses import Pacer
from tests.fake_clock import FakeClock


def test_given_concurrent_callers_when_pacing_then_no_two_calls_share_a_slot() -> None:
    # A clock that stands still: each caller's sleep is then exactly the offset of the slot it reserved.
    sleeps: list[float] = []
    lock = threading.Lock()

    def record(seconds: float) -> None:
        with lock:
            sleeps.append(seconds)

    pacer = Pacer(2.0, clock=lambda: 0.0, sleep=record)

    def caller() -> None:
        for _ in range(5):
            pacer.wait()

    threads = [threading.Thread(target=caller) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # 40 calls at 2/s: the first goes at once, the other 39 at distinct half-second slots.
    assert sorted(sleeps) == [0.5 * slot for slot in range(1, 40)]


def test_given_time_already_passed_when_pacing_then_the_pacer_does_not_sleep() -> None:
    clock = FakeClock()
    pacer = Pacer(1.0, clock=clock, sleep=clock.sleep)

    pacer.wait()
    clock.now += 5
    pacer.wait()
    pacer.wait()

    assert clock.sleeps == [1.0]
