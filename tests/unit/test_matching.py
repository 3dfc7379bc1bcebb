"""Rules over field comparisons: the equation, blank fields, swapped names, confidence, config."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from sfsync.errors import ConfigError
from sfsync.jobs.match_setup import MATCHING_FILE, load_matcher
from sfsync.rules.matching import Record, best_matches, match_pair, prepare
from sfsync.rules.matching_config import MatchingConfig, MatchRule

MAPPINGS = Path(__file__).resolve().parents[2] / "mappings"
DEFAULT = load_matcher(MAPPINGS)
DATA = DEFAULT.data


def rule(equation: str | None = None, **extra: Any) -> MatchRule:
    """First name, last name, e-mail and phone, numbered 1 to 4."""
    comparisons = [
        {"field": "FirstName", "method": "fuzzy_first_name", **extra.pop("first", {})},
        {"field": "LastName", "method": "fuzzy_last_name"},
        {"field": "Email", "method": "email"},
        {"field": "Phone", "method": "fuzzy_phone"},
    ]
    return MatchRule.model_validate(
        {
            "name": "r",
            "objects": ["Lead"],
            "comparisons": comparisons,
            "equation": equation,
            **extra,
        }
    )


def config_of(*rules: MatchRule) -> MatchingConfig:
    return MatchingConfig(rules=rules)


def pair(a: dict[str, Any], b: dict[str, Any], r: MatchRule) -> Any:
    config = config_of(r)
    lead = prepare(Record("00Q1", "Lead", a), config, DATA)
    other = prepare(Record("00Q2", "Lead", b), config, DATA)
    return match_pair(lead, other, r, DATA)


JOHN = {"FirstName": "John", "LastName": "Smith", "Email": "john@acme.com",
        "Phone": "+1 415 555 0134"}  # fmt: skip
EQUATION = "(1 AND 2 AND 3) OR (1 AND 2 AND 4)"


@pytest.mark.parametrize(
    ("other", "matches"),
    [
        (JOHN, True),
        ({**JOHN, "Phone": None}, True),  # 1 AND 2 AND 3
        ({**JOHN, "Email": "john@other.com"}, True),  # 1 AND 2 AND 4
        ({**JOHN, "Email": "x@y.com", "Phone": "+1 212 555 0134"}, False),  # neither 3 nor 4
        ({**JOHN, "FirstName": "Peter"}, False),  # 1 fails: no branch holds
        ({**JOHN, "LastName": "Jones"}, False),
        ({**JOHN, "FirstName": "Johnny", "Email": "JOHN@ACME.COM"}, True),  # nickname, case
    ],
)
def test_the_equation_decides(other: dict[str, Any], matches: bool) -> None:
    assert (pair(JOHN, other, rule(EQUATION)) is not None) is matches


def test_without_an_equation_every_comparison_must_match() -> None:
    assert pair(JOHN, JOHN, rule()) is not None
    assert pair(JOHN, {**JOHN, "Phone": "+1 212 555 0000"}, rule()) is None


def test_a_match_carries_its_comparisons_and_a_confidence_from_the_weakest_in_its_branch() -> None:
    other = {**JOHN, "LastName": "Smyth", "Phone": "+1 415 555 9999"}
    found = pair({**JOHN, "FirstName": "Jonh"}, other, rule(EQUATION))
    assert found is not None
    by_field = {c.field: c for c in found.comparisons}
    first = by_field["FirstName"]
    assert first.algorithm == "jaro-winkler" and first.matched and 85 <= first.score < 100
    assert by_field["LastName"].algorithm == "metaphone"
    assert by_field["Phone"].score == 90.0  # same area and exchange: a match at 80
    # (1 AND 2 AND 3) is as strong as its weakest comparison, the first name; the phone
    # branch is weaker still (0.9 at most), so the first name decides.
    assert found.confidence == round(first.score / 100, 4)
    assert found.as_dict()["comparisons"][0]["field"] == "FirstName"


def test_confidence_takes_the_strongest_branch() -> None:
    # Branch 1 (names + e-mail) scores 1.0; branch 2 (names + phone at 90) only 0.9.
    other = {**JOHN, "Phone": "+1 415 555 9999"}
    found = pair(JOHN, other, rule(EQUATION))
    assert found is not None and found.confidence == 1.0
    without_email = pair(JOHN, {**other, "Email": None}, rule(EQUATION))
    assert without_email is not None and without_email.confidence == 0.9


@pytest.mark.parametrize(
    ("first_a", "first_b", "options", "matches", "blank"),
    [
        (None, None, {}, False, "both"),  # Salesforce's default: blank fields do not match
        (None, None, {"match_blank_fields": True}, True, "both"),
        (None, "John", {"match_blank_fields": True}, False, "one"),  # one blank never matches
        ("", "  ", {"match_blank_fields": True}, True, "both"),  # whitespace is blank
        (None, None, {"ignore_blank_when_matched": ["Email"]}, True, "both"),
        (None, "John", {"ignore_blank_when_matched": ["Email"]}, True, "one"),
    ],
)
def test_blank_fields(
    first_a: str | None, first_b: str | None, options: dict[str, Any], matches: bool, blank: str
) -> None:
    r = rule("1 AND 2 AND 3", first=options)
    found = pair({**JOHN, "FirstName": first_a}, {**JOHN, "FirstName": first_b}, r)
    assert (found is not None) is matches
    if found is not None:
        assert found.comparisons[0].blank == blank


def test_a_blank_ignored_for_its_email_still_needs_the_email_to_match() -> None:
    r = rule("1 AND 2 AND 3", first={"ignore_blank_when_matched": ["Email"]})
    a, b = {**JOHN, "FirstName": None}, {**JOHN, "FirstName": None, "Email": "x@y.com"}
    assert pair(a, b, r) is None


@pytest.mark.parametrize("transpose", [True, False])
def test_swapped_first_and_last_names(transpose: bool) -> None:
    swapped = {**JOHN, "FirstName": "Smith", "LastName": "John"}
    found = pair(JOHN, swapped, rule(EQUATION, transpose_names=transpose))
    assert (found is not None) is transpose
    if found is not None:
        assert found.transposed
        assert [c.matched for c in found.comparisons[:3]] == [True, True, True]


def test_names_are_not_transposed_when_they_match_as_they_are() -> None:
    found = pair(JOHN, JOHN, rule(EQUATION, transpose_names=True))
    assert found is not None and not found.transposed


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ({"FirstName": "José", "LastName": "Müller"}, {"FirstName": "JOSE", "LastName": "MULLER"}),
        ({"FirstName": "Zoë", "LastName": "Løvås"}, {"FirstName": "Zoe", "LastName": "Lovas"}),
        ({"FirstName": "伟", "LastName": "王"}, {"FirstName": "伟", "LastName": "王"}),
        ({"FirstName": "محمد", "LastName": "حداد"}, {"FirstName": "محمد", "LastName": "حداد"}),
        ({"FirstName": "Ａｎｎａ", "LastName": "Ｓｍｉｔｈ"},
         {"FirstName": "Anna", "LastName": "Smith"}),
        ({"FirstName": "Anne-Marie", "LastName": "O'Neil"},
         {"FirstName": "Anne Marie", "LastName": "ONeil"}),
    ],
)  # fmt: skip
def test_unicode_names_match_their_plain_spellings(a: dict[str, Any], b: dict[str, Any]) -> None:
    email = {"Email": "same@example.org"}
    assert pair({**a, **email}, {**b, **email}, rule("1 AND 2 AND 3")) is not None


def test_different_unicode_names_do_not_match() -> None:
    a = {"FirstName": "伟", "LastName": "王", "Email": "x@example.org"}
    assert pair(a, {**a, "LastName": "李"}, rule("1 AND 2 AND 3")) is None


def test_best_matches_keeps_the_most_confident_rule_per_record_and_skips_the_lead_itself() -> None:
    strict, loose = rule("1 AND 2 AND 3"), rule("1 AND 2")
    loose = loose.model_copy(update={"name": "loose"})
    config = config_of(strict, loose)
    lead = prepare(Record("00Q1", "Lead", JOHN), config, DATA)
    others = [prepare(Record(i, "Lead", JOHN), config, DATA) for i in ("00Q1", "00Q2")]
    (found,) = best_matches(lead, others, config, DATA)
    assert found.record_id == "00Q2" and found.confidence == 1.0


# -- the default file -------------------------------------------------------------------------


def test_the_default_rules_reproduce_salesforces_standard_equation() -> None:
    standard = DEFAULT.config.rules_for("Contact")[0]
    assert standard.name == "standard_person"
    fields = [c.field for c in standard.comparisons]
    assert fields[:9] == ["FirstName", "LastName", "Email", "Phone", "Company", "Street", "City",
                          "PostalCode", "Title"]  # fmt: skip
    thresholds = [c.cutoff for c in standard.comparisons]
    assert thresholds == [85, 90, 100, 80, 70, 80, 85, 80, 50]
    assert " ".join((standard.equation or "").split()) == (
        "(1 AND 2 AND 3) OR (1 AND 2 AND 4 AND 5) OR (1 AND 2 AND 6 AND (7 OR 8 OR 4)) "
        "OR (1 AND 2 AND 6 AND 9) OR (1 AND 2 AND 9 AND 3) OR (1 AND 2 AND 4)"
    )
    assert not any(c.match_blank_fields for c in standard.comparisons)
    assert [r.name for r in DEFAULT.config.rules_for("Account")] == ["lead_to_account"]


# -- configuration errors ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"equation": "1 AND 5"}, "equation names comparison(s) [5]; there are 4"),
        ({"equation": "1 AND 2 OR 3"}, "mixes AND and OR"),
        ({"equation": "1 AND NOT 2"}, "no NOT"),
        ({"equation": "1 AND (2"}, "ends too early"),
        ({"objects": ["Opportunity"]}, "not among"),
        ({"comparisons": [{"field": "Fax", "method": "exact"}]}, "is not one matching reads"),
        ({"comparisons": [{"field": "City", "method": "soundex"}]}, "is not one of"),
        ({"comparisons": [{"field": "City", "method": "exact", "threshold": 101}]}, "less than"),
        ({"equation": None, "comparisons": [{"field": "City", "method": "exact",
          "ignore_blank_when_matched": ["Email"]}]}, "does not compare"),
        ({"comparisons": []}, "at least 1"),
    ],
)  # fmt: skip
def test_bad_rules_are_refused(change: dict[str, Any], message: str) -> None:
    base = rule(EQUATION).model_dump()
    with pytest.raises(ValidationError, match=message.replace("(", r"\(").replace(")", r"\)")
                       .replace("[", r"\[").replace("]", r"\]")):  # fmt: skip
        MatchRule.model_validate({**base, **change})


def test_rule_names_are_unique() -> None:
    with pytest.raises(ValidationError, match="used twice"):
        config_of(rule(), rule())


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / MATCHING_FILE).write_text(text, encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("rules: [", "matching.yaml:1: invalid YAML"),
        ("rules:\n  - name: x\n    objects: [Lead]\n    comparisons:\n"
         "      - {field: City, method: nope}\n",
         "matching.yaml:5: rules[0].comparisons[0].method"),
        ("match_keys: [email, fax]\nrules: []\n", "matching.yaml:1: match_keys[1]"),
        ("default_country: usa\nrules: []\n", "matching.yaml:1: default_country"),
        ("colour: blue\n", "matching.yaml:1: colour: Extra inputs are not permitted"),
        ("", "matching.yaml:1: file is empty"),
    ],
)  # fmt: skip
def test_a_bad_matching_file_is_a_config_error_with_file_line_and_key(
    tmp_path: Path, text: str, expected: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_matcher(write(tmp_path, text))
    assert expected in str(caught.value)
    assert caught.value.exit_code == 2


def test_a_missing_matching_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_matcher(tmp_path)


def test_name_variants_from_the_file_join_the_nickname_table(tmp_path: Path) -> None:
    text = (MAPPINGS / MATCHING_FILE).read_text(encoding="utf-8")
    matcher = load_matcher(write(tmp_path, text + "\n" if text.endswith("\n") else text))
    assert "hans" in matcher.data.name_variants["johannes"]
    assert "robert" in matcher.data.name_variants["bob"]
