"""Recipients without an interface (an accountant, an insurer), registered by hand, and their deliveries."""

import re

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from wtforms import BooleanField, StringField, TextAreaField
from wtforms.validators import Length

from app.auth.decorators import permission_required
from app.blueprints.form_helpers import BaseForm
from app.blueprints.integrations import bp
from app.blueprints.web import attempt
from app.extensions import db
from app.models import ManualRecipient
from app.services import recipients, transfers
from app.services.members import parse_member_number


class RecipientForm(BaseForm):
    name = StringField(_l("Name"), validators=[Length(max=120)])
    role = StringField(_l("What it does with the data (e.g. the club's accountant)"), validators=[Length(max=200)])
    address = TextAreaField(_l("Address for the notification letter"), validators=[Length(max=2000)])
    categories = StringField(_l("Categories of data it receives (comma-separated)"), validators=[Length(max=1000)])


class DeliveryForm(BaseForm):
    all_members = BooleanField(_l("Every active member"))
    member_numbers = TextAreaField(_l("Or these member numbers (separated by spaces or commas)"),
                                   validators=[Length(max=20000)])


def _page(form=None, status=200):
    listed = [(r, transfers.count_for_recipient(r.key)) for r in recipients.manual_recipients()]
    return render_template("integrations/recipients.html", form=form or RecipientForm(formdata=None),
                           delivery_form=DeliveryForm(formdata=None), listed=listed), status


@bp.route("/recipients", methods=["GET", "POST"])
@permission_required("integrations.manage")
def manual_recipients():
    form = RecipientForm()
    if not form.is_submitted():
        return _page()
    if form.validate() and attempt(
        lambda: recipients.register_recipient(
            form.name.data, role=form.role.data or "", address=form.address.data or "",
            categories=(form.categories.data or "").split(","), actor=current_user),
        lambda recipient: _("%(name)s is registered. Record which members' data it received.", name=recipient.name),
        form=form,
    ).ok:
        return redirect(url_for("integrations.manual_recipients"))
    return _page(form, 400)


def _recipient(recipient_id: int) -> ManualRecipient:
    recipient = db.session.get(ManualRecipient, recipient_id)
    if recipient is None or recipient.retired_at is not None:
        abort(404)
    return recipient


@bp.post("/recipients/<int:recipient_id>/delivery")
@permission_required("integrations.manage")
def manual_delivery(recipient_id):
    recipient = _recipient(recipient_id)
    form = DeliveryForm()
    if not form.validate_on_submit():
        flash(_("The list of member numbers is too long; record it in parts."), "error")
        return redirect(url_for("integrations.manual_recipients"))
    numbers = None
    if not form.all_members.data:
        numbers = [parse_member_number(w) for w in re.split(r"[\s,;]+", form.member_numbers.data or "") if w]
        if not numbers or None in numbers:
            flash(_("Tick 'every active member' or give member numbers (digits only)."), "error")
            return redirect(url_for("integrations.manual_recipients"))
    attempt(lambda: recipients.record_delivery(recipient, numbers, actor=current_user),
            lambda transfer: ngettext("Recorded: %(name)s received data of %(num)s member.",
                                      "Recorded: %(name)s received data of %(num)s members.",
                                      transfer.member_count, name=recipient.name))
    return redirect(url_for("integrations.manual_recipients"))


@bp.post("/recipients/<int:recipient_id>/retire")
@permission_required("integrations.manage")
def manual_retire(recipient_id):
    recipient = _recipient(recipient_id)
    if not DeliveryForm().validate_on_submit():
        abort(400)
    recipients.retire_recipient(recipient, actor=current_user)
    db.session.commit()
    flash(_("%(name)s receives no more data; what it received stays in the transfer log.", name=recipient.name),
          "success")
    return redirect(url_for("integrations.manual_recipients"))
