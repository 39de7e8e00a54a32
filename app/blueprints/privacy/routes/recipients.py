"""GDPR Art. 19 on a request: per recipient notified, when, outcome; the letters; 'impossible' with a reason."""

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import TextAreaField
from wtforms.validators import Length

from app.auth.decorators import permission_required
from app.blueprints.form_helpers import BaseForm
from app.blueprints.privacy import bp
from app.blueprints.web import attempt, request_or_404
from app.services import recipients


class ImpossibleForm(BaseForm):
    reason = TextAreaField(_l("Why telling this recipient is impossible or disproportionate"),
                           validators=[Length(max=2000)])


def _back(data_request):
    return redirect(url_for("privacy.request", reference=data_request.reference, _anchor="recipients"))


@bp.app_template_global("recipient_notices")
def recipient_notices(data_request):
    """For the request page: the request's notices (state read fresh)."""
    return recipients.notices_of(data_request)


@bp.app_template_global("recipient_outcome")
def recipient_outcome(notice):
    return recipients.outcome_text(notice)


@bp.get("/requests/<reference>/recipients/<int:notice_id>/letter")
@permission_required("privacy.handle")
def recipient_letter(reference, notice_id):
    """The notification letter to a recipient registered by hand (printable)."""
    data_request = request_or_404(reference)
    notice = next((n for n in recipients.notices_of(data_request) if n.id == notice_id), None)
    if notice is None or notice.recipient_kind != "manual":
        abort(404)
    return render_template("privacy/recipient_letter.html", **recipients.letter(data_request, notice))


@bp.get("/requests/<reference>/recipients/letter")
@permission_required("privacy.handle")
def recipients_member_letter(reference):
    """On request the member is told who the recipients are: the letter lists them and what each was told."""
    data_request = request_or_404(reference)
    return render_template("privacy/recipients_member_letter.html", data_request=data_request,
                           notices=recipients.recipients_for_member_letter(data_request))


@bp.post("/requests/<reference>/recipients/<int:notice_id>/sent")
@permission_required("privacy.handle")
def recipient_sent(reference, notice_id):
    data_request = request_or_404(reference)
    if not ImpossibleForm().validate_on_submit():
        abort(400)
    attempt(lambda: recipients.mark_sent(data_request, notice_id, actor=current_user),
            lambda notice: _("Recorded: the letter to %(name)s was sent.", name=notice.recipient_name))
    return _back(data_request)


@bp.post("/requests/<reference>/recipients/<int:notice_id>/impossible")
@permission_required("privacy.handle")
def recipient_impossible(reference, notice_id):
    data_request = request_or_404(reference)
    form = ImpossibleForm()
    if not form.validate_on_submit():
        flash(_("The reason is too long (at most 2000 characters)."), "error")
        return _back(data_request)
    attempt(lambda: recipients.record_impossible(data_request, notice_id, form.reason.data or "", actor=current_user),
            lambda notice: _("Recorded why %(name)s is not notified.", name=notice.recipient_name))
    return _back(data_request)
