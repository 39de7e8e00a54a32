"""The main menu: each visitor sees the entries their permissions open, the current page marked, in their language."""

import re

from app.auth.permissions import CODES


def _menu(page: str) -> list[tuple[str, str, bool]]:
    """(label, href, marked current) of each main-menu link, in order."""
    nav = re.search(r'<nav class="mainnav"[^>]*>(.*?)</nav>', page, re.S)
    assert nav, "the page has a main menu"
    return [(label, href, bool(current)) for href, current, label in
            re.findall(r'<a href="([^"]+)"( aria-current="page")?>([^<]+)</a>', nav.group(1))]


def test_the_front_desk_sees_only_what_it_may_open(client, make_user, login_as):
    login_as(make_user("front_desk"))
    labels = [label for label, _href, _current in _menu(client.get("/members").get_data(as_text=True))]
    assert labels[:2] == ["Dashboard", "Members"]
    assert not {"Users", "Roles", "Audit log", "Retention", "API clients", "Plans"} & set(labels)
    for _label, href, _current in _menu(client.get("/").get_data(as_text=True)):
        assert client.get(href).status_code == 200  # every entry shown opens


def test_every_entry_in_order_for_a_user_with_every_permission_and_the_current_one_marked(client, make_user,
                                                                                        login_as):
    login_as(make_user(permissions=sorted(CODES)))
    menu = _menu(client.get("/privacy/retention").get_data(as_text=True))
    assert [label for label, _href, _current in menu] == [
        "Dashboard", "Members", "Plans", "Data requests", "Retention", "Integrations", "Users", "Roles",
        "Audit log", "API clients"]
    assert [label for label, _href, current in menu if current] == ["Retention"]
    marked = [label for label, _href, current in _menu(client.get("/privacy/requests").get_data(as_text=True))
              if current]
    assert marked == ["Data requests"]
    assert not any(current for _l, _h, current in _menu(client.get("/account").get_data(as_text=True)))


def test_the_menu_speaks_dutch(client, make_user, login_as):
    client.post("/language", data={"lang": "nl", "next": "/"})
    login_as(make_user("front_desk"))
    labels = [label for label, _href, _current in _menu(client.get("/members").get_data(as_text=True))]
    assert labels[:2] == ["Overzicht", "Leden"]
    assert [label for label, _href, current in _menu(client.get("/members").get_data(as_text=True)) if current] == [
        "Leden"]
