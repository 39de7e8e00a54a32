"""Fixtures for the privacy tests: a member with distinctive values in every personal field."""

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest

from app.models import Consent, DataRequest, HealthNote, Invoice, StaffNote, Subscription, Visit
from app.services import clock

DISTINCT = {
    "first_name": "Wubbeltje",
    "infix": "ter",
    "last_name": "Quastenbroek",
    "email": "wubbeltje@quastenbroek.example",
    "phone": "+31 6 98765432",
    "street": "Zonnebloemhof",
    "house_number": "77b",
    "postcode": "9876 ZX",
    "city": "Ootmarsum",
    "iban": "NL02RABO0123456789",
    "date_of_birth": date(1961, 2, 3),
    "gender": "x",
}
FULL_NAME = "Wubbeltje ter Quastenbroek"


@pytest.fixture
def seeded_member(db, make_member, make_plan):
    """A member with data in every attached table, the personal values all distinctive."""

    def factory(**overrides):
        fields = {**DISTINCT, **overrides}
        if "email" not in overrides and overrides.get("member_number"):
            fields["email"] = f"w{overrides['member_number']}@quastenbroek.example"
        member = make_member(**fields)
        today = clock.today()
        address = f"{member.street} {member.house_number}, {member.postcode} {member.city}"
        db.session.add_all([
            Subscription(member_id=member.id, plan=make_plan("All-in"), starts_on=date(2020, 1, 1),
                         ends_on=date(2021, 1, 1), monthly_fee=Decimal("39.50"), status="ended"),
            Visit(member_id=member.id, checked_in_at=datetime(2020, 3, 4, 18, 0), location="Main hall"),
            Visit(member_id=member.id, checked_in_at=datetime(2020, 3, 11, 18, 0), location="Main hall"),
            Invoice(member_id=member.id, number=f"OLD-{member.member_number}", issued_on=date(today.year - 9, 3, 1),
                    due_on=date(today.year - 9, 3, 15), amount=Decimal("39.50"), status="paid",
                    billing_name=member.full_name, billing_address=address),
            Invoice(member_id=member.id, number=f"NEW-{member.member_number}", issued_on=date(today.year - 1, 3, 1),
                    due_on=date(today.year - 1, 3, 15), amount=Decimal("39.50"), status="paid",
                    paid_on=date(today.year - 1, 3, 10), billing_name=member.full_name, billing_address=address),
            Consent(member_id=member.id, purpose="newsletter", given_via=member.email[:40]),
            HealthNote(member_id=member.id, body=f"{member.full_name} has a sore knee; born {member.date_of_birth:%d-%m-%Y}"),
            StaffNote(member_id=member.id, body=f"Called {member.full_name} on {member.phone} about {member.iban}"),
            # the same identifiers spelled differently than stored
            StaffNote(member_id=member.id, body=f"Mrs {member.infix} {member.last_name}: mobile 06-"
                      f"{member.phone.replace(' ', '')[4:]}, IBAN "
                      + " ".join(member.iban[i:i + 4] for i in range(0, len(member.iban), 4))),
            DataRequest(reference=f"AVG-2020-{member.member_number % 10000:04d}", kind="access", channel="desk",
                        status="completed", requester_name=member.full_name, requester_email=member.email,
                        requester_date_of_birth=member.date_of_birth, member_id=member.id,
                        member_number=member.member_number, due_on=today - timedelta(days=400),
                        closed_at=clock.utcnow(), message=f"Please send my data to {address}"),
        ])
        db.session.commit()
        return member

    return factory
