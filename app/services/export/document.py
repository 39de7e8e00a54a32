"""The printable export (GDPR Art. 15): a cover letter and the data in sections, as a PDF."""

from babel.dates import get_month_names
from flask import render_template
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from app.services.export import art15
from app.services.export.gather import MemberExport
from app.services.pdf import render_pdf

# Words for the codes stored in the database, as a member should read them.
LABELS = {
    "field": {
        "member_number": _l("Member number"), "first_name": _l("First name"), "infix": _l("Infix"),
        "last_name": _l("Last name"), "date_of_birth": _l("Date of birth"), "gender": _l("Gender"),
        "email": _l("Email"), "phone": _l("Phone"), "street": _l("Street"), "house_number": _l("House number"),
        "postcode": _l("Postcode"), "city": _l("City"), "country": _l("Country"), "iban": _l("IBAN"),
        "joined_on": _l("Member since"), "ended_on": _l("Membership ended on"), "status": _l("Status"),
        "processing_restricted": _l("Processing restricted"), "restricted_since": _l("Restricted since"),
        "created_at": _l("Registered on"), "updated_at": _l("Last changed on"),
    },
    "gender": {"female": _l("female"), "male": _l("male"), "other": _l("other")},
    "member_status": {"active": _l("active"), "ended": _l("ended"), "anonymised": _l("anonymised")},
    "subscription_status": {"active": _l("active"), "ended": _l("ended"), "cancelled": _l("cancelled"),
                            "frozen": _l("frozen")},
    "invoice_status": {"open": _l("open"), "paid": _l("paid"), "cancelled": _l("cancelled")},
    "visit_source": {"desk": _l("front desk"), "gate": _l("gate"), "app": _l("app"), "import": _l("import")},
    "consent_purpose": {
        "newsletter": _l("Newsletter"), "photos": _l("Photos"), "marketing": _l("Marketing"),
        "technogym": _l("Technogym"), "egym": _l("eGym"),
    },
    "consent_status": {"given": _l("given"), "withdrawn": _l("withdrawn")},
    "channel": {
        "desk": _l("at the desk"), "intake": _l("online form"), "mail": _l("by post"), "email": _l("by email"),
        "phone": _l("by phone"), "app": _l("in the app"), "website": _l("on the website"), "paper": _l("on paper"),
    },
    "request_kind": {
        "access": _l("access"), "portability": _l("data portability"), "erasure": _l("erasure"),
        "rectification": _l("rectification"), "restriction": _l("restriction"), "objection": _l("objection"),
    },
    "request_status": {
        "received": _l("received"), "in_progress": _l("in progress"), "completed": _l("completed"),
        "refused": _l("refused"), "withdrawn": _l("withdrawn"),
    },
    "decision": {"grant": _l("granted"), "partial": _l("partly granted"), "refuse": _l("refused")},
    "recipient_kind": {"partner_system": _l("partner system"), "api_client": _l("API client"),
                       "connector": _l("partner system"), "manual": _l("recipient registered by the club")},
}


def label(group: str, code) -> str:
    """The words for a stored code; an unknown code is shown as it is."""
    if code is None or code == "":
        return ""
    found = LABELS.get(group, {}).get(code)
    return str(found) if found is not None else str(code)


def country_name(code) -> str:
    """A stored ISO country code (NL) as its name in the reader's language (Nederland, Netherlands)."""
    if not code:
        return ""
    return get_locale().territories.get(str(code).upper(), str(code))


def visit_matrix(visit_months: list[dict]) -> list[tuple[int, list[int], int]]:
    """Visits per month as rows of (year, twelve monthly counts, total), newest year first.

    A year per row keeps even a long membership's history on a page or two of print.
    """
    years: dict[int, list[int]] = {}
    for month in visit_months:
        year, number = (int(part) for part in month["month"].split("-"))
        years.setdefault(year, [0] * 12)[number - 1] += month["visits"]
    return [(year, counts, sum(counts)) for year, counts in sorted(years.items(), reverse=True)]


def render_export_html(export: MemberExport) -> str:
    """The HTML the PDF is made from (in the language active while rendering)."""
    names = get_month_names("abbreviated", locale=get_locale())
    locations = sorted({place for month in export.visit_months for place in month["locations"]})
    return render_template(
        "pdf/export.html", export=export, label=label, country_name=country_name, titles=art15.CATEGORY_TITLES,
        recent_limit=len(export.recent_visits), visit_matrix=visit_matrix(export.visit_months),
        automated_decisions=art15.AUTOMATED_DECISIONS,
        month_names=[names[number].rstrip(".").capitalize() for number in range(1, 13)], visit_locations=locations,
    )


def render_export_pdf(export: MemberExport, fetcher=None) -> bytes:
    """The PDF bytes, rendered in memory with the static-only fetcher."""
    return render_pdf(render_export_html(export), fetcher)
