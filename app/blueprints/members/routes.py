"""Member administration: list and search, member page, create/edit, check-in and the small actions."""

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from app.auth.decorators import permission_required
from app.blueprints.main.panels import panel_on
from app.blueprints.members import bp
from app.blueprints.members.forms import (
    CONSENT_CHANNELS,
    CheckInForm,
    ConsentForm,
    EndMembershipForm,
    MemberEditForm,
    MemberForm,
    NoteForm,
    SubscriptionForm,
    WithdrawConsentForm,
)
from app.blueprints.security import safe_next
from app.blueprints.web import attempt, choice_arg, client_ip, member_or_404, page_arg
from app.extensions import db
from app.models import Consent, Subscription
from app.services import clock, plans
from app.services import members as service
from app.services.members import CONSENT_LABELS, CONTACT_FIELDS, FINANCE_FIELDS, SearchParams
from app.templating import can, format_money

VISITS_ON_PANEL = 5  # the dashboard's latest check-ins

# Tab key -> (label, permission needed to see it).
TABS = (
    ("profile", "members.view"),
    ("subscriptions", "members.view"),
    ("visits", "members.view"),
    ("invoices", "members.finance"),
    ("consents", "members.view"),
    ("notes", "members.notes"),
    ("health", "members.health"),
    ("privacy", None),  # "Privacy and membership": shown when _manage_tab_allowed says so
)


def _plan_choice_label(plan) -> str:
    """'Fitness Onbeperkt (€ 34,95 per month)': what the desk chooses from."""
    return f"{plans.plan_label(plan)} ({format_money(plan.price)} {plans.period_label(plan.period)})"


def _subscription_form(**kwargs) -> SubscriptionForm:
    form = SubscriptionForm(**kwargs)
    offered = plans.active_plans()
    form.offer(offered, _plan_choice_label)
    form.plan_id.choices.insert(0, SelectChoice("", _("Choose a plan")))
    return form


def _owned_or_404(model, row_id: int, member):
    """A row of the member's (a subscription, a consent) by id; another member's is no such page."""
    row = db.session.get(model, row_id)
    if row is None or row.member_id != member.id:
        abort(404)
    return row


def _limit_fields(form) -> None:
    """Fields the user may not see are not in the form at all (so they are neither shown nor changed)."""
    if not can("members.contact"):
        for name in CONTACT_FIELDS:
            if name in form:
                delattr(form, name)
    if not can("members.finance"):
        for name in FINANCE_FIELDS:
            if name in form:
                delattr(form, name)


@bp.app_template_filter("iban")
def iban_filter(value: str | None) -> str:
    """An IBAN in groups of four, as printed on a bank card."""
    compact = (value or "").replace(" ", "")
    return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))


@panel_on(bp, "members/_dashboard.html", "members.view", order=10)
def dashboard_panel(_user):
    return {"counts": service.dashboard_counts(), "checkin_form": CheckInForm(formdata=None)}


@panel_on(bp, "members/_dashboard_visits.html", "members.view", order=12)
def visits_panel(_user):
    """Today's latest check-ins; the count itself is on the members panel (dashboard_counts)."""
    latest = list(db.session.scalars(service.visits_on_statement().limit(VISITS_ON_PANEL)))
    return {"latest": latest} if latest else None


@bp.get("/visits")
@permission_required("members.view")
def visits_today():
    """Today's visits, newest first: the list behind the dashboard's "Visits today"."""
    pagination = db.paginate(service.visits_on_statement(), page=page_arg(),
                             per_page=current_app.config["VISITS_PER_PAGE"], error_out=False)
    return render_template("members/visits.html", pagination=pagination, day=clock.today(),
                           checkin_form=CheckInForm(formdata=None))


@bp.get("")
@permission_required("members.view")
def index():
    status = choice_arg("status", service.STATUS_FILTERS, "active")
    sort = choice_arg("sort", service.SORTS, "name")
    plan = plans.get_plan(request.args.get("plan"))
    params = SearchParams(query=request.args.get("q", "")[:200], status=status, sort=sort,
                          descending=request.args.get("dir") == "desc", plan_id=plan.id if plan else None)
    total = service.known_total(params)
    pagination = db.paginate(service.search_statement(params, actor=current_user), page=page_arg(),
                             per_page=current_app.config["MEMBERS_PER_PAGE"], error_out=False,
                             count=total is None)
    if total is not None:
        pagination.total = total
    return render_template("members/index.html", pagination=pagination, params=params, plan=plan,
                           checkin_form=CheckInForm(formdata=None))


def _tab_context(member, tab: str) -> dict:
    """Data for the open tab only, so a page with years of visits stays light."""
    if tab == "visits":
        return {"visits": db.paginate(service.visits_statement(member), page=page_arg(),
                                      per_page=current_app.config["VISITS_PER_PAGE"], error_out=False)}
    if tab == "invoices":
        return {"invoices": service.invoices_of(member)}
    if tab == "profile":
        last_visit = db.session.scalar(service.visits_statement(member).limit(1))
        return {"last_visit": last_visit}
    return {}


def _manage_tab_allowed(actions) -> bool:
    """The tab with what changes a membership for good and the member's data: for whoever may act there or read requests."""
    return actions.any_of(service.MANAGE_ACTIONS) or can("privacy.view")


def _render_member(member, tab: str = "profile", status: int = 200, **forms):
    """The member page; POST handlers that fail re-render it with their form (nothing lost)."""
    actions = service.actions_for(member, current_user)
    allowed = [key for key, code in TABS if (can(code) if code else _manage_tab_allowed(actions))]
    if tab not in allowed:
        abort(403 if tab in dict(TABS) else 404)
    defaults = {
        "checkin_form": CheckInForm(formdata=None, member_number=str(member.member_number)),
        "end_form": EndMembershipForm(formdata=None, ended_on=clock.today()),
        "subscription_form": _subscription_form(formdata=None, starts_on=clock.today()),
        "consent_form": ConsentForm(formdata=None),
        "withdraw_form": WithdrawConsentForm(formdata=None),
        "note_form": NoteForm(formdata=None),
        "health_form": NoteForm(formdata=None, prefix="health"),
    }
    defaults.update(forms)
    page = render_template(
        "members/show.html", member=member, tab=tab, tabs=allowed, consent_labels=CONSENT_LABELS,
        channel_labels=dict(CONSENT_CHANNELS),
        actions=actions, desk_actions=actions.any_of(service.DESK_ACTIONS),
        **_tab_context(member, tab), **defaults,
    )
    # The view is logged once the page exists, as the last thing before it is sent: the audit
    # chain's lock is then held for the insert and its commit only, never while a page renders,
    # and the commit no longer expires the objects the template still reads (a re-select each).
    service.record_view(member, actor=current_user, tab=tab, source_ip=client_ip())
    db.session.commit()
    return page, status


@bp.get("/<int:member_number>")
@permission_required("members.view")
def show(member_number: int):
    member = member_or_404(member_number)
    return _render_member(member, request.args.get("tab", "profile"))


@bp.route("/new", methods=["GET", "POST"])
@permission_required("members.create")
def create():
    form = MemberForm()
    _limit_fields(form)
    duplicates = []
    if form.validate_on_submit():
        duplicates = service.possible_duplicates(form.member_data())
        if duplicates and not form.confirm_duplicate.data:
            return render_template("members/form.html", form=form, member=None, duplicates=duplicates), 409
        member = service.create_member(form.member_data(), actor=current_user, source_ip=client_ip())
        db.session.commit()
        flash(_("Member %(number)s has been registered.", number=member.member_number), "success")
        return redirect(url_for("members.show", member_number=member.member_number))
    if request.method == "GET":
        form.joined_on.data = clock.today()
    return render_template("members/form.html", form=form, member=None), 200 if request.method == "GET" else 422


@bp.route("/<int:member_number>/edit", methods=["GET", "POST"])
@permission_required("members.edit")
def edit(member_number: int):
    member = member_or_404(member_number)
    if member.is_anonymised:
        flash(_("This member has been anonymised and can no longer be changed."), "error")
        return redirect(url_for("members.show", member_number=member.member_number))
    form = MemberEditForm(obj=member)
    del form.joined_on
    del form.confirm_duplicate
    _limit_fields(form)
    form.keep_country(member.country)
    if not member.processing_restricted:
        del form.override_restriction
        del form.override_reason
    if form.validate_on_submit():
        reason = form.override_reason.data if member.processing_restricted and form.override_restriction.data else None
        outcome = attempt(
            lambda: service.update_member(member, form.member_data(), actor=current_user, override_reason=reason,
                                          source_ip=client_ip()),
            lambda changed: _("The changes have been saved.") if changed else _("Nothing was changed."))
        if not outcome.ok:
            return render_template("members/form.html", form=form, member=member), 422
        return redirect(url_for("members.show", member_number=member.member_number))
    status = 200 if request.method == "GET" else 422
    return render_template("members/form.html", form=form, member=member), status


@bp.post("/checkin")
@permission_required("members.checkin")
def checkin():
    """The quick check-in from the dashboard, the member list and the member page."""
    form = CheckInForm()
    back = safe_next(request.form.get("next"), "members.index")
    if not form.validate_on_submit():
        for error in form.member_number.errors:
            flash(str(error), "error")
        return redirect(back)
    attempt(lambda: service.check_in(form.member_number.data, actor=current_user, source_ip=client_ip()),
            lambda visit: _("Checked in: %(name)s (%(number)s).", name=visit.member.full_name,
                            number=visit.member.member_number),
            on_error=lambda error: flash(_("Check-in refused for member %(number)s: %(reason)s",
                                           number=form.member_number.data, reason=error), "error"))
    return redirect(back)


@bp.post("/<int:member_number>/end")
@permission_required("members.edit")
def end(member_number: int):
    member = member_or_404(member_number)
    form = EndMembershipForm()
    if form.validate_on_submit():
        if attempt(lambda: service.end_membership(member, form.ended_on.data, actor=current_user, source_ip=client_ip()),
                   lambda ended: ngettext("The membership has been ended; %(num)s subscription ended with it.",
                                          "The membership has been ended; %(num)s subscriptions ended with it.", ended),
                   on_error=lambda error: form.ended_on.errors.append(str(error))).ok:
            return redirect(url_for("members.show", member_number=member.member_number))
    return _render_member(member, "privacy", 422, end_form=form)


@bp.post("/<int:member_number>/subscriptions")
@permission_required("members.subscriptions")
def add_subscription(member_number: int):
    member = member_or_404(member_number)
    form = _subscription_form()
    if form.validate_on_submit():
        def beside_field(error):
            target = form.monthly_fee if error.code == "fee" else form.plan_id
            target.errors = [*target.errors, str(error)]

        if attempt(lambda: service.add_subscription(
                member, plan=plans.get_plan(form.plan_id.data), starts_on=form.starts_on.data,
                ends_on=form.ends_on.data, monthly_fee=form.monthly_fee.data, actor=current_user,
                source_ip=client_ip()),
                _("The subscription has been added."), on_error=beside_field).ok:
            return redirect(url_for("members.show", member_number=member.member_number, tab="subscriptions"))
    return _render_member(member, "subscriptions", 422, subscription_form=form)


@bp.post("/<int:member_number>/subscriptions/<int:subscription_id>/end")
@permission_required("members.subscriptions")
def end_subscription(member_number: int, subscription_id: int):
    member = member_or_404(member_number)
    subscription = _owned_or_404(Subscription, subscription_id, member)
    form = EndMembershipForm()
    if form.validate_on_submit():
        attempt(lambda: service.end_subscription(subscription, form.ended_on.data, actor=current_user,
                                                 source_ip=client_ip()),
                _("The subscription has been ended."))
    else:
        flash(_("Enter a valid end date."), "error")
    return redirect(url_for("members.show", member_number=member.member_number, tab="subscriptions"))


@bp.post("/<int:member_number>/consents")
@permission_required("members.consents")
def add_consent(member_number: int):
    member = member_or_404(member_number)
    form = ConsentForm()
    if form.validate_on_submit():
        if attempt(lambda: service.record_consent(member, form.purpose.data, via=form.via.data, actor=current_user,
                                                  source_ip=client_ip()),
                   _("The consent has been recorded."), on_error=lambda error: form.purpose.errors.append(str(error))).ok:
            return redirect(url_for("members.show", member_number=member.member_number, tab="consents"))
    return _render_member(member, "consents", 422, consent_form=form)


@bp.post("/<int:member_number>/consents/<int:consent_id>/withdraw")
@permission_required("members.consents")
def withdraw_consent(member_number: int, consent_id: int):
    member = member_or_404(member_number)
    consent = _owned_or_404(Consent, consent_id, member)
    form = WithdrawConsentForm()
    if form.validate_on_submit():
        attempt(lambda: service.withdraw_consent(consent, via=form.via.data, actor=current_user, source_ip=client_ip()),
                _("The withdrawal has been recorded."))
    return redirect(url_for("members.show", member_number=member.member_number, tab="consents"))


@bp.post("/<int:member_number>/notes")
@permission_required("members.notes")
def add_note(member_number: int):
    member = member_or_404(member_number)
    form = NoteForm()
    if form.validate_on_submit():
        if attempt(lambda: service.add_staff_note(member, form.body.data, actor=current_user, source_ip=client_ip()),
                   _("The note has been added.")).ok:
            return redirect(url_for("members.show", member_number=member.member_number, tab="notes"))
    return _render_member(member, "notes", 422, note_form=form)


@bp.post("/<int:member_number>/health-notes")
@permission_required("members.health")
def add_health_note(member_number: int):
    member = member_or_404(member_number)
    form = NoteForm(prefix="health")
    if form.validate_on_submit():
        if attempt(lambda: service.add_health_note(member, form.body.data, actor=current_user, source_ip=client_ip()),
                   _("The health note has been added.")).ok:
            return redirect(url_for("members.show", member_number=member.member_number, tab="health"))
    return _render_member(member, "health", 422, health_form=form)
