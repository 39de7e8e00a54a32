"""The API client pages (/integrations/api-clients): what each partner system may reach, its token."""

from datetime import datetime, time

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from wtforms import SelectChoice

from app.auth.decorators import permission_required
from app.blueprints.auth.forms import EmptyForm
from app.blueprints.integrations import bp
from app.blueprints.integrations.api_client_forms import FIELD_LABELS, EditApiClientForm, NewApiClientForm
from app.blueprints.web import attempt, client_ip
from app.extensions import db
from app.models import ApiClient, DataTransfer
from app.services import api_clients, clock, transfers
from app.services import roles as role_service

RECENT_TRANSFERS = 20


@bp.app_context_processor
def _transfer_helpers():
    """The member page's "shared with" partial reads the transfer log through this."""
    return {"data_recipients_of": transfers.recipients_of}


def _client_or_404(api_client_id: int) -> ApiClient:
    client = api_clients.get(api_client_id)
    if client is None:
        abort(404)
    return client


def _own_role_name(client: ApiClient | None) -> str | None:
    return api_clients.own_role_name(client.name) if client else None


def _fill_choices(form, client: ApiClient | None = None) -> None:
    own = _own_role_name(client)
    form.roles.choices = [SelectChoice(r.id, r.name) for r in api_clients.partner_roles() if r.name != own]


def _networks(text: str | None) -> list[str]:
    return (text or "").split()


@bp.get("/api-clients")
@permission_required("integrations.view", "integrations.manage")
def api_clients_index():
    clients = api_clients.all_clients()
    return render_template("integrations/api_clients.html",
                           clients=[(client, api_clients.summary(client)) for client in clients])


@bp.route("/api-clients/new", methods=["GET", "POST"])
@permission_required("integrations.manage")
def api_client_new():
    form = NewApiClientForm()
    _fill_choices(form)
    if form.validate_on_submit():
        created = attempt(lambda: api_clients.create_client(
            current_user, name=form.name.data, roles=role_service.roles_by_ids(form.roles.data),
            scopes=form.scopes.data, fields=form.fields.data, networks=_networks(form.networks.data),
            expires_days=form.expires_days.data, processing_agreement=form.processing_agreement.data), form=form)
        if created.ok:
            client, token = created.value
            return render_template("integrations/api_client_token.html", client=client, token=token, rotated=False), 201
    status = 200 if not form.is_submitted() else 422
    return render_template("integrations/api_client_form.html", form=form, client=None), status


def _edit_form(client: ApiClient, formdata=None) -> EditApiClientForm:
    own = _own_role_name(client)
    own_role = next((r for r in client.user.roles if r.name == own), None)
    form = EditApiClientForm(
        formdata=formdata,
        scopes=sorted(own_role.permission_codes) if own_role else [],
        roles=[r.id for r in client.user.roles if r.name != own],
        fields=client.extra_fields.split(",") if client.extra_fields else [],
        networks="\n".join(api_clients.networks_of(client)),
        processing_agreement=client.processing_agreement,
        expires_on=client.expires_at.date(),
    )
    _fill_choices(form, client)
    return form


def _render_client(client: ApiClient, form=None, status: int = 200):
    recent = list(db.session.scalars(
        select(DataTransfer).where(DataTransfer.recipient_kind == "api_client",
                                   DataTransfer.recipient_key == str(client.user_id))
        .order_by(DataTransfer.at.desc(), DataTransfer.id.desc()).limit(RECENT_TRANSFERS)))
    return render_template(
        "integrations/api_client.html", client=client, summary=api_clients.summary(client), form=form or _edit_form(client),
        button=EmptyForm(), recent=recent, deliveries=transfers.count_for_recipient(client.user_id),
        field_labels=FIELD_LABELS, now=clock.utcnow(),
    ), status


@bp.get("/api-clients/<int:api_client_id>")
@permission_required("integrations.view", "integrations.manage")
def api_client_show(api_client_id: int):
    return _render_client(_client_or_404(api_client_id))


@bp.post("/api-clients/<int:api_client_id>")
@permission_required("integrations.manage")
def api_client_update(api_client_id: int):
    client = _client_or_404(api_client_id)
    form = EditApiClientForm()
    _fill_choices(form, client)
    if form.validate_on_submit():
        own = _own_role_name(client)
        if attempt(lambda: api_clients.update_client(
                current_user, client, scopes=form.scopes.data,
                roles=[*role_service.roles_by_ids(form.roles.data),
                       *[r for r in client.user.roles if r.name == own]],
                fields=form.fields.data, networks=_networks(form.networks.data),
                expires_at=datetime.combine(form.expires_on.data, time(23, 59)),
                processing_agreement=form.processing_agreement.data),
                lambda changed: _("Saved.") if changed else _("Nothing changed."), category="info", form=form).ok:
            return redirect(url_for("integrations.api_client_show", api_client_id=client.id))
    return _render_client(client, form, 422)


@bp.post("/api-clients/<int:api_client_id>/rotate")
@permission_required("integrations.manage")
def api_client_rotate(api_client_id: int):
    from flask import current_app

    client = _client_or_404(api_client_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    token = api_clients.rotate(current_user, client, overlap_hours=current_app.config["API_TOKEN_OVERLAP_HOURS"])
    db.session.commit()
    return render_template("integrations/api_client_token.html", client=client, token=token, rotated=True)


@bp.post("/api-clients/<int:api_client_id>/revoke")
@permission_required("integrations.manage")
def api_client_revoke(api_client_id: int):
    client = _client_or_404(api_client_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    api_clients.revoke(current_user, client, source_ip=client_ip())
    db.session.commit()
    flash(_("Every token of %(name)s is revoked. Rotate to give the partner a new one.", name=client.name), "info")
    return redirect(url_for("integrations.api_client_show", api_client_id=client.id))
