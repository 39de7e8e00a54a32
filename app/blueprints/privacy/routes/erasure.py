"""The erasure wizard: one GET/POST page per step, the state in data_requests.wizard_step.

Opening a step that is not the current one redirects to the current one, so no step can
be skipped. Execution is POST-only, behind the typed member number.
"""

from datetime import date

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.auth.decorators import permission_required
from app.blueprints.privacy import bp
from app.blueprints.privacy import forms as f
from app.blueprints.web import attempt, request_or_404
from app.extensions import db
from app.services import clock, erasure, mail, pdf
from app.services import privacy_requests as svc

STEPS = [
    ("ground", _l("Ground")),
    ("decision", _l("Exceptions and decision")),
    ("method", _l("Method and preview")),
    ("confirm", _l("Confirm")),
    ("result", _l("Result")),
    ("letter", _l("Letter")),
]


def _step_url(data_request):
    step = data_request.wizard_step
    if step in (None, "closed"):
        return url_for("privacy.request", reference=data_request.reference)
    if step == "executing":
        step = "confirm"
    return url_for(f"privacy.erasure_{step}", reference=data_request.reference)


def _guard(data_request, step):
    """None when `step` is the current step; else a redirect to the current one."""
    if not data_request.is_open:
        flash(_("This request is closed."), "warning")
        return redirect(url_for("privacy.request", reference=data_request.reference))
    if data_request.wizard_step == step:
        if step in ("ground", "decision", "method", "confirm") and data_request.member is None:
            # erased meanwhile (another request, the retention sweep): nothing left to decide on
            flash(_("The member linked to this request no longer exists."), "error")
            return redirect(url_for("privacy.request", reference=data_request.reference))
        return None
    if data_request.wizard_step not in (None, "closed"):
        flash(_("The wizard continues at the current step."), "warning")
    return redirect(_step_url(data_request))


def _render(template, data_request, step, **context):
    back = svc.steps_back(data_request)
    return render_template(f"privacy/erasure/{template}.html", data_request=data_request,
                           member=data_request.member, steps=STEPS, current=step, method_names=f.METHOD_SHORT,
                           steps_back=back, previous=back[-1] if back else None, **context)


@bp.post("/requests/<reference>/erasure/start")
@permission_required("privacy.erase")
def erasure_start(reference):
    data_request = request_or_404(reference)
    if not f.EmptyForm().validate_on_submit():
        abort(400)
    if not attempt(lambda: svc.wizard_start(data_request, current_user)).ok:
        return redirect(url_for("privacy.request", reference=reference))
    return redirect(_step_url(data_request))


@bp.get("/requests/<reference>/erasure")
@permission_required("privacy.erase")
def erasure_current(reference):
    return redirect(_step_url(request_or_404(reference)))


def _step_view(step, form_class, template, on_valid, context=lambda r: {}):
    """The shared shape of a wizard step: guard, form, service call, commit, on to the next step."""

    def view(reference):
        data_request = request_or_404(reference)
        blocked = _guard(data_request, step)
        if blocked:
            return blocked
        form = form_class()
        if form.validate_on_submit():
            if attempt(lambda: on_valid(data_request, form)).ok:
                return redirect(_step_url(data_request))
        return _render(template, data_request, step, form=form, **context(data_request))

    view.__name__ = f"erasure_{step}"
    return view


def _ground(data_request, form):
    svc.record_ground(data_request, form.ground.data, form.reason.data, current_user)


def _decision(data_request, form):
    svc.record_decision(data_request, form.decision.data, form.reason.data, current_user,
                        letter_text=form.letter_text.data)


def _method(data_request, form):
    svc.record_method(data_request, form.method.data, current_user)


METHOD_SENTENCES = {
    "delete": _l("The member and everything attached are removed; only the invoices the law makes the club "
                 "keep stay, detached from the member."),
    "anonymise": _l("The record stays for the club's statistics (membership dates, visits, subscriptions) "
                    "without anything that identifies the member."),
}


def _previews(data_request):
    member = data_request.member
    if member is None:
        return {"previews": {}, "method_sentences": METHOD_SENTENCES}
    return {"previews": {method: erasure.preview(member, method) for method in erasure.METHODS},
            "method_sentences": METHOD_SENTENCES}


def _exceptions(data_request):
    return {"exceptions": svc.exception_advice(data_request), "labels": erasure.EXCEPTION_LABELS,
            "effects": svc.DECISION_EFFECTS}


for _step, _form, _handler, _context in (
    ("ground", f.GroundForm, _ground, lambda r: {}),
    ("decision", f.DecisionForm, _decision, _exceptions),
    ("method", f.MethodForm, _method, _previews),
):
    bp.add_url_rule(
        f"/requests/<reference>/erasure/{_step}", endpoint=f"erasure_{_step}",
        view_func=permission_required("privacy.erase")(_step_view(_step, _form, _step, _handler, _context)),
        methods=["GET", "POST"],
    )


@bp.get("/requests/<reference>/erasure/confirm")
@permission_required("privacy.erase")
def erasure_confirm(reference):
    data_request = request_or_404(reference)
    blocked = _guard(data_request, "confirm")
    if blocked:
        return blocked
    preview = erasure.preview(data_request.member, data_request.erasure_method)
    return _render("confirm", data_request, "confirm", form=f.ConfirmForm(), preview=preview,
                   back_form=f.EmptyForm())


@bp.post("/requests/<reference>/erasure/confirm")
@permission_required("privacy.erase")
def erasure_execute(reference):
    data_request = request_or_404(reference)
    form = f.ConfirmForm()
    if data_request.erasure_executed:
        flash(_("This erasure has already been carried out by someone else."), "error")
        return redirect(_step_url(data_request))
    blocked = _guard(data_request, "confirm")
    if blocked:
        return blocked
    if form.validate_on_submit():
        try:
            report = svc.execute(data_request, form.member_number.data, current_user)
        except svc.AlreadyExecutedError as exc:
            db.session.rollback()
            flash(str(exc), "error")
            return redirect(_step_url(svc.get_by_reference(reference)))
        except svc.RequestError as exc:
            db.session.rollback()
            form.member_number.errors.append(str(exc))
        else:
            db.session.commit()
            anonymised = data_request.erasure_method == "anonymise"
            if report["ok"]:
                flash(_("The anonymisation has been carried out.") if anonymised
                      else _("The erasure has been carried out."))
            else:
                flash(_("The anonymisation has been carried out, but the scan found personal data left behind.")
                      if anonymised else
                      _("The erasure has been carried out, but the scan found personal data left behind."), "error")
            return redirect(_step_url(data_request))
    preview = erasure.preview(data_request.member, data_request.erasure_method)
    return _render("confirm", data_request, "confirm", form=form, preview=preview, back_form=f.EmptyForm())


@bp.post("/requests/<reference>/erasure/back")
@permission_required("privacy.erase")
def erasure_back(reference):
    data_request = request_or_404(reference)
    if not f.EmptyForm().validate_on_submit():
        abort(400)
    attempt(lambda: svc.back_to(data_request, request.form.get("step", "method"), current_user))
    return redirect(_step_url(data_request))


@bp.route("/requests/<reference>/erasure/result", methods=["GET", "POST"])
@permission_required("privacy.erase")
def erasure_result(reference):
    data_request = request_or_404(reference)
    blocked = _guard(data_request, "result")
    if blocked:
        return blocked
    form = _letter_form(data_request)
    if form.validate_on_submit():
        # One click from the report to the made letter: on to the letter step and make it at once.
        svc.to_letter(data_request, current_user)
        return _make_letter(data_request, form)
    return _render("result", data_request, "result", form=form, report=svc.report_of(data_request),
                   outcome=svc.outcome_of(data_request), can_email=_can_email(data_request))


def _letter_html(data_request):
    outcome = svc.outcome_of(data_request)
    kept = [{**row, "until": date.fromisoformat(row["until"])} for row in outcome.get("kept", [])]
    return render_template("pdf/privacy_letter.html", data_request=data_request, outcome=outcome,
                           report=svc.report_of(data_request), today=clock.today(), kept=kept)


@bp.route("/requests/<reference>/erasure/letter", methods=["GET", "POST"])
@permission_required("privacy.erase")
def erasure_letter(reference):
    """Make the confirmation letter (PDF); making it closes and minimises the request, and keeps the PDF
    on the request until it is marked sent, so a lost file can be downloaded again."""
    data_request = request_or_404(reference)
    blocked = _guard(data_request, "letter")
    if blocked:
        return blocked
    form = _letter_form(data_request)
    if form.validate_on_submit():
        return _make_letter(data_request, form)
    return _render("letter", data_request, "letter", form=form, outcome=svc.outcome_of(data_request),
                   can_email=_can_email(data_request))


def _letter_form(data_request):
    """The letter's language (the requester's, else the officer's) and, when asked, delivery by e-mail."""
    return f.LetterForm(language=data_request.locale or str(get_locale()))


def _can_email(data_request) -> bool:
    return svc.letter_email_refusal(data_request) is None


def _make_letter(data_request, form):
    """Make the letter (the wizard is at its letter step) in the chosen language, commit, show the request."""
    reference = data_request.reference
    by_email = bool(form.by_email.data)  # the service refuses it without mail or an address
    with force_locale(form.language.data):  # the requester's language, for the letter and its mail
        body = pdf.render_pdf(_letter_html(data_request))
    try:
        svc.letter_made(data_request, current_user, body, by_email=by_email, locale=form.language.data)
    except svc.RequestError as exc:  # a recipient not yet told (Art. 19), or e-mail without mail: nothing is made
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("privacy.request", reference=reference, _anchor="recipients"))
    db.session.commit()
    if by_email:
        mail.kick(current_app._get_current_object())
        flash(_("The letter is made and the request is closed. The letter goes to the requester by email; "
                "this page shows when it has gone."), "success")
    else:
        flash(_("The letter is made and the request is closed. Download the letter below and send it; "
                "then mark it as sent."), "success")
    return redirect(url_for("privacy.request", reference=reference) + "#letter")


@bp.get("/requests/<reference>/letter.pdf")
@permission_required("privacy.erase")
def letter_download(reference):
    """The kept letter, again, until it is marked sent."""
    data_request = request_or_404(reference)
    body = svc.kept_letter(data_request)
    if not body:
        flash(_("No copy of the letter is kept any more (it was marked as sent, or its keeping period ended)."),
              "warning")
        return redirect(url_for("privacy.request", reference=reference))
    return Response(body, mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="{data_request.reference}-letter.pdf"',
    })


@bp.post("/requests/<reference>/letter/sent")
@permission_required("privacy.erase")
def letter_sent(reference):
    data_request = request_or_404(reference)
    if not f.EmptyForm().validate_on_submit():
        abort(400)
    attempt(lambda: svc.mark_letter_sent(data_request, current_user),
            _("The letter is marked as sent; the kept copy has been removed."))
    return redirect(url_for("privacy.request", reference=reference) + "#letter")
