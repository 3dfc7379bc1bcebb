"""The predictive score: features from odd values, applying a hand-made model, model files."""

from __future__ import annotations

import json
import math
import os
import stat
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from sfsync.emulator.seed_words import JOB_SEEKER_TITLES, TITLES, seniority
from sfsync.errors import ConfigError
from sfsync.model_file import MAX_MODEL_BYTES, check_writable, load_model, save_model
from sfsync.models import Contribution
from sfsync.rules.predict import (
    Factor,
    LeadModel,
    PredictiveConfig,
    dump_model,
    global_factors,
    parse_model,
    predict,
    predicted_contribution,
    sigmoid,
    top_factors,
)
from sfsync.rules.predict_features import (
    BLANK,
    DEFAULT_SENIORITY,
    OTHER,
    BandFeature,
    CategoryFeature,
    EmailFeature,
    TitleLevelFeature,
    as_number,
)

SOURCE = CategoryFeature(
    name="Lead source", field="LeadSource", values=("Web", "Employee Referral", "Purchased List")
)
COUNTRY = CategoryFeature(
    name="Country",
    field="Country",
    values=("Germany", "United States"),
    aliases={"deutschland": "Germany", "de": "Germany", "usa": "United States"},
)
EMPLOYEES = BandFeature(name="Employees", field="NumberOfEmployees", edges=(10, 50, 250, 1000))
REVENUE = BandFeature(name="Revenue", field="AnnualRevenue", edges=(1e6, 1e7, 1e9))
SENIORITY = TitleLevelFeature(name="Seniority", field="Title", table=DEFAULT_SENIORITY)
EMAIL = EmailFeature(name="E-mail", field="Email", free_mail=("gmail.com", "yahoo.co.uk"))


@pytest.mark.parametrize(
    ("value", "level"),
    [
        ("Web", "Web"),
        ("web", "Web"),
        ("  WEB  ", "Web"),
        ("Wéb", "Web"),  # accents fold
        ("employee   referral", "Employee Referral"),
        ("Employee-Referral", "Employee Referral"),  # punctuation folds to a space
        ("\x00Web\u202e", "Web"),  # NUL and bidi override dropped
        ("Ｗｅｂ", "Web"),  # full-width letters normalise
        ("Trade Show", OTHER),
        ("🚀", OTHER),
        ("Web" * 40_000, OTHER),  # 120 KB: cut, and no category
        (42, OTHER),
        (None, BLANK),
        ("", BLANK),
        ("   \t\n", BLANK),
        ("\u200b", BLANK),  # only a zero-width space
        (True, BLANK),
    ],
)
def test_category_levels(value: Any, level: str) -> None:
    assert SOURCE.level({"LeadSource": value}) == level


@pytest.mark.parametrize(
    ("value", "level"),
    [
        ("Germany", "Germany"),
        ("Deutschland", "Germany"),
        ("DE", "Germany"),
        ("U.S.A.", "United States"),  # dots dropped: "usa"
        ("France", OTHER),
        (None, BLANK),
    ],
)
def test_category_aliases(value: Any, level: str) -> None:
    assert COUNTRY.level({"Country": value}) == level


def test_missing_field_is_blank() -> None:
    assert SOURCE.level({}) == BLANK
    assert EMPLOYEES.level({"Other": 5}) == BLANK


@pytest.mark.parametrize(
    ("value", "level"),
    [
        (0, "<10"),
        (9.99, "<10"),
        (10, "10-50"),
        (49, "10-50"),
        (250, "250-1k"),
        (1000, "1k+"),
        (10**30, "1k+"),
        ("1,200", "1k+"),
        (" 45 ", "10-50"),
        ("１２", "10-50"),  # full-width digits
        ("1e3", "1k+"),
        (None, BLANK),
        ("", BLANK),
        ("many", BLANK),
        (True, BLANK),
        (-5, BLANK),
        (float("nan"), BLANK),
        (float("inf"), BLANK),
        ("9" * 500, BLANK),  # too long to be a count (cutting it would change it)
        ([250], BLANK),
    ],
)
def test_band_levels(value: Any, level: str) -> None:
    assert EMPLOYEES.level({"NumberOfEmployees": value}) == level


def test_band_labels_are_compact() -> None:
    assert REVENUE.levels() == ("<1M", "1M-10M", "10M-1B", "1B+", BLANK)
    assert as_number("1_000") == 1000.0


@pytest.mark.parametrize("edges", [(), (10, 10), (50, 10)])
def test_bad_band_edges(edges: tuple[float, ...]) -> None:
    with pytest.raises(ValidationError):
        BandFeature(name="x", field="NumberOfEmployees", edges=edges)


@pytest.mark.parametrize(
    ("title", "level"),
    [
        ("VP Sales", "VP"),
        ("Vice President, Engineering", "VP"),
        ("Co-Founder & CEO", "C-level"),
        ("Geschäftsführer", "C-level"),
        ("Président-directeur général", "C-level"),
        ("Director of IT", "Director"),
        ("Office Manager", "Manager"),
        ("Software Engineer", "Individual"),
        ("Student", "Junior"),
        ("Marketing Intern", "Junior"),
        ("Werkstudent", "Junior"),
        ("Open to work", "Job seeker"),
        ("\x00CEO\u202e", "C-level"),
        ("مدير المبيعات", "Individual"),
        ("😀", BLANK),  # nothing left once symbols are folded away
        ("", BLANK),
        (None, BLANK),
        ("ceo" * 40_000, "Individual"),
    ],
)
def test_title_levels(title: Any, level: str) -> None:
    assert SENIORITY.level({"Title": title}) == level


def test_seniority_agrees_with_the_seeded_history() -> None:
    """The default table puts every seeded title where the emulator's known model does."""
    names = {"c_level": "C-level", "vp": "VP", "director": "Director", "manager": "Manager",
             "individual": "Individual", "junior": "Junior"}  # fmt: skip
    for title, _weight in TITLES:
        assert SENIORITY.level({"Title": title}) == names[seniority(title)], title
    for title in JOB_SEEKER_TITLES:
        assert SENIORITY.level({"Title": title}) == "Job seeker", title


@pytest.mark.parametrize(
    ("email", "level"),
    [
        ("ann@gmail.com", "free-mail"),
        ("Ann.Lee@GMAIL.COM", "free-mail"),
        ("ann@mail.yahoo.co.uk", "free-mail"),  # a subdomain of a listed host
        ("ann@acme.com", "corporate"),
        ("Ann Lee <ann@acme.de>", "corporate"),
        ("ann@bücher.de", "corporate"),  # internationalised domain
        ("not an address", "invalid"),
        ("ann@@acme.com", "invalid"),
        ("a" * 5000 + "@acme.com", "invalid"),
        ("", BLANK),
        (None, BLANK),
    ],
)
def test_email_levels(email: Any, level: str) -> None:
    assert EMAIL.level({"Email": email}) == level


def test_category_values_must_differ_once_folded() -> None:
    with pytest.raises(ValidationError, match="repeat"):
        CategoryFeature(name="x", field="Industry", values=("Tech", "TECH"))
    with pytest.raises(ValidationError, match="reserved"):
        CategoryFeature(name="x", field="Industry", values=(BLANK,))
    with pytest.raises(ValidationError, match="unknown values"):
        CategoryFeature(name="x", field="Country", values=("Germany",), aliases={"fr": "France"})


# -- a small hand-made model ---------------------------------------------------------

WEIGHTS = {
    "Lead source": {"Employee Referral": 0.9, "Purchased List": -0.8, "Web": 0.1},
    "Seniority": {"VP": 0.7, "Junior": -1.5, BLANK: -0.4, "Individual": 0.0},
    "E-mail": {"free-mail": -0.3, "corporate": 0.2},
}


def hand_made(**changes: Any) -> dict[str, Any]:
    """The JSON data of a small valid model; `changes` replace top-level keys."""
    training = {
        "trained_at": "2026-01-02T03:04:05Z", "min_age_days": 30, "leads": 900,
        "converted": 90, "held_out": 300, "held_out_converted": 30, "auc": 0.71, "seed": 7,
    }  # fmt: skip
    model = LeadModel(
        format="sfsync.lead-model",
        version=1,
        features=(SOURCE, SENIORITY, EMAIL),
        intercept=-2.0,
        weights=WEIGHTS,
        training=training,
    )
    data: dict[str, Any] = json.loads(dump_model(model))
    data.update(changes)
    return data


MODEL = LeadModel.model_validate(hand_made())
CONFIG = PredictiveConfig(model=Path("models/lead_model.json"), points=30)


@pytest.mark.parametrize(
    ("values", "logit"),
    [
        ({}, -2.0 - 0.4),  # blank title weighs; blank source and e-mail are unlisted: 0
        ({"LeadSource": "Employee Referral", "Title": "VP Sales", "Email": "a@acme.com"},
         -2.0 + 0.9 + 0.7 + 0.2),
        ({"LeadSource": "Purchased List", "Title": "Student", "Email": "a@gmail.com"},
         -2.0 - 0.8 - 1.5 - 0.3),
        ({"LeadSource": "Trade Show", "Title": "Engineer"}, -2.0),  # OTHER has no weight
        ({"LeadSource": "web", "Title": "Ｖｐ", "Email": "not mail"}, -2.0 + 0.1 + 0.7),
    ],
)  # fmt: skip
def test_predict_adds_the_weights_of_the_levels(values: dict[str, Any], logit: float) -> None:
    prediction = predict(values, MODEL)
    assert prediction.probability == pytest.approx(1 / (1 + math.exp(-logit)), abs=1e-12)
    assert [t.feature for t in prediction.terms] == ["Lead source", "Seniority", "E-mail"]


def test_top_factors_are_the_strongest_either_way() -> None:
    values = {"LeadSource": "Employee Referral", "Title": "Student", "Email": "a@gmail.com"}
    factors = top_factors(predict(values, MODEL).terms, 2)
    assert factors == (
        Factor("Seniority", "Junior", -1.5),
        Factor("Lead source", "Employee Referral", 0.9),
    )
    assert top_factors(predict({"Title": "Engineer"}, MODEL).terms, 3) == ()  # all near 0


def test_predicted_contribution() -> None:
    values = {"LeadSource": "Employee Referral", "Title": "VP Sales", "Email": "a@acme.com"}
    probability, line, factors = predicted_contribution(values, MODEL, CONFIG)
    assert probability == pytest.approx(sigmoid(-0.2))
    assert line == Contribution(
        "Predictive score",
        round(probability * 30, 2),
        "45% likely to convert: Lead source Employee Referral +0.90, Seniority VP +0.70, "
        "E-mail corporate +0.20",
    )
    assert [f.level for f in factors] == ["Employee Referral", "VP", "corporate"]


def test_contribution_without_factors() -> None:
    config = PredictiveConfig(model=Path("m.json"), points=10, factors=0, name="Fit model")
    _p, line, factors = predicted_contribution({}, MODEL, config)
    assert factors == () and line.rule == "Fit model" and ":" not in line.detail


def test_global_factors_most_favourable_first() -> None:
    factors = global_factors(MODEL)
    assert factors[0] == Factor("Lead source", "Employee Referral", 0.9)
    assert factors[-1] == Factor("Seniority", "Junior", -1.5)


@pytest.mark.parametrize(("x", "expected"), [(0, 0.5), (1000, 1.0), (-1000, 0.0), (-745.2, 0.0)])
def test_sigmoid_never_overflows(x: float, expected: float) -> None:
    assert sigmoid(x) == pytest.approx(expected)


@pytest.mark.parametrize(
    "section",
    [
        {"model": "m.json", "points": 0},
        {"model": "m.json", "points": -5},
        {"model": "m.json", "points": 1e6},
        {"model": "m.json", "points": float("nan")},
        {"model": "m.json", "points": 30, "factors": -1},
        {"model": "m.json", "points": 30, "weight": 2},
        {"points": 30},
    ],
)
def test_predictive_config_refuses(section: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        PredictiveConfig.model_validate(section)


# -- model files ------------------------------------------------------------------


def test_saved_model_loads_back_equal(tmp_path: Path) -> None:
    path = tmp_path / "lead_model.json"
    save_model(MODEL, path)
    assert load_model(path) == MODEL
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["lead_model.json"]  # no temp file left


def _write(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


BAD_MODELS: list[tuple[Any, str]] = [
    ([], "not an sfsync lead model"),
    ({"format": "pickle"}, "not an sfsync lead model"),
    (hand_made(version=2), "model version 2 is not the one this sfsync reads"),
    (hand_made(version="1"), "model version '1'"),
    (hand_made(intercept="high"), "intercept"),
    (hand_made(features=[]), "features"),
    (hand_made(weights={"Shoe size": {"42": 1.0}}), "unknown feature 'Shoe size'"),
    (hand_made(weights={"Seniority": {"Wizard": 1.0}}), "unknown levels of 'Seniority'"),
    (hand_made(weights={"Seniority": {"VP": "much"}}), "weights.Seniority.VP"),
    (hand_made(features=[SOURCE.model_dump(), SOURCE.model_dump()], weights={}), "repeat"),
    (hand_made(features=[{"kind": "neural_net", "name": "x", "field": "Title"}]), "features.0"),
    (hand_made(training={"auc": 0.7}), "training.trained_at"),
    (hand_made(code="__import__('os').system('true')"), "code: Extra inputs"),
]


@pytest.mark.parametrize(("data", "message"), BAD_MODELS)
def test_bad_model_files(tmp_path: Path, data: Any, message: str) -> None:
    path = _write(tmp_path / "m.json", data)
    with pytest.raises(ConfigError, match=r"invalid model file|not an sfsync|model version") as exc:
        load_model(path)
    assert message in str(exc.value) and str(path) in str(exc.value)
    assert exc.value.exit_code == 2


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", ":1: not a JSON model file"),
        ('{"format": "sfsync.lead-model",\n "version": 1,\n oops}', ":3: not a JSON model file"),
        ('{"format": "sfsync.lead-model", "version": 1, "intercept": NaN}', "NaN is not a number"),
        ("[" * 100_000 + "]" * 100_000, "not a JSON model file"),
    ],
)
def test_corrupt_model_text(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=r"m\.json") as exc:
        parse_model(text, "m.json")
    assert message in str(exc.value)


def test_infinite_weight_refused(tmp_path: Path) -> None:
    text = json.dumps(hand_made()).replace('"VP": 0.7', '"VP": Infinity')
    with pytest.raises(ConfigError, match="Infinity is not a number"):
        parse_model(text, "m.json")


def test_missing_and_unreadable_model_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"model file not found.*sfsync train --out"):
        load_model(tmp_path / "nope.json")
    with pytest.raises(ConfigError, match="model file not found"):
        load_model(tmp_path)  # a folder
    binary = tmp_path / "bin.json"
    binary.write_bytes(b'{"format":\n "\xff\xfe"}')
    with pytest.raises(ConfigError, match=r"bin.json:2: not UTF-8"):
        load_model(binary)
    huge = tmp_path / "huge.json"
    with huge.open("wb") as handle:
        handle.truncate(MAX_MODEL_BYTES + 1)
    with pytest.raises(ConfigError, match="larger than"):
        load_model(huge)


def test_unwritable_model_paths(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        check_writable(tmp_path / "missing" / "m.json")
    with pytest.raises(ConfigError, match="is a directory"):
        check_writable(tmp_path)
    with pytest.raises(ConfigError, match="does not exist"):
        save_model(MODEL, tmp_path / "missing" / "m.json")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere")
def test_read_only_folder(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(ConfigError, match="not writable"):
            check_writable(folder / "m.json")
    finally:
        folder.chmod(0o700)


def test_memo_tells_true_from_one() -> None:
    feature = BandFeature(name="Employees", field="NumberOfEmployees", edges=(10, 50))
    answers = [feature.level({"NumberOfEmployees": v}) for v in (1, True, 1.0, "1", [1], [1])]
    assert answers == ["<10", BLANK, "<10", "<10", BLANK, BLANK]


def test_memo_stays_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sfsync.rules.predict_features.MEMO_SIZE", 3)
    feature = CategoryFeature(name="Industry", field="Industry", values=("Retail",))
    for number in range(10):
        assert feature.level({"Industry": f"Mining {number}"}) == OTHER
        assert feature.level({"Industry": "retail"}) == "Retail"
    assert len(feature._memo) <= 3
    long_value = "Retail " + "x" * 300  # not remembered at all: too long to keep
    assert feature.level({"Industry": long_value}) == OTHER
    assert long_value not in feature._memo
