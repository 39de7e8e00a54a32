"""The machine-readable package (GDPR Art. 20): a ZIP with member.json, a CSV per category
and a README, built in memory and never written to disk.

JSON holds everything nested, dates and times in ISO 8601 (times with the club's UTC offset),
amounts as strings so no precision is lost. CSV files are UTF-8 with a header row; a text
cell that a spreadsheet would read as a formula is prefixed with a single quote.
"""

import csv
import io
import json
import re
import zipfile
from dataclasses import asdict
from datetime import date, datetime
from decimal import Decimal

from flask_babel import gettext as _

from app.services.export import art15
from app.services.export.gather import COLUMNS, MemberExport, local

FORMAT_VERSION = 1
# Characters that make Excel, LibreOffice or Google Sheets treat a cell as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")
PLAIN_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")


def plain(value):
    """A value as JSON/CSV wants it: ISO dates and times, Decimals as strings."""
    if isinstance(value, datetime):
        return local(value).isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, set):
        return sorted(value)
    return value


def neutralise(value) -> str:
    """A CSV cell that no spreadsheet will run as a formula (a number stays a number)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(plain(value))
    if text.startswith(FORMULA_STARTS) and not PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def _clean(obj):
    if isinstance(obj, dict):
        return {key: _clean(value) for key, value in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(value) for value in obj]
    return plain(obj)


def as_document(export: MemberExport) -> dict:
    """The export as one nested, JSON-ready dict (what member.json holds)."""
    return {
        "format": "clubhouse-member-export",
        "format_version": FORMAT_VERSION,
        "generated_at": plain(export.generated_at),
        "language": export.language,
        "request_reference": export.request_reference,
        "member_number": export.member_number,
        "profile": _clean(export.profile),
        "subscriptions": _clean(export.subscriptions),
        "visits": {
            "count": export.visit_count,
            "per_month": [
                {"month": m["month"], "visits": m["visits"], "first": plain(m["first"]),
                 "last": plain(m["last"]), "locations": m["locations"]}
                for m in export.visit_months
            ],
            "all": _clean(export.visits if export.visits is not None else export.recent_visits),
        },
        "invoices": _clean(export.invoices),
        "consents": _clean(export.consents),
        "staff_notes": _clean(export.staff_notes),
        "health_notes": _clean(export.health_notes),
        "data_requests": _clean(export.data_requests),
        "not_included": [{"part": o.key, "reason": o.reason} for o in export.omitted],
        "about_the_processing": {
            "categories": _clean(export.categories),
            "recipients": [_clean(asdict(r)) for r in export.recipients],
            "recipients_note": None if export.recipients else _no_recipients_text(),
            "automated_decision_making": str(art15.AUTOMATED_DECISIONS),
            "rights": export.rights,
        },
    }


def _no_recipients_text() -> str:
    return _("No partner system or API client has received or been served your personal data.")


def _csv(header, rows) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([neutralise(cell) for cell in row])
    return buffer.getvalue().encode("utf-8")


def csv_files(export: MemberExport) -> dict[str, bytes]:
    """One CSV per category that is included, by file name."""
    files = {
        "profile.csv": _csv(list(export.profile), [list(export.profile.values())]),
    }
    for category, columns in COLUMNS.items():
        rows = export.visits if category == "visits" else getattr(export, category)
        if rows is None:
            continue  # left out by permission; README.txt says why
        files[f"{category}.csv"] = _csv(columns, ([row[c] for c in columns] for row in rows))
    files["visits_per_month.csv"] = _csv(
        ("month", "visits", "first", "last", "locations"),
        ([m["month"], m["visits"], m["first"], m["last"], "; ".join(m["locations"])] for m in export.visit_months),
    )
    files["recipients.csv"] = _csv(
        ("name", "kind", "categories", "first_at", "last_at", "times"),
        ([r.name, r.kind, "; ".join(r.categories), r.first_at, r.last_at, r.times] for r in export.recipients),
    )
    files["about_the_processing.csv"] = _csv(
        ("category", "title", "included", "records", "purpose", "legal_basis", "source", "retention",
         "retention_basis", "retention_set_by_club"),
        ([c["category"], c["title"], c["included"], c["records"], c["purpose"], c["legal_basis"], c["source"],
          c["retention"], c["retention_basis"], c["retention_set_by_club"]] for c in export.categories),
    )
    return files


def readme(export: MemberExport, club_name: str, club_email: str, files: list[str]) -> str:
    """README.txt in the member's language: what the files are and what is not included."""
    lines = [
        _("Your personal data at %(club)s", club=club_name),
        "=" * 60,
        "",
        _("Member number: %(number)s", number=export.member_number),
        _("Produced on: %(when)s", when=plain(export.generated_at)),
    ]
    if export.request_reference:
        lines.append(_("In answer to your request: %(reference)s", reference=export.request_reference))
    lines += [
        "",
        _("This package holds all personal data the club keeps on you, in formats any computer "
          "can read (GDPR Article 20). The printed letter explains the same data in words."),
        "",
        _("Files:"),
        "  member.json  " + _("everything in one file (JSON); dates and times in ISO 8601, amounts as text"),
    ]
    descriptions = {f"{c}.csv": str(art15.CATEGORY_TITLES[c]) for c in art15.CATEGORIES}
    descriptions["visits_per_month.csv"] = _("number of visits per month")
    descriptions["recipients.csv"] = _("who received your data")
    descriptions["about_the_processing.csv"] = _("purposes, legal basis, sources and retention per category")
    for name in files:
        if name.endswith(".csv"):
            lines.append(f"  {name}  {descriptions.get(name, '')}")
    lines += [
        "",
        _("The CSV files are UTF-8 with a header row. Text that a spreadsheet could mistake for a "
          "formula starts with an apostrophe (') so that it is shown, never run."),
    ]
    if export.omitted:
        lines += ["", _("Not included:")]
        lines += [f"  - {o.reason}" for o in export.omitted]
        lines.append(_("You may ask the club's privacy contact for a complete export."))
    if not export.recipients:
        lines += ["", _no_recipients_text()]
    lines += [
        "",
        _("Questions, corrections or other requests: %(email)s", email=club_email),
        _("You may also complain to the Autoriteit Persoonsgegevens (autoriteitpersoonsgegevens.nl)."),
        "",
    ]
    return "\r\n".join(lines)


def build_zip(export: MemberExport, club_name: str, club_email: str) -> bytes:
    """The ZIP bytes (in memory only)."""
    document = json.dumps(as_document(export), ensure_ascii=False, indent=2).encode("utf-8")
    files = csv_files(export)
    buffer = io.BytesIO()
    stamp = local(export.generated_at).timetuple()[:6]
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        names = ["README.txt", "member.json", *files]
        archive.writestr(zipfile.ZipInfo("README.txt", stamp), readme(export, club_name, club_email, names).encode("utf-8"),
                         compress_type=zipfile.ZIP_DEFLATED)
        archive.writestr(zipfile.ZipInfo("member.json", stamp), document, compress_type=zipfile.ZIP_DEFLATED)
        for name, content in files.items():
            archive.writestr(zipfile.ZipInfo(name, stamp), content, compress_type=zipfile.ZIP_DEFLATED)
    return buffer.getvalue()
