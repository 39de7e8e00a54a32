"""The register: search by reference or name (POSTed only), sorting, days left, channel and status in words."""

import re
from datetime import datetime

from tests.privacy.helpers import register


def _rows(page: str) -> list[str]:
    """The references in the register's table, in the order shown."""
    body = page.split('<table class="list register">', 1)[1].split("</table>", 1)[0]
    return re.findall(r">(AVG-\d{4}-\d{4})</a>", body)


def _three(client, login_as, make_user, frozen_clock):
    officer = make_user("privacy_officer")
    frozen_clock(datetime(2026, 1, 5, 9, 0))
    login_as(officer)
    first = register(client, kind="access", requester_name="Jorg Veenstra", channel="phone")   # due 5 Feb
    frozen_clock(datetime(2026, 1, 30, 9, 0))
    login_as(officer)
    second = register(client, kind="erasure", requester_name="Anna de Boer", channel="mail")   # due 28 Feb
    frozen_clock(datetime(2026, 2, 20, 9, 0))
    login_as(officer)
    third = register(client, kind="rectification", requester_name="Anna Smit")                # due 20 Mar
    return first, second, third


def test_search_by_reference_or_name_is_posted_and_never_in_a_url(client, make_user, login_as, frozen_clock):
    first, second, third = _three(client, login_as, make_user, frozen_clock)
    page = client.post("/privacy/requests", data={"q": "anna", "filter": "open"}).get_data(as_text=True)
    assert set(_rows(page)) == {second, third} and "2 requests found." in page
    page = client.post("/privacy/requests", data={"q": "anna boer"}).get_data(as_text=True)
    assert _rows(page) == [second]
    page = client.post("/privacy/requests", data={"q": first.lower()}).get_data(as_text=True)
    assert _rows(page) == [first]
    assert _rows(client.post("/privacy/requests", data={"q": "nobody here"}).get_data(as_text=True)) == []
    # The search form posts; no link on the page carries the term, and a q in the URL searches nothing.
    assert 'method="post" class="searchbar" action="/privacy/requests" role="search"' in page
    assert "q=" not in page
    assert set(_rows(client.get("/privacy/requests?q=anna").get_data(as_text=True))) == {first, second, third}


def test_sorting_days_left_channel_and_status_badges(client, make_user, login_as, frozen_clock):
    first, second, third = _three(client, login_as, make_user, frozen_clock)
    page = client.get("/privacy/requests").get_data(as_text=True)
    assert _rows(page) == [first, second, third]  # nearest deadline first
    assert _rows(client.get("/privacy/requests?sort=-due").get_data(as_text=True)) == [third, second, first]
    assert _rows(client.get("/privacy/requests?sort=-received").get_data(as_text=True)) == [third, second, first]
    assert _rows(client.get("/privacy/requests?sort=bogus").get_data(as_text=True)) == [first, second, third]
    # Today is 20 February: the first is 15 days overdue, highlighted; the second has 8 days left.
    row = page.split(f">{first}</a>")[0].rsplit("<tr", 1)[1]
    assert 'class="overdue"' in row
    assert '<span class="badge badge-danger">15 days overdue</span>' in page
    assert "8 days left" in page and "28 days left" in page
    assert "By phone" in page and "By post" in page and "At the desk" in page
    assert '<span class="badge badge-warning">Received</span>' in page
    table = page.split('<table class="list register">', 1)[1]
    assert "in_progress" not in table and "2026-02-05" not in table and ">phone<" not in table


def test_the_register_reads_in_dutch(client, make_user, login_as, frozen_clock):
    client.post("/language", data={"lang": "nl"})
    _three(client, login_as, make_user, frozen_clock)
    page = client.get("/privacy/requests").get_data(as_text=True)
    assert "15 dagen te laat" in page and "nog 8 dagen" in page and "Telefonisch" in page
    assert "Referentie of naam" in page and "Resterende dagen" in page
