"""Data exports in a real browser: from the member page, and as the answer to an access request."""

import io
import json
import re
import zipfile

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from app.extensions import db
from app.services import privacy_requests

pytestmark = pytest.mark.browser


def _read(download) -> bytes:
    with open(download.path(), "rb") as handle:
        return handle.read()


def _pdf_text(body: bytes) -> str:
    assert body.startswith(b"%PDF-")
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(body)).pages)


def _zip_member(body: bytes) -> tuple[list[str], dict]:
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        assert archive.testzip() is None
        return archive.namelist(), json.loads(archive.read("member.json"))


def test_privacy_officer_downloads_a_members_pdf_and_package(logged_in_page, base_url, make_user, make_member):
    sanne = make_member(first_name="Sanne", infix="de", last_name="Wit", email="sanne@example.nl", city="Delft")
    page = logged_in_page(make_user("privacy_officer"))

    page.get_by_role("link", name="Members").first.click()
    page.get_by_role("searchbox").fill("Sanne")
    page.get_by_role("button", name="Search", exact=True).click()
    page.get_by_role("link", name="Wit, Sanne de").click()
    expect(page).to_have_url(re.compile(rf"/members/{sanne.member_number}$"))
    expect(page.locator("#data-export")).to_have_count(0)  # the profile comes first; the export has its own tab
    page.locator("#member-actions").get_by_role("link", name="Privacy and membership").click()

    card = page.locator("#data-export")
    expect(card.get_by_role("heading", name="Data export")).to_be_visible()
    # The privacy officer's role has no health notes: the page says the export leaves them out.
    expect(card).to_contain_text("does not allow you to see health notes")

    card.get_by_label("Language of the export").select_option("en")
    with page.expect_download() as pdf_download:
        card.get_by_role("button", name="Download PDF").click()
    assert pdf_download.value.suggested_filename.endswith(".pdf")
    text = _pdf_text(_read(pdf_download.value))
    assert "Sanne" in text and "Wit" in text
    assert str(sanne.member_number) in text
    assert "sanne@example.nl" in text

    card.get_by_label("Language of the export").select_option("nl")
    with page.expect_download() as zip_download:
        card.get_by_role("button", name="Download package (ZIP)").click()
    assert zip_download.value.suggested_filename.endswith(".zip")
    names, document = _zip_member(_read(zip_download.value))
    assert "member.json" in names and "README.txt" in names
    assert document["member_number"] == sanne.member_number
    assert document["language"] == "nl"
    assert document["profile"]["last_name"] == "Wit"
    assert {"part": "health_notes"}.items() <= next(o for o in document["not_included"]
                                                    if o["part"] == "health_notes").items()

    # Downloading left the page where it was, still usable.
    expect(page).to_have_url(re.compile(rf"/members/{sanne.member_number}\?tab=privacy$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Sanne de Wit")


def test_access_request_is_answered_with_an_export_and_its_hand_over_recorded(logged_in_page, base_url,
                                                                              make_user, make_member):
    bram = make_member(first_name="Bram", infix=None, last_name="Visser", email="bram@example.nl")
    seeded = privacy_requests.register("access", channel="email", requester_name="Bram Visser",
                                       requester_email="bram@example.nl",
                                       requester_member_number=str(bram.member_number))
    db.session.commit()
    reference = seeded.reference
    page = logged_in_page(make_user("privacy_officer"))

    page.goto(f"{base_url}/privacy/requests")
    page.get_by_role("link", name=reference).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"{reference} · Access")
    page.get_by_role("link", name="Verify identity").click()
    page.get_by_label("How was the identity verified?").fill("Called back on the number we have on file.")
    page.locator("table.candidates tr", has_text=str(bram.member_number)).get_by_role(
        "button", name="This is the member").click()
    expect(page.get_by_role("status")).to_contain_text("Identity verified")

    card = page.locator("#data-export")
    expect(card).to_contain_text("Export produced")
    expect(card.get_by_label("How was it handed over?")).to_have_count(0)  # nothing produced yet
    loads = []
    page.on("framenavigated", lambda frame: loads.append(frame.url) if frame == page.main_frame else None)
    card.get_by_label("Language of the export").select_option("en")
    with page.expect_download() as pdf_download:
        card.get_by_role("button", name="Produce PDF letter").click()
    text = _pdf_text(_read(pdf_download.value))
    assert "Bram" in text and "Visser" in text
    assert reference in text
    # The download leaves the page in place; the block updates itself (clubhouse.js), no reload.
    expect(card.get_by_label("How was it handed over?")).to_be_visible()
    expect(card.locator("dd").first).not_to_have_text("not yet")  # produced, with its time
    assert loads == []

    produced = card.get_attribute("data-produced")
    with page.expect_download() as zip_download:
        card.get_by_role("button", name="Produce package (ZIP)").click()
    expect(card).not_to_have_attribute("data-produced", produced)  # the block has caught up with the ZIP
    names, document = _zip_member(_read(zip_download.value))
    assert "member.json" in names
    assert document["request_reference"] == reference

    assert loads == []
    expect(card.get_by_label("How was it handed over?")).to_be_visible()
    handover = card.get_by_label("How was it handed over?")
    card.get_by_role("button", name="Record hand-over").click()  # no method chosen: the browser asks for one
    assert handover.evaluate("select => select.validity.valueMissing")
    expect(page.locator("table.timeline")).not_to_contain_text("Export handed over")
    handover.select_option(label="Handed over in person")
    card.get_by_role("button", name="Record hand-over").click()
    expect(page.get_by_role("status")).to_contain_text("Recorded that the export was handed over.")
    expect(page.locator("#data-export dd").nth(1)).not_to_have_text("not yet")
    timeline = page.locator("table.timeline")
    expect(timeline.locator("tr", has_text="Export produced")).to_have_count(2)
    expect(timeline.locator("tr", has_text="Export produced").first).to_contain_text("PDF")
    expect(timeline.locator("tr", has_text="Export handed over")).to_contain_text("Handed over in person")
