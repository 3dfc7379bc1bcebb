"""Token buckets with a frozen clock: bursts, refill, Retry-After, bounded memory."""

from __future__ import annotations

import pytest

from sfsync.intake.config import RateLimit
from sfsync.intake.limiter import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_a_burst_then_refusals_with_the_wait(clock: Clock) -> None:
    limiter = RateLimiter(RateLimit(requests=3, per_seconds=60), clock)
    assert [limiter.take("a") for _ in range(3)] == [None, None, None]
    assert limiter.take("a") == 20  # one token every 20 s
    clock.now += 19.5
    assert limiter.take("a") == 1  # never 0: Retry-After is at least a second
    clock.now += 0.5
    assert limiter.take("a") is None
    assert limiter.take("a") == 20


def test_keys_are_independent(clock: Clock) -> None:
    limiter = RateLimiter(RateLimit(requests=1, per_seconds=10), clock)
    assert limiter.take("a") is None
    assert limiter.take("a") == 10
    assert limiter.take("b") is None


@pytest.mark.parametrize(
    ("requests", "per_seconds", "idle", "allowed"),
    [
        (5, 60, 0, 0),
        (5, 60, 12, 1),
        (5, 60, 30, 2),
        (5, 60, 3600, 5),  # refills to the burst, never beyond
        (1, 3600, 3599, 0),
    ],
)
def test_refill(clock: Clock, requests: int, per_seconds: float, idle: float, allowed: int) -> None:
    limiter = RateLimiter(RateLimit(requests=requests, per_seconds=per_seconds), clock)
    for _ in range(requests):
        assert limiter.take("k") is None
    clock.now += idle
    granted = 0
    while limiter.take("k") is None:
        granted += 1
    assert granted == allowed


def test_memory_is_bounded_and_refilled_buckets_are_forgotten(clock: Clock) -> None:
    limiter = RateLimiter(RateLimit(requests=2, per_seconds=10), clock, max_keys=100)
    for n in range(1000):  # a flood from many addresses
        limiter.take(f"ip{n}")
    assert len(limiter) <= 100
    limiter.take("busy")
    limiter.take("busy")
    assert limiter.take("busy") is not None
    clock.now += 11  # every bucket is full again: as good as new, and forgotten first
    limiter.take("fresh")
    assert len(limiter) <= 100
    assert limiter.take("busy") is None


def test_a_busy_key_keeps_its_bucket_under_churn(clock: Clock) -> None:
    """A sender over its limit is not reset by others filling the table (until the cap)."""
    limiter = RateLimiter(RateLimit(requests=1, per_seconds=100), clock, max_keys=1000)
    assert limiter.take("spammer") is None
    for n in range(500):
        limiter.take(f"other{n}")
    assert limiter.take("spammer") is not None
