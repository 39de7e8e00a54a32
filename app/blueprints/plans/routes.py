"""Catalogue pages (plans.manage) and the dashboard panel with active subscriptions per plan."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from app.auth.decorators import permission_required
from app.blueprints.auth.forms import EmptyForm
from app.blueprints.main.panels import panel_on
from app.blueprints.plans import bp
from app.blueprints.plans.forms import MergeForm, PlanForm
from app.blueprints.web import client_ip
from app.extensions import db
from app.services import plans as service
from app.services.plans import PlanError


@bp.app_context_processor
def plan_helpers():
    """Every template shows plans the same way (the member page, exports, the catalogue)."""
    return {"plan_label": service.plan_label, "plan_group_label": service.group_label,
            "plan_period_label": service.period_label}


@panel_on(bp, "plans/_dashboard.html", "plans.manage", order=20)
def dashboard_panel(_user):
    return {"counts": service.active_counts()}


def _plan_or_404(plan_id: int):
    plan = service.get_plan(plan_id)
    if plan is None:
        abort(404)
    return plan


def _field_error(form, error: PlanError) -> None:
    field = getattr(form, error.field, None) if error.field else None
    if field is not None:
        field.errors = [*field.errors, str(error)]
    else:
        flash(str(error), "error")


@bp.get("")
@permission_required("plans.manage")
def index():
    return render_template("plans/index.html", counts=service.subscription_counts(), action_form=EmptyForm())


@bp.route("/new", methods=["GET", "POST"])
@permission_required("plans.manage")
def new():
    form = PlanForm()
    if form.validate_on_submit():
        try:
            plan = service.create_plan(form.plan_data(), actor=current_user, source_ip=client_ip())
        except PlanError as error:
            db.session.rollback()
            _field_error(form, error)
        else:
            db.session.commit()
            flash(_("Plan %(name)s has been added to the catalogue.", name=plan.name), "success")
            return redirect(url_for("plans.index"))
    status = 200 if request.method == "GET" else 422
    return render_template("plans/form.html", form=form, plan=None, groups=service.known_groups()), status


@bp.route("/<int:plan_id>/edit", methods=["GET", "POST"])
@permission_required("plans.manage")
def edit(plan_id: int):
    plan = _plan_or_404(plan_id)
    form = PlanForm(obj=plan) if request.method == "GET" else PlanForm()
    if request.method == "GET" and plan.egym_membership_type is None:
        form.egym_membership_type.data = ""
    if form.validate_on_submit():
        try:
            changed = service.update_plan(plan, form.plan_data(), actor=current_user, source_ip=client_ip())
        except PlanError as error:
            db.session.rollback()
            _field_error(form, error)
        else:
            db.session.commit()
            flash(_("The changes have been saved.") if changed else _("Nothing was changed."), "success")
            return redirect(url_for("plans.index"))
    status = 200 if request.method == "GET" else 422
    return _render_edit(plan, form, status)


def _merge_form(plan, **kwargs) -> MergeForm:
    form = MergeForm(**kwargs)
    form.into.choices = [SelectChoice(other.id, other.name) for other in service.active_plans() if other.id != plan.id]
    return form


def _render_edit(plan, form, status=200, merge_form=None):
    return render_template("plans/form.html", form=form, plan=plan, groups=service.known_groups(),
                           active_subscriptions=service.active_subscriptions_of(plan), action_form=EmptyForm(),
                           merge_form=merge_form or _merge_form(plan, formdata=None)), status


@bp.post("/<int:plan_id>/merge")
@permission_required("plans.manage")
def merge(plan_id: int):
    plan = _plan_or_404(plan_id)
    merge_form = _merge_form(plan)
    if merge_form.validate_on_submit():
        into = service.get_plan(merge_form.into.data)
        try:
            moved = service.merge_plan(plan, into, actor=current_user, source_ip=client_ip())
        except PlanError as error:
            db.session.rollback()
            merge_form.into.errors = [*merge_form.into.errors, str(error)]
        else:
            db.session.commit()
            flash(ngettext("%(num)s subscription moved from %(old)s to %(new)s; %(old)s has been retired.",
                           "%(num)s subscriptions moved from %(old)s to %(new)s; %(old)s has been retired.",
                           moved, old=plan.name, new=into.name), "success")
            return redirect(url_for("plans.index"))
    return _render_edit(plan, PlanForm(obj=plan, formdata=None), 422, merge_form=merge_form)


@bp.post("/<int:plan_id>/retire")
@permission_required("plans.manage")
def retire(plan_id: int):
    plan = _plan_or_404(plan_id)
    if not EmptyForm().validate_on_submit():
        flash(_("The form has expired; please try again."), "error")
        return redirect(url_for("plans.index"))
    try:
        still = service.retire_plan(plan, actor=current_user, source_ip=client_ip())
    except PlanError as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        db.session.commit()
        flash(ngettext("Plan %(name)s has been retired: it can no longer be chosen for new subscriptions; "
                       "%(num)s active subscription keeps it.",
                       "Plan %(name)s has been retired: it can no longer be chosen for new subscriptions; "
                       "%(num)s active subscriptions keep it.", still, name=plan.name), "success")
    return redirect(url_for("plans.index"))


@bp.post("/<int:plan_id>/reactivate")
@permission_required("plans.manage")
def reactivate(plan_id: int):
    plan = _plan_or_404(plan_id)
    if not EmptyForm().validate_on_submit():
        flash(_("The form has expired; please try again."), "error")
        return redirect(url_for("plans.index"))
    try:
        service.reactivate_plan(plan, actor=current_user, source_ip=client_ip())
    except PlanError as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        db.session.commit()
        flash(_("Plan %(name)s is offered again.", name=plan.name), "success")
    return redirect(url_for("plans.index"))
