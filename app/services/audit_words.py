"""The audit log in words: each stored action code as a label, each event's details as sentences.

The log itself keeps its codes (they are hashed into the chain and stay stable across languages);
this module is the one place that turns them into what a reader sees, on the viewer and in its CSV.
An action without a label here still shows, as its code, so a new action never breaks the viewer;
`tests/admin/test_audit_words.py` checks that every action the code records has a label.
"""

import json
from datetime import date, datetime

from flask_babel import format_datetime, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.i18n import format_count, format_day, format_moment
from app.services import members as member_service

ACTION_LABELS = {
    "login.succeeded": _l("Logged in"),
    "login.failed": _l("Login failed"),
    "login.locked": _l("Account locked after failed logins"),
    "logout": _l("Logged out"),
    "user.created": _l("User created"),
    "user.updated": _l("User changed"),
    "user.deactivated": _l("User deactivated"),
    "user.reactivated": _l("User reactivated"),
    "user.unlocked": _l("User unlocked"),
    "user.password_changed": _l("Password changed"),
    "user.password_reset": _l("Password reset"),
    "user.two_factor_enabled": _l("Two-factor login set up"),
    "user.two_factor_disabled": _l("Two-factor login switched off"),
    "user.two_factor_reset": _l("Two-factor login reset"),
    "role.created": _l("Role created"),
    "role.updated": _l("Role changed"),
    "role.deleted": _l("Role deleted"),
    "member.view": _l("Member viewed"),
    "member.create": _l("Member registered"),
    "member.update": _l("Member changed"),
    "member.end": _l("Membership ended"),
    "member.checkin": _l("Member checked in"),
    "member.restriction_override": _l("Restricted member changed anyway"),
    "consent.give": _l("Consent given"),
    "consent.withdraw": _l("Consent withdrawn"),
    "subscription.create": _l("Subscription started"),
    "subscription.end": _l("Subscription ended"),
    "member.health_note_add": _l("Health note added"),
    "member.note_add": _l("Staff note added"),
    "plan.create": _l("Plan created"),
    "plan.update": _l("Plan changed"),
    "plan.retire": _l("Plan retired"),
    "plan.reactivate": _l("Plan offered again"),
    "plan.merge": _l("Plans merged"),
    "export.pdf": _l("Export made (PDF)"),
    "export.zip": _l("Export made (ZIP)"),
    "export.handed_over": _l("Export handed over"),
    "privacy.request.registered": _l("Data request registered"),
    "privacy.request.identity_verified": _l("Identity verified"),
    "privacy.request.status": _l("Data request status changed"),
    "privacy.request.extended": _l("Deadline extended"),
    "privacy.request.rectified": _l("Correction recorded"),
    "privacy.restriction.set": _l("Processing restricted"),
    "privacy.restriction.lifted": _l("Restriction lifted"),
    "privacy.consents.withdrawn": _l("Consents withdrawn on request"),
    "privacy.erasure.ground": _l("Ground for erasure recorded"),
    "privacy.erasure.refused": _l("Erasure refused"),
    "privacy.erasure.decision": _l("Erasure decision recorded"),
    "privacy.erasure.executed": _l("Erasure carried out"),
    "privacy.erasure": _l("Member data erased"),
    "privacy.reapply_erasures": _l("Erasures applied again after a restore"),
    "privacy.letter.made": _l("Letter made"),
    "privacy.letter.sent": _l("Letter marked as sent"),
    "privacy.letter.expired": _l("Unsent letter removed"),
    "legal_hold.placed": _l("Legal hold placed"),
    "legal_hold.lifted": _l("Legal hold lifted"),
    "retention.policy_changed": _l("Retention period changed"),
    "retention.sweep": _l("Retention sweep run"),
    "retention.applied": _l("Retention period applied"),
    "integrations.configure": _l("Connection settings changed"),
    "integrations.link_candidate": _l("Member linked to an existing partner account"),
    "integrations.recipient.registered": _l("Recipient registered"),
    "integrations.recipient.retired": _l("Recipient retired"),
    "integrations.recipient.delivery": _l("Delivery to a recipient recorded"),
    "privacy.recipient.notified": _l("Recipient told about the request"),
    "privacy.recipient.impossible": _l("Telling a recipient recorded as impossible"),
    "member.import": _l("Members imported"),
    "member_import.upload": _l("Import file uploaded"),
    "member_import.queue": _l("Import started on the job queue"),
    "member_import.done": _l("Import finished"),
    "member_import.cancel": _l("Import cancelled"),
    "integrations.opt_in": _l("Member shared with a partner again"),
    "integrations.opt_out": _l("Member no longer shared with a partner"),
    "api_client.created": _l("API client created"),
    "api_client.updated": _l("API client changed"),
    "api_client.rotated": _l("API token replaced"),
    "api_client.revoked": _l("API client revoked"),
    "api_client.token_exposed": _l("API token reported exposed"),
    "audit.pruned": _l("Old audit entries removed"),
    "audit.exported": _l("Audit log exported"),
    "demo.seed": _l("Demo data loaded"),
}

# How a detail's key reads before its value ("Reason: ...").
KEY_LABELS = {
    "reason": _l("Reason"), "via": _l("Via"), "request": _l("Request"), "reference": _l("Request"),
    "name": _l("Name"), "scopes": _l("Permissions"), "purpose": _l("Purpose"), "purposes": _l("Purposes"),
    "method": _l("Method"), "connector": _l("Partner"), "codes": _l("Permissions"), "fields": _l("Fields"),
    "fields_changed": _l("Fields changed"), "changed": _l("Changed"), "tab": _l("Tab"), "kind": _l("Kind"),
    "channel": _l("Received"), "status": _l("Status"), "decision": _l("Decision"), "ground": _l("Ground"),
    "until": _l("New deadline"), "format": _l("Format"), "language": _l("Language"), "left_out": _l("Left out"),
    "count": _l("Members"), "source": _l("Started by"), "period": _l("Period"), "group": _l("Group"),
    "category": _l("Category"), "minutes": _l("Minutes"), "expires_at": _l("Expires"), "ended_on": _l("Ended on"),
    "enabled": _l("Switched on"), "networks": _l("Networks"), "overlap_hours": _l("Old token valid (hours)"),
    "removed": _l("Removed"), "erased": _l("Erased"), "subscriptions_ended": _l("Subscriptions ended"),
    "active_subscriptions": _l("Active subscriptions"), "from_plan": _l("From plan"), "plan_id": _l("Plan"),
    "role_ids": _l("Roles"), "old": _l("Before"), "new": _l("After"), "after": _l("After"), "run": _l("Run"),
    "two_factor": _l("With two-factor login"), "restored_ledger_rows": _l("Erasures applied again"),
    "basis_changed": _l("Legal basis changed"), "counts": _l("Counts"), "subscriptions": _l("Subscriptions"),
    "actions": _l("Actions"), "staff_note_id": _l("Staff note"), "members": _l("Members"),
    "invoices": _l("Invoices"), "visits": _l("Visits"), "consents": _l("Consents"), "health_notes": _l("Health notes"),
    "staff_notes": _l("Staff notes"), "filters": _l("Filters"), "rows": _l("Rows"), "sent_on": _l("Sent on"),
    "member_number": _l("Member number"), "words": _l("Words"),
}

# Details kept for the chain but of no use to a reader.
HIDDEN_KEYS = {"anchor_hash", "up_to_id"}

TAB_LABELS = {
    "profile": _l("Profile"), "visits": _l("Visits"), "subscriptions": _l("Subscriptions"), "notes": _l("Notes"),
    "consents": _l("Consents"), "invoices": _l("Invoices"), "privacy": _l("Privacy"), "integrations": _l("Integrations"),
    "health": _l("Health notes"),
}

TARGET_LABELS = {
    "member": _l("Member"), "members": _l("Members"), "data_request": _l("Data request"), "user": _l("User"),
    "role": _l("Role"), "plan": _l("Plan"), "subscription": _l("Subscription"), "consent": _l("Consent"),
    "api_client": _l("API client"), "connector": _l("Partner"), "retention_policy": _l("Retention period"),
    "legal_hold": _l("Legal hold"), "health_note": _l("Health note"), "staff_note": _l("Staff note"),
}


def _value_labels() -> dict:
    """Stored codes in details, by key, in words (the request register's own labels, read lazily)."""
    from app.blueprints.members import forms as member_forms  # labels only; no rule lives there
    from app.blueprints.privacy import forms as privacy_forms

    return {
        "kind": privacy_forms.KIND_SHORT, "channel": privacy_forms.CHANNEL_LABELS,
        "status": privacy_forms.STATUS_LABELS, "ground": privacy_forms.GROUND_SHORT,
        "decision": {"grant": _l("grant"), "partial": _l("partly grant"), "refuse": _l("refuse")},
        "method": privacy_forms.METHOD_SHORT, "tab": TAB_LABELS,
        "purpose": member_service.CONSENT_LABELS, "purposes": member_service.CONSENT_LABELS,
        "format": {"pdf": "PDF", "zip": "ZIP"},
        "language": {"nl": "Nederlands", "en": "English"},
        "source": {"request": _l("a data request"), "retention": _l("the retention sweep"),
                   "restore": _l("a backup restore"), "cli": _l("the command line")},
        # How a consent was given or a sweep was started.
        "via": {**dict(member_forms.CONSENT_CHANNELS), "import": _l("the member import"),
                "web": _l("the portal"), "cli": _l("the command line"),
                "scheduler": _l("the job workers' nightly schedule")},
    }


def action_label(code: str) -> str:
    """The action in words; an action without a label shows as its code."""
    label = ACTION_LABELS.get(code)
    return str(label) if label is not None else code


def action_choices() -> list[tuple[str, str]]:
    """(code, label) of every labelled action plus any other that occurs in the log, sorted by label."""
    from app.services import audit

    codes = set(ACTION_LABELS) | set(audit.known_actions())
    return sorted(((code, action_label(code)) for code in codes), key=lambda pair: pair[1].lower())


def actions_matching(words: str) -> list[str]:
    """The action codes whose label (in the current language) or code contains every word typed."""
    wanted = [word for word in words.lower().split() if word]
    return [code for code, label in action_choices()
            if all(word in label.lower() or word in code for word in wanted)]


def _format_value(key: str, value) -> str:
    labels = _value_labels().get(key)
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, list | tuple):
        if not value:
            return _("none")
        return ", ".join(_format_value(key, item) for item in value)
    if isinstance(value, dict):
        return "; ".join(f"{_key_label(k)}: {_format_value(k, v)}" for k, v in value.items())
    if labels is not None and isinstance(value, str) and value in labels:
        return str(labels[value])
    if isinstance(value, int):
        return format_count(value)
    if isinstance(value, str) and len(value) >= 10 and value[4:5] == "-" and value[7:8] == "-":
        try:
            if len(value) == 10:
                return format_day(date.fromisoformat(value))
            return format_moment(datetime.fromisoformat(value))
        except ValueError:
            pass
    return str(value)


def _key_label(key: str) -> str:
    label = KEY_LABELS.get(key)
    return str(label) if label is not None else key.replace("_", " ")


def details_of(event) -> dict:
    try:
        details = json.loads(event.details or "{}")
    except ValueError:
        return {}
    return details if isinstance(details, dict) else {"details": details}


def sentences(event) -> list[str]:
    """The event's details as short readable lines ("Reason: no longer needed")."""
    details = details_of(event)
    lines = []
    if event.action == "privacy.erasure" and isinstance(details.get("count"), int):
        lines.append(ngettext("%(num)s member", "%(num)s members", details["count"]))
        details = {k: v for k, v in details.items() if k != "count"}
    for key, value in details.items():
        if key in HIDDEN_KEYS or value is None or value == "":
            continue
        lines.append(f"{_key_label(key)}: {_format_value(key, value)}")
    return lines


def target_words(event) -> str:
    """What the event was about, by a number a reader knows (member number, request reference), not an id."""
    if not event.target_type:
        return ""
    label = TARGET_LABELS.get(event.target_type)
    kind = str(label) if label is not None else event.target_type.replace("_", " ")
    if event.target_type == "member":
        return f"{kind} {event.member_number}" if event.member_number else kind
    if event.target_type == "data_request":
        reference = details_of(event).get("reference") or details_of(event).get("request")
        return f"{kind} {reference}" if reference else kind
    return f"{kind} {event.target_id}" if event.target_id not in (None, "") else kind


CSV_HEADER = (_l("Time"), _l("User"), _l("Action"), _l("Action code"), _l("About"), _l("Member number"),
              _l("Address"), _l("Details"))


def _csv_cell(value: str) -> str:
    """A cell a spreadsheet will not run as a formula (a leading =, +, - or @ gets an apostrophe)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def csv_lines(events):
    """The events as CSV text, line by line (header first), in the reader's language and time zone."""
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def line(cells) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([_csv_cell(str(cell)) for cell in cells])
        return buffer.getvalue()

    yield "\ufeff" + line([str(label) for label in CSV_HEADER])  # the BOM makes Excel read UTF-8
    for event in events:
        yield line([
            format_datetime(event.occurred_at, "yyyy-MM-dd HH:mm:ss"), event.actor_username or "",
            action_label(event.action), event.action, target_words(event),
            event.member_number or "", event.source_ip or "", " · ".join(sentences(event)),
        ])
