"""Login and logout."""

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from flask_principal import AnonymousIdentity, Identity, identity_changed

from app.auth.decorators import login_only, public
from app.blueprints.auth import bp
from app.blueprints.auth.forms import LoginForm
from app.extensions import db
from app.services import accounts


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("main.dashboard")


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.dashboard"))
    form = LoginForm()
    if form.validate_on_submit():
        user = accounts.authenticate(form.username.data, form.password.data)
        if user is None:
            db.session.commit()
            flash(_("Unknown username or wrong password."), "error")
            return render_template("auth/login.html", form=form), 200
        db.session.commit()
        session.clear()  # a fresh session at login
        login_user(user)
        identity_changed.send(current_app._get_current_object(), identity=Identity(user.id))
        return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
@login_only
def logout():
    logout_user()
    session.clear()
    identity_changed.send(current_app._get_current_object(), identity=AnonymousIdentity())
    flash(_("You have been logged out."), "info")
    return redirect(url_for("auth.login"))
