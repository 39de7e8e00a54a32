"""`flask api-clients ...` and the issue's definition of done, end to end over real TLS."""

from datetime import date

import pytest
from sqlalchemy import select

from app.models import ApiClient, AuditEvent, Role, User
from app.services import erasure, export


def _create(runner, *args):
    return runner.invoke(args=["api-clients", "create", *args])


def test_create_prints_the_token_once_as_the_last_line(db, runner):
    result = _create(runner, "ClubPlanner", "--scope", "api.members.read", "--field", "email", "--allow", "10.0.0.0/8",
                     "--expires-days", "30")
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    assert token.startswith("chp_")
    client = db.session.scalar(select(ApiClient))
    assert client.user.kind == "partner" and client.user.username == "ClubPlanner"
    assert token not in " ".join(str(v) for v in db.session.execute(select(ApiClient.__table__)).one())
    role = db.session.scalar(select(Role).where(Role.name == "ClubPlanner (API)"))
    assert role.permission_codes == {"api.members.read"}
    assert db.session.scalar(select(AuditEvent.action).where(AuditEvent.action == "api_client.created"))


@pytest.mark.parametrize(("args", "message"), [
    (["--scope", "api.members.eat"], "Unknown scope"),
    (["--scope", "members.view"], "Only partner API scopes"),
    (["--role", "No such role"], "Unknown role"),
    (["--scope", "api.members.read", "--field", "iban"], "Unknown member field"),
    (["--scope", "api.members.read", "--allow", "10.0.0.300"], "Not an address"),
    (["--scope", "api.members.read", "--expires-days", "0"], "expiry"),
    (["--role", "Trainer"], "only hold roles with partner API scopes"),
])
def test_unknown_roles_scopes_and_fields_are_refused_with_exit_2(db, runner, args, message):
    from app.services import roles

    roles.ensure_default_roles()
    db.session.commit()
    result = _create(runner, "Gate", *args)
    assert result.exit_code == 2
    assert message in result.output
    assert db.session.scalar(select(User).where(User.username == "Gate")) is None


def test_list_rotate_revoke(db, runner, frozen_clock):
    from datetime import datetime

    frozen_clock(datetime(2026, 5, 1, 10, 0))
    first = _create(runner, "Gate", "--scope", "api.visits.write").output.strip().splitlines()[-1]
    listing = runner.invoke(args=["api-clients", "list"]).output
    for expected in ("Gate", "api.visits.write", "member_number, first_name, infix, last_name", "any address",
                     "2027-05-01", "never", "active"):
        assert expected in listing
    rotated = runner.invoke(args=["api-clients", "rotate", "Gate"])
    assert rotated.exit_code == 0
    second = rotated.output.strip().splitlines()[-1]
    assert second.startswith("chp_") and second != first and "2026-05-02 10:00" in rotated.output
    assert runner.invoke(args=["api-clients", "revoke", "Gate"]).exit_code == 0
    assert "revoked since 2026-05-01 10:00" in runner.invoke(args=["api-clients", "list"]).output
    assert runner.invoke(args=["api-clients", "revoke", "Nobody"]).exit_code == 2
    actions = set(db.session.scalars(select(AuditEvent.action)))
    assert {"api_client.created", "api_client.rotated", "api_client.revoked"} <= actions


def test_done(db, runner, https, http, make_member, make_user):
    """A partner created with the CLI reads members over HTTPS with its token and gets exactly its fields;
    over HTTP it gets nothing; its reads appear in the member's data export as a recipient; an erasure
    shows up in its changes feed."""
    anna = make_member(first_name="Anna", email="anna@example.nl", city="Utrecht", status="ended",
                       ended_on=date(2025, 12, 31))
    piet = make_member(first_name="Piet", email="piet@example.nl")
    result = _create(runner, "ClubPlanner", "--scope", "api.members.read", "--scope", "api.changes.read",
                     "--field", "email")
    token = result.output.strip().splitlines()[-1]

    read = https.get("/api/v1/members", token=token)
    assert read.status_code == 200
    assert read.json()["data"] == [
        {"member_number": anna.member_number, "first_name": "Anna", "infix": "van der", "last_name": "Berg",
         "email": "anna@example.nl"},
        {"member_number": piet.member_number, "first_name": "Piet", "infix": "van der", "last_name": "Berg",
         "email": "piet@example.nl"},
    ]

    clear = http.get("/api/v1/members", token=token)
    assert clear.status_code == 403 and "Anna" not in clear.text and "anna@" not in clear.text
    # That token went over the network in clear and is revoked now; the club rotates it.
    token = runner.invoke(args=["api-clients", "rotate", "ClubPlanner"]).output.strip().splitlines()[-1]

    document = export.as_document(export.gather(anna, make_user("privacy_officer")))
    [recipient] = document["about_the_processing"]["recipients"]
    assert (recipient["name"], recipient["kind"], recipient["times"]) == ("ClubPlanner", "api_client", 1)
    assert set(recipient["categories"]) == {"member_number", "first_name", "infix", "last_name", "email"}

    anna_number = anna.member_number
    erasure.erase_members([anna.id], "delete", None, source="test")
    db.session.commit()
    feed = https.get("/api/v1/changes", token=token).json()
    assert feed["data"][0]["member_number"] == anna_number and feed["data"][0]["kind"] == "erased"
    assert [m["member_number"] for m in https.get("/api/v1/members", token=token).json()["data"]] == [piet.member_number]
