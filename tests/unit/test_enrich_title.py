"""Seniority and department from job titles, with the shipped keyword tables."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from sfsync.mappings import load_model
from sfsync.rules.enrich_config import EnrichmentConfig
from sfsync.rules.enrich_title import NO_TITLE, KeywordTable, TitleConfig, classify_title

MAPPINGS = Path(__file__).resolve().parents[2] / "mappings"
TITLES = load_model(MAPPINGS / "enrichment.yaml", EnrichmentConfig).title


@pytest.mark.parametrize(
    ("title", "seniority", "department"),
    [
        ("CEO", "C-level", "Executive"),
        ("Chief Executive Officer", "C-level", "Executive"),
        ("C.E.O.", "C-level", "Executive"),
        ("Co-Founder & CEO", "C-level", "Executive"),
        ("CTO", "C-level", "Engineering"),
        ("Chief Marketing Officer", "C-level", "Marketing"),
        ("Managing Director", "C-level", "Executive"),
        ("Geschäftsführer", "C-level", "Executive"),
        ("Geschaftsfuhrer", "C-level", "Executive"),  # accents folded
        ("Président-directeur général", "C-level", "Executive"),
        ("President", "C-level", None),
        ("代表取締役社長", "C-level", None),  # no spaces in Japanese: no word boundary
        ("Vice President of Sales", "VP", "Sales"),
        ("V.P. Marketing", "VP", "Marketing"),
        ("SVP Operations", "VP", "Operations"),
        ("Vice President, Engineering", "VP", "Engineering"),
        ("Director of IT", "Director", "IT"),
        ("Head of Procurement", "Director", "Procurement"),
        ("Directeur Commercial", "Director", "Sales"),
        ("Engineering Manager, Office of the CTO", "Manager", "Engineering"),
        ("Marketing Manager", "Manager", "Marketing"),
        ("Gerente de Ventas", "Manager", "Sales"),
        ("Product Owner", "Individual", "Product"),
        ("Assistant to the CEO", "Individual", "Executive"),
        ("Senior Software Engineer", "Individual", "Engineering"),
        ("Account Executive", "Individual", "Sales"),
        ("Student", "Individual", "Education"),
        ("Plumber", "Individual", None),
        ("😀 CEO 🚀", "C-level", "Executive"),
        ("\x00CEO\u202e", "C-level", "Executive"),  # NUL and bidi override dropped
        ("Ｃ Ｅ Ｏ", "Individual", None),  # full-width letters fold, but "c e o" is no keyword
        ("مدير المبيعات", "Individual", None),  # right-to-left script, no keyword listed
        ("Director\u0301", "Director", None),  # accents, combining ones too, are folded away
        ("ceo" * 40_000, "Individual", None),  # 100 KB without a word boundary
        ("CEO " * 30_000, "C-level", "Executive"),
    ],
)
def test_shipped_tables(title: str, seniority: str | None, department: str | None) -> None:
    facts = classify_title(title, TITLES)
    assert (facts.seniority, facts.department) == (seniority, department)


@pytest.mark.parametrize("title", ["", None, "   ", "\x00", ".,-"])
def test_blank_titles_have_no_seniority(title: object) -> None:
    assert classify_title(title, TITLES) == NO_TITLE


def test_keywords_are_reported() -> None:
    facts = classify_title("VP Sales", TITLES)
    assert (facts.seniority_keyword, facts.department_keyword) == ("vp", "sales")
    assert facts.describe() == "seniority VP (vp), department Sales (sales)"


def test_empty_tables_give_nothing() -> None:
    assert classify_title("CEO", TitleConfig()) == NO_TITLE


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"groups": [{"name": "A", "keywords": ["x"]}, {"name": "B", "keywords": ["X"]}]},
         "keyword 'X' is in both 'A' and 'B'"),
        ({"groups": [{"name": "A", "keywords": ["V.P."]}, {"name": "B", "keywords": ["vp"]}]},
         "keyword 'vp' is in both 'A' and 'B'"),
        ({"groups": [{"name": "A", "keywords": []}]}, "at least 1 item"),
        ({"groups": [{"name": "A", "keywords": ["..."]}]}, "have no letters or digits"),
        ({"groups": [{"name": "", "keywords": ["x"]}]}, "at least 1 character"),
        ({"groups": [{"name": "A", "keywords": ["x"], "level": 1}]}, "Extra inputs"),
    ],
)  # fmt: skip
def test_bad_tables(table: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        KeywordTable.model_validate(table)
