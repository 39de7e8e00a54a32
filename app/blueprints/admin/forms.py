"""Forms for users, roles and the audit log filter."""

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    PasswordField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, Length, NumberRange, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from app.auth.permissions import CATALOGUE
from app.blueprints.form_helpers import BaseForm, sensible_date
from app.blueprints.web import MAX_DATABASE_INT


class CheckboxesField(SelectMultipleField):
    """A multiple choice shown as checkboxes."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class RoleForm(BaseForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=80)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=1000)])
    requires_2fa = BooleanField(_l("Requires two-factor login"))
    permissions = CheckboxesField(_l("Permissions"), choices=[SelectChoice(p.code, p.code) for p in CATALOGUE])


class UserForm(BaseForm):
    full_name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    username = StringField(_l("Username"), validators=[DataRequired(), Length(min=2, max=80)])
    email = StringField(_l("Email"), validators=[Optional(), Email(check_deliverability=False), Length(max=254)])
    roles = CheckboxesField(_l("Roles"), coerce=int)


class NewUserForm(UserForm):
    temporary_password = PasswordField(
        _l("Temporary password"), validators=[DataRequired(), Length(max=200)],
        description=_l("Give it to the employee in person; they must choose their own at the first login."),
    )


class ResetPasswordForm(BaseForm):
    temporary_password = PasswordField(
        _l("New temporary password"), validators=[DataRequired(), Length(max=200)],
        description=_l("The user must choose their own password at the next login."),
    )


class AuditFilterForm(BaseForm):
    """Filters of the audit log viewer (a GET form: no CSRF token needed)."""

    class Meta:
        csrf = False

    words = StringField(_l("Search in words"), validators=[Optional(), Length(max=80)])
    actor = StringField(_l("User"), validators=[Optional(), Length(max=80)])
    action = SelectField(_l("Action"), choices=[], validate_choice=False)
    member_number = IntegerField(_l("Member number"), validators=[Optional(), NumberRange(min=1, max=MAX_DATABASE_INT)])
    date_from = DateField(_l("From"), validators=[Optional(), sensible_date])
    date_to = DateField(_l("Until"), validators=[Optional(), sensible_date])

    def validate_date_to(self, field):
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError(_l("The end date lies before the start date."))
