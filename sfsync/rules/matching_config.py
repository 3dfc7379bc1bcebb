"""The typed model of `mappings/matching.yaml`: match keys, rules, comparisons, equations.

A rule reads like a Salesforce matching rule: numbered field comparisons, each
with a method and a threshold, and an equation over their numbers
("(1 AND 2 AND 3) OR (1 AND 2 AND 4)"). Every record is compared in the
Lead's field names: the mirror keeps Contacts' mailing address and their
account's name, and Accounts' billing address and name, under them.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from sfsync.rules.criteria import parse_filter_logic
from sfsync.rules.matching_methods import METHODS

# The Lead-shaped fields the mirror keeps for every record (see store/mirror.py).
MATCH_FIELDS = (
    "FirstName", "LastName", "Email", "Phone", "MobilePhone", "Company", "Title",
    "Street", "City", "State", "PostalCode", "Country", "Website",
)  # fmt: skip
OBJECTS = ("Lead", "Contact", "Account")
PERSON_OBJECTS = frozenset({"Lead", "Contact"})


class MatchKey(StrEnum):
    """Blocking keys: how candidates are found before any rule runs (all indexed in the store)."""

    EMAIL = "email"  # normalised e-mail (john_doe@us.ibm.com -> johndoe@ibm.com)
    PHONE = "phone"  # E.164 phone
    NAME_COMPANY = "name_company"  # metaphone(last) + first initial, with the company key
    DOMAIN = "domain"  # corporate e-mail / Website domain against Accounts' Website
    COMPANY = "company"  # company key: the account and the people at that company


class FieldComparison(BaseModel):
    """One numbered comparison of a rule."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    field: str
    method: str
    threshold: float | None = Field(default=None, ge=0, le=100)
    # Salesforce's "Match blank fields": both blank counts as a match. Off by default.
    match_blank_fields: bool = False
    # Salesforce's standard rule ignores a blank first or last name when Email matched.
    ignore_blank_when_matched: tuple[str, ...] = ()

    @field_validator("field")
    @classmethod
    def _known_field(cls, value: str) -> str:
        if value not in MATCH_FIELDS:
            raise ValueError(f"field {value!r} is not one matching reads {list(MATCH_FIELDS)}")
        return value

    @field_validator("method")
    @classmethod
    def _known_method(cls, value: str) -> str:
        if value not in METHODS:
            raise ValueError(f"method {value!r} is not one of {sorted(METHODS)}")
        return value

    @property
    def cutoff(self) -> float:
        """The threshold in force: the configured one, else the method's usual one."""
        return METHODS[self.method].threshold if self.threshold is None else self.threshold


class MatchRule(BaseModel):
    """A matching rule: which objects it compares a lead with, its comparisons and equation."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=80)
    objects: tuple[str, ...] = Field(min_length=1)
    comparisons: tuple[FieldComparison, ...] = Field(min_length=1, max_length=50)
    # Without an equation every comparison must match.
    equation: str | None = None
    # Compare the lead's first name with the candidate's last name and vice versa too.
    transpose_names: bool = False

    @field_validator("objects")
    @classmethod
    def _known_objects(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [o for o in value if o not in OBJECTS]
        if unknown:
            raise ValueError(f"objects {unknown} are not among {list(OBJECTS)}")
        return value

    @field_validator("equation")
    @classmethod
    def _equation_parses(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parse_filter_logic(value)
        # Confidence reads AND as "the weakest" and OR as "the strongest": NOT has no such reading.
        if "NOT" in value.upper().split() or "NOT(" in value.upper().replace(" ", ""):
            raise ValueError("a matching equation uses AND, OR and parentheses only (no NOT)")
        return value

    @model_validator(mode="after")
    def _numbers_and_names_exist(self) -> MatchRule:
        logic = self.equation or ""
        count = len(self.comparisons)
        numbers = [int(t) for t in logic.replace("(", " ").replace(")", " ").split() if t.isdigit()]
        missing = sorted({n for n in numbers if not 1 <= n <= count})
        if missing:
            raise ValueError(f"equation names comparison(s) {missing}; there are {count}")
        fields = {c.field for c in self.comparisons}
        for comparison in self.comparisons:
            unknown = sorted(set(comparison.ignore_blank_when_matched) - fields)
            if unknown:
                raise ValueError(
                    f"{comparison.field}: ignore_blank_when_matched names {unknown}, "
                    "which this rule does not compare"
                )
        return self


class DuplicateAction(StrEnum):
    """What the sync cycle does with a new lead that duplicates an older lead."""

    FLAG = "flag"  # set `duplicate_field` (and `duplicate_status`) on the newer lead
    MERGE = "merge"  # fold one lead into the other with the SOAP API's merge(), once
    ALERT = "alert"  # record it for `sfsync explain` and the reports only


class MergeMaster(StrEnum):
    """Which of two duplicate leads survives a merge."""

    OLDEST = "oldest"  # the lead that was there first keeps its owner, history and Id
    NEWEST = "newest"  # the fresh submission wins (its values are the latest)


class MatchActions(BaseModel):
    """What the sync cycle does with the matches of new leads (matching.yaml `actions:`).

    Matches with contacts and accounts always reach routing: `contact_owner`
    and `account_owner` entries route a lead to that record's owner.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    lead_to_lead: DuplicateAction = DuplicateAction.ALERT
    # A Lead lookup (or text) field that names the surviving, older lead.
    duplicate_field: str | None = Field(default=None, min_length=1, max_length=80)
    # The Status a flagged duplicate moves to (one of the org's Lead statuses), if any.
    duplicate_status: str | None = Field(default=None, min_length=1, max_length=255)
    # With `lead_to_lead: merge`: which lead survives (the other is merged into it).
    merge_master: MergeMaster = MergeMaster.OLDEST
    # Matches below this confidence (0 to 1) are neither shown nor acted on.
    min_confidence: float = Field(default=0.0, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _flag_needs_a_field(self) -> MatchActions:
        if self.lead_to_lead is DuplicateAction.FLAG and not self.duplicate_field:
            raise ValueError("lead_to_lead: flag needs duplicate_field (e.g. Duplicate_Of__c)")
        return self


class MatchingConfig(BaseModel):
    """All of matching.yaml."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    match_keys: tuple[MatchKey, ...] = tuple(MatchKey)
    rules: tuple[MatchRule, ...] = Field(min_length=1)
    # Extra nickname pairs beside the shipped table (non-English variants, company habits).
    name_variants: tuple[tuple[str, str], ...] = ()
    # Added to the shipped legal suffixes for company comparison and keys.
    legal_suffixes: tuple[str, ...] = ()
    # ISO code for reading phone numbers of records without a Country.
    default_country: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")
    # A blocking key shared by more records than this says nothing (info@, a switchboard).
    max_candidates_per_key: int = Field(default=200, ge=1, le=100_000)
    actions: MatchActions = Field(default_factory=MatchActions)

    @model_validator(mode="after")
    def _unique_rule_names(self) -> MatchingConfig:
        names = [r.name for r in self.rules]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"rule name(s) {twice} are used twice")
        return self

    def rules_for(self, sobject: str) -> tuple[MatchRule, ...]:
        """The rules that compare a lead with records of `sobject`."""
        return tuple(r for r in self.rules if sobject in r.objects)
