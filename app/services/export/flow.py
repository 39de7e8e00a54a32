"""Producing an export for staff: permission-aware, audited, and recorded on a data request."""

from dataclasses import dataclass, field

from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.extensions import db
from app.models import DataRequest, Member, RequestEvent
from app.models.privacy import EXPORT_KINDS
from app.services import audit, clock
from app.services.errors import DomainError
from app.services.export.document import render_export_pdf
from app.services.export.gather import Omission, gather, omissions_for
from app.services.export.package import build_zip

FORMATS = {"pdf": "application/pdf", "zip": "application/zip"}
LANGUAGES = ("nl", "en")
# Answering requests is what makes a request's export complete (omissions_for_export).
ANSWER_PERMISSION = "privacy.handle"
EXPORT_REQUEST_KINDS = EXPORT_KINDS  # the model's vocabulary (DataRequest.has_export)
# What an export by someone without a guard's permission leaves out, in a few words (gather.GUARDS).
PART_WORDS = {
    "contact": _l("contact details"),
    "finance": _l("invoices and IBAN"),
    "staff_notes": _l("staff notes"),
    "health_notes": _l("health notes"),
}
HANDOVER_METHODS = {
    "in_person": _l("Handed over in person"),
    "email": _l("Sent by (encrypted) email"),
    "post": _l("Sent by post"),
    "download": _l("Made available as a secure download"),
}


class ExportRefusedError(DomainError):
    """The export cannot be produced (yet); the message says why, in words for staff."""


@dataclass(frozen=True)
class ClubInfo:
    """What the package's README needs to know about the club (from configuration)."""

    name: str
    email: str


@dataclass(frozen=True)
class ExportFile:
    filename: str
    mimetype: str
    content: bytes


def produce(member: Member, actor, fmt: str, language: str, club: ClubInfo, *,
            data_request: DataRequest | None = None, source_ip: str | None = None) -> ExportFile:
    """The PDF or ZIP for a member, in the member's language, audited. Nothing touches the disk."""
    if fmt not in FORMATS:
        raise ExportRefusedError(_("Unknown export format."))
    if language not in LANGUAGES:
        raise ExportRefusedError(_("Choose Dutch or English for the export."))
    if member.is_anonymised:
        raise ExportRefusedError(_nothing_left())
    reference = data_request.reference if data_request else None
    omitted = omissions_for_export(actor, data_request)
    with force_locale(language):
        if fmt == "pdf":
            export = gather(member, actor, complete_visits=False, request_reference=reference, omitted=omitted)
            content = render_export_pdf(export)
        else:
            export = gather(member, actor, complete_visits=True, request_reference=reference, omitted=omitted)
            content = build_zip(export, club.name, club.email)
    audit.record(
        f"export.{fmt}", actor,
        target_type="data_request" if data_request else "member",
        target_id=data_request.id if data_request else member.member_number,
        member_number=member.member_number,
        details={"format": fmt, "language": language, "request": reference, "left_out": export.omitted_keys,
                 "complete": not export.omitted},
        source_ip=source_ip,
    )
    return ExportFile(f"export-{member.member_number}.{fmt}", FORMATS[fmt], content)


def omissions_for_export(actor, data_request: DataRequest | None = None) -> list[Omission]:
    """What an export leaves out. The answer to an access or portability request is complete.

    Art. 15 and 20 entitle the member to all their data, so an export made for a request, by staff
    who may answer requests (privacy.handle), holds every category, also those the producer's own
    role hides (the default Privacy officer role cannot read health notes); the export is audited
    as complete. An export from the member page follows the viewer's field permissions and says
    what it leaves out.
    """
    if data_request is not None and data_request.has_export and actor.has_permission(ANSWER_PERMISSION):
        return []
    return omissions_for(actor)


def _nothing_left() -> str:
    return _("This member has been anonymised: there is no personal data left to export.")


@dataclass(frozen=True)
class RequestExportState:
    """What the request page's export step shows; decided here, so the page and the API agree."""

    refusal: str | None  # why nothing can be produced yet (not linked, identity not verified)
    nothing_left: str | None  # the member is anonymised: there is nothing to export
    missing_parts: list[str]  # what an export by this actor leaves out, in words
    complete_beyond_role: list[str] = field(default_factory=list)  # parts included although the role hides them

    @property
    def can_produce(self) -> bool:
        return self.refusal is None and self.nothing_left is None


def request_export_state(data_request: DataRequest, actor) -> RequestExportState:
    """The export step of an access or portability request, for this actor."""
    refusal = request_refusal(data_request)
    member = data_request.member
    nothing_left = _nothing_left() if refusal is None and member.is_anonymised else None
    parts = [str(PART_WORDS[o.key]) for o in omissions_for_export(actor, data_request)]
    beyond = [] if parts else [str(PART_WORDS[o.key]) for o in omissions_for(actor)]
    return RequestExportState(refusal, nothing_left, parts, beyond)


def member_page_missing_parts(actor) -> list[str]:
    """What an export from the member page leaves out for this actor, in words (the card warns about it)."""
    return [str(PART_WORDS[o.key]) for o in omissions_for_export(actor)]


def request_refusal(data_request: DataRequest) -> str | None:
    """Why no export can be produced for this request yet, or None when it can."""
    if not data_request.has_export:
        return _("Only access and portability requests come with a data export.")
    if data_request.member is None:
        return _("This request is not linked to a member yet. Link it to the member first.")
    if data_request.identity_verified_at is None:
        return _("The requester's identity has not been verified. Verify it before producing the export.")
    return None


def produce_for_request(data_request: DataRequest, actor, fmt: str, language: str, club: ClubInfo, *,
                        source_ip: str | None = None) -> ExportFile:
    """The export for the request's member; records on the request that it was produced."""
    refusal = request_refusal(data_request)
    if refusal:
        raise ExportRefusedError(refusal)
    file = produce(data_request.member, actor, fmt, language, club, data_request=data_request, source_ip=source_ip)
    data_request.export_produced_at = clock.utcnow()
    db.session.add(RequestEvent(request=data_request, actor_id=actor.id, action="export_produced", note=fmt))
    db.session.flush()
    return file


def record_handover(data_request: DataRequest, actor, method: str, *, source_ip: str | None = None) -> None:
    """Record that the produced export was handed over to the member, and how."""
    refusal = request_refusal(data_request)
    if refusal:
        raise ExportRefusedError(refusal)
    if data_request.export_produced_at is None:
        raise ExportRefusedError(_("Produce the export before recording that it was handed over."))
    if method not in HANDOVER_METHODS:
        raise ExportRefusedError(_("Choose how the export was handed over."))
    data_request.export_handed_over_at = clock.utcnow()
    db.session.add(RequestEvent(request=data_request, actor_id=actor.id, action="export_handed_over", note=method))
    audit.record(
        "export.handed_over", actor, target_type="data_request", target_id=data_request.id,
        member_number=data_request.member.member_number,
        details={"request": data_request.reference, "method": method}, source_ip=source_ip,
    )
    db.session.flush()
