"""Dashboard, language switch and health check views."""

from flask import current_app, jsonify, redirect, render_template, request, session
from flask_login import current_user
from sqlalchemy import text

from app.auth.decorators import login_only, public
from app.blueprints.main import bp, core_bp
from app.blueprints.security import safe_next
from app.extensions import db
from app.templating import can


@core_bp.get("/healthz")
@public
def healthz():
    """For monitoring: 200 when the database answers, 503 when it does not."""
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:  # noqa: BLE001 - any database failure means unhealthy
        db.session.rollback()
        return jsonify(status="error", database="unreachable"), 503
    from app.services.connectors import runner

    try:
        jobs = runner.worker_status()
    except Exception:  # noqa: BLE001 - the queue's report must not make the health check fail
        db.session.rollback()
        jobs = None
    return jsonify(status="ok", database="ok", jobs=jobs)


@bp.get("/")
@login_only
def dashboard():
    panels = []
    for panel in current_app.extensions.get("clubhouse_panels", []):
        if not can(panel.permission):
            continue
        context = panel.provider(current_user)
        if context is not None:
            panels.append((panel.template, context))
    return render_template("main/dashboard.html", panels=panels)


@core_bp.post("/language")
@public
def set_language():
    """Switch the interface language (also for the public intake form)."""
    lang = request.form.get("lang", "")
    if lang in current_app.config["LANGUAGES"]:
        session["lang"] = lang
        if current_user.is_authenticated:
            current_user.locale = lang
            db.session.commit()
    return redirect(safe_next(request.form.get("next")))
