"""What the worker reads of the org once per process: one Composite call, errors as direct calls."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import timedelta

import pytest

from sfsync.emulator.org import Org
from sfsync.emulator.schema import OrgSchema
from sfsync.emulator.seed import SeededOrg
from sfsync.emulator.server import Emulator
from sfsync.errors import SfsyncError
from sfsync.jobs.routing_org import USERS
from sfsync.rules.routing_facts import OrgUser
from tests.integration.conftest import Worker
from tests.integration.helpers import calls_since


def test_describes_facts_users_and_queues_are_one_composite_call(
    emulator: Emulator, make_worker: Callable[..., Worker]
) -> None:
    worker = make_worker()
    start = len(emulator.calls.entries())
    worker.job.prepare()

    calls = calls_since(emulator, start)
    assert [(c.method, c.path.rsplit("/", 1)[-1]) for c in calls] == [("POST", "composite")]
    org = worker.job.rules.routing_org
    assert org is not None and org.users and org.queues  # routing's facts came with the rest

    worker.job.run_once()
    calls = calls_since(emulator, start)
    assert not any(c.path.endswith("/describe") for c in calls)


def test_routing_reads_the_org_again_once_per_sweep_period(
    seeded: SeededOrg, emulator: Emulator, make_worker: Callable[..., Worker]
) -> None:
    worker = make_worker()
    job = worker.job
    job.run_once()
    org = job.rules.routing_org
    assert org is not None
    leaver = next(u for u in org.users if u.active and u.id != org.integration_user_id)
    _deactivate(seeded.org, leaver.id)
    now = job.clock()

    job.clock = lambda: now + timedelta(minutes=5)
    job.run_once()
    assert _user(worker, leaver.id).active  # read at start, trusted within the period

    job.clock = lambda: now + job.sweep_period
    job.run_once()
    assert not _user(worker, leaver.id).active


def test_a_missing_object_fails_as_its_own_describe_would(
    seeded: SeededOrg, emulator: Emulator, make_worker: Callable[..., Worker]
) -> None:
    objects = {k: v for k, v in seeded.org.schema.objects.items() if k != "Contact"}
    seeded.org.schema = OrgSchema(objects=objects)
    worker = make_worker()
    direct = _error(lambda: worker.client.describe("Contact"))

    failed = _error(worker.job.prepare)

    assert (type(failed), str(failed)) == (type(direct), str(direct))
    assert "HTTP 404 NOT_FOUND" in str(failed) and "Contact" in str(failed)


def test_a_missing_field_fails_as_its_own_query_would(
    seeded: SeededOrg, emulator: Emulator, make_worker: Callable[..., Worker]
) -> None:
    user = seeded.org.schema.objects["User"]
    fields = {name: f for name, f in user.fields.items() if name != "Username"}
    objects = {**seeded.org.schema.objects, "User": dataclasses.replace(user, fields=fields)}
    seeded.org.schema = OrgSchema(objects=objects)
    worker = make_worker()
    direct = _error(lambda: worker.client.query(USERS, include_deleted=True))

    failed = _error(worker.job.prepare)

    assert (type(failed), str(failed)) == (type(direct), str(direct))
    assert failed.exit_code == 2 and "INVALID_FIELD" in str(failed)


def _error(action: Callable[[], object]) -> SfsyncError:
    with pytest.raises(SfsyncError) as raised:
        action()
    return raised.value


def _deactivate(org: Org, user_id: str) -> None:
    table = org.tables["User"]
    key = next(k for k in table if k[:15] == user_id[:15])
    table[key] = {**table[key], "IsActive": False}


def _user(worker: Worker, user_id: str) -> OrgUser:
    org = worker.job.rules.routing_org
    assert org is not None
    found = org.user(user_id)
    assert found is not None
    return found
