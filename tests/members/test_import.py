"""The member import (issue 19): a club's export with bad rows and an erased member, pages, CLI, queue."""

import io
import json
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, Consent, ImportedMember, MemberImport, Subscription
from app.services import erasure, importer, jobqueue
from app.services import members as member_service

HEADER = ["Klantnummer", "Voornaam", "Tussenvoegsel", "Achternaam", "Geboortedatum", "E-mail", "Telefoon",
          "Postcode", "Plaats", "IBAN", "Lid sinds", "Abonnement", "Maandbedrag", "Toestemming nieuwsbrief"]
MAPPING = {"Klantnummer": "member_number", "Voornaam": "first_name", "Tussenvoegsel": "infix",
           "Achternaam": "last_name", "Geboortedatum": "date_of_birth", "E-mail": "email", "Telefoon": "phone",
           "Postcode": "postcode", "Plaats": "city", "IBAN": "iban", "Lid sinds": "joined_on",
           "Abonnement": "plan", "Maandbedrag": "monthly_fee", "Toestemming nieuwsbrief": "consent_newsletter"}


def good_row(number: int, **overrides) -> list[str]:
    row = {"Klantnummer": str(number), "Voornaam": "Jörg", "Tussenvoegsel": "van der", "Achternaam": f"Bérg{number}",
           "Geboortedatum": "31-12-1980", "E-mail": f"lid{number}@example.nl", "Telefoon": "0612345678",
           "Postcode": "1234ab", "Plaats": "Utrecht", "IBAN": "NL91ABNA0417164300", "Lid sinds": "01-02-2020",
           "Abonnement": "", "Maandbedrag": "", "Toestemming nieuwsbrief": ""}
    row.update(overrides)
    return [row[h] for h in HEADER]


def csv_bytes(rows, encoding="cp1252", sep=";") -> bytes:
    lines = [sep.join(HEADER)] + [sep.join(r) for r in rows]
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


def do_import(raw: bytes, actor=None, mapping=MAPPING) -> MemberImport:
    imp = importer.receive(raw, actor=actor, locale="en")
    importer.set_mapping(imp, mapping, actor=actor)
    db.session.commit()
    return importer.run_all(imp, actor=actor, commit=db.session.commit)


def refused_reasons(imp) -> dict[str, str]:
    data = importer.take_refused_file(imp).decode("utf-8-sig")
    rows = list(__import__("csv").reader(io.StringIO(data), delimiter=";"))
    assert rows[0][-1] == importer.REASON_COLUMN
    return {row[0]: row[-1] for row in rows[1:]}


# The 2,000-row export with bad rows and a member erased earlier, through the pages, is issue 19's
# "Done means": tests/mail/test_moving_in.py.


def test_the_same_file_twice_changes_nothing_and_a_changed_row_is_audited(app, make_user, make_plan):
    manager = make_user("manager")
    make_plan("Fitness Onbeperkt", price=Decimal("34.95"))
    rows = [good_row(n, Abonnement="fitness onbeperkt", **{"Toestemming nieuwsbrief": "ja"}) for n in (7, 8, 9)]
    first = do_import(csv_bytes(rows), actor=manager)
    assert first.created_count == 3
    assert db.session.scalar(select(db.func.count()).select_from(Subscription)) == 3
    assert db.session.scalar(select(db.func.count()).select_from(Consent)) == 3
    audit_rows = db.session.scalar(select(db.func.count()).select_from(AuditEvent))

    second = do_import(csv_bytes(rows), actor=manager)
    assert (second.created_count, second.updated_count, second.unchanged_count) == (0, 0, 3)
    actions = db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions[audit_rows:] == ["member_import.upload", "member_import.done"]  # no member touched

    rows[1] = good_row(8, Abonnement="fitness onbeperkt", Plaats="Amersfoort",
                       **{"Toestemming nieuwsbrief": "nee"})
    third = do_import(csv_bytes(rows), actor=manager)
    assert (third.updated_count, third.unchanged_count) == (1, 2)
    member = member_service.find_by_number(8)
    assert member.city == "Amersfoort"
    assert member_service.active_consent(member, "newsletter") is None
    update = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "member.update")).one()
    assert update.member_number == 8 and json.loads(update.details) == {"fields": ["city"]}
    assert db.session.scalar(select(AuditEvent.id).where(AuditEvent.action == "consent.withdraw"))
    subscription = db.session.scalars(select(Subscription).where(Subscription.member_id == member.id)).one()
    assert (subscription.monthly_fee, subscription.starts_on) == (Decimal("34.95"), date(2020, 2, 1))


def test_a_number_of_a_member_registered_here_is_refused_not_overwritten(app, make_member):
    mine = make_member(member_number=42, first_name="Els")
    imp = do_import(csv_bytes([good_row(42), good_row(43, Abonnement="Bestaat niet")]))
    reasons = refused_reasons(imp)
    assert "already used by a member registered in Clubhouse" in reasons["42"]
    assert "no plan called Bestaat niet" in reasons["43"]
    db.session.refresh(mine)
    assert mine.first_name == "Els"


def test_an_erased_imported_member_is_refused_when_the_old_file_comes_back(app, make_user):
    officer = make_user("privacy_officer")
    do_import(csv_bytes([good_row(77), good_row(78)]))
    member = member_service.find_by_number(77)
    erasure.erase_member(member, "anonymise", officer)
    db.session.commit()
    assert db.session.scalar(select(ImportedMember).where(ImportedMember.external_ref == "77")) is None
    again = do_import(csv_bytes([good_row(77), good_row(78)]))
    assert (again.refused_count, again.unchanged_count) == (1, 1)
    assert "was erased on" in refused_reasons(again)["77"]
    assert member_service.find_by_number(77).first_name == ""


def test_utf8_with_bom_and_commas_amounts_and_dates(app, make_plan):
    make_plan("Tienrittenkaart", period="ten_ride", price=Decimal("80.00"))
    rows = [good_row(5, Abonnement="Tienrittenkaart", Maandbedrag="€ 1.234,50")]
    out = io.StringIO()
    __import__("csv").writer(out, lineterminator="\r\n").writerows([HEADER, *rows])
    raw = b"\xef\xbb\xbf" + out.getvalue().encode("utf-8")
    imp = do_import(raw)
    assert (imp.encoding, imp.delimiter, imp.created_count) == ("utf-8", ",", 1)
    member = member_service.find_by_number(5)
    assert member.last_name == "Bérg5"
    assert member.subscriptions[0].monthly_fee == Decimal("1234.50")


@pytest.mark.parametrize(("raw", "message"), [
    (b"", "empty"),
    (b"101;Anna;Berg;anna@example.nl\r\n", "looks like a member"),
    (b"PK\x03\x04\x00\x00binary", "not a CSV"),
    (b"onlyonecolumn\r\n1\r\n", "name the columns"),
])
def test_files_that_are_not_member_lists_are_refused_and_nothing_is_kept(app, raw, message):
    with pytest.raises(importer.MemberImportError, match=message):
        importer.receive(raw, actor=None)
    db.session.rollback()
    assert db.session.scalar(select(db.func.count()).select_from(MemberImport)) == 0


def test_the_pages_upload_map_preview_import_and_refused_rows(app, client, login_as, make_user):
    login_as(make_user("manager"))
    assert client.get("/members/import").status_code == 200
    raw = csv_bytes([good_row(11), good_row(12, **{"E-mail": "kapot"}), good_row(13)])
    answer = client.post("/members/import", data={"file": (io.BytesIO(raw), "leden.csv")},
                         content_type="multipart/form-data")
    assert answer.status_code == 302
    imp = db.session.scalars(select(MemberImport)).one()
    assert importer.upload_path(imp).exists()
    page = client.get(answer.location).get_data(as_text=True)
    # the mapping was guessed from the Dutch column names
    assert importer.mapping_of(imp)["Klantnummer"] == "member_number"
    assert "3 rows: 2 new, 0 changed, 0 unchanged, 1 refused." in page
    assert "Enter a valid email address" in page
    assert member_service.find_by_number(11) is None  # the preview writes nothing

    answer = client.post(f"/members/import/{imp.id}/run")
    assert answer.status_code == 302
    page = client.get(answer.location).get_data(as_text=True)
    assert "Created 2, updated 0, unchanged 0, refused 1." in page
    assert not importer.upload_path(imp).exists()
    download = client.post(f"/members/import/{imp.id}/refused")
    assert download.mimetype == "text/csv"
    text = download.get_data().decode("utf-8-sig")
    assert text.splitlines()[1].startswith("12;") and "valid email" in text
    assert not importer.refused_path(imp).exists()
    assert client.post(f"/members/import/{imp.id}/refused").status_code == 302  # handed out once


def test_import_nothing_deletes_the_upload_and_the_mapping_is_remembered(app, client, login_as, make_user):
    login_as(make_user("administrator"))
    raw = csv_bytes([good_row(21)])
    client.post("/members/import", data={"file": (io.BytesIO(raw), "a.csv")}, content_type="multipart/form-data")
    imp = db.session.scalars(select(MemberImport)).one()
    headers = importer.headers_of(imp)
    form = {f"col_{i}": MAPPING[h] for i, h in enumerate(headers)}
    form[f"col_{headers.index('Plaats')}"] = ""  # the city not imported
    assert client.post(f"/members/import/{imp.id}", data=form).status_code == 302
    answer = client.post(f"/members/import/{imp.id}/cancel")
    assert answer.status_code == 302
    db.session.refresh(imp)
    assert imp.status == "cancelled" and not importer.upload_path(imp).exists()
    assert member_service.find_by_number(21) is None
    client.post("/members/import", data={"file": (io.BytesIO(raw), "b.csv")}, content_type="multipart/form-data")
    newest = db.session.scalars(select(MemberImport).order_by(MemberImport.id.desc())).first()
    assert "Plaats" not in importer.mapping_of(newest)  # the edited mapping came back for the same columns


def test_only_holders_of_members_import_reach_the_pages(app, client, login_as, make_user):
    login_as(make_user("front_desk"))
    assert client.get("/members/import").status_code == 403
    assert "Import members" not in client.get("/members").get_data(as_text=True)


def test_the_cli_dry_run_and_import_write_refused_rows_beside_the_file(app, runner, tmp_path):
    source = tmp_path / "export.csv"
    source.write_bytes(csv_bytes([good_row(31), good_row(32, Postcode="99")]))
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps(MAPPING))
    result = runner.invoke(args=["members", "import", str(source), "--mapping", str(mapping), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "would create 1, update 0, leave 0 unchanged, refuse 1" in result.output
    assert member_service.find_by_number(31) is None
    refused = tmp_path / "export.refused.csv"
    assert "Dutch postcode" in refused.read_text(encoding="utf-8-sig")
    refused.unlink()
    result = runner.invoke(args=["members", "import", str(source), "--mapping", str(mapping)])
    assert result.exit_code == 0, result.output
    assert "created 1, updated 0, unchanged 0, refused 1" in result.output
    assert refused.exists() and member_service.find_by_number(31) is not None
    bad = tmp_path / "bad.json"
    bad.write_text('{"Klantnummer": "klantnummer"}')
    result = runner.invoke(args=["members", "import", str(source), "--mapping", str(bad)])
    assert result.exit_code == 1 and "unknown field(s) in the mapping: klantnummer" in result.output


def test_a_large_file_goes_to_the_job_queue_and_shows_progress(app, client, login_as, make_user, monkeypatch):
    from app.blueprints.members import imports as import_pages

    monkeypatch.setattr(import_pages, "INLINE_ROWS", 2)
    monkeypatch.setattr(import_pages, "PAGE_PREVIEW_ROWS", 2)
    monkeypatch.setattr(importer, "CHUNK", 2)
    login_as(make_user("manager"))
    huey = jobqueue.get(app)
    huey.flush()
    client.post("/members/import", data={"file": (io.BytesIO(csv_bytes([good_row(n) for n in range(51, 56)])),
                                                  "big.csv")}, content_type="multipart/form-data")
    imp = db.session.scalars(select(MemberImport)).one()
    page = client.get(f"/members/import/{imp.id}").get_data(as_text=True)
    assert "This file has 5 rows; the first 2 were checked for this preview." in page  # a page answers in time
    client.post(f"/members/import/{imp.id}/run")
    db.session.refresh(imp)
    assert imp.status == "queued"
    assert "waiting for the job worker" in client.get(f"/members/import/{imp.id}").get_data(as_text=True)
    assert huey.pending_count() == 1
    task = huey.dequeue()
    assert task.args == (imp.id,)  # the job carries the import's id, nothing personal
    huey.execute(task)
    db.session.expire_all()
    imp = db.session.get(MemberImport, imp.id)
    assert (imp.status, imp.total_rows, imp.processed_rows, imp.created_count) == ("done", 5, 5, 5)
    assert not importer.upload_path(imp).exists()
