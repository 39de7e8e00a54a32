"""Rectification, restriction and objection requests end to end; the member-page partials."""

from datetime import datetime

import pytest
from flask import render_template
from sqlalchemy import select

from app.extensions import db as _db
from app.models import AuditEvent, Consent, Member
from app.services import members as member_service
from app.services import privacy_requests as svc
from tests.privacy.helpers import get_request, register, verify


def test_rectification_links_to_the_edit_page_and_records_the_change(client, db, make_user, login_as, make_member):
    login_as(make_user("privacy_officer"))
    member = make_member()
    reference = register(client, kind="rectification")
    verify(client, reference, member)
    page = client.get(f"/privacy/requests/{reference}").get_data(as_text=True)
    assert f'href="/members/{member.member_number}/edit"' in page
    page = client.post(f"/privacy/requests/{reference}/rectification", data={"note": ""},
                       follow_redirects=True).get_data(as_text=True)
    assert "Describe what was corrected." in page
    client.post(f"/privacy/requests/{reference}/rectification", data={"note": "Corrected the street name"})
    page = client.get(f"/privacy/requests/{reference}").get_data(as_text=True)
    assert "Correction recorded" in page and "Corrected the street name" in page
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "privacy.request.rectified"))


def test_restriction_sets_and_lifts_the_flag_and_excludes_from_partners(client, db, make_user, login_as,
                                                                        make_member, frozen_clock):
    frozen_clock(datetime(2026, 5, 1, 8, 0))
    login_as(make_user("privacy_officer"))
    member, other = make_member(), make_member()
    reference = register(client, kind="restriction")
    verify(client, reference, member)
    client.post(f"/privacy/requests/{reference}/restriction/set")
    db.session.expire_all()
    restricted = db.session.get(Member, member.id)
    assert restricted.processing_restricted and restricted.restricted_since == datetime(2026, 5, 1, 8, 0)
    page = client.get(f"/privacy/requests/{reference}").get_data(as_text=True)
    assert "Processing restricted" in page and "Lift the restriction" in page
    shared = set(db.session.scalars(select(Member.id).where(svc.partner_processing_clause())))
    assert shared == {other.id}
    assert not svc.may_share_with_partners(restricted)
    with pytest.raises(member_service.MemberError):  # an edit now needs an explicit override
        member_service.update_member(restricted, {"city": "Elders"}, actor=None)

    client.post(f"/privacy/requests/{reference}/restriction/lift")
    db.session.expire_all()
    assert not db.session.get(Member, member.id).processing_restricted
    assert svc.may_share_with_partners(db.session.get(Member, member.id))
    actions = {e.action for e in get_request(db, reference).events}
    assert {"restricted", "restriction_lifted"} <= actions


def test_objection_withdraws_consents_and_may_continue_into_erasure(client, db, make_user, login_as, make_member):
    login_as(make_user("privacy_officer"))
    member = make_member()
    db.session.add_all([Consent(member_id=member.id, purpose="newsletter"),
                        Consent(member_id=member.id, purpose="technogym"),
                        Consent(member_id=member.id, purpose="photos")])
    db.session.commit()
    reference = register(client, kind="objection")
    verify(client, reference, member)
    assert not svc.may_share_with_partners(db.session.get(Member, member.id))  # an open objection excludes
    ids = {c.purpose: c.id for c in db.session.scalars(select(Consent))}
    page = client.post(f"/privacy/requests/{reference}/objection", data={}, follow_redirects=True)
    assert "Choose the consents the objection concerns." in page.get_data(as_text=True)
    client.post(f"/privacy/requests/{reference}/objection",
                data={"consents": [ids["newsletter"], ids["technogym"]]})
    db.session.expire_all()
    state = {c.purpose: c.withdrawn_at is not None for c in db.session.scalars(select(Consent))}
    assert state == {"newsletter": True, "technogym": True, "photos": False}
    assert db.session.scalar(select(Consent).where(Consent.purpose == "technogym")).withdrawn_via == reference
    assert "Consents withdrawn" in client.get(f"/privacy/requests/{reference}").get_data(as_text=True)
    response = client.post(f"/privacy/requests/{reference}/erasure/start")
    assert response.headers["Location"].endswith(f"/privacy/requests/{reference}/erasure/ground")


def test_member_page_partials(app, db, make_member, client, make_user, login_as):
    login_as(make_user("privacy_officer"))
    member = make_member()
    reference = register(client, kind="access")
    verify(client, reference, member)
    with app.test_request_context():
        member = _db.session.get(Member, member.id)
        listing = render_template("privacy/_member_requests.html", member=member)
        assert reference in listing
        assert render_template("privacy/_member_restriction.html", member=member).strip() == ""
        member.processing_restricted = True
        member.restricted_since = datetime(2026, 1, 2)
        assert "Processing restricted" in render_template("privacy/_member_restriction.html", member=member)
    _db.session.rollback()
