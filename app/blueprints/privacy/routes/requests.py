"""The register of data requests: list, register at the desk, a request's page and its actions."""

from types import SimpleNamespace

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.auth.decorators import permission_required
from app.blueprints.form_helpers import choices
from app.blueprints.main.panels import panel_on
from app.blueprints.privacy import bp
from app.blueprints.privacy import forms as f
from app.blueprints.web import attempt, client_ip, page_arg, request_or_404
from app.extensions import db
from app.models.privacy import REQUEST_KINDS, REQUEST_STATUSES
from app.services import clock, erasure, ledger, mail, storage
from app.services import members as member_service
from app.services import privacy_requests as svc
from app.services.export import HANDOVER_METHODS, request_export_state

# What the register's pages read: deadlines and labels. Explicit values, never the service
# module, so no template can reach a function that changes data. (The names stay `svc` and `f`.)
DEADLINES = SimpleNamespace(is_overdue=svc.is_overdue, is_due_soon=svc.is_due_soon,
                            latest_extension=svc.latest_extension, days_left=svc.days_left)
LABELS = SimpleNamespace(KIND_SHORT=f.KIND_SHORT, STATUS_LABELS=f.STATUS_LABELS, CHANNEL_LABELS=f.CHANNEL_LABELS)


def _to(data_request):
    return redirect(url_for("privacy.request", reference=data_request.reference))


SEARCH_RESULTS = 50  # a search shows this many hits on one page (a POST has no pager); refine for more


@bp.route("/requests", methods=["GET", "POST"])
@permission_required("privacy.view")
def requests():
    """The register. Filters, sort and page ride in the URL; a search by reference or name is POSTed."""
    values = request.form if request.method == "POST" else request.args
    filter_ = values.get("filter", "open")
    if filter_ not in svc.FILTERS:
        filter_ = "open"
    kind = values.get("kind") if values.get("kind") in REQUEST_KINDS else None
    status = values.get("status") if values.get("status") in REQUEST_STATUSES else None
    sort = svc.register_sort(values.get("sort"))
    search = f.RegisterSearchForm() if request.method == "POST" else f.RegisterSearchForm(formdata=None)
    query = svc.register_query(filter_, kind, status, sort=sort)
    term = (search.q.data or "").strip() if request.method == "POST" and search.validate_on_submit() else ""
    if term:
        query = svc.register_search(query, term, current_user)
        pagination = db.paginate(query, page=1, per_page=SEARCH_RESULTS, error_out=False)
    else:
        pagination = db.paginate(query, page=page_arg(), per_page=25, error_out=False)
    return render_template("privacy/requests.html", pagination=pagination, filter=filter_, kind=kind,
                           status=status, sort=sort, search=search, searched=term, deadlines=DEADLINES, labels=LABELS,
                           today=clock.today())


@bp.route("/requests/new", methods=["GET", "POST"])
@permission_required("privacy.register", "privacy.handle")
def register_request():
    form = f.RegisterRequestForm()
    if form.validate_on_submit():
        try:
            data_request = svc.register(
                form.kind.data, channel=form.channel.data, actor=current_user,
                requester_name=form.requester_name.data, requester_email=form.requester_email.data,
                requester_date_of_birth=form.requester_date_of_birth.data,
                requester_member_number=form.requester_member_number.data, message=form.message.data,
                received_on=form.received_on.data, source_ip=client_ip(),
            )
        except svc.RequestError as exc:
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(_("Request %(reference)s registered.", reference=data_request.reference))
            if not current_user.has_permission("privacy.view"):
                # the desk registers; the privacy officer takes it from there
                return redirect(url_for("privacy.register_request"))
            return _to(data_request)
    return render_template("privacy/register.html", form=form)


@bp.get("/requests/<reference>", endpoint="request")
@permission_required("privacy.view")
def show_request(reference):
    data_request = request_or_404(reference)
    member = data_request.member
    return render_template(
        "privacy/request.html", data_request=data_request, member=member, deadlines=DEADLINES, labels=LABELS,
        today=clock.today(), extend_form=f.ExtendForm(), close_form=f.CloseForm(), note_form=f.NoteForm(),
        button=f.EmptyForm(), objection_form=_objection_form(member),
        report=svc.report_of(data_request), outcome=svc.outcome_of(data_request),
        export_state=request_export_state(data_request, current_user) if data_request.has_export else None,
        letter_kept_until=svc.letter_kept_until(data_request, current_app.config["LETTER_KEEP_DAYS"]),
        **_identity_on_the_page(data_request),
        letter_mail=mail.letter_mail_state(data_request) if data_request.letter_produced_at else None,
    )


def _identity_on_the_page(data_request):
    """An open, unverified request shows its identity hits on its own page (one page load fewer)."""
    if data_request.identity_verified_at or not data_request.is_open or not current_user.has_permission("privacy.handle"):
        return {"identity_candidates": []}
    return {"identity_candidates": svc.identity_candidates(data_request, current_user),
            "identity_form": f.VerifyIdentityForm(formdata=None)}


def _objection_form(member):
    form = f.ObjectionForm()
    if member is not None:
        form.consents.choices = choices((c.id, c.purpose) for c in svc.active_consents(member))
    return form


def _act(data_request, action, success_message):
    """Run a service call; commit and flash on success, flash the error otherwise."""
    attempt(action, success_message, category="message")
    return _to(data_request)


@bp.post("/requests/<reference>/extend")
@permission_required("privacy.handle")
def extend(reference):
    data_request = request_or_404(reference)
    form = f.ExtendForm()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for error in errors:
                flash(f"{_('Extension')}: {error}", "error")
        return _to(data_request)
    return _act(data_request, lambda: svc.extend(data_request, form.new_due_on.data, form.reason.data, current_user),
                _("The deadline has been extended."))


@bp.route("/requests/<reference>/identity", methods=["GET", "POST"])
@permission_required("privacy.handle")
def identity(reference):
    """Verify the identity and link a member. The URL never carries a search term (no ?q=): see identity_search."""
    data_request = request_or_404(reference)
    form = f.VerifyIdentityForm()
    picked = request.form.get("pick", "") if request.method == "POST" else ""
    if picked:  # "This is the member" on a hit: its number, no retyping
        form.member_number.data = picked[:20]
    if form.validate_on_submit():
        member = member_service.find_by_number(form.member_number.data)
        if member is None:
            form.member_number.errors.append(_("No member with this number."))
        else:
            verified = attempt(lambda: svc.verify_identity(data_request, member, form.method.data, current_user),
                               _("Identity verified; the request is linked to member %(number)s.",
                                 number=member.member_number), category="message")
            if verified.ok:
                return _after_identity(data_request)
    # The first hits use what the requester told us, server-side: nothing of it goes into a URL.
    # Without members.contact an email finds nobody (field-level rules); the name still does.
    return _identity_page(data_request, "", form=form, candidates=svc.identity_candidates(data_request, current_user),
                          picked=picked)


def _after_identity(data_request):
    """Straight on to the next step: an erasure goes into its wizard (no extra page and click), the rest
    back to the request page."""
    if (data_request.uses_wizard and data_request.wizard_step is None
            and current_user.has_permission("privacy.erase")):
        if attempt(lambda: svc.wizard_start(data_request, current_user)).ok:
            return redirect(url_for("privacy.erasure_current", reference=data_request.reference))
    return _to(data_request)


@bp.post("/requests/<reference>/identity/search")
@permission_required("privacy.handle")
def identity_search(reference):
    """The identity search by POST: the term stays in the body, out of URLs, access logs and the session cookie."""
    data_request = request_or_404(reference)
    search = f.IdentitySearchForm()
    q = (search.q.data or "") if search.validate_on_submit() else ""
    return _identity_page(data_request, q, search=search)


def _identity_page(data_request, q, *, search=None, form=None, status=200, candidates=None, picked=""):
    search = search or f.IdentitySearchForm(formdata=None)
    search.q.data = q
    if candidates is None:
        candidates = svc.find_members(q, actor=current_user)
    return render_template("privacy/identity.html", data_request=data_request, search=search, picked=picked,
                           candidates=candidates, form=form or f.VerifyIdentityForm(formdata=None),
                           show_contact=current_user.has_permission("members.contact")), status


@bp.post("/requests/<reference>/rectification")
@permission_required("privacy.handle")
def rectification(reference):
    data_request = request_or_404(reference)
    form = f.NoteForm()
    note = form.note.data if form.validate_on_submit() else ""
    return _act(data_request, lambda: svc.record_rectification(data_request, note, current_user),
                _("The correction has been recorded on the request."))


@bp.post("/requests/<reference>/restriction/<action>")
@permission_required("privacy.handle")
def restriction(reference, action):
    data_request = request_or_404(reference)
    if action not in ("set", "lift") or not f.EmptyForm().validate_on_submit():
        abort(400)
    restricted = action == "set"
    return _act(data_request, lambda: svc.set_restriction(data_request, restricted, current_user),
                _("Processing is now restricted.") if restricted else _("The restriction has been lifted."))


@bp.post("/requests/<reference>/objection")
@permission_required("privacy.handle")
def objection(reference):
    data_request = request_or_404(reference)
    form = _objection_form(data_request.member)
    ids = form.consents.data if form.validate_on_submit() else []
    return _act(data_request, lambda: svc.withdraw_consents(data_request, ids or [], current_user),
                _("The consents concerned have been withdrawn."))


@bp.post("/requests/<reference>/close")
@permission_required("privacy.handle")
def close(reference):
    data_request = request_or_404(reference)
    form = f.CloseForm()
    if not form.validate_on_submit():
        abort(400)
    return _act(data_request, lambda: svc.close(data_request, form.status.data, form.outcome.data, current_user),
                _("The request has been closed and the requester's details removed."))


@panel_on(bp, "privacy/_dashboard_requests.html", "privacy.view", order=10)
def dashboard_panel(_user):
    """Overdue and nearly due requests, and a warning when erased members are back after a restore."""
    summary = svc.deadline_summary()
    ledger_warning = ledger.health().warning
    # A WAL checkpoint (or VACUUM) after an erasure that could not complete stays on show until one succeeds.
    storage_failures = storage.failures()
    if not (summary["overdue_count"] or summary["due_soon_count"] or summary["open_count"] or ledger_warning
            or storage_failures):
        return None
    return {**summary, "ledger_warning": ledger_warning, "storage_failures": storage_failures}


EVENT_LABELS = {
    "received": _l("Received through the intake form"),
    "registered": _l("Registered by staff"),
    "identity_verified": _l("Identity verified, member linked"),
    "extended": _l("Deadline extended"),
    "rectified": _l("Correction recorded"),
    "restricted": _l("Processing restricted"),
    "restriction_lifted": _l("Restriction lifted"),
    "consents_withdrawn": _l("Consents withdrawn"),
    "wizard_started": _l("Erasure wizard started"),
    "ground": _l("Ground recorded"),
    "ground_none": _l("No ground applies: refused"),
    "decision_grant": _l("Decision: grant"),
    "decision_partial": _l("Decision: partly grant"),
    "decision_refuse": _l("Decision: refuse"),
    "method": _l("Method chosen"),
    "method_changed": _l("Back to the method"),
    "wizard_back": _l("Back to an earlier step"),
    "letter_sent": _l("Letter marked as sent; kept copy removed"),
    "letter_expired": _l("Unsent letter removed after its keeping period"),
    "letter_email_queued": _l("Letter to be sent by email, as the requester asked"),
    "acknowledgement_emailed": _l("Acknowledgement sent to the requester by email"),
    "reminder_emailed": _l("Reminder of the deadline sent to the privacy officer by email"),
    "letter_emailed": _l("Letter sent by email; kept copy and address removed"),
    "erased": _l("Erasure carried out"),
    "erased_anonymise": _l("Anonymisation carried out"),
    "letter": _l("Confirmation letter made"),
    "export_produced": _l("Export produced"),
    "export_handed_over": _l("Export handed over"),
    "export_email_queued": _l("Export to be sent by email, encrypted (password given by another channel)"),
    "completed": _l("Closed: completed"),
    "refused": _l("Closed: refused"),
    "withdrawn": _l("Closed: withdrawn"),
}


@bp.app_template_filter("identifier_label")
def identifier_label(kind):
    return f.IDENTIFIER_LABELS.get(kind, kind)


@bp.app_context_processor
def privacy_helpers():
    """Helpers for the privacy partials other pages include (member page, dashboard)."""

    def privacy_requests_of(member):
        return svc.requests_of_member(member, current_user)

    return {
        "privacy_requests_of": privacy_requests_of,
        "privacy_kind_label": lambda kind: f.KIND_SHORT.get(kind, kind),
        "privacy_status_label": lambda status: f.STATUS_LABELS.get(status, status),
        "svc_event_label": _event_label,
        "report_category": erasure.table_words,
        "svc_event_note": _event_note,
    }


def _event_label(event_or_action):
    """A timeline event in words; an erasure by anonymisation says so."""
    action = getattr(event_or_action, "action", event_or_action)
    if action == "erased" and getattr(event_or_action, "note", None) == "anonymise":
        action = "erased_anonymise"
    return EVENT_LABELS.get(action, action)


def _event_note(event):
    """The note of a timeline event, with stored codes shown in words."""
    note = event.note or ""
    if event.action == "ground":
        return f.GROUND_SHORT.get(note, note)
    if event.action in ("method", "erased"):
        return f.METHOD_SHORT.get(note, note)
    if event.action in ("received", "registered"):
        return f.CHANNEL_LABELS.get(note, note)
    if event.action == "export_produced":
        return note.upper()  # the format: PDF or ZIP
    if event.action == "export_handed_over":
        return HANDOVER_METHODS.get(note, note)
    return note


@panel_on(bp, "privacy/_dashboard_register.html", "privacy.register", order=11)
def register_panel(user):
    """For the desk: where to register a data request someone hands in (the register itself is not theirs)."""
    if user.has_permission("privacy.view"):
        return None
    return {}
