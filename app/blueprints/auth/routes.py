"""Login (with lockout and an optional second step), logout, own password and two-factor."""

from datetime import timedelta

import segno
from flask import (
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_user, logout_user
from flask_principal import AnonymousIdentity, Identity, identity_changed
from markupsafe import Markup

from app.auth import renew_epoch, stamp_session
from app.auth.decorators import login_only, public, wants_json
from app.blueprints.auth import bp
from app.blueprints.auth.forms import ChangePasswordForm, CodeForm, EmptyForm, LoginForm
from app.blueprints.security import address_key, client_ip, is_safe_target, safe_next
from app.extensions import db
from app.models import User
from app.services import accounts, clock

PENDING_KEY = "2fa_pending"  # user id, start time and target while the second step is open
SECOND_STEP_MINUTES = 5
# Reachable while a user must first change their password or set up two-factor.
GATE_OPEN = {
    "auth.logout", "auth.change_password", "auth.two_factor", "auth.two_factor_start",
    "auth.two_factor_confirm", "core.set_language", "core.healthz", "static",
}


def _safe_next(target: str | None) -> str:
    return safe_next(target)


def _now_ts() -> int:
    return int(clock.utcnow().timestamp())


def _failed_message() -> str:
    """The one answer for an unknown username, a wrong password and a locked account alike."""
    return _("Unknown username or wrong password. After several failed attempts, logging in from this "
             "device is paused for %(minutes)s minutes; an administrator can unlock an account at once.",
             minutes=current_app.config["LOGIN_LOCKOUT_MINUTES"])


def _lock_message(user: User) -> str:
    minutes = max(1, int((user.locked_until - clock.utcnow()).total_seconds() // 60) + 1)
    return ngettext(
        "This account is locked after too many failed attempts. Try again in %(num)s minute, "
        "or ask an administrator to unlock it.",
        "This account is locked after too many failed attempts. Try again in %(num)s minutes, "
        "or ask an administrator to unlock it.",
        minutes,
    )


def _lockout_settings() -> dict:
    return {
        "max_failures": current_app.config["LOGIN_MAX_FAILURES"],
        "lockout_minutes": current_app.config["LOGIN_LOCKOUT_MINUTES"],
    }


def _throttle_settings() -> dict:
    return {"address_key": address_key("login"),
            "address_max_failures": current_app.config["LOGIN_ADDRESS_MAX_FAILURES"]}


def _where_after_login(user: User, target: str | None):
    if user.must_change_password:
        return redirect(url_for("auth.change_password"))
    if accounts.two_factor_required(user) and not user.totp_enabled:
        return redirect(url_for("auth.two_factor"))
    return redirect(_safe_next(target))


def start_session(user: User, second_factor: bool = False) -> None:
    """Log `user` in on this request's session once their credentials are checked (also the tests' login_as)."""
    accounts.complete_login(user, source_ip=client_ip(), second_factor=second_factor)
    db.session.commit()
    language = session.get("lang")
    session.clear()  # a fresh session at login: nothing from before survives but the language
    if language:
        session["lang"] = language
    login_user(user)
    stamp_session(user)
    session["seen"] = _now_ts()
    identity_changed.send(current_app._get_current_object(), identity=Identity(user.id))


def _finish_login(user: User, target: str | None, second_factor: bool = False):
    start_session(user, second_factor)
    return _where_after_login(user, target)


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.dashboard"))
    form = LoginForm()
    if form.validate_on_submit():
        result = accounts.authenticate(
            form.username.data, form.password.data, source_ip=client_ip(), **_lockout_settings(),
            **_throttle_settings(),
        )
        db.session.commit()
        if result.status == "throttled":
            flash(_("Too many failed logins from this address. Wait %(minutes)s minutes and try again.",
                    minutes=current_app.config["LOGIN_LOCKOUT_MINUTES"]), "error")
            return render_template("auth/login.html", form=form), 429
        if not result.ok:
            flash(_failed_message(), "error")
            return render_template("auth/login.html", form=form)
        user = result.user
        if user.totp_enabled:
            language = session.get("lang")
            session.clear()
            if language:
                session["lang"] = language
            session[PENDING_KEY] = {"user_id": user.id, "since": _now_ts(), "next": _pending_next()}
            return redirect(url_for("auth.login_code"))
        return _finish_login(user, _pending_next())
    return render_template("auth/login.html", form=form)


def _pending_next() -> str | None:
    target = request.args.get("next")
    return target if is_safe_target(target) else None


@bp.route("/login/code", methods=["GET", "POST"])
@public
def login_code():
    """The second step for users with two-factor login: a code from their app."""
    if current_user.is_authenticated:
        return redirect(url_for("main.dashboard"))
    pending = session.get(PENDING_KEY)
    user = db.session.get(User, pending["user_id"]) if pending else None
    if user is None or _now_ts() - pending["since"] > SECOND_STEP_MINUTES * 60 or not user.active:
        session.pop(PENDING_KEY, None)
        flash(_("Please log in again."), "info")
        return redirect(url_for("auth.login"))
    if accounts.is_locked(user):
        session.pop(PENDING_KEY, None)
        flash(_lock_message(user), "error")
        return redirect(url_for("auth.login"))
    form = CodeForm()
    if form.validate_on_submit():
        if accounts.totp_code_valid(user, form.code.data):
            return _finish_login(user, pending.get("next"), second_factor=True)
        locked = accounts.register_failure(user, source_ip=client_ip(), reason="wrong_code",
                                           address_key=address_key("login"), **_lockout_settings())
        db.session.commit()
        if locked:
            session.pop(PENDING_KEY, None)
            flash(_lock_message(user), "error")
            return redirect(url_for("auth.login"))
        form.code.errors.append(_("That code is not right. Try the newest code from your app."))
    return render_template("auth/code.html", form=form)


@bp.post("/logout")
@login_only
def logout():
    accounts.record_logout(current_user, source_ip=client_ip())
    db.session.commit()
    logout_user()
    session.clear()
    identity_changed.send(current_app._get_current_object(), identity=AnonymousIdentity())
    flash(_("You have been logged out."), "info")
    return redirect(url_for("auth.login"))


@bp.get("/account")
@login_only
def account():
    return render_template("auth/account.html", required=accounts.two_factor_required(current_user))


@bp.route("/account/password", methods=["GET", "POST"])
@login_only
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            accounts.change_own_password(current_user, form.current_password.data, form.new_password.data,
                                         source_ip=client_ip())
        except accounts.AccountError as error:
            db.session.rollback()
            getattr(form, error.field or "new_password").errors.append(str(error))
        else:
            db.session.commit()
            renew_epoch(current_user)  # this browser stays logged in; every other session has ended
            flash(_("Your password has been changed."), "info")
            return _where_after_login(current_user, None)
    return render_template("auth/password.html", form=form, forced=current_user.must_change_password)


@bp.get("/account/two-factor")
@login_only
def two_factor():
    user = current_user
    uri = qr = None
    if user.totp_secret and not user.totp_enabled:
        uri = accounts.provisioning_uri(user, current_app.config["CLUB_NAME"])
        qr = _qr_svg(uri)
    return render_template(
        "auth/two_factor.html", uri=uri, qr=qr, secret=user.totp_secret if uri else None,
        required=accounts.two_factor_required(user), form=CodeForm(), start_form=EmptyForm(),
    )


def _qr_svg(uri: str) -> Markup:
    """The otpauth:// link as an inline SVG QR code (segno): no script, no external image, CSP-clean."""
    svg = segno.make(uri, error="m").svg_inline(scale=5, border=4, dark="#000", light="#fff",
                                                 title=_("QR code for your authenticator app"))
    # segno's own markup; the only text in it is the escaped title and our otpauth:// link.
    return Markup(svg)  # noqa: S704 # nosec B704


@bp.post("/account/two-factor/start")
@login_only
def two_factor_start():
    if not current_user.totp_enabled:
        accounts.start_totp_enrolment(current_user)
        db.session.commit()
    return redirect(url_for("auth.two_factor"))


@bp.post("/account/two-factor/confirm")
@login_only
def two_factor_confirm():
    """Confirm enrolment with a first code, or (when enabled) turn two-factor off with a code."""
    form = CodeForm()
    user = current_user
    if form.validate_on_submit():
        try:
            if user.totp_enabled:
                accounts.disable_totp(user, form.code.data)
                message = _("Two-factor login is turned off.")
            else:
                accounts.confirm_totp_enrolment(user, form.code.data)
                message = _("Two-factor login is on. From now on you log in with a code from your app.")
        except accounts.AccountError as error:
            db.session.rollback()
            flash(str(error), "error")
        else:
            db.session.commit()
            flash(message, "info")
            return _where_after_login(user, None)
    else:
        flash(_("Enter the six-digit code from your app."), "error")
    return redirect(url_for("auth.two_factor"))


@bp.before_app_request
def idle_timeout_and_gate():
    """Log out after IDLE_TIMEOUT_MINUTES without a request; keep gated users on their task."""
    if request.endpoint == "static" or request.path.startswith("/api/") or not current_user.is_authenticated:
        return None
    now = _now_ts()
    seen = session.get("seen")
    limit = timedelta(minutes=current_app.config["IDLE_TIMEOUT_MINUTES"]).total_seconds()
    if seen is None or now - seen > limit:
        accounts.record_logout(current_user, source_ip=client_ip(), reason="idle")
        db.session.commit()
        logout_user()
        session.clear()
        g.identity = AnonymousIdentity()
        if wants_json():
            return {"error": "session expired"}, 401
        flash(
            _("You were logged out after %(minutes)s minutes without activity. Please log in again.",
              minutes=current_app.config["IDLE_TIMEOUT_MINUTES"]),
            "warning",
        )
        target = request.full_path if request.method == "GET" else None
        return redirect(url_for("auth.login", next=target.rstrip("?") if target else None))
    session["seen"] = now
    if request.endpoint in GATE_OPEN:
        return None
    user = current_user
    if user.must_change_password:
        flash(_("Please choose your own password before you continue."), "warning")
        return redirect(url_for("auth.change_password"))
    if accounts.two_factor_required(user) and not user.totp_enabled:
        flash(_("Your role requires two-factor login. Please set it up before you continue."), "warning")
        return redirect(url_for("auth.two_factor"))
    return None
