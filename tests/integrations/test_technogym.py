"""The TechnoGym connector against a loopback server that behaves as integrators describe Mywellness."""

from datetime import date

from sqlalchemy import select

from app.models import Connector, ConnectorMember, Subscription
from app.services import members, transfers
from app.services.connectors import delivery, outbox, secretbox, settings


def sync():
    return delivery.run_pending("technogym")


def _full_sync(db):
    outbox.enqueue_full_sync(settings.connector("technogym"))
    db.session.commit()
    return sync()


def test_a_member_is_created_with_the_external_id_and_subscribed(configure_technogym, technogym, gym_member, db,
                                                                 clock_at):
    member = gym_member(infix="van der", last_name="Berg")
    configure_technogym()
    assert _full_sync(db).delivered == 1
    [user] = technogym.users.values()
    assert user["externalId"] == str(member.member_number)
    assert user["lastName"] == "van der Berg" and user["gender"] == "F" and user["dateOfBirth"] == "1990-05-17"
    assert "city" not in user  # optional fields are off by default
    assert user["operations"] == ["Subscribe"] and user["membership"]["memberSince"] == "2020-01-01"
    assert technogym.invalid == []
    # Every call carries the application headers; the access call came first, once.
    assert technogym.requests[0]["action"] == "AccessIntegration"
    assert len(technogym.calls("AccessIntegration")) == 1
    assert all(r["headers"].get("x-mwapps-client") == "thirdParties" for r in technogym.requests)
    [received] = transfers.recipients_of(member.id)
    assert received.recipient_name == "TechnoGym" and "externalId" in received.fields


def test_a_change_updates_the_user_and_a_new_subscription_renews(configure_technogym, technogym, gym_member, db,
                                                                 clock_at, make_plan):
    member = gym_member()
    configure_technogym(fields=["city"])
    _full_sync(db)
    members.update_member(member, {"city": "Deventer"}, actor=None)
    db.session.commit()
    assert sync().delivered == 1
    [user] = technogym.users.values()
    assert user["city"] == "Deventer" and user["operations"] == ["Subscribe", "Update"]
    # A new subscription period: Renew; a frozen one: Froze, then UnFroze.
    old = db.session.scalars(select(Subscription).where(Subscription.member_id == member.id)).one()
    old.status = "ended"
    db.session.add(Subscription(member_id=member.id, plan=old.plan, starts_on=date(2026, 3, 1), ends_on=date(2027, 2, 28),
                                monthly_fee=old.monthly_fee, status="active"))
    db.session.commit()
    sync()
    assert user["operations"][-1] == "Renew" and user["membership"]["expiryDate"] == "2027-02-28"
    current = db.session.scalars(select(Subscription).where(Subscription.member_id == member.id,
                                                            Subscription.status == "active")).one()
    current.status = "frozen"
    db.session.commit()
    sync()
    current.status = "active"
    db.session.commit()
    sync()
    assert user["operations"][-2:] == ["Froze", "UnFroze"]
    # The member leaves: UnSubscribe with the end date.
    member = db.session.merge(member)
    member.status, member.ended_on = "ended", date(2026, 6, 30)
    db.session.commit()
    sync()
    assert user["operations"][-1] == "UnSubscribe" and user["membership"]["expiryDate"] == "2026-06-30"
    assert technogym.invalid == []


def test_match_found_is_an_error_for_staff_with_the_candidates(configure_technogym, technogym, gym_member, db,
                                                                clock_at, client, login_as, make_user):
    member = gym_member(email="anna@example.nl", first_name="Anna", infix=None, last_name="Berg")
    at_desk = technogym.add_user(email="anna@example.nl", firstName="Anna", lastName="Berg", dateOfBirth="1990-05-17",
                                 gender="F")
    configure_technogym()
    assert _full_sync(db).parked == 1
    assert technogym.calls("SaveMembership") == [] and len(technogym.users) == 1  # no duplicate made
    link = db.session.get(ConnectorMember, ("technogym", member.id))
    assert link.state == "failed" and link.error_code == "userEmailAndDataMatchFound" and link.candidates == at_desk
    login_as(make_user("administrator", username="admin"))
    page = client.get("/integrations").get_data(as_text=True)
    assert "Choose the right TechnoGym user" in page and at_desk in page
    assert "anna@example.nl" not in page  # the candidates are shown by their TechnoGym id, not their data
    # Staff choose the candidate: the member is linked, updated and subscribed, without a new user.
    response = client.post(f"/integrations/technogym/members/{member.member_number}/link",
                           data={"account_id": "someone-else"})
    assert "Choose one of the candidates" in client.get(response.headers["Location"]).get_data(as_text=True)
    client.post(f"/integrations/technogym/members/{member.member_number}/link", data={"account_id": at_desk})
    assert sync().delivered == 1
    assert len(technogym.users) == 1 and technogym.users[at_desk]["externalId"] == str(member.member_number)
    assert technogym.users[at_desk]["operations"] == ["Subscribe"]


def test_an_expired_token_is_renewed_and_an_outage_waits(configure_technogym, technogym, gym_member, db, clock_at):
    member = gym_member()
    configure_technogym()
    _full_sync(db)
    technogym.expire_tokens()
    members.update_member(member, {"first_name": "Anneke"}, actor=None)
    db.session.commit()
    assert sync().delivered == 1
    assert len(technogym.calls("AccessIntegration")) == 2
    technogym.down = True
    members.update_member(db.session.merge(member), {"first_name": "Annie"}, actor=None)
    db.session.commit()
    result = sync()
    assert result.stopped and result.delivered == 0
    [user] = technogym.users.values()
    assert user["firstName"] == "Anneke"


def test_members_outside_the_rules_are_not_sent_and_leaving_them_deletes(configure_technogym, technogym, gym_member,
                                                                       db, clock_at):
    gym_member(platforms=("egym",))  # consent for eGym only
    gym_member(gender="other")  # TechnoGym knows M and F: a required value is missing
    opted = gym_member()
    configure_technogym()
    result = _full_sync(db)
    assert result.delivered == 1 and result.parked == 1
    assert len(technogym.users) == 1
    settings.set_opt_out(opted, "technogym", True, actor=None)
    db.session.commit()
    sync()
    assert technogym.users == {} and len(technogym.deletions) == 1


def test_configure_from_the_cli_keeps_the_secrets_encrypted(runner, technogym, tmp_path, db):
    key_file, password_file = tmp_path / "key", tmp_path / "password"
    key_file.write_text(technogym.api_key)
    password_file.write_text(technogym.password + "\n")
    args = ["integrations", "configure", "technogym", "--url", technogym.url, "--application-id",
            technogym.application_id, "--api-key-file", str(key_file), "--integration-user", technogym.username,
            "--basis", "consent", "--enable"]
    result = runner.invoke(args=args)
    assert result.exit_code == 1 and "password" in result.output  # enabling needs the whole integration user
    result = runner.invoke(args=[*args, "--password-file", str(password_file)])
    assert result.exit_code == 0, result.output
    assert "Connection test: the partner answered." in result.output and "externalId" in result.output
    row = db.session.get(Connector, "technogym")
    assert technogym.password not in row.password_encrypted
    assert secretbox.open_sealed(row.password_encrypted) == technogym.password
    password_file.write_text("wrong")
    result = runner.invoke(args=[*args, "--password-file", str(password_file)])
    assert result.exit_code == 1 and "Connection test failed (unauthorized)" in result.output


def test_the_settings_page_and_the_overview_show_what_technogym_gets(client, login_as, make_user, technogym, db):
    login_as(make_user("administrator", username="admin"))
    page = client.get("/integrations/technogym").get_data(as_text=True)
    assert "Application id" in page and "Integration user" in page
    response = client.post("/integrations/technogym", data={
        "enabled": "y", "base_url": technogym.url, "api_key": technogym.api_key,
        "application_id": technogym.application_id, "integration_user": technogym.username,
        "password": technogym.password, "legal_basis": "consent", "optional_fields": ["city"],
        "test_connection": "y"})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    assert db.session.get(Connector, "technogym").enabled
    overview = client.get("/integrations").get_data(as_text=True)
    section = overview[overview.index('id="connector-technogym"'):]
    assert "<code>externalId</code>" in section and "<code>city</code>" in section
    assert "<code>mobilePhoneNumber</code>" in section  # listed as not sent
