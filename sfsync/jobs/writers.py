"""Writer threads: claimed updates sent a few Collections requests at a time.

A batch is cut into requests (`write_plan.py`), each carrying the records it
locks. `width` threads take requests in order, skipping any whose lock
targets a request in flight already holds, so at most `width` requests are
in flight and never two that would wait on the same lock. Submitting returns
at once: the flush records the previous batch while this one is sent.

The threads only talk to the org, through the shared `SalesforceClient` (its
session, usage meter and retry layer are safe to share); the store is used by
the flush's own thread alone.
"""

from __future__ import annotations

import contextvars
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass

from sfsync.connectors.salesforce import SalesforceClient
from sfsync.jobs.write_plan import Request, plan_requests
from sfsync.models import WriteResult
from sfsync.store import OutboxRow

Send = Callable[[list[OutboxRow]], list[WriteResult]]


@dataclass
class InFlight:
    """A submitted batch: its rows and one future per request."""

    rows: list[OutboxRow]
    requests: list[Future[list[WriteResult]]]


@dataclass
class _Job:
    request: Request
    future: Future[list[WriteResult]]
    context: contextvars.Context  # the submitter's (run_id for the log lines)
    batch: list[Future[list[WriteResult]]]  # its batch's requests, dropped if one fails


class Writers:
    """A bounded set of writer threads for one flush."""

    def __init__(self, send: Send, width: int) -> None:
        self._send = send
        self._ready = threading.Condition()
        self._queue: list[_Job] = []
        self._held: Counter[str] = Counter()  # lock targets of the requests in flight
        self._closing = False
        self._threads = [
            threading.Thread(target=self._work, name=f"sfsync-write-{n}", daemon=True)
            for n in range(width)
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, rows: list[OutboxRow]) -> InFlight:
        """Queue `rows` (already marked `sending`) for sending; returns at once."""
        batch: list[Future[list[WriteResult]]] = []
        jobs = [_Job(r, Future(), contextvars.copy_context(), batch) for r in plan_requests(rows)]
        batch += [job.future for job in jobs]
        with self._ready:
            self._queue.extend(jobs)
            self._ready.notify_all()
        return InFlight(rows, batch)

    def collect(
        self, batch: InFlight, *, abandon: bool = False
    ) -> tuple[list[WriteResult], BaseException | None]:
        """Wait for the batch: the results that came back, and the first failure.

        After a failure (or with `abandon`), requests not sent yet are dropped
        (a writer thread drops them as soon as it sees the failure):
        their rows stay `sending` and the next cycle settles them against the org.
        """
        results: list[WriteResult] = []
        error: BaseException | None = None
        if abandon:
            _cancel(batch)
        for request in batch.requests:
            outcome = _outcome(request)
            if isinstance(outcome, BaseException):
                error = error or outcome
                _cancel(batch)
            else:
                results.extend(outcome)
        return results, error

    def close(self) -> None:
        """Drop queued requests, wait for those in flight (their rows are `sending`)."""
        with self._ready:
            self._closing = True
            for job in self._queue:
                job.future.cancel()
            self._queue.clear()
            self._ready.notify_all()
        for thread in self._threads:
            thread.join()

    # -- the writer threads -------------------------------------------------------

    def _work(self) -> None:
        while (job := self._next()) is not None:
            try:
                if job.future.set_running_or_notify_cancel():
                    self._run(job)
            finally:
                self._release(job)

    def _run(self, job: _Job) -> None:
        try:
            result = job.context.run(self._send, job.request.rows)
        except BaseException as exc:
            # The batch fails as a whole: what has not gone out yet stays home.
            for other in job.batch:
                other.cancel()
            job.future.set_exception(exc)
        else:
            job.future.set_result(result)

    def _next(self) -> _Job | None:
        """The first queued request whose targets are free (taking them); None when closing."""
        with self._ready:
            while True:
                for index, job in enumerate(self._queue):
                    if job.future.cancelled() or self._free(job.request):
                        del self._queue[index]
                        self._held.update(job.request.targets)
                        return job
                if self._closing:
                    return None
                self._ready.wait()

    def _free(self, request: Request) -> bool:
        return not any(self._held[target] for target in request.targets)

    def _release(self, job: _Job) -> None:
        with self._ready:
            self._held.subtract(job.request.targets)
            self._ready.notify_all()


@contextmanager
def writers_for(client: SalesforceClient, width: int) -> Iterator[Writers | None]:
    """Writer threads for a flush; None when one request at a time (the caller's thread)."""
    if width <= 1:
        yield None
        return
    writers = Writers(lambda rows: send_updates(client, rows), width)
    try:
        yield writers
    finally:
        writers.close()


def send_updates(client: SalesforceClient, rows: list[OutboxRow]) -> list[WriteResult]:
    """Update rows of any objects, one object after another, 200 records a request."""
    results: list[WriteResult] = []
    for sobject in sorted({row.sobject for row in rows}):
        batch = [(row.lead_id, row.patch) for row in rows if row.sobject == sobject]
        results.extend(client.update(sobject, batch))
    return results


def _cancel(batch: InFlight) -> None:
    for request in batch.requests:
        request.cancel()


def _outcome(request: Future[list[WriteResult]]) -> list[WriteResult] | BaseException:
    if request.cancelled():
        return []
    try:
        return request.result()
    except BaseException as exc:
        return exc
