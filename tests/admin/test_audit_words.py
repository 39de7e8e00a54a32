"""The audit log in words: labels for every action, details as sentences, a filter by words, a CSV export."""

import ast
import csv
import io
from pathlib import Path

from app.services import audit, audit_words

APP = Path(__file__).resolve().parents[2] / "app"


def _recorded_actions() -> set[str]:
    """Every action code the application records: the literal first argument of audit.record()/_audit()
    and the action passed to the member service's note helper; export.<format> is built from its formats."""
    found = {"export.pdf", "export.zip"}
    for path in APP.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            position = {"record": 0, "_audit": 0, "_add_note": 1}.get(name)
            if position is None or len(node.args) <= position:
                continue
            argument = node.args[position]
            options = [argument.body, argument.orelse] if isinstance(argument, ast.IfExp) else [argument]
            for option in options:
                if isinstance(option, ast.Constant) and isinstance(option.value, str) and "." in option.value:
                    found.add(option.value)
    return found


def test_every_recorded_action_has_a_label():
    actions = _recorded_actions()
    assert "privacy.request.identity_verified" in actions and "member.view" in actions  # the scan works
    assert actions - set(audit_words.ACTION_LABELS) == set()


def test_the_viewer_shows_words_and_member_numbers(client, db, make_user, make_member, login_as):
    officer = make_user("privacy_officer", username="privacy")
    member = make_member()
    audit.record("member.view", officer, target_type="member", target_id=member.id,
                 member_number=member.member_number, details={"tab": "profile"})
    audit.record("login.succeeded", officer, details={"two_factor": False})
    db.session.commit()
    login_as(officer)
    page = client.get("/admin/audit").get_data(as_text=True)
    assert "Member viewed" in page and "Logged in" in page
    assert "With two-factor login: no" in page and "Tab: Profile" in page
    assert "{'two_factor'" not in page and "two_factor:" not in page
    assert f"Member {member.member_number}" in page and f"member {member.id}" not in page


def test_the_viewer_speaks_dutch(client, db, make_user, login_as):
    officer = make_user("privacy_officer", username="privacy")
    audit.record("member.view", officer, member_number=1001, details={"tab": "profile"})
    audit.record("login.succeeded", officer, details={"two_factor": True})
    db.session.commit()
    login_as(officer)
    client.post("/language", data={"lang": "nl", "next": "/admin/audit"})
    page = client.get("/admin/audit").get_data(as_text=True)
    assert "Lid bekeken" in page and "Ingelogd" in page and "Met tweestapsverificatie: ja" in page
    assert "gebeurtenissen gevonden." in page and "gebeurtenis(sen)" not in page


def test_filter_by_words_and_download_as_csv(client, db, make_user, login_as):
    officer = make_user("privacy_officer", username="privacy")
    audit.record("privacy.request.identity_verified", officer, target_type="data_request", target_id=1,
                 details={"reference": "AVG-2026-0007"})
    audit.record("member.view", officer, member_number=1001, details={"tab": "visits"})
    audit.record("member.view", officer, member_number=1002, details={"tab": "profile"})
    db.session.commit()
    login_as(officer)
    page = client.get("/admin/audit?words=identity+verified").get_data(as_text=True)
    assert page.count('<tr class="event">') == 1 and "Data request AVG-2026-0007" in page

    response = client.get("/admin/audit.csv?words=viewed")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:4] == ["Time", "User", "Action", "Action code"]
    assert [row[2] for row in rows[1:]] == ["Member viewed", "Member viewed"]
    assert {row[5] for row in rows[1:]} == {"1001", "1002"}
    assert [row[7] for row in rows[1:]] == ["Tab: Profile", "Tab: Visits"]
    assert "Audit log exported" in client.get("/admin/audit").get_data(as_text=True)


def test_a_csv_cell_never_starts_a_formula():
    assert audit_words._csv_cell("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert audit_words._csv_cell("-1+2") == "'-1+2"
    assert audit_words._csv_cell("Member viewed") == "Member viewed"


def test_how_a_sweep_was_started_and_a_consent_given_read_in_words(app):
    from types import SimpleNamespace

    def lines(action, **details):
        import json

        with app.test_request_context():
            return audit_words.sentences(SimpleNamespace(action=action, details=json.dumps(details)))

    assert "Via: the job workers' nightly schedule" in lines("retention.sweep", via="scheduler")
    assert "Via: the command line" in lines("retention.sweep", via="cli")
    assert "Via: Paper form" in lines("consent.given", purpose="newsletter", via="form")
