"""Issue 19's "Done means", in one journey through the pages: a club imports its old member list (2,000 rows,
some bad, one of a member erased earlier), then a member files a request on the public form and finds the
acknowledgement, with the reference, in the mailbox of the SMTP server on loopback."""

import csv
import io
from datetime import date

from sqlalchemy import func, select

from app.extensions import db
from app.models import DataRequest, Member, MemberImport
from app.services import erasure, importer, mail
from app.services import members as member_service
from tests.members.test_import import csv_bytes, good_row


def test_a_club_moves_in_and_a_member_finds_the_acknowledgement_in_their_mailbox(app, client, smtp, make_member,
                                                                                  make_user, login_as):
    erased = make_member(member_number=1500, email="lid1500@example.nl")
    erasure.erase_member(erased, "delete", make_user("privacy_officer"))
    db.session.commit()
    rows = [good_row(n) for n in range(1001, 3001)]  # rows[499] is member 1500, erased above
    bad = {1011: {"E-mail": "not-an-address"}, 1021: {"Postcode": "12345"}, 1031: {"IBAN": "NL00ABNA0000000000"},
           1041: {"Geboortedatum": "31-02-1980"}, 1051: {"Achternaam": ""}, 1061: {"Telefoon": "12"}}
    for number, change in bad.items():
        rows[number - 1001] = good_row(number, **change)

    login_as(make_user("manager"))
    answer = client.post("/members/import", data={"file": (io.BytesIO(csv_bytes(rows)), "export-oud-systeem.csv")},
                         content_type="multipart/form-data")
    preview = client.get(answer.location).get_data(as_text=True)
    assert "2000 rows: 1993 new, 0 changed, 0 unchanged, 7 refused." in preview
    imp = db.session.scalars(select(MemberImport)).one()
    done = client.get(client.post(f"/members/import/{imp.id}/run").location).get_data(as_text=True)
    assert "Created 1993, updated 0, unchanged 0, refused 7." in done
    assert db.session.scalar(select(func.count()).select_from(Member)) == 1993  # the valid rows are members
    member = member_service.find_by_number(1001)
    assert (member.first_name, member.infix, member.last_name) == ("Jörg", "van der", "Bérg1001")  # Windows-1252
    assert (member.postcode, member.phone, member.date_of_birth) == ("1234 AB", "+31 6 12345678", date(1980, 12, 31))
    assert "berg1001" in member.search_text  # found by name without accents
    assert member_service.next_member_number() > 3000  # new members continue above the imported numbers
    assert member_service.find_by_number(1500) is None  # the erased member stays erased
    refused = client.post(f"/members/import/{imp.id}/refused").get_data().decode("utf-8-sig")
    reasons = {row[0]: row[-1] for row in list(csv.reader(io.StringIO(refused), delimiter=";"))[1:]}
    assert set(reasons) == {"1011", "1021", "1031", "1041", "1051", "1061", "1500"}  # each with its reason
    assert "valid email" in reasons["1011"] and "Dutch postcode" in reasons["1021"] and "IBAN" in reasons["1031"]
    assert "not a date" in reasons["1041"] and "last name" in reasons["1051"] and "phone number" in reasons["1061"]
    assert reasons["1500"].startswith("Member 1500 was erased on ")
    assert not list(importer._folder().glob(f"{imp.token}*"))  # nothing of the file lingers
    client.post("/logout")

    member = member_service.find_by_number(2024)
    confirmation = client.post("/request", follow_redirects=True, data={
        "name": member.full_name, "email": member.email, "member_number": "2024", "date_of_birth": "1980-12-31",
        "kind": "access", "message": "", "website": ""}).get_data(as_text=True)
    reference = db.session.scalar(select(DataRequest.reference))
    assert reference in confirmation
    assert mail.drain().sent == 1
    [(to, message)] = smtp.mailbox.messages
    assert to == ["lid2024@example.nl"]
    assert reference in message["Subject"] and reference in message.get_body(("plain",)).get_content()
