"""The API client pages: who may use them, creating a client (token shown once), editing, rotating,
revoking, the exposed-token notice, and the member page's "shared with"."""

import re

from sqlalchemy import select

from app.models import ApiClient
from app.services import api_clients, transfers


def _manager(make_user):
    return make_user(permissions=["integrations.view", "integrations.manage", "members.view", "members.contact"])


def test_the_pages_need_the_integrations_permissions(client, make_user, login_as, make_client):
    partner, _token = make_client()
    login_as(make_user("front_desk"))
    assert client.get("/integrations/api-clients").status_code == 403
    login_as(make_user(permissions=["integrations.view"]))
    page = client.get("/integrations/api-clients")
    assert page.status_code == 200 and partner.name in page.text
    assert "New API client" not in page.text
    assert client.get("/integrations/api-clients/new").status_code == 403
    assert client.post(f"/integrations/api-clients/{partner.id}/revoke").status_code == 403


def test_create_shows_the_token_once(db, client, make_user, login_as):
    login_as(_manager(make_user))
    response = client.post("/integrations/api-clients/new", data={
        "name": "Access gate", "scopes": ["api.visits.write"], "fields": ["status"],
        "networks": "192.0.2.0/24\n2001:db8::/32", "expires_days": "90", "processing_agreement": "VWO 2026-03, in the binder"})
    assert response.status_code == 201
    token = re.search(r'id="api-token"[^>]*>(chp_[A-Za-z0-9_-]+)<', response.text).group(1)
    assert response.headers["Cache-Control"] == "no-store"
    gate = db.session.scalar(select(ApiClient))
    assert api_clients.check_token(token).client.id == gate.id
    assert api_clients.granted_fields(gate)[-1] == "status"
    assert api_clients.networks_of(gate) == ["192.0.2.0/24", "2001:db8::/32"]
    page = client.get(f"/integrations/api-clients/{gate.id}")
    assert token not in page.text and "VWO 2026-03" in page.text


def test_bad_input_is_shown_next_to_the_field_and_nothing_is_created(db, client, make_user, login_as):
    login_as(_manager(make_user))
    response = client.post("/integrations/api-clients/new", data={
        "name": "Gate", "scopes": ["api.visits.write"], "networks": "10.0.0.300", "expires_days": "90"})
    assert response.status_code == 422
    assert "Not an address or CIDR range: 10.0.0.300" in response.text
    assert 'value="Gate"' in response.text  # nothing typed is lost
    assert db.session.scalar(select(ApiClient)) is None


def test_edit_rotate_and_revoke(db, client, make_user, login_as, make_client):
    partner, _token = make_client(scopes=["api.members.read"])
    login_as(_manager(make_user))
    saved = client.post(f"/integrations/api-clients/{partner.id}", data={
        "scopes": ["api.members.read", "api.changes.read"], "fields": ["email", "city"], "networks": "",
        "expires_on": "2030-01-31", "processing_agreement": "signed"}, follow_redirects=True)
    assert saved.status_code == 200
    db.session.expire_all()
    partner = db.session.get(ApiClient, partner.id)
    assert api_clients.scopes_of(partner) == ["api.changes.read", "api.members.read"]
    assert "email" in api_clients.granted_fields(partner) and partner.expires_at.year == 2030
    rotated = client.post(f"/integrations/api-clients/{partner.id}/rotate")
    assert rotated.status_code == 200 and "keeps working until" in rotated.text
    revoked = client.post(f"/integrations/api-clients/{partner.id}/revoke", follow_redirects=True)
    assert "Revoked on" in revoked.text


def test_the_client_page_says_when_and_why_a_token_was_exposed(db, client, make_user, login_as, make_client, http):
    partner, token = make_client()
    http.get("/api/v1/members", token=token)
    login_as(_manager(make_user))
    page = client.get(f"/integrations/api-clients/{partner.id}")
    assert 'id="exposed"' in page.text and "sent without TLS" in page.text


def test_the_member_page_shows_who_received_the_data(db, client, make_user, login_as, make_member):
    member = make_member()
    transfers.record("api_client", "42", "ClubPlanner", "GET /api/v1/members", ["member_number", "email"], [member.id])
    db.session.commit()
    login_as(make_user("front_desk"))
    page = client.get(f"/members/{member.member_number}")
    assert "Shared with ClubPlanner on" in page.text and "member_number, email" in page.text


def test_staff_user_forms_do_not_offer_partner_roles(client, make_user, login_as, make_client):
    make_client(name="Planner")
    login_as(make_user("administrator"))
    assert "Planner (API)" not in client.get("/admin/users/new").text
