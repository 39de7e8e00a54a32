"""Demo data: realistic Dutch members with years of history, loaded set-based in chunks.

Faker's nl_NL locale gives the names, streets, postcodes and towns; IBANs are valid
(Faker builds them with a correct checksum). Rows go in with Core inserts of many rows at
once, never one ORM object at a time, so thousands of members with years of visits load in
seconds. Member and invoice numbers come from the counters, so loading twice never reuses one.
"""

import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

from faker import Faker
from sqlalchemy import select

from app.extensions import db
from app.models import Consent, HealthNote, Invoice, Member, StaffNote, Subscription, Visit
from app.services import audit, clock, plans
from app.services.members import fold, member_numbers_block, normalise_nl_postcode, search_text_for, take_counter_block

CHUNK = 500  # members per round trip; keeps memory flat however many members are loaded

INFIXES = sorted(
    ("van der", "van den", "van de", "van 't", "in 't", "op de", "op den", "de", "den", "der", "van", "ter", "ten",
     "te", "'t", "in de"),
    key=len, reverse=True,
)
ACCENTED_FIRST = ("Jörg", "Zoë", "Anaïs", "René", "Chloë", "Noël", "Inès", "Maël", "Björn", "Hélène", "Céline", "Daniël")
ACCENTED_LAST = ("Müller", "Çelik", "Gökçe", "Jürgens", "Lefèvre", "Sánchez", "Kühn", "Özdemir")
# A Dutch club's catalogue: (Dutch name, English name or None, period, price, renews, group, eGym type).
CATALOGUE = (
    ("Fitness Basis", "Fitness Basic", "month", "24.95", True, "fitness", "BASIC"),
    ("Fitness Onbeperkt", "Fitness Unlimited", "month", "34.95", True, "fitness", "PREMIUM"),
    ("Daluren", "Off-peak", "month", "19.95", True, "fitness", "BASIC"),
    ("Student", None, "month", "17.50", True, "fitness", "BASIC"),
    ("Senior 65+", None, "month", "21.00", True, "fitness", "BASIC"),
    ("Groepslessen", "Group classes", "month", "29.95", True, "group_classes", None),
    ("Zwemmen en fitness", "Swimming and fitness", "month", "39.95", True, "swimming", "PREMIUM"),
    ("Fitness jaarabonnement", "Fitness yearly", "year", "359.00", True, "fitness", "PREMIUM"),
    ("Zwemmen 10-rittenkaart", "Swimming ten-ride card", "ten_ride", "45.00", False, "swimming", None),
    ("Bedrijfsfitness", "Corporate fitness", "month", "27.50", True, "fitness", "CORPORATE_FITNESS"),
)
# How often each plan is chosen (the catalogue's order): most members are on a monthly fitness plan.
PLAN_WEIGHTS = (20, 30, 10, 8, 7, 8, 7, 4, 3, 3)
LOCATIONS = ("Hoofdvestiging", "Hoofdvestiging", "Hoofdvestiging", "Zwembad", "Buitenbaan")
STAFF_NOTES = (
    "Wil graag een nieuwe intake met een trainer.",
    "Betaalt voortaan per kwartaal; afgesproken aan de balie.",
    "Pas kwijtgeraakt, nieuwe pas meegegeven.",
    "Vraagt naar groepslessen op zaterdag.",
    "Heeft gevraagd om geen telefoontjes meer, alleen e-mail.",
)
HEALTH_NOTES = (
    "Knieblessure rechts: geen diepe squats.",
    "Astma; inhaler ligt bij de balie tijdens lessen.",
    "Herstellend van een schouderoperatie, fysiotherapeut adviseert lichte gewichten.",
    "Hoge bloeddruk, gebruikt medicatie; intensiteit rustig opbouwen.",
)
CONSENT_ODDS = {"newsletter": 0.6, "photos": 0.3, "marketing": 0.2, "technogym": 0.15, "egym": 0.1}


@dataclass
class DemoResult:
    members: int = 0
    subscriptions: int = 0
    visits: int = 0
    invoices: int = 0
    consents: int = 0
    staff_notes: int = 0
    health_notes: int = 0
    member_numbers: list[int] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "member_numbers"}


def split_infix(last_name: str) -> tuple[str | None, str]:
    """'van der Berg' -> ('van der', 'Berg')."""
    lowered = last_name.lower()
    for infix in INFIXES:
        if lowered.startswith(infix + " "):
            return last_name[: len(infix)], last_name[len(infix) + 1 :]
    return None, last_name


def _random_day(rng: random.Random, start: date, end: date) -> date:
    span = (end - start).days
    return start + timedelta(days=rng.randint(0, max(span, 0)))


def _email(first: str, infix: str | None, last: str, number: int) -> str:
    local = ".".join(fold(part).replace(" ", "").replace("'", "") for part in (first, infix, last) if part)
    return f"{local}.{number}@example.nl"


class _Generator:
    def __init__(self, seed: int | None, years: int, visits_per_year: int):
        self.rng = random.Random(seed)
        self.fake = Faker("nl_NL")
        self.fake.seed_instance(seed)
        self.today = clock.today()
        self.history_start = self.today - timedelta(days=round(365.25 * years))
        self.visits_per_year = visits_per_year
        self.created_at = clock.utcnow()

    def member(self, number: int) -> dict:
        rng, fake = self.rng, self.fake
        female = rng.random() < 0.5
        first = fake.first_name_female() if female else fake.first_name_male()
        if rng.random() < 0.05:
            first = rng.choice(ACCENTED_FIRST)
        infix, last = split_infix(fake.last_name())
        if rng.random() < 0.03:
            infix, last = None, rng.choice(ACCENTED_LAST)
        if rng.random() < 0.35:
            joined = _random_day(rng, self.history_start - timedelta(days=3650), self.history_start)
        else:
            joined = _random_day(rng, self.history_start, self.today)
        ended = None
        if rng.random() < 0.12 and (self.today - joined).days > 60:
            ended = _random_day(rng, max(joined + timedelta(days=60), self.history_start), self.today)
        postcode = normalise_nl_postcode(fake.postcode()) or f"{rng.randint(1000, 9999)} AB"
        data = {
            "member_number": number,
            "first_name": first,
            "infix": infix,
            "last_name": last,
            "date_of_birth": _random_day(rng, date(self.today.year - 80, 1, 1), date(self.today.year - 14, 1, 1)),
            "gender": "female" if female else "male",
            "email": _email(first, infix, last, number) if rng.random() < 0.95 else None,
            "phone": f"+31 6 {rng.randint(10000000, 99999999)}" if rng.random() < 0.9 else None,
            "street": fake.street_name(),
            "house_number": str(rng.randint(1, 250)) + (rng.choice(("", "", "", "A", "B", "-2")) or ""),
            "postcode": postcode,
            "city": fake.city(),
            "country": "NL",
            "iban": fake.iban() if rng.random() < 0.85 else None,
            "joined_on": joined,
            "ended_on": ended,
            "status": "ended" if ended else "active",
            "processing_restricted": False,
            "created_at": self.created_at,
            "updated_at": self.created_at,
        }
        data["search_text"] = search_text_for(SimpleNamespace(**data))
        return data

    def visits(self, member_id: int, start: date, end: date) -> list[dict]:
        days = (end - start).days
        if days <= 0 or self.visits_per_year <= 0:
            return []
        rng = self.rng
        count = int(self.visits_per_year * days / 365.25 * rng.uniform(0.3, 1.7))
        base = datetime(start.year, start.month, start.day, 5, 0)  # 06:00/07:00 local in UTC
        random_ = rng.random  # the hot loop of a large load: plain floats are cheapest
        rows = []
        for _ in range(count):
            offset = timedelta(days=int(random_() * days), minutes=int(random_() * 960))
            draw = random_()
            source = "gate" if draw < 0.7 else ("desk" if draw < 0.95 else "app")
            rows.append({"member_id": member_id, "checked_in_at": base + offset,
                         "location": LOCATIONS[int(draw * 10_000) % len(LOCATIONS)], "source": source})
        return rows

    def month_starts(self, start: date, end: date):
        day = date(start.year, start.month, 1)
        if day < start:
            day = clock.add_months(day, 1)
        while day <= end:
            yield day
            day = clock.add_months(day, 1)


def bulk_insert(model, rows: list[dict]) -> None:
    """Insert many rows at once: COPY on PostgreSQL, executemany elsewhere (same transaction)."""
    if not rows:
        return
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        columns = list(rows[0])
        raw = connection.connection.driver_connection
        with raw.cursor() as cursor, cursor.copy(
            f"COPY {model.__tablename__} ({', '.join(columns)}) FROM STDIN"  # noqa: S608 - names from the model
        ) as copy:
            for row in rows:
                copy.write_row(tuple(row[c] for c in columns))
        return
    for start in range(0, len(rows), 20_000):
        db.session.execute(model.__table__.insert(), rows[start : start + 20_000])


def load(members: int = 500, years: int = 3, visits_per_year: int = 100, seed: int | None = None,
         actor=None) -> DemoResult:
    """Add `members` demo members with `years` of history (flushed; the caller commits)."""
    gen = _Generator(seed, years, visits_per_year)
    rng = gen.rng
    result = DemoResult()
    catalogue = plans.ensure_plans(
        {"name": name, "name_en": name_en, "period": period, "price": Decimal(price), "renews": renews,
         "plan_group": group, "egym_membership_type": egym}
        for name, name_en, period, price, renews, group, egym in CATALOGUE
    )
    # (plan id, name, monthly fee): a ten-ride card is bought about every two months.
    offer = []
    for name, *_rest in CATALOGUE:
        plan = catalogue[name]
        offer.append((plan.id, plan.name, plans.monthly_price(plan) or (plan.price / 2).quantize(Decimal("0.01"))))

    def pick():
        return rng.choices(offer, weights=PLAN_WEIGHTS)[0]

    numbers = member_numbers_block(members)
    for chunk_start in range(0, members, CHUNK):
        chunk = numbers[chunk_start : chunk_start + CHUNK]
        member_rows = [gen.member(number) for number in chunk]
        db.session.execute(Member.__table__.insert(), member_rows)
        ids = dict(db.session.execute(
            select(Member.member_number, Member.id).where(Member.member_number.between(chunk[0], chunk[-1]))
        ).all())
        subscriptions, visits, invoices, consents, staff_notes, health_notes = [], [], [], [], [], []
        for row in member_rows:
            member_id = ids[row["member_number"]]
            joined, ended = row["joined_on"], row["ended_on"]
            last_day = ended or gen.today
            plan_id, plan, fee = pick()
            switch = None
            if rng.random() < 0.25 and (last_day - joined).days > 120:
                switch = _random_day(rng, joined + timedelta(days=60), last_day - timedelta(days=30))
                subscriptions.append({"member_id": member_id, "plan_id": plan_id, "starts_on": joined,
                                      "ends_on": switch - timedelta(days=1), "monthly_fee": fee, "status": "ended",
                                      "created_at": gen.created_at})
                plan_id, plan, fee = pick()
            subscriptions.append({"member_id": member_id, "plan_id": plan_id, "starts_on": switch or joined, "ends_on": ended,
                                  "monthly_fee": fee, "status": "ended" if ended else "active",
                                  "created_at": gen.created_at})
            visits.extend(gen.visits(member_id, max(joined, gen.history_start), last_day))
            billing_name = " ".join(p for p in (row["first_name"], row["infix"], row["last_name"]) if p)
            billing_address = f"{row['street']} {row['house_number']}\n{row['postcode']} {row['city']}"
            for month in gen.month_starts(max(joined, gen.history_start), last_day):
                age = (gen.today - month).days
                status = "paid"
                if age < 30 and rng.random() < 0.4 or age >= 30 and rng.random() < 0.02:
                    status = "open"
                invoices.append({"member_id": member_id, "issued_on": month, "due_on": month + timedelta(days=14),
                                 "amount": fee, "description": f"Contributie {plan} {month:%m-%Y}", "status": status,
                                 "paid_on": month + timedelta(days=rng.randint(1, 10)) if status == "paid" else None,
                                 "billing_name": billing_name, "billing_address": billing_address,
                                 "created_at": gen.created_at})
            for purpose, odds in CONSENT_ODDS.items():
                if rng.random() < odds:
                    given = datetime.combine(joined, datetime.min.time()) + timedelta(hours=rng.randint(8, 20))
                    withdrawn = given + timedelta(days=rng.randint(30, 900)) if rng.random() < 0.1 else None
                    if withdrawn and withdrawn > gen.created_at:
                        withdrawn = None
                    consents.append({"member_id": member_id, "purpose": purpose, "given_at": given,
                                     "given_via": rng.choice(("desk", "form", "app")), "withdrawn_at": withdrawn,
                                     "withdrawn_via": "email" if withdrawn else None})
            if rng.random() < 0.05:
                staff_notes.append({"member_id": member_id, "body": rng.choice(STAFF_NOTES), "created_at": gen.created_at})
            if rng.random() < 0.03:
                health_notes.append({"member_id": member_id, "body": rng.choice(HEALTH_NOTES),
                                     "created_at": gen.created_at})
        invoice_numbers = take_counter_block("invoice_number", len(invoices)) if invoices else range(0)
        for invoice, number in zip(invoices, invoice_numbers, strict=True):
            invoice["number"] = f"F{invoice['issued_on'].year}-{number:07d}"
        for model, rows in ((Subscription, subscriptions), (Invoice, invoices), (Consent, consents),
                            (StaffNote, staff_notes), (HealthNote, health_notes), (Visit, visits)):
            bulk_insert(model, rows)
        result.members += len(member_rows)
        result.subscriptions += len(subscriptions)
        result.visits += len(visits)
        result.invoices += len(invoices)
        result.consents += len(consents)
        result.staff_notes += len(staff_notes)
        result.health_notes += len(health_notes)
        result.member_numbers.extend(chunk)
    audit.record("demo.seed", actor, details=result.as_dict())
    return result
