"""An erasure request from the public form to the letter, in a real browser.

A member asks through /request without logging in; the privacy officer finds the request,
verifies the identity, walks the erasure wizard, makes the letter and sees the member gone.
"""

import io
import re
from datetime import date

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

pytestmark = pytest.mark.browser


def _pdf_text(download) -> str:
    with open(download.path(), "rb") as handle:
        body = handle.read()
    assert body.startswith(b"%PDF-")
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(body)).pages)


def test_member_asks_for_erasure_and_the_privacy_officer_carries_it_out(page, base_url, logged_in_page,
                                                                         make_user, make_member):
    lotte = make_member(first_name="Lotte", infix=None, last_name="Jansen", email="lotte@example.nl",
                        date_of_birth=date(1988, 3, 2), city="Zwolle")
    number = str(lotte.member_number)
    officer = make_user("privacy_officer")

    # The member, not logged in, uses the public form; a mistake first, nothing lost.
    page.goto(f"{base_url}/request")
    expect(page.get_by_role("heading", level=1)).to_have_text("Ask about your personal data")
    page.get_by_label("Your name").fill("Lotte Jansen")
    page.get_by_label("Your email address").fill("lotte@example.nl")
    page.get_by_label("Member number (if you know it)").fill(number)
    page.get_by_label("Erasure", exact=True).check()
    page.get_by_label("Anything you want to add").fill("I moved away, please remove my data.")
    page.get_by_role("button", name="Send request").click()
    expect(page.get_by_text("Enter your date of birth.")).to_be_visible()
    expect(page.get_by_label("Your name")).to_have_value("Lotte Jansen")
    expect(page.get_by_label("Erasure", exact=True)).to_be_checked()
    page.get_by_label("Date of birth").fill("1988-03-02")
    page.get_by_role("button", name="Send request").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you, we received your request")
    expect(page.locator("#next-steps")).to_contain_text("We check that the request comes from you")
    reference = page.locator("strong.reference").inner_text()
    assert re.fullmatch(r"AVG-\d{4}-\d+", reference), reference

    # The privacy officer finds it from the dashboard.
    logged_in_page(officer)
    panel = page.locator("section.panel", has=page.get_by_role("heading", name="Data requests"))
    panel.get_by_role("link", name="1 open").click()
    expect(page).to_have_url(re.compile(r"/privacy/requests"))
    row = page.locator("table.list tbody tr", has_text=reference)
    expect(row).to_contain_text("Erasure")
    expect(row).to_contain_text("Lotte Jansen")
    row.get_by_role("link", name=reference).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"{reference} · Erasure")
    expect(page.get_by_text("The identity has not been verified yet.")).to_be_visible()
    expect(page.locator("table.timeline")).to_contain_text("Received through the intake form")

    # Identity: the member the requester named is found; link it.
    page.get_by_role("link", name="Verify identity").click()
    candidates = page.locator("table.list tbody")
    expect(candidates).to_contain_text("Jansen, Lotte")
    page.get_by_label("How was the identity verified?").fill("Passport shown at the desk; name and date of birth match.")
    candidates.locator("tr", has_text="Jansen, Lotte").get_by_role("button", name="This is the member").click()
    expect(page.get_by_role("status")).to_contain_text(f"the request is linked to member {number}")

    # The wizard, step by step: verifying the identity went straight into it.
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"member {number}")
    page.get_by_role("button", name="Next").click()  # no ground chosen yet
    expect(page.get_by_text("Choose a ground.")).to_be_visible()
    page.get_by_label("The data is no longer needed for the purpose the club collected it for.").check()
    page.get_by_role("button", name="Next").click()

    expect(page.get_by_role("heading", name="What argues against erasing now")).to_be_visible()
    page.get_by_label("Grant: erase as requested").check()
    page.get_by_label("Reasons").fill("The member left the club; nothing requires us to keep more.")
    page.get_by_role("button", name="Next").click()

    anonymise = page.get_by_role("radio", name=re.compile(r"^Anonymise"))
    expect(anonymise).to_be_visible()
    expect(page.locator("table.preview").first).to_be_visible()
    anonymise.check()
    page.get_by_role("button", name="Next").click()

    expect(page.get_by_text("The member will be anonymised. This cannot be undone.")).to_be_visible()
    confirm = page.get_by_label("Type the member number to confirm")
    confirm.fill(str(int(number) + 1))  # a typo stops it, with the message next to the field
    page.get_by_role("button", name="Anonymise now").click()
    expect(page.locator(".field.has-error")).to_be_visible()
    expect(page.get_by_text("The member will be anonymised. This cannot be undone.")).to_be_visible()
    page.get_by_label("Type the member number to confirm").fill(number)
    page.get_by_role("button", name="Anonymise now").click()

    expect(page.get_by_role("status")).to_contain_text("The anonymisation has been carried out.")
    expect(page.get_by_role("heading", name="Verification report")).to_be_visible()
    expect(page.get_by_text("The member was anonymised.")).to_be_visible()
    expect(page.get_by_text("No personal data of the member was found")).to_be_visible()
    page.get_by_role("button", name="Make the letter and close the request").click()
    # The page confirms what happened; the letter can be downloaded (again) until it is marked sent.
    expect(page.get_by_role("status")).to_contain_text("The letter is made and the request is closed.")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download the letter (PDF)").click()
    download = download_info.value
    assert download.suggested_filename == f"{reference}-letter.pdf"
    letter = _pdf_text(download)
    assert reference in letter
    assert "Lotte" in letter  # addressed to the requester, whose details are removed right after

    page.get_by_role("button", name="Mark the letter as sent").click()
    expect(page.get_by_role("status")).to_contain_text("the kept copy has been removed")
    expect(page.get_by_role("link", name="Download the letter (PDF)")).to_have_count(0)

    # The request is closed and minimised; the member is gone from the active list.
    page.goto(f"{base_url}/privacy/requests/{reference}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Completed")
    expect(page.get_by_text("Contact details removed on")).to_be_visible()
    expect(page.locator("table.timeline")).to_contain_text("Confirmation letter made")
    expect(page.locator("body")).not_to_contain_text("lotte@example.nl")

    page.get_by_role("link", name="Members").first.click()
    page.get_by_role("searchbox").fill("Jansen")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.get_by_text("0 members found")).to_be_visible()
    page.get_by_role("searchbox").fill("")
    page.locator("#member-status").select_option("anonymised")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.get_by_text("1 member found")).to_be_visible()
    table = page.locator("table.members")
    expect(table).to_contain_text(number)
    expect(table).not_to_contain_text("Jansen")
    expect(table).not_to_contain_text("lotte@example.nl")
    table.get_by_role("link", name="Anonymised member").click()
    expect(page).to_have_url(re.compile(rf"/members/{number}$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Anonymised member")
    page.locator("#member-actions").get_by_role("link", name="Privacy and membership").click()
    expect(page.locator("#data-export")).to_contain_text("there is no personal data left to export")
    expect(page.locator("main")).not_to_contain_text("Jansen")


def test_a_member_uses_the_public_form_in_dutch(page, base_url):
    page.goto(f"{base_url}/request")
    page.get_by_role("button", name="Nederlands").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Vraag naar uw persoonsgegevens")
    expect(page.locator("html")).to_have_attribute("lang", "nl")
    page.get_by_label("Uw naam").fill("Daan Mulder")
    page.get_by_label("Uw e-mailadres").fill("daan@example.nl")
    page.get_by_label("Verwijderen", exact=True).check()
    page.get_by_role("button", name="Verzoek versturen").click()
    expect(page.get_by_text("Vul uw geboortedatum in.")).to_be_visible()
    expect(page.get_by_label("Uw naam")).to_have_value("Daan Mulder")
    page.get_by_label("Geboortedatum").fill("1975-11-30")
    page.get_by_role("button", name="Verzoek versturen").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Dank u, we hebben uw verzoek ontvangen")
    expect(page.locator("strong.reference")).to_have_text(re.compile(r"^AVG-\d{4}-\d+$"))


def test_front_desk_registers_a_request_handed_in_at_the_desk(page, base_url, logged_in_page, make_user):
    page = logged_in_page(make_user("front_desk"))
    panel = page.locator("section.panel", has=page.get_by_role("heading", name="Data requests"))
    panel.get_by_role("link", name="Register a request").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Register a request")
    page.get_by_label("Kind of request").select_option(label="Access: see which data the club holds")
    page.get_by_label("Received", exact=True).select_option(label="At the desk")
    page.get_by_label("Email").fill("not-an-address")
    page.get_by_label("What the requester asks").fill("Wants to see what we keep about her.")
    page.get_by_role("button", name="Register").click()
    expect(page.locator(".field.has-error")).to_have_count(2)  # no name, and the email is not one
    # The page puts the cursor in the first field in error once it has loaded; typing before then could
    # land in that field instead, as a hurried user's typing would.
    expect(page.get_by_label("Name of the requester")).to_be_focused()
    expect(page.get_by_label("What the requester asks")).to_have_value("Wants to see what we keep about her.")
    page.get_by_label("Name of the requester").fill("Fatima el Amrani")
    page.get_by_label("Email").fill("fatima@example.nl")
    page.get_by_role("button", name="Register").click()
    # The desk registers and is back at an empty form; the register itself is the privacy officer's.
    expect(page.locator("p.flash")).to_contain_text(re.compile(r"Request AVG-\d{4}-\d+ registered\."))
    expect(page.get_by_label("Name of the requester")).to_have_value("")
    expect(page.get_by_role("link", name="Data requests")).to_have_count(0)
    assert page.request.get(f"{base_url}/privacy/requests", max_redirects=0).status == 403
