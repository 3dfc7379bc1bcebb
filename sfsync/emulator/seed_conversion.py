"""Which seeded leads were converted in the past: a known model, for predictive scoring.

A lead created more than `MIN_AGE_DAYS` ago was converted with probability

    sigmoid(INTERCEPT + industry + size + seniority + country + source + noise)

where each term is read from the tables below using the lead's own field
values as typed (blank fields have their own effect; a country counts by
whichever spelling the lead carries), and `noise` is drawn from a normal
distribution with standard deviation `NOISE_SD` per lead. A scorer trained on
the seeded history should rediscover these effects; junk, student and
job-seeker leads never convert. With the seeded mix of values about 11 % of
eligible leads convert (about 10.5 % of the live history `sfsync train`
reads), from about 19 % of employee referrals down to 5 % of purchased lists.

Why the effects are this strong: in real B2B orgs conversion depends heavily
on fit (who the buyer is, at what kind of company, where), which is why
grading exists at all. The first version of this model had fit effects about
half as large; with its noise the seeded history carried too little signal
for any model to learn from (its own noise-free log-odds ranked the history
at an AUC of about 0.70, while real lead-scoring models are judged against
0.75 and up). The fit effects (industry, size, seniority) were roughly
doubled and a country effect matching the ideal customer's core markets was
added; the lead-source effects, the noise and the overall rate were kept.
The noise-free log-odds now rank the history at an AUC of about 0.79-0.81
(figures: docs/RULES-ENGINE.md, "Predictive score"; measured by
`python -m benchmarks.seed_signal`). Engagement plays no part: campaign
responses and tasks are seeded after conversions and independent of them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from random import Random
from typing import Any

from sfsync.emulator.seed_regions import REGIONS
from sfsync.emulator.seed_words import seniority

MIN_AGE_DAYS = 30
INTERCEPT = -3.0
NOISE_SD = 0.5

INDUSTRY_EFFECT: dict[str | None, float] = {
    "Technology": 1.1, "Finance": 0.8, "Banking": 0.8, "Healthcare": 0.6,
    "Telecommunications": 0.6, "Biotechnology": 0.6, "Consulting": 0.4, "Insurance": 0.4,
    "Manufacturing": 0.2, "Retail": -0.3, "Hospitality": -0.5, "Agriculture": -0.7,
    "Government": -0.9, "Education": -1.3, "Not For Profit": -1.3, None: -0.4,
}  # fmt: skip

# (smallest NumberOfEmployees of the band, effect); a blank count has its own effect.
EMPLOYEE_EFFECT: tuple[tuple[int, float], ...] = (
    (1, -1.6), (10, -0.7), (50, 0.3), (250, 0.9), (1000, 1.1), (5000, 0.6),
)  # fmt: skip
BLANK_EMPLOYEES_EFFECT = -0.5

SENIORITY_EFFECT: dict[str, float] = {
    "c_level": 1.0, "vp": 1.4, "director": 1.2, "manager": 0.6, "individual": 0.0,
    "junior": -2.5, "none": -0.8,
}  # fmt: skip

# By the seeded region (`seed_regions` key) the lead's Country spelling names:
# the core markets of grading.yaml's ideal customer convert best, markets
# served only through partners least. A country not seeded weighs 0.
COUNTRY_EFFECT: dict[str, float] = {
    "US": 0.4, "GB": 0.3, "DE": 0.3, "FR": 0.2, "NL": 0.2, "DK": 0.0, "NO": 0.0,
    "ES": -0.2, "IT": -0.2, "AE": -0.3, "JP": -0.5, "BR": -0.6, "CN": -0.7,
}  # fmt: skip
BLANK_COUNTRY_EFFECT = -0.3

SOURCE_EFFECT: dict[str | None, float] = {
    "Employee Referral": 0.9, "Partner Referral": 0.7, "External Referral": 0.5,
    "Phone Inquiry": 0.4, "Word of mouth": 0.4, "Trade Show": 0.3, "Web": 0.1,
    "Advertisement": -0.2, "Other": -0.3, "Purchased List": -0.8, None: -0.3,
}  # fmt: skip

# Every seeded spelling of a country ("USA", "Deutschland", "日本"), folded -> region key.
_REGION_OF_SPELLING: dict[str, str] = {
    spelling.strip().casefold(): region.key
    for region in REGIONS
    for spelling, _weight in region.countries
}


def employee_effect(employees: int | None) -> float:
    """The size term: mid-sized and large firms buy, one-person shops rarely do."""
    if employees is None:
        return BLANK_EMPLOYEES_EFFECT
    effect = EMPLOYEE_EFFECT[0][1]
    for low, band_effect in EMPLOYEE_EFFECT:
        if employees >= low:
            effect = band_effect
    return effect


def country_effect(country: str | None) -> float:
    """The market term, from the Country field however it was spelt."""
    if country is None or not country.strip():
        return BLANK_COUNTRY_EFFECT
    region = _REGION_OF_SPELLING.get(country.strip().casefold())
    return COUNTRY_EFFECT.get(region, 0.0) if region else 0.0


def conversion_logit(
    industry: str | None,
    employees: int | None,
    title: str | None,
    source: str | None,
    country: str | None,
) -> float:
    """The log-odds of conversion before noise (see the module docstring)."""
    return (
        INTERCEPT
        + INDUSTRY_EFFECT.get(industry, 0.0)
        + employee_effect(employees)
        + SENIORITY_EFFECT[seniority(title)]
        + country_effect(country)
        + SOURCE_EFFECT.get(source, 0.0)
    )


def lead_logit(lead: Mapping[str, Any]) -> float:
    """The noise-free log-odds of a Lead record, read from its own fields."""
    return conversion_logit(
        lead.get("Industry"),
        lead.get("NumberOfEmployees"),
        lead.get("Title"),
        lead.get("LeadSource"),
        lead.get("Country"),
    )


def conversion_probability(
    industry: str | None,
    employees: int | None,
    title: str | None,
    source: str | None,
    country: str | None,
) -> float:
    """The chance that an eligible lead with these values was converted, noise aside."""
    return _sigmoid(conversion_logit(industry, employees, title, source, country))


def lead_probability(lead: Mapping[str, Any]) -> float:
    """The chance that an eligible Lead record was converted, noise aside."""
    return _sigmoid(lead_logit(lead))


def was_converted(rng: Random, lead: Mapping[str, Any]) -> bool:
    """Draw whether one eligible lead was converted, with its own noise."""
    logit = lead_logit(lead) + rng.gauss(0.0, NOISE_SD)
    return rng.random() < _sigmoid(logit)


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))
