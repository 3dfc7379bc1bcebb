"""Word lists behind seeded people and companies: titles, sources, nicknames, domains.

Kept apart from the generators so that tests and later rules (scoring,
criteria, matching) can read the same tables the data was made from.
"""

from __future__ import annotations

# (title, weight). Seniority is derived from the words of a title by `seniority`.
TITLES: tuple[tuple[str, float], ...] = (
    ("CEO", 2.0), ("Chief Executive Officer", 0.8), ("CTO", 1.2), ("CFO", 0.8), ("COO", 0.5),
    ("Founder", 0.8), ("Co-Founder & CEO", 0.4), ("Owner", 1.2), ("President", 0.5),
    ("Geschäftsführer", 0.5), ("Président-directeur général", 0.2),
    ("VP Sales", 1.5), ("VP of Marketing", 1.2), ("Vice President, Engineering", 0.8),
    ("SVP Operations", 0.4), ("VP Finance", 0.5),
    ("Director of IT", 1.8), ("Director of Marketing", 1.2), ("Head of Sales", 1.0),
    ("Sales Director", 1.0), ("Engineering Director", 0.6), ("Directeur Commercial", 0.3),
    ("Head of Procurement", 0.5),
    ("Marketing Manager", 3.0), ("IT Manager", 2.5), ("Sales Manager", 2.5),
    ("Product Manager", 2.0), ("Operations Manager", 1.8), ("Office Manager", 1.5),
    ("Procurement Manager", 1.0), ("Gerente de Ventas", 0.3), ("Project Manager", 1.5),
    ("Software Engineer", 3.0), ("Senior Software Engineer", 2.0), ("Data Analyst", 2.0),
    ("Consultant", 2.0), ("Account Executive", 1.5), ("Marketing Specialist", 1.5),
    ("Accountant", 1.5), ("Developer", 1.5), ("System Administrator", 1.5), ("Buyer", 1.0),
    ("Business Analyst", 1.5), ("Nurse", 0.4), ("Teacher", 0.4), ("Sales Representative", 1.2),
    ("Student", 0.8), ("Intern", 0.8), ("Marketing Intern", 0.4), ("Assistant", 0.8),
    ("Trainee", 0.3), ("Werkstudent", 0.2),
)  # fmt: skip

SENIORITY_LEVELS = ("c_level", "vp", "director", "manager", "individual", "junior", "none")

# Checked in this order: the first level whose keyword is a word of the title wins.
_SENIORITY_KEYWORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("c_level", ("ceo", "cto", "cfo", "coo", "cio", "chief", "founder", "co-founder", "owner",
                 "president", "geschäftsführer", "président-directeur", "partner")),
    ("vp", ("vp", "svp", "evp", "vice")),
    ("director", ("director", "head", "directeur", "directora")),
    ("manager", ("manager", "gerente", "lead", "leiter")),
    ("junior", ("student", "intern", "trainee", "assistant", "werkstudent", "apprentice")),
)  # fmt: skip


def seniority(title: str | None) -> str:
    """The seniority level of a job title: conversion odds and scoring both depend on it."""
    if not title or not title.strip():
        return "none"
    words = set(title.lower().replace(",", " ").replace("&", " ").split())
    if words & {"vice", "president"} == {"vice", "president"}:
        return "vp"
    for level, keywords in _SENIORITY_KEYWORDS:
        if words.intersection(keywords):
            return level
    return "individual"


LEAD_SOURCE_WEIGHTS: tuple[tuple[str | None, float], ...] = (
    ("Web", 30), ("Advertisement", 8), ("Purchased List", 8), ("Trade Show", 10),
    ("Partner Referral", 7), ("Employee Referral", 5), ("External Referral", 5),
    ("Phone Inquiry", 8), ("Word of mouth", 5), ("Other", 9), (None, 5),
)  # fmt: skip

INDUSTRY_WEIGHTS: tuple[tuple[str, float], ...] = (
    ("Technology", 15), ("Manufacturing", 8), ("Healthcare", 7), ("Retail", 6),
    ("Consulting", 6), ("Finance", 5), ("Education", 5), ("Banking", 4), ("Construction", 3),
    ("Telecommunications", 3), ("Media", 3), ("Transportation", 3), ("Insurance", 3),
    ("Energy", 2), ("Biotechnology", 2), ("Electronics", 2), ("Food & Beverage", 2),
    ("Government", 2), ("Hospitality", 2), ("Not For Profit", 2), ("Engineering", 2),
    ("Communications", 1), ("Entertainment", 1), ("Apparel", 1), ("Chemicals", 1),
    ("Agriculture", 1), ("Shipping", 1), ("Utilities", 1), ("Machinery", 1),
    ("Environmental", 1), ("Recreation", 1), ("Other", 2),
)  # fmt: skip

# Words that make company names; each suggests the company's industry.
COMPANY_WORDS: tuple[tuple[str, str], ...] = (
    ("Systems", "Technology"), ("Analytics", "Technology"), ("Labs", "Technology"),
    ("Software", "Technology"), ("Networks", "Telecommunications"), ("Robotics", "Machinery"),
    ("Solutions", "Consulting"), ("Partners", "Consulting"), ("Advisory", "Consulting"),
    ("Logistics", "Transportation"), ("Freight", "Shipping"), ("Foods", "Food & Beverage"),
    ("Brewing", "Food & Beverage"), ("Health", "Healthcare"), ("Clinics", "Healthcare"),
    ("Pharma", "Biotechnology"), ("Bio", "Biotechnology"), ("Energy", "Energy"),
    ("Solar", "Energy"), ("Capital", "Finance"), ("Bank", "Banking"), ("Insurance", "Insurance"),
    ("Media", "Media"), ("Studios", "Entertainment"), ("Builders", "Construction"),
    ("Manufacturing", "Manufacturing"), ("Industries", "Manufacturing"), ("Motors", "Machinery"),
    ("Electronics", "Electronics"), ("Retail", "Retail"), ("Outfitters", "Apparel"),
    ("Hotels", "Hospitality"), ("Chemicals", "Chemicals"), ("Farms", "Agriculture"),
    ("Telecom", "Telecommunications"), ("Engineering", "Engineering"), ("Academy", "Education"),
)  # fmt: skip

BRAND_HEADS = (
    "Blue", "Red", "North", "Silver", "Bright", "Nova", "Apex", "Green", "Iron", "Summit",
    "Clear", "Swift", "Stone", "Sun", "Oak", "Pine", "River", "Cloud", "Quantum", "Vertex",
    "Atlas", "Polar", "Cedar", "Harbor", "Falcon", "Orbit", "Pixel", "Prime", "Metro", "Alpine",
)  # fmt: skip
BRAND_TAILS = (
    "wave", "point", "field", "stone", "bridge", "works", "path", "gate", "line", "forge",
    "peak", "light", "stream", "leaf", "scale", "sight", "core", "loop", "craft", "spark",
)  # fmt: skip

FREEMAIL_DOMAINS = (
    "gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "icloud.com", "aol.com",
    "gmx.de", "web.de", "orange.fr", "libero.it", "yahoo.co.uk", "proton.me",
)  # fmt: skip
DISPOSABLE_DOMAINS = ("mailinator.com", "10minutemail.com", "guerrillamail.com", "yopmail.com")
ROLE_LOCAL_PARTS = ("info", "sales", "contact", "office", "admin", "hello", "marketing")

# Fictitious vendors selling what this org sells: their people sign up to look around.
COMPETITORS: tuple[tuple[str, str], ...] = (
    ("LeadLoop Inc.", "leadloop.io"), ("Routely", "routely.com"), ("PipeForge Ltd", "pipeforge.co"),
    ("Funnelwise GmbH", "funnelwise.de"), ("Scorebird", "scorebird.com"),
)  # fmt: skip

NO_COMPANY = ("Self", "N/A", "none", "Self-employed", "-", "Private")

# Formal first name -> nicknames people register with (Name Variant matching).
NICKNAMES: dict[str, tuple[str, ...]] = {
    "Robert": ("Bob", "Rob", "Bobby"), "William": ("Bill", "Will", "Billy"),
    "Katherine": ("Kate", "Kathy", "Katie"), "Elizabeth": ("Liz", "Beth", "Betty"),
    "James": ("Jim", "Jimmy"), "Michael": ("Mike",), "Richard": ("Rick", "Rich", "Dick"),
    "Thomas": ("Tom", "Tommy"), "Joseph": ("Joe",), "Charles": ("Charlie", "Chuck"),
    "Christopher": ("Chris",), "Daniel": ("Dan", "Danny"), "Matthew": ("Matt",),
    "Anthony": ("Tony",), "Andrew": ("Andy", "Drew"), "Joshua": ("Josh",),
    "Jonathan": ("Jon",), "Nicholas": ("Nick",), "Benjamin": ("Ben",), "Samuel": ("Sam",),
    "Alexander": ("Alex",), "Edward": ("Ed", "Ted"), "Steven": ("Steve",),
    "Stephen": ("Steve",), "Timothy": ("Tim",), "Jennifer": ("Jen", "Jenny"),
    "Margaret": ("Maggie", "Peggy"), "Patricia": ("Pat", "Trish"), "Rebecca": ("Becky",),
    "Susan": ("Sue",), "Deborah": ("Deb",), "Victoria": ("Vicky",), "Jessica": ("Jess",),
    "Samantha": ("Sam",), "Christina": ("Tina",), "Catherine": ("Cathy", "Kate"),
    "Gregory": ("Greg",), "Jeffrey": ("Jeff",), "Kenneth": ("Ken",), "Ronald": ("Ron",),
    "Donald": ("Don",), "Lawrence": ("Larry",), "Raymond": ("Ray",), "Peter": ("Pete",),
    "Frederick": ("Fred",), "Johannes": ("Hans",), "Francisco": ("Paco",), "José": ("Pepe",),
    "Giuseppe": ("Beppe",), "Alejandro": ("Alex",),
}  # fmt: skip

# Letters next to each other on a QWERTY keyboard: a typo hits a neighbour.
KEYBOARD_NEIGHBOURS: dict[str, str] = {
    "q": "wa", "w": "qes", "e": "wrd", "r": "etf", "t": "ryg", "y": "tuh", "u": "yij",
    "i": "uok", "o": "ipl", "p": "o", "a": "qsz", "s": "adwx", "d": "sfec", "f": "dgrv",
    "g": "fhtb", "h": "gjyn", "j": "hkum", "k": "jli", "l": "ko", "z": "asx", "x": "zcs",
    "c": "xvd", "v": "cbf", "b": "vng", "n": "bmh", "m": "nj",
}  # fmt: skip

JUNK_FIRST = ("test", "Test", "asdf", "qwerty", "aaa", "x")
JUNK_LAST = ("test", "Test", "asdf", "asdfgh", "xxx", "Testing", "jkl", "sdfsdf")
JUNK_COMPANY = ("test", "Test Company", "asdf", "xxx", "N/A", "abc")
JOB_SEEKER_TITLES = ("Looking for work", "Job Seeker", "Unemployed", "Open to work")
