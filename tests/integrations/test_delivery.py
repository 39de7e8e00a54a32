"""The eGym connector end to end against a loopback server that speaks MMS API v2."""

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from app.models import ConnectorMember, DataTransfer, OutboxEvent
from app.services import clock, members, transfers
from app.services.connectors import delivery, outbox, settings
from app.services.connectors import egym as egym_api

REQUIRED = {"email", "firstName", "lastName", "gender", "membership"}


def sync(name="egym"):
    return delivery.run_pending(name)


def test_payload_holds_exactly_the_declared_fields_and_the_clubs_choices(configure, egym, egym_member, db, clock_at):
    member = egym_member(infix="van der", last_name="Berg")
    configure()
    outbox.enqueue_full_sync(settings.connector("egym"))
    db.session.commit()
    assert sync().delivered == 1
    [post] = egym.calls("POST")
    assert set(post["body"]) == REQUIRED
    assert set(post["body"]["membership"]) == {"membershipId", "membershipType", "startOfContract"}
    assert post["body"]["lastName"] == "van der Berg"
    assert post["body"]["membership"]["membershipId"] == str(member.member_number)
    assert egym.invalid == []
    # Switching on two optional fields sends those two and nothing more.
    configure(fields=["dateOfBirth", "contact.city"])
    outbox.enqueue_full_sync(settings.connector("egym"))
    db.session.commit()
    assert sync().delivered == 1
    [patch] = egym.calls("PATCH")
    assert set(patch["body"]) == REQUIRED | {"dateOfBirth", "contact"}
    assert patch["body"]["contact"] == {"city": "Utrecht"}
    assert egym.invalid == []
    # The transfer log says the same, field for field.
    [received] = transfers.recipients_of(member.id)
    assert received.recipient_name == "eGym"
    assert set(received.fields) >= {"email", "dateOfBirth", "contact.city", "membership.membershipId"}


def test_a_change_writes_an_outbox_row_in_the_same_transaction_and_no_values(configure, egym_member, db, clock_at):
    configure()
    member = egym_member()
    rows = db.session.scalars(select(OutboxEvent)).all()
    assert [(r.member_id, r.state) for r in rows] == [(member.id, "pending")]
    db.session.execute(OutboxEvent.__table__.delete())
    db.session.commit()
    members.update_member(member, {"email": "new@example.nl"}, actor=None)
    db.session.rollback()  # the change was undone: so is its outbox row
    assert db.session.scalar(select(func.count()).select_from(OutboxEvent)) == 0
    members.update_member(db.session.merge(member), {"email": "new@example.nl"}, actor=None)
    db.session.commit()
    [row] = db.session.scalars(select(OutboxEvent)).all()
    assert row.kind == "changed" and row.member_id == member.id and row.account_id is None


def test_members_outside_the_rules_are_never_sent(configure, egym, egym_member, db, clock_at, make_member, make_plan):
    make_plan("Fitness onbeperkt", plan_group="fitness")  # a plan is chosen from the catalogue, so it exists first
    configure(plan_names=["Fitness onbeperkt"])
    sent = egym_member()
    egym_member(consent=False)  # no consent under the consent basis
    egym_member(plan="Zwemmen")  # another plan
    restricted = egym_member()
    restricted.processing_restricted = True
    opted = egym_member()
    settings.set_opt_out(opted, "egym", True, actor=None)
    db.session.commit()
    outbox.enqueue_full_sync(settings.connector("egym"))
    db.session.commit()
    sync()
    assert [c["body"]["membership"]["membershipId"] for c in egym.calls("POST")] == [str(sent.member_number)]


def test_partner_down_then_up_loses_nothing_and_doubles_nothing(configure, egym, egym_member, db, clock_at):
    configure()
    people = [egym_member() for _ in range(3)]
    egym.down = True
    result = sync()
    assert result.delivered == 0 and result.stopped == "serviceUnavailable"
    assert db.session.scalar(select(func.count()).select_from(OutboxEvent).where(OutboxEvent.state == "pending")) == 3
    # Retried with backoff: nothing is due before the wait is over.
    clock.freeze(clock.utcnow() + timedelta(seconds=5))
    assert len(egym.requests) == 1
    egym.down = False
    clock.freeze(clock.utcnow() + timedelta(seconds=10))
    assert sync().delivered == 3
    assert len(egym.accounts) == 3
    assert sorted(a["membership"]["membershipId"] for a in egym.accounts.values()) == sorted(
        str(p.member_number) for p in people)
    assert db.session.scalar(select(func.count()).select_from(OutboxEvent).where(OutboxEvent.state != "done")) == 0


def test_a_delivery_that_keeps_failing_is_parked_and_shown(configure, egym, egym_member, db, clock_at):
    configure()
    egym_member()
    egym.down = True
    for _ in range(4):
        sync()
        clock.freeze(clock.utcnow() + timedelta(hours=2))
    [row] = db.session.scalars(select(OutboxEvent)).all()
    assert row.state == "parked" and row.attempts == 4 and row.error_code == "serviceUnavailable"
    egym.down = False
    assert delivery.retry_parked("egym") == 1
    db.session.commit()
    assert sync().delivered == 1


def test_429_waits_for_the_token_bucket(configure, egym, egym_member, db, clock_at):
    configure()
    for _ in range(3):
        egym_member()
    egym.tokens = 2  # one lookup and one create
    result = sync()
    assert result.delivered == 1 and result.stopped == "tooManyRequests" and result.resume_after == 1
    waiting = db.session.scalars(select(OutboxEvent).where(OutboxEvent.state == "pending")).all()
    assert len(waiting) == 2 and all(row.attempts == 0 for row in waiting)  # a rate limit is no failed attempt
    for _ in range(20):  # however often eGym says 429, nothing is parked
        clock.freeze(clock.utcnow() + timedelta(seconds=2))
        sync()
    assert db.session.scalar(select(func.count()).select_from(OutboxEvent).where(OutboxEvent.state == "parked")) == 0
    egym.refill()
    clock.freeze(clock.utcnow() + timedelta(seconds=30))
    assert sync().delivered == 2
    assert len(egym.accounts) == 3


def test_conflicts_are_errors_to_resolve_not_retried(configure, egym, egym_member, db, clock_at):
    configure()
    egym.accounts["other"] = {"accountId": "other", "email": "shared@example.nl", "firstName": "X", "lastName": "Y",
                              "gender": "MALE", "membership": {"membershipId": "elsewhere", "membershipType": "BASIC",
                                                               "startOfContract": "2020-01-01"}}
    member = egym_member(email="shared@example.nl")
    result = sync()
    assert result.parked == 1
    link = db.session.get(ConnectorMember, ("egym", member.id))
    assert link.state == "failed" and link.error_code == "userEmailConflict"
    clock.freeze(clock.utcnow() + timedelta(days=1))
    sync()
    assert len(egym.calls("POST")) == 1  # not retried blindly
    # Staff fix the email: the change is sent and the parked row is covered.
    members.update_member(member, {"email": "own@example.nl"}, actor=None)
    db.session.commit()
    assert sync().delivered == 1
    assert db.session.scalar(select(func.count()).select_from(OutboxEvent).where(OutboxEvent.state == "parked")) == 0


def test_crash_between_commit_and_call_resends_without_a_duplicate(configure, egym, egym_member, db, clock_at):
    configure()
    member = egym_member()
    # A worker claims the row (committed) and dies before calling.
    assert len(delivery.claim("egym", "dead-worker")) == 1
    assert sync().delivered == 0  # still leased to the dead worker
    clock.freeze(clock.utcnow() + timedelta(seconds=61))
    assert sync().delivered == 1
    # A worker that dies after eGym created the account but before its commit: the retry looks up first.
    db.session.get(ConnectorMember, ("egym", member.id)).account_id = None
    db.session.commit()
    members.update_member(member, {"city": "Amersfoort"}, actor=None)
    db.session.commit()
    assert sync().delivered == 1
    assert len(egym.accounts) == 1 and len(egym.calls("POST")) == 1


def test_an_ended_membership_is_patched_with_its_end_date(configure, egym, egym_member, db, clock_at):
    configure()
    member = egym_member()
    sync()
    members.end_membership(member, date(2026, 3, 31), actor=None)
    db.session.commit()
    assert sync().delivered == 1
    [patch] = egym.calls("PATCH")
    assert patch["body"]["membership"]["endOfContract"] == "2026-03-31"
    assert egym.invalid == []


def test_withdrawn_consent_removes_the_account_at_egym(configure, egym, egym_member, db, clock_at):
    configure()
    member = egym_member()
    sync()
    members.withdraw_consent(member.consents[0], actor=None)
    db.session.commit()
    sync()
    assert len(egym.deletions) == 1 and egym.accounts == {}
    link = db.session.get(ConnectorMember, ("egym", member.id))
    assert link.account_id is None and link.state == "removed"


def test_the_transfer_log_counts_one_delivery_per_member_sent(configure, egym, egym_member, db, clock_at):
    configure()
    egym_member()
    egym_member()
    sync()
    assert db.session.scalar(select(func.count()).select_from(DataTransfer)) == 2
    assert {t.channel for t in db.session.scalars(select(DataTransfer))} == {"MMS API v2"}


def test_partner_error_codes_have_texts_for_staff():
    for code in ("userEmailConflict", "userEmailUsedByAnotherAccountConflict", "membershipExists",
                 "forbiddenAccountMerge", "generalConflict"):
        assert str(egym_api.ERROR_TEXTS[code])


def test_an_objection_removes_the_account_at_egym(configure, egym, egym_member, db, clock_at):
    from app.models import DataRequest

    configure()
    member = egym_member()
    sync()
    db.session.add(DataRequest(reference="AVG-2026-0001", kind="objection", channel="desk", member_id=member.id,
                               due_on=clock.today() + timedelta(days=30)))
    db.session.commit()
    sync()
    assert egym.accounts == {} and len(egym.deletions) == 1


@pytest.mark.slow
def test_two_workers_at_once_never_deliver_the_same_row(app, configure, egym, egym_member, db, clock_at):
    import threading

    configure()
    people = [egym_member() for _ in range(8)]
    results, errors = [], []

    def work(name):
        with app.app_context():
            try:
                results.append(delivery.run_pending("egym", worker=name, batch=1))
            except Exception as error:  # noqa: BLE001 - reported below
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=work, args=(f"worker-{i}",)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sum(r.delivered for r in results) == len(people)
    assert len(egym.calls("POST")) == len(people) == len(egym.accounts)
    assert {call["body"]["membership"]["membershipId"] for call in egym.calls("POST")} == {
        str(p.member_number) for p in people}


def test_a_key_this_installation_cannot_open_parks_the_delivery_with_a_message(app, configure, egym, egym_member,
                                                                              db, clock_at):
    from cryptography.fernet import Fernet

    configure()
    egym_member()
    app.config["CONNECTOR_SECRET_KEY"] = Fernet.generate_key().decode()  # the key file was lost
    try:
        assert sync().parked == 1
    finally:
        app.config["CONNECTOR_SECRET_KEY"] = None
    [row] = db.session.scalars(select(OutboxEvent)).all()
    assert row.state == "parked" and row.error_code == "keyUnreadable"
    assert "decrypted" in str(egym_api.ERROR_TEXTS["keyUnreadable"]) and egym.requests == []


def test_plans_are_chosen_by_group_and_give_the_membership_type(configure, egym, egym_member, db, clock_at, make_plan):
    make_plan("Fitness Basis", plan_group="fitness")
    configure(plan_names=["fitness"])
    premium = egym_member(plan="Fitness Premium", egym_type="PREMIUM")
    plain = egym_member(plan="Fitness Basis")
    egym_member(plan="Zwemmen 10-rittenkaart", group="swimming")
    outbox.enqueue_full_sync(settings.connector("egym"))
    db.session.commit()
    sync()
    sent = {c["body"]["membership"]["membershipId"]: c["body"]["membership"]["membershipType"]
            for c in egym.calls("POST")}
    assert sent == {str(premium.member_number): "PREMIUM", str(plain.member_number): "BASIC"}
    assert egym.invalid == []


def test_a_renamed_plan_stays_chosen_and_its_members_keep_their_account(configure, egym, egym_member, db, clock_at,
                                                                         make_plan):
    """Plans are chosen by key, not name: fixing a typo in the catalogue deletes nobody's partner account."""
    from app.services import members, plans

    make_plan("Fitness onbeperkt", plan_group="fitness")
    configure(plan_names=["Fitness onbeperkt"])
    member = egym_member(plan="Fitness onbeperkt")
    delivery.run_pending("egym")
    assert len(egym.accounts) == 1
    plan = member.subscriptions[0].plan
    data = {name: getattr(plan, name) for name in plans.FIELDS}
    plans.update_plan(plan, {**data, "name": "Fitness Onbeperkt 24/7"}, actor=None)
    members.update_member(db.session.merge(member), {"city": "Zwolle"}, actor=None)
    db.session.commit()
    delivery.run_pending("egym")
    assert len(egym.accounts) == 1 and egym.calls("DELETE") == []


def test_an_unknown_plan_name_is_refused_with_its_name(configure, make_plan):
    make_plan("Fitness onbeperkt")
    with pytest.raises(settings.ConnectorError, match="Fitnes onbeperkt"):
        configure(plan_names=["Fitnes onbeperkt"])


@pytest.mark.parametrize(("status", "body", "kind"), [
    (200, b"<html><body>Welcome to our gym</body></html>", "text/html"),
    (400, b'["oops"]', "application/json"),
])
def test_an_answer_that_is_not_egyms_api_is_a_clear_error_not_a_crash(status, body, kind):
    """A wrong base URL (a web page) or an odd error body is a PartnerError staff can read."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Page(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the standard library's name
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    try:
        client = egym_api.EgymClient(f"http://127.0.0.1:{server.server_port}", "key", timeout=5)
        with pytest.raises(egym_api.PartnerError) as raised:
            client.test()
        assert raised.value.status == status and not raised.value.retryable
        with pytest.raises(egym_api.PartnerError):
            client.find_by_membership("1001")
    finally:
        server.shutdown()


def test_a_plan_merge_or_a_new_partner_mapping_reaches_egym(configure, egym, egym_member, db, clock_at, make_plan):
    """Set-based plan changes the session cannot see are told to the partner through the outbox."""
    from app.services import plans

    configure()
    basic = make_plan("Fitness Basis", plan_group="fitness", egym_membership_type="BASIC")
    member = egym_member(plan="Fitness Prem.", egym_type="PREMIUM")
    delivery.run_pending("egym")
    [account] = egym.accounts.values()
    assert account["membership"]["membershipType"] == "PREMIUM"
    plans.merge_plan(member.subscriptions[0].plan, basic, actor=None)
    db.session.commit()
    delivery.run_pending("egym")
    [account] = egym.accounts.values()
    assert account["membership"]["membershipType"] == "BASIC"
    data = {name: getattr(basic, name) for name in plans.FIELDS}
    plans.update_plan(basic, {**data, "egym_membership_type": "CORPORATE_FITNESS"}, actor=None)
    db.session.commit()
    delivery.run_pending("egym")
    [account] = egym.accounts.values()
    assert account["membership"]["membershipType"] == "CORPORATE_FITNESS"
