"""Export views: a member's data as PDF or ZIP, from the member page or from a data request."""

from flask import Response, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.auth.decorators import permission_required
from app.blueprints.privacy import bp
from app.blueprints.privacy.export_forms import ExportForm, HandoverForm
from app.blueprints.web import client_ip, member_or_404, request_or_404
from app.extensions import db
from app.services import export as export_service
from app.services import mail

FORMAT_RULE = "<any(pdf, zip):fmt>"


def _club() -> export_service.ClubInfo:
    return export_service.ClubInfo(current_app.config["CLUB_NAME"], current_app.config["CLUB_EMAIL"])


def _language(value: str | None) -> str:
    if value in export_service.LANGUAGES:
        return value
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def _download(file: export_service.ExportFile) -> Response:
    """The file as an attachment that no browser or proxy keeps."""
    response = Response(file.content, mimetype=file.mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{file.filename}"'
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


def _request_page(reference: str) -> str:
    """The request page (a stable URL, /privacy/requests/<reference>)."""
    return f"{url_for('privacy.requests')}/{reference}"


@bp.app_context_processor
def export_helpers():
    """The hand-over choices for the request page's export partial, and what the member page's export leaves out."""
    return {"export_handover_methods": list(export_service.HANDOVER_METHODS.items()),
            "export_mail_configured": mail.configured(),
            "export_missing_parts": lambda: export_service.member_page_missing_parts(current_user)}


@bp.get(f"/members/<int:member_number>/export.{FORMAT_RULE}")
@permission_required("privacy.export")
def member_export(member_number: int, fmt: str):
    """Download a member's export from the member page (GET: it changes nothing but the audit log)."""
    member = member_or_404(member_number)
    try:
        file = export_service.produce(
            member, current_user, fmt, _language(request.args.get("lang")), _club(), source_ip=client_ip()
        )
    except export_service.ExportRefusedError as refused:
        db.session.rollback()
        flash(refused.message, "error")
        return redirect(url_for("members.show", member_number=member_number, tab="privacy"))  # where the export card is
    db.session.commit()
    return _download(file)


def _choose_language(reference: str):
    flash(_("Choose Dutch or English for the export."), "error")
    return redirect(_request_page(reference))


@bp.post(f"/requests/<reference>/export.{FORMAT_RULE}")
@permission_required("privacy.export")
def request_export(reference: str, fmt: str):
    """Produce the export for a request's member; the request records that it was produced."""
    data_request = request_or_404(reference)
    form = ExportForm()
    if not form.validate_on_submit():
        return _choose_language(reference)
    try:
        file = export_service.produce_for_request(
            data_request, current_user, fmt, form.language.data, _club(), source_ip=client_ip()
        )
    except export_service.ExportRefusedError as refused:
        db.session.rollback()
        flash(refused.message, "error")
        return redirect(_request_page(reference))
    db.session.commit()
    return _download(file)


@bp.get("/requests/<reference>/export/block")
@permission_required("privacy.view")
def request_export_block(reference: str):
    """The request page's export block on its own: clubhouse.js fetches it after a download, so the
    block shows the produced export and the hand-over question without a reload (without script a
    reload shows the same)."""
    data_request = request_or_404(reference)
    state = export_service.request_export_state(data_request, current_user) if data_request.has_export else None
    response = Response(render_template("privacy/_request_export.html", data_request=data_request,
                                        export_state=state), mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/requests/<reference>/export/handed-over")
@permission_required("privacy.export")
def request_export_handed_over(reference: str):
    """Record that the export was handed over to the member, and how."""
    data_request = request_or_404(reference)
    form = HandoverForm()
    if not form.validate_on_submit() or not form.method.data:
        flash(_("Choose how the export was handed over."), "error")
        return redirect(_request_page(reference))
    try:
        export_service.record_handover(data_request, current_user, form.method.data, source_ip=client_ip())
    except export_service.ExportRefusedError as refused:
        db.session.rollback()
        flash(refused.message, "error")
        return redirect(_request_page(reference))
    db.session.commit()
    flash(_("Recorded that the export was handed over."), "success")
    return redirect(_request_page(reference))


@bp.post("/requests/<reference>/export/email")
@permission_required("privacy.export")
def request_export_email(reference: str):
    """Queue the export as an encrypted ZIP to the requester; the password is shown here, once."""
    data_request = request_or_404(reference)
    form = ExportForm()
    if not form.validate_on_submit():
        return _choose_language(reference)
    try:
        password = mail.send_export(data_request, current_user, language=form.language.data)
    except export_service.ExportRefusedError as refused:
        db.session.rollback()
        flash(refused.message, "error")
        return redirect(_request_page(reference))
    db.session.commit()
    mail.kick(current_app._get_current_object())
    return render_template("privacy/export_password.html", data_request=data_request, password=password)
