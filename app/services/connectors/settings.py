"""A club's connector settings and the one eligibility rule (SQL, so lists and single members agree)."""

import ipaddress
import re
import urllib.parse

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, exists, false, or_, select, true

from app.extensions import db
from app.models import Connector, ConnectorMember, Consent, Member, OutboxEvent
from app.services import audit, clock, installation
from app.services.connectors import egym, plans, secretbox, technogym
from app.services.connectors.declaration import Declaration
from app.services.errors import DomainError
from app.services.privacy_requests import partner_processing_clause

DECLARATIONS: dict[str, Declaration] = {egym.DECLARATION.key: egym.DECLARATION,
                                        technogym.DECLARATION.key: technogym.DECLARATION}
ERROR_TEXTS = {"egym": egym.ERROR_TEXTS, "technogym": technogym.ERROR_TEXTS}
BASES = ("consent", "contract")
SYNC_TIME = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")


class ConnectorError(DomainError, ValueError):
    """A connector setting was refused; the message is for staff (translated lazily)."""

    def __str__(self) -> str:
        return str(self.message)


def declaration(name: str) -> Declaration:
    if name not in DECLARATIONS:
        raise ConnectorError(_l("There is no connector by this name."), field="name")
    return DECLARATIONS[name]


def connector(name: str, *, create: bool = True) -> Connector | None:
    """The club's settings row for a connector (created disabled the first time)."""
    declaration(name)
    row = db.session.get(Connector, name)
    if row is None and create:
        row = Connector(name=name, enabled=False, base_url="", legal_basis="consent", plans="", optional_fields="")
        db.session.add(row)
        db.session.flush()
    return row


def enabled_names() -> list[str]:
    return list(db.session.scalars(select(Connector.name).where(Connector.enabled.is_(True)).order_by(Connector.name)))


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def clean_base_url(url: str, *, strip_api: bool = True) -> str:
    """The partner's address without /api/v2; HTTPS unless it is a loopback address (tests, a local proxy)."""
    url = (url or "").strip().rstrip("/")
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConnectorError(_l("Give the partner's address as https://host (without /api/v2)."), field="url")
    if parts.scheme != "https" and not is_loopback(parts.hostname):
        raise ConnectorError(
            _l("The partner's address must use HTTPS (plain http is allowed only for a loopback address)."), field="url")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ConnectorError(_l("Give the partner's address without a query, fragment or credentials."), field="url")
    if strip_api and parts.path.rstrip("/").endswith("/api/v2"):
        url = url[: -len("/api/v2")]
    return url


def configure(name: str, *, actor, url: str | None = None, api_key: str | None = None, basis: str | None = None,
              processing_agreement: str | None = None, plan_names=None, fields=None, sync_time: str | None = None,
              enabled: bool | None = None, application_id: str | None = None, integration_user: str | None = None,
              password: str | None = None) -> Connector:
    """Change a connector's settings (None: leave as it is); flushes, the caller commits."""
    spec = declaration(name)
    row = connector(name)
    changed = []
    if name != "technogym" and any(v is not None for v in (application_id, integration_user, password)):
        raise ConnectorError(_l("Only TechnoGym has an application id and an integration user."), field="application_id")
    if application_id is not None:
        application_id = application_id.strip()
        if not application_id or len(application_id) > 100 or not re.fullmatch(r"[A-Za-z0-9._-]+", application_id):
            raise ConnectorError(_l("Give the application id TechnoGym issued (letters, digits, dots, dashes)."),
                                 field="application_id")
        row.application_id = application_id
        changed.append("application_id")
    if integration_user is not None:
        integration_user = integration_user.strip()
        if not integration_user or len(integration_user) > 200 or any(ch.isspace() for ch in integration_user):
            raise ConnectorError(_l("Give the integration user's name (a single word)."), field="integration_user")
        row.integration_user = integration_user
        changed.append("integration_user")
    if password is not None:
        if not password.strip() or len(password) > 500:
            raise ConnectorError(_l("The integration user's password is empty or too long."), field="password")
        row.password_encrypted = secretbox.seal(password.strip())
        changed.append("password")
    if url is not None:
        row.base_url = clean_base_url(url, strip_api=name == "egym")
        changed.append("url")
    if api_key is not None:
        api_key = api_key.strip()
        if not api_key or any(ch.isspace() for ch in api_key) or len(api_key) > 500:
            raise ConnectorError(_l("The API key is empty or not a single word."), field="api_key")
        row.api_key_encrypted = secretbox.seal(api_key)
        changed.append("api_key")
    if basis is not None:
        if basis not in BASES:
            raise ConnectorError(_l("Choose consent or contract as the legal basis."), field="basis")
        row.legal_basis = basis
        changed.append("basis")
    if processing_agreement is not None:
        row.processing_agreement = processing_agreement.strip()[:300] or None
        changed.append("processing_agreement")
    if plan_names is not None:
        try:
            row.plans = ",".join(plans.resolve_choices(plan_names))
        except ValueError as unknown:
            raise ConnectorError(_l("No plan or plan group in the catalogue is called: %(names)s.",
                                    names=str(unknown)), field="plans") from None
        changed.append("plans")
    if fields is not None:
        unknown = sorted(set(fields) - set(spec.optional_names))
        if unknown:
            raise ConnectorError(_l("Unknown optional field: %(names)s.", names=", ".join(unknown)), field="fields")
        row.optional_fields = ",".join(n for n in spec.optional_names if n in set(fields))
        changed.append("fields")
    if sync_time is not None:
        sync_time = sync_time.strip()
        if sync_time and not SYNC_TIME.match(sync_time):
            raise ConnectorError(_l("Give the daily sync time as HH:MM."), field="sync_time")
        row.sync_time = sync_time or None
        changed.append("sync_time")
    if enabled is not None:
        row.enabled = enabled
        changed.append("enabled")
    if row.enabled:
        problem = readiness_problem(row)
        if problem:
            raise ConnectorError(problem, field="enabled")
    db.session.flush()
    audit.record("integrations.configure", actor, target_type="connector", target_id=None,
                 details={"connector": name, "changed": changed, "enabled": row.enabled})
    return row


def readiness_problem(row: Connector):
    """Why this connector cannot be enabled, or None."""
    if not row.base_url:
        return _l("Give the partner's address first.")
    if not row.api_key_encrypted:
        return _l("Give the API key first.")
    if row.name == "technogym" and not (row.application_id and row.integration_user and row.password_encrypted):
        return _l("Give TechnoGym's application id, the integration user and its password first.")
    if row.legal_basis == "contract" and not row.processing_agreement:
        return _l("The legal basis 'contract' needs the processing agreement recorded (its reference or date).")
    return None


def client(row: Connector):
    """The partner's client; PartnerError 'keyUnreadable' (parked, shown) when this installation's key cannot open the API key."""
    try:
        api_key = secretbox.open_sealed(row.api_key_encrypted or "")
        password = secretbox.open_sealed(row.password_encrypted) if row.name == "technogym" else ""
    except secretbox.SecretError:
        raise egym.PartnerError(0, "keyUnreadable", False) from None
    timeout = installation.connector_timeout(egym.TIMEOUT_DEFAULT)
    if row.name == "technogym":
        return technogym.TechnogymClient(row.base_url, row.application_id or "", api_key, row.integration_user or "",
                                         password, timeout=timeout)
    return egym.EgymClient(row.base_url, api_key, timeout=timeout)


def test_connection(row: Connector) -> str | None:
    """Call the partner once; None when it answered, else eGym's error code (or 'unreachable'). Records the result."""
    problem = None
    try:
        client(row).test()
    except egym.PartnerError as error:
        problem = error.code
    row.last_test_at = clock.utcnow()
    row.last_test_ok = problem is None
    db.session.flush()
    return problem


# --- eligibility ------------------------------------------------------------------------------

def eligible_clause(row: Connector):
    """SQL condition on Member: may this member's data go to this connector now?

    The partner-processing rule (no restriction, no objection, not anonymised), an active
    membership (or an ended one the partner already knows: it must hear the end date), no
    opt-out, the legal basis (consent for this partner, or the processing agreement), the plans.
    """
    spec = declaration(row.name)
    known = exists().where(ConnectorMember.connector == row.name, ConnectorMember.member_id == Member.id,
                           ConnectorMember.account_id.is_not(None))
    opted_out = exists().where(ConnectorMember.connector == row.name, ConnectorMember.member_id == Member.id,
                               ConnectorMember.opted_out.is_(True))
    if row.legal_basis == "consent":
        basis = exists().where(Consent.member_id == Member.id, Consent.purpose == spec.consent_purpose,
                               Consent.withdrawn_at.is_(None))
    else:
        basis = true() if row.processing_agreement else false()
    conditions = [
        partner_processing_clause(),
        or_(Member.status == "active", and_(Member.status == "ended", known)),
        ~opted_out,
        basis,
    ]
    if row.plan_list:
        conditions.append(plans.in_chosen_plans(row.plan_list))
    return and_(*conditions)


def is_eligible(row: Connector, member_id: int) -> bool:
    return db.session.scalar(select(Member.id).where(Member.id == member_id, eligible_clause(row))) is not None


def member_link(name: str, member_id: int, *, create: bool = False) -> ConnectorMember | None:
    link = db.session.get(ConnectorMember, (name, member_id))
    if link is None and create:
        link = ConnectorMember(connector=name, member_id=member_id, state="pending", fields="", opted_out=False)
        db.session.add(link)
        db.session.flush()
    return link


def _refuse_anonymised(member: Member) -> None:
    """An anonymised member is gone for the partners too: no link or choice of theirs is kept again."""
    if member.is_anonymised:
        raise ConnectorError(_l("Member %(number)s has been anonymised: nothing about them goes to a partner any more.",
                                number=member.member_number))


def link_candidate(member: Member, name: str, account_id: str, *, actor) -> None:
    """Staff chose which of the partner's candidates is this member: link it and send again. Flushes."""
    from app.services.connectors import outbox

    declaration(name)
    _refuse_anonymised(member)
    link = member_link(name, member.id)
    offered = (link.candidates or "").split(",") if link else []
    if not account_id or account_id not in offered:
        raise ConnectorError(_l("Choose one of the candidates the partner offered."), field="account_id")
    link.account_id, link.candidates, link.state, link.error_code = account_id, None, "pending", None
    db.session.execute(
        OutboxEvent.__table__.update().where(OutboxEvent.connector == name, OutboxEvent.member_id == member.id,
                                             OutboxEvent.state == "parked")
        .values(state="pending", attempts=0, next_attempt_at=clock.utcnow()))
    outbox.write(db.session.connection(), [name], {member.id: "changed"})
    db.session.info.setdefault("outbox_kick", set()).add(name)
    db.session.flush()
    audit.record("integrations.link_candidate", actor, target_type="member", target_id=member.id,
                 member_number=member.member_number, details={"connector": name})


def set_opt_out(member: Member, name: str, opted_out: bool, *, actor, source_ip: str | None = None) -> None:
    """The member does (not) want their data to go to this partner; always respected. Flushes."""
    declaration(name)
    _refuse_anonymised(member)
    link = member_link(name, member.id, create=True)
    if link.opted_out == opted_out:
        return
    link.opted_out = opted_out
    db.session.flush()
    audit.record("integrations.opt_out" if opted_out else "integrations.opt_in", actor, target_type="member",
                 target_id=member.id, member_number=member.member_number, details={"connector": name},
                 source_ip=source_ip)
