"""seed-demo, create-admin and bootstrap as a script or `make run` would call them."""

import re
from datetime import datetime

from schwifty import IBAN
from sqlalchemy import func, select

from app.models import Consent, Invoice, Member, Plan, Subscription, User, Visit
from app.services import demo


def _count(db, model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_seed_demo_small_run_loads_a_believable_club(runner, db, frozen_clock):
    frozen_clock(datetime(2026, 6, 1, 12, 0))
    result = runner.invoke(args=["seed-demo", "--members", "20", "--years", "1", "--seed", "7"])
    assert result.exit_code == 0, result.output
    assert "20 members" in result.output
    assert _count(db, Member) == 20
    members = db.session.scalars(select(Member)).all()
    for member in members:
        assert member.first_name and member.last_name and member.search_text
        assert member.postcode is None or re.fullmatch(r"[1-9]\d{3} [A-Z]{2}", member.postcode)
        if member.iban:
            IBAN(member.iban)  # raises on a bad checksum
        if member.infix:
            assert member.infix == member.infix.lower()
    assert _count(db, Subscription) >= 20
    assert _count(db, Visit) > 20 * 20  # about 100 a year, for those who were members the whole year
    assert _count(db, Invoice, Invoice.status == "paid") > 0
    invoice = db.session.scalar(select(Invoice).limit(1))
    assert invoice.billing_name and invoice.billing_address and invoice.member_id
    assert _count(db, Consent) > 0
    # every visit lies inside its member's membership
    outside = db.session.scalar(
        select(func.count()).select_from(Visit).join(Member, Visit.member_id == Member.id)
        .where(func.date(Visit.checked_in_at) < Member.joined_on)
    )
    assert outside == 0


def test_loading_twice_never_reuses_member_numbers(runner, db):
    assert runner.invoke(args=["seed-demo", "--members", "5", "--years", "1", "--visits-per-year", "0"]).exit_code == 0
    first = set(db.session.scalars(select(Member.member_number)))
    assert runner.invoke(args=["seed-demo", "--members", "5", "--years", "1", "--visits-per-year", "0"]).exit_code == 0
    both = set(db.session.scalars(select(Member.member_number)))
    assert len(both) == 10 and first < both
    numbers = set(db.session.scalars(select(Invoice.number)))
    assert len(numbers) == _count(db, Invoice)
    # One Dutch catalogue, however often the demo is loaded; every subscription points into it.
    names = set(db.session.scalars(select(Plan.name)))
    assert len(names) == _count(db, Plan) == 10
    assert {"Fitness Onbeperkt", "Zwemmen 10-rittenkaart", "Groepslessen"} <= names
    assert _count(db, Plan, Plan.egym_membership_type == "CORPORATE_FITNESS") == 1
    assert _count(db, Subscription, Subscription.plan_id.is_(None)) == 0


def test_split_infix():
    assert demo.split_infix("van der Berg") == ("van der", "Berg")
    assert demo.split_infix("de Vries") == ("de", "Vries")
    assert demo.split_infix("Dekker") == (None, "Dekker")
    assert demo.split_infix("Vandenberg") == (None, "Vandenberg")


def test_create_admin_non_interactive_and_weak_passwords_refused(runner, db):
    weak = runner.invoke(args=["create-admin", "--username", "boss", "--password", "short"])
    assert weak.exit_code != 0 and "fewer than 12 characters" in weak.output
    common = runner.invoke(args=["create-admin", "--username", "boss", "--password", "wachtwoord123"])
    assert common.exit_code != 0 and "common" in common.output
    assert _count(db, User) == 0
    ok = runner.invoke(args=["create-admin", "--username", "boss", "--password", "Zeer-lang-en-uniek-42"])
    assert ok.exit_code == 0, ok.output
    user = db.session.scalar(select(User).where(User.username == "boss"))
    assert user.has_permission("admin.users")
    again = runner.invoke(args=["create-admin", "--username", "boss", "--password", "Zeer-lang-en-uniek-42"])
    assert again.exit_code != 0 and "already exists" in again.output


def test_create_admin_prompts_when_run_interactively(runner, db):
    result = runner.invoke(args=["create-admin"], input="chef\nZeer-lang-en-uniek-42\nZeer-lang-en-uniek-42\n")
    assert result.exit_code == 0, result.output
    assert _count(db, User, User.username == "chef") == 1


def test_bootstrap_prints_the_password_once_and_seeds_only_the_first_time(runner, db, monkeypatch):
    monkeypatch.setattr("app.cli.setup._load_demo", lambda: demo.load(members=3, years=1, visits_per_year=5))
    first = runner.invoke(args=["bootstrap", "--demo"])
    assert first.exit_code == 0, first.output
    assert "username: admin" in first.output
    password = re.search(r"password: (\S+)", first.output).group(1)
    assert _count(db, Member) == 3
    login = runner.invoke(args=["bootstrap", "--demo"])
    assert login.exit_code == 0
    assert "password:" not in login.output and password not in login.output
    assert _count(db, Member) == 3 and _count(db, User) == 1


def test_bootstrap_without_demo_starts_empty(runner, db):
    result = runner.invoke(args=["bootstrap", "--no-demo"])
    assert result.exit_code == 0 and "password:" in result.output
    assert _count(db, Member) == 0
    # a later run with --demo does not load demo data into a database that was already set up
    assert runner.invoke(args=["bootstrap", "--demo"]).exit_code == 0
    assert _count(db, Member) == 0


def test_bootstrap_with_upgrade_sets_up_an_empty_database_in_one_command(make_app, tmp_path):
    """`make run` migrates and bootstraps in one process: an empty database comes out ready to log in to."""
    from sqlalchemy import inspect

    from app.extensions import db as _db
    from app.models import Role

    fresh = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'fresh.db'}")
    with fresh.app_context():  # the CLI runs in the app context it finds, so make it the fresh app's
        try:
            result = fresh.test_cli_runner().invoke(args=["bootstrap", "--upgrade", "--no-demo"])
            assert result.exit_code == 0, result.output
            assert "username: admin" in result.output
            again = fresh.test_cli_runner().invoke(args=["bootstrap", "--upgrade", "--no-demo"])
            assert again.exit_code == 0 and "username: admin" not in again.output
            assert "alembic_version" in inspect(_db.engine).get_table_names()
            assert _db.session.scalar(select(func.count()).select_from(User)) == 1
            assert _db.session.scalar(select(func.count()).select_from(Role)) > 0
        finally:
            _db.session.remove()
            _db.engine.dispose()
