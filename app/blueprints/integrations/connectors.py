"""Connector pages: the overview of what goes to which partner (/integrations) and each connector's settings."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from wtforms import BooleanField, PasswordField, SelectField, SelectMultipleField, StringField
from wtforms.validators import Length

from app.auth.decorators import permission_required
from app.blueprints.form_helpers import BaseForm, choices
from app.blueprints.integrations import bp
from app.blueprints.main.panels import panel_on
from app.blueprints.web import attempt, client_ip, member_or_404
from app.extensions import db
from app.models import JobRun
from app.services import longjobs, mail
from app.services.connectors import delivery, plans, report, runner, settings

# Only declared connectors have pages; anything else is no such page.
NAME = f"<any({', '.join(settings.DECLARATIONS)}):name>"


class ConnectorForm(BaseForm):
    enabled = BooleanField(_l("Enabled"))
    base_url = StringField(_l("Base URL (without /api/v2)"), validators=[Length(max=300)])
    api_key = PasswordField(_l("API key (leave empty to keep the stored key)"), validators=[Length(max=500)])
    legal_basis = SelectField(_l("Legal basis"), choices=choices([("consent", _l("Consent of the member for this partner")),
                                                                    ("contract", _l("Contract, with a processing agreement"))]))
    processing_agreement = StringField(_l("Processing agreement (reference or date)"), validators=[Length(max=300)])
    plans = SelectMultipleField(_l("Plans or plan groups taking part (none chosen: all)"), validate_choice=False)
    optional_fields = SelectMultipleField(_l("Optional fields to send"), validate_choice=False)
    sync_time = StringField(_l("Daily full sync at (HH:MM, empty: none)"), validators=[Length(max=5)])
    test_connection = BooleanField(_l("Test the connection when saving"), default=True)


class TechnogymForm(ConnectorForm):
    base_url = StringField(_l("Facility URL (as TechnoGym gave it)"), validators=[Length(max=300)])
    application_id = StringField(_l("Application id"), validators=[Length(max=100)])
    integration_user = StringField(_l("Integration user"), validators=[Length(max=200)])
    password = PasswordField(_l("Integration user's password (leave empty to keep the stored one)"),
                             validators=[Length(max=500)])


def _declaration_or_404(name: str):
    if name not in settings.DECLARATIONS:
        abort(404)
    return settings.DECLARATIONS[name]


@bp.get("")
@permission_required("integrations.view")
def index():
    overviews = [report.overview(name) for name in settings.DECLARATIONS]
    db.session.commit()  # the settings rows the first visit creates
    return render_template("integrations/index.html", overviews=overviews, jobs=runner.worker_status(),
                           mail_status=mail.status())


@bp.route(f"/{NAME}", methods=["GET", "POST"])
@permission_required("integrations.manage")
def connector(name):
    spec = _declaration_or_404(name)
    row = settings.connector(name)
    form_class = TechnogymForm if name == "technogym" else ConnectorForm
    form = form_class(obj=None if request.method == "POST" else row)
    extra = {}
    offered = plans.plan_choices()
    form.plans.choices = choices(offered)
    form.optional_fields.choices = choices([(f.name, f"{f.label} ({f.name})") for f in spec.fields if f.optional])
    if request.method == "GET":
        form.plans.data = row.plan_list
        form.optional_fields.data = row.optional_field_list
    if form.validate_on_submit():
        if name == "technogym":
            extra = {"application_id": form.application_id.data or None,
                     "integration_user": form.integration_user.data or None, "password": form.password.data or None}
        try:
            settings.configure(
                name, actor=current_user, url=form.base_url.data or None, api_key=form.api_key.data or None,
                basis=form.legal_basis.data, processing_agreement=form.processing_agreement.data or "",
                plan_names=form.plans.data or [], fields=form.optional_fields.data or [],
                sync_time=form.sync_time.data or "", enabled=bool(form.enabled.data), **extra)
            testable = form.test_connection.data and row.base_url and row.api_key_encrypted
            problem = settings.test_connection(row) if testable else None
        except settings.ConnectorError as error:
            db.session.rollback()
            target = getattr(form, {"url": "base_url", "basis": "legal_basis", "fields": "optional_fields"}.get(
                error.field or "", error.field or ""), None)
            if target is not None:
                target.errors = [*target.errors, str(error)]
            else:
                flash(str(error), "error")
        else:
            if problem:
                db.session.rollback()
                flash(_("The connection test failed: %(text)s Nothing was saved.",
                        text=report.error_text(problem, name)), "error")
            else:
                db.session.commit()
                flash(_("The settings of %(name)s were saved.", name=spec.display_name), "success")
                return redirect(url_for("integrations.connector", name=name))
    db.session.commit()
    return render_template("integrations/connector.html", form=form, spec=spec, row=row, view=report.overview(name))


@bp.post(f"/{NAME}/sync")
@permission_required("integrations.manage")
def full_sync(name):
    spec = _declaration_or_404(name)
    row = settings.connector(name)
    if not row.enabled:
        flash(_("Enable %(name)s first.", name=spec.display_name), "error")
        return redirect(url_for("integrations.index"))
    # The full sync runs on the job queue; this request only starts it (services/longjobs.py).
    kind = longjobs.FULL_SYNC + name
    try:
        run = longjobs.start(kind, actor=current_user)
    except longjobs.JobAlreadyRunningError as error:
        db.session.rollback()
        flash(str(error), "error")
        running = longjobs.active(kind)
        return redirect(url_for("integrations.sync_run", name=name, run_id=running.id) if running
                        else url_for("integrations.index"))
    db.session.commit()
    if not longjobs.enqueue_or_fail(run):
        flash(_("The job queue cannot be reached: the synchronisation was not started. Start a worker "
                "(flask --app wsgi jobs worker) and try again."), "error")
        return redirect(url_for("integrations.index"))
    flash(_("The full synchronisation with %(name)s has started; its progress is shown below.",
            name=spec.display_name), "success")
    return redirect(url_for("integrations.sync_run", name=name, run_id=run.id))


@bp.get(f"/{NAME}/sync/<int:run_id>")
@permission_required("integrations.view")
def sync_run(name, run_id):
    """A full sync started from the page: progress while it runs, the outcome afterwards."""
    spec = _declaration_or_404(name)
    run = db.session.get(JobRun, run_id)
    if run is None or run.kind != longjobs.FULL_SYNC + name:
        abort(404)
    return render_template("job_run.html", job=longjobs.describe(run),
                           title=_("Full synchronisation with %(name)s", name=spec.display_name),
                           back=url_for("integrations.index"), back_label=_("Data sent to partners"))


@bp.post(f"/{NAME}/retry")
@permission_required("integrations.manage")
def retry(name):
    spec = _declaration_or_404(name)
    count = delivery.retry_parked(name)
    db.session.commit()
    flash(ngettext("%(num)s parked delivery to %(name)s will be tried again.",
                   "%(num)s parked deliveries to %(name)s will be tried again.", count, name=spec.display_name),
          "success")
    return redirect(url_for("integrations.index"))


@bp.post(f"/{NAME}/members/<int:member_number>/link")
@permission_required("integrations.manage")
def link_candidate(name, member_number):
    """TechnoGym answered "match found": staff say which candidate is this member."""
    spec = _declaration_or_404(name)
    member = member_or_404(member_number)
    attempt(lambda: settings.link_candidate(member, name, (request.form.get("account_id") or "").strip()[:100],
                                            actor=current_user),
            _("Member %(number)s is linked to the chosen %(name)s user and will be sent again.",
              number=member_number, name=spec.display_name))
    return redirect(url_for("integrations.index", _anchor=f"connector-{name}"))


@bp.post(f"/{NAME}/members/<int:member_number>/opt-out")
@permission_required("members.edit")
def opt_out(name, member_number):
    _declaration_or_404(name)
    member = member_or_404(member_number)
    wanted = request.form.get("opted_out") == "1"
    attempt(lambda: settings.set_opt_out(member, name, wanted, actor=current_user, source_ip=client_ip()), _("Saved."))
    return redirect(url_for("members.show", member_number=member_number, tab="privacy"))


@bp.app_template_global("long_job")
def long_job(kind):
    """The latest run of a long job (services/longjobs.py), for the pages that start them."""
    return longjobs.describe(longjobs.latest(kind))


@bp.app_template_global("connector_transfers")
def connector_transfers(member):
    """The member page's 'sent to eGym on ..., fields ...' lines."""
    return report.member_connectors(member)


@bp.app_template_global("connector_choices")
def connector_choices(member):
    """Enabled connectors with this member's opt-out, for the opt-out switch on the member page."""
    result = []
    for name in settings.enabled_names():
        link = settings.member_link(name, member.id)
        result.append({"key": name, "name": settings.DECLARATIONS[name].display_name,
                       "opted_out": bool(link and link.opted_out)})
    return result


@panel_on(bp, "integrations/_dashboard.html", "integrations.view", order=60)
def connectors_panel(_user):
    status = runner.worker_status()
    if not settings.enabled_names() and not status["outbox_backlog"] and not status["parked"]:
        return None
    return {"jobs": status}


@panel_on(bp, "integrations/_dashboard_errors.html", "integrations.view", order=61)
def sync_errors_panel(_user):
    """Partner sync errors: failed members and parked deliveries per partner; None when there are none."""
    problems = report.sync_problems()
    return {"problems": problems} if problems else None
