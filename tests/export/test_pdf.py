"""The printable export, read back with pypdf: letter, sections, numbering, and no way out for notes."""

import re
from datetime import datetime, timedelta
from io import BytesIO

import pytest
from flask_babel import force_locale
from markupsafe import escape
from pypdf import PdfReader

from app.models import StaffNote, Visit
from app.services import export as export_service
from app.services.pdf import StaticOnlyFetcher, render_pdf


def _pdf_text(member, actor, language="en", fetcher=None):
    with force_locale(language):
        export = export_service.gather(member, actor, complete_visits=False)
        pdf = export_service.render_export_pdf(export, fetcher)
    reader = PdfReader(BytesIO(pdf))
    return [" ".join(page.extract_text().split()) for page in reader.pages]


@pytest.mark.slow
def test_pdf_holds_letter_sections_and_page_numbers(seeded_member, full_staff):
    pages = _pdf_text(seeded_member, full_staff)
    text = "\n".join(pages)
    assert "Jörg van der Veen" in pages[0]  # the letter is addressed to the member
    assert "Your personal data at" in pages[0]
    for heading in ("What we do with your data", "Subscriptions", "Visits per month", "Recipients of your data",
                    "How long we keep your data", "Your rights"):
        assert heading in text, heading
    assert "Fitness Unlimited" in text and "Fitness Onbeperkt" not in text and "€ 34,95" in text
    assert re.search(r"2026 – – 1 – – – – – – – – – 1", text)  # one visit, in March 2026
    assert "No partner system or API client has received" in text
    assert "7 years after the end of the book year" in text  # retention of invoices (default policy)
    assert "Autoriteit Persoonsgegevens" in text
    assert "We do not take decisions about you by automated means alone" in text
    assert "Knieblessure links" in text and "Wil graag op dinsdag trainen." in text
    total = len(pages)
    assert total >= 2
    assert f"Page 1 of {total}" in pages[0] and f"Page {total} of {total}" in pages[-1]


def test_pdf_in_dutch_numbers_pages_in_dutch(seeded_member, full_staff):
    pages = _pdf_text(seeded_member, full_staff, language="nl")
    total = len(pages)
    assert f"Pagina 1 van {total}" in pages[0]
    assert "Jaar Jan Feb Mrt Apr Mei Jun Jul Aug Sep Okt Nov Dec Totaal" in "\n".join(pages)


@pytest.mark.slow
def test_visits_show_a_month_summary_and_only_the_recent_ones(db, make_member, full_staff):
    member = make_member()
    start = datetime(2025, 1, 1, 9, 0)
    db.session.add_all([
        Visit(member_id=member.id, checked_in_at=start + timedelta(days=i // 3, hours=i % 3),
              location=f"Zaal {1 + i % 2}", source="desk")
        for i in range(240)
    ])
    db.session.commit()
    text = "\n".join(_pdf_text(member, full_staff))
    assert "We recorded 240 visits." in text
    assert "Your 50 most recent visits" in text
    assert "Zaal 1, Zaal 2" in text
    # Per month: 1 Jan - 21 Mar 2025, three visits a day (local time).
    assert "Year Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec Total" in text
    assert re.search(r"2025 93 84 63 – – – – – – – – – 240", text)
    assert "complete list of visits is in the machine-readable package" in text
    with force_locale("en"):
        html = export_service.render_export_html(export_service.gather(member, full_staff, complete_visits=False))
    assert html.count('class="recent-visit"') == 50
    newest = (start + timedelta(days=239 // 3, hours=239 % 3 + 1)).strftime("%-d %b %Y, %H:%M")
    assert newest in text  # the newest visit is listed (local time, one hour ahead in winter)


def test_front_desk_letter_says_what_was_left_out(seeded_member, make_user):
    front_desk = make_user("front_desk", permissions=["privacy.export"])
    text = "\n".join(_pdf_text(seeded_member, front_desk))
    assert "Knieblessure" not in text and seeded_member.iban not in text and "F2026-0001" not in text
    assert "What this document does not contain" in text
    assert "Health notes are not included" in text
    assert "Your invoices and bank account number (IBAN) are not included" in text


@pytest.mark.slow
def test_markup_in_a_note_is_printed_as_text_and_fetches_nothing(db, seeded_member, full_staff, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET-4711")
    body = f'<img src="file://{secret}"> <link rel="stylesheet" href="http://127.0.0.1:9/x.css"> einde'
    db.session.add(StaffNote(member_id=seeded_member.id, body=body))
    db.session.commit()

    fetcher = StaticOnlyFetcher()
    text = "\n".join(_pdf_text(seeded_member, full_staff, fetcher=fetcher))
    # Autoescaping: the note is shown as the text that was typed, and nothing was requested for it.
    assert "<img" in text and "file://" in text and "einde" in text
    assert "TOPSECRET" not in text
    assert not any(url.startswith(("file:", "http:")) for url in fetcher.refused)

    # Even if the escaping were lost, the fetcher would refuse both URLs.
    with force_locale("en"):
        html = export_service.render_export_html(export_service.gather(seeded_member, full_staff, complete_visits=False))
    assert str(escape(body)) in html
    raw = html.replace(str(escape(body)), body)
    fetcher = StaticOnlyFetcher()
    pdf = render_pdf(raw, fetcher)
    raw_text = " ".join(page.extract_text() for page in PdfReader(BytesIO(pdf)).pages)
    assert "TOPSECRET" not in raw_text
    assert any(url.startswith("file:") for url in fetcher.refused)
    assert any(url.startswith("http://127.0.0.1") for url in fetcher.refused)
    assert not [u for u in fetcher.refused if not re.match(r"(file|http):", u)]


def test_pdf_of_a_member_with_nothing_attached(make_member, full_staff):
    member = make_member()
    text = " ".join(_pdf_text(member, full_staff))
    assert "We recorded 0 visits." in text and "Visits per month" not in text
    assert "Nothing recorded." in text and "You have not given consent for anything." in text
