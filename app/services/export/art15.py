"""The Art. 15 information that accompanies every export: purposes, legal basis, retention,
sources, recipients and the member's rights.

Two extension points live here on purpose:

* ``RETENTION_CATEGORY`` names the retention policy behind each category, so the export
  states exactly what the retention sweep enforces (its defaults until the club saves them).
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

from app.models import Member
from app.services import retention

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

# The retention policy (app/services/retention.py) that decides how long each export
# category is kept: the export quotes the very policy the sweep enforces.
RETENTION_CATEGORY = {
    "profile": "ended_memberships",
    "subscriptions": "ended_memberships",
    "visits": "visits",
    "invoices": "invoices",
    "consents": "withdrawn_consents",
    "staff_notes": "staff_notes",
    "health_notes": "health_notes",
    "data_requests": "closed_requests",
}


def retention_by_category() -> dict[str, dict]:
    """Per export category: its policy in words, the basis, and whether the club saved it."""
    result: dict[str, dict] = {}
    for category in CATEGORIES:
        policy = retention.effective_policy(RETENTION_CATEGORY[category])
        if policy.enabled:
            words, months = retention.describe(policy), policy.period_months
        else:
            words, months = _("No period has been set; kept as long as the membership lasts."), None
        result[category] = {
            "words": words,
            "basis": retention.basis_text(policy),
            "months": months,
            "configured": policy.id is not None,
        }
    return result


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
