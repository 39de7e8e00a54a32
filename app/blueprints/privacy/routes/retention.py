"""Retention policies, the sweep (preview, then run), legal holds and the dashboard panel."""

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import BooleanField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from app.auth.decorators import permission_required
from app.blueprints.form_helpers import BaseForm, choices
from app.blueprints.main.panels import panel_on
from app.blueprints.privacy import bp
from app.blueprints.web import attempt, member_or_404, page_arg
from app.extensions import db
from app.models import JobRun, LegalHold, Member
from app.services import fiscal, holds, jobs, longjobs
from app.services import retention as retention_service


class PolicyForm(BaseForm):
    period_months = StringField(_l("Period (months)"), validators=[Length(max=10)])
    counted_from = SelectField(_l("Counted from"), validate_choice=False)
    action = SelectField(_l("Then"), validate_choice=False)
    basis = TextAreaField(_l("Basis and criteria"), validators=[Length(max=retention_service.BASIS_MAX_LENGTH)])
    enabled = BooleanField(_l("Apply this policy in the sweep"))


class SweepForm(BaseForm):
    fingerprint = HiddenField()
    confirm_total = StringField(_l("Type the number of records to confirm"), validators=[Length(max=20)])


class LegalHoldForm(BaseForm):
    reason = TextAreaField(
        _l("Reason"),
        validators=[
            DataRequired(message=_l("Give the reason for the hold, e.g. the dispute or claim.")),
            Length(max=holds.REASON_MAX_LENGTH, message=_l("The reason is too long.")),
        ],
    )


class LiftHoldForm(BaseForm):
    pass


@bp.app_context_processor
def _hold_helpers():
    """The member page's hold partial asks for a member's active holds through this."""
    return {"legal_holds_of": holds.active_holds}


@bp.get("/retention")
@permission_required("retention.view")
def retention():
    last = retention_service.last_sweep()
    return render_template(
        "privacy/retention.html",
        forecasts=retention_service.forecast(),
        last_sweep=retention_service.sweep_summary(last),
        stale=retention_service.sweep_is_stale(last),
        active_holds=holds.all_active_holds(),
        basis_text=retention_service.basis_text,
        describe=retention_service.describe,
        action_words=retention_service.ACTION_WORDS,
    )


@bp.route("/retention/policies/<category>", methods=["GET", "POST"])
@permission_required("retention.manage")
def retention_edit(category: str):
    if category not in retention_service.CATEGORIES:
        abort(404)
    policy = retention_service.effective_policy(category)
    spec = retention_service.CATEGORIES[category]
    form = PolicyForm()
    form.counted_from.choices = choices((code, retention_service.COUNTED_FROM_WORDS[code]) for code in spec.counted_from)
    form.action.choices = choices((code, retention_service.ACTION_CHOICES[code]) for code in spec.actions)
    if not form.is_submitted():
        form.period_months.data = str(policy.period_months)
        form.counted_from.data = policy.counted_from
        form.action.data = policy.action
        form.basis.data = retention_service.basis_text(policy)
        form.enabled.data = policy.enabled
    elif form.validate():
        try:
            changed = retention_service.update_policy(
                policy,
                current_user,
                period_months=(form.period_months.data or "").strip(),
                counted_from=form.counted_from.data,
                action=form.action.data,
                basis=form.basis.data,
                enabled=form.enabled.data,
            )
        except retention_service.PolicyError as error:
            db.session.rollback()
            form[error.field].errors.append(str(error))
        else:
            db.session.commit()
            if changed:
                flash(_("Policy saved: %(policy)s.", policy=retention_service.describe(policy)))
            else:
                flash(_("Nothing was changed."))
            return redirect(url_for(".retention"))
    return render_template("privacy/retention_edit.html", form=form, policy=policy, category=spec,
                           fiscal_minimum=retention_service.FISCAL_MINIMUM_MONTHS, fiscal_years=fiscal.RETENTION_YEARS,
                           describe=retention_service.describe)


@bp.get("/retention/preview")
@permission_required("retention.view")
def retention_preview():
    """What the sweep would do now, and every member it affects (a page at a time). Changes nothing."""
    forecasts = retention_service.forecast()
    running = jobs.current_lock(retention_service.JOB_NAME)
    affected = retention_service.affected_members(page_arg(), with_names=current_user.has_permission("members.view"))
    return render_template("privacy/retention_preview.html", forecasts=forecasts, running=running,
                           describe=retention_service.describe, affected=affected,
                           total=retention_service.plan_total(forecasts))


def _confirm_page(form, forecasts, status=200):
    return render_template("privacy/retention_confirm.html", form=form, plan=retention_service.sweep_plan(forecasts),
                           total=retention_service.plan_total(forecasts), action_words=retention_service.ACTION_WORDS,
                           running=jobs.current_lock(retention_service.JOB_NAME)), status


@bp.get("/retention/sweep/confirm")
@permission_required("retention.manage")
def retention_confirm():
    """The step before anything is deleted: the counts per category, and the total typed back."""
    forecasts = retention_service.forecast(sample_size=0)
    form = SweepForm(formdata=None, fingerprint=retention_service.fingerprint(forecasts))
    return _confirm_page(form, forecasts)


@bp.post("/retention/sweep")
@permission_required("retention.manage")
def retention_sweep():
    form = SweepForm()
    if not form.validate_on_submit():
        flash(_("Open the preview and start the sweep from there."), "error")
        return redirect(url_for(".retention_preview"))
    forecasts = retention_service.forecast(sample_size=0)
    if form.fingerprint.data != retention_service.fingerprint(forecasts):
        flash(_("What is due has changed since you opened the preview. Check the new numbers and start again."), "warning")
        return redirect(url_for(".retention_confirm"))
    try:
        retention_service.check_confirmation(form.confirm_total.data, forecasts)
    except retention_service.SweepConfirmationError as error:
        form.confirm_total.errors.append(error.message)
        return _confirm_page(form, forecasts)
    # The sweep runs on the job queue; this request only starts it (services/longjobs.py).
    try:
        run = longjobs.start(longjobs.RETENTION_SWEEP, actor=current_user)
    except longjobs.JobAlreadyRunningError as error:
        db.session.rollback()
        flash(str(error), "error")
        running = longjobs.active(longjobs.RETENTION_SWEEP)
        return redirect(url_for(".retention_run", run_id=running.id) if running else url_for(".retention_preview"))
    db.session.commit()
    if not longjobs.enqueue_or_fail(run):
        flash(_("The job queue cannot be reached: the sweep was not started. Try again, or run "
                "flask --app wsgi retention sweep on the server."), "error")
        return redirect(url_for(".retention_preview"))
    flash(_("The retention sweep has started; its progress is shown below."))
    return redirect(url_for(".retention_run", run_id=run.id))


@bp.get("/retention/sweep/<int:run_id>")
@permission_required("retention.view")
def retention_run(run_id):
    """A sweep started from the page: progress while it runs, the outcome afterwards."""
    run = db.session.get(JobRun, run_id)
    if run is None or run.kind != longjobs.RETENTION_SWEEP:
        abort(404)
    return render_template("job_run.html", job=longjobs.describe(run), title=_("Retention sweep"),
                           back=url_for(".retention"), back_label=_("Retention"))


@bp.route("/members/<int:member_number>/legal-hold", methods=["GET", "POST"])
@permission_required("privacy.legal_hold")
def legal_hold_place(member_number: int):
    member = member_or_404(member_number)
    form = LegalHoldForm()
    if form.validate_on_submit():
        try:
            holds.place_hold(member, form.reason.data, current_user)
        except holds.HoldError as error:
            db.session.rollback()
            form.reason.errors.append(str(error))
        else:
            db.session.commit()
            flash(_("Legal hold placed: member %(number)s is kept out of the retention sweep and erasure "
                    "until the hold is lifted.", number=member.member_number))
            return redirect(url_for("members.show", member_number=member.member_number, tab="privacy"))
    return render_template("privacy/retention_hold.html", form=form, member=member, active=holds.active_holds(member))


@bp.post("/legal-holds/<int:hold_id>/lift")
@permission_required("privacy.legal_hold")
def legal_hold_lift(hold_id: int):
    hold = db.session.get(LegalHold, hold_id)
    if hold is None:
        abort(404)
    member = db.session.get(Member, hold.member_id)
    form = LiftHoldForm()
    if form.validate_on_submit():
        attempt(lambda: holds.lift_hold(hold, current_user),
                _("Legal hold lifted: member %(number)s is subject to the retention policies again.",
                  number=member.member_number), category="message")
    else:
        flash(_("This form has expired or was sent from elsewhere. Please reload the page and try again."), "error")
    return redirect(url_for("members.show", member_number=member.member_number, tab="privacy"))


@panel_on(bp, "privacy/_dashboard_retention.html", "retention.view", order=40)
def retention_panel(_user):
    """What the sweep would do today and what falls due within 30 days; None when all is quiet."""
    rows = [f for f in retention_service.forecast(sample_size=0) if f.due or f.due_soon]
    last = retention_service.last_sweep()
    stale = retention_service.sweep_is_stale(last)
    if not rows and not stale:
        return None
    return {
        "rows": rows,
        "stale": stale,
        "last_sweep_at": last.occurred_at if last else None,
        "horizon_days": retention_service.HORIZON_DAYS,
        "sweep_command": retention_service.SWEEP_COMMAND,
        "cron_line": retention_service.CRON_LINE,
    }

