"""plan_requests(): updates cut into Collections requests, each naming the records it locks."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sfsync.jobs.write_plan import OTHER_OBJECTS, Request, lock_targets, plan_requests
from sfsync.store import OutboxRow, OutboxState

BASE = datetime(2024, 5, 1, tzinfo=UTC)
OWNER_A, OWNER_B, OWNER_C = "005000000000001AAA", "005000000000002AAA", "00G000000000003EAA"
ACCOUNT = "001000000000001AAA"


def row(lead: int, sobject: str = "Lead", **patch: Any) -> OutboxRow:
    prefix = {"Lead": "00Q", "Contact": "003", "Account": "001"}[sobject]
    return OutboxRow(
        id=lead,
        decision_id=lead,
        run_id="run",
        lead_id=f"{prefix}{lead:012d}AAA",
        sobject=sobject,
        patch={"Lead_Score__c": 10.0, **patch},
        patch_hash="h",
        rules_version="v",
        base_stamp=BASE,
        state=OutboxState.SENDING,
    )


def numbers(requests: list[Request]) -> list[list[int]]:
    return [[r.decision_id for r in request.rows] for request in requests]


def test_leads_without_lookups_are_cut_by_id_into_requests_that_lock_nothing_else() -> None:
    requests = plan_requests([row(n) for n in (5, 1, 4, 2, 3)], size=2)
    assert numbers(requests) == [[1, 2], [3, 4], [5]]
    assert all(request.targets == frozenset() for request in requests)


def test_leads_going_to_one_owner_travel_together_and_name_their_owners() -> None:
    rows = [row(1, OwnerId=OWNER_B), row(2, OwnerId=OWNER_A), row(3, OwnerId=OWNER_B)]
    rows += [row(4, OwnerId=OWNER_A), row(5, OwnerId=OWNER_C), row(6)]
    requests = plan_requests(rows, size=2)
    # Sorted: no owner (6), A (2, 4), B (1, 3), C (5); requests stay full.
    assert numbers(requests) == [[6, 2], [4, 1], [3, 5]]
    assert [r.targets for r in requests] == [{OWNER_A}, {OWNER_A, OWNER_B}, {OWNER_B, OWNER_C}]


def test_writes_to_other_objects_share_one_target_and_never_mix_objects() -> None:
    rows = [row(3, "Contact"), row(1), row(2, "Account"), row(1, "Contact"), row(2)]
    requests = plan_requests(rows, size=1)
    assert numbers(requests) == [[1], [2], [2], [1], [3]]
    objects = [r.rows[0].sobject for r in requests]
    assert objects == ["Lead", "Lead", "Account", "Contact", "Contact"]
    assert [r.targets for r in requests[2:]] == [{OTHER_OBJECTS}] * 3


def test_no_rows_no_requests() -> None:
    assert plan_requests([]) == []


@pytest.mark.parametrize(
    ("patch", "targets"),
    [
        ({"OwnerId": OWNER_A}, {OWNER_A}),
        ({"OwnerId": OWNER_A[:15]}, {OWNER_A[:15]}),
        ({"AccountId": ACCOUNT, "Partner__c": OWNER_C}, {ACCOUNT, OWNER_C}),
        ({"Industry": "Pharmaceuticals"}, set()),  # 15 letters, but not a lookup
        ({"OwnerId": None}, set()),
        ({"OwnerId": "not an id"}, set()),
        ({"OwnerId": 5}, set()),
        ({"Rating": "Hot"}, set()),
    ],
)
def test_lock_targets_are_ids_set_through_lookup_fields(
    patch: dict[str, Any], targets: set[str]
) -> None:
    assert lock_targets(row(1, **patch)) == targets


OWNERS = st.sampled_from([OWNER_A, OWNER_B, OWNER_C, None])


@given(owners=st.lists(OWNERS, max_size=40), size=st.integers(1, 7))
def test_every_row_in_exactly_one_full_request_that_names_its_targets(
    owners: list[str | None], size: int
) -> None:
    rows = [row(n, **({"OwnerId": o} if o else {})) for n, o in enumerate(owners)]
    requests = plan_requests(rows, size=size)

    assert sorted(r.decision_id for q in requests for r in q.rows) == list(range(len(rows)))
    assert all(len(q.rows) == size for q in requests[:-1])  # no API call spent on grouping
    for request in requests:
        assert request.targets == {t for r in request.rows for t in lock_targets(r)}
