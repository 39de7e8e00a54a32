"""The member import pages: upload, map the columns, preview, import or cancel, refused rows."""

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.file import FileField
from wtforms import SelectField

from app.auth.decorators import permission_required
from app.blueprints.form_helpers import BaseForm, choices
from app.blueprints.members import bp
from app.extensions import db
from app.services import importer

# Files with more rows than this go to the job worker; smaller ones are imported while you wait.
INLINE_ROWS = 5000
# The page checks this many rows for its preview (a request must answer within gunicorn's 30 s);
# the import checks every row, and the refused ones come back in the refused-rows file.
PAGE_PREVIEW_ROWS = 10_000


class UploadForm(BaseForm):
    file = FileField(_l("CSV file"))


class RunForm(BaseForm):
    """The buttons of the preview (import, cancel) and the refused-rows download: CSRF only."""


def _mapping_form(imp, formdata=None):
    headers = importer.headers_of(imp)
    mapping = importer.mapping_of(imp)
    options = [("", _("(not imported)"))] + [(f, importer.FIELD_LABELS[f]) for f in importer.FIELDS]

    class MappingForm(BaseForm):
        pass

    for index, header in enumerate(headers):
        setattr(MappingForm, f"col_{index}", SelectField(header, choices=choices(options),
                                                         default=mapping.get(header, "")))
    form = MappingForm(formdata=formdata)
    return form, headers


def _import_or_404(import_id: int):
    imp = importer.get(import_id)
    if imp is None:
        abort(404)
    return imp


@bp.route("/import", methods=["GET", "POST"], endpoint="import_upload")
@permission_required("members.import")
def import_upload():
    form = UploadForm()
    if form.validate_on_submit():
        upload = form.file.data
        raw = upload.read(current_app.config["IMPORT_MAX_BYTES"] + 1) if upload and hasattr(upload, "read") else b""
        try:
            if len(raw) > current_app.config["IMPORT_MAX_BYTES"]:
                raise importer.MemberImportError(_("The file is too large."), "too_large", field="file")
            imp = importer.receive(raw, actor=current_user, locale=str(get_locale() or "nl"))
            db.session.commit()
        except importer.MemberImportError as error:
            db.session.rollback()
            form.file.errors = [str(error.message)]
        else:
            return redirect(url_for("members.import_show", import_id=imp.id))
    return render_template("members/import_upload.html", form=form, imports=importer.recent(),
                           fields=importer.FIELDS, labels=importer.FIELD_LABELS)


@bp.route("/import/<int:import_id>", methods=["GET", "POST"], endpoint="import_show")
@permission_required("members.import")
def import_show(import_id: int):
    imp = _import_or_404(import_id)
    preview = None
    form, headers = _mapping_form(imp, formdata=request.form if request.method == "POST" else None)
    if imp.status == "uploaded":
        if request.method == "POST" and form.validate():
            chosen = {header: form[f"col_{i}"].data for i, header in enumerate(headers) if form[f"col_{i}"].data}
            try:
                importer.set_mapping(imp, chosen, actor=current_user)
                db.session.commit()
            except importer.MemberImportError as error:
                db.session.rollback()
                flash(str(error.message), "error")
            else:
                return redirect(url_for("members.import_show", import_id=imp.id))
        try:
            preview = importer.preview(imp, limit=PAGE_PREVIEW_ROWS)
        except importer.MemberImportError as error:
            flash(str(error.message), "error")
    return render_template("members/import_show.html", imp=imp, form=form, headers=headers, preview=preview,
                           run_form=RunForm(), mapped=bool(importer.mapping_of(imp)),
                           refreshing=imp.status in ("queued", "running"))


@bp.post("/import/<int:import_id>/run", endpoint="import_run")
@permission_required("members.import")
def import_run(import_id: int):
    imp = _import_or_404(import_id)
    if not RunForm().validate_on_submit():
        abort(400)
    try:
        importer.set_mapping(imp, importer.mapping_of(imp), actor=current_user)  # still complete?
        if importer.count_rows(imp) > INLINE_ROWS:
            importer.queue(imp, actor=current_user)
            db.session.commit()
            if not importer.kick(current_app._get_current_object(), imp):
                flash(_("The job queue is not reachable; the import starts when a job worker runs."), "warning")
        else:
            importer.run_all(imp, actor=current_user, commit=db.session.commit)
            flash(_("Import finished."), "success")
    except importer.MemberImportError as error:
        db.session.rollback()
        flash(str(error.message), "error")
    return redirect(url_for("members.import_show", import_id=imp.id))


@bp.post("/import/<int:import_id>/cancel", endpoint="import_cancel")
@permission_required("members.import")
def import_cancel(import_id: int):
    imp = _import_or_404(import_id)
    if not RunForm().validate_on_submit():
        abort(400)
    try:
        importer.cancel(imp, actor=current_user)
        db.session.commit()
        flash(_("Nothing was imported; the uploaded file has been deleted."), "success")
    except importer.MemberImportError as error:
        db.session.rollback()
        flash(str(error.message), "error")
    return redirect(url_for("members.import_upload"))


@bp.post("/import/<int:import_id>/refused", endpoint="import_refused")
@permission_required("members.import")
def import_refused(import_id: int):
    """The refused rows as CSV, once: the file is deleted as it is handed out."""
    imp = _import_or_404(import_id)
    if not RunForm().validate_on_submit():
        abort(400)
    data = importer.take_refused_file(imp)
    db.session.commit()
    if data is None:
        flash(_("The refused rows have already been downloaded (the file is deleted after the download)."), "warning")
        return redirect(url_for("members.import_show", import_id=imp.id))
    return Response(data, mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="import-{imp.id}-refused.csv"'})


STATUS_LABELS = {
    "uploaded": _l("checked, waiting for your choice"), "queued": _l("waiting for the job worker"),
    "running": _l("importing"), "done": _l("done"), "cancelled": _l("cancelled, nothing imported"),
    "failed": _l("stopped before the end"),
}
ACTION_LABELS = {"create": _l("new member"), "update": _l("update"), "unchanged": _l("unchanged"),
                 "refused": _l("refused")}


@bp.app_template_global()
def import_status_label(status: str) -> str:
    return str(STATUS_LABELS.get(status, status))


@bp.app_template_global()
def import_action_label(action: str) -> str:
    return str(ACTION_LABELS.get(action, action))
