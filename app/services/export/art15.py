"""The Art. 15 information that accompanies every export: purposes, legal basis, retention,
sources, recipients and the member's rights.

Two extension points live here on purpose:

* ``DEFAULT_RETENTION`` is the one fallback used when the club has no RetentionPolicy row
  for a category; ``default_retention`` can be pointed at the retention service's own
  defaults when that exists (one assignment, see docs/exports.md).
* ``RECIPIENT_SOURCES`` lists functions that say who received a member's data. Until the
  transfer log exists the list is empty and the export says that no partner system received
  anything; the Integrations area registers a DataTransfer-based source with
  ``register_recipient_source``.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.extensions import db
from app.models import Member, RetentionPolicy

# The categories of an export, in the order they appear in the letter and the package.
CATEGORIES = (
    "profile", "subscriptions", "visits", "invoices", "consents",
    "staff_notes", "health_notes", "data_requests",
)

CATEGORY_TITLES = {
    "profile": _l("Personal details"),
    "subscriptions": _l("Subscriptions"),
    "visits": _l("Visits"),
    "invoices": _l("Invoices"),
    "consents": _l("Consents"),
    "staff_notes": _l("Staff notes"),
    "health_notes": _l("Health notes"),
    "data_requests": _l("Data requests"),
}

PURPOSES = {
    "profile": _l("Running your membership: identifying you at the desk, contacting you and collecting the fee."),
    "subscriptions": _l("Knowing which membership you have, what it costs and until when it runs."),
    "visits": _l("Admitting you to the club, and knowing how busy the club is."),
    "invoices": _l("Billing you and keeping the books the law requires."),
    "consents": _l("Knowing what you agreed to (newsletter, photos, partner apps) and proving it."),
    "staff_notes": _l("Serving you well: agreements and remarks staff need to remember."),
    "health_notes": _l("Coaching you safely: health information you chose to share with our trainers."),
    "data_requests": _l("Handling your privacy requests and showing that we did so on time."),
}

LEGAL_BASES = {
    "profile": _l("Performance of the membership contract (GDPR Art. 6(1)(b))."),
    "subscriptions": _l("Performance of the membership contract (GDPR Art. 6(1)(b))."),
    "visits": _l("Performance of the contract and the club's legitimate interest in access control (GDPR Art. 6(1)(b) and (f))."),
    "invoices": _l(
        "Performance of the contract and the legal duty to keep accounts (GDPR Art. 6(1)(b) and "
        "(c); Dutch fiscal law)."
    ),
    "consents": _l("Your consent (GDPR Art. 6(1)(a)); keeping the record is a legal duty (GDPR Art. 7(1))."),
    "staff_notes": _l("The club's legitimate interest in serving its members (GDPR Art. 6(1)(f))."),
    "health_notes": _l("Your explicit consent (GDPR Art. 9(2)(a))."),
    "data_requests": _l("Legal obligation to handle and account for privacy requests (GDPR Art. 6(1)(c), Art. 12 and 5(2))."),
}

SOURCES = {
    "profile": _l("You, when you registered or later changed your details."),
    "subscriptions": _l("Your membership agreement, recorded by staff."),
    "visits": _l("Check-ins at the club."),
    "invoices": _l("The club's administration, from your subscriptions."),
    "consents": _l("You, when you gave or withdrew consent."),
    "staff_notes": _l("Club staff."),
    "health_notes": _l("You, in conversation with our trainers."),
    "data_requests": _l("You, when you made a privacy request."),
}

VISIT_SOURCE_LABELS = {
    "desk": _l("registered at the front desk"),
    "gate": _l("the entrance gate"),
    "app": _l("the club app"),
    "import": _l("imported from an earlier system"),
}

COUNTED_FROM_LABELS = {
    "membership_end": _l("after the membership ends"),
    "subscription_end": _l("after the subscription ends"),
    "visit": _l("after the visit"),
    "issued": _l("after the invoice date"),
    "withdrawn": _l("after consent is withdrawn or the membership ends"),
    "created": _l("after the note was written"),
    "closed": _l("after the request is closed"),
}

ACTION_LABELS = {
    "delete": _l("then deleted"),
    "anonymise": _l("then anonymised"),
}


@dataclass(frozen=True)
class RetentionRule:
    """How long one category is kept: months, from what moment, then which action."""

    period_months: int
    counted_from: str
    action: str
    basis: object = ""  # text, or a lazy translation for the built-in defaults


# The one fallback used when no RetentionPolicy row exists for a category. Keys are the
# policy categories; EXPORT_TO_POLICY maps export categories onto them.
DEFAULT_RETENTION: dict[str, RetentionRule] = {
    "members": RetentionRule(24, "membership_end", "anonymise", _l(
        "Claims on the membership contract can arise up to two years after it ends."
    )),
    "subscriptions": RetentionRule(24, "membership_end", "delete", _l("Kept with the membership for the same two years.")),
    "visits": RetentionRule(12, "visit", "delete", _l("Visit history is only needed for the recent past.")),
    "invoices": RetentionRule(84, "issued", "anonymise", _l("Dutch fiscal law requires seven years (Art. 52 AWR).")),
    "consents": RetentionRule(24, "withdrawn", "delete", _l("Proof of consent is kept for two years after it ends.")),
    "staff_notes": RetentionRule(24, "membership_end", "delete", _l("Kept with the membership.")),
    "health_notes": RetentionRule(0, "membership_end", "delete", _l("Removed as soon as the membership ends.")),
    "data_requests": RetentionRule(24, "closed", "anonymise", _l("Accountability for how requests were handled.")),
}

# Export category -> the retention policy categories that may cover it, first match wins.
EXPORT_TO_POLICY: dict[str, tuple[str, ...]] = {
    "profile": ("members", "ended_memberships", "member", "profile"),
    "subscriptions": ("subscriptions", "members", "ended_memberships"),
    "visits": ("visits",),
    "invoices": ("invoices",),
    "consents": ("consents", "members", "ended_memberships"),
    "staff_notes": ("staff_notes", "notes", "members", "ended_memberships"),
    "health_notes": ("health_notes",),
    "data_requests": ("data_requests", "closed_requests", "requests"),
}


def default_retention() -> dict[str, RetentionRule]:
    """The defaults used where the club set no policy (point this at the retention service's)."""
    return DEFAULT_RETENTION


def retention_by_category() -> dict[str, dict]:
    """Per export category: the rule that applies, and whether it is the club's own policy."""
    policies = {
        p.category: p
        for p in db.session.scalars(select(RetentionPolicy).where(RetentionPolicy.enabled.is_(True)))
    }
    defaults = default_retention()
    result: dict[str, dict] = {}
    for category in CATEGORIES:
        rule, configured = None, False
        for key in EXPORT_TO_POLICY[category]:
            if key in policies:
                p = policies[key]
                rule, configured = RetentionRule(p.period_months, p.counted_from, p.action, p.basis or ""), True
                break
        if rule is None:
            for key in EXPORT_TO_POLICY[category]:
                if key in defaults:
                    rule = defaults[key]
                    break
        result[category] = {"rule": rule, "configured": configured}
    return result


def describe_retention(rule: RetentionRule | None) -> str:
    """'24 months after the membership ends, then anonymised' in the current language."""
    if rule is None:
        return _("No period has been set; kept as long as the membership lasts.")
    if rule.period_months == 0:
        period = _("Immediately")
    elif rule.period_months == 12:
        period = _("1 year")
    elif rule.period_months % 12 == 0:
        period = _("%(num)s years", num=rule.period_months // 12)
    elif rule.period_months == 1:
        period = _("1 month")
    else:
        period = _("%(num)s months", num=rule.period_months)
    counted = COUNTED_FROM_LABELS.get(rule.counted_from)
    counted_text = str(counted) if counted else _("counted from: %(what)s", what=rule.counted_from)
    action = ACTION_LABELS.get(rule.action)
    action_text = str(action) if action else rule.action
    return f"{period} {counted_text}, {action_text}."


# -- Recipients -----------------------------------------------------------------------------


@dataclass
class Recipient:
    """A partner system or API client that received (or was served) the member's data."""

    name: str
    kind: str  # "partner_system", "api_client", ...
    categories: list[str] = field(default_factory=list)  # field or category names, never values
    first_at: date | None = None
    last_at: date | None = None
    times: int = 0


RecipientSource = Callable[[Member], Iterable[Recipient]]

# Functions that report recipients for a member; the Integrations area registers one that
# reads the DataTransfer log. Empty until then: the export states that nothing was sent.
RECIPIENT_SOURCES: list[RecipientSource] = []


def register_recipient_source(source: RecipientSource) -> RecipientSource:
    """Add a recipient source (usable as a decorator); registering twice has no effect."""
    if source not in RECIPIENT_SOURCES:
        RECIPIENT_SOURCES.append(source)
    return source


def recipients_for(member: Member) -> list[Recipient]:
    """Every recipient of the member's data that any registered source knows of."""
    found: list[Recipient] = []
    for source in RECIPIENT_SOURCES:
        found.extend(source(member))
    return sorted(found, key=lambda r: (r.name.casefold(), r.kind))


AUTOMATED_DECISIONS = _l(
    "We do not take decisions about you by automated means alone, and we do not build a profile of you."
)

RIGHTS = (
    ("access", _l("Access (Art. 15)"),
     _l("You may ask which personal data we hold on you; this document is that answer.")),
    ("rectification", _l("Rectification (Art. 16)"),
     _l("You may have incorrect or incomplete data corrected.")),
    ("erasure", _l("Erasure (Art. 17)"),
     _l("You may ask us to erase your data, for example when it is no longer needed or you withdraw "
        "consent. Data we must keep by law (such as invoices) stays until its period ends.")),
    ("restriction", _l("Restriction (Art. 18)"),
     _l("You may ask us to use your data only for storage while a question about it is settled.")),
    ("portability", _l("Data portability (Art. 20)"),
     _l("You may receive the data you gave us in a machine-readable form (the ZIP package with JSON "
        "and CSV files) and pass it on.")),
    ("objection", _l("Objection (Art. 21)"),
     _l("You may object to processing based on our legitimate interest.")),
    ("consent", _l("Withdrawing consent (Art. 7(3))"),
     _l("You may withdraw any consent at any time; this does not affect what was done before.")),
    ("complaint", _l("Complaint (Art. 77)"),
     _l("You may file a complaint with the Dutch Data Protection Authority, the Autoriteit "
        "Persoonsgegevens (autoriteitpersoonsgegevens.nl, Postbus 93374, 2509 AJ Den Haag).")),
)
