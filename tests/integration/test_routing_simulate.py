"""`sfsync routing simulate` against the emulator over HTTPS: split, chart, nothing written."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from sfsync.cli import app
from sfsync.emulator.seed import SeededOrg
from sfsync.emulator.server import Emulator
from sfsync.routing_state import RoutingDelta
from sfsync.store import Store
from sfsync.store.routing import RoutingStore
from tests.integration.conftest import MAPPINGS
from tests.integration.helpers import client_credentials

runner = CliRunner()
LEADS = 120


@pytest.fixture
def mappings(tmp_path: Path) -> Path:
    directory = tmp_path / "mappings"
    shutil.copytree(MAPPINGS, directory)
    return directory


@pytest.fixture
def cli_env(
    emulator: Emulator, mappings: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """Credentials for the emulator, the copied mappings, a store file that must stay unmade."""
    for name in list(os.environ):
        if name.startswith(("SF_", "SFSYNC_")):
            monkeypatch.delenv(name)
    store_url = f"sqlite:///{tmp_path}/state.db"
    monkeypatch.setenv("SFSYNC_DATABASE_URL", store_url)
    monkeypatch.setenv("SFSYNC_MAPPINGS", str(mappings))
    monkeypatch.setenv("SFSYNC_RETRY_WAIT_SCALE", "0")
    monkeypatch.setenv("SF_LOGIN_URL", emulator.login_url)
    client_credentials(emulator, monkeypatch)
    yield store_url


def _user(seeded: SeededOrg, user_id: str) -> dict[str, Any]:
    record = seeded.org.get("User", user_id)
    assert record is not None
    return record


def _reps(seeded: SeededOrg) -> list[dict[str, Any]]:
    """Three active sales reps (not the admin), in Id order."""
    users = [_user(seeded, i) for i in seeded.human_user_ids]
    return sorted((u for u in users if u["Department"] == "Sales"), key=lambda u: u["Id"])[:3]


def _write(mappings: Path, config: dict[str, Any]) -> None:
    (mappings / "routing.yaml").write_text(yaml.safe_dump(config, sort_keys=False), "utf-8")


def _team(seeded: SeededOrg, **member_extra: Any) -> dict[str, Any]:
    ann, bob, cat = _reps(seeded)
    gone = _user(seeded, seeded.inactive_user_ids[0])
    return {
        "intake": ["Lead Intake"],
        "default": {"queue": "Lead Intake"},
        "rules": [{"name": "Everyone", "assign": {"team": "sales"}}],
        "teams": {
            "sales": {
                "strategy": "weighted_round_robin",
                "members": [
                    {"user": ann["Username"], "weight": 3, **member_extra},
                    {"user": bob["Id"], "weight": 2},
                    {"user": cat["Username"], "weight": 1},
                    {"user": gone["Username"], "weight": 5},
                ],
            }
        },
    }


def _invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["--log-json", "routing", "simulate", *args])
    return result.exit_code, result.output


def _lead_owners(seeded: SeededOrg) -> dict[str, Any]:
    with seeded.org.lock:
        return {i: r["OwnerId"] for i, r in seeded.org.tables["Lead"].items()}


def test_the_weighted_split_of_recent_leads(
    seeded: SeededOrg, emulator: Emulator, cli_env: str, mappings: Path
) -> None:
    _write(mappings, _team(seeded))
    ann, bob, cat = _reps(seeded)
    owners_before = _lead_owners(seeded)

    code, output = _invoke("--leads", str(LEADS), "--now", "--json")

    assert code == 0, output
    result = json.loads(output)
    split = {o["owner_id"]: o["leads"] for o in result["owners"] if o["leads"]}
    assert split == {ann["Id"]: 60, bob["Id"]: 40, cat["Id"]: 20}
    assert result["leads"] == LEADS and result["by_rule"] == {"Everyone": LEADS}
    gone = seeded.inactive_user_ids[0]
    assert all(gone != o["owner_id"] for o in result["owners"])
    assert {o["owner_id"]: o["target"] for o in result["owners"]}[ann["Id"]] == 60.0
    # Nothing written: not the org, not the store.
    assert _lead_owners(seeded) == owners_before
    assert not seeded.org.writes_by(seeded.integration_user_id)
    assert not Path(cli_env.removeprefix("sqlite:///")).exists()


def test_the_table_and_bar_chart_name_people_and_skips(
    seeded: SeededOrg, emulator: Emulator, cli_env: str, mappings: Path
) -> None:
    # ann works Mon-Fri 09-17 in her own time zone: leads created outside go to the others.
    hours = {"days": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00", "end": "17:00"}
    ann = _reps(seeded)[0]
    _write(mappings, _team(seeded, hours=hours, time_zone=ann["TimeZoneSidKey"]))

    code, output = _invoke("--leads", str(LEADS))

    assert code == 0, output
    assert "Expected distribution per owner" in output
    assert ann["Name"] in output and "█" in output
    assert "out_of_hours:" in output and f"inactive: {LEADS}" in output
    assert f"Everyone {LEADS}" in output
    code, raw = _invoke("--leads", str(LEADS), "--json")
    result = json.loads(raw)
    assert sum(o["leads"] for o in result["owners"]) == LEADS
    skipped = {o["owner_id"]: o["skipped"] for o in result["owners"]}
    assert 0 < skipped[ann["Id"]]["out_of_hours"] < LEADS


def test_the_stored_state_is_the_starting_point_with_from_store(
    seeded: SeededOrg, emulator: Emulator, cli_env: str, mappings: Path
) -> None:
    config = _team(seeded)
    config["teams"]["sales"]["cap"] = 10
    _write(mappings, config)
    ann, bob, cat = _reps(seeded)
    store = Store(cli_env)
    try:
        RoutingStore(store.engine).apply(RoutingDelta(loads={ann["Id"]: 10, bob["Id"]: 4}))
    finally:
        store.close()

    code, raw = _invoke("--leads", "30", "--now", "--json", "--from-store")

    assert code == 0, raw
    split = {o["owner_id"]: o["leads"] for o in json.loads(raw)["owners"] if o["leads"]}
    # ann is at her cap; bob has room for 6, cat for 10; the rest go to the default queue.
    assert split == {bob["Id"]: 6, cat["Id"]: 10, seeded.queue_ids["Lead Intake"]: 14}


@pytest.mark.parametrize(
    ("change", "needle", "where"),
    [
        (lambda c: c.pop("default"), None, "default: Field required"),
        (lambda c: c["teams"]["sales"].update(strategy="random"), "strategy: random",
         "teams.sales.strategy: Input should be"),
        (lambda c: c["rules"][0]["assign"].update(team="emea"), "team: emea",
         "rules[0].assign.team: unknown team 'emea'"),
    ],
)  # fmt: skip
def test_a_bad_routing_file_exits_2_with_file_line_and_key(
    seeded: SeededOrg,
    emulator: Emulator,
    cli_env: str,
    mappings: Path,
    change: Any,
    needle: str | None,
    where: str,
) -> None:
    config = _team(seeded)
    change(config)
    _write(mappings, config)
    lines = (mappings / "routing.yaml").read_text("utf-8").splitlines()
    line = next((n for n, text in enumerate(lines, 1) if needle and needle in text), 1)

    code, output = _invoke("--leads", "5")

    assert code == 2, output
    assert f"{mappings / 'routing.yaml'}:{line}: {where}" in output.replace("\n", "")
