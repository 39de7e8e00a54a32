"""Plans and the member's privacy: nothing typed about a person reaches the catalogue or survives erasure.

The last test is the issue's "done means": a manager adds a plan, the front desk subscribes a
member to it, the member is anonymised, the figures still show one ended subscription of that
plan, and nothing typed on the member's subscription survives anywhere.
"""

import io
import json
import zipfile
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import String, Text, func, or_, select

from app.extensions import db as _db
from app.models import Member, Plan, Subscription
from app.services import erasure, plans
from app.services.export import package
from app.services.export.gather import gather

PLANTED = "planted.person@example.nl"
PLANTED_NAME = "Wubbeltje Quastenbroek"


def _text_hits(db, *values) -> list[str]:
    """Every table.column, the catalogue included, that holds one of the values (case-insensitive)."""
    found = []
    for table in _db.metadata.sorted_tables:
        for column in table.columns:
            if not isinstance(column.type, String | Text):
                continue
            condition = or_(*(func.lower(column).like(f"%{value.lower()}%") for value in values))
            if db.session.scalar(select(func.count()).select_from(table).where(condition)):
                found.append(f"{table.name}.{column.name}")
    return found


def _catalogue(db) -> list[tuple]:
    return [tuple(row) for row in db.session.execute(select(Plan.__table__).order_by(Plan.id)).all()]


def test_subscriptions_hold_no_free_text(app):
    """Structurally: a subscription's only text column is its status, set by the service from a fixed list."""
    texts = {c.name for c in Subscription.__table__.columns if isinstance(c.type, String | Text)}
    assert texts == {"status"}


def test_nothing_typed_into_the_subscription_form_reaches_the_catalogue(client, make_user, login, make_member,
                                                                         make_plan, db):
    plan = make_plan("Fitness Onbeperkt")
    member = make_member()
    login(make_user("front_desk"))
    before = _catalogue(db)
    url = f"/members/{member.member_number}/subscriptions"
    fields = ("plan_id", "plan", "name", "name_en", "plan_group", "starts_on", "ends_on", "monthly_fee")
    for value in (PLANTED, PLANTED_NAME, f"{plan.id} {PLANTED}", f"{plan.id}; {PLANTED_NAME}"):
        response = client.post(url, data=dict.fromkeys(fields, value))
        assert response.status_code == 422
        assert "Choose a plan from the catalogue." in response.get_data(as_text=True)
        assert f'<option selected value="{value}"' not in response.get_data(as_text=True)  # not an option
    # A valid form with personal values in fields it does not have: they are dropped.
    ok = client.post(url, data={"plan_id": str(plan.id), "starts_on": "2026-06-01", "monthly_fee": "30",
                                "plan": PLANTED, "name": PLANTED_NAME, "plan_group": PLANTED})
    assert ok.status_code == 302
    assert db.session.scalar(select(func.count()).select_from(Subscription)) == 1
    assert _catalogue(db) == before
    assert _text_hits(db, PLANTED, PLANTED_NAME) == []


def test_anonymising_keeps_the_plan_reference_and_ends_running_subscriptions(db, make_member, make_plan, make_user,
                                                                             frozen_clock):
    frozen_clock(date(2026, 6, 15))
    plan = make_plan("Zwemmen en fitness")
    member = make_member(joined_on=date(2025, 1, 1))
    running = Subscription(member_id=member.id, plan=plan, starts_on=date(2025, 1, 1), monthly_fee=Decimal("39.95"),
                           status="active")
    future = Subscription(member_id=member.id, plan=plan, starts_on=date(2026, 9, 1), monthly_fee=Decimal("39.95"),
                          status="active")
    past = Subscription(member_id=member.id, plan=plan, starts_on=date(2024, 1, 1), ends_on=date(2024, 6, 30),
                        monthly_fee=Decimal("35"), status="ended")
    db.session.add_all([running, future, past])
    db.session.commit()
    erasure.erase_member(member, "anonymise", make_user("privacy_officer"))
    db.session.commit()
    rows = {s.starts_on: (s.plan_id, s.status, s.ends_on) for s in db.session.scalars(select(Subscription))}
    assert rows == {
        date(2025, 1, 1): (plan.id, "ended", date(2026, 6, 15)),
        date(2026, 9, 1): (plan.id, "ended", date(2026, 9, 1)),  # had not started: ends on its start
        date(2024, 1, 1): (plan.id, "ended", date(2024, 6, 30)),
    }
    assert [(c.plan.name, c.active, c.ended) for c in plans.subscription_counts()] == [("Zwemmen en fitness", 0, 3)]


def test_deleting_a_member_leaves_the_catalogue_alone(db, make_member, make_plan, make_user):
    plan = make_plan("Daluren")
    member = make_member()
    db.session.add(Subscription(member_id=member.id, plan=plan, starts_on=date(2025, 1, 1), monthly_fee=20,
                                status="ended", ends_on=date(2025, 12, 31)))
    db.session.commit()
    before = _catalogue(db)
    erasure.erase_member(member, "delete", make_user("privacy_officer"))
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(Subscription)) == 0
    assert _catalogue(db) == before


def test_the_residual_scan_ignores_catalogue_names(db, make_member, make_plan, make_user):
    """A club named after its founder: the plan 'Van der Berg Sportpakket' is not Anna van der Berg's data."""
    plan = make_plan("Van der Berg Sportpakket")
    member = make_member(first_name="Anna", infix="van der", last_name="Berg")
    db.session.add(Subscription(member_id=member.id, plan=plan, starts_on=date(2025, 1, 1), monthly_fee=20,
                                status="active"))
    db.session.commit()
    identifiers = erasure.identifiers_of(member)
    assert any(value in plan.name.lower() for value in identifiers["name"])  # the scan would match it
    erasure.erase_member(member, "anonymise", make_user("privacy_officer"))
    db.session.commit()
    report = erasure.verify(identifiers)
    assert report["ok"], report["hits"]
    assert "plans" not in {hit["table"] for hit in report["hits"]}
    assert db.session.get(Plan, plan.id).name == "Van der Berg Sportpakket"


def test_the_erasure_preview_names_the_plans(db, make_member, make_plan, app):
    plan = make_plan("Groepslessen", name_en="Group classes")
    member = make_member()
    db.session.add(Subscription(member_id=member.id, plan=plan, starts_on=date(2025, 1, 1), monthly_fee=20,
                                status="active"))
    db.session.commit()
    row = next(r for r in erasure.preview(member, "anonymise") if r.table == "subscriptions")
    assert row.keep == 1 and row.details[0]["plan"] is plan
    with app.test_request_context():
        from flask import render_template_string

        html = render_template_string('{% include "privacy/erasure/_preview.html" %}',
                                      preview=erasure.preview(member, "anonymise"))
    assert "Group classes, from" in html


def test_done_means(client, make_user, login, make_member, db, frozen_clock):
    frozen_clock(date(2026, 6, 15))
    manager, desk, officer = make_user("manager"), make_user("front_desk"), make_user("privacy_officer")

    # A manager adds a plan.
    login(manager)
    assert client.post("/plans/new", data={
        "name": "Fitness Onbeperkt", "name_en": "Fitness Unlimited", "plan_group": "fitness", "period": "month",
        "price": "34,95", "renews": "y", "egym_membership_type": "PREMIUM"}).status_code == 302
    plan = db.session.scalar(select(Plan).where(Plan.name == "Fitness Onbeperkt"))

    # The front desk subscribes a member to it (and tries to type something about the person).
    member = make_member(first_name="Wubbeltje", infix=None, last_name="Quastenbroek", email=PLANTED)
    login(desk)
    url = f"/members/{member.member_number}/subscriptions"
    assert client.post(url, data={"plan_id": f"{PLANTED_NAME} (knee injury)", "starts_on": "2026-06-01"}).status_code == 422
    assert client.post(url, data={"plan_id": str(plan.id), "starts_on": "2026-06-01", "monthly_fee": "",
                                  "note": f"{PLANTED_NAME} pays cash"}).status_code == 302
    page = client.get(f"/members/{member.member_number}?tab=subscriptions").get_data(as_text=True)
    assert "Fitness Unlimited" in page  # the test client runs in English

    # The member is anonymised.
    erasure.erase_member(db.session.get(Member, member.id), "anonymise", officer)
    db.session.commit()

    # The figures still show one ended subscription of that plan.
    login(manager)
    counts = {c.plan.id: (c.active, c.ended) for c in plans.subscription_counts()}
    assert counts == {plan.id: (0, 1)}
    listing = client.get("/plans").get_data(as_text=True)
    row = listing.split(f'id="plan-{plan.id}"')[1].split("</tr>")[0]
    assert '<td class="num">0</td>' in row and '<td class="num minor">1</td>' in row
    subscription = db.session.scalar(select(Subscription))
    assert (subscription.plan_id, subscription.status, subscription.ends_on) == (plan.id, "ended", date(2026, 6, 15))

    # Nothing typed on the member's subscription (or about the member) survives: not in any table,
    # the catalogue included, and not in the anonymised member's export file.
    assert _text_hits(db, PLANTED, PLANTED_NAME, "quastenbroek", "knee injury", "pays cash") == []
    anonymised = db.session.get(Member, member.id)
    with client.application.test_request_context():
        export = gather(anonymised, officer)
        archive = zipfile.ZipFile(io.BytesIO(package.build_zip(export, "Club", "club@example.org")))
    content = " ".join(archive.read(name).decode() for name in archive.namelist()).lower()
    assert "quastenbroek" not in content and PLANTED not in content and "pays cash" not in content
    assert json.loads(archive.read("member.json"))["subscriptions"][0]["plan"] == "Fitness Unlimited"


@pytest.mark.parametrize("locale", ["nl", "en"])
def test_the_export_names_the_plan_in_its_language(db, make_member, make_plan, make_user, app, locale):
    from flask_babel import force_locale

    plan = make_plan("Zwemmen 10-rittenkaart", name_en="Swimming ten-ride card", period="ten_ride")
    member = make_member()
    db.session.add(Subscription(member_id=member.id, plan=plan, starts_on=date(2025, 1, 1), monthly_fee=0,
                                status="active"))
    db.session.commit()
    with app.test_request_context(), force_locale(locale):
        export = gather(member, make_user("privacy_officer"))
    expected = {"nl": "Zwemmen 10-rittenkaart", "en": "Swimming ten-ride card"}[locale]
    assert export.subscriptions[0]["plan"] == expected
