"""The retention pages, policy editing, the sweep from the UI, legal holds and the dashboard panel."""

import json
import re
from datetime import date

from flask import g, render_template
from flask_login import login_user
from flask_principal import Identity
from sqlalchemy import func, select

from app.auth.permissions import DEFAULT_ROLES, PermissionNeed
from app.models import AuditEvent, JobRun, LegalHold, RetentionPolicy, Visit
from app.services import fiscal, holds, jobs, retention
from tests.conftest import TEST_PASSWORD
from tests.queue_helpers import work_the_queue
from tests.retention.conftest import at

# The Privacy officer's permissions without its two-factor requirement, for a client of another app.
OFFICER_CODES = sorted(DEFAULT_ROLES["privacy_officer"]["codes"])


def _visit_count(db):
    return db.session.scalar(select(func.count()).select_from(Visit))


def _old_visit(db, member):
    db.session.add(Visit(member_id=member.id, checked_in_at=at(2019, 3, 1)))
    db.session.commit()


def test_the_page_shows_every_policy_in_plain_words_in_english_and_dutch(make_app, make_user, db):
    officer = make_user(permissions=OFFICER_CODES)
    client = make_app().test_client()  # an app of its own: the language is chosen per request
    client.post("/login", data={"username": officer.username, "password": TEST_PASSWORD})
    page = client.get("/privacy/retention").get_data(as_text=True)
    # The defaults come from code; showing them writes nothing (issue 12: no writes on GET).
    assert db.session.scalar(select(func.count()).select_from(RetentionPolicy)) == 0
    assert "Visit history: deleted 24 months after the visit" in page
    assert "Ended memberships: anonymised 24 months after the membership ended" in page
    assert "Invoices: deleted 7 years after the end of the book year" in page
    assert "Algemene wet inzake rijksbelastingen" in page  # the basis, in words
    client.post("/language", data={"lang": "nl", "next": "/privacy/retention"})
    page = client.get("/privacy/retention").get_data(as_text=True)
    assert "Bezoekhistorie: verwijderd 24 maanden na het bezoek" in page
    assert "Facturen: verwijderd 7 jaar na het einde van het boekjaar" in page
    assert "Beëindigde lidmaatschappen: geanonimiseerd 24 maanden na het einde van het lidmaatschap" in page


def test_the_privacy_officer_edits_a_policy_and_the_change_is_audited(client, login_as, make_user, db):
    officer = make_user("privacy_officer")
    login_as(officer)
    form = client.get("/privacy/retention/policies/visits").get_data(as_text=True)
    assert 'value="24"' in form
    response = client.post("/privacy/retention/policies/visits", data={
        "period_months": "12", "counted_from": "visit", "action": "delete",
        "basis": "Only needed for a year.", "enabled": "y",
    })
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Policy saved: Visit history: deleted 12 months after the visit." in page
    assert "Only needed for a year." in page
    policy = retention.policy_for("visits")
    assert (policy.period_months, policy.basis, policy.updated_by_id) == (12, "Only needed for a year.", officer.id)
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "retention.policy_changed"))
    details = json.loads(event.details)
    assert details["category"] == "visits"
    assert details["old"]["period_months"] == 24 and details["new"]["period_months"] == 12
    assert details["old"]["action"] == details["new"]["action"] == "delete"
    assert event.actor_id == officer.id


def test_saving_the_default_basis_unchanged_keeps_it_bilingual(client, login_as, make_user, db):
    login_as(make_user("privacy_officer"))
    client.get("/privacy/retention")
    with client.application.test_request_context():
        default = str(retention.CATEGORIES["health_notes"].default_basis)
    client.post("/privacy/retention/policies/health_notes", data={
        "period_months": "6", "counted_from": "membership_end", "action": "delete", "basis": default, "enabled": "y",
    })
    policy = retention.policy_for("health_notes")
    assert policy.period_months == 6 and policy.basis == ""


def test_a_bad_period_gets_a_message_and_loses_nothing(client, login_as, make_user, db):
    login_as(make_user("privacy_officer"))
    client.get("/privacy/retention")
    response = client.post("/privacy/retention/policies/visits", data={
        "period_months": "two years", "counted_from": "visit", "action": "delete",
        "basis": "My carefully written basis.", "enabled": "y",
    })
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Enter the period as a whole number of months." in page
    assert 'value="two years"' in page and "My carefully written basis." in page
    policy = retention.effective_policy("visits")
    assert (policy.period_months, policy.basis) == (24, "")
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action == "retention.policy_changed")) == 0


def test_invoices_cannot_be_given_less_than_the_fiscal_period(client, login_as, make_user, db):
    login_as(make_user("privacy_officer"))
    client.get("/privacy/retention")
    form = client.get("/privacy/retention/policies/invoices").get_data(as_text=True)
    assert "Dutch tax law obliges the club" in form  # the reason is explained up front
    response = client.post("/privacy/retention/policies/invoices", data={
        "period_months": "60", "counted_from": "book_year_end", "action": "delete", "basis": "", "enabled": "y",
    })
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Invoices must be kept at least 84 months (7 years after the end of the book year)" in page
    assert retention.effective_policy("invoices").period_months == 84
    # An action the category does not allow is refused too.
    response = client.post("/privacy/retention/policies/invoices", data={
        "period_months": "96", "counted_from": "book_year_end", "action": "anonymise", "basis": "", "enabled": "y",
    })
    assert "Choose one of the listed actions." in response.get_data(as_text=True)
    assert retention.effective_policy("invoices").period_months == 84


def test_front_desk_cannot_see_or_edit_and_a_manager_can_only_look(client, login_as, make_user, db, make_member):
    _old_visit(db, make_member())
    login_as(make_user("front_desk"))
    assert client.get("/privacy/retention").status_code == 403
    assert client.get("/privacy/retention/policies/visits").status_code == 403
    assert client.post("/privacy/retention/policies/visits", data={"period_months": "1"}).status_code == 403
    assert client.post("/privacy/retention/sweep").status_code == 403
    assert client.post(f"/privacy/members/{1}/legal-hold", data={"reason": "x"}).status_code == 403

    login_as(make_user("manager"))
    page = client.get("/privacy/retention").get_data(as_text=True)
    assert "Visit history" in page and "/privacy/retention/policies/visits" not in page
    preview = client.get("/privacy/retention/preview").get_data(as_text=True)
    assert "Run the sweep now" not in preview
    assert client.get("/privacy/retention/policies/visits").status_code == 403
    assert client.post("/privacy/retention/sweep").status_code == 403
    assert retention.effective_policy("visits").period_months == 24
    assert _visit_count(db) == 1


def _fingerprint(page):
    return re.search(r'name="fingerprint" type="hidden" value="([0-9a-f]+)"', page).group(1)


def _confirm(client):
    """The confirmation page, where the sweep is started (the preview only leads there)."""
    return client.get("/privacy/retention/sweep/confirm").get_data(as_text=True)


def test_preview_then_run_from_the_page(app, client, login_as, make_user, make_member, db):
    officer = make_user("privacy_officer")
    member = make_member()
    _old_visit(db, member)
    login_as(officer)
    preview = client.get("/privacy/retention/preview").get_data(as_text=True)
    row = re.search(r'<tr id="preview-visits">.*?</tr>', preview, re.S).group(0)
    assert re.search(r'<td class="num">1</td>', row)
    assert str(member.member_number) in row
    assert _visit_count(db) == 1  # the preview changed nothing

    assert "/privacy/retention/sweep/confirm" in preview and 'name="fingerprint"' not in preview
    confirm = _confirm(client)
    assert re.search(r'<tr id="plan-visits"><td>Visit history: deleted 24 months after the visit</td>'
                     r'<td class="num">1</td></tr>', confirm)
    # The total must be typed back; a wrong one starts nothing and says so next to the field.
    wrong = client.post("/privacy/retention/sweep", data={"fingerprint": _fingerprint(confirm), "confirm_total": "2"})
    assert wrong.status_code == 200 and "not the number of records" in wrong.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(JobRun)) == 0 and _visit_count(db) == 1
    response = client.post("/privacy/retention/sweep", data={"fingerprint": _fingerprint(confirm), "confirm_total": "1"})
    # The request only starts the sweep on the job queue; its page shows it waiting for a worker.
    assert response.status_code == 302 and "/privacy/retention/sweep/" in response.headers["Location"]
    run_page = response.headers["Location"]
    page = client.get(run_page).get_data(as_text=True)
    assert "The retention sweep has started" in page and "Waiting for a job worker" in page
    assert 'http-equiv="refresh"' in page and _visit_count(db) == 1
    # The test client's requests share this test's session (its app context, never torn down
    # between requests): end what they left open, as the end of a real request does, so the
    # worker's own connection can write its progress (in production each request has its own).
    db.session.rollback()
    assert work_the_queue(app) == 1  # what `flask jobs worker` does
    db.session.rollback()
    page = client.get(run_page).get_data(as_text=True)
    assert "Finished." in page and 'class="job-progress">1 / 1 (100%)' in page and 'http-equiv="refresh"' not in page
    assert _visit_count(db) == 0
    page = client.get("/privacy/retention").get_data(as_text=True)
    last = re.search(r'id="last-sweep".*?</div>', page, re.S).group(0)
    assert officer.username in last and "Visit history" in last
    event = retention.last_sweep()
    assert event.actor_id == officer.id and json.loads(event.details)["via"] == "web"


def test_the_run_is_refused_when_the_numbers_changed_since_the_preview(client, login_as, make_user, make_member, db):
    member = make_member()
    login_as(make_user("privacy_officer"))
    confirm = _confirm(client)
    _old_visit(db, member)  # something fell due after the confirmation page was shown
    response = client.post("/privacy/retention/sweep", data={"fingerprint": _fingerprint(confirm)}, follow_redirects=True)
    assert "What is due has changed since you opened the preview." in response.get_data(as_text=True)
    assert _visit_count(db) == 1


def test_a_run_while_another_is_busy_gets_a_clear_message(app, client, login_as, make_user, make_member, db):
    _old_visit(db, make_member())
    login_as(make_user("privacy_officer"))
    preview = _confirm(client)
    lock = jobs.acquire(retention.JOB_NAME, holder="nightly-cron")
    response = client.post("/privacy/retention/sweep", data={"fingerprint": _fingerprint(preview), "confirm_total": "1"},
                           follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "This job is already running" in page and "by the nightly job or the command line" in page
    assert "A sweep is running right now" in page
    assert _visit_count(db) == 1
    lock.release()
    # A sweep started from the page is running: a second start is refused and sent to its progress.
    typed = {"fingerprint": _fingerprint(preview), "confirm_total": "1"}
    first = client.post("/privacy/retention/sweep", data=typed)
    second = client.post("/privacy/retention/sweep", data=typed)
    assert second.headers["Location"] == first.headers["Location"]
    assert "This job is already running" in client.get(second.headers["Location"]).get_data(as_text=True)
    preview_now = client.get("/privacy/retention/preview").get_data(as_text=True)
    assert "A sweep started from this page is running" in preview_now and first.headers["Location"] in preview_now
    assert work_the_queue(app) == 1 and _visit_count(db) == 0


def _csrf(page):
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)


def test_the_sweep_needs_a_csrf_token(make_app, make_user, make_member, db):
    app = make_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    officer = make_user(permissions=OFFICER_CODES)
    _old_visit(db, make_member())
    login_page = client.get("/login").get_data(as_text=True)
    client.post("/login", data={"username": officer.username, "password": TEST_PASSWORD, "csrf_token": _csrf(login_page)})
    preview = _confirm(client)
    refused = client.post("/privacy/retention/sweep", data={"fingerprint": _fingerprint(preview), "confirm_total": "1"})
    assert refused.status_code in (302, 400)
    assert _visit_count(db) == 1
    accepted = client.post("/privacy/retention/sweep",
                           data={"fingerprint": _fingerprint(preview), "csrf_token": _csrf(preview), "confirm_total": "1"})
    assert accepted.status_code == 302
    work_the_queue(app)
    assert _visit_count(db) == 0


def test_place_and_lift_a_legal_hold(client, login_as, make_user, make_member, db):
    officer = make_user("privacy_officer")
    member = make_member()
    login_as(officer)
    url = f"/privacy/members/{member.member_number}/legal-hold"
    assert "Place a legal hold on member" in client.get(url).get_data(as_text=True)
    empty = client.post(url, data={"reason": "   "})
    assert empty.status_code == 200
    assert "Give the reason for the hold" in empty.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(LegalHold)) == 0

    response = client.post(url, data={"reason": "Dispute about the cancellation fee"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/members/{member.member_number}?tab=privacy")
    hold = db.session.scalar(select(LegalHold))
    assert hold.reason == "Dispute about the cancellation fee" and hold.placed_by_id == officer.id
    page = client.get("/privacy/retention").get_data(as_text=True)
    assert "Dispute about the cancellation fee" in page

    client.post(f"/privacy/legal-holds/{hold.id}/lift")
    db.session.refresh(hold)
    assert hold.lifted_at is not None and hold.lifted_by_id == officer.id
    events = [e.action for e in db.session.scalars(
        select(AuditEvent).where(AuditEvent.action.like("legal_hold.%")).order_by(AuditEvent.id))]
    assert events == ["legal_hold.placed", "legal_hold.lifted"]
    detail = db.session.scalar(select(AuditEvent.details).where(AuditEvent.action == "legal_hold.placed"))
    assert "cancellation" not in detail  # the reason stays out of the audit log


def test_a_trainer_cannot_place_or_lift_holds(client, login_as, make_user, make_member, db):
    member = make_member()
    hold = holds.place_hold(member, "claim", make_user("privacy_officer"))
    db.session.commit()
    login_as(make_user("trainer"))
    assert client.get(f"/privacy/members/{member.member_number}/legal-hold").status_code == 403
    assert client.post(f"/privacy/legal-holds/{hold.id}/lift").status_code == 403
    db.session.refresh(hold)
    assert hold.lifted_at is None


def _render_hold_partial(app, user, member, codes):
    with app.test_request_context("/"):
        login_user(user)
        identity = Identity(user.id)
        for code in codes:
            identity.provides.add(PermissionNeed(code))
        g.identity = identity
        return render_template("privacy/_member_hold.html", member=member)


def test_the_member_page_partial_shows_the_hold(app, make_user, make_member, db):
    officer = make_user("privacy_officer")
    member = make_member()
    html = _render_hold_partial(app, officer, member, ["privacy.legal_hold"])
    assert "Legal hold since" not in html and "Place a legal hold" in html
    holds.place_hold(member, "Accident claim 2026", officer)
    db.session.commit()
    html = _render_hold_partial(app, officer, member, ["privacy.legal_hold"])
    assert "Legal hold since" in html and "Accident claim 2026" in html and "Lift this hold" in html
    # Staff without the hold permission see that there is a hold, not its reason or the buttons.
    html = _render_hold_partial(app, officer, member, ["members.view"])
    assert "Legal hold since" in html
    assert "Accident claim 2026" not in html and "Lift this hold" not in html


def test_the_dashboard_shows_what_is_due_now_and_within_30_days(client, login_as, make_user, make_member, db,
                                                              frozen_clock):
    frozen_clock(at(2026, 6, 15))
    member = make_member()
    db.session.add_all([
        Visit(member_id=member.id, checked_in_at=at(2024, 6, 1)),   # due now
        Visit(member_id=member.id, checked_in_at=at(2024, 7, 1)),   # due in 16 days
        Visit(member_id=member.id, checked_in_at=at(2024, 9, 1)),   # not within 30 days
    ])
    db.session.commit()
    login_as(make_user("privacy_officer"))
    page = client.get("/").get_data(as_text=True)
    panel = re.search(r'<section class="card" aria-labelledby="panel-retention">.*?</section>', page, re.S).group(0)
    assert "The retention sweep has never run" in panel
    row = re.search(r"<tr><td>Visit history</td>.*?</tr>", panel, re.S).group(0)
    assert re.findall(r'<td class="num"><a href="[^"]+">(\d+)</a></td>', row) == ["1", "1"]
    login_as(make_user("front_desk"))
    assert "panel-retention" not in client.get("/").get_data(as_text=True)


def test_unknown_policy_and_member_give_404(client, login_as, make_user):
    login_as(make_user("privacy_officer"))
    assert client.get("/privacy/retention/policies/no-such-thing").status_code == 404
    assert client.get("/privacy/members/999999/legal-hold").status_code == 404
    assert client.post("/privacy/legal-holds/999999/lift").status_code == 404


def test_date_helpers_for_invoices():
    assert fiscal.last_expired_book_year_end(date(2026, 1, 1), 84) == date(2018, 12, 31)
    assert fiscal.last_expired_book_year_end(date(2025, 12, 31), 84) == date(2017, 12, 31)
    assert fiscal.last_expired_book_year_end(date(2025, 12, 31), 12) == date(2017, 12, 31)


def test_the_member_page_shows_the_hold_once_it_includes_the_partial(app, client, login_as, make_user, make_member, db):
    """Active as soon as members/show.html includes privacy/_member_hold.html (the members area does)."""
    import pytest

    source = app.jinja_env.loader.get_source(app.jinja_env, "members/show.html")[0]
    if "privacy/_member_hold.html" not in source:
        pytest.skip("the member page does not include the legal-hold partial in this branch")
    officer = make_user("privacy_officer")
    member = make_member()
    holds.place_hold(member, "Dispute about a refund", officer)
    db.session.commit()
    login_as(officer)
    default = client.get(f"/members/{member.member_number}").get_data(as_text=True)
    assert '<span class="badge badge-danger">Legal hold</span>' in default and "Lift this hold" not in default
    page = client.get(f"/members/{member.member_number}?tab=privacy").get_data(as_text=True)
    assert "Legal hold since" in page and "Dispute about a refund" in page and "Lift this hold" in page
    login_as(make_user("front_desk"))
    page = client.get(f"/members/{member.member_number}?tab=privacy").get_data(as_text=True)
    assert "Legal hold since" in page and "Dispute about a refund" not in page
