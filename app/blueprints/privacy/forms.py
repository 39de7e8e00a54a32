"""Forms of the request register and the erasure wizard."""

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, DateField, RadioField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, InputRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from app.blueprints.form_helpers import BaseForm, choices, past_date, sensible_date
from app.blueprints.privacy.export_forms import LANGUAGE_CHOICES
from app.models.privacy import ERASURE_GROUNDS

KIND_LABELS = {
    "access": _l("Access: see which data the club holds"),
    "portability": _l("Portability: receive the data in a machine-readable file"),
    "erasure": _l("Erasure: have the data removed"),
    "rectification": _l("Rectification: have incorrect data corrected"),
    "restriction": _l("Restriction: temporarily stop the use of the data"),
    "objection": _l("Objection: object to a use of the data"),
}

KIND_SHORT = {
    "access": _l("Access"),
    "portability": _l("Portability"),
    "erasure": _l("Erasure"),
    "rectification": _l("Rectification"),
    "restriction": _l("Restriction"),
    "objection": _l("Objection"),
}

CHANNEL_LABELS = {
    "intake": _l("Intake form"),
    "desk": _l("At the desk"),
    "mail": _l("By post"),
    "email": _l("By email"),
    "phone": _l("By phone"),
}

STATUS_LABELS = {
    "received": _l("Received"),
    "in_progress": _l("In progress"),
    "completed": _l("Completed"),
    "refused": _l("Refused"),
    "withdrawn": _l("Withdrawn"),
}

GROUND_LABELS = {
    "no_longer_needed": _l("The data is no longer needed for the purpose the club collected it for."),
    "consent_withdrawn": _l("The member withdraws the consent the processing was based on, and there is no other basis."),
    "objection": _l("The member objects to the processing and the club has no overriding reason to continue."),
    "unlawful": _l("The club processes the data without a legal basis."),
    "legal_obligation": _l("A law obliges the club to erase the data (for example, a retention period has ended)."),
}

GROUND_SHORT = {
    "no_longer_needed": _l("No longer needed"),
    "consent_withdrawn": _l("Consent withdrawn"),
    "objection": _l("Objection"),
    "unlawful": _l("Unlawful processing"),
    "legal_obligation": _l("Legal obligation to erase"),
}

IDENTIFIER_LABELS = {
    "name": _l("name"),
    "email": _l("email address"),
    "phone": _l("phone number"),
    "address": _l("address"),
    "iban": _l("IBAN"),
    "date_of_birth": _l("date of birth"),
}

METHOD_SHORT = {"delete": _l("Delete"), "anonymise": _l("Anonymise")}

DECISION_LABELS = {
    "grant": _l("Grant: erase as requested"),
    "partial": _l("Partly grant: erase what may be erased, keep what the exceptions require"),
    "refuse": _l("Refuse: do not erase now"),
}

METHOD_LABELS = {
    "delete": _l("Delete: remove the member and everything attached"),
    "anonymise": _l("Anonymise: keep the record for statistics without anything that identifies the member"),
}


class RegisterRequestForm(BaseForm):
    """Staff register a request received at the desk, by post, email or phone."""

    kind = SelectField(_l("Kind of request"), choices=choices(KIND_LABELS.items()), validators=[InputRequired()])
    channel = SelectField(_l("Received"), choices=choices((k, v) for k, v in CHANNEL_LABELS.items() if k != "intake"))
    received_on = DateField(_l("Date received"), validators=[Optional(), sensible_date])
    requester_name = StringField(_l("Name of the requester"), validators=[DataRequired(), Length(max=250)])
    requester_email = StringField(_l("Email"), validators=[Optional(), Email(), Length(max=254)])
    requester_date_of_birth = DateField(_l("Date of birth"), validators=[Optional(), sensible_date, past_date])
    requester_member_number = StringField(_l("Member number"), validators=[Optional(), Length(max=20)])
    message = TextAreaField(_l("What the requester asks"), validators=[Optional(), Length(max=5000)])


class ExtendForm(BaseForm):
    new_due_on = DateField(_l("New deadline"), validators=[InputRequired(), sensible_date])
    reason = TextAreaField(_l("Reason for the extension"), validators=[DataRequired(), Length(max=2000)])


class RegisterSearchForm(BaseForm):
    """The register's search by reference or name: posted, never in a query string (a name is personal data)."""

    q = StringField(_l("Reference or name"), validators=[Length(max=100)])


class IdentitySearchForm(BaseForm):
    """Posted, never in a query string: the term is personal data."""

    q = StringField(_l("Member number, name, email or date of birth"), validators=[Length(max=200)])


class VerifyIdentityForm(BaseForm):
    member_number = StringField(_l("Member number"), validators=[DataRequired()])
    method = TextAreaField(_l("How was the identity verified?"), validators=[DataRequired(), Length(max=1000)])


class NoteForm(BaseForm):
    note = TextAreaField(_l("What was corrected"), validators=[DataRequired(), Length(max=2000)])


class CloseForm(BaseForm):
    status = SelectField(_l("Close as"), choices=choices([
        ("completed", _l("Completed")), ("refused", _l("Refused")), ("withdrawn", _l("Withdrawn by the requester")),
    ]))
    outcome = TextAreaField(_l("Outcome or reason"), validators=[Optional(), Length(max=4000)])


class EmptyForm(BaseForm):
    """Only the CSRF token: for POST buttons."""


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class ObjectionForm(BaseForm):
    consents = MultiCheckboxField(_l("Consents the objection concerns"), coerce=int)


class GroundForm(BaseForm):
    ground = RadioField(_l("Which ground applies?"), choices=choices([
        *[(g, GROUND_LABELS[g]) for g in ERASURE_GROUNDS],
        ("none", _l("None of these applies: the request is refused")),
    ]), validators=[InputRequired(message=_l("Choose a ground."))])
    reason = TextAreaField(_l("Reason (required when no ground applies)"), validators=[Optional(), Length(max=4000)])


class DecisionForm(BaseForm):
    decision = RadioField(_l("Decision"), choices=choices(DECISION_LABELS.items()),
                          validators=[InputRequired(message=_l("Choose a decision."))])
    reason = TextAreaField(_l("Reasons"), validators=[Optional(), Length(max=4000)])
    letter_text = TextAreaField(_l("What the letter tells the member"), validators=[Optional(), Length(max=4000)])


class MethodForm(BaseForm):
    method = RadioField(_l("Method"), choices=choices(METHOD_LABELS.items()),
                        validators=[InputRequired(message=_l("Choose delete or anonymise."))])


class ConfirmForm(BaseForm):
    member_number = StringField(_l("Type the member number to confirm"), validators=[DataRequired()])


class LetterForm(BaseForm):
    """The wizard's last step: the letter's language, and whether it also goes by e-mail (when the requester asked)."""

    language = SelectField(_l("Language of the letter"), choices=LANGUAGE_CHOICES)
    by_email = BooleanField(_l("The requester asked for the letter by email: send it to the address on the request, "
                               "as a PDF attachment"))
