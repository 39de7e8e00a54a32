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
from app.blueprints.web import attempt, client_ip
from app.services import plans as service


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


@bp.get("")
@permission_required("plans.manage")
def index():
    return render_template("plans/index.html", counts=service.subscription_counts(), action_form=EmptyForm())


@bp.route("/new", methods=["GET", "POST"])
@permission_required("plans.manage")
def new():
    form = PlanForm()
    if form.validate_on_submit():
        if attempt(lambda: service.create_plan(form.plan_data(), actor=current_user, source_ip=client_ip()),
                   lambda plan: _("Plan %(name)s has been added to the catalogue.", name=plan.name), form=form).ok:
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
        if attempt(lambda: service.update_plan(plan, form.plan_data(), actor=current_user, source_ip=client_ip()),
                   lambda changed: _("The changes have been saved.") if changed else _("Nothing was changed."),
                   form=form).ok:
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
        if attempt(lambda: service.merge_plan(plan, into, actor=current_user, source_ip=client_ip()),
                   lambda moved: ngettext(
                       "%(num)s subscription moved from %(old)s to %(new)s; %(old)s has been retired.",
                       "%(num)s subscriptions moved from %(old)s to %(new)s; %(old)s has been retired.",
                       moved, old=plan.name, new=into.name),
                   on_error=lambda error: merge_form.into.errors.append(str(error))).ok:
            return redirect(url_for("plans.index"))
    return _render_edit(plan, PlanForm(obj=plan, formdata=None), 422, merge_form=merge_form)


@bp.post("/<int:plan_id>/retire")
@permission_required("plans.manage")
def retire(plan_id: int):
    return _plan_action(plan_id, service.retire_plan, lambda plan, still: ngettext(
        "Plan %(name)s has been retired: it can no longer be chosen for new subscriptions; "
        "%(num)s active subscription keeps it.",
        "Plan %(name)s has been retired: it can no longer be chosen for new subscriptions; "
        "%(num)s active subscriptions keep it.", still, name=plan.name))


@bp.post("/<int:plan_id>/reactivate")
@permission_required("plans.manage")
def reactivate(plan_id: int):
    return _plan_action(plan_id, service.reactivate_plan,
                        lambda plan, _none: _("Plan %(name)s is offered again.", name=plan.name))


def _plan_action(plan_id: int, action, message):
    """A button on the catalogue: the service call, then back to the catalogue with what happened."""
    plan = _plan_or_404(plan_id)
    if not EmptyForm().validate_on_submit():
        flash(_("The form has expired; please try again."), "error")
    else:
        attempt(lambda: action(plan, actor=current_user, source_ip=client_ip()), lambda value: message(plan, value))
    return redirect(url_for("plans.index"))
