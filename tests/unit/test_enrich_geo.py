"""Country and state spellings to ISO codes."""

from __future__ import annotations

import re

import pytest

from sfsync.errors import ConfigError
from sfsync.rules.enrich_data import shipped_texts
from sfsync.rules.enrich_geo import build_geo_index, resolve_country, resolve_state

TEXTS = shipped_texts()
GEO = build_geo_index(TEXTS["country_aliases.csv"], TEXTS["state_aliases.csv"])
BIG = "United States" * 8000


@pytest.mark.parametrize(
    ("raw", "code", "name"),
    [
        ("US", "US", "United States"),
        ("USA", "US", "United States"),
        ("U.S.", "US", "United States"),
        ("u.s.a.", "US", "United States"),
        ("United States of America", "US", "United States"),
        ("  united   states ", "US", "United States"),
        ("UK", "GB", "United Kingdom"),
        ("U.K.", "GB", "United Kingdom"),
        ("England", "GB", "United Kingdom"),
        ("Great Britain", "GB", "United Kingdom"),
        ("Deutschland", "DE", "Germany"),
        ("GER", "DE", "Germany"),
        ("DEU", "DE", "Germany"),
        ("🇩🇪", "DE", "Germany"),
        ("France", "FR", "France"),
        ("france", "FR", "France"),
        ("España", "ES", "Spain"),
        ("Espan\u0303a", "ES", "Spain"),  # combining tilde
        ("Espana", "ES", "Spain"),
        ("The Netherlands", "NL", "Netherlands"),
        ("Holland", "NL", "Netherlands"),
        ("Brasil", "BR", "Brazil"),
        ("日本", "JP", "Japan"),
        ("中国", "CN", "China"),
        ("PRC", "CN", "China"),
        ("UAE", "AE", "United Arab Emirates"),
        ("U.A.E.", "AE", "United Arab Emirates"),
        ("الإمارات", "AE", "United Arab Emirates"),  # right-to-left script
        ("South Korea", "KR", "Korea, Republic of"),
        ("Czech Republic", "CZ", "Czechia"),
        ("Россия", "RU", "Russian Federation"),
        ("Ｇｅｒｍａｎｙ", "DE", "Germany"),  # full-width letters
        ("Ger\x00many", "DE", "Germany"),  # NUL dropped
        ("\u202bGermany\u202c", "DE", "Germany"),  # bidi embedding dropped
    ],
)
def test_countries(raw: str, code: str, name: str) -> None:
    country = resolve_country(raw, GEO)
    assert country is not None
    assert (country.code, country.name) == (code, name)


@pytest.mark.parametrize(
    "raw", ["", None, "   ", "Untied States", "Atlantis", "😀", "N/A", BIG, 42, "\x00"]
)
def test_unknown_countries(raw: object) -> None:
    assert resolve_country(raw, GEO) is None


@pytest.mark.parametrize(
    ("raw", "country", "code", "iso"),
    [
        ("CA", "US", "CA", "US-CA"),
        ("Calif.", "US", "CA", "US-CA"),
        ("California", "US", "CA", "US-CA"),
        ("N.Y.", "US", "NY", "US-NY"),
        ("Tex.", "US", "TX", "US-TX"),
        ("Washington DC", "US", "DC", "US-DC"),
        ("Ontario", "CA", "ON", "CA-ON"),
        ("Que.", "CA", "QC", "CA-QC"),
        ("Bayern", "DE", "BY", "DE-BY"),
        ("Bavaria", "DE", "BY", "DE-BY"),
        ("NRW", "DE", "NW", "DE-NW"),
        ("Baden-Württemberg", "DE", "BW", "DE-BW"),
        ("Baden-Wuerttemberg", "DE", "BW", "DE-BW"),
        ("東京都", "JP", "13", "JP-13"),
        ("São Paulo", "BR", "SP", "BR-SP"),
        ("Sao Paulo", "BR", "SP", "BR-SP"),
        ("Guangdong", "CN", "GD", "CN-GD"),
        ("NSW", "AU", "NSW", "AU-NSW"),
    ],
)
def test_states(raw: str, country: str, code: str, iso: str) -> None:
    state = resolve_state(raw, country, GEO)
    assert state is not None
    assert (state.code, state.iso) == (code, iso)


@pytest.mark.parametrize(
    ("raw", "country"),
    [
        ("GA", "DE"),
        ("CA", None),
        ("", "US"),
        (None, "US"),
        ("Narnia", "US"),
        (BIG, "US"),
        ("🌴", "US"),
    ],
)
def test_unknown_states(raw: object, country: str | None) -> None:
    assert resolve_state(raw, country, GEO) is None


@pytest.mark.parametrize(
    ("countries", "states", "message"),
    [
        ("alias,code\nAtlantis,XX\n", "", "country aliases:2: code 'XX' is not an ISO country"),
        ("alias\nAtlantis\n", "", "country aliases:1: missing column(s) ['code']"),
        ("# c\nalias,code\nAtlantis,\n", "", "country aliases:3: no value in column(s) ['code']"),
        ("", "country,alias,code\nUS,Calif,ZZ\n", "state aliases:2: 'US-ZZ' is not an ISO 3166-2"),
    ],
)
def test_bad_alias_files(countries: str, states: str, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        build_geo_index(countries, states)


def test_aliases_override_pycountry() -> None:
    index = build_geo_index("alias,code\nGeorgia,US\n")
    assert resolve_country("Georgia", index).code == "US"  # type: ignore[union-attr]
    assert resolve_country("Georgia", GEO).code == "GE"  # type: ignore[union-attr]
