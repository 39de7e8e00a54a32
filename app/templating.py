"""Helpers every template can use: can(), the current language, date formats."""

import os

from flask import g, request, url_for
from flask_babel import format_date, format_datetime, format_time, get_locale, get_translations
from flask_principal import AnonymousIdentity
from jinja2 import FileSystemBytecodeCache, pass_context

from app.auth.permissions import PermissionNeed
from app.i18n import format_count, format_day, format_moment


def can(code: str) -> bool:
    """True when the current identity holds the permission code."""
    identity = getattr(g, "identity", None) or AnonymousIdentity()
    return PermissionNeed(code) in identity.provides


def N_(text: str) -> str:  # noqa: N802 - gettext's name for a marker that translates nothing
    """Marks a menu label for the catalogue (app/catalogs.py extracts `N_`); main_menu() translates it."""
    return text


# The main menu: (target endpoint, label, the permission codes any one of which shows it, the
# endpoints that mark it as the current page; one ending in "." stands for every endpoint it begins).
MAIN_MENU = (
    ("main.dashboard", N_("Dashboard"), (), ("main.dashboard",)),
    ("members.index", N_("Members"), ("members.view",), ("members.",)),
    ("plans.index", N_("Plans"), ("plans.manage",), ("plans.",)),
    ("privacy.requests", N_("Data requests"), ("privacy.view",),
     ("privacy.request", "privacy.requests", "privacy.register_request", "privacy.request_export",
      "privacy.request_export_handed_over", "privacy.identity", "privacy.identity_search", "privacy.erasure_",
      "privacy.close", "privacy.extend", "privacy.objection", "privacy.rectification", "privacy.restriction")),
    ("privacy.retention", N_("Retention"), ("retention.view",),
     ("privacy.retention", "privacy.retention_", "privacy.legal_hold_")),
    ("integrations.index", N_("Integrations"), ("integrations.view",),
     ("integrations.index", "integrations.connector", "integrations.full_sync", "integrations.retry",
      "integrations.opt_out")),
    ("admin.users", N_("Users"), ("admin.users",), ("admin.user",)),
    ("admin.roles", N_("Roles"), ("admin.roles",), ("admin.role",)),
    ("admin.audit", N_("Audit log"), ("audit.view",), ("admin.audit",)),
    ("integrations.api_clients_index", N_("API clients"), ("integrations.view", "integrations.manage"),
     ("integrations.api_client",)),
)


def _marks(endpoint: str, prefix: str) -> bool:
    return endpoint == prefix or (prefix.endswith(".") and endpoint.startswith(prefix))


def main_menu() -> list[tuple[str, str, bool]]:
    """The menu entries this visitor may use, as (URL, label, is the current page), in menu order.

    Built once per page in Python: as a Jinja loop over the prefixes it cost about 0.4 ms of the
    5-6 ms of CPU a logged-in page takes (docs/benchmarks.md, eighth round of the suite).
    """
    endpoint = request.endpoint or ""
    translations = get_translations()
    return [(url_for(target), translations.ugettext(label), any(_marks(endpoint, p) for p in prefixes))
            for target, label, codes, prefixes in MAIN_MENU
            if not codes or any(can(code) for code in codes)]


# The catalogue a page is rendered with is looked up once per render (the context processor puts it
# in the template's context) instead of once per string: Flask-Babel's own callables look the domain,
# the locale and the catalogue up again for each of the 50-100 strings of a page. A template rendered
# without it (an imported macro, a render outside Flask) asks Flask-Babel as before.
TRANSLATIONS_KEY = "_page_translations"


@pass_context
def _gettext(context, string: str) -> str:
    return (context.get(TRANSLATIONS_KEY) or get_translations()).ugettext(string)


@pass_context
def _ngettext(context, singular: str, plural: str, n: int) -> str:
    return (context.get(TRANSLATIONS_KEY) or get_translations()).ungettext(singular, plural, n)


def register(app) -> None:
    keep_compiled_templates(app)

    @app.context_processor
    def inject():
        return {"can": can, "current_locale": str(get_locale() or "nl"), "club_name": app.config["CLUB_NAME"],
                TRANSLATIONS_KEY: get_translations()}

    app.jinja_env.globals["main_menu"] = main_menu
    app.jinja_env.install_gettext_callables(gettext=_gettext, ngettext=_ngettext, newstyle=True)

    # One format per kind (app/i18n.py): the named Babel widths a template may still pass map onto it;
    # an explicit pattern ("yyyy-MM-dd") is used as given.
    app.jinja_env.filters["date"] = lambda value, fmt=None: (
        format_day(value) if fmt in (None, "short", "medium", "long", "full") or isinstance(value, str)
        else format_date(value, fmt) if value else "")
    app.jinja_env.filters["datetime"] = lambda value, fmt=None: (
        format_moment(value, seconds=fmt == "medium") if fmt in (None, "short", "medium", "long", "full")
        else format_datetime(value, fmt) if value else "")
    app.jinja_env.filters["number"] = format_count
    # A time of day in the club's time zone (14:05): for lists of one day, where the date is in the heading.
    app.jinja_env.filters["time"] = lambda value: format_time(value, "HH:mm") if value else ""
    from app.services import roles  # noqa: PLC0415 (services import models, which need the app's extensions)

    app.jinja_env.filters["role_name"] = roles.role_name
    app.jinja_env.filters["role_description"] = roles.role_description
    app.jinja_env.filters["money"] = format_money


def format_money(value) -> str:
    """Euro amounts the Dutch way: € 1.234,50."""
    if value is None:
        return ""
    return "€ " + f"{value:,.2f}".replace(",", " ").replace(".", ",").replace(" ", ".")


def keep_compiled_templates(app) -> None:
    """Compiled templates are kept on disk (Jinja's own bytecode cache), so a new process or app
    does not parse and compile every template again before its first pages (about half a second
    for all of them). Each entry is checked against its template's source, so an edited template
    is compiled afresh. TEMPLATE_CACHE_DIR, default instance/template-cache; a folder of compiled
    templates only, which the raw-file scan of instance/ does not need to read.
    """
    folder = app.config.get("TEMPLATE_CACHE_DIR") or os.path.join(app.instance_path, "template-cache")
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
    except OSError:
        return  # a read-only installation compiles in memory, as without the cache
    app.jinja_env.bytecode_cache = FileSystemBytecodeCache(folder)
