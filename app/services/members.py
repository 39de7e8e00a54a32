"""Member rules shared by the pages, the CLI and (later) the API."""

import unicodedata

from sqlalchemy import select, update

from app.extensions import db
from app.models import Counter, Member

SEARCH_FIELDS = ("first_name", "infix", "last_name", "email", "postcode", "city")


def fold(value: str | None) -> str:
    """Lower case without accents, so 'jorg' finds 'Jörg' on every database."""
    if not value:
        return ""
    decomposed = unicodedata.normalize("NFKD", value)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def search_text_for(member: Member) -> str:
    """The folded text the member search looks in (postcode also without its space)."""
    parts = [fold(getattr(member, field)) for field in SEARCH_FIELDS]
    if member.postcode:
        parts.append(fold(member.postcode.replace(" ", "")))
    parts.append(str(member.member_number or ""))
    return " ".join(part for part in parts if part)


def refresh_search_text(member: Member) -> None:
    member.search_text = search_text_for(member)


def next_counter_value(name: str, start: int = 1) -> int:
    """Take the next value of a named counter (row-locked on PostgreSQL)."""
    counter = db.session.execute(
        select(Counter).where(Counter.name == name).with_for_update()
    ).scalar_one_or_none()
    if counter is None:
        counter = Counter(name=name, value=start - 1)
        db.session.add(counter)
        db.session.flush()
    db.session.execute(update(Counter).where(Counter.name == name).values(value=Counter.value + 1))
    db.session.flush()
    db.session.refresh(counter)
    return counter.value


def next_member_number() -> int:
    """A member number never handed out before (numbers of erased members are not reused).

    A restored backup rolls the counter back; numbers whose keyed hash is in the erasure
    ledger are skipped, so a new member can never take an erased member's number.
    """
    from app.services import ledger

    while True:
        number = next_counter_value("member_number", start=1001)
        if not ledger.is_erased_number(number):
            return number
