"""The public intake form: no login, rate-limited per address, CSRF, a honeypot."""

from flask import current_app, redirect, render_template, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from app.auth.decorators import public
from app.blueprints.intake import bp
from app.blueprints.intake.forms import KIND_EXPLANATIONS, IntakeForm
from app.blueprints.security import address_key, client_ip
from app.extensions import db
from app.services import clock, mail
from app.services import privacy_requests as svc


@bp.route("/request", methods=["GET", "POST"])
@public
def form():
    form = IntakeForm()
    limited = False
    if form.is_submitted():
        if not svc.intake_allowed(address_key("intake"), current_app.config["INTAKE_RATE_LIMIT"]):
            limited = True
        elif form.validate():
            reference, mailed = svc.intake(
                form.kind.data, honeypot=bool(form.website.data), requester_name=form.name.data,
                requester_email=form.email.data, requester_date_of_birth=form.date_of_birth.data,
                requester_member_number=form.member_number.data, message=form.message.data,
                source_ip=client_ip(), locale=str(get_locale() or ""),
            )
            db.session.commit()
            mail.kick(current_app._get_current_object())
            session["intake_reference"] = reference
            session["intake_mailed"] = mailed
            return redirect(url_for("intake.done"))
        else:
            db.session.commit()  # the counted attempt
    status = 429 if limited else 200
    return render_template("intake/form.html", form=form, explanations=KIND_EXPLANATIONS, limited=limited,
                           limit_message=_("You have sent several requests from this address in a short time. "
                                           "Please wait an hour and send it again; what you filled in is still here.")
                           ), status


@bp.get("/request/sent")
@public
def done():
    reference = session.pop("intake_reference", None)
    if reference is None:
        return redirect(url_for("intake.form"))
    # The same next steps as the acknowledgement mail; the deadline as register() sets it (received today).
    return render_template("intake/done.html", reference=reference, mailed=session.pop("intake_mailed", False),
                           due_on=clock.add_months(clock.today(), 1), club=mail.club_details())
