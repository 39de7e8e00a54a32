"""Retention in a real browser: edit a policy (a mistake first), place a legal hold, preview and run the sweep."""

import re
from datetime import datetime, time

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from app.models import Member, Visit
from app.services import clock
from tests.queue_helpers import work_the_queue

pytestmark = pytest.mark.browser


def test_privacy_officer_tightens_a_policy_holds_a_member_and_runs_the_sweep(app, logged_in_page, base_url, db,
                                                                              make_user, make_member):
    today = clock.today()
    long_ago = clock.add_months(today, -30)
    visitor = make_member(first_name="Pieter", infix=None, last_name="Smit")
    db.session.add_all([
        Visit(member_id=visitor.id, checked_in_at=datetime.combine(clock.add_months(today, -18), time(18, 0)),
              location="Zaal 1", source="desk"),
        Visit(member_id=visitor.id, checked_in_at=datetime.combine(clock.add_months(today, -2), time(18, 0)),
              location="Zaal 1", source="desk"),
    ])
    db.session.commit()
    gone = make_member(first_name="Karin", infix=None, last_name="Bos", status="ended", ended_on=long_ago)
    held = make_member(first_name="Wim", infix=None, last_name="Kok", status="ended", ended_on=long_ago)
    page = logged_in_page(make_user("privacy_officer"))

    # Visits are kept 24 months by default; the club wants 12. A typo first.
    page.get_by_role("link", name="Retention").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Retention policies")
    visits_row = page.locator("#policy-visits")
    expect(visits_row).to_contain_text("24 months after the visit")
    visits_row.get_by_role("link", name="Edit").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Visit history")
    period = page.get_by_label("Period (months)")
    expect(period).to_have_value("24")
    basis = page.get_by_label("Basis and criteria")
    basis.fill("Check-ins serve access and busy-hour figures; a year of history is enough for both.")
    period.fill("twelve")
    page.get_by_role("button", name="Save").click()
    field = page.locator(".field.has-error")
    expect(field).to_contain_text("Enter the period as a whole number of months.")
    expect(field.get_by_label("Period (months)")).to_have_value("twelve")
    expect(page.get_by_label("Basis and criteria")).to_have_value(
        "Check-ins serve access and busy-hour figures; a year of history is enough for both.")
    page.get_by_label("Period (months)").fill("12")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("p.flash")).to_contain_text("Policy saved: Visit history: deleted 12 months after the visit")
    expect(page.locator("#policy-visits")).to_contain_text("12 months after the visit")
    page.locator("#policy-visits summary").click()
    expect(page.locator("#policy-visits details")).to_contain_text("a year of history is enough")

    # A legal hold, placed from the member page's privacy tab (the reason is required).
    page.goto(f"{base_url}/members/{held.member_number}")
    page.locator("#member-actions").get_by_role("link", name="Privacy and membership").click()
    page.get_by_role("link", name="Place a legal hold").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Place a legal hold on member {held.member_number}")
    page.get_by_role("button", name="Place the hold").click()
    expect(page.get_by_text("Give the reason for the hold, e.g. the dispute or claim.")).to_be_visible()
    page.get_by_label("Reason").fill("Dispute about the final invoice, handled by the lawyer.")
    page.get_by_role("button", name="Place the hold").click()
    expect(page).to_have_url(re.compile(rf"/members/{held.member_number}\?tab=privacy$"))
    expect(page.locator("p.flash")).to_contain_text(f"member {held.member_number} is kept out of the retention sweep")
    hold = page.get_by_role("region", name="Legal hold")
    expect(hold).to_contain_text("Legal hold since")
    expect(hold).to_contain_text("Reason: Dispute about the final invoice, handled by the lawyer.")
    expect(hold.get_by_role("button", name="Lift this hold")).to_be_visible()

    # The preview: what is due, what is kept back, nothing changed yet.
    page.get_by_role("link", name="Retention").first.click()
    page.get_by_role("link", name="Preview the sweep").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Retention sweep: preview")
    ended = page.locator("#preview-ended_memberships")
    expect(ended.locator("td").nth(1)).to_have_text("1")  # due now: Karin
    expect(ended.locator("td").nth(2)).to_have_text("1")  # kept back: Wim, under the hold
    expect(ended.get_by_role("link", name=str(gone.member_number))).to_be_visible()
    expect(ended).not_to_contain_text(str(held.member_number))
    expect(page.locator("#preview-visits td").nth(1)).to_have_text("1")  # the visit of 18 months ago

    # Every member affected is listed, with what the sweep processes of theirs.
    affected = page.locator("#affected-members")
    expect(affected.locator("tr", has_text=str(gone.member_number))).to_contain_text("Ended memberships")
    expect(affected).not_to_contain_text(str(held.member_number))

    # Nothing is deleted on one click: the confirmation shows the counts and wants the total typed.
    page.get_by_role("link", name="Continue to the confirmation").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm the retention sweep")
    expect(page.locator("#plan-ended_memberships td.num")).to_have_text("1")
    expect(page.locator("#plan-visits td.num")).to_have_text("1")
    page.get_by_label("Type the number of records to confirm").fill("3")
    page.get_by_role("button", name="Run the sweep now").click()
    expect(page.locator(".field.has-error")).to_contain_text("not the number of records")
    page.get_by_label("Type the number of records to confirm").fill("2")
    page.get_by_role("button", name="Run the sweep now").click()
    # The sweep runs on the job queue: the page shows it waiting, then its progress and outcome.
    expect(page).to_have_url(re.compile(r"/privacy/retention/sweep/\d+$"))
    expect(page.locator("p.flash")).to_contain_text("The retention sweep has started")
    expect(page.locator(".job-state")).to_contain_text("Waiting for a job worker")
    work_the_queue(app)  # what `flask jobs worker` does
    page.reload()
    expect(page.locator(".job-state")).to_have_text("Finished.")
    expect(page.locator(".job-progress")).to_have_text("2 / 2 (100%)")
    page.get_by_role("link", name="Retention").first.click()
    report = page.locator("h2#last-sweep + .card")
    expect(report).to_contain_text("started by")
    expect(report.locator("tr", has_text="Ended memberships").locator("td.num")).to_have_text("1")
    expect(report.locator("tr", has_text="Visit history").locator("td.num")).to_have_text("1")
    holds_table = page.locator("h2", has_text="Legal holds").locator("xpath=following-sibling::table[1]")
    expect(holds_table.get_by_role("link", name=str(held.member_number))).to_be_visible()

    # Karin is anonymised, Wim is untouched and still shows the hold; Pieter keeps his recent visit.
    page.goto(f"{base_url}/members/{gone.member_number}")
    expect(page.get_by_role("heading", level=1)).not_to_contain_text("Karin")
    page.goto(f"{base_url}/members/{held.member_number}?tab=privacy")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Wim Kok")
    hold = page.get_by_role("region", name="Legal hold")
    expect(hold).to_contain_text("Dispute about the final invoice")

    # The dispute is settled: the hold is lifted from the member page.
    hold.get_by_role("button", name="Lift this hold").click()
    expect(page.locator("p.flash")).to_contain_text(
        f"Legal hold lifted: member {held.member_number} is subject to the retention policies again.")
    expect(page.get_by_role("region", name="Legal hold")).not_to_contain_text("Legal hold since")
    expect(page.get_by_role("link", name="Place a legal hold")).to_be_visible()
    db.session.expire_all()
    assert db.session.get(Member, gone.id).status == "anonymised"
    assert db.session.scalar(select(func.count()).select_from(Visit).where(Visit.member_id == visitor.id)) == 1
