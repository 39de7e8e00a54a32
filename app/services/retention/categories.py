"""The categories of personal data a retention policy can cover, their defaults and their wording."""

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from app.services import fiscal

MAX_PERIOD_MONTHS = 600  # 50 years: anything longer is a typing error, not a policy
BASIS_MAX_LENGTH = 4000
# Dutch tax law (art. 52 AWR): services/fiscal.py holds the rule.
FISCAL_MINIMUM_MONTHS = fiscal.RETENTION_MONTHS

ACTION_WORDS = {"delete": _l("deleted"), "anonymise": _l("anonymised")}
ACTION_CHOICES = {"delete": _l("Delete"), "anonymise": _l("Anonymise")}

# What a period is counted from, as it reads after "... 24 months after ".
COUNTED_FROM_WORDS = {
    "membership_end": _l("the membership ended"),
    "visit": _l("the visit"),
    "book_year_end": _l("the end of the book year"),
    "created": _l("the note was written"),
    "closed": _l("the request was closed"),
    "occurred": _l("the event was logged"),
    "withdrawn": _l("the consent was withdrawn"),
    "lifted": _l("the hold was lifted"),
    "window": _l("the counting window started"),
    "delivered": _l("the data was sent"),
    "received": _l("the request was received"),
    "recorded": _l("the change was recorded"),
}


@dataclass(frozen=True)
class Category:
    """One kind of data a policy can cover, and what a policy for it may say."""

    key: str
    label: object
    counted_from: tuple[str, ...]  # allowed; the first is the default
    actions: tuple[str, ...]  # allowed; the first is the default
    default_period: int
    default_basis: object
    minimum_period: int = 1


CATEGORIES: dict[str, Category] = {
    c.key: c
    for c in (
        Category(
            "ended_memberships",
            _l("Ended memberships"),
            ("membership_end",),
            ("anonymise", "delete"),
            24,
            _l(
                "Member details are needed while someone is a member and for a while after "
                "(final invoices, questions, members who come back). After that there is no "
                "purpose left: the member is anonymised, so visit and subscription figures stay "
                "(which plan of the club's catalogue, from when until when) but the person is gone. "
                "Members with a legal hold, an unpaid invoice or an "
                "open data request are skipped until that is settled."
            ),
        ),
        Category(
            "visits",
            _l("Visit history"),
            ("visit",),
            ("delete",),
            24,
            _l(
                "Check-ins are used for access, busy-hour figures and questions about a visit. "
                "Older visits serve none of these purposes."
            ),
        ),
        Category(
            "invoices",
            _l("Invoices"),
            ("book_year_end",),
            ("delete",),
            FISCAL_MINIMUM_MONTHS,
            _l(
                "Dutch tax law (art. 52 of the Algemene wet inzake rijksbelastingen) obliges the "
                "club to keep its books, invoices included, for %(years)s years after the end of the book "
                "year. A shorter period is not allowed. Unpaid invoices are kept.",
                years=fiscal.RETENTION_YEARS,
            ),
            minimum_period=FISCAL_MINIMUM_MONTHS,
        ),
        Category(
            "health_notes",
            _l("Health notes"),
            ("membership_end",),
            ("delete",),
            3,
            _l(
                "Health information is special-category data (GDPR art. 9), kept only so trainers "
                "can coach a member safely. Once the membership has ended it is deleted quickly."
            ),
        ),
        Category(
            "staff_notes",
            _l("Staff notes"),
            ("membership_end", "created"),
            ("delete",),
            12,
            _l(
                "Notes help staff serve a member. A year after the membership ended they are of "
                "no further use."
            ),
        ),
        Category(
            "closed_requests",
            _l("Closed data requests"),
            ("closed",),
            ("delete",),
            36,
            _l(
                "The register shows how requests were handled, which the club must be able to "
                "prove (GDPR art. 5(2)). Closed requests are already minimised; what is left is "
                "deleted after 3 years."
            ),
        ),
        Category(
            "withdrawn_consents",
            _l("Withdrawn consents"),
            ("withdrawn",),
            ("delete",),
            24,
            _l(
                "A withdrawn consent is kept for a while as proof that the club stopped the "
                "processing (newsletter, photos, partner apps) when asked."
            ),
        ),
        Category(
            "lifted_holds",
            _l("Lifted legal holds"),
            ("lifted",),
            ("delete",),
            12,
            _l(
                "A lifted hold no longer keeps anything; its record (with the reason) is kept a "
                "year to answer questions about the dispute."
            ),
        ),
        Category(
            "audit_events",
            _l("Audit log"),
            ("occurred",),
            ("delete",),
            60,
            _l(
                "The audit log shows who did what with members' data, for security and to answer "
                "questions from members and the Dutch DPA. It holds member numbers, so it is not "
                "kept forever. The oldest entries go first, so the chain of the rest stays "
                "verifiable; the log stops at the first entry of a member under a legal hold."
            ),
        ),
        Category(
            "data_transfers",
            _l("Transfer log (data sent to partners)"),
            ("delivered",),
            ("delete",),
            36,
            _l(
                "The log of what member data went to which partner system and when (field names, "
                "never values). Members are told who received their data (GDPR art. 15) and "
                "recipients are told of corrections and erasures (art. 19); after 3 years an old "
                "delivery no longer matters for either."
            ),
        ),
        Category(
            "api_changes",
            _l("Changes feed of the API clients"),
            ("recorded",),
            ("delete",),
            3,
            _l(
                "Tells API clients which members they received were corrected, restricted or erased "
                "(member number, kind, time). Partners read it within days; an entry older than 3 "
                "months has been read or will never be."
            ),
        ),
        Category(
            "api_idempotency_keys",
            _l("API idempotency keys"),
            ("received",),
            ("delete",),
            1,
            _l(
                "Let an access gate retry a check-in without it counting twice. A key is honoured for "
                "24 hours; after a month it is deleted."
            ),
        ),
        Category(
            "rate_limits",
            _l("Rate-limit counters"),
            ("window",),
            ("delete",),
            1,
            _l(
                "Counters against abuse of the login and the public request form hold network "
                "addresses. They are needed for an hour; a month later they go."
            ),
        ),
        Category(
            "connector_outbox",
            _l("Delivered partner calls (outbox)"),
            ("delivered",),
            ("delete",),
            3,
            _l(
                "The outbox holds the calls to partner systems such as eGym: a member id and the kind "
                "of change, never the data. A delivered call is kept a few months to answer questions "
                "about a sync. Calls still waiting or parked are never removed by the sweep."
            ),
        ),
    )
}

# The order the sweep applies the policies in: memberships first (the erasure engine removes
# their notes, consents and old invoices in the same batch statements), then what is left of
# each category, the audit log last (the sweep's own entries are written before it).
SWEEP_ORDER = (
    "ended_memberships",
    "rate_limits",
    "api_idempotency_keys",
    "api_changes",
    "data_transfers",
    "lifted_holds",
    "withdrawn_consents",
    "visits",
    "staff_notes",
    "health_notes",
    "closed_requests",
    "invoices",
    "connector_outbox",
    "audit_events",
)
DISPLAY_ORDER = (
    "ended_memberships",
    "visits",
    "invoices",
    "health_notes",
    "staff_notes",
    "withdrawn_consents",
    "closed_requests",
    "lifted_holds",
    "connector_outbox",
    "audit_events",
    "data_transfers",
    "api_changes",
    "api_idempotency_keys",
    "rate_limits",
)


def period_words(months: int) -> str:
    """'24 months', '7 years' (whole years from three years up read better in years)."""
    if months >= 36 and months % 12 == 0:
        return ngettext("%(num)s year", "%(num)s years", months // 12)
    return ngettext("%(num)s month", "%(num)s months", months)

