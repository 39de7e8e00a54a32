"""Outgoing e-mail: an outbox in the database, delivered by the job queue over SMTP with TLS.

A mail is a row of `mail_outbox` written in the same transaction as what it is about (a request
registered, a password changed), holding only the kind, the id of the request/user/member it is
about, the language and codes: never an address or a text. The worker builds the message when
it sends it, from the current data, so a mail about someone erased meanwhile is not sent (the
erasure deletes the rows; a request minimised has no address left to send to).

An SMTP server that is down or refuses for a while only delays mail: the row stays pending with a
growing pause between attempts (30 s doubling, at most an hour) and is sent when the server is
back; a permanent refusal (5xx) parks it, to be seen on the integrations page. Logs name the
row id, kind and the SMTP error code, never a recipient or a subject line.

`MAIL_URL`: `smtp://[user:password@]host[:port]` (STARTTLS, required), `smtps://...` (TLS from the
first byte), or `smtp://127.0.0.1:port?tls=off` (plain, for a relay on the same machine only).
Without MAIL_URL nothing is queued and the pages say the club will contact the person.
"""

import ipaddress
import json
import logging
import smtplib
import ssl
import urllib.parse
from dataclasses import dataclass, field
from datetime import timedelta
from email.message import EmailMessage
from email.utils import formataddr, make_msgid

from flask import render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import delete, func, select, update

from app.extensions import db
from app.models import DataRequest, MailOutbox, OutboxEvent, User
from app.services import clock, installation, signals
from app.services.errors import DomainError

log = logging.getLogger(__name__)

FIRST_RETRY = timedelta(seconds=30)
LONGEST_RETRY = timedelta(hours=1)
LEASE = timedelta(minutes=5)
BATCH = 50
REMINDER_DAYS = 7
ACCOUNT_CHANGES = ("password", "password_reset", "two_factor_on", "two_factor_off", "two_factor_reset")


class MailConfigError(DomainError):
    """MAIL_URL cannot be used as it is."""


@dataclass(frozen=True)
class Settings:
    scheme: str
    host: str
    port: int
    username: str | None
    password: str | None
    starttls: bool


def settings(url: str | None = None) -> Settings | None:
    """MAIL_URL read; None when mail is not set up."""
    url = url if url is not None else installation.mail().url
    if not url:
        return None
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise MailConfigError("MAIL_URL must look like smtp://host:587 or smtps://host:465")
    query = urllib.parse.parse_qs(parts.query)
    plain = query.get("tls", [""])[0] == "off"
    if plain:
        try:
            loopback = ipaddress.ip_address(parts.hostname).is_loopback
        except ValueError:
            loopback = parts.hostname == "localhost"
        if not loopback:
            raise MailConfigError("MAIL_URL: tls=off is only allowed for a relay on this machine (127.0.0.1)")
    return Settings(parts.scheme, parts.hostname, parts.port or (465 if parts.scheme == "smtps" else 587),
                    urllib.parse.unquote(parts.username) if parts.username else None,
                    urllib.parse.unquote(parts.password) if parts.password else None,
                    starttls=parts.scheme == "smtp" and not plain)


def configured() -> bool:
    try:
        return settings() is not None
    except MailConfigError:
        return False


# --- queueing ---------------------------------------------------------------------------------

def enqueue(kind: str, subject_type: str, subject_id: int | None, *, locale: str | None, member_id: int | None = None,
            params: dict | None = None, dedupe_key: str | None = None) -> MailOutbox | None:
    """Queue a mail (flushed with the caller's transaction); None when mail is not set up or already queued."""
    if not configured():
        return None
    if dedupe_key and db.session.scalar(select(MailOutbox.id).where(MailOutbox.dedupe_key == dedupe_key)):
        return None
    row = MailOutbox(kind=kind, subject_type=subject_type, subject_id=subject_id, member_id=member_id,
                     locale=installation.known_locale(locale) or installation.default_locale(),
                     params=json.dumps(params or {}),
                     status="pending", next_attempt_at=clock.utcnow(), dedupe_key=dedupe_key)
    db.session.add(row)
    db.session.flush()
    return row


def acknowledge_request(data_request: DataRequest, *, locale: str | None) -> bool:
    """The requester's acknowledgement of a request filed on the public form; False without mail."""
    return enqueue("intake_ack", "request", data_request.id, locale=locale, member_id=data_request.member_id) is not None


@signals.account_changed.connect
def _account_changed(user, change: str = "", **_kwargs) -> None:
    if change in ACCOUNT_CHANGES and getattr(user, "kind", "staff") != "partner":
        enqueue("account_notice", "user", user.id, locale=user.locale, params={"change": change})


@signals.erasing.connect
def _forget_members_mail(_sender, member_ids=(), **_kwargs) -> None:
    """An erased member's mails go, sent or not: the rows would still link the member to a mail."""
    from app.services import erasure

    batch = erasure._batch_ids()  # the engine's staged ids (member_ids): one statement, no list of 25,000 binds
    requests = select(DataRequest.id).where(DataRequest.member_id.in_(batch))
    db.session.execute(delete(MailOutbox).where(
        (MailOutbox.member_id.in_(batch))
        | ((MailOutbox.subject_type == "request") & MailOutbox.subject_id.in_(requests))
        | ((MailOutbox.subject_type == "member") & MailOutbox.subject_id.in_(batch))
    ), execution_options={"synchronize_session": False})


def queue_reminders(today=None) -> int:
    """The privacy officer hears of each open request once when due within 7 days, once when overdue."""
    if not configured():
        return 0
    today = today or clock.today()
    due = func.coalesce(DataRequest.extended_due_on, DataRequest.due_on)  # DataRequest.effective_due_on in SQL
    rows = db.session.execute(select(DataRequest.id, DataRequest.member_id, due).where(
        DataRequest.closed_at.is_(None), due <= today + timedelta(days=REMINDER_DAYS))).all()
    queued = 0
    for request_id, member_id, due_on in rows:
        state = "overdue" if due_on < today else "due_soon"
        if enqueue("privacy_reminder", "request", request_id, locale=None, member_id=member_id,
                   params={"state": state}, dedupe_key=f"reminder:{request_id}:{state}:{due_on.isoformat()}"):
            queued += 1
    return queued


def queue_parked_notices() -> int:
    """Whoever manages integrations hears when a partner delivery is parked (once per parked row)."""
    if not configured():
        return 0
    queued = 0
    for connector, newest in db.session.execute(
            select(OutboxEvent.connector, func.max(OutboxEvent.id)).where(OutboxEvent.state == "parked")
            .group_by(OutboxEvent.connector)).all():
        if enqueue("delivery_parked", "connector", newest, locale=None, params={"connector": connector},
                   dedupe_key=f"parked:{connector}:{newest}"):
            queued += 1
    return queued


# --- building a message -----------------------------------------------------------------------

@dataclass
class Built:
    to: list[str]
    subject: str
    text: str
    html: str
    attachments: list = field(default_factory=list)
    after_send: object = None  # called in the transaction that marks the row sent


def club_details() -> dict:
    """The club's contact details for letters, mails and the confirmation page."""
    club = installation.club()
    return {"name": club.name, "address": club.address, "email": club.email, "phone": club.phone}


def _render(template: str, **context) -> tuple[str, str]:
    context["club"] = club_details()
    return render_template(f"mail/{template}.txt", **context), render_template(f"mail/{template}.html", **context)


def _users_with(code: str, role_key: str | None = None) -> list[User]:
    users = db.session.scalars(select(User).where(User.active.is_(True), User.email.is_not(None))).all()
    if role_key:
        chosen = [u for u in users if any(r.system_key == role_key for r in u.roles)]
        if chosen:
            return chosen
    return [u for u in users if u.kind != "partner" and u.has_permission(code)]


def _officer_addresses() -> list[str]:
    configured_address = installation.mail().privacy_officer
    if configured_address:
        return [configured_address]
    return sorted({u.email for u in _users_with("privacy.handle", "privacy_officer")})


def build(row: MailOutbox) -> Built | None:
    """The message for an outbox row from the current data; None when there is nothing to send any more."""
    params = json.loads(row.params or "{}")
    if row.kind == "intake_ack":
        data_request = db.session.get(DataRequest, row.subject_id)
        if data_request is None or not data_request.requester_email:
            return None
        from app.blueprints.privacy.forms import KIND_SHORT

        text, html = _render("intake_ack", request=data_request, kind=KIND_SHORT.get(data_request.kind, ""),
                             steps={"due_on": data_request.effective_due_on, "kind": data_request.kind})
        built = Built([data_request.requester_email],
                      _("Your request %(reference)s has been received", reference=data_request.reference), text, html)
        built.after_send = lambda: db.session.add(_event(data_request, None, "acknowledgement_emailed"))
        return built
    if row.kind == "account_notice":
        user = db.session.get(User, row.subject_id)
        if user is None or not user.email:
            return None
        text, html = _render("account_notice", user=user, change=params.get("change"), when=row.created_at)
        return Built([user.email], _("A security setting of your account was changed"), text, html)
    if row.kind == "privacy_reminder":
        data_request = db.session.get(DataRequest, row.subject_id)
        to = _officer_addresses()
        if data_request is None or not data_request.is_open or not to:
            return None
        overdue = params.get("state") == "overdue"
        text, html = _render("privacy_reminder", request=data_request, overdue=overdue,
                             due_on=data_request.effective_due_on)
        subject = (_("Overdue: data request %(reference)s", reference=data_request.reference) if overdue
                   else _("Due within 7 days: data request %(reference)s", reference=data_request.reference))
        built = Built(to, subject, text, html)
        built.after_send = lambda: db.session.add(_event(data_request, None, "reminder_emailed"))
        return built
    if row.kind == "request_export":
        return _build_export(row, params)
    if row.kind == "erasure_letter":
        return _build_letter(row)
    if row.kind == "delivery_parked":
        to = sorted({u.email for u in _users_with("integrations.manage")})
        if not to:
            return None
        text, html = _render("delivery_parked", connector=params.get("connector", ""))
        return Built(to, _("A delivery to %(partner)s was parked", partner=params.get("connector", "")), text, html)
    return None


# --- the access export by e-mail ------------------------------------------------------------

READABLE_LETTERS = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read out over the phone


def new_export_password() -> str:
    import secrets

    return "-".join("".join(secrets.choice(READABLE_LETTERS) for _ in range(4)) for _ in range(4))


def send_export(data_request: DataRequest, actor, *, language: str) -> str:
    """Queue the request's export as an encrypted ZIP to the requester; returns the password, shown once.

    Staff give the password to the member by another channel (phone, desk). The outbox row holds it
    only sealed with the installation's key (never in the clear), and forgets it once the mail is sent.
    The export itself is produced when the mail is sent, from the data as it is then.
    """
    from app.services import export
    from app.services.connectors import secretbox

    refusal = export.request_refusal(data_request)
    if refusal:
        raise export.ExportRefusedError(refusal)
    if not configured():
        raise export.ExportRefusedError(_("E-mail is not set up (MAIL_URL); hand the export over another way."))
    if not data_request.requester_email:
        raise export.ExportRefusedError(_("This request has no email address to send the export to."))
    if language not in export.LANGUAGES:
        raise export.ExportRefusedError(_("Choose Dutch or English for the export."))
    password = new_export_password()
    enqueue("request_export", "request", data_request.id, locale=language, member_id=data_request.member_id,
            params={"actor_id": getattr(actor, "id", None), "sealed": secretbox.seal(password)})
    db.session.add(_event(data_request, actor, "export_email_queued"))
    db.session.flush()
    return password


def _event(data_request: DataRequest, actor, action: str, note: str | None = None):
    from app.models import RequestEvent

    return RequestEvent(request=data_request, actor_id=getattr(actor, "id", None), action=action, note=note)


def _build_export(row: MailOutbox, params: dict) -> Built | None:
    import io

    import pyzipper

    from app.services import export
    from app.services.connectors import secretbox

    data_request = db.session.get(DataRequest, row.subject_id)
    if data_request is None or not data_request.requester_email or not params.get("sealed"):
        return None
    if export.request_refusal(data_request):
        return None
    actor = db.session.get(User, params.get("actor_id")) if params.get("actor_id") else None
    club = export.ClubInfo(installation.club().name, installation.club().email)
    file = export.produce_for_request(data_request, actor, "zip", _locale_of(row), club)
    password = secretbox.open_sealed(params["sealed"])
    buffer = io.BytesIO()
    with pyzipper.AESZipFile(buffer, "w", compression=pyzipper.ZIP_STORED, encryption=pyzipper.WZ_AES) as wrapper:
        wrapper.setpassword(password.encode())
        wrapper.writestr(file.filename, file.content)  # the export's own ZIP, inside an AES-256 one
    text, html = _render("request_export", request=data_request)
    built = Built([data_request.requester_email],
                  _("Your data from %(club)s (request %(reference)s)", club=club.name, reference=data_request.reference),
                  text, html)
    built.attachments.append((f"export-{data_request.reference}.zip", buffer.getvalue(), "application", "zip"))
    built.after_send = lambda: _export_sent(row, data_request, actor)
    return built


def _export_sent(row: MailOutbox, data_request: DataRequest, actor) -> None:
    """The timeline says it went; the sealed password is forgotten."""
    from app.services import export

    row.params = json.dumps({"actor_id": json.loads(row.params).get("actor_id")})
    if actor is not None:
        export.record_handover(data_request, actor, "email")
    else:
        db.session.add(_event(data_request, None, "export_handed_over", "email"))
        data_request.export_handed_over_at = clock.utcnow()


# --- the erasure confirmation letter by e-mail -------------------------------------------------

def _build_letter(row: MailOutbox) -> Built | None:
    """The kept letter as a PDF attachment, to the address kept with it (privacy_requests.letter_made);
    None once the letter was marked sent by hand or its keeping period ended (copy and address are gone)."""
    from app.services import privacy_requests

    data_request = db.session.get(DataRequest, row.subject_id)
    if data_request is None or not data_request.letter_email:
        return None
    body = privacy_requests.kept_letter(data_request)
    if not body:
        return None
    text, html = _render("erasure_letter", request=data_request)
    built = Built([data_request.letter_email],
                  _("Your request %(reference)s: the confirmation letter", reference=data_request.reference),
                  text, html)
    built.attachments.append((f"{data_request.reference}-letter.pdf", body, "application", "pdf"))
    built.after_send = lambda: privacy_requests.letter_emailed(data_request)
    return built


def letter_mail_state(data_request: DataRequest) -> MailOutbox | None:
    """The request's letter mail (pending, parked or sent), for the request page; None when none was asked."""
    return db.session.scalar(select(MailOutbox).where(MailOutbox.kind == "erasure_letter",
                                                      MailOutbox.subject_type == "request",
                                                      MailOutbox.subject_id == data_request.id)
                             .order_by(MailOutbox.id.desc()).limit(1))


def _locale_of(row: MailOutbox) -> str:
    return row.locale or installation.default_locale()


def message_for(row: MailOutbox, built: Built) -> EmailMessage:
    sender = installation.mail().sender
    message = EmailMessage()
    message["From"] = formataddr((installation.club().name, sender))
    message["To"] = ", ".join(built.to)
    message["Subject"] = built.subject
    message["Message-ID"] = make_msgid(domain=sender.split("@")[-1])
    message.set_content(built.text)
    message.add_alternative(built.html, subtype="html")
    for filename, data, maintype, subtype in built.attachments:
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    # Last: set_content drops Content-* headers, and the first attachment moves them into the body part.
    message["Content-Language"] = _locale_of(row)
    return message


# --- sending --------------------------------------------------------------------------------

class SendError(Exception):
    def __init__(self, code: str, permanent: bool):
        super().__init__(code)
        self.code = code
        self.permanent = permanent


def _tls_context() -> ssl.SSLContext:
    return ssl.create_default_context(cafile=installation.mail().ca_file)


def send(message: EmailMessage, config: Settings) -> None:
    """One message over SMTP; raises SendError with a code (never an address) when it does not go."""
    timeout = installation.mail().timeout
    try:
        if config.scheme == "smtps":
            client = smtplib.SMTP_SSL(config.host, config.port, timeout=timeout, context=_tls_context())
        else:
            client = smtplib.SMTP(config.host, config.port, timeout=timeout)
        with client:
            client.ehlo()
            if config.starttls:
                if not client.has_extn("starttls"):
                    raise SendError("no-starttls", permanent=False)
                client.starttls(context=_tls_context())
                client.ehlo()
            if config.username:
                client.login(config.username, config.password or "")
            client.send_message(message)
    except SendError:
        raise
    except smtplib.SMTPRecipientsRefused as error:
        codes = {code for code, _msg in error.recipients.values()}
        raise SendError(f"smtp-{min(codes)}", permanent=all(c >= 500 for c in codes)) from None
    except smtplib.SMTPResponseException as error:
        raise SendError(f"smtp-{error.smtp_code}", permanent=error.smtp_code >= 500
                          and error.smtp_code != 530) from None
    except (OSError, smtplib.SMTPException, ssl.SSLError) as error:
        raise SendError(error.__class__.__name__, permanent=False) from None


def _failed(row_id: int, attempts: int, failure: "SendError", result: "DrainResult") -> None:
    row = db.session.get(MailOutbox, row_id)
    row.attempts = attempts
    row.last_error = failure.code[:200]
    if failure.permanent:
        row.status = "parked"
        result.parked += 1
    else:
        row.next_attempt_at = clock.utcnow() + _retry_after(attempts)
        result.retrying += 1
    log.warning("mail %s (%s) not sent: %s, attempt %s", row.id, row.kind, failure.code, attempts)
    db.session.commit()


def _retry_after(attempts: int) -> timedelta:
    return min(FIRST_RETRY * (2 ** max(attempts - 1, 0)), LONGEST_RETRY)


def _claim(row_id: int, now) -> bool:
    """Exactly one worker sends a row: a conditional UPDATE takes a lease on it."""
    result = db.session.execute(update(MailOutbox).where(
        MailOutbox.id == row_id, MailOutbox.status == "pending", MailOutbox.next_attempt_at <= now,
    ).values(next_attempt_at=now + LEASE), execution_options={"synchronize_session": False})
    db.session.commit()
    return result.rowcount == 1


@dataclass
class DrainResult:
    sent: int = 0
    retrying: int = 0
    parked: int = 0
    dropped: int = 0


def drain(limit: int = BATCH) -> DrainResult:
    """Send what is due (commits per row: a sent mail is never sent twice)."""
    result = DrainResult()
    config = settings()
    if config is None:
        return result
    now = clock.utcnow()
    ids = db.session.scalars(select(MailOutbox.id).where(MailOutbox.status == "pending",
                                                         MailOutbox.next_attempt_at <= now)
                             .order_by(MailOutbox.id).limit(limit)).all()
    for row_id in ids:
        if not _claim(row_id, now):
            continue
        row = db.session.get(MailOutbox, row_id)
        if row is None:
            continue
        attempts = row.attempts + 1
        try:
            with force_locale(_locale_of(row)):
                built = build(row)
                message = message_for(row, built) if built is not None else None
        except Exception as error:  # noqa: BLE001 - a mail that cannot be built is parked, not lost
            db.session.rollback()
            _failed(row_id, attempts, SendError(f"build:{error.__class__.__name__}", permanent=True), result)
            continue
        if built is None:  # the person or request is gone: nothing to send
            db.session.delete(row)
            db.session.commit()
            result.dropped += 1
            continue
        try:
            send(message, config)
        except SendError as failure:
            db.session.rollback()  # what building it wrote (an export's timeline entry) is undone
            _failed(row_id, attempts, failure, result)
            continue
        row.attempts = attempts
        row.status = "sent"
        row.sent_at = clock.utcnow()
        row.last_error = None
        if built.after_send is not None:
            built.after_send()
        result.sent += 1
        log.info("mail %s (%s) sent", row.id, row.kind)
        db.session.commit()
    return result


def status() -> dict:
    """Counts for the integrations page and deploy-check: pending, parked, the oldest pending."""
    counts = dict(db.session.execute(select(MailOutbox.status, func.count()).group_by(MailOutbox.status)).all())
    oldest = db.session.scalar(select(func.min(MailOutbox.created_at)).where(MailOutbox.status == "pending"))
    return {"configured": configured(), "pending": counts.get("pending", 0), "parked": counts.get("parked", 0),
            "sent": counts.get("sent", 0), "oldest_pending": oldest}


# --- the job queue -----------------------------------------------------------------------------

def register_tasks(huey, app) -> dict:
    from huey import crontab

    @huey.task(name="mail.drain")
    def drain_task():
        with app.app_context():
            drain()

    @huey.periodic_task(crontab(minute="*"), name="mail.tick")
    def tick():
        with app.app_context():
            queue_reminders()
            queue_parked_notices()
            db.session.commit()
            drain()

    return {"mail_drain": drain_task, "mail_tick": tick}


def kick(app) -> None:
    """Ask a worker to send now; never raises (the minute tick sends what is waiting anyway)."""
    if not app.config.get("MAIL_URL"):
        return
    from app.services import jobqueue

    try:
        jobqueue.get(app)
        app.extensions["huey_tasks"]["mail_drain"]()
    except Exception:  # noqa: BLE001 - a queue that is down must not undo a committed change
        log.warning("job queue unavailable; mail waits for the next tick")

