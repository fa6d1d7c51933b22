"""My account: each person's name, language and time zone, and the pages that then follow them."""

import re
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from crm import i18n, timezones
from crm.extensions import db
from crm.models import AuditEntry, User
from tests import factories

MOSCOW = ZoneInfo("Europe/Moscow")
VLADIVOSTOK = ZoneInfo("Asia/Vladivostok")
MINE = {"name": "Ada Admin", "language": "en", "timezone": "Asia/Vladivostok"}


def reload(user):
    db.session.expire_all()
    return db.session.get(User, user.id)


def selected(html, name):
    """The value a page's select named `name` has chosen."""
    select_html = re.search(rf'<select[^>]* name="{name}"[^>]*>.*?</select>', html, re.S)[0]
    return re.search(r'<option selected value="([^"]*)"', select_html)[1]


def log_form_when(html):
    return re.search(r'name="occurred_at"[^>]* value="([^"]+)"', html)[1]


def team_in(zone, language="en"):
    timezones.set_team_zone(zone)
    i18n.set_team_language(language)
    db.session.commit()


# The page


def test_my_account_is_linked_from_the_header_and_settings(logged_in):
    page = logged_in.get("/settings/").text
    assert page.count('href="/account"') == 2
    assert "My account: name, language, time zone" in page
    account = logged_in.get("/account")
    assert account.status_code == 200
    assert '<a class="who" href="/account"' in account.text
    assert 'aria-current="page">Ada Admin</a>' in account.text
    assert 'href="/account/password"' in account.text


def test_my_account_shows_what_is_set_and_the_team_zone_when_none(logged_in, admin):
    team_in("Europe/Moscow")
    page = logged_in.get("/account").text
    assert 'value="Ada Admin"' in page
    assert selected(page, "language") == "en"
    assert selected(page, "timezone") == "Europe/Moscow"
    assert "ada@example.com" in page


def test_saving_name_language_and_zone(logged_in, admin):
    response = logged_in.post(
        "/account",
        data={"name": "  Ada Lovelace ", "language": "ru", "timezone": "Asia/Vladivostok"},
    )
    assert response.status_code == 303
    assert response.location == "/account"
    admin = reload(admin)
    assert (admin.name, admin.locale, admin.timezone) == ("Ada Lovelace", "ru", "Asia/Vladivostok")
    page = logged_in.get("/account").text
    assert '<html lang="ru">' in page
    assert "Учётная запись сохранена." in page
    assert selected(page, "timezone") == "Asia/Vladivostok"


def test_a_zone_is_taken_whatever_its_case_and_kept_as_the_zone_database_spells_it(
    logged_in, admin
):
    assert logged_in.post("/account", data=MINE | {"timezone": " asia/TOKYO"}).status_code == 303
    assert reload(admin).timezone == "Asia/Tokyo"


def test_an_old_name_of_a_zone_is_kept_under_the_name_the_list_offers(logged_in, admin):
    """Browsers still report some zones by their old names (Chromium: Asia/Calcutta)."""
    for old, offered in [("Asia/Calcutta", "Asia/Kolkata"), ("Etc/UTC", "UTC")]:
        assert logged_in.post("/account", data=MINE | {"timezone": old}).status_code == 303
        assert reload(admin).timezone == offered
        assert selected(logged_in.get("/account").text, "timezone") == offered


def test_a_zone_the_list_lacks_is_offered_back_rather_than_lost(logged_in, admin):
    assert logged_in.post("/account", data=MINE | {"timezone": "Etc/GMT-3"}).status_code == 303
    assert reload(admin).timezone == "Etc/GMT-3"
    page = logged_in.get("/account").text
    assert '<option selected value="Etc/GMT-3">Etc/GMT-3</option>' in page


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"timezone": "Mars/Olympus_Mons"}, "There is no such time zone."),
        ({"timezone": "Europe"}, "There is no such time zone."),
        ({"timezone": "\x00"}, "There is no such time zone."),
        ({"timezone": "x" * 10_000}, "There is no such time zone."),
        ({"timezone": ""}, "This field is required."),
        ({"language": "de"}, "Not a valid choice."),
        ({"name": "\x00 \t"}, "Enter the person&#39;s name."),
        ({"name": "x" * 121}, "Field cannot be longer than 120 characters."),
    ],
)
def test_bad_input_is_explained_and_nothing_saved(logged_in, admin, fields, message):
    before = (admin.name, admin.locale, admin.timezone)
    entries = db.session.scalars(select(AuditEntry.id)).all()
    response = logged_in.post("/account", data=MINE | fields)
    assert response.status_code == 422
    assert message in response.text
    admin = reload(admin)
    assert (admin.name, admin.locale, admin.timezone) == before
    assert db.session.scalars(select(AuditEntry.id)).all() == entries


def test_every_person_reaches_only_their_own_account(app, stages):
    seller = factories.user(name="Sam Seller")
    colleague = factories.user(name="Sue Seller", timezone="Europe/Moscow")
    client = app.test_client()
    client.post("/login", data={"email": seller.email, "password": factories.PASSWORD})
    fields = {"name": "Sam", "language": "en", "timezone": "Asia/Vladivostok"}
    assert client.post("/account", data=fields).status_code == 303
    assert reload(seller).timezone == "Asia/Vladivostok"
    assert reload(colleague).timezone == "Europe/Moscow"
    assert client.get(f"/settings/users/{colleague.id}").status_code == 403


def test_the_zone_list_puts_russia_first_in_the_readers_language(logged_in, admin):
    page = logged_in.get("/account").text
    groups = re.findall(r'<optgroup label="([^"]+)">', page)
    assert groups[0] == "Russia" and "Europe" in groups and "Pacific Ocean" in groups
    russia = re.search(r'<optgroup label="Russia">(.*?)</optgroup>', page, re.S)[1]
    names = re.findall(r'value="([^"]+)">([^<]+)<', russia)
    assert names[0] == ("Europe/Kaliningrad", "Kaliningrad (UTC+2)")
    assert ("Europe/Moscow", "Moscow (UTC+3)") in names
    assert ("Asia/Vladivostok", "Vladivostok (UTC+10)") in names
    assert names[-1][0] in {"Asia/Kamchatka", "Asia/Anadyr"}
    # Each zone once: Moscow is in Russia's group, not again under Europe.
    assert page.count('value="Europe/Moscow"') == 1
    assert 'data-zone-picker="Find a city or zone"' in page
    assert "js/zones.js" in page

    logged_in.post("/language", data={"language": "ru", "next": "/account"})
    page = logged_in.get("/account").text
    assert re.findall(r'<optgroup label="([^"]+)">', page)[0] == "Россия"
    assert '<option value="Europe/Moscow">Москва (UTC+3)</option>' in page
    assert '<optgroup label="Европа">' in page


# The pages follow the person's zone, else the team's


def test_the_log_form_offers_the_time_on_the_persons_clock(logged_in, admin, stages):
    lead = factories.lead(owner=admin)
    logged_in.post("/account", data=MINE)
    shown = datetime.fromisoformat(log_form_when(logged_in.get(f"/leads/{lead.number}").text))
    now = datetime.now(VLADIVOSTOK).replace(tzinfo=None)
    assert abs(now - shown) < timedelta(minutes=2)


def test_without_a_zone_of_ones_own_the_team_zone_counts(logged_in, admin, stages):
    assert admin.timezone is None
    team_in("Europe/Moscow")
    lead = factories.lead(owner=admin)
    shown = datetime.fromisoformat(log_form_when(logged_in.get(f"/leads/{lead.number}").text))
    now = datetime.now(MOSCOW).replace(tzinfo=None)
    assert abs(now - shown) < timedelta(minutes=2)
    missed = logged_in.get("/agenda/missed").text
    assert "Days are counted in your time zone, Moscow (UTC+3)." in missed


def test_without_any_zone_chosen_the_configured_one_counts(app, logged_in, admin):
    app.config["BABEL_DEFAULT_TIMEZONE"] = "Asia/Vladivostok"
    missed = logged_in.get("/agenda/missed").text
    assert "Days are counted in your time zone, Vladivostok (UTC+10)." in missed


def test_the_agenda_day_ends_at_the_persons_midnight(logged_in, admin, stages):
    """Five to and five past midnight in Vladivostok: yesterday's overdue call and today's."""
    logged_in.post("/account", data=MINE)
    midnight = datetime.combine(datetime.now(VLADIVOSTOK).date(), time.min, tzinfo=VLADIVOSTOK)

    def due(moment):
        stored = moment.astimezone(UTC).replace(tzinfo=None)
        return factories.lead(owner=admin, stage=stages[0], next_step_at=stored)

    overdue, today = due(midnight - timedelta(minutes=5)), due(midnight + timedelta(minutes=5))
    page = logged_in.get("/agenda/").text
    assert f'id="agenda-overdue-{overdue.id}"' in page
    assert f'id="agenda-today-{today.id}"' in page


def test_the_calendar_feed_follows_the_team_zone_when_the_person_has_none(app, admin):
    team_in("Asia/Vladivostok")
    assert str(timezones.zone_of(admin)) == "Asia/Vladivostok"
    admin.timezone = "Europe/Moscow"
    assert str(timezones.zone_of(admin)) == "Europe/Moscow"
    # A name the zone database lost is passed over, not a failure.
    admin.timezone = "Nowhere/Gone"
    assert str(timezones.zone_of(admin)) == "Asia/Vladivostok"


def test_an_unknown_stored_zone_falls_back_instead_of_failing(logged_in, admin):
    db.session.execute(
        User.__table__.update().where(User.id == admin.id).values(timezone="Nowhere/Gone")
    )
    team_in("Europe/Moscow")
    missed = logged_in.get("/agenda/missed")
    assert missed.status_code == 200
    assert "Moscow (UTC+3)" in missed.text
