"""The machine-readable package: member.json matches the database, CSVs are safe, nothing leaks."""

import csv
import io
import json
import zipfile
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from flask_babel import force_locale

from app.models import Consent, DataRequest, HealthNote, Invoice, RetentionPolicy, StaffNote, Subscription, Visit
from app.services import export as export_service


def _zip(member, actor, language="en"):
    with force_locale(language):
        export = export_service.gather(member, actor)
        content = export_service.build_zip(export, "Sportclub Test", "privacy@test.example")
    return zipfile.ZipFile(io.BytesIO(content))


def _utc(iso: str) -> datetime:
    return datetime.fromisoformat(iso).astimezone(UTC).replace(tzinfo=None)


def _csv_rows(archive, name):
    return list(csv.DictReader(io.StringIO(archive.read(name).decode("utf-8"))))


def test_member_json_matches_the_database(db, seeded_member, full_staff):
    archive = _zip(seeded_member, full_staff)
    data = json.loads(archive.read("member.json"))
    member = seeded_member

    profile = data["profile"]
    assert profile["member_number"] == member.member_number
    assert (profile["first_name"], profile["infix"], profile["last_name"]) == ("Jörg", "van der", "Veen")
    assert profile["date_of_birth"] == member.date_of_birth.isoformat()
    assert profile["email"] == member.email and profile["iban"] == member.iban
    assert profile["joined_on"] == "2020-01-01"

    subscription = db.session.scalars(db.select(Subscription).filter_by(member_id=member.id)).one()
    assert subscription.plan.name == "Fitness Onbeperkt"  # the English export shows the English name
    assert data["subscriptions"] == [{
        "plan": "Fitness Unlimited", "starts_on": "2024-01-01", "ends_on": None,
        "monthly_fee": "34.95", "status": "active",
    }]

    visit = db.session.scalars(db.select(Visit).filter_by(member_id=member.id)).one()
    assert data["visits"]["count"] == 1
    [row] = data["visits"]["all"]
    assert _utc(row["checked_in_at"]) == visit.checked_in_at
    assert row["checked_in_at"].endswith("+01:00")  # local time in March, with its offset
    assert (row["location"], row["source"]) == ("Zaal 1", "gate")
    assert data["visits"]["per_month"][0]["month"] == "2026-03"

    invoice = db.session.scalars(db.select(Invoice).filter_by(member_id=member.id)).one()
    [inv] = data["invoices"]
    assert inv["number"] == invoice.number and Decimal(inv["amount"]) == invoice.amount
    assert inv["amount"] == "34.95"  # a string: no float rounding
    assert inv["billing_address"] == invoice.billing_address and inv["paid_on"] == "2026-03-10"

    consent = db.session.scalars(db.select(Consent).filter_by(member_id=member.id)).one()
    [con] = data["consents"]
    assert con["purpose"] == "newsletter" and con["status"] == "withdrawn"
    assert _utc(con["given_at"]) == consent.given_at and _utc(con["withdrawn_at"]) == consent.withdrawn_at
    assert (con["given_via"], con["withdrawn_via"]) == ("desk", "email")

    note = db.session.scalars(db.select(StaffNote).filter_by(member_id=member.id)).one()
    health = db.session.scalars(db.select(HealthNote).filter_by(member_id=member.id)).one()
    assert [n["body"] for n in data["staff_notes"]] == [note.body]
    assert [n["body"] for n in data["health_notes"]] == [health.body]

    request = db.session.scalars(db.select(DataRequest).filter_by(member_id=member.id)).one()
    [req] = data["data_requests"]
    assert req["reference"] == request.reference and req["kind"] == "access"
    assert req["message"] == request.message and req["due_on"] == "2026-04-20"

    assert data["not_included"] == []
    about = data["about_the_processing"]
    assert [c["category"] for c in about["categories"]] == list(export_service.art15.CATEGORIES)
    assert all(c["purpose"] and c["legal_basis"] and c["retention"] and c["source"] for c in about["categories"])
    assert about["recipients"] == [] and "No partner system" in about["recipients_note"]
    assert any("Autoriteit Persoonsgegevens" in r["text"] for r in about["rights"])


def test_package_holds_a_csv_per_category_and_a_readme(seeded_member, full_staff):
    archive = _zip(seeded_member, full_staff)
    names = set(archive.namelist())
    for category in ("profile", "subscriptions", "visits", "invoices", "consents", "staff_notes",
                     "health_notes", "data_requests"):
        assert f"{category}.csv" in names
    assert {"member.json", "README.txt", "recipients.csv", "about_the_processing.csv"} <= names
    [visit] = _csv_rows(archive, "visits.csv")
    assert visit["location"] == "Zaal 1"
    [invoice] = _csv_rows(archive, "invoices.csv")
    assert invoice["amount"] == "34.95"
    assert archive.read("visits.csv").decode("utf-8").startswith("checked_in_at,location,source\r\n")
    assert f"Member number: {seeded_member.member_number}" in archive.read("README.txt").decode("utf-8")


def test_readme_is_in_the_members_language(seeded_member, full_staff):
    readme = _zip(seeded_member, full_staff, language="nl").read("README.txt").decode("utf-8")
    assert "Klantnummer" in readme and "Autoriteit Persoonsgegevens" in readme
    data = json.loads(_zip(seeded_member, full_staff, language="nl").read("member.json"))
    assert data["language"] == "nl"
    assert any("Toegang" in r["title"] or "Inzage" in r["title"] for r in data["about_the_processing"]["rights"])


@pytest.mark.parametrize("evil", [
    "=HYPERLINK(\"http://x.invalid\",\"klik\")", "+31 6 1234", "-2+3", "@SUM(A1)", "\tcmd", "\r=1+1",
])
def test_csv_cells_cannot_run_as_formulas(db, seeded_member, full_staff, evil):
    db.session.add(StaffNote(member=seeded_member, body=evil))
    seeded_member.city = evil
    db.session.commit()
    archive = _zip(seeded_member, full_staff)
    bodies = [row["body"] for row in _csv_rows(archive, "staff_notes.csv")]
    assert "'" + evil in bodies
    assert not any(body.startswith(("=", "+", "-", "@", "\t", "\r")) for body in bodies)
    [profile] = _csv_rows(archive, "profile.csv")
    assert profile["city"] == "'" + evil
    # The JSON keeps the exact text: it is data, not a spreadsheet.
    assert json.loads(archive.read("member.json"))["profile"]["city"] == evil


def test_plain_numbers_stay_numbers_in_csv():
    assert export_service.neutralise(Decimal("-12.50")) == "-12.50"
    assert export_service.neutralise("-12.50") == "-12.50"
    assert export_service.neutralise("-1+2") == "'-1+2"
    assert export_service.neutralise(None) == ""


def test_front_desk_package_leaves_out_what_front_desk_may_not_see(seeded_member, make_user):
    front_desk = make_user("front_desk", permissions=["privacy.export"])
    archive = _zip(seeded_member, front_desk)
    names = set(archive.namelist())
    assert "health_notes.csv" not in names and "invoices.csv" not in names
    assert "staff_notes.csv" in names  # front desk may read staff notes
    data = json.loads(archive.read("member.json"))
    assert data["health_notes"] is None and data["invoices"] is None
    assert "iban" not in data["profile"]
    raw = archive.read("member.json").decode("utf-8") + archive.read("profile.csv").decode("utf-8")
    assert "Knieblessure" not in raw and seeded_member.iban not in raw and "F2026-0001" not in raw
    parts = {entry["part"] for entry in data["not_included"]}
    assert parts == {"finance", "health_notes"}
    included = {c["category"]: c["included"] for c in data["about_the_processing"]["categories"]}
    assert [c for c, yes in included.items() if not yes] == ["invoices", "health_notes"]
    readme = archive.read("README.txt").decode("utf-8")
    assert "Health notes are not included" in readme and "invoices and bank account number" in readme


def test_trainer_export_has_no_contact_details(seeded_member, make_user):
    trainer = make_user("trainer", permissions=["privacy.export"])
    data = json.loads(_zip(seeded_member, trainer).read("member.json"))
    assert "email" not in data["profile"] and "street" not in data["profile"]
    assert data["health_notes"] is not None
    assert {e["part"] for e in data["not_included"]} == {"contact", "finance"}


def test_retention_comes_from_the_clubs_policy_else_the_default(db, seeded_member, full_staff):
    db.session.add(RetentionPolicy(category="visits", period_months=6, counted_from="visit", action="delete",
                                   basis="Alleen recente bezoeken zijn nodig."))
    db.session.commit()
    with force_locale("en"):
        export = export_service.gather(seeded_member, full_staff)
    rows = {c["category"]: c for c in export.categories}
    assert rows["visits"]["retention_months"] == 6 and rows["visits"]["retention_set_by_club"] is True
    assert rows["visits"]["retention"] == "Visit history: deleted 6 months after the visit"
    assert rows["visits"]["retention_basis"] == "Alleen recente bezoeken zijn nodig."
    assert rows["invoices"]["retention_months"] == 84 and rows["invoices"]["retention_set_by_club"] is False
    assert rows["invoices"]["retention"] == "Invoices: deleted 7 years after the end of the book year"
    assert "Algemene wet inzake rijksbelastingen" in rows["invoices"]["retention_basis"]


def test_recipients_come_from_registered_sources(seeded_member, full_staff):
    def fake_transfer_log(member):
        return [export_service.Recipient(name="TechnoGym", kind="partner_system",
                                         categories=["first_name", "date_of_birth"], times=3)]

    export_service.register_recipient_source(fake_transfer_log)
    try:
        data = json.loads(_zip(seeded_member, full_staff).read("member.json"))
    finally:
        export_service.RECIPIENT_SOURCES.remove(fake_transfer_log)
    [recipient] = data["about_the_processing"]["recipients"]
    assert recipient["name"] == "TechnoGym" and recipient["times"] == 3
    assert data["about_the_processing"]["recipients_note"] is None


def test_visits_are_read_in_one_query(db, make_member, full_staff):
    from sqlalchemy import event

    member = make_member()
    db.session.add_all([
        Visit(member=member, checked_in_at=datetime(2026, 1 + i % 3, 1 + i % 28, 8, i % 60), location="Zaal", source="desk")
        for i in range(300)
    ])
    db.session.commit()
    statements = []

    def count(conn, cursor, statement, *args):
        if "visits" in statement:
            statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        with force_locale("en"):
            export = export_service.gather(member, full_staff)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert len(statements) == 1
    assert export.visit_count == 300 and len(export.visits) == 300 and len(export.recent_visits) == 50
    assert sum(m["visits"] for m in export.visit_months) == 300
    assert [m["month"] for m in export.visit_months] == ["2026-03", "2026-02", "2026-01"]


def test_a_member_with_nothing_attached_still_gets_a_complete_package(make_member, full_staff):
    member = make_member(email=None, phone=None, iban=None)
    archive = _zip(member, full_staff)
    data = json.loads(archive.read("member.json"))
    assert data["visits"] == {"count": 0, "per_month": [], "all": []}
    assert data["subscriptions"] == [] and data["invoices"] == [] and data["health_notes"] == []
    assert data["profile"]["email"] is None
    assert archive.read("visits.csv").decode("utf-8") == "checked_in_at,location,source\r\n"
    [profile] = _csv_rows(archive, "profile.csv")
    assert profile["email"] == "" and profile["member_number"] == str(member.member_number)
