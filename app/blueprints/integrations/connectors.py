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
from app.blueprints.web import client_ip
from app.extensions import db
from app.models import Member
from app.services.connectors import delivery, outbox, plans, report, runner, settings

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


def _declaration_or_404(name: str):
    if name not in settings.DECLARATIONS:
        abort(404)
    return settings.DECLARATIONS[name]


@bp.get("")
@permission_required("integrations.view")
def index():
    overviews = [report.overview(name) for name in settings.DECLARATIONS]
    db.session.commit()  # the settings rows the first visit creates
    return render_template("integrations/index.html", overviews=overviews, jobs=runner.worker_status())


@bp.route(f"/{NAME}", methods=["GET", "POST"])
@permission_required("integrations.manage")
def connector(name):
    spec = _declaration_or_404(name)
    row = settings.connector(name)
    form = ConnectorForm(obj=None if request.method == "POST" else row)
    offered = plans.plan_choices()
    form.plans.choices = choices(offered)
    form.optional_fields.choices = choices([(f.name, f"{f.label} ({f.name})") for f in spec.fields if f.optional])
    if request.method == "GET":
        form.plans.data = row.plan_list
        form.optional_fields.data = row.optional_field_list
    if form.validate_on_submit():
        try:
            settings.configure(
                name, actor=current_user, url=form.base_url.data or None, api_key=form.api_key.data or None,
                basis=form.legal_basis.data, processing_agreement=form.processing_agreement.data or "",
                plan_names=form.plans.data or [], fields=form.optional_fields.data or [],
                sync_time=form.sync_time.data or "", enabled=bool(form.enabled.data))
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
                flash(_("The connection test failed (%(code)s): %(text)s Nothing was saved.", code=problem,
                        text=report.error_text(problem)), "error")
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
    else:
        queued = outbox.enqueue_full_sync(row)
        db.session.commit()
        flash(_("%(count)s member(s) queued for %(name)s; the worker sends them now.", count=queued,
                name=spec.display_name), "success")
    return redirect(url_for("integrations.index"))


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


@bp.post(f"/{NAME}/members/<int:member_number>/opt-out")
@permission_required("members.edit")
def opt_out(name, member_number):
    _declaration_or_404(name)
    member = db.session.scalar(db.select(Member).where(Member.member_number == member_number))
    if member is None or member.is_anonymised:
        abort(404)
    wanted = request.form.get("opted_out") == "1"
    settings.set_opt_out(member, name, wanted, actor=current_user, source_ip=client_ip())
    db.session.commit()
    flash(_("Saved."), "success")
    return redirect(url_for("members.show", member_number=member_number))


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
