"""The public intake form: no login, rate-limited per address, CSRF, a honeypot."""

from flask import current_app, redirect, render_template, session, url_for
from flask_babel import get_locale

from app.auth.decorators import public
from app.blueprints.intake import bp
from app.blueprints.intake.forms import KIND_EXPLANATIONS, IntakeForm
from app.blueprints.security import address_and_email_key, client_ip
from app.extensions import db
from app.services import clock, mail, rate_limits
from app.services import privacy_requests as svc
from app.services.high_water import HighWaterError


@bp.route("/request", methods=["GET", "POST"])
@public
def form():
    form = IntakeForm()
    limited = unavailable = False
    # Two layers: a generous per-address cap before the form is parsed (security.py, INTAKE_POST_LIMIT),
    # and here a limit on *accepted* requests per address and e-mail together (INTAKE_RATE_LIMIT), so a
    # mistyped form costs nothing and one shared network (a household, the club's Wi-Fi) is not locked out.
    if form.validate_on_submit():
        if not svc.intake_allowed(address_and_email_key("intake", form.email.data),
                                  current_app.config["INTAKE_RATE_LIMIT"]):
            limited = True
        else:
            try:
                reference, mailed = svc.intake(
                    form.kind.data, honeypot=bool(form.website.data), requester_name=form.name.data,
                    requester_email=form.email.data, requester_date_of_birth=form.date_of_birth.data,
                    requester_member_number=form.member_number.data, message=form.message.data,
                    source_ip=client_ip(), locale=str(get_locale() or ""),
                )
            except HighWaterError:
                # No reference can be given out safely (the counter file is damaged): the member keeps
                # what they typed and is told the other ways in; the staff pages say what to repair.
                db.session.rollback()
                unavailable = True
            else:
                db.session.commit()
                mail.kick(current_app._get_current_object())
                session["intake_reference"] = reference
                session["intake_kind"] = form.kind.data
                session["intake_mailed"] = mailed
                return redirect(url_for("intake.done"))
    status = 429 if limited else 503 if unavailable else 200
    return render_template("intake/form.html", form=form, explanations=KIND_EXPLANATIONS, limited=limited,
                           unavailable=unavailable, retry_at=rate_limits.window_ends() if limited else None), status


@bp.get("/request/sent")
@public
def done():
    reference = session.pop("intake_reference", None)
    kind = session.pop("intake_kind", None)
    if reference is None:
        return redirect(url_for("intake.form"))
    return render_template("intake/done.html", reference=reference, kind=kind, mailed=session.pop("intake_mailed", False),
                           steps=svc.intake_next_steps(kind, clock.today()))
