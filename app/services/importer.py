"""Importing members from the software a club leaves: a CSV file, checked row by row.

The flow (pages, CLI and the job worker all call these functions):
1. `receive(raw, actor)` keeps the uploaded bytes in instance/imports/ (0600, named by a
   random token) and a `MemberImport` row with the column names, the encoding and the
   separator it detected, and a mapping: the one last used for the same columns, or guessed.
2. `preview(imp)` reads the file with that mapping and checks every row exactly as the
   member form checks it (`member_rules.check_member`, `members.check_subscription`), plus
   what only an import can get wrong: the old member number, a number twice in the file, a
   number used by a member registered here, and a number the erasure ledger knows.
3. `run(imp, actor)` writes the valid rows in chunks (a generator: the caller commits after
   each chunk, so progress is visible and a 100,000-row file is not one transaction) and
   writes the refused rows with a reason column to a file staff can download once.
   `cancel(imp)` imports nothing. Both delete the uploaded file: personal data does not linger.

Idempotent by the old system's member number: an imported member keeps it as member number
(and as `ImportedMember.external_ref`), so the same file twice changes nothing the second
time, and a changed row goes through `members.update_member`, whose audit event names the
fields that changed. The erasure ledger holds keyed hashes of member numbers only (no names,
no dates of birth), so "identity" here is that number: a row whose number the ledger knows is
refused with the date of the erasure.
"""

import csv
import hashlib
import io
import json
import os
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select, update
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import Consent, Counter, ErasureRecord, ImportedMember, Member, MemberImport, Subscription
from app.models.member import ANONYMISED, CONSENT_PURPOSES
from app.services import audit, clock, installation, ledger, member_rules, members, plans, signals
from app.services.errors import DomainError

CHUNK = 1000
PREVIEW_ROWS = 200
STALE_AFTER = timedelta(hours=24)
MAX_COLUMNS = 100
REASON_COLUMN = "reden / reason"
COUNT_COLUMNS = {"create": "created_count", "update": "updated_count", "unchanged": "unchanged_count",
                 "refused": "refused_count"}

MEMBER_FIELDS = ("first_name", "infix", "last_name", "date_of_birth", "gender", "email", "phone", "street",
                 "house_number", "postcode", "city", "country", "iban", "joined_on")
SUBSCRIPTION_FIELDS = ("plan", "plan_starts_on", "monthly_fee")
CONSENT_FIELDS = tuple(f"consent_{purpose}" for purpose in CONSENT_PURPOSES)
FIELDS = ("member_number", *MEMBER_FIELDS, *SUBSCRIPTION_FIELDS, *CONSENT_FIELDS)

FIELD_LABELS = {
    "member_number": _l("Member number in the old system (required)"),
    "first_name": _l("First name"), "infix": _l("Infix (e.g. van der)"), "last_name": _l("Last name"),
    "date_of_birth": _l("Date of birth"), "gender": _l("Gender"), "email": _l("Email"), "phone": _l("Phone"),
    "street": _l("Street"), "house_number": _l("House number"), "postcode": _l("Postcode"), "city": _l("City"),
    "country": _l("Country"), "iban": _l("IBAN"), "joined_on": _l("Member since"),
    "plan": _l("Plan (name in the catalogue)"), "plan_starts_on": _l("Plan starts on"),
    "monthly_fee": _l("Monthly fee"),
    **{f"consent_{p}": _l("Consent: %(purpose)s", purpose=members.CONSENT_LABELS[p]) for p in CONSENT_PURPOSES},
}

# Column names seen in Dutch and English exports, folded (lower case, no accents, no spaces).
GUESSES = {
    "member_number": ("klantnummer", "lidnummer", "lidnr", "klantnr", "nummer", "membernumber", "memberno", "number"),
    "first_name": ("voornaam", "firstname", "roepnaam"),
    "infix": ("tussenvoegsel", "tussenvoegsels", "infix", "prefix"),
    "last_name": ("achternaam", "lastname", "surname", "familienaam"),
    "date_of_birth": ("geboortedatum", "dateofbirth", "birthdate", "dob"),
    "gender": ("geslacht", "gender", "sex"),
    "email": ("email", "emailadres", "mail"),
    "phone": ("telefoon", "telefoonnummer", "mobiel", "phone", "tel", "mobile"),
    "street": ("straat", "street", "adres"),
    "house_number": ("huisnummer", "housenumber", "nr"),
    "postcode": ("postcode", "zipcode", "zip", "postalcode"),
    "city": ("plaats", "woonplaats", "city", "town"),
    "country": ("land", "country"),
    "iban": ("iban", "rekeningnummer", "bankrekening"),
    "joined_on": ("lidsinds", "inschrijfdatum", "startdatum", "membersince", "joined"),
    "plan": ("abonnement", "plan", "subscription"),
    "plan_starts_on": ("ingangsdatum", "abonnementstart", "planstart"),
    "monthly_fee": ("maandbedrag", "bedrag", "contributie", "fee", "monthlyfee"),
    **{f"consent_{p}": (f"toestemming{p}", f"consent{p}", p) for p in CONSENT_PURPOSES},
    "consent_newsletter": ("toestemmingnieuwsbrief", "nieuwsbrief", "consentnewsletter", "newsletter"),
    "consent_photos": ("toestemmingfotos", "fotos", "consentphotos", "photos"),
}

YES = {"ja", "j", "yes", "y", "1", "x", "true", "waar", "given", "gegeven"}
NO = {"nee", "n", "no", "0", "false", "onwaar", "withdrawn", "ingetrokken"}
GENDER_WORDS = {"m": "male", "man": "male", "male": "male", "v": "female", "vrouw": "female", "f": "female",
                "female": "female", "x": "other", "anders": "other", "other": "other", "o": "other"}
COUNTRY_WORDS = {"nederland": "NL", "netherlands": "NL", "belgie": "BE", "belgium": "BE", "duitsland": "DE",
                 "germany": "DE", "frankrijk": "FR", "france": "FR", "verenigdkoninkrijk": "GB", "spanje": "ES",
                 "spain": "ES", "polen": "PL", "poland": "PL"}
DATE_FORMATS = ("%d-%m-%Y", "%d/%m/%Y", "%d.%m.%Y", "%Y-%m-%d")
LOOKS_LIKE_DATA = re.compile(r"@|^\+?[\d\s./-]{4,}$")


class MemberImportError(DomainError):
    """The file or the request cannot be imported as it is; the message says why."""


class RowError(Exception):
    """One row is refused: the reason goes in the preview and the refused-rows file."""

    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


def fold(text: str) -> str:
    return re.sub(r"[\s_.\-/]+", "", members.fold(text))


# --- the file ------------------------------------------------------------------------------

def _folder() -> Path:
    folder = installation.imports_dir()
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


def upload_path(imp: MemberImport) -> Path:
    return _folder() / f"{imp.token}.csv"


def refused_path(imp: MemberImport) -> Path:
    return _folder() / f"{imp.token}-refused.csv"


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def decode(raw: bytes) -> tuple[str, str]:
    """The text and its encoding: UTF-8 (with or without BOM) when it decodes, else Windows-1252."""
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8", errors="replace"), "utf-8"
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        # Windows-1252 leaves five bytes undefined; Latin-1 reads those as what they most likely were.
        try:
            return raw.decode("cp1252"), "cp1252"
        except UnicodeDecodeError:
            return raw.decode("latin-1"), "cp1252"


def sniff_delimiter(first_line: str) -> str:
    counts = {sep: first_line.count(sep) for sep in (";", ",", "\t")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ";"


def _rows(text: str, delimiter: str) -> Iterator[list[str]]:
    return csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)


def header_key(headers: list[str]) -> str:
    return hashlib.sha256("\x1f".join(fold(h) for h in headers).encode()).hexdigest()


def guess_mapping(headers: list[str]) -> dict[str, str]:
    mapping, taken = {}, set()
    for header in headers:
        folded = fold(header)
        for target, words in GUESSES.items():
            if target not in taken and folded in words:
                mapping[header] = target
                taken.add(target)
                break
    return mapping


def _read_file(imp: MemberImport) -> tuple[list[str], Iterator[list[str]]]:
    path = upload_path(imp)
    if not path.exists():
        raise MemberImportError(_l("The uploaded file is no longer there (imports are deleted after 24 hours); upload it again."),
                           "gone")
    text, _encoding = decode(path.read_bytes())
    rows = _rows(text, imp.delimiter)
    headers = next(rows, [])
    return headers, rows


def receive(raw: bytes, *, actor, locale: str = "nl") -> MemberImport:
    """Keep an uploaded file for the preview; refuse what is not a member list we can read."""
    purge_stale()
    if not raw.strip():
        raise MemberImportError(_l("The file is empty."), "empty", field="file")
    if b"\0" in raw[:4096]:
        raise MemberImportError(_l("This is not a CSV file (a spreadsheet saved as .xlsx?). Save it as CSV first."),
                           "not_csv", field="file")
    text, encoding = decode(raw)
    first_line = text.split("\n", 1)[0]
    delimiter = sniff_delimiter(first_line)
    headers = [h.strip() for h in next(_rows(text, delimiter), [])]
    if len(headers) < 2 or len(headers) > MAX_COLUMNS:
        raise MemberImportError(_l("The first row must name the columns, separated by ; (or ,)."), "no_header", field="file")
    if any(LOOKS_LIKE_DATA.search(h) for h in headers) or len(set(headers)) != len(headers) or not all(headers):
        # Column names are kept (to remember the mapping); a row of data must not be.
        raise MemberImportError(_l("The first row must name the columns (each once); this one looks like a member's data."),
                           "no_header", field="file")
    headers = [h[:80] for h in headers]
    key = header_key(headers)
    previous = db.session.scalar(select(MemberImport.mapping).where(MemberImport.header_key == key)
                                 .order_by(MemberImport.id.desc()).limit(1))
    mapping = json.loads(previous) if previous else guess_mapping(headers)
    imp = MemberImport(token=secrets.token_hex(16), status="uploaded", created_by_id=getattr(actor, "id", None),
                       header_key=key, headers=json.dumps(headers), mapping=json.dumps(mapping), encoding=encoding,
                       delimiter=delimiter, locale=locale)
    db.session.add(imp)
    db.session.flush()
    _write_private(upload_path(imp), raw)
    audit.record("member_import.upload", actor, target_type="member_import", target_id=imp.id,
                 details={"columns": len(headers), "encoding": encoding})
    return imp


def headers_of(imp: MemberImport) -> list[str]:
    return json.loads(imp.headers)


def mapping_of(imp: MemberImport) -> dict[str, str]:
    return json.loads(imp.mapping)


def set_mapping(imp: MemberImport, mapping: dict[str, str], *, actor) -> None:
    """Which column feeds which field; remembered for the next file with the same columns."""
    _require_open(imp)
    headers = set(headers_of(imp))
    clean = {col: target for col, target in mapping.items() if col in headers and target in FIELDS}
    targets = list(clean.values())
    if len(targets) != len(set(targets)):
        raise MemberImportError(_l("Each field can come from one column only."), "mapping", field="mapping")
    for required in ("member_number", "first_name", "last_name"):
        if required not in targets:
            raise MemberImportError(_l("Choose the column for: %(field)s.", field=FIELD_LABELS[required]), "mapping",
                               field="mapping")
    imp.mapping = json.dumps(clean, sort_keys=True)
    db.session.flush()


def load_mapping_file(path: str | Path) -> dict[str, str]:
    """A mapping file for the CLI: {"column name": "field", ...} (or {"mapping": {...}})."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise MemberImportError(f"cannot read the mapping file: {error.__class__.__name__}", "mapping") from None
    data = data.get("mapping", data) if isinstance(data, dict) else None
    if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
        raise MemberImportError('the mapping file must be a JSON object {"column": "field", ...}', "mapping")
    unknown = sorted(v for v in data.values() if v not in FIELDS)
    if unknown:
        raise MemberImportError(f"unknown field(s) in the mapping: {', '.join(unknown)}; known: {', '.join(FIELDS)}",
                           "mapping")
    return data


def _require_open(imp: MemberImport) -> None:
    if imp.status != "uploaded":
        raise MemberImportError(_l("This import has already been carried out or cancelled."), "not_open")


# --- reading one row -------------------------------------------------------------------------

DMY = re.compile(r"(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})")


def parse_date(text: str) -> date | None:
    text = text.strip()
    if not text:
        return None
    match = DMY.fullmatch(text)
    if match:  # the usual dd-mm-jjjj, without strptime's cost
        try:
            value = date(int(match.group(3)), int(match.group(2)), int(match.group(1)))
        except ValueError:
            raise RowError(_l("%(value)s is not a date like 31-12-1990.", value=text[:20])) from None
        if 1900 <= value.year <= 2199:
            return value
        raise RowError(_l("%(value)s is not a date like 31-12-1990.", value=text[:20]))
    for fmt in DATE_FORMATS:
        try:
            value = datetime.strptime(text, fmt).date()  # noqa: DTZ007 - a calendar date, no time zone
        except ValueError:
            continue
        if not 1900 <= value.year <= 2199:
            break
        return value
    raise RowError(_l("%(value)s is not a date like 31-12-1990.", value=text[:20]))


def parse_amount(text: str) -> Decimal | None:
    """'34,95', '1.234,56', '€ 34,95' and '34.95' are amounts; anything else is refused."""
    text = text.replace("€", "").replace("EUR", "").replace(" ", "").strip()
    if not text:
        return None
    if "," in text:
        text = text.replace(".", "").replace(",", ".")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise RowError(_l("%(value)s is not an amount like 34,95.", value=text[:20])) from None
    if not value.is_finite() or not Decimal(0) <= value <= Decimal(10000):
        raise RowError(_l("Enter an amount between 0 and 10,000."))
    return value.quantize(Decimal("0.01"))


def _member_number(text: str) -> int:
    digits = text.strip().lstrip("#")
    if not digits:
        raise RowError(_l("The member number is missing."))
    number = members.parse_member_number(digits)
    if number is None:
        raise RowError(_l("%(value)s is not a member number (whole number, 1 to 2147483647).", value=digits[:20]))
    return number


def _country(text: str) -> str:
    text = text.strip()
    if not text:
        return "NL"
    if len(text) == 2 and text.isalpha():
        return text.upper()
    code = COUNTRY_WORDS.get(fold(text))
    if code is None:
        raise RowError(_l("%(value)s is not a country this import knows; use the two-letter code (NL, BE, DE).",
                          value=text[:30]))
    return code


def _consent(text: str, today: date):
    """None (nothing said), ('given', date) or ('withdrawn', None)."""
    word = text.strip().casefold()
    if not word:
        return None
    if word in YES:
        return ("given", today)
    if word in NO:
        return ("withdrawn", None)
    return ("given", parse_date(text))


@dataclass
class Row:
    number: int
    line: int
    cells: list[str]
    member: dict = field(default_factory=dict)
    plan: object = None
    plan_starts_on: date | None = None
    monthly_fee: Decimal | None = None
    consents: dict = field(default_factory=dict)
    mapped: frozenset = frozenset()


class Checker:
    """Turns the cells of a row into checked member data, with the mapping and catalogue read once."""

    def __init__(self, imp: MemberImport):
        headers = headers_of(imp)
        self.columns = {target: headers.index(col) for col, target in mapping_of(imp).items() if col in headers}
        self.width = len(headers)
        self.plans = {plans.fold(p.name): p for p in plans.all_plans()}
        for plan in plans.all_plans():
            if plan.name_en:
                self.plans.setdefault(plans.fold(plan.name_en), plan)
        self.today = clock.today()
        self.mapped = frozenset(self.columns)

    def cell(self, cells: list[str], target: str) -> str:
        index = self.columns.get(target)
        if index is None or index >= len(cells):
            return ""
        value = cells[index]
        if not value.isprintable():  # no control characters (NUL cannot even be stored)
            value = "".join(ch for ch in value if ch.isprintable())
        return value.strip()

    def check(self, cells: list[str], line: int) -> Row:
        cell = self.cell
        row = Row(number=_member_number(cell(cells, "member_number")), line=line, cells=cells, mapped=self.mapped)
        data = {name: cell(cells, name) or None for name in MEMBER_FIELDS if name in self.columns}
        for name in ("date_of_birth", "joined_on"):
            if name in data:
                data[name] = parse_date(data[name] or "")
        if "gender" in data and data["gender"]:
            gender = GENDER_WORDS.get(data["gender"].casefold())
            if gender is None:
                raise RowError(_l("%(value)s is not a gender this import knows (m, v, x).", value=data["gender"][:20]))
            data["gender"] = gender
        if "country" in data:
            data["country"] = _country(data["country"] or "")
        try:
            clean = member_rules.check_member(data)
        except member_rules.MemberFieldError as error:
            raise RowError(_l("%(field)s: %(reason)s", field=FIELD_LABELS[error.field], reason=error.message)) from None
        if clean["joined_on"] is None:
            clean["joined_on"] = self.today
        row.member = {name: clean[name] for name in MEMBER_FIELDS if name in self.columns or name in ("joined_on",
                                                                                                   "country")}
        plan_name = cell(cells, "plan")
        if plan_name:
            plan = self.plans.get(plans.fold(plan_name))
            if plan is None:
                raise RowError(_l("There is no plan called %(name)s in the catalogue.", name=plan_name[:80]))
            row.plan = plan
            row.plan_starts_on = parse_date(cell(cells, "plan_starts_on")) or clean["joined_on"]
            fee = parse_amount(cell(cells, "monthly_fee"))
            try:
                row.monthly_fee = members.check_subscription(plan, row.plan_starts_on, None, fee)
            except members.MemberError as error:
                raise RowError(error.message) from None
        for purpose in CONSENT_PURPOSES:
            said = _consent(cell(cells, f"consent_{purpose}"), self.today)
            if said is not None:
                row.consents[purpose] = said
        return row


# --- deciding per row ------------------------------------------------------------------------

@dataclass
class Outcome:
    line: int
    number: int | None
    action: str  # create, update, unchanged, refused
    reason: str = ""
    name: str = ""
    changed: list = field(default_factory=list)


def _local_day(moment: datetime) -> str:
    from datetime import UTC

    return moment.replace(tzinfo=UTC).astimezone(clock.LOCAL_ZONE).strftime("%d-%m-%Y")


def erased_on_map() -> dict[str, datetime]:
    """member key -> when it was erased, from the ledger table and the ledger file."""
    found = dict(db.session.execute(select(ErasureRecord.member_key, ErasureRecord.erased_at)).all())
    for entry in ledger.read_file():
        found.setdefault(entry.member_key, entry.erased_at)
    return found


class Planner:
    """Decides create / update / unchanged / refused for chunks of checked rows (set-based lookups)."""

    def __init__(self, imp: MemberImport):
        self.imp = imp
        self.checker = Checker(imp)
        self.erased = erased_on_map()
        self.key = ledger.ledger_key()
        self.seen: set[int] = set()

    def decide(self, chunk: list[tuple[int, list[str]]]) -> list[tuple[Outcome, Row | None, Member | None]]:
        checked = []
        for line, cells in chunk:
            try:
                checked.append((line, cells, self.checker.check(cells, line), None))
            except RowError as error:
                checked.append((line, cells, None, str(error.message)))
        numbers = [row.number for _l_, _c, row, _e in checked if row is not None]
        existing = {}
        imported = set()
        for start in range(0, len(numbers), 500):
            part = numbers[start:start + 500]
            for member in db.session.scalars(select(Member).where(Member.member_number.in_(part))
                                             .options(selectinload(Member.subscriptions), selectinload(Member.consents))):
                existing[member.member_number] = member
        if existing:
            ids = [m.id for m in existing.values()]
            for start in range(0, len(ids), 500):
                imported.update(db.session.scalars(select(ImportedMember.member_id)
                                                   .where(ImportedMember.member_id.in_(ids[start:start + 500]))))
        keys = dict(zip(numbers, ledger.member_keys(numbers, self.key), strict=True)) if numbers else {}
        results = []
        for line, cells, row, error in checked:
            if row is None:
                number = self.checker.cell(cells, "member_number")
                results.append((Outcome(line, members.parse_member_number(number),
                                        "refused", error), None, None))
                continue
            outcome = Outcome(line, row.number, "create",
                              name=" ".join(p for p in (row.member.get("first_name"), row.member.get("infix"),
                                                        row.member.get("last_name")) if p))
            erased_at = self.erased.get(keys[row.number])
            member = existing.get(row.number)
            if row.number in self.seen:
                outcome.action, outcome.reason = "refused", str(_l("This member number appears twice in the file."))
            elif erased_at is not None:
                outcome.action = "refused"
                outcome.reason = str(_l("Member %(number)s was erased on %(date)s; an import does not bring "
                                        "erased members back.", number=row.number,
                                        date=_local_day(erased_at)))
            elif member is not None and member.id not in imported:
                outcome.action = "refused"
                outcome.reason = str(_l("Member number %(number)s is already used by a member registered in "
                                        "Clubhouse.", number=row.number))
            elif member is not None:
                outcome.changed = self._changes(member, row)
                if not outcome.changed:
                    outcome.action = "unchanged"
                elif member.is_anonymised:
                    outcome.action, outcome.reason = "refused", str(members._REFUSALS[ANONYMISED])
                elif member.processing_restricted:
                    outcome.action = "refused"
                    outcome.reason = str(_l("Processing of this member's data is restricted; change it on the "
                                            "member page."))
                else:
                    outcome.action = "update"
            self.seen.add(row.number)
            results.append((outcome, row, member))
        return results

    @staticmethod
    def _changes(member: Member, row: Row) -> list[str]:
        changed = [name for name, value in row.member.items()
                   if name in row.mapped and getattr(member, name) != value]
        if row.plan is not None and not any(s.plan_id == row.plan.id and s.starts_on == row.plan_starts_on
                                            for s in member.subscriptions):
            changed.append("subscription")
        for purpose, (state, _when) in row.consents.items():
            active = members.active_consent(member, purpose)
            if (state == "given") != (active is not None):
                changed.append(f"consent_{purpose}")
        return changed


def _chunks(imp: MemberImport) -> Iterator[list[tuple[int, list[str]]]]:
    _headers, rows = _read_file(imp)
    chunk = []
    for line, cells in enumerate(rows, start=2):
        if not any(c.strip() for c in cells):
            continue
        chunk.append((line, cells))
        if len(chunk) >= CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


@dataclass
class Preview:
    counts: dict
    rows: list[Outcome]
    total: int  # rows in the file
    refused_csv: bytes | None = None
    checked: int = 0  # rows checked (all of them unless a limit was given)


def count_rows(imp: MemberImport) -> int:
    """The file's rows (not empty), without checking them."""
    return sum(len(chunk) for chunk in _chunks(imp))


def preview(imp: MemberImport, *, refused_file: bool = False, limit: int | None = None) -> Preview:
    """Rows checked, nothing written: the counts, and the refused and first rows to show.

    With `limit` only the first rows are checked (the page, so a 100,000-row file answers within a
    request's time; the import checks every row again anyway). With `refused_file` the refused
    rows also come back as CSV (the CLI's --dry-run writes it).
    """
    planner = Planner(imp)
    counts = {"create": 0, "update": 0, "unchanged": 0, "refused": 0}
    shown: list[Outcome] = []
    refused: list[list[str]] = []
    total = checked = 0
    with force_locale(imp.locale):
        for chunk in _chunks(imp):
            total += len(chunk)
            if limit is not None and checked >= limit:
                continue
            by_line = dict(chunk)
            for outcome, _row, _member in planner.decide(chunk):
                counts[outcome.action] += 1
                checked += 1
                if len(shown) < PREVIEW_ROWS and (outcome.action != "unchanged"):
                    shown.append(outcome)
                if refused_file and outcome.action == "refused":
                    refused.append(_refused_cells(imp, by_line[outcome.line], outcome.reason))
    shown.sort(key=lambda o: (o.action != "refused", o.line))
    return Preview(counts, shown, total, _refused_csv(imp, refused) if refused else None, checked)


def _refused_cells(imp: MemberImport, cells: list[str], reason: str) -> list[str]:
    width = len(headers_of(imp))
    return [*(cells + [""] * width)[:width], reason]


def _refused_csv(imp: MemberImport, rows: list[list[str]]) -> bytes:
    """The refused rows as CSV (UTF-8 with BOM, ';'), the original columns and a reason column."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow([*headers_of(imp), REASON_COLUMN])
    for cells in rows:
        writer.writerow([_defuse(c) for c in cells])
    return out.getvalue().encode("utf-8-sig")


# --- carrying it out ---------------------------------------------------------------------------

def queue(imp: MemberImport, *, actor) -> None:
    """Mark the import for the job worker (the caller commits, then kicks the queue)."""
    _require_open(imp)
    imp.status = "queued"
    audit.record("member_import.queue", actor, target_type="member_import", target_id=imp.id)
    db.session.flush()


def run(imp: MemberImport, *, actor) -> Iterator[MemberImport]:
    """Import the valid rows chunk by chunk; yields after each chunk so the caller commits it.

    Refused rows go to `refused_path(imp)` with the original columns and a reason. At the end the
    uploaded file is deleted. A crash halfway leaves the committed chunks (a re-run of the same
    file skips them as unchanged) and the import marked failed.
    """
    if imp.status not in ("uploaded", "queued"):
        raise MemberImportError(_l("This import has already been carried out or cancelled."), "not_open")
    imp.status = "running"
    imp.total_rows = count_rows(imp)
    db.session.flush()
    yield imp
    refused_rows: list[list[str]] = []
    with force_locale(imp.locale):
        planner = Planner(imp)
        for chunk in _chunks(imp):
            decided = planner.decide(chunk)
            _write_chunk(imp, decided, actor)
            by_line = dict(chunk)
            for outcome, _row, _member in decided:
                if outcome.action == "refused":
                    refused_rows.append(_refused_cells(imp, by_line[outcome.line], outcome.reason))
                counter = COUNT_COLUMNS[outcome.action]
                setattr(imp, counter, getattr(imp, counter) + 1)
            imp.processed_rows += len(chunk)
            db.session.flush()
            yield imp
    if refused_rows:
        _write_private(refused_path(imp), _refused_csv(imp, refused_rows))
        imp.has_refused_file = True
    _bump_counter()
    upload_path(imp).unlink(missing_ok=True)
    imp.status = "done"
    imp.finished_at = clock.utcnow()
    audit.record("member_import.done", actor, target_type="member_import", target_id=imp.id,
                 details={"created": imp.created_count, "updated": imp.updated_count,
                          "unchanged": imp.unchanged_count, "refused": imp.refused_count})
    db.session.flush()
    yield imp


def run_all(imp: MemberImport, *, actor, commit) -> MemberImport:
    """run() with `commit` called after each chunk (the CLI and the job worker)."""
    try:
        for _ in run(imp, actor=actor):
            commit()
    except Exception:
        db.session.rollback()
        fail(imp)
        commit()
        raise
    return imp


def fail(imp: MemberImport) -> None:
    imp = db.session.get(MemberImport, imp.id)
    if imp is not None and imp.status != "done":
        imp.status = "failed"
        imp.error = "the import stopped; the rows already imported stay, run the same file again"
        upload_path(imp).unlink(missing_ok=True)
        db.session.flush()


def _defuse(value: str) -> str:
    """A cell a spreadsheet would run as a formula gets a leading quote."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _write_chunk(imp: MemberImport, decided, actor) -> None:
    now = clock.utcnow()
    new = [(outcome, row) for outcome, row, _m in decided if outcome.action == "create"]
    if new:
        member_rows = []
        for _outcome, row in new:
            values = {name: None for name in MEMBER_FIELDS}
            values.update(row.member)
            values.setdefault("country", "NL")
            values["country"] = values["country"] or "NL"
            values.update(member_number=row.number, status="active", processing_restricted=False,
                          created_at=now, updated_at=now)
            values["search_text"] = members.search_text_for(_Shape(values))
            member_rows.append(values)
        db.session.execute(Member.__table__.insert(), member_rows)
        ids = dict(db.session.execute(select(Member.member_number, Member.id).where(
            Member.member_number.in_([row.number for _o, row in new]))).all())
        db.session.execute(ImportedMember.__table__.insert(), [
            {"member_id": ids[row.number], "external_ref": str(row.number), "import_id": imp.id, "imported_at": now}
            for _o, row in new])
        subscriptions = [{"member_id": ids[row.number], "plan_id": row.plan.id, "starts_on": row.plan_starts_on,
                          "ends_on": None, "monthly_fee": row.monthly_fee, "status": "active", "created_at": now}
                         for _o, row in new if row.plan is not None]
        if subscriptions:
            db.session.execute(Subscription.__table__.insert(), subscriptions)
        consents = [{"member_id": ids[row.number], "purpose": purpose, "given_at": _at(when, now),
                     "given_via": "import", "recorded_by_id": getattr(actor, "id", None)}
                    for _o, row in new for purpose, (state, when) in row.consents.items() if state == "given"]
        if consents:
            db.session.execute(Consent.__table__.insert(), consents)
        audit.record("member.import", actor, target_type="member_import", target_id=imp.id,
                     details={"created": sorted(row.number for _o, row in new)})
        # The Core insert bypasses the ORM's flush, which queues the partner deliveries of a member made
        # on the form: the chunk's new members are queued here, in bulk and in the same transaction.
        # (A changed row goes through members.update_member, and that flush queues it.)
        signals.members_changed.send(imp, member_ids=sorted(ids.values()), kind="created")
    for outcome, row, member in decided:
        if outcome.action == "update":
            _update(member, row, outcome.changed, actor=actor, now=now)


def _update(member: Member, row: Row, changed: list[str], *, actor, now) -> None:
    fields = {name: row.member[name] for name in changed if name in row.member}
    if fields:
        members.update_member(member, fields, actor=actor)
    if "subscription" in changed:
        members.add_subscription(member, plan=row.plan, starts_on=row.plan_starts_on, monthly_fee=row.monthly_fee,
                                 actor=actor)
    for purpose, (state, when) in row.consents.items():
        if f"consent_{purpose}" not in changed:
            continue
        active = members.active_consent(member, purpose)
        if state == "given" and active is None:
            consent = members.record_consent(member, purpose, via="import", actor=actor)
            consent.given_at = _at(when, now)
        elif state == "withdrawn" and active is not None:
            members.withdraw_consent(active, via="import", actor=actor)
    db.session.flush()


def _at(day: date | None, now: datetime) -> datetime:
    return now if day is None or day == now.date() else datetime.combine(day, datetime.min.time())


class _Shape:
    """Attribute access to a dict, for members.search_text_for on a row not yet a Member."""

    def __init__(self, values: dict):
        self.__dict__.update(values)


def _bump_counter() -> None:
    """New member numbers continue above the highest imported one (and its high-water mark)."""
    from app.services import high_water

    top = db.session.scalar(select(db.func.max(Member.member_number)))
    if not top:
        return
    counter = db.session.execute(select(Counter).where(Counter.name == "member_number").with_for_update()
                                 ).scalar_one_or_none()
    if counter is None:
        db.session.add(Counter(name="member_number", value=max(top, 1000)))
        db.session.flush()
    elif counter.value < top:
        db.session.execute(update(Counter).where(Counter.name == "member_number").values(value=top))
        db.session.flush()
    with high_water.guard() as marks:
        marks["member_number"] = max(marks.get("member_number", 0), top)


def cancel(imp: MemberImport, *, actor) -> None:
    """Import nothing: the uploaded file is deleted."""
    _require_open(imp)
    upload_path(imp).unlink(missing_ok=True)
    imp.status = "cancelled"
    imp.finished_at = clock.utcnow()
    audit.record("member_import.cancel", actor, target_type="member_import", target_id=imp.id)
    db.session.flush()


def take_refused_file(imp: MemberImport) -> bytes | None:
    """The refused rows, handed out once: the file is deleted as it is read."""
    path = refused_path(imp)
    if not path.exists():
        return None
    data = path.read_bytes()
    path.unlink(missing_ok=True)
    imp.has_refused_file = False
    db.session.flush()
    return data


def purge_stale() -> int:
    """Delete upload and refused files older than 24 hours (someone walked away from the preview)."""
    folder = _folder()
    limit = datetime.now().timestamp() - STALE_AFTER.total_seconds()  # noqa: DTZ005 - compared with file times
    removed = 0
    for path in folder.glob("*.csv"):
        try:
            if path.stat().st_mtime < limit:
                path.unlink()
                removed += 1
        except FileNotFoundError:
            continue
    if removed:
        stale = clock.utcnow() - STALE_AFTER
        db.session.execute(update(MemberImport).where(MemberImport.status == "uploaded",
                                                      MemberImport.created_at < stale).values(status="cancelled"))
        db.session.execute(update(MemberImport).where(MemberImport.created_at < stale)
                           .values(has_refused_file=False))
    return removed


def recent(limit: int = 10) -> list[MemberImport]:
    return list(db.session.scalars(select(MemberImport).order_by(MemberImport.id.desc()).limit(limit)))


def get(import_id) -> MemberImport | None:
    try:
        number = int(import_id)
    except (TypeError, ValueError):
        return None
    if not 0 < number <= members.MAX_MEMBER_NUMBER:
        return None
    return db.session.get(MemberImport, number)


@signals.erasing.connect
def _forget_external_refs(_sender, member_ids=(), **_kwargs) -> None:
    """An erased member's old-system reference goes too (the ledger keeps its number's hash)."""
    from app.services import erasure

    db.session.execute(delete(ImportedMember).where(ImportedMember.member_id.in_(erasure._batch_ids())),
                       execution_options={"synchronize_session": False})  # the staged ids: member_ids


# --- the job queue ---------------------------------------------------------------------------

def register_tasks(huey, app) -> dict:
    @huey.task(name="members.import")
    def import_task(import_id: int):
        with app.app_context():
            imp = db.session.get(MemberImport, import_id)
            if imp is None or imp.status != "queued":
                return
            actor = db.session.get(_user_model(), imp.created_by_id) if imp.created_by_id else None
            run_all(imp, actor=actor, commit=db.session.commit)

    return {"import": import_task}


def _user_model():
    from app.models import User

    return User


def kick(app, imp: MemberImport) -> bool:
    """Hand a queued import to the job worker; False when the queue is unavailable."""
    from app.services import jobqueue

    try:
        jobqueue.get(app)
        app.extensions["huey_tasks"]["import"](imp.id)
        return True
    except Exception:  # noqa: BLE001 - the page says the import waits; nothing is lost
        return False
