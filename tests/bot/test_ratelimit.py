"""The adaptive Slack pacer, on a manual clock: bursts, edits apart, 429s, probing back up."""

from __future__ import annotations

import pytest

from bot.ratelimit import AdaptivePacer, ChannelPacer


class Clock:
    """A monotonic clock that moves only when told; sleeping moves it."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


def pacer(clock: Clock, **kwargs: float) -> AdaptivePacer:
    return AdaptivePacer(monotonic=clock, sleep=clock.sleep, **kwargs)  # type: ignore[arg-type]


def taken(p: AdaptivePacer, channel: str, tries: int = 20) -> int:
    return sum(p.allow(channel) for _ in range(tries))


def test_a_quiet_channel_takes_a_burst_then_one_a_second(clock: Clock) -> None:
    p = pacer(clock, burst=3, max_burst=3)
    assert taken(p, "C1") == 3
    assert taken(p, "C2") == 3  # each channel has its own bucket
    clock.now += 1.0
    assert taken(p, "C1") == 0  # a little slower than one a second: Slack counts late
    assert p.retry_due() is False
    clock.now += 0.06
    assert p.retry_due() is True  # the refused slot came free
    assert taken(p, "C1") == 1


def test_edits_have_their_own_workspace_budget(clock: Clock) -> None:
    p = pacer(clock, burst=1, max_burst=1, edits_per_minute=60, edit_burst=5, edit_reserve=2)
    assert p.allow("C1")
    assert not p.allow("C1")  # the channel's posting slot is used...
    # ... edits do not take it; across channels they share one bucket of 5.
    assert [p.allow_edit(f"C{i}", final=True) for i in range(6)] == [True] * 5 + [False]


def test_intermediate_edits_leave_a_reserve_for_outcomes(clock: Clock) -> None:
    p = pacer(clock, edits_per_minute=60, edit_burst=5, max_edit_burst=5, edit_reserve=2)
    running = [p.allow_edit("C1", final=False) for _ in range(5)]
    assert running == [True, True, True, False, False]
    assert p.allow_edit("C1", final=True)
    assert p.allow_edit("C1", final=True)
    assert not p.allow_edit("C1", final=True)


def test_a_429_halves_the_burst_holds_for_retry_after_and_probes_back_up(clock: Clock) -> None:
    p = pacer(clock, burst=4, max_burst=4, probe_seconds=30)
    assert taken(p, "C1") == 4
    p.throttled("chat.postMessage", "C1", 3.0)
    assert p.throttles == 1
    clock.now += 2.9
    assert taken(p, "C1") == 0  # Retry-After is honoured, though tokens came back
    assert taken(p, "C2") == 4  # other channels are not held
    clock.now += 0.2
    assert taken(p, "C1") == 2  # the burst is halved: 4 -> 2
    clock.now += 30
    assert taken(p, "C1") == 3  # a quiet probe period: one more
    clock.now += 60
    assert taken(p, "C1") == 4  # ... up to the most allowed, never more
    clock.now += 60
    assert taken(p, "C1") == 4


def test_a_429_on_an_edit_holds_edits_everywhere_but_not_posts(clock: Clock) -> None:
    p = pacer(clock, edit_burst=8, max_edit_burst=8, edit_reserve=0)
    p.throttled("chat.update", "C1", 2.0)
    assert not p.allow_edit("C2", final=True)
    assert p.allow("C1")  # posting in the channel is another limit
    clock.now += 2.0
    assert p.allow_edit("C2", final=True)
    assert not p.allow_edit("C2", final=True)  # the bucket was emptied and its burst halved
    clock.now += 60.0
    assert sum(p.allow_edit("C2", final=True) for _ in range(10)) == 6  # 8 // 2, + 2 quiet probes


def test_other_methods_do_not_move_the_pacer(clock: Clock) -> None:
    p = pacer(clock, burst=2, max_burst=2)
    p.throttled("views.open", None, 10.0)
    p.throttled("chat.postEphemeral", "C1", 10.0)
    assert taken(p, "C1") == 2
    assert p.allow_edit("C1", final=True)


def test_wait_queues_callers_behind_one_another(clock: Clock) -> None:
    p = pacer(clock, burst=1, max_burst=1)
    p.wait("C1")
    p.wait("C1")
    p.wait("C1")
    assert clock.slept == pytest.approx([1.05, 1.05])
    p.throttled("chat.postMessage", "C1", 5.0)
    p.wait("C1")
    assert clock.slept[-1] == pytest.approx(5.0)


def test_the_fixed_override_honours_retry_after_even_with_pacing_off(clock: Clock) -> None:
    p = ChannelPacer(0, monotonic=clock, sleep=clock.sleep)
    assert taken(p, "C1", 3) == 3  # type: ignore[arg-type]
    p.throttled("chat.update", "C1", 2.0)
    assert not p.allow_edit("C1", final=True)
    assert p.allow("C2")
    clock.now += 2.0
    assert p.retry_due()
    assert p.allow("C1")
