"""Which leads to convert, and how: the parsed `mappings/conversion.yaml` and its decision.

A lead is converted when the criteria hold on its values as they will be once
sfsync's own writes land (so a criterion on the score sees the new score).
Before anything is sent, the lead is checked the way Salesforce would refuse
it (no last name, no company, a queue owner with no owner for the new
records); a lead that fails is reported, not sent.
"""

from __future__ import annotations

import string
from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from sfsync.ids import to18
from sfsync.rules.conditions import CriteriaRule, Test
from sfsync.rules.criteria import Criteria, Criterion

QUEUE_PREFIX = "00G"
NAME_MAX = 120
REQUIRED = ("LastName", "Company")


class ConversionConfig(BaseModel):
    """The parsed `mappings/conversion.yaml`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = True
    criteria: tuple[Criterion, ...] = Field(min_length=1)
    filter_logic: str | None = None
    converted_status: str = Field(min_length=1)
    create_opportunity: bool = True
    # `{Company}`-style placeholders from lead fields.
    opportunity_name: str = "{Company} - new business"
    # Owner of the new records when the lead's owner cannot own them: a queue or an
    # inactive user (Salesforce refuses both). Without it such leads are not converted.
    fallback_owner: str | None = None
    overwrite_lead_source: bool = False
    # Per new record (Account, Contact, Opportunity): lead field → field copied there
    # after conversion, for what the org's own lead-field mapping does not cover.
    copy_to: Mapping[Literal["Account", "Contact", "Opportunity"], Mapping[str, str]] = Field(
        default_factory=dict
    )

    @field_validator("fallback_owner")
    @classmethod
    def _owner_id(cls, value: str | None) -> str | None:
        # People copy 15-character ids from the UI; the org answers with 18.
        return to18(value) if value else None

    @model_validator(mode="after")
    def _logic_valid(self) -> ConversionConfig:
        self.test  # noqa: B018 - building the Criteria validates the filter logic
        return self

    @field_validator("opportunity_name")
    @classmethod
    def _template(cls, value: str) -> str:
        check_template(value)
        return value

    @property
    def test(self) -> Criteria:
        """The conversion criteria as one testable value."""
        return Criteria(rows=self.criteria, filter_logic=self.filter_logic)

    @cached_property
    def holds(self) -> Test:
        """The criteria compiled once (same meaning as `test.holds`, many times faster)."""
        return CriteriaRule(criteria=self.criteria, filter_logic=self.filter_logic).holds


def decide_conversion(
    values: Mapping[str, Any], config: ConversionConfig, active_users: frozenset[str] | None = None
) -> tuple[dict[str, Any] | None, str | None]:
    """(convert request, None) to convert; (None, why not) when blocked; (None, None) otherwise."""
    if not config.enabled or not config.holds(values):
        return None, None
    missing = [name for name in REQUIRED if not str(values.get(name) or "").strip()]
    if missing:
        return None, f"cannot convert: {', '.join(missing)} is blank"
    owner = str(values.get("OwnerId") or "")
    owner_id = None
    if not _can_own(owner, active_users):
        if not config.fallback_owner:
            who = "a queue" if owner.startswith(QUEUE_PREFIX) else "an inactive user"
            return None, f"cannot convert: {who} owns the lead and no fallback_owner is set"
        owner_id = config.fallback_owner
    return _request(values, config, owner_id), None


def _can_own(owner: str, active_users: frozenset[str] | None) -> bool:
    if owner.startswith(QUEUE_PREFIX):
        return False
    return active_users is None or owner in active_users


def _request(
    values: Mapping[str, Any], config: ConversionConfig, owner: str | None
) -> dict[str, Any]:
    name = None
    if config.create_opportunity:
        name = opportunity_name(config.opportunity_name, values)
    copies = {
        sobject: {
            target: values.get(source)
            for source, target in mapping.items()
            if values.get(source) not in (None, "")
        }
        for sobject, mapping in config.copy_to.items()
    }
    return {
        "copy_to": {sobject: fields for sobject, fields in copies.items() if fields},
        "converted_status": config.converted_status,
        "owner_id": owner,
        "do_not_create_opportunity": not config.create_opportunity,
        "opportunity_name": name,
        "overwrite_lead_source": config.overwrite_lead_source,
    }


def check_template(template: str) -> None:
    """Refuse anything but `{Field}` placeholders: formats and attributes fail on real values."""
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ValueError(f"opportunity_name is not a valid template: {exc}") from None
    for _text, name, spec, conversion in parts:
        if name is not None and (not name.isidentifier() or spec or conversion):
            raise ValueError(
                f"use plain {{Field}} placeholders, not {{{name}"
                f"{'!' + conversion if conversion else ''}{':' + spec if spec else ''}}}"
            )


class _Blank(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return ""


def opportunity_name(template: str, values: Mapping[str, Any]) -> str:
    """The template filled from lead fields (unknown fields are blank), cut to 120 characters."""
    filled = template.format_map(_Blank({k: "" if v is None else v for k, v in values.items()}))
    filled = " ".join(filled.split()).strip(" -")
    return (filled or "New opportunity")[:NAME_MAX]


FREE_MAIL = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "yahoo.com",
        "hotmail.com",
        "outlook.com",
        "live.com",
        "aol.com",
        "icloud.com",
        "gmx.de",
        "gmx.net",
        "web.de",
        "proton.me",
        "protonmail.com",
        "mail.ru",
        "yandex.ru",
        "qq.com",
        "163.com",
    }
)
_LEGAL_SUFFIXES = (
    " incorporated",
    " inc",
    " corporation",
    " corp",
    " llc",
    " ltd",
    " limited",
    " gmbh",
    " ag",
    " sa",
    " sas",
    " bv",
    " plc",
    " co",
    " company",
    " kg",
    " & co",
)


def email_domain(value: Any) -> str | None:
    """The domain of an email address, lower-case; None when blank or malformed."""
    text = str(value or "").strip().lower()
    if text.count("@") != 1:
        return None
    domain = text.split("@", 1)[1]
    return domain or None


def website_domain(value: Any) -> str | None:
    """The host of a website, lower-case, without scheme, path or `www.`."""
    text = str(value or "").strip().lower()
    for prefix in ("https://", "http://"):
        text = text.removeprefix(prefix)
    host = text.split("/", 1)[0].split(":", 1)[0].removeprefix("www.")
    return host or None


def company_key(value: Any) -> str:
    """A company name without case, punctuation and legal suffixes (`Acme, Inc.` → `acme`)."""
    text = " " + "".join(
        ch if ch.isalnum() or ch in " &" else " " for ch in str(value or "").lower()
    )
    text = " ".join(text.split())
    changed = True
    while changed:
        changed = False
        for suffix in _LEGAL_SUFFIXES:
            if text.endswith(suffix) and len(text) > len(suffix):
                text, changed = text[: -len(suffix)].strip(), True
    return text.strip()


def choose_targets(
    lead: Mapping[str, Any],
    contacts: Sequence[Mapping[str, Any]],
    accounts: Sequence[Mapping[str, Any]],
) -> tuple[str | None, str | None, str]:
    """The existing (account, contact) to convert into, and why; (None, None) creates new ones.

    The person first: a contact with the lead's email brings its account. Then
    the company: an account whose website domain is the lead's (corporate)
    email domain, or whose name is the lead's company without legal suffixes.
    """
    email = str(lead.get("Email") or "").strip().lower()
    for contact in contacts:
        same = email and str(contact.get("Email") or "").strip().lower() == email
        if same and contact.get("AccountId"):
            return str(contact["AccountId"]), str(contact["Id"]), "contact with the same email"
    domain = email_domain(email)
    if domain and domain not in FREE_MAIL:
        for account in accounts:
            if website_domain(account.get("Website")) == domain:
                return str(account["Id"]), None, f"account with website {domain}"
    key = company_key(lead.get("Company"))
    for account in accounts:
        if key and company_key(account.get("Name")) == key:
            return str(account["Id"]), None, "account with the same company name"
    return None, None, "no existing account or contact: new ones are created"
