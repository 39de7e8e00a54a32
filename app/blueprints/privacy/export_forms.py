"""Forms of the export views (kept apart from the request forms so both areas can grow)."""

from flask_babel import lazy_gettext as _l
from wtforms import SelectField
from wtforms.fields.choices import SelectChoice

from app.blueprints.form_helpers import BaseForm
from app.services.export import HANDOVER_METHODS

LANGUAGE_CHOICES = [SelectChoice("nl", "Nederlands"), SelectChoice("en", "English")]


class ExportForm(BaseForm):
    """Produce an export for a data request: the language it is written in."""

    language = SelectField(_l("Language of the export"), choices=LANGUAGE_CHOICES)


class HandoverForm(BaseForm):
    """Record that the export reached the member."""

    method = SelectField(
        _l("How was it handed over?"),
        choices=[SelectChoice("", _l("Choose..."))] + [SelectChoice(code, label) for code, label in HANDOVER_METHODS.items()],
    )
