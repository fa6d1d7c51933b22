"""Every user-visible string has a Russian translation, and the interface speaks it."""

from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

pytestmark = pytest.mark.sqlite_only

ROOT = Path(__file__).parent.parent
CATALOGUE = ROOT / "crm" / "translations" / "ru" / "LC_MESSAGES" / "messages.po"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "_l": None}


def strings_in_code():
    method_map = [("crm/**.py", "python"), ("crm/templates/**.html", "jinja2")]
    found = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, keywords=KEYWORDS
    ):
        msgid = message[0] if isinstance(message, tuple) else message
        found.setdefault(msgid, f"{filename}:{lineno}")
    return found


def test_every_string_has_a_russian_translation():
    with CATALOGUE.open("rb") as f:
        catalogue = read_po(f, locale="ru")
    missing = []
    for msgid, where in sorted(strings_in_code().items()):
        entry = catalogue.get(msgid)
        translated = (
            entry is not None
            and not entry.fuzzy
            and all(entry.string if isinstance(entry.string, tuple) else [entry.string])
        )
        if not translated:
            missing.append(f"{where}: {msgid!r}")
    assert not missing, "No Russian translation for:\n" + "\n".join(missing)


def test_interface_follows_the_account_language(app, client, auth, admin):
    from crm.extensions import db

    admin.locale = "ru"
    db.session.commit()
    auth.login(admin.email)
    page = client.get("/settings/").text
    assert '<html lang="ru">' in page
    assert "Настройки" in page


def test_anonymous_pages_follow_the_browser_language(client, admin):
    page = client.get("/login", headers={"Accept-Language": "ru-RU,ru;q=0.9,en;q=0.5"})
    assert '<html lang="ru">' in page.text
    page = client.get("/login", headers={"Accept-Language": "de-DE,en;q=0.5"})
    assert '<html lang="en">' in page.text


def test_language_switch_is_remembered_on_the_account(client, auth, admin):
    auth.login(admin.email)
    response = client.post("/language", data={"language": "ru", "next": "/settings/"})
    assert response.location == "/settings/"
    from crm.extensions import db

    db.session.refresh(admin)
    assert admin.locale == "ru"
    assert '<html lang="ru">' in client.get("/settings/").text


def test_language_switch_before_login(client, admin):
    client.post("/language", data={"language": "ru", "next": "/login"})
    assert '<html lang="ru">' in client.get("/login").text
