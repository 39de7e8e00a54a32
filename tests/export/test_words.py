"""No stored codes where staff or members read: gender, country and IBAN in the export, consent channels
on the member page, default roles in the reader's language, dates in one format per kind."""

from datetime import date, datetime

from flask_babel import force_locale

from app.models import Consent
from app.services import export as export_service
from app.services import roles as role_service


def _export_html(member, actor, language):
    with force_locale(language):
        return export_service.render_export_html(export_service.gather(member, actor, complete_visits=False))


def test_the_export_names_gender_country_and_groups_the_iban(make_member, full_staff):
    member = make_member(gender="male", country="BE", iban="NL91ABNA0417164300", date_of_birth=date(1990, 5, 17))
    dutch = _export_html(member, full_staff, "nl")
    assert "België" in dutch and ">BE<" not in dutch
    assert "NL91 ABNA 0417 1643 00" in dutch
    assert "man" in dutch and ">male<" not in dutch
    assert "17 mei 1990" in dutch
    english = _export_html(member, full_staff, "en")
    assert "Belgium" in english and "17 May 1990" in english and "5/17/90" not in english


def test_consent_channels_read_as_words_on_the_member_page(client, db, make_member, make_user, login_as):
    member = make_member()
    db.session.add(Consent(member_id=member.id, purpose="newsletter", given_at=datetime(2026, 3, 1, 10, 0),
                           given_via="form", withdrawn_at=datetime(2026, 4, 1, 9, 0), withdrawn_via="desk"))
    db.session.commit()
    login_as(make_user("manager"))
    page = client.get(f"/members/{member.member_number}?tab=consents").get_data(as_text=True)
    assert "(Paper form)" in page and "(At the desk)" in page
    assert "(form)" not in page and "(desk)" not in page


def test_default_roles_read_in_the_users_language(client, db, make_user, login_as):
    admin = make_user("administrator")
    make_user("privacy_officer", username="petra")
    login_as(admin)
    client.post("/language", data={"lang": "nl", "next": "/admin/roles"})
    page = client.get("/admin/roles").get_data(as_text=True)
    assert "Privacyfunctionaris" in page and "Behandelt AVG-verzoeken" in page
    assert "Privacy officer" not in page
    # The stored name stays English for the command line; a renamed default role keeps its own name.
    role = role_service.role_by_key("privacy_officer")
    assert role.name == "Privacy officer"
    role.name = "AVG-team"
    db.session.commit()
    assert "AVG-team" in client.get("/admin/roles").get_data(as_text=True)
