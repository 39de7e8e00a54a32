"""The overview, the settings page, the member page line, the export, health and the dashboard."""

from app.models import Connector
from app.services.connectors import delivery, secretbox
from tests.integrations.conftest import KEY


def test_the_overview_shows_fields_counts_errors_and_the_log(client, login_as, make_user, configure, egym, egym_member,
                                                           db, clock_at):
    configure(fields=["contact.city"])
    egym_member()
    egym_member(gender=None)  # eGym requires a gender: an error to resolve
    delivery.run_pending("egym")
    login_as(make_user(permissions=["integrations.view"]))
    page = client.get("/integrations").get_data(as_text=True)
    assert "contact.city" in page and "dateOfBirth" in page  # sent / not sent, from the declaration
    assert "no (optional, off)" in page
    assert "has no value: fill it in on the member page" in page and "missing:gender" not in page  # words, no code
    assert "Full synchronisation" not in page  # needs integrations.manage
    assert "No job worker is running" in page


def test_settings_page_saves_with_a_connection_test_and_never_shows_the_key(client, login_as, make_user, egym, db):
    login_as(make_user(permissions=["integrations.manage", "integrations.view"]))
    assert client.get("/integrations/egym").status_code == 200
    form = {"enabled": "y", "base_url": egym.url, "api_key": KEY, "legal_basis": "consent", "processing_agreement": "",
            "sync_time": "05:30", "optional_fields": ["dateOfBirth"], "test_connection": "y"}
    response = client.post("/integrations/egym", data=form, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "were saved" in page and KEY not in page
    row = db.session.get(Connector, "egym")
    assert row.enabled and row.sync_time == "05:30" and secretbox.open_sealed(row.api_key_encrypted) == KEY
    # A wrong key: the test fails, nothing is saved.
    response = client.post("/integrations/egym", data=dict(form, api_key="wrong", sync_time="06:00"))
    assert "connection test failed" in response.get_data(as_text=True).lower()
    db.session.expire_all()
    assert db.session.get(Connector, "egym").sync_time == "05:30"
    # Plain http to a host that is not loopback is refused next to the field.
    response = client.post("/integrations/egym", data=dict(form, base_url="http://egym.example.com"))
    assert response.status_code == 200 and "HTTPS" in response.get_data(as_text=True)


def test_settings_need_the_manage_permission(client, login_as, make_user):
    login_as(make_user(permissions=["integrations.view"]))
    assert client.get("/integrations/egym").status_code == 403
    assert client.post("/integrations/egym/sync").status_code == 403
    assert client.get("/integrations/nosuch").status_code in (403, 404)


def test_member_page_and_export_say_what_went_to_egym(client, login_as, make_user, configure, egym, egym_member, db,
                                                      clock_at):
    from app.services import export

    configure()
    member = egym_member()
    delivery.run_pending("egym")
    login_as(make_user("administrator"))
    page = client.get(f"/members/{member.member_number}?tab=privacy").get_data(as_text=True)
    assert "Sent to eGym on" in page and "Email address" in page
    [recipient] = [r for r in export.recipients_for(member) if r.name == "eGym"]
    assert "email" in recipient.categories and recipient.times == 1  # the transfer log's field names
    # The opt-out switch on the member page: the account is removed at eGym on the next delivery.
    client.post(f"/integrations/egym/members/{member.member_number}/opt-out", data={"opted_out": "1"})
    delivery.run_pending("egym")
    assert egym.accounts == {} and len(egym.deletions) == 1


def test_healthz_and_the_dashboard_report_the_queue(client, login_as, make_user, configure, egym, egym_member, db,
                                                    clock_at):
    configure()
    egym_member()
    body = client.get("/healthz").get_json()
    assert body["jobs"] == {"worker_alive": False, "worker_seen_at": None, "outbox_backlog": 1,
                            "outbox_oldest_at": "2026-03-02T09:00:00", "parked": 0}
    login_as(make_user("administrator"))
    assert "Outbox backlog: 1." in client.get("/").get_data(as_text=True)


def test_an_anonymised_member_gets_no_partner_link_or_choice_again(client, login_as, make_user, configure, egym,
                                                                   egym_member, db, clock_at):
    """Neither the opt-out switch nor a candidate link brings a link row back for an anonymised member."""
    from app.models import ConnectorMember
    from app.services import erasure

    configure()
    member = egym_member()
    erasure.erase_member(member, "anonymise", None)
    db.session.commit()
    assert db.session.query(ConnectorMember).count() == 0  # the erasure took the link away
    login_as(make_user("administrator"))
    for path, form in (("egym/members/{n}/opt-out", {"opted_out": "1"}),
                       ("technogym/members/{n}/link", {"account_id": "tg-1"})):
        page = client.post(f"/integrations/{path.format(n=member.member_number)}", data=form,
                           follow_redirects=True).get_data(as_text=True)
        assert f"Member {member.member_number} has been anonymised: nothing about them goes to a partner" in page
    assert db.session.query(ConnectorMember).count() == 0
