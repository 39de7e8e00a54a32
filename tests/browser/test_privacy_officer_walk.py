"""The proof of issue 17: a first-time privacy officer takes an erasure request from the public form to the
sent letter in at most 10 page loads, in Dutch, and every page on the way reads in words.

Page loads are counted as real navigations of the main frame (Playwright's `framenavigated`), from the
dashboard the login lands on (the first load) up to the page that confirms the letter was sent: a form
post that redirects is one load, a download is none. The login pages themselves are not counted.
"""

import re
from datetime import date

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

MAX_LOADS = 10  # the bound; the walk takes 10, the dashboard included

# What a developer reads but a privacy officer should not: table and column names, ISO dates,
# stored codes and Python values, English status words in a Dutch page.
RAW_CODES = [
    (re.compile(r"\b[a-z]+_[a-z_]+\b"), "a code with underscores (table, column or status)"),
    (re.compile(r"\b\d{4}-\d{2}-\d{2}\b"), "an ISO date"),
    (re.compile(r"\b(anonymi[sz]ed?|erased?|granted|pending|received|in progress)\b"), "an English status word"),
    (re.compile(r"\{'|\bNone\b|\bTrue\b|\bFalse\b"), "a Python value"),
]


def _reads_in_words(page, where: str) -> None:
    """The visible text of the page's main part has no raw code (folded technical detail is not visible)."""
    text = page.locator("main").inner_text()
    for pattern, what in RAW_CODES:
        found = pattern.search(text)
        assert found is None, f"{where}: {what} on the page: {found.group(0)!r}"


def test_first_time_officer_from_public_form_to_sent_letter_in_ten_loads(browser, page, base_url, logged_in_page,
                                                                         make_user, make_member):
    lotte = make_member(first_name="Lotte", infix=None, last_name="Jansen", email="lotte@example.nl",
                        date_of_birth=date(1988, 3, 2), city="Zwolle")
    number = str(lotte.member_number)

    # The member, in a browser of her own, asks in Dutch through the public form.
    member_context = browser.new_context(locale="nl-NL", timezone_id="Europe/Amsterdam")
    form = member_context.new_page()
    form.goto(f"{base_url}/request")
    form.get_by_role("button", name="Nederlands").click()
    _reads_in_words(form, "the public form")
    form.get_by_label("Uw naam").fill("Lotte Jansen")
    form.get_by_label("Uw e-mailadres").fill("lotte@example.nl")
    form.get_by_label("Geboortedatum").fill("1988-03-02")
    form.get_by_label("Verwijderen", exact=True).check()
    form.get_by_role("button", name="Verzoek versturen").click()
    expect(form.get_by_role("heading", level=1)).to_have_text("Dank u, we hebben uw verzoek ontvangen")
    _reads_in_words(form, "the acknowledgement")
    reference = form.locator("strong.reference").inner_text()
    member_context.close()

    # The privacy officer (Dutch is her language) logs in and lands on the dashboard; from here on we count.
    logged_in_page(make_user("privacy_officer", locale="nl"))
    loads: list[str] = [page.url]  # the dashboard counts as the first load
    page.on("framenavigated", lambda frame: loads.append(frame.url) if frame == page.main_frame else None)
    _reads_in_words(page, "the dashboard")

    def arrived(where: str) -> None:
        _reads_in_words(page, where)
        assert len(loads) <= MAX_LOADS, f"{len(loads)} page loads by {where}: {loads}"

    panel = page.locator("section.panel", has=page.get_by_role("heading", name="AVG-verzoeken"))
    panel.get_by_role("link", name="1 open").click()
    row = page.locator("table.list tbody tr", has_text=reference)
    expect(row).to_contain_text("Lotte Jansen")
    expect(row.locator(".badge")).to_have_text("Ontvangen")
    arrived("the register")

    row.get_by_role("link", name=reference).click()
    expect(page.get_by_text("De identiteit is nog niet gecontroleerd.")).to_be_visible()
    # The identity check is on the request page: the members matching what she told us, to pick.
    hits = page.locator("#identity-pick table.candidates")
    expect(hits).to_contain_text("Jansen, Lotte")  # found from the name she typed, nothing retyped
    arrived("the request page with the identity check")
    page.get_by_label("Hoe is de identiteit gecontroleerd?").fill("Paspoort getoond aan de balie.")
    hits.locator("tr", has_text="Jansen, Lotte").get_by_role("button", name="Dit is het lid").click()

    # Straight into the wizard: the officer sees who it is on every step.
    expect(page.locator("#wizard-member")).to_contain_text(f"Lotte Jansen · klantnummer {number}")
    arrived("step 1, the ground")
    page.get_by_label("De gegevens zijn niet meer nodig voor het doel waarvoor de club ze heeft verzameld.").check()
    page.get_by_role("button", name="Volgende").click()

    expect(page.get_by_label("Toewijzen: wissen zoals gevraagd")).to_be_visible()
    arrived("step 2, the decision")
    page.get_by_label("Toewijzen: wissen zoals gevraagd").check()
    page.get_by_role("button", name="Volgende").click()

    anonymise = page.get_by_role("radio", name=re.compile(r"^Anonimiseren"))
    expect(anonymise).to_be_visible()
    arrived("step 3, the method")
    anonymise.check()
    page.get_by_role("button", name="Volgende").click()

    confirm = page.get_by_label("Typ het klantnummer om te bevestigen")
    expect(confirm).to_be_visible()
    arrived("step 4, the confirmation")
    confirm.fill(number)
    page.get_by_role("button", name="Nu anonimiseren").click()

    expect(page.get_by_role("status")).to_contain_text("De anonimisering is uitgevoerd.")
    expect(page.get_by_role("heading", name="Controlerapport")).to_be_visible()
    arrived("step 5, the verification report")
    page.get_by_role("button", name="Brief maken en verzoek afsluiten").click()

    letter = page.locator("#letter")
    expect(letter).to_be_visible()
    arrived("the request page with the letter")
    with page.expect_download() as download:
        letter.get_by_role("link", name="Brief downloaden (pdf)").click()
    assert download.value.suggested_filename == f"{reference}-letter.pdf"
    letter.get_by_role("button", name="Brief markeren als verzonden").click()

    expect(page.locator("#letter")).to_contain_text("gemarkeerd als verzonden")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Afgehandeld")
    arrived("the request page after the letter was sent")
    assert len(loads) <= MAX_LOADS, loads
    print(f"\nprivacy officer walk: {len(loads)} page loads, the dashboard included: {loads}")
    expect(page.locator("main")).not_to_contain_text("lotte@example.nl")
