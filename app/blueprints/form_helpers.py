"""Small helpers shared by the blueprints' forms."""

import re
from datetime import date

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DecimalField, IntegerField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, NumberRange, ValidationError

from app.services import clock

# Unicode's control characters (category Cc: U+0000-U+001F and U+007F-U+009F) except the line
# breaks and the tab, as one pattern: a category look-up per character (100,000 calls for a
# 100,000-character value) was 2.3% of the bad-input walk's profile.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# A text field without its own Length(max=...) is held to this (MAX_FORM_MEMORY_SIZE caps the raw size).
DEFAULT_TEXT_MAX = 10_000
# What an integer column holds (PostgreSQL integer); Numeric(10, 2) columns hold less than 10**8.
INT_COLUMN_MAX = 2**31 - 1
DECIMAL_COLUMN_MAX = 10**8 - 1


def choices(pairs) -> list[SelectChoice]:
    """(value, label) pairs as WTForms choices (plain tuples are deprecated in WTForms 3.3)."""
    return [SelectChoice(value, label) for value, label in pairs]


def id_or_none(value):
    """A chosen row's id (a select's coerce); anything else (text typed into a forged form) is no choice at all."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = str(value if value is not None else "").strip()
    return int(text) if text.isdecimal() and len(text) <= 10 else None


def without_control_characters(value):
    """Text as typed, minus invisible control characters (a NUL byte cannot be stored in PostgreSQL)."""
    if not isinstance(value, str):
        return value
    return CONTROL_CHARACTERS.sub("", value)


class BaseForm(FlaskForm):
    """The base of every form: text and choice fields drop control characters before they are validated.

    Passwords are left exactly as typed (they are only hashed, never stored or shown). Every
    text field gets a maximum length and every number field the range of its database column
    unless it declares a narrower one, so no typed value can reach the database too large.
    """

    class Meta:
        def bind_field(self, form, unbound_field, options):
            field_class = unbound_field.field_class
            if issubclass(field_class, StringField | SelectField) and not issubclass(field_class, PasswordField):
                filters = options.get("filters", unbound_field.kwargs.get("filters", ()))
                options["filters"] = [without_control_characters, *filters]
            validators = list(options.get("validators", unbound_field.kwargs.get("validators", ())))
            if issubclass(field_class, StringField) and not any(
                isinstance(v, Length) and v.max not in (None, -1) for v in validators
            ):
                options["validators"] = [*validators, Length(max=DEFAULT_TEXT_MAX)]
            elif issubclass(field_class, IntegerField | DecimalField) and not any(
                isinstance(v, NumberRange) and v.max is not None and v.min is not None for v in validators
            ):
                bound = INT_COLUMN_MAX if issubclass(field_class, IntegerField) else DECIMAL_COLUMN_MAX
                options["validators"] = [*validators, NumberRange(min=-bound, max=bound)]
            return unbound_field.bind(form=form, **options)


EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(2199, 12, 31)


def sensible_date(_form, field) -> None:
    """A date a club can mean: 1900 to 2199 (9999-12-31 is a typing error, and breaks date arithmetic)."""
    if field.data is not None and not EARLIEST_DATE <= field.data <= LATEST_DATE:
        raise ValidationError(_l("Enter a date between %(first)s and %(last)s.",
                                 first=EARLIEST_DATE.year, last=LATEST_DATE.year))


def past_date(_form, field) -> None:
    """A date of birth: in the past."""
    if field.data is not None and field.data >= clock.today():
        raise ValidationError(_l("The date of birth must be in the past."))
