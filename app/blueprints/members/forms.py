"""Forms of the member administration, with the checks a Dutch club needs."""

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, DateField, DecimalField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from app.blueprints.form_helpers import BaseForm, choices, id_or_none, sensible_date
from app.models.member import CONSENT_PURPOSES
from app.services import member_rules as rules
from app.services.members import CONSENT_LABELS

OLDEST_PLAUSIBLE_AGE = rules.OLDEST_PLAUSIBLE_AGE

COUNTRIES = (
    ("NL", _l("Netherlands")),
    ("BE", _l("Belgium")),
    ("DE", _l("Germany")),
    ("FR", _l("France")),
    ("GB", _l("United Kingdom")),
    ("ES", _l("Spain")),
    ("PL", _l("Poland")),
    ("XX", _l("Other country")),
)
GENDERS = (("", _l("Not given")), ("female", _l("Female")), ("male", _l("Male")), ("other", _l("Other")))
CONSENT_CHANNELS = (("desk", _l("At the desk")), ("form", _l("Paper form")), ("email", _l("By email")),
                    ("app", _l("Member app")))


def _strip(value):
    """Trimmed, without control characters (a NUL byte cannot be stored in PostgreSQL text)."""
    if not isinstance(value, str):
        return value
    if value.isprintable():  # the usual case, checked in one C call instead of per character in Python
        return value.strip()
    return "".join(ch for ch in value if ch.isprintable() or ch in "\n\t").strip()


def _finite_or_none(value):
    """NaN and infinity are not amounts (and a signalling NaN cannot even be compared)."""
    return value if value is None or value.is_finite() else None


def _none_if_blank(value):
    value = _strip(value)
    return value or None


def _check(field, rule, *args) -> None:
    """Run a member rule on a field: its normalised value back into the field, a refusal beside it."""
    try:
        field.data = rule(*args)
    except rules.MemberFieldError as error:
        raise ValidationError(error.message) from None


class BlankableSelectField(SelectField):
    """A select whose stored value may be NULL: NULL shows (and stays) as the blank choice."""

    def process_data(self, value):
        super().process_data("" if value is None else value)


class MemberForm(BaseForm):
    """Profile, contact and finance fields; the view removes the fields the user may not see."""

    first_name = StringField(_l("First name"), filters=[_strip],
                             validators=[DataRequired(_l("Enter the first name.")), Length(max=100)])
    infix = StringField(_l("Infix (e.g. van der)"), filters=[_none_if_blank], validators=[Optional(), Length(max=30)])
    last_name = StringField(_l("Last name"), filters=[_strip],
                            validators=[DataRequired(_l("Enter the last name.")), Length(max=100)])
    date_of_birth = DateField(_l("Date of birth"), validators=[Optional()])
    gender = BlankableSelectField(_l("Gender"), choices=choices(GENDERS), default="")
    email = StringField(_l("Email"), filters=[_none_if_blank],
                        validators=[Optional(), Length(max=254)])
    phone = StringField(_l("Phone"), filters=[_none_if_blank], validators=[Optional(), Length(max=40)])
    street = StringField(_l("Street"), filters=[_none_if_blank], validators=[Optional(), Length(max=150)])
    house_number = StringField(_l("House number"), filters=[_none_if_blank], validators=[Optional(), Length(max=20)])
    postcode = StringField(_l("Postcode"), filters=[_none_if_blank], validators=[Optional(), Length(max=20)])
    city = StringField(_l("City"), filters=[_none_if_blank], validators=[Optional(), Length(max=100)])
    country = SelectField(_l("Country"), choices=choices(COUNTRIES), default="NL")
    iban = StringField(_l("IBAN"), filters=[_none_if_blank], validators=[Optional(), Length(max=40)])
    joined_on = DateField(_l("Member since"), validators=[Optional(), sensible_date])
    confirm_duplicate = BooleanField(_l("This is a different person: register anyway"))

    def keep_country(self, code: str | None) -> None:
        """A member from a country not in the list keeps it when edited."""
        if code and "country" in self._fields and code not in {c.value for c in self.country.choices}:
            self.country.choices.append(SelectChoice(code, code))

    # The checks themselves live in services/member_rules.py, shared with the member import.
    def validate_date_of_birth(self, field):
        _check(field, rules.check_date_of_birth, field.data)

    def validate_email(self, field):
        _check(field, rules.check_email, field.data)

    def validate_postcode(self, field):
        if "country" in self._fields:
            _check(field, rules.check_postcode, field.data, self.country.data)

    def validate_phone(self, field):
        _check(field, rules.check_phone, field.data)

    def validate_iban(self, field):
        _check(field, rules.check_iban, field.data)

    def validate_joined_on(self, field):
        _check(field, rules.check_joined_on, field.data)

    def member_data(self) -> dict:
        """The values of the fields this form still has, by model field name."""
        skip = {"csrf_token", "override_restriction", "override_reason", "confirm_duplicate"}
        data = {name: field.data for name, field in self._fields.items() if name not in skip}
        if data.get("gender") == "":
            data["gender"] = None
        return data


class MemberEditForm(MemberForm):
    override_restriction = BooleanField(_l("Override the restriction of processing for this change"))
    override_reason = TextAreaField(_l("Reason for the override"), filters=[_strip], validators=[Length(max=1000)])

    def validate_override_reason(self, field):
        if self.override_restriction.data and not field.data:
            raise ValidationError(_l("Give the reason for overriding the restriction."))


class CheckInForm(BaseForm):
    member_number = StringField(_l("Member number"), filters=[_strip],
                                validators=[DataRequired(_l("Enter a member number."))])

    def validate_member_number(self, field):
        if not field.data.lstrip("#").isdigit():
            raise ValidationError(_l("A member number consists of digits only."))


class EndMembershipForm(BaseForm):
    ended_on = DateField(_l("Last day of the membership"), validators=[InputRequired(_l("Enter a date.")), sensible_date])


class PlanSelectField(SelectField):
    """A choice among the active plans (set by the view); the form never carries a plan's text."""

    def pre_validate(self, form):
        if self.data is None or self.data not in {choice.value for choice in self.choices}:
            raise ValidationError(_l("Choose a plan from the catalogue."))


class SubscriptionForm(BaseForm):
    plan_id = PlanSelectField(_l("Plan"), coerce=id_or_none, choices=[], validate_choice=False)
    starts_on = DateField(_l("Starts on"), validators=[InputRequired(_l("Enter a date.")), sensible_date])
    ends_on = DateField(_l("Ends on (optional)"), validators=[Optional(), sensible_date])
    monthly_fee = DecimalField(_l("Monthly fee (EUR, optional)"), places=2, filters=[_finite_or_none],
                               validators=[Optional(),
                                           NumberRange(min=0, max=10000, message=_l("Enter an amount between 0 and 10,000."))])

    def offer(self, plans_offered, label) -> "SubscriptionForm":
        """The plans to choose from: (plan, label) for each active plan."""
        self.plan_id.choices = [SelectChoice(plan.id, label(plan)) for plan in plans_offered]
        return self

    def validate_ends_on(self, field):
        if field.data and self.starts_on.data and field.data < self.starts_on.data:
            raise ValidationError(_l("A subscription cannot end before it starts."))


class ConsentForm(BaseForm):
    purpose = SelectField(_l("Purpose"), choices=choices((p, CONSENT_LABELS[p]) for p in CONSENT_PURPOSES))
    via = SelectField(_l("Given how"), choices=choices(CONSENT_CHANNELS), default="desk")


class WithdrawConsentForm(BaseForm):
    via = SelectField(_l("Withdrawn how"), choices=choices(CONSENT_CHANNELS), default="desk")


class NoteForm(BaseForm):
    body = TextAreaField(_l("Note"), filters=[_strip],
                         validators=[DataRequired(_l("Write the note first.")), Length(max=5000)])

