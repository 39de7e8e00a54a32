"""Administration pages: users, roles and the audit log viewer."""

from flask import Response, abort, flash, redirect, render_template, request, stream_with_context, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import SelectChoice

from app.auth.decorators import permission_required
from app.auth.permissions import grouped
from app.blueprints.admin import bp
from app.blueprints.admin.forms import AuditFilterForm, NewUserForm, ResetPasswordForm, RoleForm, UserForm
from app.blueprints.auth.forms import EmptyForm
from app.blueprints.main.panels import panel_on
from app.blueprints.security import client_ip
from app.blueprints.web import attempt, page_arg
from app.extensions import db
from app.models import Role, User
from app.services import accounts, audit_words, clock
from app.services import audit as audit_service
from app.services import roles as role_service

PER_PAGE = 50


def _role_choices():
    """Staff roles only: roles with partner API scopes belong to API clients (/integrations/api-clients)."""
    return [SelectChoice(role.id, role_service.role_name(role)) for role in role_service.all_roles()
            if not accounts.is_partner_codes(role.permission_codes)]


def _get_or_404(model, ident):
    obj = db.session.get(model, ident)
    if obj is None:
        abort(404)
    return obj


def _staff_or_404(user_id: int) -> User:
    user = _get_or_404(User, user_id)
    if user.kind != "staff":
        abort(404)
    return user


def _saved(changed) -> str:
    return _("Changes saved.") if changed else _("Nothing was changed.")


def _role_fields(form) -> dict:
    return {"name": form.name.data, "description": form.description.data,
            "codes": form.permissions.data or [], "requires_2fa": form.requires_2fa.data}


# --- users ------------------------------------------------------------------------------

@bp.get("/users")
@permission_required("admin.users")
def users():
    shown = request.args.get("filter")
    shown = shown if shown in accounts.ATTENTION_FILTERS else None
    pagination = db.paginate(accounts.staff_users_query(shown), page=page_arg(), per_page=PER_PAGE, error_out=False)
    return render_template("admin/users.html", pagination=pagination, now=clock.utcnow(), shown=shown,
                           filter_labels=accounts.ATTENTION_LABELS)


@bp.route("/users/new", methods=["GET", "POST"])
@permission_required("admin.users")
def user_new():
    form = NewUserForm()
    form.roles.choices = _role_choices()
    if form.validate_on_submit():
        created = attempt(lambda: accounts.create_staff_user(
            current_user, username=form.username.data, full_name=form.full_name.data,
            email=form.email.data, roles=role_service.roles_by_ids(form.roles.data),
            temporary_password=form.temporary_password.data,
        ), lambda user: _("User %(username)s created. They must choose their own password at the first login.",
                          username=user.username), category="info", form=form)
        if created.ok:
            return redirect(url_for("admin.user_edit", user_id=created.value.id))
    return render_template("admin/user_form.html", form=form, user=None)


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@permission_required("admin.users")
def user_edit(user_id: int):
    user = _staff_or_404(user_id)
    form = UserForm(obj=user) if request.method == "GET" else UserForm()
    form.roles.choices = _role_choices()
    if request.method == "GET":
        form.roles.data = [role.id for role in user.roles]
    own = user.id == current_user.id
    if own and request.method == "POST":
        form.roles.data = [role.id for role in user.roles]  # one's own roles are not editable here
    if form.validate_on_submit():
        if attempt(lambda: accounts.update_user(
            current_user, user, username=form.username.data, full_name=form.full_name.data,
            email=form.email.data, roles=role_service.roles_by_ids(form.roles.data),
        ), _saved, category="info", form=form).ok:
            return redirect(url_for("admin.user_edit", user_id=user.id))
    return render_template(
        "admin/user_form.html", form=form, user=user, own=own, reset_form=ResetPasswordForm(),
        button_form=EmptyForm(), locked=accounts.is_locked(user),
        two_factor_required=accounts.two_factor_required(user),
    )


# The one-button actions on a user's page: (URL part, service call, what the page says afterwards).
_USER_ACTIONS = (
    ("deactivate", accounts.deactivate_user, _l("The account is deactivated; this user can no longer log in.")),
    ("reactivate", accounts.reactivate_user, _l("The account is active again.")),
    ("unlock", accounts.unlock_user, _l("The account is unlocked.")),
    ("reset-two-factor", accounts.reset_totp,
     _l("Two-factor login is reset; the user sets it up again (required if a role demands it).")),
)


def _user_action_view(action, done_message):
    @permission_required("admin.users")
    def view(user_id: int):
        user = _staff_or_404(user_id)
        if not EmptyForm().validate_on_submit():
            abort(400)
        attempt(lambda: action(current_user, user), str(done_message), category="info")
        return redirect(url_for("admin.user_edit", user_id=user.id))

    return view


for _slug, _action, _message in _USER_ACTIONS:  # endpoints admin.user_deactivate, ...
    _endpoint = "user_" + _slug.replace("-", "_")
    bp.add_url_rule(f"/users/<int:user_id>/{_slug}", _endpoint, _user_action_view(_action, _message), methods=["POST"])


@bp.post("/users/<int:user_id>/password")
@permission_required("admin.users")
def user_reset_password(user_id: int):
    user = _staff_or_404(user_id)
    form = ResetPasswordForm()
    if form.validate_on_submit():
        attempt(lambda: accounts.reset_password(current_user, user, form.temporary_password.data),
                _("Temporary password set; the user must change it at the next login."), category="info",
                on_error=lambda error: flash(_("Password not reset: %(reason)s", reason=str(error)), "error"))
    else:
        flash(_("Enter a temporary password."), "error")
    return redirect(url_for("admin.user_edit", user_id=user.id))


# --- roles ------------------------------------------------------------------------------

@bp.get("/roles")
@permission_required("admin.roles")
def roles():
    return render_template("admin/roles.html", roles=role_service.all_roles(), counts=role_service.holder_counts())


@bp.route("/roles/new", methods=["GET", "POST"])
@permission_required("admin.roles")
def role_new():
    form = RoleForm()
    if form.validate_on_submit():
        if attempt(lambda: role_service.create_role(current_user, **_role_fields(form)),
                   lambda role: _("Role %(name)s created.", name=role.name), category="info", form=form).ok:
            return redirect(url_for("admin.roles"))
    return render_template("admin/role_form.html", form=form, role=None, groups=grouped(),
                           selected=set(form.permissions.data or []))


@bp.route("/roles/<int:role_id>", methods=["GET", "POST"])
@permission_required("admin.roles")
def role_edit(role_id: int):
    role = _get_or_404(Role, role_id)
    form = RoleForm(obj=role) if request.method == "GET" else RoleForm()
    if request.method == "GET":
        form.permissions.data = sorted(role.permission_codes)
    if form.validate_on_submit():
        if attempt(lambda: role_service.update_role(current_user, role, **_role_fields(form)),
                   _saved, category="info", form=form).ok:
            return redirect(url_for("admin.role_edit", role_id=role.id))
    return render_template("admin/role_form.html", form=form, role=role, groups=grouped(),
                           selected=set(form.permissions.data or []), holders=role_service.holders(role),
                           delete_form=EmptyForm())


@bp.post("/roles/<int:role_id>/delete")
@permission_required("admin.roles")
def role_delete(role_id: int):
    role = _get_or_404(Role, role_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    name = role.name
    if attempt(lambda: role_service.delete_role(current_user, role), _("Role %(name)s deleted.", name=name),
               category="info").ok:
        return redirect(url_for("admin.roles"))
    return redirect(url_for("admin.role_edit", role_id=role_id))


# --- audit log --------------------------------------------------------------------------

def _audit_filters(form) -> audit_service.AuditFilters | None:
    """The filters the form asks for (None when the form has errors, shown beside their fields)."""
    form.action.choices = [SelectChoice("", _("All actions"))] + [
        SelectChoice(code, label) for code, label in audit_words.action_choices()
    ]
    if not form.validate():
        return None
    words = (form.words.data or "").strip()
    return audit_service.AuditFilters(
        actor=form.actor.data or None, action=form.action.data or None,
        member_number=form.member_number.data, date_from=form.date_from.data, date_to=form.date_to.data,
        actions=tuple(audit_words.actions_matching(words)) if words else None,
    )


@bp.get("/audit")
@permission_required("audit.view")
def audit():
    form = AuditFilterForm(request.args)
    filters = _audit_filters(form) or audit_service.AuditFilters()
    pagination = db.paginate(audit_service.search(filters), page=page_arg(), per_page=PER_PAGE, error_out=False)
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template("admin/audit.html", form=form, pagination=pagination, args=args, words=audit_words)


@bp.get("/audit.csv")
@permission_required("audit.view")
def audit_csv():
    """The filtered log as a CSV file, in words; the export itself is logged."""
    form = AuditFilterForm(request.args)
    filters = _audit_filters(form)
    if filters is None:
        flash(_("Correct the filters first."), "error")
        return redirect(url_for("admin.audit", **{k: v for k, v in request.args.items() if v}))
    audit_service.record("audit.exported", current_user, source_ip=client_ip(),
                         details={"filters": sorted(k for k, v in request.args.items() if v)})
    db.session.commit()
    events = db.session.scalars(audit_service.search(filters).execution_options(yield_per=500))
    filename = f"audit-{clock.today().isoformat()}.csv"
    return Response(stream_with_context(audit_words.csv_lines(events)), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@panel_on(bp, "admin/_dashboard.html", "admin.users", order=80)
def dashboard_panel(_user):
    """Accounts that need an administrator: locked, on a temporary password, missing two-factor."""
    counts = accounts.attention()
    return {"counts": counts, "labels": accounts.ATTENTION_LABELS} if counts.any else None
