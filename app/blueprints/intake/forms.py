"""The public request form."""

from flask_babel import lazy_gettext as _l
from wtforms import DateField, RadioField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, InputRequired, Length, Optional, Regexp

from app.blueprints.form_helpers import BaseForm, choices, past_date, sensible_date
from app.blueprints.privacy.forms import KIND_SHORT

KIND_EXPLANATIONS = {
    "access": _l("You want to know which personal data the club keeps about you, why, and who received it."),
    "portability": _l("You want a copy of your data in a file you can take to another club or service."),
    "erasure": _l("You want the club to remove your data. The club checks whether it may: "
                  "some data, such as invoices, must be kept by law for a while."),
    "rectification": _l("Something the club has about you is wrong or incomplete, and you want it corrected."),
    "restriction": _l("You want the club to stop using your data for a while, for example while a "
                      "correction or an objection is being looked at."),
    "objection": _l("You do not want the club to use your data for a certain purpose any more, "
                    "such as newsletters or sharing with training-equipment partners."),
}


class IntakeForm(BaseForm):
    name = StringField(_l("Your name"), validators=[DataRequired(), Length(max=250)])
    email = StringField(_l("Your email address"), validators=[DataRequired(), Email(), Length(max=254)])
    member_number = StringField(_l("Member number (if you know it)"), validators=[
        Optional(), Regexp(r"^\d{1,10}$", message=_l("A member number has digits only.")),
    ])
    date_of_birth = DateField(_l("Date of birth"), validators=[InputRequired(message=_l("Enter your date of birth.")),
                                                                 sensible_date, past_date])
    kind = RadioField(_l("What would you like?"), choices=choices(KIND_SHORT.items()),
                      validators=[InputRequired(message=_l("Choose what you would like."))])
    message = TextAreaField(_l("Anything you want to add"), validators=[Optional(), Length(max=5000)])
    # A field people never see: a bot that fills it in is shown a confirmation, and nothing is stored.
    website = StringField(_l("Leave this field empty"))
