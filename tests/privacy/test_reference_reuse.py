"""References and member numbers are never handed out twice, not even after a restore."""

from datetime import datetime

import pytest
from sqlalchemy import func, select, update

from app.models import Counter
from app.services import clock, high_water
from app.services import members as member_service
from app.services import privacy_requests as svc


@pytest.mark.parametrize("kind", ["erasure", "access", "objection"])
def test_a_rolled_back_counters_table_does_not_reuse_a_reference(db, kind):
    """What a restore does to the counters table (it goes back to the backup's values), on both databases."""
    clock.freeze(datetime(2026, 6, 1, 10, 0))
    first = svc.register(kind, channel="desk", requester_name="Ria Rood")
    db.session.commit()
    assert first.reference == "AVG-2026-0001"
    db.session.execute(update(Counter).where(Counter.name == "request_reference_2026").values(value=0))
    db.session.commit()
    second = svc.register("access", channel="desk", requester_name="Rik Rood")
    db.session.commit()
    assert second.reference == "AVG-2026-0002"
    assert high_water.read()["request_reference_2026"] == 2


def test_member_numbers_survive_a_rolled_back_counter_even_without_an_erasure(db, make_member):
    first = make_member()
    db.session.execute(update(Counter).where(Counter.name == "member_number").values(value=1000))
    db.session.commit()
    assert member_service.next_member_number() == first.member_number + 1


def test_after_a_real_backup_restore_the_next_reference_is_new(db, runner):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("the restore of the test database itself is exercised on SQLite")
    clock.freeze(datetime(2026, 6, 1, 10, 0))
    created = runner.invoke(args=["backup", "create"])
    assert created.exit_code == 0, created.output
    backup_file = created.output.split("Backup written: ", 1)[1].split(" (", 1)[0]
    erasure_request = svc.register("erasure", channel="desk", requester_name="Ria Rood")
    access_request = svc.register("access", channel="desk", requester_name="Rik Rood")
    db.session.commit()
    taken = {erasure_request.reference, access_request.reference}
    db.session.remove()
    restored = runner.invoke(args=["backup", "restore", backup_file])
    assert restored.exit_code == 0, restored.output
    after = [svc.register(kind, channel="desk").reference for kind in ("erasure", "restriction")]
    db.session.commit()
    assert not taken & set(after)
    assert after == ["AVG-2026-0003", "AVG-2026-0004"]


def test_an_unreadable_high_water_file_refuses_instead_of_guessing(db, app):
    high_water.path().write_text("{not json")
    with pytest.raises(high_water.HighWaterError):
        svc.register("access", channel="desk")
    db.session.rollback()


def test_a_damaged_high_water_file_is_a_clear_message_on_the_staff_pages(db, app, client, make_user, login_as):
    from app.models import Member

    high_water.path().write_text("{not json")
    login_as(make_user("administrator"))
    response = client.post("/members/new", data={
        "first_name": "Ria", "last_name": "Rood", "date_of_birth": "1990-01-02", "email": "ria@example.nl",
        "country": "NL", "postcode": "3511AB", "status": "active"})
    page = response.get_data(as_text=True)
    assert response.status_code == 503
    assert "counter file kept beside the erasure" in page and "Nothing was saved" in page
    assert "Traceback" not in page
    assert db.session.scalar(select(func.count()).select_from(Member)) == 0


def test_a_damaged_high_water_file_keeps_the_public_form_and_offers_other_channels(db, app, client):
    from app.models import DataRequest

    high_water.path().write_text("{not json")
    response = client.post("/request", data={
        "name": "Saskia Bloembollen", "email": "saskia@example.nl", "member_number": "",
        "date_of_birth": "1985-04-03", "kind": "access", "message": "", "website": ""})
    page = response.get_data(as_text=True)
    assert response.status_code == 503
    assert "could not be registered just now, and nothing was stored" in page
    assert 'value="Saskia Bloembollen"' in page and "at the desk" in page
    assert "counters-high-water" not in page  # the repair is the staff's business, not the member's
    assert db.session.scalar(select(func.count()).select_from(DataRequest)) == 0
