"""Forms of the API client pages."""

from flask_babel import lazy_gettext as _l
from wtforms import DateField, IntegerField, SelectChoice, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from app.auth.permissions import API_CODES, BY_CODE
from app.blueprints.form_helpers import BaseForm, sensible_date
from app.services.api_clients import ALWAYS_FIELDS, API_FIELDS, DEFAULT_EXPIRY_DAYS, MAX_EXPIRY_DAYS

FIELD_LABELS = {
    "date_of_birth": _l("Date of birth"), "gender": _l("Gender"), "email": _l("Email"), "phone": _l("Phone"),
    "street": _l("Street"), "house_number": _l("House number"), "postcode": _l("Postcode"), "city": _l("City"),
    "country": _l("Country"), "joined_on": _l("Member since"), "ended_on": _l("Ended on"), "status": _l("Status"),
}


class CheckboxesField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _scope_choices():
    return [SelectChoice(code, f"{code}: {BY_CODE[code].description}") for code in sorted(API_CODES)]


def _field_choices():
    return [SelectChoice(f, f"{f} ({FIELD_LABELS[f]})") for f in API_FIELDS if f not in ALWAYS_FIELDS]


class ApiClientSettingsForm(BaseForm):
    scopes = CheckboxesField(_l("Scopes"), choices=_scope_choices())
    roles = CheckboxesField(_l("Partner roles"), coerce=int)
    fields = CheckboxesField(_l("Member fields on top of the member number and the name"), choices=_field_choices())
    networks = TextAreaField(
        _l("Allowed addresses"), validators=[Optional(), Length(max=4000)],
        description=_l("Addresses or ranges (CIDR, IPv4 or IPv6), one per line; empty: any address. "
                       "Also firewall the API so only the partners reach it."))
    processing_agreement = TextAreaField(
        _l("Processing agreement"), validators=[Optional(), Length(max=4000)],
        description=_l("Which processing agreement (verwerkersovereenkomst) is in place: date, reference, where it is kept."))


class NewApiClientForm(ApiClientSettingsForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=80)],
                       description=_l("The partner system, e.g. ClubPlanner or Access gate hall 1."))
    expires_days = IntegerField(_l("Valid for (days)"), default=DEFAULT_EXPIRY_DAYS,
                                validators=[DataRequired(), NumberRange(min=1, max=MAX_EXPIRY_DAYS)])


class EditApiClientForm(ApiClientSettingsForm):
    expires_on = DateField(_l("Valid until"), validators=[DataRequired(), sensible_date])
