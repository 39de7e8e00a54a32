"""Translation catalogues: compile the Dutch fragments, list strings still untranslated.

Dutch translations live in fragments, app/i18n/nl/<area>.po, one per area of the
product, so work on different areas never edits the same file. `compile` merges them
into app/translations/<lang>/LC_MESSAGES/messages.mo (English is the source language,
so its catalogue is empty and every string falls through to the English msgid).

    python -m app.catalogs compile
    python -m app.catalogs missing      # msgids in code/templates without a Dutch translation
    python -m app.catalogs stub AREA    # append the missing msgids to app/i18n/nl/AREA.po
    python -m app.catalogs prune        # drop translations of strings the code no longer has
"""

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

APP = Path(__file__).resolve().parent
FRAGMENTS = APP / "i18n"
OUTPUT = APP / "translations"
# N_ marks a string for the catalogue without translating it (gettext's convention), for
# constants that are translated where they are shown.
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None, "_n": (1, 2),
            "lazy_ngettext": (1, 2), "N_": None}
# Mail templates have a plain-text twin (.txt) beside the HTML one.
METHODS = [("**/templates/**.html", "jinja2"), ("**/templates/**.txt", "jinja2"), ("**.py", "python")]


def _wanted_directory(path: str) -> bool:
    """Babel skips folders starting with '_' by default; templates/_macros must be read."""
    name = Path(path).name
    return not name.startswith(".") and name not in {"__pycache__", "translations", "i18n"}


def extracted() -> dict[str, tuple[str, int]]:
    """Every translatable msgid in the app, with one place it occurs."""
    found: dict[str, tuple[str, int]] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(APP),
        METHODS,
        keywords=KEYWORDS,
        options_map={"**/templates/**.html": {"extensions": "jinja2.ext.i18n"},
                     "**/templates/**.txt": {"extensions": "jinja2.ext.i18n"}},
        directory_filter=_wanted_directory,
    ):
        msgid = message[0] if isinstance(message, tuple) else message
        if msgid:
            found.setdefault(msgid, (filename, lineno))
    return found


def load(lang: str) -> Catalog:
    """All fragments of one language merged into a single catalogue."""
    merged = Catalog(locale=lang, domain="messages")
    for path in sorted((FRAGMENTS / lang).glob("*.po")):
        with path.open("rb") as handle:
            fragment = read_po(handle, locale=lang)
        for message in fragment:
            if message.id and message.string and not message.fuzzy:
                merged.add(message.id, message.string)
    return merged


def compile_all() -> None:
    for lang in ("nl", "en"):
        target = OUTPUT / lang / "LC_MESSAGES"
        target.mkdir(parents=True, exist_ok=True)
        catalog = load(lang) if (FRAGMENTS / lang).exists() else Catalog(locale=lang)
        with (target / "messages.mo").open("wb") as handle:
            write_mo(handle, catalog)


def missing(lang: str = "nl") -> list[tuple[str, tuple[str, int]]]:
    catalog = load(lang)
    return [(msgid, where) for msgid, where in sorted(extracted().items()) if not catalog.get(msgid)]


def stub(area: str, lang: str = "nl") -> int:
    """Append empty entries for missing msgids to one fragment, for a translator to fill."""
    path = FRAGMENTS / lang / f"{area}.po"
    catalog = Catalog(locale=lang)
    if path.exists():
        with path.open("rb") as handle:
            catalog = read_po(handle, locale=lang)
    todo = missing(lang)
    for msgid, (filename, lineno) in todo:
        if msgid not in catalog:
            catalog.add(msgid, "", locations=[(filename, lineno)])
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        write_po(handle, catalog, omit_header=False, width=0, sort_output=False)
    return len(todo)


def _msgid_key(msgid) -> str:
    return msgid[0] if isinstance(msgid, tuple) else msgid


def stale(lang: str = "nl") -> dict[str, list[str]]:
    """Per fragment, the msgids it translates that no code or template uses any more."""
    used = extracted()
    found = {}
    for path in sorted((FRAGMENTS / lang).glob("*.po")):
        with path.open("rb") as handle:
            catalog = read_po(handle, locale=lang)
        unused = [_msgid_key(m.id) for m in catalog if m.id and _msgid_key(m.id) not in used]
        if unused:
            found[path.name] = unused
    return found


def prune(lang: str = "nl") -> int:
    removed = 0
    for name, unused in stale(lang).items():
        path = FRAGMENTS / lang / name
        with path.open("rb") as handle:
            catalog = read_po(handle, locale=lang)
        for msgid in unused:
            del catalog[msgid]
            removed += 1
        with path.open("wb") as handle:
            write_po(handle, catalog, width=0)
    return removed


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "compile"
    if command == "compile":
        compile_all()
    elif command == "missing":
        rows = missing()
        for msgid, (filename, lineno) in rows:
            print(f"{filename}:{lineno}: {msgid}")
        sys.exit(1 if rows else 0)
    elif command == "prune":
        print(f"{prune()} unused translation(s) removed")
    elif command == "stub":
        print(f"{stub(sys.argv[2])} missing msgid(s) added to app/i18n/nl/{sys.argv[2]}.po")
    else:
        sys.exit(__doc__)
