"""The checks on a member's fields: one home, used by the member form and by the import.

Each check takes the typed value and returns it normalised (postcode "1234 AB", phone in
international format, IBAN compact) or raises `MemberFieldError` with a sentence for staff.
The form turns the error into a message beside the field; the import puts it in the row's
reason column, so a file and the form can never disagree on what a valid member is.
"""

from datetime import date

import email_validator
import phonenumbers
from flask_babel import lazy_gettext as _l
from schwifty import IBAN
from schwifty.exceptions import SchwiftyException

from app.models import Member
from app.services import clock
from app.services.members import MemberError, normalise_nl_postcode

OLDEST_PLAUSIBLE_AGE = 120
GENDERS = ("female", "male", "other")


class MemberFieldError(MemberError):
    """One field of a member is not acceptable; `field` names it."""


def _length(field: str) -> int:
    return Member.__table__.c[field].type.length


def check_required_name(value: str | None, field: str) -> str:
    value = (value or "").strip()
    if not value:
        message = _l("Enter the first name.") if field == "first_name" else _l("Enter the last name.")
        raise MemberFieldError(message, "required", field=field)
    return check_length(value, field)


def check_length(value: str | None, field: str) -> str | None:
    if value is not None and len(value) > _length(field):
        raise MemberFieldError(_l("Field cannot be longer than %(max)d characters.", max=_length(field)),
                               "too_long", field=field)
    return value


def check_date_of_birth(value: date | None) -> date | None:
    if value is None:
        return None
    today = clock.today()
    if value >= today:
        raise MemberFieldError(_l("The date of birth must be in the past."), "date_of_birth", field="date_of_birth")
    if value < date(today.year - OLDEST_PLAUSIBLE_AGE, 1, 1):
        raise MemberFieldError(_l("This date of birth is not plausible; check the year."), "date_of_birth",
                               field="date_of_birth")
    return value


def check_joined_on(value: date | None) -> date | None:
    if value and value > clock.today():
        raise MemberFieldError(_l("The membership cannot start in the future."), "joined_on", field="joined_on")
    return value


def check_email(value: str | None) -> str | None:
    if not value:
        return None
    try:
        email_validator.validate_email(value, check_deliverability=False)
    except email_validator.EmailNotValidError:
        raise MemberFieldError(_l("Enter a valid email address, like name@example.nl."), "email",
                               field="email") from None
    return check_length(value, "email")


def check_postcode(value: str | None, country: str | None) -> str | None:
    if not value or country != "NL":
        return value
    normalised = normalise_nl_postcode(value)
    if normalised is None:
        raise MemberFieldError(_l("A Dutch postcode has four digits and two letters, like 1234 AB."), "postcode",
                               field="postcode")
    return normalised


def check_phone(value: str | None) -> str | None:
    if not value:
        return None
    try:
        number = phonenumbers.parse(value, "NL")
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise MemberFieldError(_l("Enter a valid phone number, like 06 12345678 or +32 470 12 34 56."), "phone",
                               field="phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def check_iban(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return IBAN(value).compact
    except SchwiftyException:
        raise MemberFieldError(_l("This is not a valid IBAN: check the digits (the checksum does not match)."),
                               "iban", field="iban") from None


def check_gender(value: str | None) -> str | None:
    if value and value not in GENDERS:
        raise MemberFieldError(_l("Not a valid choice."), "gender", field="gender")
    return value or None


def check_member(data: dict) -> dict:
    """Every check for a whole member at once (the import's path); returns the normalised values.

    Raises the first MemberFieldError found, in the order the form shows the fields.
    """
    clean = dict(data)
    clean["first_name"] = check_required_name(data.get("first_name"), "first_name")
    clean["infix"] = check_length(data.get("infix") or None, "infix")
    clean["last_name"] = check_required_name(data.get("last_name"), "last_name")
    clean["date_of_birth"] = check_date_of_birth(data.get("date_of_birth"))
    clean["gender"] = check_gender(data.get("gender"))
    clean["email"] = check_email(data.get("email") or None)
    clean["phone"] = check_length(check_phone(data.get("phone") or None), "phone")
    for field in ("street", "house_number", "city"):
        clean[field] = check_length(data.get(field) or None, field)
    clean["country"] = data.get("country") or "NL"
    clean["postcode"] = check_length(check_postcode(data.get("postcode") or None, clean["country"]), "postcode")
    clean["iban"] = check_iban(data.get("iban") or None)
    clean["joined_on"] = check_joined_on(data.get("joined_on"))
    return clean
