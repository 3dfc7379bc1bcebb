"""The status page and the report: every value escaped, analytics right, gaps named."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sfsync.cli_service import app
from sfsync.models import WriteOutcome
from sfsync.service import charts
from sfsync.service.analytics import analyse, band, conversion
from sfsync.service.page import collect, status_page
from sfsync.service.reads import LeadFacts, lead_facts
from sfsync.store import Store
from tests.service.conftest import HOSTILE, decide, finish, lead_id, record, send_all

NOW = datetime(2024, 5, 2, tzinfo=UTC)


def page(store: Store) -> str:
    return status_page(collect(store, timedelta(minutes=15), NOW))


def test_hostile_values_are_escaped_everywhere(store: Store):
    finish(store, "r1", "failed", error=HOSTILE)
    record(store, decide(1, 40.0, rating=HOSTILE))
    send_all(store, WriteOutcome.REJECTED, error_code=HOSTILE, message=HOSTILE, fields=(HOSTILE,))
    html = page(store)
    assert "<script" not in html and "alert('x')" not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;&amp;&quot;quoted&quot;" in html
    assert html.count("&lt;script&gt;") >= 5  # run error, rating, code, message, fields


def test_the_page_names_what_the_store_does_not_record(populated: Store):
    html = page(populated)
    assert "the store does not record lead owners yet" in html
    assert "time from creation to assignment needs" not in html
    assert "no routed leads yet in the last 30 days" in html


def test_page_shows_dead_letters_and_cycles(populated: Store):
    html = page(populated)
    assert html.count("FIELD_CUSTOM_VALIDATION_EXCEPTION") >= 2
    assert "the org could not be reached" in html
    assert "1,400 of 15,000" in html


def test_empty_store_renders(store: Store):
    html = page(store)
    assert "never_ran" in html and "no data yet" in html


def test_lead_facts_take_the_latest_scored_decision(store_url: str):
    opened = Store(store_url)
    try:
        record(opened, decide(1, 20.0), decide(2, 90.0, owner="005A", source="Web"))
        record(opened, decide(1, 30.0, NOW))
        record(opened, decide(2, None, NOW, skipped="converted"), is_converted=True)
        facts = {f.lead_id: f for f in lead_facts(opened)}
    finally:
        opened.close()
    assert facts[lead_id(1)].score == 30.0 and not facts[lead_id(1)].converted
    assert facts[lead_id(2)] == LeadFacts(
        lead_id(2), 90.0, "Hot", converted=True, deleted=False, owner="005A", source="Web"
    )


@pytest.mark.parametrize(
    ("score", "label"),
    [
        (None, None),
        (0, "0-9"),
        (9.99, "0-9"),
        (10, "10-19"),
        (89, "80-89"),
        (90, "90+"),
        (100, "90+"),
        (-3, "0-9"),
    ],
)
def test_bands(score: float | None, label: str | None):
    assert band(score) == label


def facts(*rows: tuple[float | None, bool, str | None]) -> list[LeadFacts]:
    return [
        LeadFacts(f"L{i}", score, None, converted, False, owner="005A", source=source)
        for i, (score, converted, source) in enumerate(rows)
    ]


def test_conversion_by_band_and_source():
    data = facts((15, True, "Web"), (12, False, "Web"), (95, True, None), (None, False, "Phone"))
    by_band = {
        r.group: (r.leads, r.converted, r.rate) for r in conversion(data, lambda f: band(f.score))
    }
    assert by_band == {"10-19": (2, 1, 0.5), "90+": (1, 1, 1.0)}
    by_source = {r.group: r.rate for r in conversion(data, lambda f: f.source)}
    assert by_source == {"Phone": 0.0, "Web": 0.5}


def test_analytics_with_owners_has_no_owner_gap():
    result = analyse(facts((15, True, "Web"), (40, False, "Web")))
    assert result.per_owner == [("005A", 2)] and result.load_per_rep == [("005A", 1)]
    assert not any("OwnerId" in gap for gap in result.missing)
    assert result.by_stage == [("open", 1), ("converted", 1), ("deleted", 0)]


def test_charts_escape_labels_and_draw_nothing_for_no_data():
    svg = charts.bars("<b>", [("<i>", 3.0)])
    assert "<b>" not in svg and "<i>" not in svg and "&lt;i&gt;" in svg
    assert "no data yet" in charts.bars("t", [("a", 0.0)])
    assert "no data yet" in charts.columns("t", [], {"a": []})
    assert re.search(r"<polyline points=\"[0-9., ]+\"", charts.line("t", ["a", "b"], [1, 2], 5))


def test_report_command_writes_the_analytics(tmp_path: Path, populated: Store):
    out = tmp_path / "report.html"
    result = CliRunner().invoke(
        app,
        ["report", "--out", str(out)],
        env={"SFSYNC_DATABASE_URL": f"sqlite:///{tmp_path}/s.db"},
    )
    assert result.exit_code == 0, result.output
    assert "32 leads" in result.output
    html = out.read_text()
    for part in ("Lead analytics (32 leads)", "Leads by stage", "Conversion rate by score band"):
        assert part in html
    assert "Dead letters" not in html  # the report is the analytics alone


def test_report_command_on_a_missing_store_exits_1(tmp_path: Path):
    result = CliRunner().invoke(
        app,
        ["report", "--out", str(tmp_path / "r.html")],
        env={"SFSYNC_DATABASE_URL": f"sqlite:///{tmp_path}/none.db"},
    )
    assert result.exit_code == 1 and not (tmp_path / "r.html").exists()
