"""The retry layer shared by threads: a session several calls find expired is renewed once."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from simple_salesforce.exceptions import SalesforceExpiredSession

from sfsync.connectors.retry import RetryingCaller, RetryPolicy
from sfsync.errors import AuthError

THREADS = 4


class FakeSessions:
    """Tokens numbered by renewal; a call made with a token no longer valid gets a 401."""

    def __init__(self, *, renewals_work: bool = True) -> None:
        self.current = 0
        self.valid: set[int] = set()  # the first token is already expired
        self.renewals = 0
        self._renewals_work = renewals_work
        self._lock = threading.Lock()

    def renew(self) -> None:
        with self._lock:
            self.renewals += 1
            self.current += 1
            if self._renewals_work:
                self.valid.add(self.current)

    def request(self, token: int) -> int:
        if token not in self.valid:
            content = [{"errorCode": "INVALID_SESSION_ID", "message": "Session expired"}]
            raise SalesforceExpiredSession("https://org.example.com/x", 401, "x", content)
        return token


def run_together(sessions: FakeSessions, caller: RetryingCaller) -> list[int | BaseException]:
    """THREADS calls that all read the (expired) token before any of them is answered."""
    everyone_has_a_token = threading.Barrier(THREADS)
    first_attempt = threading.local()

    def call() -> int:
        token = sessions.current
        if not getattr(first_attempt, "done", False):
            first_attempt.done = True
            everyone_has_a_token.wait(timeout=10)
        return sessions.request(token)

    def one() -> int | BaseException:
        try:
            return caller.call("collections.update", call)
        except AuthError as exc:
            return exc

    with ThreadPoolExecutor(THREADS) as pool:
        return list(pool.map(lambda _: one(), range(THREADS)))


def test_a_session_expired_under_several_threads_is_renewed_once() -> None:
    sessions = FakeSessions()
    caller = RetryingCaller(RetryPolicy(attempts=4, wait_scale=0), sessions.renew)

    results = run_together(sessions, caller)

    assert results == [1] * THREADS
    assert sessions.renewals == 1


def test_renewed_sessions_that_are_refused_end_every_call_with_an_auth_error() -> None:
    sessions = FakeSessions(renewals_work=False)
    caller = RetryingCaller(RetryPolicy(attempts=20, wait_scale=0), sessions.renew)

    results = run_together(sessions, caller)

    assert all(isinstance(r, AuthError) for r in results)
    # Each call renews at most once, and only a session nobody else renewed since.
    assert 1 <= sessions.renewals <= THREADS


def test_a_call_that_began_before_another_threads_renewal_retries_without_renewing() -> None:
    sessions = FakeSessions()
    caller = RetryingCaller(RetryPolicy(attempts=4, wait_scale=0), sessions.renew)
    tokens = iter([0, 1])  # sent with the old token, then with the one renewed meanwhile

    def call() -> int:
        token = next(tokens)
        if token == 0:
            caller.call("other thread", lambda: sessions.request(sessions.current))
        return sessions.request(token)

    assert caller.call("collections.update", call) == 1
    assert sessions.renewals == 1


def test_a_renewed_session_that_served_calls_before_it_expired_is_renewed_again() -> None:
    sessions = FakeSessions()
    caller = RetryingCaller(RetryPolicy(attempts=5, wait_scale=0), sessions.renew)
    attempts = iter(range(10))

    def call() -> int:
        if next(attempts) == 1:
            # Between this call's renewal and its retry, other threads use the new
            # session until the org ends it (an org may cap a session's life).
            assert caller.call("other thread", lambda: sessions.request(sessions.current)) == 1
            sessions.valid.discard(1)
        return sessions.request(sessions.current)

    assert caller.call("collections.update", call) == 2
    assert sessions.renewals == 2
