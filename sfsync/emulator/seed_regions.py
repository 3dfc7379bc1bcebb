"""Where seeded companies and people are: countries, their spellings, cities and phone plans.

Real orgs hold the same country spelled five ways ("USA", "United States",
"US"...), states as codes or names ("CA", "Calif.", "California") and phone
numbers in every format, so each region lists the spellings a person might
type, weighted by how often they turn up. Cities are real so that City fuzzy
matching sees real names; phone numbers are random digits.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class City:
    """A city with the spellings people use, its phone area code and its state's spellings."""

    names: tuple[str, ...]
    area: str
    state: tuple[str, ...] = ()


@dataclass(frozen=True)
class Region:
    """A country as seeded leads see it."""

    key: str
    weight: float
    # Faker locale for street names and postcodes.
    address_locale: str
    countries: tuple[tuple[str, float], ...]
    # Faker-style locales of people's names, weighted.
    name_locales: tuple[tuple[str, float], ...]
    calling_code: str
    # National trunk prefix ("0" in "020 7946 0958"), empty where there is none.
    trunk: str
    local_digits: int
    tld: str
    cities: tuple[City, ...]
    legal_suffixes: tuple[str, ...]
    # How the local part of a phone number is written: "blocks", "pairs" or "none".
    grouping: str = "blocks"
    emea: bool = False
    # Fixed length of area code plus local number, where the country has one (UK: 10).
    national_digits: int = 0


_US_CITIES = (
    City(("San Francisco",), "415", ("CA", "Calif.", "California")),
    City(("Palo Alto",), "650", ("CA", "California")),
    City(("San Jose",), "408", ("CA", "Calif.", "California")),
    City(("Los Angeles", "LA"), "213", ("CA", "California")),
    City(("San Diego",), "619", ("CA", "Calif.", "California")),
    City(("New York", "New York City", "NYC"), "212", ("NY", "N.Y.", "New York")),
    City(("Brooklyn",), "718", ("NY", "New York")),
    City(("Austin",), "512", ("TX", "Tex.", "Texas")),
    City(("Dallas",), "214", ("TX", "Texas")),
    City(("Houston",), "713", ("TX", "Texas")),
    City(("Boston",), "617", ("MA", "Mass.", "Massachusetts")),
    City(("Cambridge",), "617", ("MA", "Massachusetts")),
    City(("Seattle",), "206", ("WA", "Wash.", "Washington")),
    City(("Redmond",), "425", ("WA", "Washington")),
    City(("Chicago",), "312", ("IL", "Ill.", "Illinois")),
    City(("Miami",), "305", ("FL", "Fla.", "Florida")),
    City(("Atlanta",), "404", ("GA", "Ga.", "Georgia")),
    City(("Denver",), "303", ("CO", "Colo.", "Colorado")),
)

_US_NAMES = (
    ("en_US", 75.0), ("es_ES", 7.0), ("zh_CN", 4.0), ("de_DE", 3.0), ("ar_AA", 3.0),
    ("fr_FR", 2.0), ("ja_JP", 2.0), ("it_IT", 2.0), ("en_GB", 2.0),
)  # fmt: skip


def _europe(native: str) -> tuple[tuple[str, float], ...]:
    """Name mix of a European country: mostly native names, some from elsewhere."""
    others = ("en_GB", "de_DE", "fr_FR", "es_ES", "it_IT", "ar_AA", "en_US")
    return ((native, 80.0), *((o, 20.0 / 6) for o in others if o != native))


REGIONS: tuple[Region, ...] = (
    Region(
        "US", 45, "en_US",
        (("United States", 35), ("USA", 30), ("US", 20), ("United States of America", 10),
         ("U.S.", 5)),
        _US_NAMES, "1", "", 7, ".com", _US_CITIES,
        ("Inc.", "Inc", "LLC", "Corp.", "Corporation", "Co."),
    ),
    Region(
        "GB", 10, "en_GB",
        (("United Kingdom", 40), ("UK", 25), ("U.K.", 15), ("England", 12), ("Great Britain", 8)),
        _europe("en_GB"), "44", "0", 8, ".co.uk",
        (City(("London",), "20"), City(("Manchester",), "161"), City(("Birmingham",), "121"),
         City(("Edinburgh",), "131"), City(("Bristol",), "117")),
        ("Ltd", "Ltd.", "Limited", "PLC"), emea=True, national_digits=10,
    ),
    Region(
        "DE", 10, "de_DE",
        (("Germany", 45), ("Deutschland", 35), ("DE", 12), ("GER", 8)),
        _europe("de_DE"), "49", "0", 7, ".de",
        (City(("Berlin",), "30", ("Berlin", "BE")),
         City(("München", "Munich", "Muenchen"), "89", ("Bayern", "Bavaria", "BY")),
         City(("Hamburg",), "40", ("Hamburg", "HH")),
         City(("Frankfurt am Main", "Frankfurt"), "69", ("Hessen", "Hesse", "HE")),
         City(("Köln", "Cologne", "Koeln"), "221", ("Nordrhein-Westfalen", "NRW")),
         City(("Stuttgart",), "711", ("Baden-Württemberg", "BW"))),
        ("GmbH", "AG", "GmbH & Co. KG", "SE"), grouping="none", emea=True,
    ),
    Region(
        "FR", 7, "fr_FR",
        (("France", 85), ("FR", 10), ("france", 5)),
        _europe("fr_FR"), "33", "0", 8, ".fr",
        (City(("Paris",), "1"), City(("Lyon",), "4"), City(("Marseille",), "4"),
         City(("Toulouse",), "5"), City(("Nantes",), "2")),
        ("SA", "SAS", "SARL"), grouping="pairs", emea=True,
    ),
    Region(
        "ES", 4, "es_ES",
        (("Spain", 50), ("España", 40), ("ES", 10)),
        _europe("es_ES"), "34", "", 7, ".es",
        (City(("Madrid",), "91"), City(("Barcelona",), "93"), City(("Valencia",), "96"),
         City(("Sevilla", "Seville"), "95")),
        ("S.L.", "S.A.", "SL"), emea=True,
    ),
    Region(
        "IT", 3, "it_IT",
        (("Italy", 55), ("Italia", 40), ("IT", 5)),
        _europe("it_IT"), "39", "", 8, ".it",
        (City(("Milano", "Milan"), "02"), City(("Roma", "Rome"), "06"),
         City(("Torino", "Turin"), "011")),
        ("S.p.A.", "S.r.l.", "SRL"), emea=True,
    ),
    Region(
        "NL", 3, "nl_NL",
        (("Netherlands", 45), ("The Netherlands", 20), ("Nederland", 20), ("Holland", 10),
         ("NL", 5)),
        _europe("nl_NL"), "31", "0", 7, ".nl",
        (City(("Amsterdam",), "20"), City(("Rotterdam",), "10"), City(("Utrecht",), "30")),
        ("B.V.", "BV", "N.V."), emea=True,
    ),
    Region(
        "BR", 3, "pt_BR",
        (("Brazil", 60), ("Brasil", 35), ("BR", 5)),
        (("pt_BR", 90.0), ("es_ES", 5.0), ("it_IT", 5.0)), "55", "0", 8, ".com.br",
        (City(("São Paulo", "Sao Paulo"), "11", ("SP", "São Paulo")),
         City(("Rio de Janeiro",), "21", ("RJ", "Rio de Janeiro"))),
        ("Ltda.", "S.A.", "LTDA"),
    ),
    Region(
        "NO", 2, "no_NO",
        (("Norway", 60), ("Norge", 35), ("NO", 5)),
        _europe("no_NO"), "47", "", 8, ".no",
        (City(("Oslo",), ""), City(("Bergen",), ""), City(("Tromsø", "Tromso"), "")),
        ("AS", "ASA"), emea=True,
    ),
    Region(
        "DK", 1.5, "da_DK",
        (("Denmark", 60), ("Danmark", 35), ("DK", 5)),
        _europe("da_DK"), "45", "", 8, ".dk",
        (City(("København", "Copenhagen"), ""), City(("Aarhus", "Århus"), ""),
         City(("Aalborg", "Ålborg"), "")),
        ("A/S", "ApS"), grouping="pairs", emea=True,
    ),
    Region(
        "JP", 3, "ja_JP",
        (("Japan", 75), ("日本", 20), ("JP", 5)),
        (("ja_JP", 92.0), ("en_US", 5.0), ("zh_CN", 3.0)), "81", "0", 8, ".co.jp",
        (City(("Tokyo", "東京"), "3", ("Tokyo", "東京都")),
         City(("Osaka", "大阪"), "6", ("Osaka", "大阪府"))),
        ("K.K.", "Co., Ltd.", "Inc."),
    ),
    Region(
        "CN", 2, "zh_CN",
        (("China", 75), ("中国", 15), ("PRC", 5), ("CN", 5)),
        (("zh_CN", 95.0), ("en_US", 5.0)), "86", "0", 8, ".cn",
        (City(("Shanghai", "上海"), "21"), City(("Beijing", "北京"), "10"),
         City(("Shenzhen", "深圳"), "755")),
        ("Co., Ltd.", "Ltd.", "Group"),
    ),
    Region(
        "AE", 1.5, "en_GB",
        (("United Arab Emirates", 55), ("UAE", 40), ("U.A.E.", 5)),
        (("ar_AA", 60.0), ("en_GB", 20.0), ("en_US", 10.0), ("fr_FR", 10.0)),
        "971", "0", 7, ".ae",
        (City(("Dubai",), "4"), City(("Abu Dhabi",), "2")),
        ("LLC", "FZ-LLC", "FZE"), emea=True,
    ),
)  # fmt: skip

WEIGHTED_REGIONS = tuple((r, r.weight) for r in REGIONS)
NAME_LOCALES = tuple(sorted({loc for r in REGIONS for loc, _ in r.name_locales}))
ADDRESS_LOCALES = tuple(sorted({r.address_locale for r in REGIONS}))
