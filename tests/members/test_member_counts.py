"""The member counts per status the triggers keep (migration 0103_h18a_a), and the list totals read from them."""

from datetime import date

from sqlalchemy import delete, func, insert, select, update

from app.models import Member, MemberStatusCount
from app.services import members as member_service
from app.services.members import SearchParams


def _kept(db) -> dict[str, int]:
    return {row.status: row.total for row in db.session.scalars(select(MemberStatusCount)) if row.total}


def _counted(db) -> dict[str, int]:
    return dict(db.session.execute(select(Member.status, func.count()).group_by(Member.status)).all())


def test_the_counts_follow_every_insert_status_change_and_delete(db, make_member):
    made = [make_member() for _ in range(3)] + [make_member(status="ended")]
    assert _kept(db) == _counted(db) == {"active": 3, "ended": 1}
    made[0].status = "ended"
    made[1].first_name = "Bea"  # a change that is not the status leaves the counts alone
    db.session.commit()
    assert _kept(db) == _counted(db) == {"active": 2, "ended": 2}
    # Set-based statements (the sweep, the importer) are counted as well as ORM changes.
    db.session.execute(update(Member).where(Member.status == "ended").values(status="anonymised"))
    db.session.execute(insert(Member).values(member_number=member_service.next_member_number(), first_name="C",
                                             last_name="D", joined_on=date(2024, 1, 1), status="active"))
    db.session.execute(delete(Member).where(Member.id == made[2].id))
    db.session.commit()
    assert _kept(db) == _counted(db) == {"active": 2, "anonymised": 2}


def test_a_rolled_back_change_leaves_the_counts_as_they_were(db, make_member):
    member = make_member()
    member.status = "ended"
    db.session.flush()
    db.session.rollback()
    assert _kept(db) == _counted(db) == {"active": 1}


def test_the_list_reads_the_kept_total_only_for_a_whole_status(db, make_member):
    make_member()
    make_member(status="ended")
    assert member_service.known_total(SearchParams(status="active")) == 1
    assert member_service.known_total(SearchParams(status="all")) == 2
    assert member_service.known_total(SearchParams(status="anonymised")) == 0
    assert member_service.known_total(SearchParams(query="berg")) is None  # a search counts what matched
    assert member_service.known_total(SearchParams(plan_id=1)) is None


def test_the_member_list_and_dashboard_show_the_current_total(client, make_user, login_as, make_member, db):
    login_as(make_user("administrator"))
    members = [make_member() for _ in range(3)]
    assert "3 members found" in client.get("/members").get_data(as_text=True)
    members[0].status = "ended"
    db.session.commit()
    assert "2 members found" in client.get("/members").get_data(as_text=True)
    assert "1 member found" in client.get("/members?status=ended").get_data(as_text=True)
    assert "3 members found" in client.get("/members?status=all").get_data(as_text=True)
    assert member_service.dashboard_counts()["active_members"] == 2
