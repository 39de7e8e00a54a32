"""Fixtures for the export tests: a member with one row in every category, staff, requests."""

from datetime import date, datetime
from decimal import Decimal

import pytest

from app.models import Consent, DataRequest, HealthNote, Invoice, StaffNote, Subscription, Visit

EVERYTHING = [
    "members.view", "members.contact", "members.finance", "members.notes", "members.health", "privacy.export",
]


@pytest.fixture
def full_staff(make_user):
    """A staff member who may see every part of a member's data and produce exports."""
    return make_user(permissions=EVERYTHING)


@pytest.fixture
def seeded_member(db, make_member, make_plan):
    """A member with exactly one row in every category (the visit on a known local time)."""
    member = make_member(first_name="Jörg", infix="van der", last_name="Veen", gender="m")
    db.session.add_all([
        Subscription(member_id=member.id, plan=make_plan("Fitness Onbeperkt", name_en="Fitness Unlimited"),
                     starts_on=date(2024, 1, 1), ends_on=None, monthly_fee=Decimal("34.95"), status="active"),
        Visit(member_id=member.id, checked_in_at=datetime(2026, 3, 14, 17, 5), location="Zaal 1", source="gate"),
        Invoice(member_id=member.id, number="F2026-0001", issued_on=date(2026, 3, 1), due_on=date(2026, 3, 15),
                amount=Decimal("34.95"), description="Contributie maart", status="paid", paid_on=date(2026, 3, 10),
                billing_name="Jörg van der Veen", billing_address="Kerkstraat 12\n1234 AB  Utrecht"),
        Consent(member_id=member.id, purpose="newsletter", given_at=datetime(2025, 6, 1, 10, 0), given_via="desk",
                withdrawn_at=datetime(2026, 2, 1, 9, 30), withdrawn_via="email"),
        StaffNote(member_id=member.id, body="Wil graag op dinsdag trainen.", created_at=datetime(2026, 1, 5, 12, 0)),
        HealthNote(member_id=member.id, body="Knieblessure links, geen squats.", created_at=datetime(2026, 1, 6, 12, 0)),
        DataRequest(reference="AVG-2026-0001", kind="access", channel="intake", status="in_progress",
                    member_id=member.id, member_number=member.member_number, received_at=datetime(2026, 3, 20, 8, 0),
                    due_on=date(2026, 4, 20), identity_verified_at=datetime(2026, 3, 21, 9, 0),
                    identity_method="ID shown at the desk", message="Graag al mijn gegevens."),
    ])
    db.session.commit()
    return member


@pytest.fixture
def make_request(db):
    """make_request(member=..., kind=..., verified=True) -> a saved DataRequest."""
    counter = iter(range(100, 10_000))

    def factory(member=None, kind="access", verified=True, **fields):
        data_request = DataRequest(
            reference=f"AVG-2026-{next(counter):04d}", kind=kind, channel="desk", member=member,
            member_number=member.member_number if member else None, due_on=date(2026, 12, 31),
            identity_verified_at=datetime(2026, 3, 1, 10, 0) if verified else None, **fields,
        )
        db.session.add(data_request)
        db.session.commit()
        return data_request

    return factory
