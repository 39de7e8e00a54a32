"""The plan form: the catalogue entry a manager maintains."""

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, DecimalField, SelectField, StringField
from wtforms.validators import InputRequired, Length, NumberRange, Optional, ValidationError
from wtforms.widgets import TextInput

from app.blueprints.form_helpers import BaseForm, choices, id_or_none
from app.models.plan import EGYM_MEMBERSHIP_TYPES, PLAN_PERIODS
from app.services.plans import GROUP_LENGTH, NAME_LENGTH, PERIOD_LABELS


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _finite_or_none(value):
    return value if value is None or value.is_finite() else None


class EuroField(DecimalField):
    """An amount in euros, typed the Dutch way (29,95) or the English way (29.95): a text box, not a number box."""

    widget = TextInput()

    def process_formdata(self, valuelist):
        if valuelist and isinstance(valuelist[0], str) and valuelist[0].count(",") == 1 and "." not in valuelist[0]:
            valuelist = [valuelist[0].replace(",", ".")]
        super().process_formdata(valuelist)


class PlanForm(BaseForm):
    name = StringField(_l("Name (Dutch)"), filters=[_strip],
                       validators=[InputRequired(_l("A plan needs a name.")), Length(max=NAME_LENGTH)])
    name_en = StringField(_l("Name in English (where it differs)"), filters=[_strip],
                          validators=[Optional(), Length(max=NAME_LENGTH)])
    plan_group = StringField(_l("Group"), filters=[_strip],
                             validators=[InputRequired(_l("Choose or type a group, for example fitness.")),
                                         Length(max=GROUP_LENGTH)])
    period = SelectField(_l("Period"), choices=choices((p, PERIOD_LABELS[p]) for p in PLAN_PERIODS), default="month")
    price = EuroField(_l("Price (EUR, per period)"), places=2, filters=[_finite_or_none],
                         validators=[InputRequired(_l("Enter the price in euros, for example 34.95.")),
                                     NumberRange(min=0, max=100000, message=_l("Enter a price between 0 and 100,000 euros."))])
    renews = BooleanField(_l("Renews automatically"), default=True)
    egym_membership_type = SelectField(
        _l("eGym membership type"),
        choices=choices([("", _l("Not sent to eGym")), *((t, t) for t in EGYM_MEMBERSHIP_TYPES)]), default="",
    )

    def plan_data(self) -> dict:
        return {name: getattr(self, name).data for name in
                ("name", "name_en", "plan_group", "period", "price", "renews", "egym_membership_type")}


class PlanChoiceField(SelectField):
    def pre_validate(self, form):
        if self.data is None or self.data not in {choice.value for choice in self.choices}:
            raise ValidationError(_l("Choose a plan from the catalogue."))


class MergeForm(BaseForm):
    """Merge this plan into another: its subscriptions move, it is retired."""

    into = PlanChoiceField(_l("Merge into"), coerce=id_or_none, choices=[])
