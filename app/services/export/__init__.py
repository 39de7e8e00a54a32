"""The member data export (GDPR Art. 15 and 20): one gathering service, two renderings.

``gather`` collects everything held on a member that the producing staff member may see;
``render_export_pdf`` prints it with a cover letter; ``build_zip`` packs it as JSON and CSV;
``produce`` / ``produce_for_request`` / ``record_handover`` are what the views call.
"""

from app.services.export.art15 import (
    RECIPIENT_SOURCES,
    Recipient,
    recipients_for,
    register_recipient_source,
)
from app.services.export.document import render_export_html, render_export_pdf
from app.services.export.flow import (
    EXPORT_REQUEST_KINDS,
    FORMATS,
    HANDOVER_METHODS,
    LANGUAGES,
    PART_WORDS,
    ClubInfo,
    ExportFile,
    ExportRefusedError,
    RequestExportState,
    member_page_missing_parts,
    omissions_for_export,
    produce,
    produce_for_request,
    record_handover,
    request_export_state,
    request_refusal,
)
from app.services.export.gather import MemberExport, Omission, gather, omissions_for
from app.services.export.package import as_document, build_zip, csv_files, neutralise

__all__ = [
    "EXPORT_REQUEST_KINDS", "FORMATS", "HANDOVER_METHODS", "LANGUAGES", "PART_WORDS",
    "RECIPIENT_SOURCES", "ClubInfo", "ExportFile", "ExportRefusedError", "MemberExport", "Omission",
    "Recipient", "RequestExportState", "as_document", "build_zip", "csv_files", "gather", "neutralise",
    "member_page_missing_parts",
    "omissions_for", "omissions_for_export", "produce", "produce_for_request", "recipients_for", "record_handover",
    "register_recipient_source", "render_export_html", "render_export_pdf", "request_export_state", "request_refusal",
]
